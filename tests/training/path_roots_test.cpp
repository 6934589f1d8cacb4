// Spec paths confined to roots (training/path_roots.h), on real folders and
// symlinks: inside is allowed, `..` and absolute escapes are refused naming
// the field and the roots, a symlink is judged by where it leads (out of a
// root: refused; from outside into a root: allowed), a root given through a
// symlink holds what lies under its target, pretrained weights may come from
// a data root but a checkpoint may only be written under a checkpoint root,
// and every ensemble member's weights are checked.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/test_dir.h"
#include "training/path_roots.h"

namespace ringmaster::training {
namespace {

namespace fs = std::filesystem;

class PathRootsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing_support::fresh_test_dir("roots");
    fs::create_directories(dir_ / "data");
    fs::create_directories(dir_ / "runs" / "old");
    fs::create_directories(dir_ / "elsewhere");
    std::ofstream(dir_ / "data" / "digits.csv.gz") << "x";
    std::ofstream(dir_ / "elsewhere" / "secret") << "root:*:2";
    roots_ = resolve_roots({{dir_ / "data"}, {dir_ / "runs"}});
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A spec with the given data path and init checkpoint; its own checkpoint
  // under runs/.
  JobSpec spec(const std::string& data_path, const std::string& init = "") const {
    nlohmann::json j = {{"data", {{"dataset", "digits"}}},
                        {"checkpoint", {{"path", (dir_ / "runs" / "j.safetensors").string()}}}};
    if (!data_path.empty()) j["data"]["path"] = data_path;
    if (!init.empty()) j["model"] = {{"name", "mlp"}, {"init", {{"checkpoint", init}}}};
    return parse_job_spec(j);
  }
  std::vector<models::SpecProblem> problems(const JobSpec& s) const {
    return path_problems(s, roots_);
  }

  fs::path dir_;
  PathRoots roots_;
};

TEST_F(PathRootsTest, PathsUnderTheirRootsAreAllowed) {
  EXPECT_TRUE(problems(spec((dir_ / "data" / "digits.csv.gz").string())).empty());
  EXPECT_TRUE(problems(spec((dir_ / "data").string())).empty());  // the root itself
  EXPECT_TRUE(problems(spec((dir_ / "data" / "not-yet" / "file").string())).empty());
  // A data set's default (no data.path) is not the spec's to answer for.
  EXPECT_TRUE(problems(spec("")).empty());
  // Weights may be read from a checkpoint root or a data root.
  EXPECT_TRUE(problems(spec("", (dir_ / "runs" / "old" / "final.safetensors").string())).empty());
  EXPECT_TRUE(problems(spec("", (dir_ / "data" / "manifest.json").string())).empty());
}

TEST_F(PathRootsTest, EscapesAreRefusedNamingTheFieldAndTheRoots) {
  const auto p = problems(spec("/etc/shadow"));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].pointer, "/data/path");
  EXPECT_NE(p[0].reason.find("outside the data roots"), std::string::npos) << p[0].reason;
  EXPECT_NE(p[0].reason.find((dir_ / "data").string()), std::string::npos) << p[0].reason;
  // `..` folded before the check.
  const auto dots = problems(spec((dir_ / "data" / ".." / "elsewhere" / "secret").string()));
  ASSERT_EQ(dots.size(), 1u);
  EXPECT_EQ(dots[0].pointer, "/data/path");
  // A sibling whose name starts like the root is not under it.
  fs::create_directories(dir_ / "data-evil");
  EXPECT_EQ(problems(spec((dir_ / "data-evil" / "x").string())).size(), 1u);
  // The case: init.checkpoint naming /etc/shadow.
  const auto init = problems(spec("", "/etc/shadow"));
  ASSERT_EQ(init.size(), 1u);
  EXPECT_EQ(init[0].pointer, "/model/init/checkpoint");
  EXPECT_NE(init[0].reason.find("checkpoint and data roots"), std::string::npos);
  // A NUL would make the kernel open less than what was checked.
  const auto nul = problems(
      spec("/etc/shadow" + std::string(1, '\0') + "/../.." + (dir_ / "data" / "x").string()));
  ASSERT_EQ(nul.size(), 1u);
  EXPECT_NE(nul[0].reason.find("NUL"), std::string::npos);
  // Nothing of the file is read, so nothing of it can be echoed.
  for (const auto& x : problems(spec((dir_ / "elsewhere" / "secret").string())))
    EXPECT_EQ(x.reason.find("root:"), std::string::npos);
}

TEST_F(PathRootsTest, RelativePathsAreTakenFromTheWorkingFolder) {
  const fs::path before = fs::current_path();
  fs::current_path(dir_);
  const auto inside = problems(spec("data/digits.csv.gz"));
  const auto outside = problems(spec("elsewhere/secret"));
  const auto up = problems(spec("data/../../etc/passwd"));
  fs::current_path(before);
  EXPECT_TRUE(inside.empty());
  EXPECT_EQ(outside.size(), 1u);
  EXPECT_EQ(up.size(), 1u);
}

