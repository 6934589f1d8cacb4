// GPU offers and task placement (see gpu_placement.h).
#include "worker/gpu_placement.h"

#include <algorithm>
#include <charconv>

#include "ops/check.h"

namespace ringmaster::worker {

std::optional<std::vector<int>> parse_gpu_list(const std::string& text) {
  if (text == "all") return std::nullopt;
  std::vector<int> ids;
  if (text.empty() || text == "none") return ids;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t end = std::min(text.find(',', begin), text.size());
    const std::string item = text.substr(begin, end - begin);
    int id = -1;
    const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    RM_THROW_IF(item.empty() || ec != std::errc() || ptr != item.data() + item.size() || id < 0,
                "--gpus \"", text, "\": \"", item,
                "\" is not a GPU ordinal (give \"all\", \"none\" or ordinals such as 0,1)");
    RM_THROW_IF(std::find(ids.begin(), ids.end(), id) != ids.end(), "--gpus \"", text,
                "\" names GPU ", id, " twice");
    ids.push_back(id);
    begin = end + 1;
  }
  return ids;
}

std::vector<int> resolve_gpus(const std::optional<std::vector<int>>& wanted, int device_count,
                              const std::string& no_gpu_reason) {
  std::vector<int> ids;
  if (!wanted) {
    for (int i = 0; i < device_count; ++i) ids.push_back(i);
    return ids;
  }
  for (int id : *wanted)
    RM_THROW_IF(id >= device_count, "--gpus names GPU ", id, " but the CUDA runtime finds ",
                device_count, " device(s)",
                device_count == 0 ? " (" + no_gpu_reason + ")"
                                  : " (ordinals 0.." + std::to_string(device_count - 1) + ")");
  return *wanted;
}

std::vector<int> gpus_for_task(const std::vector<int>& offered, const std::vector<int>& held,
                               int64_t k) {
  std::vector<int> out;
  for (int id : offered) {
    if (static_cast<int64_t>(out.size()) == k) break;
    if (std::find(held.begin(), held.end(), id) == held.end()) out.push_back(id);
  }
  RM_THROW_IF(static_cast<int64_t>(out.size()) < k, "resources.gpus is ", k,
              " but this worker has ", out.size(), " free GPU(s) (it offers ",
              format_gpu_list(offered), ")");
  return out;
}

std::vector<std::vector<int>> split_gpus(const std::vector<int>& gpus, int workers) {
  RM_THROW_IF(workers < 1, "cannot split GPUs among ", workers, " workers");
  std::vector<std::vector<int>> parts(static_cast<size_t>(workers));
  const size_t n = gpus.size(), w = parts.size();
  size_t next = 0;
  for (size_t i = 0; i < w; ++i) {
    const size_t take = n / w + (i < n % w ? 1 : 0);
    parts[i].assign(gpus.begin() + static_cast<std::ptrdiff_t>(next),
                    gpus.begin() + static_cast<std::ptrdiff_t>(next + take));
    next += take;
  }
  return parts;
}

}  // namespace ringmaster::worker
