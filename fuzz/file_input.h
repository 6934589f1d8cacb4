// For loaders that read a path: the fuzz input written to a file in /dev/shm
// (memory, so each run costs no disk I/O), one per process.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace ringmaster::fuzz {

inline std::string write_input(const uint8_t* data, size_t size, const char* suffix) {
  static const std::string path =
      "/dev/shm/rm_fuzz_" + std::to_string(::getpid()) + std::string(suffix);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return path;
  if (size > 0) std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}

}  // namespace ringmaster::fuzz
