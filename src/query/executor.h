// Query executions as Athena runs them: submitted, queued, run on a bounded
// number of workers (each in its own DuckDB with its own memory limit, threads
// and timeout), cancellable, their results written to the object store as CSV
// and paged back. Executions are kept in the control-plane store, so they
// outlive a restart; one that a restart interrupted ends FAILED.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/status.h"
#include "meta/store.h"
#include "objects/object_store.h"
#include "query/duckdb_engine.h"

namespace eventlake::query {

enum class State { kQueued, kRunning, kSucceeded, kFailed, kCancelled };
const char* StateName(State s);

// A result column with the names Athena gives types ("varchar", "bigint", "array", "row", ...).
struct ColumnInfo {
  std::string name;
  std::string type;
  int precision = 0, scale = 0;
};

struct Execution {
  std::string id;
  std::string sql;
  std::string database;                 // the context database (may be empty)
  std::string catalog = "AwsDataCatalog";
  std::string workgroup = "primary";
  std::string output_location;          // "s3://bucket/prefix/<id>.csv"
  std::string statement_type = "DML";   // DML, DDL, UTILITY
  std::string substatement_type;        // SELECT, CREATE_TABLE, SHOW_TABLES, ...
  State state = State::kQueued;
  std::string state_reason;             // why it failed or was cancelled
  std::string error_type;               // with FAILED: the class of error
  int error_category = 0;               // 1 system, 2 user, 3 other
  int64_t submitted_ms = 0, started_ms = 0, completed_ms = 0;
  int64_t scanned_bytes = 0;
  int64_t planning_ms = 0, engine_ms = 0, processing_ms = 0;
  std::optional<int64_t> update_count;  // rows written, for CTAS and INSERT
  std::vector<ColumnInfo> columns;      // of the result
  bool header_row = true;               // SELECT results start with a row of column names
  int64_t result_rows = 0;
  std::string client_token;
  std::vector<std::string> parameters;  // ExecutionParameters, in order
};

struct SubmitRequest {
  std::string sql;
  std::string database;
  std::string catalog;
  std::string workgroup = "primary";
  std::string output_location;  // a folder: "s3://bucket/prefix/"
  std::string client_token;
  std::vector<std::string> parameters;
};

struct ResultPage {
  std::vector<ColumnInfo> columns;
  std::vector<TextRow> rows;  // the header row first on the first page of a SELECT
  std::string next_token;
  std::optional<int64_t> update_count;
};

// What a statement that is not for DuckDB (DDL, SHOW, DESCRIBE) produced.
struct StatementResult {
  std::string statement_type = "DDL";
  std::string substatement_type;
  std::vector<ColumnInfo> columns;
  std::vector<TextRow> rows;
  bool header_row = false;
};

// Runs the statements Athena handles itself, against the catalog: nullopt
// when the text is not one of them (and goes to DuckDB).
class StatementHandler {
 public:
  virtual ~StatementHandler() = default;
  virtual std::optional<Result<StatementResult>> Handle(const std::string& sql, const std::string& database) = 0;
};

struct ExecutorOptions {
  std::string work_dir;            // scratch space for executions (file links, spills)
  int max_concurrent = 2;          // queries running at once
  int max_queued = 100;            // queries waiting beyond those
  int threads_per_query = 2;       // DuckDB threads
  int64_t memory_limit_bytes = 2LL << 30;  // each query's
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
  size_t cached_result_bytes = 64 << 20;  // results kept in memory for paging (beyond: read back from the CSV)
  // Where CREATE TABLE AS SELECT writes a table given no external_location: <root><database>/<table>/.
  std::string ctas_root = "s3://processed/tables/";
};

class QueryExecutor {
 public:
  // The control-plane tables this room owns (versions 500-599).
  static std::vector<meta::Migration> Migrations();

  // Everything must outlive the executor; `statements` may be null.
  QueryExecutor(meta::Store& meta, catalog::Catalog& catalog, objects::ObjectStore& objects, const Clock& clock,
                ExecutorOptions options, StatementHandler* statements = nullptr);
  ~QueryExecutor();

  // Marks executions a restart interrupted, and starts the workers.
  Status Start();
  // Cancels what runs and waits for the workers.
  void Stop();

  // A new execution (or, for a client token seen before, that one's id).
  // TooManyRequests when the queue is full.
  Result<std::string> Submit(SubmitRequest request);
  Result<Execution> Get(const std::string& id) const;
  // Newest first.
  Result<catalog::Page<std::string>> List(const std::string& workgroup, const std::string& token, int max) const;
  // Cancels a queued or running execution; one that has ended stays as it is.
  Status Cancel(const std::string& id);
  // A page of the results of a SUCCEEDED execution. `token` is where the
  // previous page ended.
  Result<ResultPage> Results(const std::string& id, const std::string& token, int max);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Athena's name for a DuckDB type, with its precision and scale.
ColumnInfo AthenaColumn(const ResultColumn& column);

}  // namespace eventlake::query
