// Crawlers: they walk folders of the lake, infer each file's format and
// schema, decide which folders form one table and which folder levels are its
// partitions (key=value folders name their key; others are partition_0, ...),
// and create or evolve the tables and partitions in the catalog as their
// SchemaChangePolicy and configuration say. A crawl runs on the crawler's own
// thread, started by StartCrawler or by its cron schedule on the injected clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/status.h"
#include "meta/store.h"
#include "objects/object_store.h"

namespace eventlake::catalog {

// What a crawler learns from a sample of files: their format and the columns
// they hold (Hive types).
struct FileSchema {
  std::string format;       // "json", "parquet" or "csv"
  std::string compression;  // "", "gzip" or "zstd"
  std::vector<Column> columns;
  std::string delimiter;  // csv
  bool header = false;    // csv: the first line names the columns
};

// One file as the inspector gets it: its bytes on local disk and its key (whose
// extension may tell the format and compression).
struct SampleFile {
  std::string path;
  std::string key;
};

// Reads files to learn their schema. The query room implements it with DuckDB.
class FileInspector {
 public:
  virtual ~FileInspector() = default;
  // The schema of files of one format and compression, merged (columns by
  // name, in first-seen order). InvalidArgument when they cannot be read.
  virtual Result<FileSchema> Inspect(const std::vector<SampleFile>& files) = 0;
};

struct CrawlReport {
  int tables_created = 0, tables_updated = 0, tables_deleted = 0;
  int partitions_added = 0, partitions_deleted = 0;
  int files_seen = 0;
  std::vector<std::string> messages;  // what it did, one line each
};

// A crawler's definition, as the Glue API describes it (kept as given).
struct CrawlerDefinition {
  std::string name;
  std::string role;
  std::string database;
  std::string description;
  std::string table_prefix;
  std::string schedule;  // "cron(15 12 * * ? *)" or empty
  nlohmann::json targets = nlohmann::json::object();          // Targets
  nlohmann::json schema_change_policy = nlohmann::json::object();
  nlohmann::json recrawl_policy = nlohmann::json::object();
  nlohmann::json lineage_configuration, lake_formation_configuration, classifiers = nlohmann::json::array();
  std::string configuration;  // the JSON string of Configuration
  std::map<std::string, std::string> tags;
};

struct CrawlerState {
  CrawlerDefinition definition;
  std::string state = "READY";  // READY, RUNNING, STOPPING
  int64_t created_ms = 0, updated_ms = 0;
  int64_t version = 1;
  // The last crawl.
  std::string last_status;  // SUCCEEDED, CANCELLED, FAILED (empty: never ran)
  std::string last_error;
  int64_t last_start_ms = 0, last_runtime_ms = 0;
  CrawlReport last_report;
  std::vector<int64_t> runtimes_ms;  // of the crawls so far (the latest 20)
  int64_t crawl_elapsed_ms = 0;      // of the running one
};

// Parses an AWS cron expression "cron(m h dom mon dow year)": InvalidArgument
// when it is not one. Next() gives the first minute strictly after `after`.
class CronSchedule {
 public:
  static Result<CronSchedule> Parse(const std::string& expression);
  std::optional<int64_t> NextMs(int64_t after_ms) const;

 private:
  std::vector<bool> minutes_, hours_, days_, months_, weekdays_, years_;  // allowed values by index
  bool any_day_ = true, any_weekday_ = true;
};

class CrawlerService {
 public:
  // The control-plane tables this part owns (versions 410-419).
  static std::vector<meta::Migration> Migrations();

  // Everything must outlive the service.
  CrawlerService(meta::Store& meta, Catalog& catalog, objects::ObjectStore& objects, FileInspector& inspector,
                 const Clock& clock);
  ~CrawlerService();
  // Marks crawls a stop interrupted, and starts the scheduler.
  Status Start(std::chrono::milliseconds tick = std::chrono::seconds(30));
  void Stop();

  Status Create(CrawlerDefinition def);
  Result<CrawlerState> Get(const std::string& name) const;
  Result<Page<CrawlerState>> List(const std::string& token, int max) const;
  Status Update(CrawlerDefinition def);  // the fields the caller gave replace the old ones
  Status Delete(const std::string& name);
  // CrawlerRunningException when it runs already.
  Status StartCrawl(const std::string& name);
  // CrawlerNotRunningException when it does not run.
  Status StopCrawl(const std::string& name);
  // Runs one crawl on the caller's thread (what StartCrawl does on the crawler's).
  Result<CrawlReport> CrawlNow(const std::string& name);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eventlake::catalog
