// JSON from outside (REST bodies, ZeroMQ message headers, spec files,
// checkpoint manifests and state, safetensors headers, tfjs manifests), parsed
// with bounds. It lives in ops, the one layer that models, comm and training
// all see, though it has nothing to do with tensors. The bounds:
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

namespace ringmaster::ops {

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

// For files: the parsed value, or ops::Error "<what>: <the problem>", with
// " (at <pointer>)" where the problem has a place among the keys.
nlohmann::json parse_bounded_json_or_throw(std::string_view text, const std::string& what);

}  // namespace ringmaster::ops
