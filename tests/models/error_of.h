// Test helper: the message of the ops::Error that f throws, or "no error".
#pragma once

#include <functional>
#include <string>

#include "ops/check.h"

namespace ringmaster::models {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ops::Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace ringmaster::models
