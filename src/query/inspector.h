// The crawlers' eyes: DuckDB reads a sample of files (JSON lines, plain or
// compressed, Parquet, CSV) and says what columns they hold, in Hive types.
#pragma once

#include <memory>
#include <mutex>

#include "catalog/crawler.h"
#include "query/duckdb_engine.h"

namespace eventlake::query {

class DuckDbInspector : public catalog::FileInspector {
 public:
  Result<catalog::FileSchema> Inspect(const std::vector<catalog::SampleFile>& files) override;

 private:
  std::mutex mu_;
  std::unique_ptr<Engine> engine_;  // guarded by mu_; opened on first use
};

// The Hive type for a DuckDB type as Engine spells it ("BIGINT", "VARCHAR[]",
// "STRUCT(\"a\" INTEGER)", "MAP(VARCHAR, DOUBLE)").
std::string HiveType(std::string_view duckdb_type);

}  // namespace eventlake::query
