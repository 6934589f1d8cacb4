// Control-plane messages on the wire: ZeroMQ multipart, frame 0 = "<type>/<version>"
// (e.g. "register/1"), frame 1 = a JSON object header, later frames raw bytes.
// decode() validates everything (frame count, sizes, version, known type, the
// header's required fields and their types and ranges) and throws
// ProtocolError naming the problem; it never aborts on bad input. The
// message types and their header schemas live in messages.cpp (see README).
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ringmaster::comm {

inline constexpr int kProtocolVersion = 1;
// Per-frame limit set as ZMQ_MAXMSGSIZE on every receiving socket: a peer that
// sends a bigger frame is disconnected by ZeroMQ before we see it.
inline constexpr int64_t kMaxFrameBytes = 16 << 20;
inline constexpr size_t kMaxHeaderBytes = 1 << 20;  // frame 1
inline constexpr size_t kMaxFrames = 64;            // frame 0 + header + payload

struct Message {
  std::string type;  // "register", "heartbeat", ... (see messages.cpp)
  nlohmann::json header = nlohmann::json::object();
  std::vector<std::string> payload;  // raw frames after the header
};

// A message that failed validation. code() is a stable token for counting
// and for the error reply ("bad_frames", "bad_version", "unknown_type",
// "bad_header", "bad_field"); what() is a sentence for a human.
class ProtocolError : public std::runtime_error {
 public:
  ProtocolError(std::string code, const std::string& what)
      : std::runtime_error(what), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

// Frames for the wire. Throws ProtocolError for an unknown type or a header
// that does not satisfy its schema (so a bug on the sending side is caught
// where it happens).
std::vector<std::string> encode(const Message& m);
// Validates and parses. `overflow` is set by the transport when the peer sent
// more than kMaxFrames frames (the rest were dropped).
Message decode(const std::vector<std::string>& frames, bool overflow = false);
// The same, moving the payload frames instead of copying them (tensor-sized
// payloads: the parameter server).
std::vector<std::string> encode(Message&& m);
Message decode(std::vector<std::string>&& frames, bool overflow = false);

// Convenience: an "error" message (code, message[, in_reply_to]).
Message make_error(const std::string& code, const std::string& text,
                   const std::string& in_reply_to = "");

// Known message types, for tests and docs.
std::vector<std::string> message_types();

}  // namespace ringmaster::comm
