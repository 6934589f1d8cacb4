// Tensor storage, creation, layout and autograd fields (see tensor.h).
#include "ops/tensor.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "ops/autograd.h"
#include "ops/cpu/memory_format.h"
#include "ops/device_memory.h"
#include "ops/half.h"

namespace ringmaster::ops {

void check_failed(const char* file, int line, const char* cond, const std::string& msg) {
  std::fprintf(stderr, "%s:%d: check failed: %s: %s\n", file, line, cond, msg.c_str());
  std::fflush(stderr);
  std::abort();
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32:
      return 4;
    case DType::f16:
      return 2;
    case DType::i32:
      return 4;
    case DType::i64:
      return 8;
    case DType::u8:
      return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "f32";
    case DType::f16:
      return "f16";
    case DType::i32:
      return "i32";
    case DType::i64:
      return "i64";
    case DType::u8:
      return "u8";
  }
  return "?";
}

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

int64_t shape_numel(const Shape& s) {
  // Shapes come from files and specs too: a product past 2^59 elements (so
  // that bytes fit in 64 bits for any dtype) or a negative dimension is the
  // input's fault, reported, never wrapped around.
  constexpr int64_t kMaxElements = int64_t{1} << 59;
  bool empty = false;
  for (int64_t d : s) {
    RM_THROW_IF(d < 0, "negative dimension in shape ", shape_str(s));
    empty = empty || d == 0;
  }
  if (empty) return 0;
  int64_t n = 1;
  for (int64_t d : s)
    RM_THROW_IF(__builtin_mul_overflow(n, d, &n) || n > kMaxElements, "shape ", shape_str(s),
                " has more than 2^59 elements");
  return n;
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ")";
  return os.str();
}

Storage::Storage(size_t n, Device d) : nbytes(n), device(d) { data = device_alloc(n, d); }
Storage::~Storage() { device_free(data, nbytes, device); }

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  size_t offset = 0;  // bytes
  Shape shape;
  DType dtype = DType::f32;
  std::shared_ptr<const MemoryFormat> format;  // null: plain row-major
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
};

namespace {
std::shared_ptr<TensorImpl> make_impl(const Shape& shape, DType dtype, Device device,
                                      size_t nbytes) {
  for (int64_t d : shape) RM_CHECK(d >= 0, "negative dimension in ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(nbytes, device);
  impl->shape = shape;
  impl->dtype = dtype;
  return impl;
}
}  // namespace

struct TensorImplAccess {
  static Tensor wrap(std::shared_ptr<TensorImpl> impl) {
    Tensor t;
    t.impl_ = std::move(impl);
    return t;
  }
  static TensorImpl& impl(const Tensor& t) {
    RM_CHECK(t.impl_ != nullptr, "use of an undefined tensor");
    return *t.impl_;
  }
};

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  return TensorImplAccess::wrap(
      make_impl(shape, dtype, device, static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype)));
}

Tensor Tensor::empty_with_format(const Shape& shape, DType dtype,
                                 std::shared_ptr<const MemoryFormat> format, size_t nbytes) {
  auto impl = make_impl(shape, dtype, Device::cpu(), nbytes);
  impl->format = std::move(format);
  return TensorImplAccess::wrap(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  device_memset_zero(t.raw(), t.nbytes(), device);
  return t;
}

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = value;
  return t;
}

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape) {
  RM_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), values.size(),
           " values for shape ", shape_str(shape));
  Tensor t = empty(shape);
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::randn(const Shape& shape, std::mt19937_64& rng, float stddev) {
  Tensor t = empty(shape);
  std::normal_distribution<float> dist(0.0f, stddev);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  return t;
}

Tensor Tensor::uniform(const Shape& shape, std::mt19937_64& rng, float lo, float hi) {
  Tensor t = empty(shape);
  std::uniform_real_distribution<float> dist(lo, hi);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  return t;
}

const Shape& Tensor::shape() const { return TensorImplAccess::impl(*this).shape; }

int64_t Tensor::dim(int i) const {
  const Shape& s = shape();
  const int n = static_cast<int>(s.size());
  const int j = i < 0 ? i + n : i;
  RM_CHECK(j >= 0 && j < n, "dim ", i, " out of range for ", shape_str(s));
  return s[j];
}

int64_t Tensor::numel() const { return shape_numel(shape()); }
DType Tensor::dtype() const { return TensorImplAccess::impl(*this).dtype; }
Device Tensor::device() const { return TensorImplAccess::impl(*this).storage->device; }

size_t Tensor::nbytes() const {
  const TensorImpl& impl = TensorImplAccess::impl(*this);
  if (impl.format) return impl.format->desc.get_size();
  return static_cast<size_t>(numel()) * dtype_size(impl.dtype);
}

bool Tensor::is_plain() const { return TensorImplAccess::impl(*this).format == nullptr; }

const std::shared_ptr<const MemoryFormat>& Tensor::format() const {
  return TensorImplAccess::impl(*this).format;
}

Tensor Tensor::to_plain() const {
  if (is_plain()) return *this;
  Tensor out = cpu::to_desc(detach(), cpu::plain_desc(shape(), dtype()));
  return out;
}

void* Tensor::raw() const {
  const TensorImpl& impl = TensorImplAccess::impl(*this);
  return static_cast<char*>(impl.storage->data) + impl.offset;
}

