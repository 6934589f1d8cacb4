// JobStore on SQLite (see job_store.h): WAL mode, one connection behind a
// mutex, prepared statements kept for the life of the store. A job is one
// row holding its JSON document plus the columns we look it up by. Log lines
// live in their own table. Does not vacuum or expire old jobs.
#include <sqlite3.h>

#include <filesystem>
#include <mutex>

#include "coordinator/job_store.h"

namespace ringmaster::coordinator {
namespace {

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK)
      throw StoreError(std::string("sqlite prepare failed: ") + sqlite3_errmsg(db) + " in: " + sql);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds 1-based parameters; reset() before reuse.
  Statement& bind(int i, const std::string& s) {
    check(sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Statement& bind(int i, int64_t v) {
    check(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }
  bool step() {  // true: a row is ready
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw StoreError(std::string("sqlite step failed: ") + sqlite3_errmsg(db_));
  }
  void run() {
    step();
    reset();
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : "";
  }
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK)
      throw StoreError(std::string("sqlite bind failed: ") + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets the statement however the scope is left.
struct ResetGuard {
  Statement& s;
  ~ResetGuard() { s.reset(); }
};

class SqliteJobStore final : public JobStore {
 public:
  SqliteJobStore(const std::string& path, Durability durability) {
    const std::filesystem::path p(path);
    if (p.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(p.parent_path(), ec);
      if (ec) throw StoreError("cannot create " + p.parent_path().string() + ": " + ec.message());
    }
    if (sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw StoreError("cannot open job store " + path + ": " + msg);
    }
    try {
      sqlite3_busy_timeout(db_, 5000);
      exec("PRAGMA journal_mode=WAL");
      exec(durability == Durability::kFull ? "PRAGMA synchronous=FULL"
                                           : "PRAGMA synchronous=NORMAL");
      exec("PRAGMA foreign_keys=ON");
      // seq is the rowid: a new job writes the table and the id index, a
      // state change the table alone (one WAL page per fsync, mostly).
      const std::string old = query_text("SELECT sql FROM sqlite_master WHERE name = 'jobs'");
      if (old.find("id TEXT PRIMARY KEY") != std::string::npos) {  // a store from before
        exec("BEGIN IMMEDIATE");
        exec(
            "CREATE TABLE jobs_by_seq (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
            " state TEXT NOT NULL, doc TEXT NOT NULL)");
        exec("INSERT INTO jobs_by_seq (seq, id, state, doc) SELECT seq, id, state, doc FROM jobs");
        exec("DROP TABLE jobs");
        exec("ALTER TABLE jobs_by_seq RENAME TO jobs");
        exec("COMMIT");
      }
      exec(
          "CREATE TABLE IF NOT EXISTS jobs (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
          " state TEXT NOT NULL, doc TEXT NOT NULL)");
      exec(
          "CREATE TABLE IF NOT EXISTS logs ("
          " job_id TEXT NOT NULL, line INTEGER NOT NULL, text TEXT NOT NULL,"
          " PRIMARY KEY (job_id, line)) WITHOUT ROWID");
      exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
      exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('next_seq', 1)");
      std::string mode = query_text("PRAGMA journal_mode");
      if (mode != "wal")
        throw StoreError("job store " + path + " is not in WAL mode (" + mode + ")");
      put_ = std::make_unique<Statement>(
          db_,
          "INSERT INTO jobs (id, seq, state, doc) VALUES (?1, ?2, ?3, ?4)"
          " ON CONFLICT(seq) DO UPDATE SET state = excluded.state, doc = excluded.doc");
      // The counter only needs saving when the newest job is deleted (else
      // max(seq) + 1 says it), so a submit writes no meta page.
      bump_seq_ = std::make_unique<Statement>(
          db_,
          "UPDATE meta SET value = max(value, (SELECT seq + 1 FROM jobs WHERE id = ?1))"
          " WHERE key = 'next_seq' AND EXISTS (SELECT 1 FROM jobs WHERE id = ?1)");
      remove_ = std::make_unique<Statement>(db_, "DELETE FROM jobs WHERE id = ?1");
      remove_log_ = std::make_unique<Statement>(db_, "DELETE FROM logs WHERE job_id = ?1");
      append_ = std::make_unique<Statement>(
          db_, "INSERT OR REPLACE INTO logs (job_id, line, text) VALUES (?1, ?2, ?3)");
      read_log_ = std::make_unique<Statement>(
          db_, "SELECT text FROM logs WHERE job_id = ?1 AND line >= ?2 ORDER BY line LIMIT ?3");
      log_size_ = std::make_unique<Statement>(
          db_, "SELECT coalesce(max(line) + 1, 0) FROM logs WHERE job_id = ?1");
      log_bytes_ = std::make_unique<Statement>(
          db_, "SELECT coalesce(sum(length(CAST(text AS BLOB))), 0) FROM logs WHERE job_id = ?1");
    } catch (...) {
      close();
      throw;
    }
  }

  ~SqliteJobStore() override { close(); }

  void put(const Job& job) override {
    std::lock_guard lock(mu_);
    Transaction tx(*this);
    {
      ResetGuard g{*put_};
      put_->bind(1, job.id).bind(2, job.seq).bind(3, std::string(to_string(job.state)));
      put_->bind(4,
                 job_to_json(job).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      put_->step();
    }
    tx.commit();
  }

  void remove(const std::string& job_id) override {
    std::lock_guard lock(mu_);
    Transaction tx(*this);
    {
      ResetGuard g{*bump_seq_};
      bump_seq_->bind(1, job_id).step();
    }
    {
      ResetGuard g{*remove_};
      remove_->bind(1, job_id).step();
    }
    {
      ResetGuard g{*remove_log_};
      remove_log_->bind(1, job_id).step();
    }
    tx.commit();
  }

  std::vector<Job> load_all() override {
    std::lock_guard lock(mu_);
    Statement s(db_, "SELECT id, doc FROM jobs ORDER BY seq");
    std::vector<Job> out;
    while (s.step()) {
      try {
        out.push_back(job_from_json(nlohmann::json::parse(s.text(1))));
      } catch (const nlohmann::json::exception& e) {
        throw StoreError("job " + s.text(0) + " in the store is malformed: " + e.what());
      }
    }
    return out;
  }

  int64_t next_seq() override {
    std::lock_guard lock(mu_);
    Statement s(db_,
                "SELECT max((SELECT value FROM meta WHERE key = 'next_seq'),"
                " (SELECT coalesce(max(seq), 0) + 1 FROM jobs))");
    return s.step() ? s.integer(0) : 1;
  }

  void append_log(const std::string& job_id, int64_t first_line,
                  const std::vector<std::string>& lines) override {
    if (lines.empty()) return;
    std::lock_guard lock(mu_);
    Transaction tx(*this);
    for (size_t i = 0; i < lines.size(); ++i) {
      ResetGuard g{*append_};
      append_->bind(1, job_id).bind(2, first_line + static_cast<int64_t>(i)).bind(3, lines[i]);
      append_->step();
    }
    tx.commit();
  }

  std::vector<std::string> read_log(const std::string& job_id, int64_t from_line,
                                    int64_t max_lines) override {
    std::lock_guard lock(mu_);
    ResetGuard g{*read_log_};
    read_log_->bind(1, job_id).bind(2, from_line).bind(3, max_lines);
    std::vector<std::string> out;
    while (read_log_->step()) out.push_back(read_log_->text(0));
    return out;
  }

  int64_t log_size(const std::string& job_id) override {
    std::lock_guard lock(mu_);
    ResetGuard g{*log_size_};
    log_size_->bind(1, job_id);
    return log_size_->step() ? log_size_->integer(0) : 0;
  }

  int64_t log_bytes(const std::string& job_id) override {
    std::lock_guard lock(mu_);
    ResetGuard g{*log_bytes_};
    log_bytes_->bind(1, job_id);
    return log_bytes_->step() ? log_bytes_->integer(0) : 0;
  }

 private:
  // BEGIN IMMEDIATE ... COMMIT, rolled back if the scope is left early.
  class Transaction {
   public:
    explicit Transaction(SqliteJobStore& s) : s_(s) { s_.exec("BEGIN IMMEDIATE"); }
    ~Transaction() {
      if (!done_) sqlite3_exec(s_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    void commit() {
      s_.exec("COMMIT");
      done_ = true;
    }

   private:
    SqliteJobStore& s_;
    bool done_ = false;
  };

  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      throw StoreError(std::string("sqlite: ") + sql + ": " + msg);
    }
  }
  std::string query_text(const char* sql) {
    Statement s(db_, sql);
    return s.step() ? s.text(0) : "";
  }
  void close() {
    put_.reset();
    bump_seq_.reset();
    remove_.reset();
    remove_log_.reset();
    append_.reset();
    read_log_.reset();
    log_size_.reset();
    log_bytes_.reset();
    if (db_) sqlite3_close(db_);
    db_ = nullptr;
  }

  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statement> put_, bump_seq_, remove_, remove_log_, append_, read_log_, log_size_,
      log_bytes_;
};

}  // namespace

std::unique_ptr<JobStore> open_sqlite_job_store(const std::string& path, Durability durability) {
  return std::make_unique<SqliteJobStore>(path, durability);
}

}  // namespace ringmaster::coordinator
