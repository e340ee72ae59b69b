#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include "common/test_dir.h"

namespace eventlake::catalog {
namespace {

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    meta_ = std::move(*meta::OpenSqliteStore(FreshTestDir() + "/meta.db"));
    ASSERT_TRUE(meta_->Migrate(Catalog::Migrations()).ok());
    catalog_ = std::make_unique<Catalog>(*meta_, clock_);
  }
  Table Events() {
    Table t;
    t.name = "Events";
    t.table_type = "EXTERNAL_TABLE";
    StorageDescriptor sd;
    sd.columns = {{"id", "bigint", "", {}}, {"body", "struct<a:int,b:array<string>>", "", {}}};
    sd.location = "s3://raw/events/";
    sd.serde = SerDeInfo{"", "org.openx.data.jsonserde.JsonSerDe", {}};
    t.storage = sd;
    t.partition_keys = {{"year", "string", "", {}}, {"month", "string", "", {}}};
    t.parameters = {{"classification", "json"}};
    return t;
  }
  Partition Part(std::string year, std::string month) {
    Partition p;
    p.values = {std::move(year), std::move(month)};
    return p;
  }
  ManualClock clock_{Clock::TimePoint(std::chrono::seconds(1'700'000'000))};
  std::unique_ptr<meta::Store> meta_;
  std::unique_ptr<Catalog> catalog_;
};

TEST_F(CatalogTest, DatabasesAreNamedInLowerCaseAndHoldTheirTables) {
  Database db;
  db.name = "Lake";
  db.description = "the lake";
  ASSERT_TRUE(catalog_->CreateDatabase(db).ok());
  EXPECT_EQ(catalog_->CreateDatabase(db).type(), "AlreadyExistsException");
  EXPECT_EQ(catalog_->GetDatabase("LAKE")->description, "the lake");
  EXPECT_EQ(catalog_->GetDatabase("nope").status().type(), "EntityNotFoundException");
  ASSERT_TRUE(catalog_->CreateTable("lake", Events()).ok());
  EXPECT_EQ(catalog_->CreateTable("lake", Events()).type(), "AlreadyExistsException");
  EXPECT_EQ(catalog_->CreateTable("other", Events()).type(), "EntityNotFoundException");
  auto t = catalog_->GetTable("lake", "EVENTS");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->name, "events");
  EXPECT_EQ(t->version_id, "0");
  EXPECT_EQ(t->storage->columns[1].type, "struct<a:int,b:array<string>>");
  ASSERT_TRUE(catalog_->DeleteDatabase("lake").ok());
  ASSERT_TRUE(catalog_->CreateDatabase(db).ok());
  EXPECT_EQ(catalog_->GetTable("lake", "events").status().type(), "EntityNotFoundException");
}

TEST_F(CatalogTest, ListingsPageAndFilterByPattern) {
  Database db;
  db.name = "lake";
  ASSERT_TRUE(catalog_->CreateDatabase(db).ok());
  for (int i = 0; i < 25; ++i) {
    Table t = Events();
    t.name = (i % 2 ? "odd_" : "even_") + std::to_string(100 + i);
    ASSERT_TRUE(catalog_->CreateTable("lake", t).ok());
  }
  std::vector<std::string> names;
  std::string token;
  do {
    auto page = catalog_->ListTables("lake", "", token, 10);
    ASSERT_TRUE(page.ok());
    for (const auto& t : page->items) names.push_back(t.name);
    token = page->next_token;
  } while (!token.empty());
  EXPECT_EQ(names.size(), 25u);
  EXPECT_EQ(catalog_->ListTables("lake", "odd_.*", "", 100)->items.size(), 12u);
  EXPECT_EQ(catalog_->ListTables("lake", "(", "", 100).status().type(), "InvalidInputException");
}

TEST_F(CatalogTest, EveryChangeKeepsTheVersionBefore) {
  Database db;
  db.name = "lake";
  ASSERT_TRUE(catalog_->CreateDatabase(db).ok());
  ASSERT_TRUE(catalog_->CreateTable("lake", Events()).ok());
  Table wider = Events();
  wider.storage->columns.push_back({"source", "string", "", {}});
  clock_.Advance(std::chrono::seconds(60));
  auto v1 = catalog_->UpdateTable("lake", wider, false, "");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->version_id, "1");
  EXPECT_EQ(catalog_->UpdateTable("lake", wider, false, "0").status().type(), "ConcurrentModificationException");
  auto versions = catalog_->ListTableVersions("lake", "events", "", 100);
  ASSERT_EQ(versions->items.size(), 2u);
  EXPECT_EQ(versions->items[0].version_id, "1");  // newest first
  EXPECT_EQ(versions->items[0].table.storage->columns.size(), 3u);
  EXPECT_EQ(versions->items[1].table.storage->columns.size(), 2u);
  EXPECT_EQ(catalog_->GetTableVersion("lake", "events", "0")->table.storage->columns.size(), 2u);
  // Skipping the archive replaces the current version instead.
  ASSERT_TRUE(catalog_->UpdateTable("lake", Events(), true, "").ok());
  versions = catalog_->ListTableVersions("lake", "events", "", 100);
  ASSERT_EQ(versions->items.size(), 2u);
  EXPECT_EQ(versions->items[0].version_id, "2");
  EXPECT_EQ(versions->items[1].version_id, "0");
  EXPECT_EQ(catalog_->DeleteTableVersion("lake", "events", "2").type(), "InvalidInputException");
  ASSERT_TRUE(catalog_->DeleteTableVersion("lake", "events", "0").ok());
  EXPECT_EQ(catalog_->GetTableVersion("lake", "events", "0").status().type(), "EntityNotFoundException");
}

TEST_F(CatalogTest, PartitionsAreFilteredPagedAndSegmented) {
  Database db;
  db.name = "lake";
  ASSERT_TRUE(catalog_->CreateDatabase(db).ok());
  ASSERT_TRUE(catalog_->CreateTable("lake", Events()).ok());
  std::vector<Partition> parts;
  for (int y = 2020; y < 2025; ++y) {
    for (int m = 1; m <= 12; ++m) parts.push_back(Part(std::to_string(y), (m < 10 ? "0" : "") + std::to_string(m)));
  }
  parts.push_back(Part("2024", "01"));  // a duplicate
  parts.push_back(Part("2024", "01"));
  parts.back().values.push_back("extra");  // the wrong number of values
  auto errors = catalog_->CreatePartitions("lake", "events", parts);
  ASSERT_TRUE(errors.ok());
  ASSERT_EQ(errors->size(), 2u);
  EXPECT_EQ((*errors)[0].status.type(), "AlreadyExistsException");
  EXPECT_EQ((*errors)[1].status.type(), "InvalidInputException");

  auto page = catalog_->ListPartitions("lake", "events", "year = '2024' AND month >= '06'", {}, "", 1000);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items.size(), 7u);
  size_t total = 0;
  std::string token;
  do {
    auto p = catalog_->ListPartitions("lake", "events", "", {}, token, 7);
    total += p->items.size();
    token = p->next_token;
  } while (!token.empty());
  EXPECT_EQ(total, 60u);
  size_t segmented = 0;
  for (int s = 0; s < 3; ++s) segmented += catalog_->ListPartitions("lake", "events", "", {s, 3}, "", 1000)->items.size();
  EXPECT_EQ(segmented, 60u);
  EXPECT_EQ(catalog_->ListPartitions("lake", "events", "nokey = 1", {}, "", 10).status().type(),
            "InvalidInputException");

