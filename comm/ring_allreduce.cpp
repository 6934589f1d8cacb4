// Ring all-reduce (see ring_allreduce.h). With W ranks the buffer is cut into
// W segments (the first n % W one element longer), each segment into pieces
// of chunk_bytes / 4 elements; one piece is one message.
//
// Protocol, rank r, left = r - 1, right = r + 1 (mod W), T = 2 (W - 1) steps:
//   reduce-scatter, step t < W - 1:  send segment r - t, receive segment
//     r - t - 1 and add it into ours. After W - 1 steps segment r + 1 holds
//     the full sum here (this rank "owns" it).
//   all-gather, step t = W - 1 + s:  send segment r + 1 - s, receive segment
//     r - s and overwrite ours with it.
// What arrives at step t is exactly what leaves at step t + 1, so each piece
// is forwarded as soon as it is folded in: the first step's pieces go out at
// once, then every receive (fold piece p) is followed by its send, and
// ZeroMQ's I/O thread transmits piece p while this thread folds piece p + 1.
// All ranks end with the owner's bytes of every segment: identical results.
//
// FP16: every send of a partial sum (reduce-scatter) and the owner's send of
// the final sum compress it with a fresh per-piece scale; all-gather forwards
// the received fp16 bytes unchanged, and the owner too keeps the decoded fp16
// value, so ranks still agree bit for bit. Each element is compressed exactly
// once per rank per call; with error feedback, the rounding loss of that
// compression is this rank's residual for the element, added to its input of
// the next call with the same bucket: the losses telescope instead of
// accumulating.
#include "comm/ring_allreduce.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ringmaster::comm {
namespace {

// y += x, x possibly unaligned (inside a ZeroMQ message).
void add_into(float* y, const std::byte* x, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    float v;
    std::memcpy(&v, x + 4 * i, 4);
    y[i] += v;
  }
}

}  // namespace

RingAllreduce::RingAllreduce(RingTransport& transport, AllreduceOptions options)
    : transport_(transport), options_(options) {
  if (options_.chunk_bytes < 4)
    throw std::invalid_argument("all-reduce chunk_bytes must be at least 4");
  if (transport_.world() > 1 && options_.chunk_bytes > transport_.max_payload_bytes())
    throw std::invalid_argument("all-reduce chunk_bytes " + std::to_string(options_.chunk_bytes) +
                                " exceeds the transport's max payload of " +
                                std::to_string(transport_.max_payload_bytes()) + " bytes");
}

