// SpecReader: strict reading of one JSON object of a job spec. Each typed
// read marks its key as used and records a SpecProblem (JSON pointer and
// reason) instead of throwing, so a caller collects every problem at once;
// on destruction, any key nobody read is an "unknown field" problem.
// Architectures read their options with it (model_registry.h), data sets
// theirs (training/dataset_registry.h), and the job spec its sections. One
// reader per object, one thread; it never blocks.
#pragma once

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ringmaster::models {

struct SpecProblem {
  std::string pointer;  // JSON pointer of the bad field, e.g. "/train/batch_size"
  std::string reason;   // e.g. "must be >= 1"
};

// One line per problem: "/train/batch_size: must be >= 1". (Inline, as
// SpecError: a coordinator reports spec problems without linking models/.)
inline std::string format_problems(const std::vector<SpecProblem>& problems) {
  std::string out;
  for (size_t i = 0; i < problems.size(); ++i) {
    out += (i ? "\n" : "") + (problems[i].pointer.empty() ? "/" : problems[i].pointer) + ": " +
           problems[i].reason;
  }
  return out;
}

// Thrown by spec parsers with every problem found.
class SpecError : public std::runtime_error {
 public:
  explicit SpecError(std::vector<SpecProblem> problems)
      : std::runtime_error(format_problems(problems)), problems_(std::move(problems)) {}
  const std::vector<SpecProblem>& problems() const { return problems_; }

 private:
  std::vector<SpecProblem> problems_;
};

class SpecReader {
 public:
  // j is copied (a spec object is small). pointer: j's JSON pointer ("/model"). Keys in
  // `owned_elsewhere` are neither read nor reported as unknown.
  SpecReader(const nlohmann::json& j, std::string pointer, std::vector<SpecProblem>& problems,
             std::set<std::string> owned_elsewhere = {});
  ~SpecReader();
  SpecReader(const SpecReader&) = delete;
  SpecReader& operator=(const SpecReader&) = delete;

  bool ok() const { return ok_; }  // j is an object
  bool has(const std::string& key) const;
  // Each read leaves `out` unchanged when the key is absent or bad.
  void string(const std::string& key, std::string& out, const std::set<std::string>& allowed = {});
  void integer(const std::string& key, int64_t& out, int64_t min, int64_t max = INT64_MAX);
  // The same for other integer fields (e.g. an unsigned seed, an int count).
  template <class Int>
  requires(std::is_integral_v<Int> &&
           !std::is_same_v<Int, int64_t>) void integer(const std::string& key, Int& out,
                                                       int64_t min, int64_t max = INT64_MAX) {
    int64_t v = static_cast<int64_t>(out);
    integer(key, v, min, max);
    out = static_cast<Int>(v);
  }
  void number(const std::string& key, double& out, double min, double max, bool min_open = false);
  void boolean(const std::string& key, bool& out);
  void strings(const std::string& key, std::vector<std::string>& out);
  // One of a fixed set of names, stored as its value (e.g. an enum).
  template <class E>
  void choice(const std::string& key, E& out, const std::vector<std::pair<std::string, E>>& names) {
    std::set<std::string> allowed;
    std::string got;
    for (const auto& [name, value] : names) {
      allowed.insert(name);
      if (value == out) got = name;
    }
    string(key, got, allowed);
    for (const auto& [name, value] : names)
      if (name == got) out = value;
  }
  // What the destructor says of a key nobody read ("unknown field").
  void set_unknown_reason(std::string reason) { unknown_reason_ = std::move(reason); }
  // The raw value (marked used), or null when absent.
  const nlohmann::json* raw(const std::string& key);
  // A nested object (for its own reader), or null when absent or not an object
  // (the latter recorded as a problem).
  const nlohmann::json* object(const std::string& key);

  std::string pointer() const { return pointer_; }
  // Where problems go (for a nested object's own reader).
  std::vector<SpecProblem>& problems() { return problems_; }
  std::string child(const std::string& key) const { return pointer_ + "/" + key; }
  // Records a problem at this object's pointer + "/" + key ("" for the object).
  void problem(const std::string& key, const std::string& reason);

 private:
  const nlohmann::json* find(const std::string& key);

  const nlohmann::json j_;
  std::string pointer_;
  std::vector<SpecProblem>& problems_;
  std::set<std::string> used_;
  std::string unknown_reason_ = "unknown field";
  bool ok_ = false;
};

// "an integer", "a string", ...: for messages.
const char* json_type_name(const nlohmann::json& j);

}  // namespace ringmaster::models
