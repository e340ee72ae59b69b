// The Glue Data Catalog API (JSON 1.1, target prefix AWSGlue): databases,
// tables and their versions, partitions. Decodes and validates each action,
// calls the catalog room on the API's own threads (each call commits to the
// control-plane store), and encodes the answers as the AWS SDKs expect them.
#pragma once

#include "api/json_service.h"
#include "catalog/catalog.h"
#include "common/thread_pool.h"

namespace eventlake::api {

class GlueApi {
 public:
  // `catalog` must outlive the API.
  explicit GlueApi(catalog::Catalog& catalog) : catalog_(catalog), pool_(2) {}

  // The service table entry with every supported operation.
  JsonService Service();

 private:
  catalog::Catalog& catalog_;
  ThreadPool pool_;
};

}  // namespace eventlake::api