TEST_F(PathRootsTest, ASymlinkIsJudgedByWhereItLeads) {
  // Inside a root, leading out: refused, and said to go through a link.
  fs::create_symlink(dir_ / "elsewhere" / "secret", dir_ / "data" / "innocent.csv.gz");
  const auto out = problems(spec((dir_ / "data" / "innocent.csv.gz").string()));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].reason.find("through a symlink"), std::string::npos) << out[0].reason;
  // A linked folder inside a root leading out, with a file below it.
  fs::create_directory_symlink(dir_ / "elsewhere", dir_ / "data" / "linked");
  EXPECT_EQ(problems(spec((dir_ / "data" / "linked" / "secret").string())).size(), 1u);
  // Dangling: judged by where a write through it would land.
  fs::create_symlink(dir_ / "elsewhere" / "new-file", dir_ / "data" / "dangling");
  EXPECT_EQ(problems(spec((dir_ / "data" / "dangling").string())).size(), 1u);
  // `..` after a link is taken from the link's target, as the kernel does.
  EXPECT_EQ(
      problems(spec((dir_ / "data" / "linked" / ".." / "data" / "digits.csv.gz").string())).size(),
      0u);
  EXPECT_EQ(
      problems(spec((dir_ / "data" / "linked" / ".." / "elsewhere" / "secret").string())).size(),
      1u);
  // A loop of links is refused, not followed forever.
  fs::create_symlink(dir_ / "data" / "loop-b", dir_ / "data" / "loop-a");
  fs::create_symlink(dir_ / "data" / "loop-a", dir_ / "data" / "loop-b");
  const auto loop = problems(spec((dir_ / "data" / "loop-a").string()));
  ASSERT_EQ(loop.size(), 1u);
  EXPECT_NE(loop[0].reason.find("more than 40 symlinks"), std::string::npos) << loop[0].reason;
  // Outside, leading into a root: allowed (what is opened is inside).
  fs::create_symlink(dir_ / "data" / "digits.csv.gz", dir_ / "elsewhere" / "to-digits");
  EXPECT_TRUE(problems(spec((dir_ / "elsewhere" / "to-digits").string())).empty());
}

TEST_F(PathRootsTest, ARootGivenThroughASymlinkHoldsItsTarget) {
  fs::create_directory_symlink(dir_ / "data", dir_ / "data-link");
  const PathRoots roots = resolve_roots({{dir_ / "data-link"}, {dir_ / "runs"}});
  const JobSpec s = spec((dir_ / "data" / "digits.csv.gz").string());
  EXPECT_TRUE(path_problems(s, roots).empty());
  EXPECT_TRUE(path_problems(spec((dir_ / "data-link" / "digits.csv.gz").string()), roots).empty());
}

TEST_F(PathRootsTest, CheckpointsAreWrittenOnlyUnderACheckpointRoot) {
  nlohmann::json j = {{"data", {{"dataset", "digits"}}},
                      {"checkpoint", {{"path", (dir_ / "data" / "c.safetensors").string()}}}};
  const auto in_data = path_problems(parse_job_spec(j), roots_);
  ASSERT_EQ(in_data.size(), 1u);
  EXPECT_EQ(in_data[0].pointer, "/checkpoint/path");
  EXPECT_NE(in_data[0].reason.find("outside the checkpoint roots"), std::string::npos);
  // The reads alone (what the coordinator checks) leave it out.
  EXPECT_TRUE(read_path_problems(parse_job_spec(j), roots_).empty());
  EXPECT_THROW(confine_paths(parse_job_spec(j), roots_), models::SpecError);
}

TEST_F(PathRootsTest, EveryEnsembleMembersWeightsAreChecked) {
  const std::string ok = (dir_ / "runs" / "old" / "a.safetensors").string();
  const nlohmann::json j = {{"data", {{"dataset", "digits"}}},
                            {"checkpoint", {{"path", (dir_ / "runs" / "e.safetensors").string()}}},
                            {"model",
                             {{"ensemble",
                               {{{"name", "mlp"}, {"checkpoint", ok}},
                                {{"name", "mlp"}, {"checkpoint", "/etc/shadow"}},
                                {{"name", "mlp"}, {"init", {{"checkpoint", "/etc/passwd"}}}}}}}}};
  const auto p = path_problems(parse_job_spec(j), roots_);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].pointer, "/model/ensemble/1/checkpoint");
  EXPECT_EQ(p[1].pointer, "/model/ensemble/2/init/checkpoint");
}

TEST_F(PathRootsTest, ACaptionersEncoderWeightsAreChecked) {
  const nlohmann::json j = {
      {"data", {{"dataset", "fashion-captions"}}},
      {"checkpoint", {{"path", (dir_ / "runs" / "nic.safetensors").string()}}},
      {"model",
       {{"name", "nic"},
        {"encoder",
         {{"name", "resnet"}, {"depth", 8}, {"init", {{"checkpoint", "/etc/shadow"}}}}}}}};
  const auto p = path_problems(parse_job_spec(j), roots_);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].pointer, "/model/encoder/init/checkpoint");
}

}  // namespace
}  // namespace ringmaster::training
