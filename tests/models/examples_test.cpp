// Every job spec in examples/ and docs/experiments/ parses, so a field
// rename cannot silently break an example or a documented experiment. Parses only: training them is
// for people (README).
#include <gtest/gtest.h>

#include <filesystem>

#include "training/job_spec.h"

namespace {

namespace fs = std::filesystem;

TEST(Examples, EveryExampleSpecParses) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(RINGMASTER_SOURCE_DIR) / "examples")) {
    if (e.path().extension() != ".json") continue;
    ++n;
    try {
      ringmaster::training::load_job_spec(e.path().string());
    } catch (const ringmaster::models::SpecError& err) {
      ADD_FAILURE() << e.path() << ":\n" << err.what();
    }
  }
  EXPECT_GE(n, 6);
}

TEST(Examples, EveryExperimentSpecParses) {
  int n = 0;
  for (const auto& e :
       fs::recursive_directory_iterator(fs::path(RINGMASTER_SOURCE_DIR) / "docs/experiments")) {
    if (e.path().extension() != ".json") continue;
    ++n;
    try {
      ringmaster::training::load_job_spec(e.path().string());
    } catch (const ringmaster::models::SpecError& err) {
      ADD_FAILURE() << e.path() << ":\n" << err.what();
    }
  }
  EXPECT_GE(n, 6);
}

}  // namespace
