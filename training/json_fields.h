// Internal to models/: typed reads of a JSON object's fields for specs
// (optimizer, LR schedule), with ops::Error messages that name the spec and
// the field, and a final check that rejects fields nobody read (typos).
// Not a public API; not thread-safe (one reader per object).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ops/check.h"

namespace ringmaster::training::detail {

// A problem with one field: what JsonFields throws, so a caller can name the
// field by JSON pointer (what() is "<context>: field '<field>' <problem>").
class FieldError : public ops::Error {
 public:
  FieldError(const std::string& context, std::string field, std::string problem)
      : ops::Error(context + ": field '" + field + "' " + problem),
        field_(std::move(field)),
        problem_(std::move(problem)) {}
  const std::string& field() const { return field_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string field_, problem_;
};

class JsonFields {
 public:
  // Throws unless j is an object. context names it in messages ("optimizer").
  JsonFields(const nlohmann::json& j, std::string context);

  bool has(const std::string& key) const;
  double number(const std::string& key);  // required
  double number(const std::string& key, double fallback);
  int64_t integer(const std::string& key);  // required; must be integral
  int64_t integer(const std::string& key, int64_t fallback);
  bool boolean(const std::string& key, bool fallback);
  std::string string(const std::string& key);             // required
  std::vector<int64_t> integers(const std::string& key);  // required array
  std::vector<double> numbers(const std::string& key);    // required array
  // Throws naming every field that was present but never read.
  void finish() const;
  // Throws "<context>: field '<key>' <problem>".
  [[noreturn]] void fail(const std::string& key, const std::string& problem) const;

 private:
  const nlohmann::json& get(const std::string& key);
  const nlohmann::json& j_;
  std::string context_;
  std::set<std::string> read_;
};

}  // namespace ringmaster::training::detail
