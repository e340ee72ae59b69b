// The statements Athena runs against the catalog rather than the data: the
// HiveQL DDL users write (CREATE EXTERNAL TABLE, DROP TABLE, CREATE and DROP
// DATABASE, ALTER TABLE ADD / DROP PARTITION, MSCK REPAIR TABLE) and what they
// use to look around (SHOW TABLES, SHOW DATABASES, SHOW PARTITIONS, SHOW
// COLUMNS, DESCRIBE). Results are text rows, as Athena prints them.
#pragma once

#include "catalog/catalog.h"
#include "objects/object_store.h"
#include "query/executor.h"

namespace eventlake::query {

// CREATE TABLE [IF NOT EXISTS] [db.]name [WITH (format = 'PARQUET' | 'JSON',
// external_location = 's3://...', partitioned_by = ARRAY['col', ...])] AS SELECT ...
struct CtasPlan {
  std::string database, table;
  std::string format = "PARQUET";
  std::string location;  // empty: the executor's default
  std::vector<std::string> partitioned_by;
  std::string select;
  bool if_not_exists = false;
};
// nullopt when the text is not a CREATE TABLE AS; an error when it is one, malformed.
std::optional<Result<CtasPlan>> ParseCtas(const std::string& sql, const std::string& database);

// The catalog's entry for files written as `format` ("PARQUET" or "JSON") at `location`.
catalog::Table ExternalTable(const std::string& name, std::vector<catalog::Column> columns,
                             std::vector<catalog::Column> partition_keys, const std::string& format,
                             const std::string& location);

class CatalogStatements : public StatementHandler {
 public:
  // Both must outlive this.
  CatalogStatements(catalog::Catalog& catalog, objects::ObjectStore& objects) : catalog_(catalog), objects_(objects) {}

  std::optional<Result<StatementResult>> Handle(const std::string& sql, const std::string& database) override;

 private:
  catalog::Catalog& catalog_;
  objects::ObjectStore& objects_;
};

}  // namespace eventlake::query
