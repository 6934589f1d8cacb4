// Fuzz target: a TensorFlow.js weights manifest and its shard, as
// model.init.checkpoint reads them (models::load_tfjs_weights). The input up
// to its first NUL is the manifest (weights_manifest.json), what follows is
// group1-shard1of1.bin beside it, so the fuzzer varies both. Expected
// failures are ops::Error; anything else is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "models/tfjs_weights.h"
#include "ops/check.h"

namespace {

const std::filesystem::path& folder() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path d =
        std::filesystem::path("/dev/shm") / ("rm_fuzz_tfjs_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

void write(const std::filesystem::path& p, const uint8_t* data, size_t size) {
  std::ofstream(p, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint8_t* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const size_t manifest_size = nul ? static_cast<size_t>(nul - data) : size;
  const size_t shard_at = nul ? manifest_size + 1 : size;
  write(folder() / "weights_manifest.json", data, manifest_size);
  write(folder() / "group1-shard1of1.bin", data + shard_at, size - shard_at);
  try {
    ringmaster::models::load_tfjs_weights((folder() / "weights_manifest.json").string());
  } catch (const ringmaster::ops::Error&) {
  }
  return 0;
}