template <class T>
T* Tensor::data() const {
  const TensorImpl& impl = TensorImplAccess::impl(*this);
  constexpr DType want = std::is_same_v<T, float>      ? DType::f32
                         : std::is_same_v<T, uint16_t> ? DType::f16
                         : std::is_same_v<T, int32_t>  ? DType::i32
                         : std::is_same_v<T, int64_t>  ? DType::i64
                                                       : DType::u8;
  RM_CHECK(impl.dtype == want, "data<", dtype_name(want), "> on a ", dtype_name(impl.dtype),
           " tensor");
  RM_CHECK(impl.storage->device.is_cpu(), "data() on a ", impl.storage->device.str(), " tensor");
  RM_CHECK(impl.format == nullptr, "data() on a blocked tensor; call to_plain() first");
  return static_cast<T*>(raw());
}
template float* Tensor::data<float>() const;
template uint16_t* Tensor::data<uint16_t>() const;
template int32_t* Tensor::data<int32_t>() const;
template int64_t* Tensor::data<int64_t>() const;
template uint8_t* Tensor::data<uint8_t>() const;

std::vector<float> Tensor::to_vector() const {
  Tensor p = to(Device::cpu()).to_plain();
  std::vector<float> out(static_cast<size_t>(p.numel()));
  if (p.dtype() == DType::f32) {
    if (!out.empty()) std::memcpy(out.data(), p.raw(), out.size() * sizeof(float));
  } else if (p.dtype() == DType::f16) {
    half_to_float(p.data<uint16_t>(), out.data(), p.numel());
  } else {
    RM_CHECK(false, "to_vector on ", dtype_name(p.dtype()));
  }
  return out;
}

float Tensor::item() const {
  RM_CHECK(numel() == 1, "item() on a tensor of shape ", shape_str(shape()));
  return to_vector()[0];
}

Tensor Tensor::reshape(const Shape& new_shape) const {
  RM_CHECK(is_plain(), "reshape of a blocked tensor; call to_plain() first");
  RM_CHECK(shape_numel(new_shape) == numel(), "cannot reshape ", shape_str(shape()), " to ",
           shape_str(new_shape));
  auto impl = std::make_shared<TensorImpl>();
  const TensorImpl& src = TensorImplAccess::impl(*this);
  impl->storage = src.storage;
  impl->offset = src.offset;
  impl->shape = new_shape;
  impl->dtype = src.dtype;
  return TensorImplAccess::wrap(std::move(impl));
}

Tensor Tensor::detach() const {
  const TensorImpl& src = TensorImplAccess::impl(*this);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = src.storage;
  impl->offset = src.offset;
  impl->shape = src.shape;
  impl->dtype = src.dtype;
  impl->format = src.format;
  return TensorImplAccess::wrap(std::move(impl));
}

Tensor Tensor::clone() const {
  const TensorImpl& src = TensorImplAccess::impl(*this);
  auto impl = make_impl(src.shape, src.dtype, src.storage->device, nbytes());
  impl->format = src.format;
  device_copy(impl->storage->data, src.storage->device, raw(), src.storage->device, nbytes());
  return TensorImplAccess::wrap(std::move(impl));
}

Tensor Tensor::to(Device device) const {
  if (this->device() == device) return *this;
  Tensor src = to_plain();
  Tensor out = empty(shape(), dtype(), device);
  device_copy(out.raw(), device, src.raw(), src.device(), out.nbytes());
  return out;
}

void Tensor::set_data(const Tensor& src) {
  TensorImpl& impl = TensorImplAccess::impl(*this);
  const TensorImpl& from = TensorImplAccess::impl(src);
  impl.storage = from.storage;
  impl.offset = from.offset;
  impl.shape = from.shape;
  impl.dtype = from.dtype;
  impl.format = from.format;
  impl.grad_fn = nullptr;
}

bool Tensor::requires_grad() const { return TensorImplAccess::impl(*this).requires_grad; }

Tensor& Tensor::set_requires_grad(bool on) {
  TensorImplAccess::impl(*this).requires_grad = on;
  return *this;
}

const Tensor& Tensor::grad() const { return TensorImplAccess::impl(*this).grad; }
void Tensor::set_grad(const Tensor& g) { TensorImplAccess::impl(*this).grad = g; }

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  return TensorImplAccess::impl(*this).grad_fn;
}

void Tensor::set_grad_fn(std::shared_ptr<Node> node) {
  TensorImpl& impl = TensorImplAccess::impl(*this);
  impl.grad_fn = std::move(node);
  impl.requires_grad = impl.grad_fn != nullptr || impl.requires_grad;
}

void run_backward(const Tensor& root, const Tensor& root_grad);

void Tensor::backward(const Tensor& grad_output) const {
  Tensor g = grad_output;
  if (!g.defined()) {
    RM_CHECK(numel() == 1, "backward() without a gradient needs a scalar, got ",
             shape_str(shape()));
    g = Tensor::full(shape(), 1.0f);
  }
  if (g.device() != device()) g = g.to(device());
  run_backward(*this, g);
}

bool Tensor::same_storage(const Tensor& other) const {
  return TensorImplAccess::impl(*this).storage == TensorImplAccess::impl(other).storage;
}

bool Tensor::storage_shared() const {
  return TensorImplAccess::impl(*this).storage.use_count() > 1;
}

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "Tensor(undefined)";
  return "Tensor" + shape_str(t.shape()) + " " + dtype_name(t.dtype()) + " " + t.device().str() +
         (t.is_plain() ? "" : " blocked");
}

}  // namespace ringmaster::ops
