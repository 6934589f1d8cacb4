// CheckpointStore (see checkpoint_store.h).
#include "training/checkpoint_store.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "models/safetensors.h"
#include "ops/bounded_json.h"
#include "ops/check.h"

namespace ringmaster::training {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFormat = "ringmaster-checkpoint-v2";
constexpr const char* kManifest = "manifest.json";
const char* const kFiles[] = {"model.safetensors", "optimizer.safetensors", "state.json"};

std::string folder_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%012lld", static_cast<long long>(step));
  return buf;
}

// The step of a folder named step-<digits>, or -1.
int64_t step_of(const std::string& name) {
  if (name.size() <= 5 || name.rfind("step-", 0) != 0) return -1;
  int64_t v = 0;
  for (size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || v > (int64_t{1} << 58)) return -1;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

void fsync_path(const fs::path& p, bool directory) {
  const int fd = ::open(p.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  RM_THROW_IF(fd < 0, "cannot open ", p.string(), " to sync it");
  const int rc = ::fsync(fd);
  ::close(fd);
  RM_THROW_IF(rc != 0, "cannot sync ", p.string());
}

void write_synced(const fs::path& p, const std::string& bytes) {
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    RM_THROW_IF(!out, "cannot write ", p.string());
  }
  fsync_path(p, false);
}

struct FileSum {
  uint64_t bytes = 0;
  uint32_t crc = 0;
};

FileSum sum_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  RM_THROW_IF(!in, "cannot read ", p.string());
  FileSum s;
  uLong crc = crc32_z(0L, Z_NULL, 0);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::streamsize n = in.gcount();
    if (n <= 0) break;
    crc = crc32_z(crc, reinterpret_cast<const Bytef*>(buf.data()), static_cast<z_size_t>(n));
    s.bytes += static_cast<uint64_t>(n);
  }
  s.crc = static_cast<uint32_t>(crc);
  return s;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  RM_THROW_IF(!in, "cannot read ", p.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Throws ops::Error naming what does not match the manifest.
StoredCheckpoint check_and_load(const fs::path& folder, int64_t step) {
  const fs::path manifest_path = folder / kManifest;
  RM_THROW_IF(!fs::exists(manifest_path), "no ", kManifest, " (an interrupted write or removal)");
  const nlohmann::json m = ops::parse_bounded_json(read_text(manifest_path)).value;
  RM_THROW_IF(!m.is_object() || m.value("format", "") != kFormat || !m.contains("files") ||
                  !m["files"].is_object() || !m.contains("step") || !m["step"].is_number_integer(),
              kManifest, " is not a ", kFormat, " manifest");
  RM_THROW_IF(m["step"].get<int64_t>() != step, kManifest, " names step ", m["step"].dump(),
              ", the folder step ", step);
  for (const char* name : kFiles) {
    const auto it = m["files"].find(name);
    RM_THROW_IF(it == m["files"].end() || !it->is_object(), kManifest, " does not list ", name);
    RM_THROW_IF(!fs::exists(folder / name), name, " is missing");
    const FileSum s = sum_of(folder / name);
    RM_THROW_IF(s.bytes != it->value("bytes", uint64_t{0}), name, " has ", s.bytes,
                " bytes, the manifest says ", it->value("bytes", uint64_t{0}));
    RM_THROW_IF(s.crc != it->value("crc32", uint32_t{0}), name,
                " does not match its CRC-32 in the manifest (corrupted)");
  }
  StoredCheckpoint c;
  c.step = step;
  c.folder = folder.string();
  c.model = models::load_safetensors((folder / kFiles[0]).string()).tensors;
  c.optimizer = models::load_safetensors((folder / kFiles[1]).string()).tensors;
  c.state = ops::parse_bounded_json_or_throw(read_text(folder / kFiles[2]), kFiles[2]);
  RM_THROW_IF(!c.state.is_object(), kFiles[2], " is not a JSON object");
  return c;
}

// Removes a checkpoint folder so that no instant of the removal looks whole.
void remove_checkpoint(const fs::path& folder) {
  std::error_code ec;
  fs::remove(folder / kManifest, ec);
  fs::remove_all(folder, ec);
}

// Whether the process that writes temporary folder `name` (".tmp-step-N-PID")
// is still running; ours counts as gone, its write being done.
bool writer_alive(const std::string& name) {
  const size_t dash = name.rfind('-');
  const long pid = std::strtol(name.c_str() + dash + 1, nullptr, 10);
  if (pid <= 0 || pid == ::getpid()) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

CheckpointStore::CheckpointStore(std::string dir, int64_t keep)
    : dir_(std::move(dir)), keep_(keep) {
  RM_THROW_IF(keep_ < 1, "checkpoint.keep must be >= 1, got ", keep_);
}

std::string CheckpointStore::write(int64_t step, const models::TensorMap& model,
                                   const models::TensorMap& optimizer,
                                   const nlohmann::json& state) {
  const fs::path dir(dir_);
  fs::create_directories(dir);
  const fs::path tmp = dir / (".tmp-" + folder_name(step) + "-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  const std::map<std::string, std::string> meta{{"format", kFormat},
                                                {"step", std::to_string(step)}};
  models::save_safetensors((tmp / kFiles[0]).string(), model, meta);
  models::save_safetensors((tmp / kFiles[1]).string(), optimizer, meta);
  write_synced(tmp / kFiles[2], state.dump(1) + "\n");
  nlohmann::json files = nlohmann::json::object();
  for (const char* name : kFiles) {
    const FileSum s = sum_of(tmp / name);
    files[name] = {{"bytes", s.bytes}, {"crc32", s.crc}};
  }
  write_synced(
      tmp / kManifest,
      nlohmann::json{{"format", kFormat}, {"step", step}, {"files", files}}.dump(1) + "\n");
  fsync_path(tmp, true);
  const fs::path final_folder = dir / folder_name(step);
  if (fs::exists(final_folder)) remove_checkpoint(final_folder);
  fs::rename(tmp, final_folder);
  fsync_path(dir, true);

  // The newest `keep` stay; leftovers of interrupted writes go (those of
  // processes that are gone: another attempt's writer may still be at work).
  std::vector<int64_t> steps;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(".tmp-step-", 0) == 0 && !writer_alive(name)) fs::remove_all(entry.path(), ec);
    if (const int64_t s = step_of(name); s >= 0 && entry.is_directory()) steps.push_back(s);
  }
  std::sort(steps.rbegin(), steps.rend());
  for (size_t i = static_cast<size_t>(keep_); i < steps.size(); ++i)
    remove_checkpoint(dir / folder_name(steps[i]));
  return final_folder.string();
}

std::optional<StoredCheckpoint> CheckpointStore::newest(
    const std::function<void(const std::string&)>& log, std::optional<int64_t> at_most) const {
  const fs::path dir(dir_);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return std::nullopt;
  std::vector<std::pair<int64_t, fs::path>> found;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (const int64_t s = step_of(entry.path().filename().string()); s >= 0 && entry.is_directory())
      found.emplace_back(s, entry.path());
  std::sort(found.rbegin(), found.rend());
  for (const auto& [step, folder] : found) {
    if (at_most && step > *at_most) continue;
    try {
      return check_and_load(folder, step);
    } catch (const std::exception& e) {
      log("checkpoint " + folder.string() + " skipped: " + e.what());
    }
  }
  return std::nullopt;
}

StoredCheckpoint CheckpointStore::load(int64_t step) const {
  const fs::path folder = fs::path(dir_) / folder_name(step);
  try {
    return check_and_load(folder, step);
  } catch (const std::exception& e) {
    throw ops::Error("checkpoint " + folder.string() + " cannot be loaded: " + e.what());
  }
}

}  // namespace ringmaster::training
