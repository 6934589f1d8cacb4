// SpecReader (see spec_reader.h): typed reads that record problems by JSON
// pointer, and the unknown-field sweep in the destructor.
#include "models/spec_reader.h"

#include <cmath>
#include <sstream>

namespace ringmaster::models {

const char* json_type_name(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::number_float:
      return "a number";
    default:
      return "an integer";
  }
}

SpecReader::SpecReader(const nlohmann::json& j, std::string pointer,
                       std::vector<SpecProblem>& problems, std::set<std::string> owned_elsewhere)
    : j_(j), pointer_(std::move(pointer)), problems_(problems), used_(std::move(owned_elsewhere)) {
  ok_ = j.is_object();
  if (!ok_) problem("", std::string("must be an object, got ") + json_type_name(j));
}

SpecReader::~SpecReader() {
  if (!ok_) return;
  for (auto it = j_.begin(); it != j_.end(); ++it) {
    if (!used_.count(it.key())) problem(it.key(), unknown_reason_);
  }
}

bool SpecReader::has(const std::string& key) const { return ok_ && j_.contains(key); }

const nlohmann::json* SpecReader::find(const std::string& key) {
  if (!ok_) return nullptr;
  used_.insert(key);
  auto it = j_.find(key);
  return it == j_.end() ? nullptr : &*it;
}

const nlohmann::json* SpecReader::raw(const std::string& key) { return find(key); }

const nlohmann::json* SpecReader::object(const std::string& key) {
  const nlohmann::json* v = find(key);
  if (v && !v->is_object()) {
    problem(key, std::string("must be an object, got ") + json_type_name(*v));
    return nullptr;
  }
  return v;
}

void SpecReader::problem(const std::string& key, const std::string& reason) {
  problems_.push_back({key.empty() ? pointer_ : pointer_ + "/" + key, reason});
}

void SpecReader::string(const std::string& key, std::string& out,
                        const std::set<std::string>& allowed) {
  const nlohmann::json* v = find(key);
  if (!v) return;
  if (!v->is_string())
    return problem(key, std::string("must be a string, got ") + json_type_name(*v));
  const std::string s = v->get<std::string>();
  if (!allowed.empty() && !allowed.count(s)) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return problem(key, "must be one of " + list + ", got \"" + s + "\"");
  }
  out = s;
}

void SpecReader::integer(const std::string& key, int64_t& out, int64_t min, int64_t max) {
  const nlohmann::json* v = find(key);
  if (!v) return;
  if (!v->is_number_integer())
    return problem(key, std::string("must be an integer, got ") + json_type_name(*v));
  const int64_t x =
      v->is_number_unsigned() && v->get<uint64_t>() > INT64_MAX ? INT64_MAX : v->get<int64_t>();
  if (x < min) return problem(key, "must be >= " + std::to_string(min));
  if (x > max) return problem(key, "must be <= " + std::to_string(max));
  out = x;
}

void SpecReader::number(const std::string& key, double& out, double min, double max,
                        bool min_open) {
  const nlohmann::json* v = find(key);
  if (!v) return;
  if (!v->is_number())
    return problem(key, std::string("must be a number, got ") + json_type_name(*v));
  const double x = v->get<double>();
  auto fmt = [](double d) {
    std::ostringstream os;
    os << d;
    return os.str();
  };
  if (min_open ? !(x > min) : !(x >= min))
    return problem(key, std::string("must be ") + (min_open ? "> " : ">= ") + fmt(min));
  if (!(x <= max)) return problem(key, "must be <= " + fmt(max));
  out = x;
}

void SpecReader::boolean(const std::string& key, bool& out) {
  const nlohmann::json* v = find(key);
  if (!v) return;
  if (!v->is_boolean())
    return problem(key, std::string("must be a boolean, got ") + json_type_name(*v));
  out = v->get<bool>();
}

void SpecReader::strings(const std::string& key, std::vector<std::string>& out) {
  const nlohmann::json* v = find(key);
  if (!v) return;
  if (!v->is_array())
    return problem(key, std::string("must be an array of strings, got ") + json_type_name(*v));
  std::vector<std::string> got;
  for (size_t i = 0; i < v->size(); ++i) {
    const nlohmann::json& e = (*v)[i];
    if (!e.is_string()) {
      return problem(key + "/" + std::to_string(i),
                     std::string("must be a string, got ") + json_type_name(e));
    }
    got.push_back(e.get<std::string>());
  }
  out = std::move(got);
}

}  // namespace ringmaster::models
