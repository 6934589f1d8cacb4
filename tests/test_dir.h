// Test helper: a fresh folder per test, named after the test so that tests
// running side by side (ctest -j) and leftovers of a crashed run never share
// one.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace ringmaster::testing_support {

// <temp>/rm_<prefix>_<pid>_<current test's name>, emptied and created.
inline std::filesystem::path fresh_test_dir(const std::string& prefix) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("rm_" + prefix + "_" + std::to_string(::getpid()) + "_" +
       ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace ringmaster::testing_support