  EXPECT_TRUE(catalog_->GetPartition("lake", "events", {"2021", "03"}).ok());
  Partition moved = Part("2030", "01");
  ASSERT_TRUE(catalog_->UpdatePartition("lake", "events", {"2021", "03"}, moved).ok());
  EXPECT_EQ(catalog_->GetPartition("lake", "events", {"2021", "03"}).status().type(), "EntityNotFoundException");
  EXPECT_TRUE(catalog_->GetPartition("lake", "events", {"2030", "01"}).ok());
  ASSERT_TRUE(catalog_->DeletePartition("lake", "events", {"2030", "01"}).ok());
  EXPECT_EQ(catalog_->DeletePartition("lake", "events", {"2030", "01"}).type(), "EntityNotFoundException");
  ASSERT_TRUE(catalog_->DeleteTable("lake", "events").ok());
  ASSERT_TRUE(catalog_->CreateTable("lake", Events()).ok());
  EXPECT_TRUE(catalog_->ListPartitions("lake", "events", "", {}, "", 10)->items.empty());
}

TEST_F(CatalogTest, TheGlueShapeRoundTrips) {
  Table t = Events();
  t.storage->skewed_info = {{"SkewedColumnNames", {"id"}}};
  t.retention = 7;
  auto back = TableFromJson(ToJson(t));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(ToJson(*back), ToJson(t));
  nlohmann::json bad = {{"Name", "x"}, {"StorageDescriptor", {{"Columns", "not a list"}}}};
  EXPECT_EQ(TableFromJson(bad).status().type(), "InvalidInputException");
}

}  // namespace
}  // namespace eventlake::catalog
