// ZMQ_CHECK: the one check macro for libzmq calls that must not fail (setting
// a socket option, closing a socket). On failure it aborts with file, line,
// the call and zmq_strerror. Expected failures (an address in use, a peer
// that is gone) are not checked this way; transport.cpp returns or throws
// them. Internal to comm/: include only from .cpp files (it includes zmq.h).
#pragma once

#include <zmq.h>

#include <cstdio>
#include <cstdlib>

#define ZMQ_CHECK(call)                                                                        \
  do {                                                                                         \
    if ((call) == -1) {                                                                        \
      const int zmq_check_errno_ = zmq_errno();                                                \
      std::fprintf(stderr, "%s:%d: ZMQ_CHECK failed: %s: %s (errno %d)\n", __FILE__, __LINE__, \
                   #call, zmq_strerror(zmq_check_errno_), zmq_check_errno_);                   \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)
