// rnn_layer CUDA kernels on cuDNN's RNN API: cudnnRNNForward (training keeps
// cuDNN's reserve space), cudnnRNNBackwardData_v8 and
// cudnnRNNBackwardWeights_v8, one layer, one or two directions.
//
// Layouts. x and y are cuDNN's sequence-major unpacked layout, (T, N, C),
// with each sample's length given (padded I/O), so samples of any lengths run
// in one call and the second direction starts at each sample's last step, as
// on the CPU. cuDNN keeps the weights in one buffer of its own; each gate's
// (H, C) matrix and bias there is PyTorch's block of rows (the gate orders
// are the same: LSTM i, f, g, o; GRU r, z, n), copied in before forward and
// the gradients copied out after backward. cuDNN's GRU is PyTorch's, the
// reset gate after the hidden matmul; the ONNX default (before) has no cuDNN
// cell and is refused.
//
// Outputs past a sample's length, and the x gradient there, are zeroed here
// rather than trusted to cuDNN's padding fill, so both match the CPU's zeros.
#include <algorithm>
#include <memory>
#include <vector>

#include "ops/cuda/cuda_context.h"
#include "ops/device_memory.h"
#include "ops/kernel_registry.h"
#include "ops/rnn.h"

namespace ringmaster::ops {
namespace {

using cuda::raw_or_null;
using cuda::to_int;
using cuda::workspace;

cudnnRNNMode_t cudnn_cell(RnnCell cell) {
  switch (cell) {
    case RnnCell::kTanh:
      return CUDNN_RNN_TANH;
    case RnnCell::kLstm:
      return CUDNN_LSTM;
    case RnnCell::kGru:
      return CUDNN_GRU;
  }
  return CUDNN_LSTM;
}

// t (T, N, F): every element of sample n at steps >= lengths[n] set to zero.
__global__ void zero_past_lengths(float* t, const int32_t* lengths, int64_t steps, int64_t n,
                                  int64_t f) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < steps * n * f;
       k += int64_t(blockDim.x) * gridDim.x) {
    const int64_t step = k / (n * f), sample = (k / f) % n;
    if (step >= lengths[sample]) t[k] = 0.0f;
  }
}

// The geometry of one call.
struct RnnDims {
  RnnCell cell;
  int64_t T, N, I, H, D;
  bool ragged;  // some sample shorter than T
  int64_t gates() const { return rnn_gate_count(cell); }
  bool lstm() const { return cell == RnnCell::kLstm; }
};

// The cuDNN descriptors of one geometry, owned.
class RnnDescriptors {
 public:
  RnnDescriptors(cudnnHandle_t handle, const RnnDims& d, const std::vector<int32_t>& lengths) {
    try {
      describe(handle, d, lengths);
    } catch (...) {
      release();  // the destructor does not run for a constructor that threw
      throw;
    }
  }
  ~RnnDescriptors() { release(); }
  RnnDescriptors(const RnnDescriptors&) = delete;
  RnnDescriptors& operator=(const RnnDescriptors&) = delete;

  cudnnRNNDescriptor_t rnn() const { return rnn_; }
  cudnnRNNDataDescriptor_t x() const { return x_; }
  cudnnRNNDataDescriptor_t y() const { return y_; }
  cudnnTensorDescriptor_t h() const { return h_.get(); }  // h and c, (D, N, H)
  size_t weight_bytes() const { return weight_bytes_; }

