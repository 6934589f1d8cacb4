// Fuzz target: a ZeroMQ message as the control plane and the workers decode
// it (comm::decode): the input is cut into frames at each 0xFF byte (at most
// 70, so the overflow path is reached too). Expected failures are
// ProtocolError; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "comm/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> frames(1);
  bool overflow = false;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0xFF) {
      if (frames.size() < ringmaster::comm::kMaxFrames) {
        frames.emplace_back();
      } else {
        overflow = true;
      }
      continue;
    }
    frames.back().push_back(static_cast<char>(data[i]));
  }
  try {
    ringmaster::comm::decode(frames, overflow);
  } catch (const ringmaster::comm::ProtocolError&) {
  }
  return 0;
}
