// CommError: the one exception type comm/ throws for an expected failure of a
// collective or a parameter-server exchange (a peer gone silent, a timeout, an
// error reply). what() is a sentence for the user that names the peer or rank.
// Header only; thread-safe.
#pragma once

#include <stdexcept>

namespace ringmaster::comm {

class CommError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ringmaster::comm
