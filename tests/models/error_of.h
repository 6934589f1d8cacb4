// Test helper: the message of the ops::Error that f throws, or "no error"
// (tests/error_of.h, under the models tests' namespace).
#pragma once

#include "tests/error_of.h"

namespace ringmaster::models {

using testing_support::error_of;

}  // namespace ringmaster::models