 private:
  void describe(cudnnHandle_t handle, const RnnDims& d, const std::vector<int32_t>& lengths) {
    CUDNN_CHECK(cudnnCreateDropoutDescriptor(&dropout_));
    CUDNN_CHECK(cudnnSetDropoutDescriptor(dropout_, handle, 0.0f, nullptr, 0, 0));
    CUDNN_CHECK(cudnnCreateRNNDescriptor(&rnn_));
    CUDNN_CHECK(cudnnSetRNNDescriptor_v8(
        rnn_, CUDNN_RNN_ALGO_STANDARD, cudnn_cell(d.cell), CUDNN_RNN_DOUBLE_BIAS,
        d.D == 2 ? CUDNN_BIDIRECTIONAL : CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT,
        CUDNN_DATA_FLOAT, CUDNN_FMA_MATH, to_int(d.I, "input size"), to_int(d.H, "hidden size"),
        to_int(d.H, "hidden size"), 1, dropout_, CUDNN_RNN_PADDED_IO_ENABLED));
    float fill = 0.0f;
    for (auto [desc, width] : {std::pair{&x_, d.I}, std::pair{&y_, d.D * d.H}}) {
      CUDNN_CHECK(cudnnCreateRNNDataDescriptor(desc));
      CUDNN_CHECK(cudnnSetRNNDataDescriptor(
          *desc, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, to_int(d.T, "steps"),
          to_int(d.N, "batch"), to_int(width, "features"), lengths.data(), &fill));
    }
    const int dims[3] = {to_int(d.D, "directions"), to_int(d.N, "batch"),
                         to_int(d.H, "hidden size")};
    const int strides[3] = {dims[1] * dims[2], dims[2], 1};
    CUDNN_CHECK(cudnnSetTensorNdDescriptor(h_.get(), CUDNN_DATA_FLOAT, 3, dims, strides));
    CUDNN_CHECK(cudnnGetRNNWeightSpaceSize(handle, rnn_, &weight_bytes_));
  }
  void release() {
    if (y_ != nullptr) cudnnDestroyRNNDataDescriptor(y_);
    if (x_ != nullptr) cudnnDestroyRNNDataDescriptor(x_);
    if (rnn_ != nullptr) cudnnDestroyRNNDescriptor(rnn_);
    if (dropout_ != nullptr) cudnnDestroyDropoutDescriptor(dropout_);
    y_ = x_ = nullptr;
    rnn_ = nullptr;
    dropout_ = nullptr;
  }

  cudnnDropoutDescriptor_t dropout_ = nullptr;  // no dropout: one layer
  cudnnRNNDescriptor_t rnn_ = nullptr;
  cudnnRNNDataDescriptor_t x_ = nullptr, y_ = nullptr;
  cuda::TensorDesc h_;
  size_t weight_bytes_ = 0;
};

// The number of elements a cuDNN weight-space tensor descriptor covers.
int64_t described_elements(cudnnTensorDescriptor_t desc) {
  cudnnDataType_t type;
  int nb = 0, dims[8], strides[8];
  CUDNN_CHECK(cudnnGetTensorNdDescriptor(desc, 8, &type, &nb, dims, strides));
  int64_t n = 1;
  for (int i = 0; i < nb; ++i) n *= dims[i];
  return n;
}

// Our PyTorch-layout weights (w_ih, w_hh, b_ih, b_hh) into cuDNN's weight
// space (into_space), or cuDNN's gradients out of it into them. cuDNN's
// linear layer g < G is gate g of w_ih, G + g gate g of w_hh; pseudo-layer
// d is direction d. Each size is checked against cuDNN's descriptor.
void copy_weights(cudnnHandle_t handle, const RnnDescriptors& desc, const RnnDims& d,
                  const Tensor& space, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                  const Tensor& b_hh, bool into_space) {
  const cuda::TensorDesc m_desc, b_desc;  // filled in by cuDNN per gate
  const int64_t G = d.gates(), H = d.H;
  for (int64_t dir = 0; dir < d.D; ++dir)
    for (int64_t id = 0; id < 2 * G; ++id) {
      const bool input = id < G;
      const int64_t gate = input ? id : id - G, cols = input ? d.I : H;
      void* m = nullptr;
      void* b = nullptr;
      CUDNN_CHECK(cudnnGetRNNWeightParams(handle, desc.rnn(), to_int(dir, "direction"),
                                          desc.weight_bytes(), space.raw(), to_int(id, "gate"),
                                          m_desc.get(), &m, b_desc.get(), &b));
      RM_CHECK(m != nullptr && b != nullptr && described_elements(m_desc.get()) == H * cols &&
                   described_elements(b_desc.get()) == H,
               "cuDNN's RNN weight layout differs from (", H, ", ", cols, ") per gate");
      const int64_t row = dir * G * H + gate * H;
      float* ours_m = static_cast<float*>((input ? w_ih : w_hh).raw()) + row * cols;
      float* ours_b = static_cast<float*>((input ? b_ih : b_hh).raw()) + row;
      const size_t m_bytes = H * cols * sizeof(float), b_bytes = H * sizeof(float);
      CUDA_CHECK(cudaMemcpyAsync(into_space ? m : ours_m, into_space ? ours_m : m, m_bytes,
                                 cudaMemcpyDeviceToDevice));
      CUDA_CHECK(cudaMemcpyAsync(into_space ? b : ours_b, into_space ? ours_b : b, b_bytes,
                                 cudaMemcpyDeviceToDevice));
    }
}

