// Catalog tables as DuckDB relations: a view per table over the files under
// its location (or its partitions' locations), with the catalog's columns and
// types, partition keys as columns, and columns that some files lack read as
// NULL. Files are linked (symlinks) into a per-query directory whose layout
// carries the partition values (key=value folders), so DuckDB skips the files
// of partitions a query filters out.
#pragma once

#include <chrono>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "objects/object_store.h"
#include "query/duckdb_engine.h"

namespace eventlake::query {

enum class FileFormat { kParquet, kJson, kCsv };

// The format a table's SerDe, input format or classification names;
// InvalidArgument for formats that cannot be read (ORC, Avro, ...).
Result<FileFormat> FormatOf(const catalog::Table& table);

// DuckDB's type for a Hive type string ("bigint", "array<struct<a:int>>",
// "decimal(10,2)"); InvalidArgument when it is not one.
Result<std::string> DuckDbType(const std::string& hive_type);

// Splits "s3://bucket/prefix/" into the bucket and the key prefix.
Result<std::pair<std::string, std::string>> ParseS3Location(const std::string& location);

// What a defined table covers.
struct TableFiles {
  int64_t files = 0;
  int64_t bytes = 0;
};

class LakeTables {
 public:
  // Both must outlive this. The links to tables' files live under `farms_dir`,
  // one folder per table version and set of files, reused by the queries that
  // read the same files and removed once unused for `keep`.
  LakeTables(catalog::Catalog& catalog, objects::ObjectStore& objects, std::string farms_dir,
             std::chrono::seconds keep = std::chrono::hours(2))
      : catalog_(catalog), objects_(objects), farms_dir_(std::move(farms_dir)), keep_(keep) {}

  // Creates the view "database"."table" in `engine`.
  Result<TableFiles> Define(Engine& engine, const catalog::Table& table);
  const std::string& farms_dir() const { return farms_dir_; }

 private:
  using Present = std::map<std::string, std::vector<std::string>>;  // lower-case name -> spellings in the files
  catalog::Catalog& catalog_;
  objects::ObjectStore& objects_;
  const std::string farms_dir_;
  const std::chrono::seconds keep_;
  std::map<std::string, std::chrono::steady_clock::time_point> farm_used_;  // guarded by cache_mu_
  // The columns files hold, by the files (paths and sizes) and table version that were read.
  std::mutex cache_mu_;
  std::map<std::string, Present> present_cache_;  // guarded by cache_mu_
  std::list<std::string> cache_order_;            // guarded by cache_mu_: oldest first
};

}  // namespace eventlake::query
