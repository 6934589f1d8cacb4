// SGD, Adam and AdamW (see optimizer.h): PyTorch's update rules as one fused
// loop per parameter over raw f32 buffers, parallel with OpenMP.
#include "models/optimizer.h"

#include <cmath>
#include <cstring>

#include "models/json_fields.h"

namespace ringmaster::models {

namespace {

// Below this many elements a parameter is updated by one thread.
constexpr int64_t kParallelMin = 1 << 14;

ops::Tensor zeros_like_param(const ops::Tensor& p) { return ops::Tensor::zeros(p.shape()); }

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
    RM_CHECK(p.defined() && p.dtype() == ops::DType::f32 && p.device().is_cpu() && p.is_plain(),
             "optimizer parameter '", name, "' must be plain f32 on the cpu, got ",
             ops::to_string(p));
  }
}

void Optimizer::zero_grad() {
  for (auto& [name, p] : params_) p.set_grad(ops::Tensor());
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
    RM_CHECK(g.dtype() == ops::DType::f32 && g.device().is_cpu() && g.shape() == p.shape(),
             "gradient of '", name, "' is ", ops::to_string(g), " for a parameter ",
             ops::to_string(p));
    out.push_back({i, p.data<float>(), g.data<float>(), p.numel()});
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
    family[i] = src.to(ops::Device::cpu()).to_plain().clone();
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
  const float lr = static_cast<float>(lr_);
  const float wd = static_cast<float>(options_.weight_decay);
  const float mom = static_cast<float>(options_.momentum);
  const float damp = 1.0f - static_cast<float>(options_.dampening);
  const bool nesterov = options_.nesterov;
  for (const Active& a : active()) {
    float* p = a.p;
    const float* g = a.g;
    const int64_t n = a.n;
    if (mom == 0.0f) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
      for (int64_t i = 0; i < n; ++i) p[i] -= lr * (g[i] + wd * p[i]);
      continue;
    }
    auto it = momentum_.find(a.index);
    const bool first = it == momentum_.end();
    if (first) it = momentum_.emplace(a.index, zeros_like_param(params_[a.index].second)).first;
    float* buf = it->second.data<float>();
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      const float d = g[i] + wd * p[i];
      const float b = first ? d : mom * buf[i] + damp * d;
      buf[i] = b;
      p[i] -= lr * (nesterov ? d + mom * b : b);
    }
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
    const ops::Tensor& param = params_[a.index].second;
    auto mit = m_.find(a.index);
    if (mit == m_.end()) {
      mit = m_.emplace(a.index, zeros_like_param(param)).first;
      v_[a.index] = zeros_like_param(param);
      t_[a.index] = 0;
    }
    const int64_t t = ++t_[a.index];
    float* m = mit->second.data<float>();
    float* v = v_.at(a.index).data<float>();
    float* p = a.p;
    const float* g = a.g;
    const int64_t n = a.n;
    // Scalars as PyTorch forms them (in double, then applied to f32 tensors).
    const double bias1 = 1.0 - std::pow(b1, static_cast<double>(t));
    const double bias2_sqrt = std::sqrt(1.0 - std::pow(b2, static_cast<double>(t)));
    const float step_size = static_cast<float>(lr_ / bias1);
    const float fbias2_sqrt = static_cast<float>(bias2_sqrt);
    const float fb1 = static_cast<float>(b1), fb2 = static_cast<float>(b2);
    const float one_b1 = static_cast<float>(1.0 - b1), one_b2 = static_cast<float>(1.0 - b2);
    const float eps = static_cast<float>(options_.eps);
    const float l2 = decoupled_ ? 0.0f : static_cast<float>(options_.weight_decay);
    const float shrink = decoupled_ ? static_cast<float>(1.0 - lr_ * options_.weight_decay) : 1.0f;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      const float pi = p[i] * shrink;
      const float gi = g[i] + l2 * pi;
      const float mi = fb1 * m[i] + one_b1 * gi;
      const float vi = fb2 * v[i] + one_b2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = pi - step_size * mi / (std::sqrt(vi) / fbias2_sqrt + eps);
    }
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

}  // namespace ringmaster::models