void RingAllreduce::sum(std::span<float> data, uint64_t bucket) {
  using Clock = RingTransport::Clock;
  const int world = transport_.world();
  if (world == 1) return;
  const int rank = transport_.rank();
  const uint64_t collective = transport_.begin_collective();
  const size_t n = data.size();
  const bool fp16 = options_.compression == Compression::kFp16;
  const size_t chunk = options_.chunk_bytes / 4;  // elements per piece
  const size_t elem_bytes = fp16 ? 2 : 4;
  const Codec codec = fp16 ? Codec::kF16 : Codec::kF32;
  const auto w = static_cast<size_t>(world);
  const int steps = 2 * (world - 1);

  auto mod = [world](int x) { return ((x % world) + world) % world; };
  auto seg_begin = [&](int k) {
    const auto uk = static_cast<size_t>(k);
    return uk * (n / w) + std::min(uk, n % w);
  };
  auto seg_size = [&](int k) { return n / w + (static_cast<size_t>(k) < n % w ? 1 : 0); };
  auto send_seg = [&](int t) {
    return t < world - 1 ? mod(rank - t) : mod(rank + 1 - (t - (world - 1)));
  };
  auto recv_seg = [&](int t) {
    return t < world - 1 ? mod(rank - t - 1) : mod(rank - (t - (world - 1)));
  };
  auto deadline = [&] { return Clock::now() + options_.timeout; };

  std::span<float> residual;
  if (fp16) {
    rs_wire_.resize(n);
    ag_wire_.resize(n);
    if (options_.error_feedback) {
      residual = feedback_.residual(bucket, n);
      for (size_t i = 0; i < n; ++i) data[i] += residual[i];  // every element is rewritten below
    }
  }

  // Sends piece `piece` (elements [off, off + len)) as step t. `scale`: the
  // received scale that all-gather forwards.
  auto send_piece = [&](int t, uint32_t piece, size_t off, size_t len, float scale) {
    ChunkHeader h{collective,       bucket, static_cast<uint32_t>(t), piece, codec,
                  len * elem_bytes, 1.0f};
    const std::byte* payload = reinterpret_cast<const std::byte*>(data.data() + off);
    if (fp16) {
      const std::span<float> x = data.subspan(off, len);
      float* res = residual.empty() ? nullptr : residual.data() + off;
      if (t < world - 1) {  // a partial sum
        h.scale = fp16_scale(x);
        fp16_compress(x, h.scale, rs_wire_.data() + off, res);
        payload = reinterpret_cast<const std::byte*>(rs_wire_.data() + off);
      } else {
        if (t == world - 1) {  // the owner's final sum: keep what the others will get
          h.scale = fp16_scale(x);
          fp16_compress(x, h.scale, ag_wire_.data() + off, res);
          fp16_decompress(ag_wire_.data() + off, h.scale, x);
        } else {
          h.scale = scale;
        }
        payload = reinterpret_cast<const std::byte*>(ag_wire_.data() + off);
      }
    }
    transport_.send(h, {payload, h.bytes}, deadline());
  };

  // Step 0: this rank's own segment, all its pieces at once.
  {
    const int k = send_seg(0);
    const size_t begin = seg_begin(k), size = seg_size(k);
    uint32_t p = 0;
    for (size_t off = 0; off < size; off += chunk, ++p)
      send_piece(0, p, begin + off, std::min(chunk, size - off), 1.0f);
  }
  for (int t = 0; t < steps; ++t) {
    const int k = recv_seg(t);
    const size_t begin = seg_begin(k), size = seg_size(k);
    const bool reduce = t < world - 1;
    uint32_t p = 0;
    for (size_t off = 0; off < size; off += chunk, ++p) {
      const size_t at = begin + off, len = std::min(chunk, size - off);
      float scale = 1.0f;
      const ChunkHeader expected{collective,       bucket, static_cast<uint32_t>(t), p, codec,
                                 len * elem_bytes, 1.0f};
      const std::span<float> x = data.subspan(at, len);
      auto check_scale = [&](const ChunkHeader& h) {
        if (!(h.scale > 0.0f) || !std::isfinite(h.scale))
          throw CommError("ring rank " + std::to_string(rank) +
                              ": fp16 chunk with an invalid scale from left neighbour rank " +
                              std::to_string(mod(rank - 1)),
                          mod(rank - 1));
        scale = h.scale;
      };
      if (reduce) {
        transport_.receive(
            expected,
            [&](const ChunkHeader& h, std::span<const std::byte> bytes) {
              if (!fp16) {
                add_into(x.data(), bytes.data(), len);
                return;
              }
              check_scale(h);
              fp16_decompress_add(bytes.data(), scale, x);
            },
            deadline());
      } else {  // all-gather: the bytes go where they belong, by the transport if it can
        auto* dst = fp16 ? reinterpret_cast<std::byte*>(ag_wire_.data() + at)
                         : reinterpret_cast<std::byte*>(x.data());
        const ChunkHeader h =
            transport_.receive_into(expected, {dst, len * elem_bytes}, deadline());
        if (fp16) {
          check_scale(h);
          fp16_decompress(dst, scale, x);
        }
      }
      if (t + 1 < steps) send_piece(t + 1, p, at, len, scale);
    }
  }
  // Our last pieces may still be leaving: the caller gets its buffer back only after.
  transport_.flush(deadline());
}

void RingAllreduce::average(std::span<float> data, uint64_t bucket) {
  sum(data, bucket);
  const float inv = 1.0f / static_cast<float>(transport_.world());
  if (transport_.world() > 1)
    for (float& v : data) v *= inv;
}

}  // namespace ringmaster::comm
