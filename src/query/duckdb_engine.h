// The query room: the only code that includes duckdb.h. Engine is one embedded
// DuckDB database (in memory) with its own limits; each query execution opens
// its own, so that one query's memory limit, threads and interruption touch no
// other. Everything DuckDB reports comes back as Status and plain values.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace eventlake::query {

// The version of the linked DuckDB library, e.g. "v1.4.4".
std::string DuckDbVersion();

struct EngineOptions {
  int threads = 2;
  int64_t memory_limit_bytes = 1LL << 30;
  std::string temp_directory;  // where DuckDB may spill; empty: no spilling
};

// One result column: its name and its DuckDB type as SQL spells it ("BIGINT",
// "DECIMAL(10,2)", "VARCHAR[]", "STRUCT(a INTEGER)").
struct ResultColumn {
  std::string name;
  std::string type;
};

// A row of a result, every value as text (NULL as nullopt), as DuckDB casts it to VARCHAR.
using TextRow = std::vector<std::optional<std::string>>;

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> Open(const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Runs statements that return nothing of interest (views, settings).
  Status Execute(const std::string& sql);
  // Runs a statement that writes rows (COPY, INSERT): how many.
  Result<int64_t> ExecuteCountingRows(const std::string& sql);
  // Runs one query and hands its rows, as text, to `row` (false stops early).
  // `columns` receives the columns before the first row. DuckDB's error
  // message comes back as InvalidArgument; an interrupted query as Cancelled.
  Status Query(const std::string& sql, const std::function<void(std::vector<ResultColumn>)>& columns,
               const std::function<bool(TextRow&&)>& row);
  // Whether the text is one SELECT-like statement (SELECT, WITH, VALUES, TABLE,
  // SHOW, DESCRIBE, EXPLAIN, PRAGMA that returns rows): InvalidArgument when
  // it does not parse or holds more than one statement.
  Result<bool> IsQuery(const std::string& sql);
  // The tables a SELECT names, as (schema, table) with the schema empty when
  // unqualified; CTE names are left out.
  Result<std::vector<std::pair<std::string, std::string>>> ReferencedTables(const std::string& sql);
  // Stops the query running on this engine, from any thread.
  void Interrupt();
  // From now on every read from a file is counted (before any lock on the configuration).
  Status CountReads();
  // Bytes read from files since CountReads().
  Result<int64_t> BytesRead();

 private:
  struct Handles;
  explicit Engine(std::unique_ptr<Handles> h);
  std::unique_ptr<Handles> h_;
};

// SQL quoting: an identifier in double quotes, a string literal in single quotes.
std::string QuoteIdentifier(const std::string& name);
std::string QuoteLiteral(const std::string& text);

}  // namespace eventlake::query
