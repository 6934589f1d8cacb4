// GPU offers and placement: the worker's --gpus, a task's share, and
// `ringmaster up`'s split of a host's GPUs among its workers.
#include "worker/gpu_placement.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "ops/check.h"

namespace ringmaster::worker {
namespace {

using Ids = std::vector<int>;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ops::Error& e) {
    return e.what();
  }
  return "";
}

TEST(GpuPlacement, ParsesAllNoneAndOrdinals) {
  EXPECT_FALSE(parse_gpu_list("all").has_value());
  EXPECT_EQ(parse_gpu_list("none"), Ids{});
  EXPECT_EQ(parse_gpu_list(""), Ids{});
  EXPECT_EQ(parse_gpu_list("0"), Ids{0});
  EXPECT_EQ(parse_gpu_list("3,1,7"), (Ids{3, 1, 7}));
  for (const Ids& ids : {Ids{}, Ids{0}, Ids{2, 0, 5}})
    EXPECT_EQ(parse_gpu_list(format_gpu_list(ids)), ids);
}

TEST(GpuPlacement, RejectsWhatIsNotAListOfDistinctOrdinals) {
  for (const char* bad :
       {"-1", "0,,1", "1,", ",1", "a", "0x1", "1.5", "0, 1", "all,0", "99999999999"})
    EXPECT_NE(error_of([&] { parse_gpu_list(bad); }).find("is not a GPU ordinal"),
              std::string::npos)
        << bad;
  EXPECT_NE(error_of([] { parse_gpu_list("1,2,1"); }).find("names GPU 1 twice"), std::string::npos);
}

TEST(GpuPlacement, AWorkerOffersWhatTheHostHas) {
  EXPECT_EQ(resolve_gpus(std::nullopt, 3, ""), (Ids{0, 1, 2}));
  EXPECT_EQ(resolve_gpus(std::nullopt, 0, ""), Ids{});
  EXPECT_EQ(resolve_gpus(Ids{2, 0}, 3, ""), (Ids{2, 0}));
  EXPECT_EQ(resolve_gpus(Ids{}, 0, ""), Ids{});
  EXPECT_NE(error_of([] {
              resolve_gpus(Ids{0, 3}, 3, "");
            }).find("--gpus names GPU 3 but the CUDA runtime finds 3 device(s) (ordinals 0..2)"),
            std::string::npos);
  EXPECT_NE(error_of([] { resolve_gpus(Ids{0}, 0, "no driver"); }).find("(no driver)"),
            std::string::npos);
}

TEST(GpuPlacement, ATaskGetsKDistinctFreeGpus) {
  const struct {
    Ids offered, held;
    int64_t k;
    Ids want;
  } cases[] = {
      {{0, 1, 2, 3}, {}, 2, {0, 1}},
      {{0, 1, 2, 3}, {0, 2}, 2, {1, 3}},
      {{5, 4}, {}, 1, {5}},
      {{0, 1}, {}, 0, {}},
      {{}, {}, 0, {}},
      {{3}, {}, 1, {3}},
  };
  for (const auto& c : cases) {
    const Ids got = gpus_for_task(c.offered, c.held, c.k);
    EXPECT_EQ(got, c.want);
    EXPECT_EQ(std::set<int>(got.begin(), got.end()).size(), got.size());
  }
  EXPECT_NE(error_of([] {
              gpus_for_task({0, 1}, {1}, 2);
            }).find("resources.gpus is 2 but this worker has 1 free GPU(s) (it offers 0,1)"),
            std::string::npos);
  EXPECT_NE(error_of([] { gpus_for_task({}, {}, 1); }).find("it offers none"), std::string::npos);
}

TEST(GpuPlacement, UpSplitsAHostsGpusSoNoTwoWorkersShareOne) {
  const struct {
    Ids gpus;
    int workers;
    std::vector<Ids> want;
  } cases[] = {
      {{0, 1}, 2, {{0}, {1}}},
      {{0, 1, 2}, 2, {{0, 1}, {2}}},
      {{0}, 2, {{0}, {}}},
      {{}, 3, {{}, {}, {}}},
      {{0, 1, 2, 3, 4, 5, 6, 7}, 3, {{0, 1, 2}, {3, 4, 5}, {6, 7}}},
      {{4, 6}, 1, {{4, 6}}},
  };
  for (const auto& c : cases) {
    const auto parts = split_gpus(c.gpus, c.workers);
    EXPECT_EQ(parts, c.want);
    std::set<int> seen;
    size_t total = 0;
    for (const Ids& p : parts) {
      total += p.size();
      seen.insert(p.begin(), p.end());
    }
    EXPECT_EQ(total, c.gpus.size());
    EXPECT_EQ(seen.size(), c.gpus.size());
  }
}

}  // namespace
}  // namespace ringmaster::worker
