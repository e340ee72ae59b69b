// Untrusted Glue request bodies: each catalog action through the front door
// (decoding, validation, the catalog itself), and the partition predicate
// language (GetPartitions Expression) on its own.
#include <cstdint>
#include <cstdlib>
#include <future>
#include <string>

#include "api/glue.h"
#include "catalog/catalog.h"
#include "catalog/partition_filter.h"
#include "fuzz_world.h"

namespace {

using namespace eventlake;

constexpr const char* kOperations[] = {
    "CreateDatabase", "GetDatabase",      "GetDatabases",       "UpdateDatabase",          "DeleteDatabase",
    "CreateTable",    "GetTable",         "GetTables",          "UpdateTable",             "DeleteTable",
    "BatchDeleteTable", "GetTableVersions", "GetTableVersion",  "DeleteTableVersion",      "BatchDeleteTableVersion",
    "CreatePartition", "BatchCreatePartition", "GetPartition",  "GetPartitions",           "BatchGetPartition",
    "UpdatePartition", "DeletePartition",  "BatchDeletePartition"};

struct World : fuzz::FrontDoorWorld {
  World()
      : FrontDoorWorld("glue", catalog::Catalog::Migrations(), Clock::TimePoint(std::chrono::seconds(1'700'000'000)),
                       false),
        catalog(*store, clock),
        glue(catalog) {
    door->AddJsonService(glue.Service());
    door->SetReady({"fuzz"});
    // Something to find: a database, a partitioned table, a few partitions.
    catalog::Database db;
    db.name = "lake";
    (void)catalog.CreateDatabase(db);
    catalog::Table t;
    t.name = "events";
    t.partition_keys = keys;
    (void)catalog.CreateTable("lake", t);
    for (const char* month : {"01", "02", "03"}) {
      catalog::Partition p;
      p.values = {"2024", month};
      (void)catalog.CreatePartition("lake", "events", p);
    }
  }
  std::vector<catalog::Column> keys = {{"year", "int", "", {}}, {"month", "string", "", {}}};
  catalog::Catalog catalog;
  api::GlueApi glue;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();
  if (size == 0) return 0;
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto filter = catalog::PartitionFilter::Parse(body, world->keys);
  if (filter.ok()) {
    (void)filter->Matches({"2024", "06"});
    (void)filter->Matches({});
  }

  HttpRequest req;
  req.method = "POST";
  req.target = "/";
  req.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                 {"X-Amz-Target", std::string("AWSGlue.") + kOperations[data[0] % std::size(kOperations)]}};
  req.body = std::move(body);
  std::promise<int> answered;
  world->door->Handle(std::move(req), [&](HttpResponse&& r) { answered.set_value(r.status); });
  const int status = answered.get_future().get();  // every request is answered
  if (status < 200 || status >= 500) std::abort();   // bad input is the caller's error, never ours
  return 0;
}
