// AsyncAllreducer (see async_allreducer.h): one comm thread pops buckets in
// submission order and runs RingAllreduce on them; waiters sleep on a
// condition variable. The comm thread is the only user of the transport.
#include "comm/async_allreducer.h"

#include <utility>

namespace ringmaster::comm {

using Clock = std::chrono::steady_clock;

AsyncAllreducer::AsyncAllreducer(std::unique_ptr<RingTransport> transport,
                                 AsyncAllreducerOptions options)
    : transport_(std::move(transport)),
      allreduce_(*transport_, options.allreduce),
      average_(options.average),
      world_(transport_->world()),
      rank_(transport_->rank()),
      thread_([this] { run(); }) {}

AsyncAllreducer::~AsyncAllreducer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    const auto shut =
        std::make_exception_ptr(CommError("ring rank " + std::to_string(rank_) +
                                          ": all-reducer shut down before this bucket started"));
    for (auto& job : queue_) {
      job->error = shut;
      job->done = true;
    }
    queue_.clear();
  }
  work_cv_.notify_all();
  done_cv_.notify_all();
  thread_.join();
}

AsyncAllreducer::Handle AsyncAllreducer::submit(uint64_t bucket, std::span<float> data) {
  auto job = std::make_shared<Job>();
  job->bucket = bucket;
  job->data = data;
  job->submitted = Clock::now();
  {
    std::lock_guard lock(mu_);
    job->handle = next_handle_++;
    jobs_[job->handle] = job;
    queue_.push_back(job);
  }
  work_cv_.notify_one();
  return job->handle;
}

void AsyncAllreducer::wait(Handle handle) {
  std::shared_ptr<Job> job;
  std::unique_lock lock(mu_);
  auto it = jobs_.find(handle);
  if (it == jobs_.end()) throw std::invalid_argument("AsyncAllreducer::wait: unknown handle");
  job = it->second;
  // Bounded: the comm thread finishes or fails each bucket within its timeouts.
  done_cv_.wait(lock, [&] { return job->done; });
  jobs_.erase(handle);
  if (job->error) std::rethrow_exception(job->error);
}

void AsyncAllreducer::wait_all() {
  std::vector<Handle> handles;
  {
    std::lock_guard lock(mu_);
    for (auto& [h, job] : jobs_) handles.push_back(h);
  }
  std::exception_ptr first;
  for (Handle h : handles) {
    try {
      wait(h);
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

std::vector<BucketTiming> AsyncAllreducer::take_timings() {
  std::lock_guard lock(mu_);
  return std::exchange(timings_, {});
}

void AsyncAllreducer::run() {
  for (;;) {
    std::shared_ptr<Job> job;
    std::exception_ptr failure;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      job = queue_.front();
      queue_.pop_front();
      failure = failure_;
    }
    BucketTiming timing{job->bucket, job->data.size(), job->submitted, Clock::now(), {}, false, {}};
    const WireCounters before = transport_->counters();
    std::exception_ptr error = failure;
    if (!error) {
      try {
        if (average_) {
          allreduce_.average(job->data, job->bucket);
        } else {
          allreduce_.sum(job->data, job->bucket);
        }
        timing.ok = true;
      } catch (...) {
        error = std::current_exception();
      }
    }
    timing.finished = Clock::now();
    timing.wire = transport_->counters() - before;
    {
      std::lock_guard lock(mu_);
      if (error && !failure_) failure_ = error;
      job->error = error;
      job->done = true;
      timings_.push_back(timing);
    }
    done_cv_.notify_all();
  }
}

}  // namespace ringmaster::comm
