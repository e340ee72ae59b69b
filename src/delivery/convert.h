// Record format conversion: JSON records into rows of a catalog table's
// schema, with the OpenX JSON SerDe's rules (or the Hive JSON SerDe's), and
// the rows into Parquet files.
//
// OpenX rules kept here: keys match columns case-insensitively (CaseInsensitive,
// on by default) and, with ConvertDotsInJsonKeysToUnderscores, `a.b` matches
// column `a_b`; ColumnToJsonKeyMappings names the key of a column; missing
// keys are NULL and extra keys are ignored; numbers and booleans may come as
// strings; a string column takes any scalar as its text and an object or
// array as its JSON; timestamps are accepted as `yyyy-MM-dd'T'HH:mm:ss[.S]'Z'`,
// `yyyy-[M]M-[d]d HH:mm:ss[.S]` (with an optional zone offset), epoch seconds,
// epoch milliseconds and fractional epoch seconds. One record may hold
// several concatenated JSON objects: each becomes a row.
//
// Thread-safety: one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "common/status.h"
#include "delivery/config.h"
#include "query/parquet_writer.h"

namespace eventlake::delivery {

class RecordConverter {
 public:
  // The columns are the table's (not its partition keys). InvalidArgument for
  // a table without columns or with a type this server cannot write.
  static Result<std::unique_ptr<RecordConverter>> Create(const catalog::Table& table, const ConversionSpec& spec);
  ~RecordConverter();

  // Whether every object in the record converts; InvalidArgument with the
  // reason (naming the column) when one does not.
  Status Check(std::string_view record);
  // Converts and appends the record's rows (after a successful Check).
  Status Append(std::string_view record);
  size_t rows() const;
  // Writes the rows appended since the last call as a Parquet file (and
  // drops them, whether it could or not).
  Status WriteFile(const std::string& path);
  // Drops the rows appended since the last WriteFile.
  Status Discard();

  // The table version this converter follows.
  const std::string& table_version() const { return table_version_; }

  struct Type;
  struct Cell;

 private:
  RecordConverter() = default;
  Status Convert(std::string_view record, bool append);

  struct State;
  std::unique_ptr<State> state_;
  std::string table_version_;
};

// Parses a timestamp as the OpenX SerDe accepts it: microseconds since the epoch (UTC).
Result<int64_t> ParseOpenXTimestamp(std::string_view text);
// Parses a timestamp with a Joda-Time pattern, as HiveJsonSerDe's TimestampFormats give them.
Result<int64_t> ParseJodaTimestamp(std::string_view text, std::string_view pattern);

}  // namespace eventlake::delivery
