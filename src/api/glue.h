// The Glue Data Catalog API (JSON 1.1, target prefix AWSGlue): databases,
// tables and their versions, partitions. Decodes and validates each action,
// calls the catalog room on the API's own threads (each call commits to the
// control-plane store), and encodes the answers as the AWS SDKs expect them.
#pragma once

#include "api/json_service.h"
#include "catalog/catalog.h"
#include "catalog/crawler.h"
#include "common/thread_pool.h"

namespace eventlake::api {

class GlueApi {
 public:
  // `catalog` must outlive the API.
  // `crawlers` may be null (no crawler actions).
  explicit GlueApi(catalog::Catalog& catalog, catalog::CrawlerService* crawlers = nullptr)
      : catalog_(catalog), crawlers_(crawlers), pool_(2) {}

  // The service table entry with every supported operation.
  JsonService Service();

 private:
  void AddCrawlerOperations(JsonService& svc);
  catalog::Catalog& catalog_;
  catalog::CrawlerService* crawlers_;
  ThreadPool pool_;
};

}  // namespace eventlake::api
