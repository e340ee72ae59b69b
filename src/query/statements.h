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
