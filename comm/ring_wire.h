// The ring's wire format (see comm/README.md): every message is one 56-byte
// little-endian header frame, followed for a chunk by one payload frame. Used
// by zmq_ring_transport.cpp and by tests that play a misbehaving peer; not
// part of the public API (the algorithm sees ChunkHeader only).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "comm/ring_transport.h"

namespace ringmaster::comm::wire {

static_assert(std::endian::native == std::endian::little, "the ring wire format is little-endian");

inline constexpr uint32_t kMagic = 0x31524d52;  // "RMR1"
// kAbort: a rank that gives up tells both neighbours why (payload: the text).
enum class Kind : uint16_t { kHello = 1, kWelcome = 2, kChunk = 3, kAbort = 4 };

// Frame 0 of every ring message. Plain bytes: no padding (checked below).
struct Header {
  uint32_t magic = kMagic;
  uint16_t kind = 0;   // Kind
  uint16_t codec = 0;  // Codec (chunks)
  uint32_t from_rank = 0;
  uint32_t world = 0;
  uint64_t collective = 0;  // hello / welcome: the world's generation
  uint64_t bucket = 0;
  uint32_t step = 0;
  uint32_t piece = 0;
  uint64_t bytes = 0;  // payload frame size (chunks); 0 otherwise
  float scale = 1.0f;
  uint32_t to_rank = 0;  // hello: the rank the sender believes it is talking to
};
static_assert(sizeof(Header) == 56, "wire::Header must have no padding");

inline std::string encode(const Header& h) {
  std::string s(sizeof h, '\0');
  std::memcpy(s.data(), &h, sizeof h);
  return s;
}

// nullopt: not exactly 56 bytes, or a wrong magic.
inline std::optional<Header> decode(const void* data, size_t size) {
  if (size != sizeof(Header)) return std::nullopt;
  Header h;
  std::memcpy(&h, data, sizeof h);
  if (h.magic != kMagic) return std::nullopt;
  return h;
}

inline Header chunk(int from_rank, int world, const ChunkHeader& c) {
  Header h;
  h.kind = static_cast<uint16_t>(Kind::kChunk);
  h.codec = static_cast<uint16_t>(c.codec);
  h.from_rank = static_cast<uint32_t>(from_rank);
  h.world = static_cast<uint32_t>(world);
  h.collective = c.collective;
  h.bucket = c.bucket;
  h.step = c.step;
  h.piece = c.piece;
  h.bytes = c.bytes;
  h.scale = c.scale;
  return h;
}

// The routing identity a rank's sending socket presents to its right neighbour.
inline std::string identity(int rank) { return "rank-" + std::to_string(rank); }

}  // namespace ringmaster::comm::wire
