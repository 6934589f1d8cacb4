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

using Clock = RingTransport::Clock;

// y += x, x possibly unaligned (inside a ZeroMQ message).
void add_into(float* y, const std::byte* x, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    float v;
    std::memcpy(&v, x + 4 * i, 4);
    y[i] += v;
  }
}

// One call of sum(): which segment each step sends and receives, and the
// send and receive of one piece, with its fp16 coding.
class RingPass {
 public:
  RingPass(RingTransport& transport, const AllreduceOptions& options, uint64_t collective,
           uint64_t bucket, std::span<float> data, std::span<float> residual,
           std::vector<uint16_t>& rs_wire, std::vector<uint16_t>& ag_wire)
      : transport_(transport),
        options_(options),
        collective_(collective),
        bucket_(bucket),
        data_(data),
        residual_(residual),
        rs_wire_(rs_wire),
        ag_wire_(ag_wire),
        world_(transport.world()),
        rank_(transport.rank()),
        fp16_(options.compression == Compression::kFp16),
        codec_(fp16_ ? Codec::kF16 : Codec::kF32),
        elem_bytes_(fp16_ ? 2 : 4) {}

  int steps() const { return 2 * (world_ - 1); }
  int send_segment(int t) const {
    return t < world_ - 1 ? mod(rank_ - t) : mod(rank_ + 1 - (t - (world_ - 1)));
  }
  int receive_segment(int t) const {
    return t < world_ - 1 ? mod(rank_ - t - 1) : mod(rank_ - (t - (world_ - 1)));
  }
  Clock::time_point deadline() const { return Clock::now() + options_.timeout; }

  // f(piece, offset, length) for each piece of segment k, in order.
  template <class F>
  void for_each_piece(int k, F f) const {
    const size_t n = data_.size(), w = static_cast<size_t>(world_), uk = static_cast<size_t>(k);
    const size_t begin = uk * (n / w) + std::min(uk, n % w);
    const size_t size = n / w + (uk < n % w ? 1 : 0);
    const size_t chunk = options_.chunk_bytes / 4;  // elements per piece
    uint32_t p = 0;
    for (size_t off = 0; off < size; off += chunk, ++p)
      f(p, begin + off, std::min(chunk, size - off));
  }

  // Sends piece `piece` (elements [at, at + len)) as step t. `scale`: the
  // received scale that all-gather forwards.
  void send_piece(int t, uint32_t piece, size_t at, size_t len, float scale) {
    ChunkHeader h = header(t, piece, len);
    const std::byte* payload = reinterpret_cast<const std::byte*>(data_.data() + at);
    if (fp16_) {
      const std::span<float> x = data_.subspan(at, len);
      float* res = residual_.empty() ? nullptr : residual_.data() + at;
      if (t < world_ - 1) {  // a partial sum
        h.scale = fp16_scale(x);
        fp16_compress(x, h.scale, rs_wire_.data() + at, res);
        payload = reinterpret_cast<const std::byte*>(rs_wire_.data() + at);
      } else {
        if (t == world_ - 1) {  // the owner's final sum: keep what the others will get
          h.scale = fp16_scale(x);
          fp16_compress(x, h.scale, ag_wire_.data() + at, res);
          fp16_decompress(ag_wire_.data() + at, h.scale, x);
        } else {
          h.scale = scale;
        }
        payload = reinterpret_cast<const std::byte*>(ag_wire_.data() + at);
      }
    }
    transport_.send(h, {payload, h.bytes}, deadline());
  }

  // Receives piece `piece` of step t: adds it in (reduce-scatter) or takes
  // it (all-gather). Returns its fp16 scale (1 in f32).
  float receive_piece(int t, uint32_t piece, size_t at, size_t len) {
    const ChunkHeader expected = header(t, piece, len);
    const std::span<float> x = data_.subspan(at, len);
    float scale = 1.0f;
    if (t < world_ - 1) {
      transport_.receive(
          expected,
          [&](const ChunkHeader& h, std::span<const std::byte> bytes) {
            if (!fp16_) return add_into(x.data(), bytes.data(), len);
            scale = checked_scale(h);
            fp16_decompress_add(bytes.data(), scale, x);
          },
          deadline());
      return scale;
    }
    // All-gather: the bytes go where they belong, by the transport if it can.
    auto* dst = fp16_ ? reinterpret_cast<std::byte*>(ag_wire_.data() + at)
                      : reinterpret_cast<std::byte*>(x.data());
    const ChunkHeader h = transport_.receive_into(expected, {dst, len * elem_bytes_}, deadline());
    if (fp16_) {
      scale = checked_scale(h);
      fp16_decompress(dst, scale, x);
    }
    return scale;
  }

 private:
  int mod(int x) const { return ((x % world_) + world_) % world_; }
  ChunkHeader header(int t, uint32_t piece, size_t len) const {
    return {collective_, bucket_, static_cast<uint32_t>(t), piece, codec_, len * elem_bytes_, 1.0f};
  }
  float checked_scale(const ChunkHeader& h) const {
    if (!(h.scale > 0.0f) || !std::isfinite(h.scale))
      throw CommError("ring rank " + std::to_string(rank_) +
                          ": fp16 chunk with an invalid scale from left neighbour rank " +
                          std::to_string(mod(rank_ - 1)),
                      mod(rank_ - 1));
    return h.scale;
  }

  RingTransport& transport_;
  const AllreduceOptions& options_;
  const uint64_t collective_, bucket_;
  std::span<float> data_, residual_;
  std::vector<uint16_t>& rs_wire_;  // fp16 payloads of each phase, (n,)
  std::vector<uint16_t>& ag_wire_;
  const int world_, rank_;
  const bool fp16_;
  const Codec codec_;
  const size_t elem_bytes_;
};

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
  if (transport_.world() == 1) return;
  const uint64_t collective = transport_.begin_collective();
  const size_t n = data.size();
  std::span<float> residual;
  if (options_.compression == Compression::kFp16) {
    rs_wire_.resize(n);
    ag_wire_.resize(n);
    if (options_.error_feedback) {
      residual = feedback_.residual(bucket, n);
      for (size_t i = 0; i < n; ++i) data[i] += residual[i];  // every element is rewritten below
    }
  }
  RingPass pass(transport_, options_, collective, bucket, data, residual, rs_wire_, ag_wire_);
  // Step 0: this rank's own segment, all its pieces at once; then each
  // piece received is sent on as the next step's as soon as it is in.
  pass.for_each_piece(pass.send_segment(0), [&](uint32_t p, size_t at, size_t len) {
    pass.send_piece(0, p, at, len, 1.0f);
  });
  for (int t = 0; t < pass.steps(); ++t)
    pass.for_each_piece(pass.receive_segment(t), [&](uint32_t p, size_t at, size_t len) {
      const float scale = pass.receive_piece(t, p, at, len);
      if (t + 1 < pass.steps()) pass.send_piece(t + 1, p, at, len, scale);
    });
  // Our last pieces may still be leaving: the caller gets its buffer back only after.
  transport_.flush(pass.deadline());
}

void RingAllreduce::average(std::span<float> data, uint64_t bucket) {
  sum(data, bucket);
  const float inv = 1.0f / static_cast<float>(transport_.world());
  if (transport_.world() > 1)
    for (float& v : data) v *= inv;
}

}  // namespace ringmaster::comm
