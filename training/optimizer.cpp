// SGD, Adam and AdamW (see optimizer.h): PyTorch's scalars formed here in
// double, the per-element update in ops/optimizer_update.h on the
// parameter's device.
#include "training/optimizer.h"

#include <cmath>
#include <cstring>

#include "ops/optimizer_update.h"
#include "training/json_fields.h"

namespace ringmaster::training {

namespace {

ops::Tensor zeros_like_param(const ops::Tensor& p) {
  return ops::Tensor::zeros(p.shape(), ops::DType::f32, p.device());
}

ops::Tensor scalar_i64(int64_t v) {
  ops::Tensor t = ops::Tensor::empty({}, ops::DType::i64);
  t.data<int64_t>()[0] = v;
  return t;
}

int64_t read_scalar_i64(const ops::Tensor& t, const std::string& name) {
  RM_THROW_IF(t.dtype() != ops::DType::i64 || t.numel() != 1, "optimizer state '", name,
              "' must be one i64, got ", ops::to_string(t));
  return t.to(ops::Device::cpu()).data<int64_t>()[0];
}

}  // namespace

Optimizer::Optimizer(NamedTensors params, double lr) : params_(std::move(params)), lr_(lr) {
  for (const auto& [name, p] : params_) {
    RM_CHECK(p.defined() && p.dtype() == ops::DType::f32 && p.is_plain(), "optimizer parameter '",
             name, "' must be plain f32, got ", ops::to_string(p));
  }
}

void Optimizer::zero_grad() {
  for (auto& [name, p] : params_) p.set_grad(ops::Tensor());
}

std::vector<ops::Tensor> Optimizer::plain_grads() const {
  std::vector<ops::Tensor> out;
  for (const Active& a : active()) out.push_back(a.g);
  return out;
}

std::vector<Optimizer::Active> Optimizer::active() const {
  std::vector<Active> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& [name, p] = params_[i];
    if (!p.requires_grad() || !p.grad().defined()) continue;
    ops::Tensor g = p.grad();
    if (!g.is_plain()) {
      g = g.to_plain();
      const_cast<ops::Tensor&>(p).set_grad(g);
    }
    RM_CHECK(g.dtype() == ops::DType::f32 && g.device() == p.device() && g.shape() == p.shape(),
             "gradient of '", name, "' is ", ops::to_string(g), " for a parameter ",
             ops::to_string(p));
    out.push_back({i, p, g});
  }
  return out;
}

TensorMap Optimizer::state() const {
  TensorMap out;
  out.emplace("step", scalar_i64(steps_));
  return out;
}

void Optimizer::load_state(const TensorMap& state) {
  auto it = state.find("step");
  steps_ = it == state.end() ? 0 : read_scalar_i64(it->second, "step");
}

void Optimizer::export_family(const std::string& prefix,
                              const std::map<size_t, ops::Tensor>& family, TensorMap& out) const {
  for (const auto& [index, t] : family) out.emplace(prefix + params_[index].first, t.detach());
}

void Optimizer::import_family(const std::string& prefix, const TensorMap& in,
                              std::map<size_t, ops::Tensor>& family,
                              std::map<std::string, bool>& used) {
  family.clear();
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string key = prefix + params_[i].first;
    auto it = in.find(key);
    if (it == in.end()) continue;
    const ops::Tensor& src = it->second;
    RM_THROW_IF(src.shape() != params_[i].second.shape() || src.dtype() != ops::DType::f32,
                "optimizer state '", key, "' is ", ops::to_string(src), ", the parameter is ",
                ops::to_string(params_[i].second));
    const ops::Tensor plain = src.to(ops::Device::cpu()).to_plain();
    family[i] = plain.to(params_[i].second.device()).clone();
    used[key] = true;
  }
}

void Optimizer::check_all_used(const TensorMap& in, const std::map<std::string, bool>& used) {
  for (const auto& [key, t] : in) {
    if (key == "step" || used.count(key)) continue;
    throw ops::Error("optimizer state '" + key + "' names no parameter of this optimizer");
  }
}

// ---- SGD -------------------------------------------------------------------

SGD::SGD(NamedTensors params, SGDOptions o) : Optimizer(std::move(params), o.lr), options_(o) {
  RM_THROW_IF(!(o.lr >= 0), "sgd: lr must be >= 0, got ", o.lr);
  RM_THROW_IF(!(o.momentum >= 0), "sgd: momentum must be >= 0, got ", o.momentum);
  RM_THROW_IF(!(o.weight_decay >= 0), "sgd: weight_decay must be >= 0, got ", o.weight_decay);
  RM_THROW_IF(o.nesterov && (o.momentum <= 0 || o.dampening != 0),
              "sgd: nesterov needs momentum > 0 and dampening 0");
}

void SGD::step() {
  ops::SgdStep s;
  s.lr = static_cast<float>(lr_);
  s.weight_decay = static_cast<float>(options_.weight_decay);
  s.momentum = static_cast<float>(options_.momentum);
  s.one_minus_dampening = 1.0f - static_cast<float>(options_.dampening);
  s.nesterov = options_.nesterov;
  for (const Active& a : active()) {
    if (s.momentum == 0.0f) {
      ops::sgd_update(a.p, a.g, ops::Tensor(), s);
      continue;
    }
    auto it = momentum_.find(a.index);
    s.first = it == momentum_.end();
    if (s.first) it = momentum_.emplace(a.index, zeros_like_param(a.p)).first;
    ops::sgd_update(a.p, a.g, it->second, s);
  }
  ++steps_;
}

