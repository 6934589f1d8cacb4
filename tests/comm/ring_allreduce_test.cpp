// Ring all-reduce over real ZeroMQ sockets on 127.0.0.1, ranks as threads:
// world sizes 1..8 against a double-precision reference, uneven sizes (0, 1,
// world - 1, world + 1, 1000003) and chunk sizes, bitwise agreement across
// ranks for `none`; fp16 error bounds; error feedback keeps the accumulated
// error bounded where plain fp16 drifts.
#include "comm/ring_allreduce.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "tests/comm/ring_harness.h"

namespace ringmaster::comm {
namespace {

using namespace ringmaster::comm::testing;

struct Case {
  size_t n;
  size_t chunk_bytes;
};

// Runs `cases` one after another on one ring (collective numbers advance),
// each rank reducing rank_input(seed, rank, n); returns results[case][rank].
std::vector<std::vector<std::vector<float>>> reduce_cases(int world, const std::vector<Case>& cases,
                                                          AllreduceOptions base, uint64_t seed,
                                                          bool average = false) {
  ThreadRing ring(world);
  std::vector<std::vector<std::vector<float>>> out(cases.size(),
                                                   std::vector<std::vector<float>>(world));
  run_ranks(world, [&](int r) {
    ring.transports[r]->connect(r, ring.endpoints, milliseconds(10000));
    for (size_t c = 0; c < cases.size(); ++c) {
      AllreduceOptions o = base;
      o.chunk_bytes = cases[c].chunk_bytes;
      RingAllreduce ar(*ring.transports[r], o);
      std::vector<float> x = rank_input(seed + c, r, cases[c].n);
      if (average) {
        ar.average(x, c);
      } else {
        ar.sum(x, c);
      }
      out[c][r] = std::move(x);
    }
  });
  return out;
}

std::vector<Case> sweep_cases(int world) {
  const auto w = static_cast<size_t>(world);
  return {{0, 256 << 10}, {1, 256 << 10},    {w - 1, 256 << 10}, {w + 1, 4},
          {1000, 64},     {1000, 256 << 10}, {4099, 1000},       {1000003, 256 << 10}};
}

TEST(RingAllreduce, SumMatchesDoubleReferenceAndRanksAgreeBitwiseForWorlds1To8) {
  for (int world = 1; world <= 8; ++world) {
    const auto cases = sweep_cases(world);
    const auto out = reduce_cases(world, cases, {}, 11);
    for (size_t c = 0; c < cases.size(); ++c) {
      const size_t n = cases[c].n;
      std::vector<double> ref(n, 0.0), mag(n, 0.0);
      for (int r = 0; r < world; ++r) {
        const auto x = rank_input(11 + c, r, n);
        for (size_t i = 0; i < n; ++i) ref[i] += x[i], mag[i] += std::fabs(x[i]);
      }
      for (int r = 0; r < world; ++r) {
        ASSERT_EQ(out[c][r].size(), n);
        // n may be 0: memcmp must not see the null data() of an empty vector.
        ASSERT_EQ(n == 0 ? 0 : std::memcmp(out[c][r].data(), out[c][0].data(), n * sizeof(float)),
                  0)
            << "world " << world << " n " << n << ": rank " << r << " differs from rank 0";
      }
      for (size_t i = 0; i < n; ++i)
        ASSERT_NEAR(out[c][0][i], ref[i], world * 0x1p-24 * mag[i] + 1e-30)
            << "world " << world << " n " << n << " chunk " << cases[c].chunk_bytes << " i " << i;
    }
  }
}

TEST(RingAllreduce, AverageDividesByWorld) {
  const int world = 3;
  const auto out = reduce_cases(world, {{10, 256 << 10}}, {}, 5, /*average=*/true);
  for (size_t i = 0; i < 10; ++i) {
    double ref = 0;
    for (int r = 0; r < world; ++r) ref += rank_input(5, r, 10)[i];
    EXPECT_NEAR(out[0][1][i], ref / world, 1e-6);
  }
}

TEST(RingAllreduce, ChunkSizeMismatchIsACommError) {
  const int world = 2;
  ThreadRing ring(world);
  const auto errors = run_ranks_collect(world, [&](int r) {
    ring.transports[r]->connect(r, ring.endpoints, milliseconds(5000));
    RingAllreduce ar(*ring.transports[r],
                     {.chunk_bytes = r == 0 ? 4096u : 8192u, .timeout = milliseconds(2000)});
    std::vector<float> x(100000, 1.0f);
    ar.sum(x);
  });
  for (int r = 0; r < world; ++r) {
    ASSERT_TRUE(errors[r]) << "rank " << r;
    EXPECT_NO_THROW(try { std::rethrow_exception(errors[r]); } catch (const CommError&){})
        << what(errors[r]);
  }
  EXPECT_NE(what(errors[0]).find("out-of-step") + what(errors[1]).find("out-of-step"),
            2 * std::string::npos);
}

// fp16 with a per-chunk scale: each compression loses at most 2^-11 of the
// chunk's max |value|; partial sums grow to world * max|x|, so the result is
// within 2^-11 * max|x| * (1 + 2 + ... + (W - 1) + W) = 2^-11 * M * W(W+1)/2.
TEST(RingAllreduce, Fp16ErrorIsWithinTheStatedBoundAndRanksAgree) {
  for (int world : {2, 3, 5}) {
    const size_t n = 50000;
    const float magnitude = 37.5f;  // far from 1: the scale must adapt
    ThreadRing ring(world);
    std::vector<std::vector<float>> out(world);
    run_ranks(world, [&](int r) {
      ring.transports[r]->connect(r, ring.endpoints, milliseconds(10000));
      RingAllreduce ar(*ring.transports[r],
                       {.compression = Compression::kFp16, .chunk_bytes = 4096});
      out[r] = rank_input(21, r, n, magnitude);
      ar.sum(out[r]);
    });
    double max_err = 0;
    const double bound = 0x1p-11 * magnitude * world * (world + 1) / 2.0;
    std::vector<double> ref(n, 0.0);
    for (int r = 0; r < world; ++r) {
      const auto x = rank_input(21, r, n, magnitude);
      for (size_t i = 0; i < n; ++i) ref[i] += x[i];
    }
    for (size_t i = 0; i < n; ++i) max_err = std::max(max_err, std::fabs(out[0][i] - ref[i]));
    for (int r = 1; r < world; ++r)
      ASSERT_EQ(std::memcmp(out[r].data(), out[0].data(), n * 4), 0) << "rank " << r;
    EXPECT_LE(max_err, bound) << "world " << world;
    EXPECT_GT(max_err, 0.0) << "fp16 should not be exact on random input";
    std::printf("fp16 world %d: max error %.3g (bound %.3g, max|x| %.1f)\n", world, max_err, bound,
                magnitude);
  }
}

// Repeats the same all-reduce of a constant input: the accumulated sum of
// the outputs must track steps * exact sum. With error feedback the
// accumulated error is minus the current residuals (bounded); without it the
// same rounding repeats every step and the error grows linearly.
TEST(RingAllreduce, Fp16ErrorFeedbackKeepsTheAccumulatedErrorBounded) {
  const int world = 4, steps = 300;
  const size_t n = 4096;
  auto run = [&](bool feedback, std::vector<double>& err_at) {
    ThreadRing ring(world);
    std::vector<std::vector<double>> acc(world, std::vector<double>(n, 0.0));
    std::vector<double> exact(n, 0.0);
    for (int r = 0; r < world; ++r) {
      const auto x = rank_input(31, r, n, 0.01f);
      for (size_t i = 0; i < n; ++i) exact[i] += x[i];
    }
    err_at.assign(steps, 0.0);
    run_ranks(world, [&](int r) {
      ring.transports[r]->connect(r, ring.endpoints, milliseconds(10000));
      RingAllreduce ar(
          *ring.transports[r],
          {.compression = Compression::kFp16, .chunk_bytes = 2048, .error_feedback = feedback});
      const auto input = rank_input(31, r, n, 0.01f);
      for (int s = 0; s < steps; ++s) {
        std::vector<float> x = input;
        ar.sum(x, /*bucket=*/7);
        double e = 0;
        for (size_t i = 0; i < n; ++i) {
          acc[r][i] += x[i];
          e = std::max(e, std::fabs(acc[r][i] - (s + 1) * exact[i]));
        }
        if (r == 0) err_at[s] = e;
      }
    });
  };
  std::vector<double> with_ef, without_ef;
  run(true, with_ef);
  run(false, without_ef);
  const double early_ef = *std::max_element(with_ef.begin(), with_ef.begin() + 10);
  const double late_ef = *std::max_element(with_ef.end() - 10, with_ef.end());
  std::printf(
      "accumulated max error after 1/10/%d steps: with feedback %.3g/%.3g/%.3g, "
      "without %.3g/%.3g/%.3g\n",
      steps, with_ef[0], with_ef[9], with_ef[steps - 1], without_ef[0], without_ef[9],
      without_ef[steps - 1]);
  // Bounded: one step's worth of rounding (see the bound above, M = 0.01 * world), not growing.
  const double one_step = 0x1p-11 * 0.01 * world * world * (world + 1) / 2.0;
  EXPECT_LE(late_ef, one_step);
  EXPECT_LE(late_ef, 3 * early_ef + 1e-12);
  // Without feedback the same loss repeats: linear drift, far beyond.
  EXPECT_GE(without_ef[steps - 1], 0.5 * steps * without_ef[0]);
  EXPECT_GE(without_ef[steps - 1], 20 * late_ef);
}

TEST(RingAllreduce, AnOverflowingStepLeavesTheNextStepsClean) {
  // Step 0: rank 1's gradient holds an inf and a NaN (an overflowed fp16
  // backward); that step's sum is not finite (the loss scaler skips it). The
  // error-feedback residual must not carry either: steps 1..3 with ordinary
  // inputs come out finite and close to the exact sums.
  const int world = 3;
  const size_t n = 1000;
  ThreadRing ring(world);
  std::vector<std::vector<std::vector<float>>> out(4, std::vector<std::vector<float>>(world));
  run_ranks(world, [&](int r) {
    ring.transports[r]->connect(r, ring.endpoints, milliseconds(10000));
    RingAllreduce ar(
        *ring.transports[r],
        {.compression = Compression::kFp16, .chunk_bytes = 1024, .error_feedback = true});
    for (int step = 0; step < 4; ++step) {
      std::vector<float> x = rank_input(40 + step, r, n, 0.5f);
      if (step == 0 && r == 1) {
        x[3] = INFINITY;
        x[500] = NAN;
      }
      ar.sum(x, /*bucket=*/1);
      out[step][r] = std::move(x);
    }
  });
  bool step0_finite = true;
  for (float v : out[0][0]) step0_finite = step0_finite && std::isfinite(v);
  EXPECT_FALSE(step0_finite);
  for (int step = 1; step < 4; ++step) {
    std::vector<double> exact(n, 0.0);
    for (int r = 0; r < world; ++r) {
      const auto x = rank_input(40 + step, r, n, 0.5f);
      for (size_t i = 0; i < n; ++i) exact[i] += x[i];
    }
    for (int r = 0; r < world; ++r)
      for (size_t i = 0; i < n; ++i) {
        ASSERT_TRUE(std::isfinite(out[step][r][i]))
            << "step " << step << " rank " << r << " [" << i << "]";
        ASSERT_NEAR(out[step][r][i], exact[i], 0.05) << "step " << step << " [" << i << "]";
      }
  }
}

}  // namespace
}  // namespace ringmaster::comm
