// Writing rows into a Parquet file through DuckDB: the columns are a catalog
// table's (Hive types), the values come typed, one row at a time, and Write
// produces the file with the chosen compression. Values of nested types
// (array, map, struct) are given as JSON text and become the nested Parquet
// types when the file is written.
//
// The caller must give values that fit their columns (the delivery room checks
// each record before it appends it): a value DuckDB cannot take fails the row
// and the writer with it.
//
// Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace eventlake::query {

class ParquetWriter {
 public:
  struct Column {
    std::string name;
    std::string hive_type;  // "bigint", "decimal(10,2)", "array<string>", "struct<a:int>"
  };
  // compression: SNAPPY, GZIP, UNCOMPRESSED or ZSTD.
  static Result<std::unique_ptr<ParquetWriter>> Create(std::vector<Column> columns, const std::string& compression,
                                                       int64_t memory_limit_bytes = 256ll << 20);
  ~ParquetWriter();
  ParquetWriter(const ParquetWriter&) = delete;
  ParquetWriter& operator=(const ParquetWriter&) = delete;

  // One call per column, in order, then EndRow.
  Status Null();
  Status Bool(bool v);
  Status Int(int64_t v);
  Status Double(double v);
  Status String(std::string_view v);    // string, varchar, char, and decimal as its digits
  Status TimestampMicros(int64_t v);    // since the epoch, UTC
  Status Date(int32_t days);            // since the epoch
  Status Json(std::string_view v);      // array, map and struct columns
  Status EndRow();

  size_t rows() const { return rows_; }
  // Writes the rows appended since the last Write to `path` and starts
  // afresh; on failure too, the rows are dropped.
  Status Write(const std::string& path);
  // Drops the rows appended since the last Write (after a failed append, say).
  Status Discard();

 private:
  struct Handles;
  ParquetWriter() = default;
  Status Check(int state);
  Status Reset();
  Status WriteRows(const std::string& path);

  std::unique_ptr<Handles> h_;
  std::vector<Column> columns_;
  std::vector<std::string> duck_types_;
  std::vector<bool> nested_;
  std::string compression_;
  size_t rows_ = 0;
};

}  // namespace eventlake::query
