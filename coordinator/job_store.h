// The store interface the job manager writes through: jobs (durable on
// return: a state change is on disk before anyone is told about it) and
// their log lines. SqliteJobStore is the implementation; tests may fake it.
// Implementations are thread-safe; every call blocks on disk I/O.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "coordinator/job.h"

namespace ringmaster::coordinator {

// The store could not read or write (disk full, corrupt file, locked).
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class JobStore {
 public:
  virtual ~JobStore() = default;
  // Inserts or replaces; durable when it returns. Throws StoreError.
  virtual void put(const Job& job) = 0;
  virtual void remove(const std::string& job_id) = 0;  // and its log
  virtual std::vector<Job> load_all() = 0;             // in submission order
  // 1 + the highest submission sequence number ever put (deleted jobs
  // included), so ids are never reused.
  virtual int64_t next_seq() = 0;
  // Log lines of a job, numbered from 0 in arrival order.
  virtual void append_log(const std::string& job_id, int64_t first_line,
                          const std::vector<std::string>& lines) = 0;
  virtual std::vector<std::string> read_log(const std::string& job_id, int64_t from_line,
                                            int64_t max_lines) = 0;
  virtual int64_t log_size(const std::string& job_id) = 0;
  // The bytes of a job's log lines (text only).
  virtual int64_t log_bytes(const std::string& job_id) = 0;
};

enum class Durability {
  kFull,    // fsync on every commit: survives power loss (synchronous=FULL)
  kNormal,  // survives a killed process, not a power cut (WAL, synchronous=NORMAL)
};

// SQLite in WAL mode at `path` (created with its folder). Throws StoreError.
std::unique_ptr<JobStore> open_sqlite_job_store(const std::string& path,
                                                Durability durability = Durability::kFull);

}  // namespace ringmaster::coordinator
