#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "meta/store.h"

namespace eventlake::meta {

std::string AsText(const Value& v, std::string fallback) {
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  return fallback;
}

int64_t AsInt(const Value& v, int64_t fallback) {
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  return fallback;
}

namespace {

Status SqliteError(sqlite3* db, const std::string& what) {
  int code = sqlite3_extended_errcode(db);
  std::string msg = what + ": " + sqlite3_errmsg(db);
  if ((code & 0xff) == SQLITE_CONSTRAINT) return Status::AlreadyExists(msg);
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) return Status::Unavailable(msg);
  if ((code & 0xff) == SQLITE_FULL || (code & 0xff) == SQLITE_IOERR) return Status::IoError(msg);
  if ((code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB) return Status::DataLoss(msg);
  return Status::Internal(msg);
}

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Status Prepared(const std::string& sql) const {
    return rc_ == SQLITE_OK ? Status::Ok() : SqliteError(db_, "prepare '" + sql + "'");
  }
  Status Bind(const std::vector<Value>& params) {
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      int rc = std::visit(
          [&](const auto& v) -> int {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              return sqlite3_bind_null(stmt_, idx);
            } else if constexpr (std::is_same_v<T, int64_t>) {
              return sqlite3_bind_int64(stmt_, idx, v);
            } else if constexpr (std::is_same_v<T, double>) {
              return sqlite3_bind_double(stmt_, idx, v);
            } else if constexpr (std::is_same_v<T, std::string>) {
              return sqlite3_bind_text(stmt_, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
            } else {
              return sqlite3_bind_blob(stmt_, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
            }
          },
          params[i]);
      if (rc != SQLITE_OK) return SqliteError(db_, "bind");
    }
    return Status::Ok();
  }
  Result<std::vector<Row>> Run() {
    std::vector<Row> rows;
    for (;;) {
      int rc = sqlite3_step(stmt_);
      if (rc == SQLITE_DONE) return rows;
      if (rc != SQLITE_ROW) return SqliteError(db_, "step");
      int n = sqlite3_column_count(stmt_);
      Row row;
      row.reserve(n);
      for (int c = 0; c < n; ++c) {
        switch (sqlite3_column_type(stmt_, c)) {
          case SQLITE_INTEGER: row.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt_, c))); break;
          case SQLITE_FLOAT: row.emplace_back(sqlite3_column_double(stmt_, c)); break;
          case SQLITE_TEXT:
            row.emplace_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c)),
                                         static_cast<size_t>(sqlite3_column_bytes(stmt_, c))));
            break;
          case SQLITE_BLOB: {
            auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, c));
            row.emplace_back(std::vector<uint8_t>(p, p + sqlite3_column_bytes(stmt_, c)));
            break;
          }
          default: row.emplace_back(std::monostate{});
        }
      }
      rows.push_back(std::move(row));
    }
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

Status ExecScript(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    Status s = SqliteError(db, "exec");
    return Status(s.code(), msg);
  }
  return Status::Ok();
}

class SqliteTransaction final : public Transaction {
 public:
  explicit SqliteTransaction(sqlite3* db) : db_(db) {}
  Result<int64_t> Execute(const std::string& sql, const std::vector<Value>& params) override {
    Statement st(db_, sql);
    EL_RETURN_IF_ERROR(st.Prepared(sql));
    EL_RETURN_IF_ERROR(st.Bind(params));
    EL_ASSIGN_OR_RETURN(auto rows, st.Run());
    (void)rows;
    return static_cast<int64_t>(sqlite3_changes(db_));
  }
  Result<std::vector<Row>> Query(const std::string& sql, const std::vector<Value>& params) override {
    Statement st(db_, sql);
    EL_RETURN_IF_ERROR(st.Prepared(sql));
    EL_RETURN_IF_ERROR(st.Bind(params));
    return st.Run();
  }

 private:
  sqlite3* db_;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override { sqlite3_close_v2(db_); }

  Status RunInTransaction(const std::function<Status(Transaction&)>& body) override {
    std::lock_guard<std::mutex> lock(mu_);
    EL_RETURN_IF_ERROR(ExecScript(db_, "BEGIN IMMEDIATE"));
    SqliteTransaction txn(db_);
    Status s;
    try {
      s = body(txn);
    } catch (...) {
      ExecScript(db_, "ROLLBACK").IgnoreError();  // leave the connection usable, then let it propagate
      throw;
    }
    if (s.ok()) {
      s = ExecScript(db_, "COMMIT");
      if (s.ok()) return s;
    }
    ExecScript(db_, "ROLLBACK").IgnoreError();  // the body's (or COMMIT's) error is what matters
    return s;
  }

  Result<std::vector<Row>> Query(const std::string& sql, const std::vector<Value>& params) override {
    std::lock_guard<std::mutex> lock(mu_);
    SqliteTransaction txn(db_);
    return txn.Query(sql, params);
  }

  Status Migrate(const std::vector<Migration>& migrations) override {
    std::vector<Migration> sorted = migrations;
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
    for (size_t i = 1; i < sorted.size(); ++i) {
      if (sorted[i].version == sorted[i - 1].version) {
        return Status::Internal("two migrations share version " + std::to_string(sorted[i].version));
      }
    }
    EL_ASSIGN_OR_RETURN(auto applied, Query("SELECT version, name FROM schema_migrations ORDER BY version", {}));
    for (const auto& row : applied) {
      int64_t v = AsInt(row[0]);
      auto it = std::find_if(sorted.begin(), sorted.end(), [&](const auto& m) { return m.version == v; });
      if (it != sorted.end() && it->name != AsText(row[1])) {
        return Status::FailedPrecondition("migration " + std::to_string(v) + " was applied as '" +
                                          AsText(row[1]) + "' but this binary calls it '" + it->name + "'");
      }
    }
    std::set<int64_t> done;
    for (const auto& row : applied) done.insert(AsInt(row[0]));
    for (const auto& m : sorted) {
      if (done.count(m.version)) continue;  // a version below the newest may still be new (a room added later)
      EL_RETURN_IF_ERROR(RunInTransaction([&](Transaction& txn) -> Status {
        {
          // ExecScript runs every statement of the migration.
          Status s = ExecScript(db_, m.sql);
          if (!s.ok()) return Status(s.code(), "migration " + std::to_string(m.version) + ": " + s.message());
        }
        EL_ASSIGN_OR_RETURN(auto n, txn.Execute("INSERT INTO schema_migrations(version, name, applied_at) "
                                                "VALUES (?, ?, strftime('%s','now'))",
                                                {int64_t{m.version}, m.name}));
        (void)n;
        return Status::Ok();
      }));
    }
    return Status::Ok();
  }

  Result<int> SchemaVersion() override {
    EL_ASSIGN_OR_RETURN(auto rows, Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {}));
    return static_cast<int>(AsInt(rows.at(0).at(0)));
  }

 private:
  std::mutex mu_;  // serializes all use of db_
  sqlite3* db_;    // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return Status::IoError("open " + path + ": " + msg);
  }
  ::chmod(path.c_str(), 0600);
  sqlite3_busy_timeout(db, 5000);
  auto store = std::make_unique<SqliteStore>(db);
  Status s = ExecScript(db,
                        "PRAGMA journal_mode=WAL;"
                        "PRAGMA synchronous=FULL;"
                        "PRAGMA foreign_keys=ON;"
                        "CREATE TABLE IF NOT EXISTS schema_migrations("
                        "  version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);");
  if (!s.ok()) return Status(s.code(), "initialize " + path + ": " + s.message());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace eventlake::meta
