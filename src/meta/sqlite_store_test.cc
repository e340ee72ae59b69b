#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/test_dir.h"
#include "meta/store.h"

namespace eventlake::meta {
namespace {

const std::vector<Migration> kMigrations = {
    {1, "test: kv", "CREATE TABLE kv(k TEXT PRIMARY KEY, v TEXT NOT NULL);"},
    {2, "test: kv index", "CREATE INDEX kv_v ON kv(v);"},
};

TEST(SqliteStoreTest, MigrationsApplyOnceAndInOrder) {
  std::string path = FreshTestDir() + "/meta.db";
  {
    auto store = OpenSqliteStore(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ(*(*store)->SchemaVersion(), 0);
    ASSERT_TRUE((*store)->Migrate({kMigrations[0]}).ok());
    EXPECT_EQ(*(*store)->SchemaVersion(), 1);
  }
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Migrate(kMigrations).ok());
  ASSERT_TRUE((*store)->Migrate(kMigrations).ok());  // idempotent
  EXPECT_EQ(*(*store)->SchemaVersion(), 2);
  auto mode = (*store)->Query("PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok());
  EXPECT_EQ(AsText(mode->at(0).at(0)), "wal");
}

TEST(SqliteStoreTest, MigrationWithALowerVersionAddedLaterIsApplied) {
  auto store = OpenSqliteStore(FreshTestDir() + "/meta.db");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Migrate({kMigrations[0], {300, "test: other", "CREATE TABLE other(x);"}}).ok());
  ASSERT_TRUE((*store)->Migrate({{200, "test: middle", "CREATE TABLE middle(x);"}}).ok());
  auto rows = (*store)->Query("SELECT name FROM sqlite_master WHERE name = 'middle'");
  EXPECT_EQ(rows->size(), 1u);
}

TEST(SqliteStoreTest, RenamedMigrationIsRefused) {
  auto store = OpenSqliteStore(FreshTestDir() + "/meta.db");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Migrate(kMigrations).ok());
  Status s = (*store)->Migrate({{1, "test: something else", "SELECT 1;"}});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
}

TEST(SqliteStoreTest, FailedTransactionRollsBack) {
  auto store = OpenSqliteStore(FreshTestDir() + "/meta.db");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Migrate(kMigrations).ok());
  Status s = (*store)->RunInTransaction([](Transaction& txn) -> Status {
    EL_RETURN_IF_ERROR(txn.Execute("INSERT INTO kv VALUES (?, ?)", {std::string("a"), std::string("1")}).status());
    return Status::Cancelled("changed my mind");
  });
  EXPECT_EQ(s.code(), StatusCode::kCancelled);
  auto rows = (*store)->Query("SELECT COUNT(*) FROM kv");
  EXPECT_EQ(AsInt(rows->at(0).at(0)), 0);

  ASSERT_TRUE((*store)->RunInTransaction([](Transaction& txn) -> Status {
    return txn.Execute("INSERT INTO kv VALUES (?, ?)", {std::string("a"), std::string("1")}).status();
  }).ok());
  Status dup = (*store)->RunInTransaction([](Transaction& txn) -> Status {
    return txn.Execute("INSERT INTO kv VALUES (?, ?)", {std::string("a"), std::string("2")}).status();
  });
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  rows = (*store)->Query("SELECT v FROM kv WHERE k = ?", {std::string("a")});
  EXPECT_EQ(AsText(rows->at(0).at(0)), "1");
}

}  // namespace
}  // namespace eventlake::meta
