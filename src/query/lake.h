// Catalog tables as DuckDB relations: a view per table over the files under
// its location (or its partitions' locations), with the catalog's columns and
// types, partition keys as columns, and columns that some files lack read as
// NULL. Files are linked (symlinks) into a per-query directory whose layout
// carries the partition values (key=value folders), so DuckDB skips the files
// of partitions a query filters out.
#pragma once

#include <string>

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
  // Both must outlive this.
  LakeTables(catalog::Catalog& catalog, objects::ObjectStore& objects) : catalog_(catalog), objects_(objects) {}

  // Creates the view "database"."table" in `engine`, linking the table's files
  // under `work_dir` (which the caller removes after the query).
  Result<TableFiles> Define(Engine& engine, const catalog::Table& table, const std::string& work_dir);

 private:
  catalog::Catalog& catalog_;
  objects::ObjectStore& objects_;
};

}  // namespace eventlake::query
