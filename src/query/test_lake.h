// For the query room's tests: a lake on disk (control-plane store, object
// store with the zones "raw" and "processed", catalog with a database "lake").
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "catalog/catalog.h"
#include "common/test_dir.h"
#include "io/file_system.h"
#include "objects/object_store.h"
#include "query/executor.h"

namespace eventlake::query {

class LakeWorld {
 public:
  LakeWorld() : dir(FreshTestDir()) {
    meta = std::move(*meta::OpenSqliteStore(dir + "/meta.db"));
    auto migrations = objects::ObjectStore::Migrations();
    for (auto& m : catalog::Catalog::Migrations()) migrations.push_back(m);
    for (auto& m : QueryExecutor::Migrations()) migrations.push_back(m);
    EXPECT_TRUE(meta->Migrate(migrations).ok());
    objects::ObjectStoreOptions o;
    o.data_dir = dir;
    o.zones = {"raw", "processed"};
    o.lifecycle_interval = std::chrono::milliseconds(0);
    objects = std::move(*objects::ObjectStore::Open(*meta, fs, clock, o));
    catalog = std::make_unique<catalog::Catalog>(*meta, clock);
    catalog::Database db;
    db.name = "lake";
    EXPECT_TRUE(catalog->CreateDatabase(db).ok());
  }
  // Writes an object into "raw".
  void Put(const std::string& key, const std::string& data) {
    auto blob = objects->NewBlob();
    ASSERT_TRUE((*blob)->Write(data).ok());
    ASSERT_TRUE(objects->PutObject("raw", key, std::move(*blob), "\"x\"", {}, {}).ok());
  }

  std::string dir;
  io::FileSystem& fs = io::PosixFileSystem();
  ManualClock clock{Clock::TimePoint(std::chrono::seconds(1'700'000'000))};
  std::unique_ptr<meta::Store> meta;
  std::unique_ptr<objects::ObjectStore> objects;
  std::unique_ptr<catalog::Catalog> catalog;
};

}  // namespace eventlake::query
