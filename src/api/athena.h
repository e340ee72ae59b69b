// The Athena API (JSON 1.1, target prefix AmazonAthena): query executions on
// the query room's executor, and the catalog browsing BI tools use (data
// catalogs, databases, table metadata, work groups). The one work group is
// "primary"; its result location is set when the server starts.
#pragma once

#include <string>

#include "api/json_service.h"
#include "catalog/catalog.h"
#include "query/executor.h"

namespace eventlake::api {

class AthenaApi {
 public:
  // Both must outlive the API. `default_output` is the primary work group's
  // result location ("s3://bucket/prefix/").
  AthenaApi(query::QueryExecutor& executor, catalog::Catalog& catalog, std::string default_output,
            int64_t created_ms)
      : executor_(executor), catalog_(catalog), default_output_(std::move(default_output)), created_ms_(created_ms) {}

  JsonService Service();

 private:
  query::QueryExecutor& executor_;
  catalog::Catalog& catalog_;
  const std::string default_output_;
  const int64_t created_ms_;
};

}  // namespace eventlake::api
