// NcclCommunicator (see header): a thin owner of an ops/cuda/nccl.h handle.
#include "comm/nccl_communicator.h"

#include "ops/check.h"
#include "ops/nccl.h"

namespace ringmaster::comm {
namespace {

std::string to_hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string from_hex(const std::string& hex) {
  RM_THROW_IF(hex.size() % 2 != 0, "NCCL unique id: odd number of hex digits (", hex.size(), ")");
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = value(hex[2 * i]), lo = value(hex[2 * i + 1]);
    RM_THROW_IF(hi < 0 || lo < 0, "NCCL unique id: not hex at position ", 2 * i);
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace

std::string NcclCommunicator::unavailable_reason() { return ops::nccl_unavailable_reason(); }

std::string NcclCommunicator::make_unique_id() { return to_hex(ops::nccl_unique_id()); }

NcclCommunicator::NcclCommunicator(int world, int rank, const std::string& unique_id_hex,
                                   int device)
    : comm_(ops::nccl_init(world, from_hex(unique_id_hex), rank, device)) {}

NcclCommunicator::~NcclCommunicator() { ops::nccl_destroy(comm_); }

void NcclCommunicator::allreduce_sum(float* device_data, size_t count) {
  ops::nccl_allreduce_sum(comm_, device_data, count);
}

void NcclCommunicator::allreduce_sum_fp16(float* device_data, float* residual, void* half_buf,
                                          float* scratch, size_t count) {
  ops::nccl_allreduce_sum_fp16(comm_, device_data, residual, half_buf, scratch, count);
}

void NcclCommunicator::wait(std::chrono::milliseconds timeout, const std::atomic<bool>* cancel) {
  ops::nccl_wait(comm_, timeout.count(), cancel);
}

}  // namespace ringmaster::comm
