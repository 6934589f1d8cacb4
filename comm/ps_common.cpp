// plan_ps_slices (longest-processing-time placement of tensor slices) and the
// fp16 codec used for gradients (F16C through ops/half.h).
#include "comm/ps_common.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "ops/half.h"

namespace ringmaster::comm {

const char* ps_mode_name(PsMode m) { return m == PsMode::kBsp ? "bsp" : "ssp"; }

std::vector<PsSlice> plan_ps_slices(const std::vector<PsKey>& keys, int shards,
                                    int64_t slice_elems) {
  RM_THROW_IF(shards < 1, "a parameter server needs at least one shard, got ", shards);
  RM_THROW_IF(slice_elems < 0, "slice_elems must be >= 0, got ", slice_elems);
  std::vector<PsKey> sorted = keys;
  std::sort(sorted.begin(), sorted.end(),
            [](const PsKey& a, const PsKey& b) { return a.name < b.name; });
  int64_t total = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    RM_THROW_IF(sorted[i].numel < 1, "key '", sorted[i].name, "' has ", sorted[i].numel,
                " elements");
    RM_THROW_IF(i > 0 && sorted[i].name == sorted[i - 1].name, "key '", sorted[i].name,
                "' appears twice");
    total += sorted[i].numel;
  }
  const int64_t slice = slice_elems > 0
                            ? slice_elems
                            : std::max<int64_t>(65536, (total + 4 * shards - 1) / (4 * shards));

  std::vector<PsSlice> out;
  for (const PsKey& k : sorted) {
    const int64_t pieces = (k.numel + slice - 1) / slice;
    const int64_t size = (k.numel + pieces - 1) / pieces;
    for (int64_t off = 0; off < k.numel; off += size) {
      PsSlice s;
      s.tensor = k.name;
      s.offset = off;
      s.numel = std::min(size, k.numel - off);
      s.key = pieces == 1 ? k.name : k.name + "@" + std::to_string(off);
      out.push_back(std::move(s));
    }
  }
  std::set<std::string> seen;
  for (const PsSlice& s : out)
    RM_THROW_IF(!seen.insert(s.key).second, "slice key '", s.key,
                "' collides with a tensor of that name");

  std::vector<size_t> order(out.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (out[a].numel != out[b].numel) return out[a].numel > out[b].numel;
    return out[a].key < out[b].key;
  });
  std::vector<int64_t> load(static_cast<size_t>(shards), 0);
  for (size_t i : order) {
    const auto it = std::min_element(load.begin(), load.end());
    out[i].shard = static_cast<int>(it - load.begin());
    *it += out[i].numel;
  }
  std::sort(out.begin(), out.end(), [](const PsSlice& a, const PsSlice& b) {
    return a.shard != b.shard ? a.shard < b.shard : a.key < b.key;
  });
  return out;
}

float ps_encode_fp16(const float* x, int64_t n, uint16_t* h, float* residual) {
  float max_abs = 0.0f;
  for (int64_t i = 0; i < n; ++i) max_abs = std::max(max_abs, std::fabs(x[i]));
  float scale = max_abs / 16384.0f;
  if (!(scale > 0.0f) || !std::isfinite(scale)) scale = 1.0f;
  const float inv = 1.0f / scale;
  constexpr int64_t kBlock = 4096;
  float tmp[kBlock];
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = std::min(kBlock, n - b);
    for (int64_t i = 0; i < m; ++i) tmp[i] = x[b + i] * inv;
    ops::float_to_half(tmp, h + b, m);
    if (residual != nullptr) {
      ops::half_to_float(h + b, tmp, m);
      for (int64_t i = 0; i < m; ++i) {
        const float r = x[b + i] - tmp[i] * scale;
        residual[b + i] = std::isfinite(r) ? r : 0.0f;  // never carry an inf/NaN forward
      }
    }
  }
  return scale;
}

void ps_decode_fp16(const uint16_t* h, int64_t n, float scale, float* x) {
  ops::half_to_float(h, x, n);
  for (int64_t i = 0; i < n; ++i) x[i] *= scale;
}

}  // namespace ringmaster::comm
