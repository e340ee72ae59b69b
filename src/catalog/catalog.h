// The catalog: databases, tables with their schema history, and partitions,
// as the Glue Data Catalog models them, kept in the control-plane store.
// Crawlers (which discover all of it from the files in the lake) and the query
// room build on it.
//
// Names of databases and tables are stored in lower case, as Glue does. Every
// change to a table's definition keeps the previous one as a numbered version
// (unless the caller asks to skip it), so a schema's history stays visible.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/status.h"
#include "meta/store.h"

namespace eventlake::catalog {

using Parameters = std::map<std::string, std::string>;

struct Column {
  std::string name;
  std::string type;  // a Hive type string: "string", "bigint", "struct<a:int,b:array<string>>"
  std::string comment;
  Parameters parameters;
};

struct SerDeInfo {
  std::string name;
  std::string serialization_library;  // "org.openx.data.jsonserde.JsonSerDe"
  Parameters parameters;
};

struct SortColumn {
  std::string column;
  int sort_order = 1;  // 1 ascending, 0 descending
};

struct StorageDescriptor {
  std::vector<Column> columns;
  std::string location;  // "s3://bucket/prefix/"
  std::vector<std::string> additional_locations;
  std::string input_format, output_format;
  std::optional<bool> compressed;
  std::optional<int64_t> number_of_buckets;
  std::optional<SerDeInfo> serde;
  std::vector<std::string> bucket_columns;
  std::vector<SortColumn> sort_columns;
  Parameters parameters;
  std::optional<bool> stored_as_sub_directories;
  // Kept as given and returned as given; nothing here interprets them.
  nlohmann::json skewed_info, schema_reference;
};

struct Database {
  std::string name;
  std::string description;
  std::string location_uri;
  Parameters parameters;
  int64_t create_time_ms = 0;
  nlohmann::json create_table_default_permissions, target_database, federated_database;  // kept as given
};

struct Table {
  std::string database, name;
  std::string description, owner, created_by;
  int64_t create_time_ms = 0, update_time_ms = 0, last_access_time_ms = 0, last_analyzed_time_ms = 0;
  std::optional<int64_t> retention;
  std::optional<StorageDescriptor> storage;
  std::vector<Column> partition_keys;
  std::string view_original_text, view_expanded_text;
  std::string table_type;  // "EXTERNAL_TABLE", "VIRTUAL_VIEW", ...
  Parameters parameters;
  std::string version_id;  // "0", "1", ...: set by the catalog
  nlohmann::json target_table, view_definition;  // kept as given
};

struct Partition {
  std::string database, table;
  std::vector<std::string> values;  // in the order of the table's partition keys
  int64_t creation_time_ms = 0, last_access_time_ms = 0, last_analyzed_time_ms = 0;
  std::optional<StorageDescriptor> storage;
  Parameters parameters;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_token;  // empty on the last page
};

struct TableVersion {
  Table table;
  std::string version_id;
};

// Which share of the partitions a GetPartitions call reads (Glue's Segment).
struct Segment {
  int number = 0;
  int total = 1;
};

// A failure of one item of a batch.
struct ItemError {
  std::vector<std::string> values;
  Status status;
};

class Catalog {
 public:
  // The control-plane tables this room owns (versions 400-499).
  static std::vector<meta::Migration> Migrations();

  // `meta` and `clock` must outlive the catalog.
  Catalog(meta::Store& meta, const Clock& clock) : meta_(meta), clock_(clock) {}

  Status CreateDatabase(Database db);
  Result<Database> GetDatabase(const std::string& name) const;
  Result<Page<Database>> ListDatabases(const std::string& token, int max) const;
  // Replaces the definition (the name stays; Glue does not rename databases).
  Status UpdateDatabase(const std::string& name, Database db);
  // With its tables, their versions and partitions.
  Status DeleteDatabase(const std::string& name);

  Status CreateTable(const std::string& database, Table table);
  Result<Table> GetTable(const std::string& database, const std::string& name) const;
  // Tables whose names match `pattern` (a regular expression over the whole
  // name; empty: all), in name order.
  Result<Page<Table>> ListTables(const std::string& database, const std::string& pattern, const std::string& token,
                                 int max) const;
  // A new version of the table. `expected_version`, when not empty, must be
  // the current one (ConcurrentModification otherwise). With `skip_archive`
  // the version replaced is not kept.
  Result<Table> UpdateTable(const std::string& database, Table table, bool skip_archive,
                            const std::string& expected_version);
  Status DeleteTable(const std::string& database, const std::string& name);
  // Newest first; the current definition is the first.
  Result<Page<TableVersion>> ListTableVersions(const std::string& database, const std::string& name,
                                               const std::string& token, int max) const;
  // `version` empty: the current one.
  Result<TableVersion> GetTableVersion(const std::string& database, const std::string& name,
                                       const std::string& version) const;
  // The current version cannot be deleted.
  Status DeleteTableVersion(const std::string& database, const std::string& name, const std::string& version);

  Status CreatePartition(const std::string& database, const std::string& table, Partition p);
  // Creates what it can; the rest come back with the reason.
  Result<std::vector<ItemError>> CreatePartitions(const std::string& database, const std::string& table,
                                                  std::vector<Partition> partitions);
  Result<Partition> GetPartition(const std::string& database, const std::string& table,
                                 const std::vector<std::string>& values) const;
  // Partitions matching `expression` (Glue's predicate language over the
  // partition keys; empty: all), in the order of their values.
  Result<Page<Partition>> ListPartitions(const std::string& database, const std::string& table,
                                         const std::string& expression, const Segment& segment,
                                         const std::string& token, int max) const;
  // Replaces a partition (its values may change).
  Status UpdatePartition(const std::string& database, const std::string& table, const std::vector<std::string>& values,
                         Partition p);
  Status DeletePartition(const std::string& database, const std::string& table, const std::vector<std::string>& values);

 private:
  int64_t NowMs() const;
  meta::Store& meta_;
  const Clock& clock_;
};

// The Glue JSON shape of each (also how the catalog stores them). Timestamps
// are epoch seconds, as the Glue API sends them.
nlohmann::json ToJson(const Column& c);
nlohmann::json ToJson(const StorageDescriptor& sd);
nlohmann::json ToJson(const Database& db);
nlohmann::json ToJson(const Table& t);
nlohmann::json ToJson(const Partition& p);
// From the same shape. Members of the wrong type are InvalidArgument; unknown members are ignored.
Result<Column> ColumnFromJson(const nlohmann::json& j);
Result<StorageDescriptor> StorageFromJson(const nlohmann::json& j);
Result<Database> DatabaseFromJson(const nlohmann::json& j);
Result<Table> TableFromJson(const nlohmann::json& j);
Result<Partition> PartitionFromJson(const nlohmann::json& j);

}  // namespace eventlake::catalog
