// Test helper: the message of the exception of type E (ops::Error unless
// named) that f throws, or "no error" when it throws none.
#pragma once

#include <functional>
#include <string>

#include "ops/check.h"

namespace ringmaster::testing_support {

template <class E = ops::Error>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace ringmaster::testing_support
