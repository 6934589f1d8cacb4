// parse_bounded_json (see bounded_json.h): nlohmann's parser with a callback
// that counts depth and remembers each open object's keys, and stops at the
// first breach.
#include "comm/bounded_json.h"

#include <set>
#include <vector>

namespace ringmaster::comm {
namespace {

// Thrown from the callback to stop the parse; carries the message.
struct Breach {
  std::string what;
};

}  // namespace

JsonParse parse_bounded_json(std::string_view text, int max_depth) {
  JsonParse out;
  std::vector<std::set<std::string>> keys;  // one per open object (arrays: none)
  std::vector<bool> is_object;
  std::vector<std::string> path;  // per open container: the object's current key, "" for arrays
  using Event = nlohmann::json::parse_event_t;
  const nlohmann::json::parser_callback_t check = [&](int depth, Event event,
                                                      nlohmann::json& parsed) {
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        if (depth >= max_depth)
          throw Breach{"nested deeper than " + std::to_string(max_depth) + " levels"};
        is_object.push_back(event == Event::object_start);
        if (event == Event::object_start) keys.emplace_back();
        path.emplace_back();
        break;
      case Event::object_end:
      case Event::array_end:
        if (!is_object.empty()) {
          if (is_object.back()) keys.pop_back();
          is_object.pop_back();
          path.pop_back();
        }
        break;
      case Event::key:
        if (!keys.empty() && !keys.back().insert(parsed.get<std::string>()).second)
          throw Breach{"duplicate key \"" + parsed.get<std::string>() + "\""};
        if (!path.empty()) path.back() = parsed.get<std::string>();
        break;
      case Event::value:
        break;
    }
    return true;
  };
  // nlohmann stops at a NUL as at the end of the input; JSON has no raw NUL.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    out.error = "not valid JSON (a NUL at byte " + std::to_string(nul) + ")";
    out.value = nlohmann::json(nlohmann::json::value_t::discarded);
    return out;
  }
  try {
    out.value = nlohmann::json::parse(text.begin(), text.end(), check);
  } catch (const Breach& b) {
    out.error = b.what;
  } catch (const nlohmann::json::parse_error& e) {
    out.error = "not valid JSON (at byte " + std::to_string(e.byte) + ")";
  } catch (const nlohmann::json::out_of_range&) {
    // A number beyond a double (1e400): named by the keys that lead to it.
    out.error = "a number too large for a double";
    for (size_t i = 0; i < path.size(); ++i) {
      if (!is_object[i]) continue;
      std::string key = path[i];  // RFC 6901: ~ as ~0, / as ~1
      for (size_t at = 0; (at = key.find_first_of("~/", at)) != std::string::npos; at += 2)
        key.replace(at, 1, key[at] == '~' ? "~0" : "~1");
      out.pointer += "/" + key;
    }
  }
  if (!out.error.empty()) out.value = nlohmann::json(nlohmann::json::value_t::discarded);
  return out;
}

}  // namespace ringmaster::comm
