// CommError: the one exception type comm/ throws for an expected failure of a
// collective or a parameter-server exchange (a peer that died, hung or sent
// what the protocol does not expect; a timeout; an error reply). what() is a
// sentence for the user that names the peer or rank and what was being
// waited for. Header only; thread-safe.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace ringmaster::comm {

class CommError : public std::runtime_error {
 public:
  explicit CommError(const std::string& what, int peer_rank = -1, std::string peer_endpoint = {})
      : std::runtime_error(what), peer_rank_(peer_rank), peer_endpoint_(std::move(peer_endpoint)) {}
  int peer_rank() const { return peer_rank_; }  // -1: not one peer's fault
  const std::string& peer_endpoint() const { return peer_endpoint_; }

 private:
  int peer_rank_;
  std::string peer_endpoint_;
};

}  // namespace ringmaster::comm
