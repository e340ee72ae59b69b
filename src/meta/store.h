// The control-plane store: small, transactional, relational state (streams,
// buckets, rules, access keys, ...). SQLite is the embedded default; the
// interface is plain SQL in the portable subset that SQLite and PostgreSQL share
// (placeholders are written `?`; an implementation rewrites them as it needs),
// so a PostgreSQL implementation can fill it later without touching callers.
//
// Thread-safety: a Store is safe to use from any thread; each Transaction runs
// under the store's writer lock and must stay on the thread that started it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"

namespace eventlake::meta {

// One SQL value: NULL, integer, real, text or blob (blob as std::vector<uint8_t>).
using Value = std::variant<std::monostate, int64_t, double, std::string, std::vector<uint8_t>>;
using Row = std::vector<Value>;

// Reads a column as text / integer; a NULL or other type reads as the fallback.
std::string AsText(const Value& v, std::string fallback = {});
int64_t AsInt(const Value& v, int64_t fallback = 0);

// A schema change, applied once, in version order, inside a transaction.
struct Migration {
  int version;       // unique, increasing across all rooms
  std::string name;  // "auth: access keys"
  std::string sql;   // one or more statements
};

class Transaction {
 public:
  virtual ~Transaction() = default;
  // Runs a statement that returns no rows. Returns the number of rows changed.
  virtual Result<int64_t> Execute(const std::string& sql, const std::vector<Value>& params = {}) = 0;
  virtual Result<std::vector<Row>> Query(const std::string& sql, const std::vector<Value>& params = {}) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Runs `body` in one transaction: committed (durably) when it returns OK,
  // rolled back otherwise; its Status is returned.
  virtual Status RunInTransaction(const std::function<Status(Transaction&)>& body) = 0;

  // A read outside any explicit transaction.
  virtual Result<std::vector<Row>> Query(const std::string& sql, const std::vector<Value>& params = {}) = 0;

  // Applies the migrations not yet applied, in version order, each in its own
  // transaction, and records them. Versions already applied
  // with a different name fail with FailedPrecondition (a mismatched binary).
  virtual Status Migrate(const std::vector<Migration>& migrations) = 0;

  // The highest applied migration version (0 for a new store).
  virtual Result<int> SchemaVersion() = 0;
};

// Opens (creating when missing) the SQLite database at `path` in WAL mode with
// synchronous=FULL, so a committed transaction survives a crash.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

}  // namespace eventlake::meta
