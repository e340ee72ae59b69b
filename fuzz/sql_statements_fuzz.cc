// Untrusted SQL text as Athena receives it, through everything of ours that
// reads it before DuckDB does: the catalog statements (HiveQL DDL, SHOW,
// DESCRIBE, MSCK, ALTER), CREATE TABLE AS, Hive type strings both ways, and
// crawler schedules.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/crawler.h"
#include "io/file_system.h"
#include "meta/store.h"
#include "objects/object_store.h"
#include "query/inspector.h"
#include "query/lake.h"
#include "query/statements.h"

namespace {

using namespace eventlake;

struct World {
  World() : clock(Clock::TimePoint(std::chrono::seconds(1'700'000'000))) {
    dir = std::filesystem::temp_directory_path() / ("el-fuzz-sql-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    meta = std::move(*meta::OpenSqliteStore(dir + "/meta.db"));
    auto migrations = objects::ObjectStore::Migrations();
    for (auto& m : catalog::Catalog::Migrations()) migrations.push_back(m);
    if (!meta->Migrate(migrations).ok()) std::abort();
    objects::ObjectStoreOptions o;
    o.data_dir = dir;
    o.zones = {"raw"};
    o.lifecycle_interval = std::chrono::milliseconds(0);
    objects = std::move(*objects::ObjectStore::Open(*meta, io::PosixFileSystem(), clock, o));
    catalog = std::make_unique<catalog::Catalog>(*meta, clock);
    catalog::Database db;
    db.name = "lake";
    (void)catalog->CreateDatabase(db);
    statements = std::make_unique<query::CatalogStatements>(*catalog, *objects);
  }
  std::string dir;
  ManualClock clock;
  std::unique_ptr<meta::Store> meta;
  std::unique_ptr<objects::ObjectStore> objects;
  std::unique_ptr<catalog::Catalog> catalog;
  std::unique_ptr<query::CatalogStatements> statements;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)world->statements->Handle(text, "lake");
  (void)query::ParseCtas(text, "lake");
  if (auto t = query::DuckDbType(text); t.ok() && t->empty()) std::abort();
  (void)query::HiveType(text);
  if (auto cron = catalog::CronSchedule::Parse(text); cron.ok()) (void)cron->NextMs(1'700'000'000'000);
  return 0;
}
