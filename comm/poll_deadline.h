// How long one poll may sleep on the way to a deadline (internal to comm).
#pragma once

#include <algorithm>
#include <chrono>

namespace ringmaster::comm {

// Milliseconds to `until`, rounded up, at most `cap`, never negative.
inline long poll_ms(std::chrono::steady_clock::time_point until, std::chrono::milliseconds cap) {
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
  return std::max<long>(0, std::min<long>(left.count(), cap.count()));
}

}  // namespace ringmaster::comm
