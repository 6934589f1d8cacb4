// Tensor: a typed, shaped view of reference-counted storage on a device, plus
// the autograd fields (grad, grad_fn). Logical shape is NCHW-style row-major;
// the physical layout is plain row-major unless a kernel library chose a
// blocked one, which the tensor records as an opaque MemoryFormat (defined by
// the CPU backend; no vendor type shows here). Not thread-safe: one tensor is
// used by one thread at a time; copies share storage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ops/check.h"

namespace ringmaster::ops {

enum class DType : uint8_t { f32, f16, i32, i64, u8 };
size_t dtype_size(DType t);
const char* dtype_name(DType t);

struct Device {
  enum class Kind : uint8_t { cpu, cuda };
  Kind kind = Kind::cpu;
  int index = 0;
  static Device cpu() { return {}; }
  static Device cuda(int i = 0) { return {Kind::cuda, i}; }
  bool is_cpu() const { return kind == Kind::cpu; }
  bool is_cuda() const { return kind == Kind::cuda; }
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;
};

using Shape = std::vector<int64_t>;
// The product of the dimensions. Throws ops::Error for a negative dimension
// or more than 2^59 elements (shapes read from files and specs).
int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);

// Raw bytes on one device. Freed (returned to the caching allocator) when the
// last tensor using it goes away.
struct Storage {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

// A kernel library's physical layout for a tensor (e.g. oneDNN's nChw16c).
// Defined in ops/cpu/memory_format.h.
struct MemoryFormat;

class Node;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;  // undefined tensor

  // Creation (cpu unless a device is given).
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, float value);
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  static Tensor randn(const Shape& shape, std::mt19937_64& rng, float stddev = 1.0f);
  static Tensor uniform(const Shape& shape, std::mt19937_64& rng, float lo, float hi);
  // A tensor with a blocked physical layout; nbytes comes from the format.
  static Tensor empty_with_format(const Shape& shape, DType dtype,
                                  std::shared_ptr<const MemoryFormat> format, size_t nbytes);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim(int i) const;  // negative i counts from the end
  int64_t ndim() const { return static_cast<int64_t>(shape().size()); }
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  size_t nbytes() const;  // physical bytes (>= numel * dtype size when blocked)

  // Physical layout: plain row-major, or a kernel library's blocked layout.
  bool is_plain() const;
  const std::shared_ptr<const MemoryFormat>& format() const;
  // The same values in plain row-major layout (no copy when already plain).
  Tensor to_plain() const;

  // Raw physical buffer.
  void* raw() const;
  // Typed access to a plain cpu tensor; checks dtype, device and layout.
  template <class T>
  T* data() const;
  std::vector<float> to_vector() const;  // f32 (or f16) values, plain order
  float item() const;                    // the one value of a 1-element f32 tensor

  Tensor reshape(const Shape& shape) const;  // a view of a plain tensor (no autograd)
  Tensor clone() const;                      // deep copy, same layout, no autograd
  Tensor detach() const;                     // shares storage, no autograd history
  Tensor to(Device device) const;            // copy across devices
  // PyTorch's `t.data = src`: this tensor takes src's storage, shape, dtype
  // and layout in place, so every handle sharing it (a module member, an
  // optimizer's list) sees the change; requires_grad and grad are kept,
  // grad_fn is dropped. Views made earlier keep the old storage.
  void set_data(const Tensor& src);

  // Autograd.
  bool requires_grad() const;
  Tensor& set_requires_grad(bool on);
  const Tensor& grad() const;
  void set_grad(const Tensor& g);
  const std::shared_ptr<Node>& grad_fn() const;
  void set_grad_fn(std::shared_ptr<Node> node);
  // Runs backward from this scalar (or with an explicit gradient of its shape).
  void backward(const Tensor& grad_output = Tensor()) const;

  // Identity of the underlying tensor (for autograd bookkeeping).
  const TensorImpl* id() const { return impl_.get(); }
  bool same_storage(const Tensor& other) const;
  // True when another tensor (a view, a saved copy) shares this storage.
  bool storage_shared() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
  friend struct TensorImplAccess;
};

std::string to_string(const Tensor& t);  // short description: shape, dtype, device

}  // namespace ringmaster::ops
