// parse_bounded_json (see bounded_json.h): nlohmann's parser with a callback
// that counts depth and remembers each open object's keys, and stops at the
// first breach.
#include "ops/bounded_json.h"

#include <set>
#include <vector>

#include "ops/check.h"

namespace ringmaster::ops {
namespace {

// Thrown from the callback to stop the parse; carries the message.
struct Breach {
  std::string what;
};

}  // namespace

JsonParse parse_bounded_json(std::string_view text, int max_depth) {
  JsonParse out;
  // One frame per open container: an object's keys so far and its current one.
  struct Frame {
    bool object;
    std::set<std::string> keys;
    std::string key;
  };
  std::vector<Frame> open;
  using Event = nlohmann::json::parse_event_t;
  const nlohmann::json::parser_callback_t check = [&](int depth, Event event,
                                                      nlohmann::json& parsed) {
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        if (depth >= max_depth)
          throw Breach{"nested deeper than " + std::to_string(max_depth) + " levels"};
        open.push_back({event == Event::object_start, {}, {}});
        break;
      case Event::object_end:
      case Event::array_end:
        if (!open.empty()) open.pop_back();
        break;
      case Event::key:
        if (!open.empty()) {
          Frame& f = open.back();
          f.key = parsed.get<std::string>();
          if (!f.keys.insert(f.key).second) throw Breach{"duplicate key \"" + f.key + "\""};
        }
        break;
      case Event::value:
        break;
    }
    return true;
  };
  // nlohmann stops at a NUL as at the end of the input; JSON has no raw NUL.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    out.error = "not valid JSON (a NUL at byte " + std::to_string(nul) + ")";
  } else
    try {
      out.value = nlohmann::json::parse(text.begin(), text.end(), check);
    } catch (const Breach& b) {
      out.error = b.what;
    } catch (const nlohmann::json::parse_error& e) {
      out.error = "not valid JSON (at byte " + std::to_string(e.byte) + ")";
    } catch (const nlohmann::json::out_of_range&) {
      // A number beyond a double (1e400): named by the keys that lead to it.
      out.error = "a number too large for a double";
      nlohmann::json::json_pointer where;  // escapes ~ and / as RFC 6901 says
      for (const Frame& f : open)
        if (f.object) where /= f.key;
      out.pointer = where.to_string();
    }
  if (!out.error.empty()) out.value = nlohmann::json(nlohmann::json::value_t::discarded);
  return out;
}

nlohmann::json parse_bounded_json_or_throw(std::string_view text, const std::string& what) {
  JsonParse parsed = parse_bounded_json(text);
  if (parsed.error.empty()) return std::move(parsed.value);
  throw Error(what + ": " + parsed.error +
              (parsed.pointer.empty() ? "" : " (at " + parsed.pointer + ")"));
}

}  // namespace ringmaster::ops
