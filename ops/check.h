// Invariant checks for the ops layer. A broken invariant (a caller bug) aborts
// with file, line, the condition and the values involved; expected failures
// (bad files, bad specs) are thrown as ringmaster::ops::Error instead.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace ringmaster::ops {

// Expected, recoverable failures: thrown, caught at a layer boundary and
// turned into a clear message.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void check_failed(const char* file, int line, const char* cond, const std::string& msg);

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... Rest>
void append(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  append(os, rest...);
}
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  append(os, args...);
  return os.str();
}
}  // namespace detail

}  // namespace ringmaster::ops

// RM_CHECK(cond, "message parts", value, ...): aborts with the message when cond is false.
#define RM_CHECK(cond, ...)                                                   \
  do {                                                                        \
    if (!(cond))                                                              \
      ::ringmaster::ops::check_failed(__FILE__, __LINE__, #cond,              \
                                      ::ringmaster::ops::detail::concat(__VA_ARGS__)); \
  } while (0)

// RM_THROW_IF(cond, "message parts", ...): throws ops::Error for expected failures.
#define RM_THROW_IF(cond, ...)                                                       \
  do {                                                                               \
    if (cond) throw ::ringmaster::ops::Error(::ringmaster::ops::detail::concat(__VA_ARGS__)); \
  } while (0)