TensorMap SGD::state() const {
  TensorMap out = Optimizer::state();
  export_family("momentum.", momentum_, out);
  return out;
}

void SGD::load_state(const TensorMap& state) {
  Optimizer::load_state(state);
  std::map<std::string, bool> used;
  import_family("momentum.", state, momentum_, used);
  check_all_used(state, used);
}

// ---- Adam / AdamW ------------------------------------------------------------

Adam::Adam(NamedTensors params, AdamOptions o) : Adam(std::move(params), o, false) {}

Adam::Adam(NamedTensors params, AdamOptions o, bool decoupled)
    : Optimizer(std::move(params), o.lr), options_(o), decoupled_(decoupled) {
  const char* what = decoupled ? "adamw" : "adam";
  RM_THROW_IF(!(o.lr >= 0), what, ": lr must be >= 0, got ", o.lr);
  RM_THROW_IF(!(o.beta1 >= 0 && o.beta1 < 1), what, ": beta1 must be in [0, 1), got ", o.beta1);
  RM_THROW_IF(!(o.beta2 >= 0 && o.beta2 < 1), what, ": beta2 must be in [0, 1), got ", o.beta2);
  RM_THROW_IF(!(o.eps >= 0), what, ": eps must be >= 0, got ", o.eps);
  RM_THROW_IF(!(o.weight_decay >= 0), what, ": weight_decay must be >= 0, got ", o.weight_decay);
}

void Adam::step() {
  const double b1 = options_.beta1, b2 = options_.beta2;
  for (const Active& a : active()) {
    auto mit = m_.find(a.index);
    if (mit == m_.end()) {
      mit = m_.emplace(a.index, zeros_like_param(a.p)).first;
      v_[a.index] = zeros_like_param(a.p);
      t_[a.index] = 0;
    }
    const int64_t t = ++t_[a.index];
    // Scalars as PyTorch forms them (in double, then applied to f32 tensors).
    const double bias1 = 1.0 - std::pow(b1, static_cast<double>(t));
    const double bias2_sqrt = std::sqrt(1.0 - std::pow(b2, static_cast<double>(t)));
    ops::AdamStep s;
    s.step_size = static_cast<float>(lr_ / bias1);
    s.bias2_sqrt = static_cast<float>(bias2_sqrt);
    s.beta1 = static_cast<float>(b1);
    s.beta2 = static_cast<float>(b2);
    s.one_minus_beta1 = static_cast<float>(1.0 - b1);
    s.one_minus_beta2 = static_cast<float>(1.0 - b2);
    s.eps = static_cast<float>(options_.eps);
    s.l2 = decoupled_ ? 0.0f : static_cast<float>(options_.weight_decay);
    s.shrink = decoupled_ ? static_cast<float>(1.0 - lr_ * options_.weight_decay) : 1.0f;
    ops::adam_update(a.p, a.g, mit->second, v_.at(a.index), s);
  }
  ++steps_;
}

TensorMap Adam::state() const {
  TensorMap out = Optimizer::state();
  export_family("adam.m.", m_, out);
  export_family("adam.v.", v_, out);
  for (const auto& [index, t] : t_) out.emplace("adam.step." + params_[index].first, scalar_i64(t));
  return out;
}

void Adam::load_state(const TensorMap& state) {
  Optimizer::load_state(state);
  std::map<std::string, bool> used;
  import_family("adam.m.", state, m_, used);
  import_family("adam.v.", state, v_, used);
  t_.clear();
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string& name = params_[i].first;
    const bool has_m = m_.count(i) > 0, has_v = v_.count(i) > 0;
    auto it = state.find("adam.step." + name);
    const bool has_t = it != state.end();
    RM_THROW_IF(has_m != has_v || has_m != has_t, "optimizer state for '", name,
                "' needs all of adam.m, adam.v and adam.step or none of them");
    if (!has_t) continue;
    t_[i] = read_scalar_i64(it->second, it->first);
    used[it->first] = true;
  }
  check_all_used(state, used);
}

AdamW::AdamW(NamedTensors params, AdamOptions options) : Adam(std::move(params), options, true) {}

// ---- from a spec ---------------------------------------------------------------

std::unique_ptr<Optimizer> make_optimizer(const nlohmann::json& spec, NamedTensors params) {
  detail::JsonFields f(spec, "optimizer");
  const std::string type = f.string("type");
  std::unique_ptr<Optimizer> out;
  if (type == "sgd") {
    SGDOptions o;
    o.lr = f.number("lr");
    o.momentum = f.number("momentum", o.momentum);
    o.dampening = f.number("dampening", o.dampening);
    o.nesterov = f.boolean("nesterov", o.nesterov);
    o.weight_decay = f.number("weight_decay", o.weight_decay);
    f.finish();
    out = std::make_unique<SGD>(std::move(params), o);
  } else if (type == "adam" || type == "adamw") {
    AdamOptions o;
    if (type == "adamw") o.weight_decay = 1e-2;
    o.lr = f.number("lr", o.lr);
    if (f.has("betas")) {
      std::vector<double> b = f.numbers("betas");
      if (b.size() != 2) f.fail("betas", "must have two numbers");
      o.beta1 = b[0];
      o.beta2 = b[1];
    }
    o.eps = f.number("eps", o.eps);
    o.weight_decay = f.number("weight_decay", o.weight_decay);
    f.finish();
    if (type == "adam")
      out = std::make_unique<Adam>(std::move(params), o);
    else
      out = std::make_unique<AdamW>(std::move(params), o);
  } else {
    f.fail("type", "must be one of sgd, adam, adamw; got '" + type + "'");
  }
  return out;
}

}  // namespace ringmaster::training
