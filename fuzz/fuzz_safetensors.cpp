// Fuzz target: a safetensors file as checkpoints and init weights are read
// (models::load_safetensors). Expected failures are ops::Error; anything
// else is a finding.
#include <cstddef>
#include <cstdint>

#include "file_input.h"
#include "models/safetensors.h"
#include "ops/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ringmaster::fuzz::write_input(data, size, ".safetensors");
  try {
    ringmaster::models::load_safetensors(path);
  } catch (const ringmaster::ops::Error&) {
  }
  return 0;
}
