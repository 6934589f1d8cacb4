// Typed JSON field reads with named errors (see json_fields.h).
#include "training/json_fields.h"

#include <cmath>
#include <sstream>

#include "ops/check.h"

namespace ringmaster::training::detail {

JsonFields::JsonFields(const nlohmann::json& j, std::string context)
    : j_(j), context_(std::move(context)) {
  RM_THROW_IF(!j.is_object(), context_, ": expected a JSON object, got ", j.dump());
}

void JsonFields::fail(const std::string& key, const std::string& problem) const {
  throw FieldError(context_, key, problem);
}

bool JsonFields::has(const std::string& key) const { return j_.contains(key); }

const nlohmann::json& JsonFields::get(const std::string& key) {
  if (!j_.contains(key)) fail(key, "is required");
  read_.insert(key);
  return j_.at(key);
}

double JsonFields::number(const std::string& key) {
  const nlohmann::json& v = get(key);
  if (!v.is_number()) fail(key, "must be a number, got " + v.dump());
  const double d = v.get<double>();
  if (!std::isfinite(d)) fail(key, "must be finite");
  return d;
}

double JsonFields::number(const std::string& key, double fallback) {
  return has(key) ? number(key) : fallback;
}

int64_t JsonFields::integer(const std::string& key) {
  const nlohmann::json& v = get(key);
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15)
      return static_cast<int64_t>(d);
  }
  fail(key, "must be an integer, got " + v.dump());
}

int64_t JsonFields::integer(const std::string& key, int64_t fallback) {
  return has(key) ? integer(key) : fallback;
}

bool JsonFields::boolean(const std::string& key, bool fallback) {
  if (!has(key)) return fallback;
  const nlohmann::json& v = get(key);
  if (!v.is_boolean()) fail(key, "must be true or false, got " + v.dump());
  return v.get<bool>();
}

std::string JsonFields::string(const std::string& key) {
  const nlohmann::json& v = get(key);
  if (!v.is_string()) fail(key, "must be a string, got " + v.dump());
  return v.get<std::string>();
}

std::vector<int64_t> JsonFields::integers(const std::string& key) {
  const nlohmann::json& v = get(key);
  if (!v.is_array()) fail(key, "must be an array of integers, got " + v.dump());
  std::vector<int64_t> out;
  for (const auto& e : v) {
    if (!e.is_number_integer()) fail(key, "must be an array of integers, got " + v.dump());
    out.push_back(e.get<int64_t>());
  }
  return out;
}

std::vector<double> JsonFields::numbers(const std::string& key) {
  const nlohmann::json& v = get(key);
  if (!v.is_array()) fail(key, "must be an array of numbers, got " + v.dump());
  std::vector<double> out;
  for (const auto& e : v) {
    if (!e.is_number()) fail(key, "must be an array of numbers, got " + v.dump());
    out.push_back(e.get<double>());
  }
  return out;
}

void JsonFields::finish() const {
  for (const auto& [key, value] : j_.items()) {
    if (!read_.count(key)) fail(key, "is an unknown field");
  }
}

}  // namespace ringmaster::training::detail