// What backward needs: the forward's inputs and output, cuDNN's weights and
// reserve space, and the descriptors of the geometry.
struct CudaRnnSaved : RnnSaved {
  RnnDims dims{};
  int device = 0;
  std::shared_ptr<RnnDescriptors> desc;
  Tensor lengths;  // (N) i32 on the device
  Tensor x, h0, c0, y, weights, reserve;
};

void zero_steps_past_lengths(const Tensor& t, const Tensor& lengths, const RnnDims& d) {
  const int64_t total = t.numel();
  if (!d.ragged || total == 0) return;
  zero_past_lengths<<<cuda::blocks_for(total), 256>>>(static_cast<float*>(t.raw()),
                                                      static_cast<const int32_t*>(lengths.raw()),
                                                      d.T, d.N, total / (d.T * d.N));
  CUDA_CHECK_LAUNCH();
}

void rnn_forward_cuda(const RnnParams& p, const RnnInputs& in, const Tensor& y, const Tensor& h_n,
                      const Tensor& c_n, std::shared_ptr<RnnSaved>* saved) {
  RM_THROW_IF(p.cell == RnnCell::kGru && !p.linear_before_reset,
              "rnn: a GRU with the reset gate before the hidden matmul (linear_before_reset "
              "false, ONNX's default) has no CUDA kernel: cuDNN's GRU is PyTorch's");
  const Device device = in.x.device();
  const int dev = device.index;
  const int64_t T = in.x.dim(0);
  const bool ragged =
      std::any_of(p.lengths.begin(), p.lengths.end(), [T](int64_t n) { return n < T; });
  auto s = std::make_shared<CudaRnnSaved>();
  s->dims = {p.cell, T, in.x.dim(1), in.x.dim(2), in.w_hh.dim(2), in.w_ih.dim(0), ragged};
  const RnnDims& d = s->dims;
  std::vector<int32_t> lengths(d.N, to_int(T, "steps"));
  for (size_t i = 0; i < p.lengths.size(); ++i) lengths[i] = to_int(p.lengths[i], "length");
  cudnnHandle_t handle = cuda::cudnn(dev);
  s->device = dev;
  s->desc = std::make_shared<RnnDescriptors>(handle, d, lengths);
  s->lengths = Tensor::empty({d.N}, DType::i32, device);
  device_copy(s->lengths.raw(), device, lengths.data(), Device::cpu(), lengths.size() * 4);
  s->weights = workspace(s->desc->weight_bytes(), device);
  copy_weights(handle, *s->desc, d, s->weights, in.w_ih, in.w_hh, in.b_ih, in.b_hh, true);

  const cudnnForwardMode_t mode = saved ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE;
  size_t work_bytes = 0, reserve_bytes = 0;
  CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(handle, s->desc->rnn(), mode, s->desc->x(), &work_bytes,
                                        &reserve_bytes));
  const Tensor work = workspace(work_bytes, device);
  s->reserve = workspace(reserve_bytes, device);
  CUDNN_CHECK(cudnnRNNForward(
      handle, s->desc->rnn(), mode, static_cast<const int32_t*>(s->lengths.raw()), s->desc->x(),
      in.x.raw(), s->desc->y(), y.raw(), s->desc->h(), in.h0.raw(), h_n.raw(), s->desc->h(),
      d.lstm() ? in.c0.raw() : nullptr, d.lstm() ? c_n.raw() : nullptr, s->desc->weight_bytes(),
      s->weights.raw(), work_bytes, raw_or_null(work), reserve_bytes, raw_or_null(s->reserve)));
  zero_steps_past_lengths(y, s->lengths, d);
  if (saved == nullptr) return;
  s->x = in.x;
  s->h0 = in.h0;
  s->c0 = in.c0;
  s->y = y;
  *saved = s;
}

