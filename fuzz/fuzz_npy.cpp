// Fuzz target: a .npy file as data sets are read (models::load_npy).
// Expected failures are ops::Error; anything else is a finding.
#include <cstddef>
#include <cstdint>

#include "file_input.h"
#include "models/npy.h"
#include "ops/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ringmaster::fuzz::write_input(data, size, ".npy");
  try {
    ringmaster::models::load_npy(path);
  } catch (const ringmaster::ops::Error&) {
  }
  return 0;
}
