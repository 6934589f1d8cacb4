// Module bookkeeping (see module.h): registration, dotted-name enumeration,
// mode, freezing and state dicts. No layer logic lives here.
#include "models/module.h"

#include <cstring>
#include <set>
#include <sstream>

#include "ops/device_memory.h"
#include "ops/half.h"

namespace ringmaster::models {

bool glob_match(const std::string& pattern, const std::string& name) {
  // Iterative matcher with one backtrack point (the last '*'): linear in
  // practice, no recursion.
  size_t p = 0, n = 0, star = std::string::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

void Module::check_new_name(const std::string& name) const {
  RM_CHECK(!name.empty() && name.find('.') == std::string::npos,
           "module entry names are non-empty and have no '.': '", name, "'");
  for (const auto& [n, t] : params_) RM_CHECK(n != name, "'", name, "' is already a parameter");
  for (const auto& [n, t] : buffers_) RM_CHECK(n != name, "'", name, "' is already a buffer");
  for (const auto& [n, m] : children_) RM_CHECK(n != name, "'", name, "' is already a child");
}

ops::Tensor Module::register_parameter(const std::string& name, ops::Tensor t) {
  check_new_name(name);
  RM_CHECK(t.defined(), "parameter '", name, "' is undefined");
  t.set_requires_grad(true);
  params_.emplace_back(name, t);
  return t;
}

ops::Tensor Module::register_buffer(const std::string& name, ops::Tensor t) {
  check_new_name(name);
  RM_CHECK(t.defined(), "buffer '", name, "' is undefined");
  buffers_.emplace_back(name, t);
  return t;
}

void Module::register_child(const std::string& name, std::shared_ptr<Module> m) {
  RM_CHECK(m != nullptr, "child '", name, "' is null");
  for (auto& [n, existing] : children_) {
    if (n == name) {  // replace in place (e.g. a new classifier head)
      existing = std::move(m);
      return;
    }
  }
  check_new_name(name);
  children_.emplace_back(name, std::move(m));
}

void Module::collect(const std::string& prefix, bool params, NamedTensors& out) const {
  for (const auto& [n, t] : params ? params_ : buffers_) out.emplace_back(prefix + n, t);
  for (const auto& [n, m] : children_) m->collect(prefix + n + ".", params, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, out);
  return out;
}

std::vector<ops::Tensor> Module::parameters() const {
  std::vector<ops::Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

void Module::collect_modules(const std::string& prefix,
                             std::vector<std::pair<std::string, Module*>>& out) {
  out.emplace_back(prefix, this);
  for (const auto& [n, m] : children_)
    m->collect_modules(prefix.empty() ? n : prefix + "." + n, out);
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  collect_modules("", out);
  return out;
}

std::shared_ptr<Module> Module::child(const std::string& name) const {
  for (const auto& [n, m] : children_)
    if (n == name) return m;
  return nullptr;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, m] : children_) m->train(on);
}

size_t Module::set_requires_grad(const std::string& pattern, bool on) {
  size_t count = 0;
  for (auto& [name, t] : named_parameters()) {
    if (!glob_match(pattern, name)) continue;
    t.set_requires_grad(on);
    ++count;
  }
  return count;
}

size_t Module::freeze(const std::string& pattern) { return set_requires_grad(pattern, false); }
size_t Module::unfreeze(const std::string& pattern) { return set_requires_grad(pattern, true); }

TensorMap Module::state_dict() const {
  TensorMap out;
  for (auto& [n, t] : named_parameters()) out.emplace(n, t.detach());
  for (auto& [n, t] : named_buffers()) out.emplace(n, t.detach());
  return out;
}

namespace {

bool convertible(ops::DType from, ops::DType to) {
  auto fp = [](ops::DType d) { return d == ops::DType::f32 || d == ops::DType::f16; };
  return from == to || (fp(from) && fp(to));
}

// src (any device, any layout) into dst (plain), converting f16 <-> f32.
void copy_into(const ops::Tensor& dst, const ops::Tensor& src) {
  RM_CHECK(dst.is_plain(), "model tensors are plain; got ", ops::to_string(dst));
  ops::Tensor s = src.to(ops::Device::cpu()).to_plain();
  if (s.dtype() != dst.dtype()) {
    ops::Tensor c = ops::Tensor::empty(s.shape(), dst.dtype());
    if (s.dtype() == ops::DType::f16)
      ops::half_to_float(s.data<uint16_t>(), c.data<float>(), s.numel());
    else
      ops::float_to_half(s.data<float>(), c.data<uint16_t>(), s.numel());
    s = c;
  }
  ops::device_copy(dst.raw(), dst.device(), s.raw(), ops::Device::cpu(), dst.nbytes());
}

std::string join(const std::vector<std::string>& v) {
  std::ostringstream os;
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  return os.str();
}

}  // namespace

LoadStateResult Module::load_state_dict(const TensorMap& state, bool strict) {
  NamedTensors mine = named_parameters();
  NamedTensors bufs = named_buffers();
  mine.insert(mine.end(), bufs.begin(), bufs.end());

  LoadStateResult result;
  std::set<std::string> known;
  std::vector<std::pair<ops::Tensor, ops::Tensor>> copies;  // (dst, src)
  for (const auto& [name, dst] : mine) {
    known.insert(name);
    auto it = state.find(name);
    if (it == state.end()) {
      result.missing.push_back(name);
      continue;
    }
    const ops::Tensor& src = it->second;
    RM_THROW_IF(!src.defined(), "load_state_dict: '", name, "' is undefined in the state dict");
    RM_THROW_IF(src.shape() != dst.shape(), "load_state_dict: shape mismatch for '", name,
                "': the model has ", ops::shape_str(dst.shape()), ", the state dict has ",
                ops::shape_str(src.shape()));
    RM_THROW_IF(!convertible(src.dtype(), dst.dtype()), "load_state_dict: dtype mismatch for '",
                name, "': the model has ", ops::dtype_name(dst.dtype()), ", the state dict has ",
                ops::dtype_name(src.dtype()));
    copies.emplace_back(dst, src);
  }
  for (const auto& [name, t] : state)
    if (!known.count(name)) result.unexpected.push_back(name);

  if (strict && (!result.missing.empty() || !result.unexpected.empty())) {
    std::ostringstream os;
    os << "load_state_dict (strict):";
    if (!result.missing.empty())
      os << " missing from the state dict: " << join(result.missing) << ";";
    if (!result.unexpected.empty()) os << " not in the model: " << join(result.unexpected) << ";";
    throw ops::Error(os.str());
  }
  for (const auto& [dst, src] : copies) copy_into(dst, src);
  return result;
}

void Module::to(ops::Device device) {
  NamedTensors all = named_parameters();
  NamedTensors bufs = named_buffers();
  all.insert(all.end(), bufs.begin(), bufs.end());
  for (auto& [name, t] : all) {
    if (t.device() != device) t.set_data(t.to(device));
    if (t.grad().defined() && t.grad().device() != device) t.set_grad(t.grad().to(device));
  }
}

ops::Device Module::device() const {
  NamedTensors all = named_parameters();
  if (all.empty()) all = named_buffers();
  return all.empty() ? ops::Device::cpu() : all.front().second.device();
}

int64_t Module::num_parameters(bool trainable_only) const {
  int64_t n = 0;
  for (const auto& [name, t] : named_parameters())
    if (!trainable_only || t.requires_grad()) n += t.numel();
  return n;
}

}  // namespace ringmaster::models