RnnInputs rnn_backward_cuda(const RnnSaved& base, const Tensor& dy, const Tensor& dh_n,
                            const Tensor& dc_n) {
  const auto& s = static_cast<const CudaRnnSaved&>(base);
  const RnnDims& d = s.dims;
  const Device device = s.x.device();
  cudnnHandle_t handle = cuda::cudnn(s.device);
  const RnnDescriptors& desc = *s.desc;
  RnnInputs g{Tensor::empty({d.T, d.N, d.I}, DType::f32, device),
              Tensor::empty({d.D, d.N, d.H}, DType::f32, device),
              d.lstm() ? Tensor::empty({d.D, d.N, d.H}, DType::f32, device) : Tensor(),
              Tensor::empty({d.D, d.gates() * d.H, d.I}, DType::f32, device),
              Tensor::empty({d.D, d.gates() * d.H, d.H}, DType::f32, device),
              Tensor::empty({d.D, d.gates() * d.H}, DType::f32, device),
              Tensor::empty({d.D, d.gates() * d.H}, DType::f32, device)};
  size_t work_bytes = 0, reserve_bytes = 0;
  CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(handle, desc.rnn(), CUDNN_FWD_MODE_TRAINING, desc.x(),
                                        &work_bytes, &reserve_bytes));
  RM_CHECK(reserve_bytes == (s.reserve.defined() ? s.reserve.nbytes() : 0),
           "cuDNN's RNN reserve space changed size between forward and backward");
  const Tensor work = workspace(work_bytes, device);
  const auto* lengths = static_cast<const int32_t*>(s.lengths.raw());
  CUDNN_CHECK(cudnnRNNBackwardData_v8(
      handle, desc.rnn(), lengths, desc.y(), s.y.raw(), dy.raw(), desc.x(), g.x.raw(), desc.h(),
      s.h0.raw(), dh_n.raw(), g.h0.raw(), desc.h(), d.lstm() ? s.c0.raw() : nullptr,
      d.lstm() ? dc_n.raw() : nullptr, d.lstm() ? g.c0.raw() : nullptr, desc.weight_bytes(),
      s.weights.raw(), work_bytes, raw_or_null(work), reserve_bytes, raw_or_null(s.reserve)));
  zero_steps_past_lengths(g.x, s.lengths, d);
  // cuDNN adds the weight gradients into its buffer.
  const Tensor dweights = workspace(desc.weight_bytes(), device);
  if (dweights.defined()) device_memset_zero(dweights.raw(), dweights.nbytes(), device);
  CUDNN_CHECK(cudnnRNNBackwardWeights_v8(
      handle, desc.rnn(), CUDNN_WGRAD_MODE_ADD, lengths, desc.x(), s.x.raw(), desc.h(), s.h0.raw(),
      desc.y(), s.y.raw(), desc.weight_bytes(), raw_or_null(dweights), work_bytes,
      raw_or_null(work), reserve_bytes, raw_or_null(s.reserve)));
  copy_weights(handle, desc, d, dweights, g.w_ih, g.w_hh, g.b_ih, g.b_hh, false);
  return g;
}

}  // namespace

RM_REGISTER_KERNELS(RnnKernels, cuda, {rnn_forward_cuda, rnn_backward_cuda});

}  // namespace ringmaster::ops
