// JSON from outside (REST bodies, ZeroMQ message headers), parsed with bounds:
// nesting at most kMaxJsonDepth levels (a deeper document would overflow the
// stack of whatever copies, compares or prints it recursively), no key twice
// in one object (which value counts would be a guess), nothing after the
// value but whitespace, and no NUL anywhere (nlohmann would stop at one as at
// the end of the input). The error names the problem and the
// byte, never the bytes themselves.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ringmaster::comm {

constexpr int kMaxJsonDepth = 64;

struct JsonParse {
  nlohmann::json value;  // discarded when error is set
  std::string error;     // empty: parsed
  // Where the error is, as the JSON pointer of the object keys that lead
  // there (array positions are not counted), when known: a number too large
  // for a double names its key; "" otherwise.
  std::string pointer;
};

JsonParse parse_bounded_json(std::string_view text, int max_depth = kMaxJsonDepth);

}  // namespace ringmaster::comm
