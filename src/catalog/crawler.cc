#include "catalog/crawler.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <sstream>
#include <thread>

#include "common/json.h"
#include "common/pattern.h"
#include "common/strings.h"

namespace eventlake::catalog {

using nlohmann::json;

namespace {

Status Invalid(const std::string& m) { return Status::InvalidArgument(m).WithType("InvalidInputException"); }
Status NotFound(const std::string& m) { return Status::NotFound(m).WithType("EntityNotFoundException"); }

int64_t NowMs(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch()).count();
}

// ---- storage of crawlers ----

json DefinitionJson(const CrawlerDefinition& d) {
  return {{"Name", d.name},
          {"Role", d.role},
          {"DatabaseName", d.database},
          {"Description", d.description},
          {"TablePrefix", d.table_prefix},
          {"Schedule", d.schedule},
          {"Targets", d.targets},
          {"SchemaChangePolicy", d.schema_change_policy},
          {"RecrawlPolicy", d.recrawl_policy},
          {"LineageConfiguration", d.lineage_configuration},
          {"LakeFormationConfiguration", d.lake_formation_configuration},
          {"Classifiers", d.classifiers},
          {"Configuration", d.configuration},
          {"Tags", d.tags}};
}

CrawlerDefinition DefinitionFrom(const json& j) {
  CrawlerDefinition d;
  auto str = [&](const char* k) { return JsonString(j, k); };
  d.name = str("Name");
  d.role = str("Role");
  d.database = str("DatabaseName");
  d.description = str("Description");
  d.table_prefix = str("TablePrefix");
  d.schedule = str("Schedule");
  d.configuration = str("Configuration");
  if (j.contains("Targets")) d.targets = j["Targets"];
  if (j.contains("SchemaChangePolicy")) d.schema_change_policy = j["SchemaChangePolicy"];
  if (j.contains("RecrawlPolicy")) d.recrawl_policy = j["RecrawlPolicy"];
  if (j.contains("LineageConfiguration")) d.lineage_configuration = j["LineageConfiguration"];
  if (j.contains("LakeFormationConfiguration")) d.lake_formation_configuration = j["LakeFormationConfiguration"];
  if (j.contains("Classifiers")) d.classifiers = j["Classifiers"];
  if (j.contains("Tags") && j["Tags"].is_object()) {
    for (auto it = j["Tags"].begin(); it != j["Tags"].end(); ++it) {
      if (it.value().is_string()) d.tags[it.key()] = it.value().get<std::string>();
    }
  }
  return d;
}

json StateJson(const CrawlerState& s) {
  const CrawlReport& r = s.last_report;
  return {{"definition", DefinitionJson(s.definition)},
          {"state", s.state},
          {"created", s.created_ms},
          {"updated", s.updated_ms},
          {"version", s.version},
          {"last_status", s.last_status},
          {"last_error", s.last_error},
          {"last_start", s.last_start_ms},
          {"last_runtime", s.last_runtime_ms},
          {"report",
           {r.tables_created, r.tables_updated, r.tables_deleted, r.partitions_added, r.partitions_deleted, r.files_seen}},
          {"messages", r.messages},
          {"runtimes", s.runtimes_ms}};
}

CrawlerState StateFrom(const json& j) {
  CrawlerState s;
  s.definition = DefinitionFrom(j.value("definition", json::object()));
  s.state = j.value("state", std::string("READY"));
  s.created_ms = j.value("created", int64_t{0});
  s.updated_ms = j.value("updated", int64_t{0});
  s.version = j.value("version", int64_t{1});
  s.last_status = j.value("last_status", std::string());
  s.last_error = j.value("last_error", std::string());
  s.last_start_ms = j.value("last_start", int64_t{0});
  s.last_runtime_ms = j.value("last_runtime", int64_t{0});
  if (j.contains("report") && j["report"].is_array() && j["report"].size() == 6) {
    const json& r = j["report"];
    s.last_report = {r[0].get<int>(), r[1].get<int>(), r[2].get<int>(), r[3].get<int>(), r[4].get<int>(), r[5].get<int>(),
                     {}};
  }
  if (j.contains("messages") && j["messages"].is_array()) {
    for (const auto& m : j["messages"]) s.last_report.messages.push_back(m.get<std::string>());
  }
  if (j.contains("runtimes") && j["runtimes"].is_array()) {
    for (const auto& m : j["runtimes"]) s.runtimes_ms.push_back(m.get<int64_t>());
  }
  return s;
}

// ---- cron ----

Result<std::vector<bool>> CronField(std::string field, int lo, int hi, const std::map<std::string, int>& names) {
  std::vector<bool> allowed(hi + 1, false);
  for (auto& c : field) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto number = [&](const std::string& s) -> Result<int> {
    if (auto it = names.find(s); it != names.end()) return it->second;
    if (s.empty() || s.size() > 4 || !std::all_of(s.begin(), s.end(), ::isdigit)) {
      return Invalid("Invalid schedule: '" + s + "' is not a value");
    }
    int v = std::stoi(s);
    if (v < lo || v > hi) return Invalid("Invalid schedule: " + s + " is out of range");
    return v;
  };
  for (auto part : Split(field, ',')) {
    std::string item(part);
    int step = 1;
    if (size_t slash = item.find('/'); slash != std::string::npos) {
      EL_ASSIGN_OR_RETURN(step, number(item.substr(slash + 1)));
      if (step <= 0) return Invalid("Invalid schedule: a step must be positive");
      item = item.substr(0, slash);
    }
    int from = lo, to = hi;
    if (item != "*" && item != "?") {
      if (size_t dash = item.find('-'); dash != std::string::npos) {
        EL_ASSIGN_OR_RETURN(from, number(item.substr(0, dash)));
        EL_ASSIGN_OR_RETURN(to, number(item.substr(dash + 1)));
      } else {
        EL_ASSIGN_OR_RETURN(from, number(item));
        to = step > 1 ? hi : from;
      }
    }
    for (int v = from; v <= to; v += step) allowed[v] = true;
  }
  return allowed;
}

// ---- crawling ----

// A file's format and compression from its name; empty format when the name does not tell.
std::pair<std::string, std::string> FormatFromKey(const std::string& key) {
  std::string name = AsciiLower(key.substr(key.rfind('/') + 1));
  std::string compression;
  auto strip = [&](const std::string& ext) {
    if (name.size() > ext.size() && name.substr(name.size() - ext.size()) == ext) {
      name.resize(name.size() - ext.size());
      return true;
    }
    return false;
  };
  if (strip(".gz") || strip(".gzip")) compression = "gzip";
  else if (strip(".zst") || strip(".zstd")) compression = "zstd";
  if (strip(".parquet") || strip(".parq")) return {"parquet", ""};
  if (strip(".json") || strip(".jsonl") || strip(".ndjson")) return {"json", compression};
  if (strip(".csv") || strip(".tsv") || strip(".txt")) return {"csv", compression};
  return {"", compression};
}

std::string TableNameOf(const std::string& segment, const std::string& prefix) {
  std::string out;
  for (char c : AsciiLower(segment)) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return prefix + out;
}

bool IsNumeric(const std::string& t) { return t == "int" || t == "bigint" || t == "double" || t == "float"; }

// The type both files' columns fit in.
std::string WiderType(const std::string& a, const std::string& b) {
  if (a == b) return a;
  if (IsNumeric(a) && IsNumeric(b)) {
    if (a == "double" || b == "double" || a == "float" || b == "float") return "double";
    return "bigint";
  }
  return "string";
}

// Columns of `more` merged into `into`, by name, widening types.
void MergeColumns(std::vector<Column>& into, const std::vector<Column>& more) {
  for (const auto& c : more) {
    auto it = std::find_if(into.begin(), into.end(), [&](const Column& x) { return EqualsIgnoreCase(x.name, c.name); });
    if (it == into.end()) {
      into.push_back(c);
    } else {
      it->type = WiderType(it->type, c.type);
    }
  }
}

// Whether two schemas describe the same kind of data: most of the smaller one's columns are in the other.
bool Similar(const std::vector<Column>& a, const std::vector<Column>& b) {
  if (a.empty() || b.empty()) return true;
  size_t common = 0;
  for (const auto& c : a) {
    if (std::any_of(b.begin(), b.end(), [&](const Column& x) { return EqualsIgnoreCase(x.name, c.name); })) ++common;
  }
  return common * 10 >= std::min(a.size(), b.size()) * 7;
}

struct Leaf {
  std::vector<std::string> dirs;  // folders below the include path
  std::vector<const objects::ObjectVersion*> files;
  FileSchema schema;
  bool readable = false;
};

void FillStorage(StorageDescriptor& sd, const FileSchema& s) {
  if (s.format == "parquet") {
    sd.input_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
    sd.output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";
    sd.serde = SerDeInfo{"", "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe", {{"serialization.format", "1"}}};
  } else if (s.format == "json") {
    sd.input_format = "org.apache.hadoop.mapred.TextInputFormat";
    sd.output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat";
    sd.serde = SerDeInfo{"", "org.openx.data.jsonserde.JsonSerDe", {{"paths", ""}}};
    std::string paths;
    for (const auto& c : s.columns) paths += (paths.empty() ? "" : ",") + c.name;
    sd.serde->parameters["paths"] = paths;
  } else {
    sd.input_format = "org.apache.hadoop.mapred.TextInputFormat";
    sd.output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat";
    sd.serde = SerDeInfo{"", "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                         {{"field.delim", s.delimiter.empty() ? "," : s.delimiter}}};
  }
  sd.compressed = !s.compression.empty();
  sd.number_of_buckets = -1;
  sd.parameters["classification"] = s.format;
  sd.parameters["compressionType"] = s.compression.empty() ? "none" : s.compression;
  sd.parameters["typeOfData"] = "file";
}

}  // namespace

// ---- cron ----

Result<CronSchedule> CronSchedule::Parse(const std::string& expression) {
  std::string e(TrimWhitespace(expression));
  if (e.size() < 7 || e.substr(0, 5) != "cron(" || e.back() != ')') {
    return Invalid("Invalid schedule expression: " + expression + " (expected cron(minutes hours day month weekday year))");
  }
  std::istringstream in(e.substr(5, e.size() - 6));
  std::vector<std::string> f;
  for (std::string part; in >> part;) f.push_back(part);
  if (f.size() != 6) return Invalid("Invalid schedule expression: " + expression + " needs 6 fields");
  static const std::map<std::string, int> kMonths = {{"JAN", 1}, {"FEB", 2}, {"MAR", 3}, {"APR", 4},
                                                     {"MAY", 5}, {"JUN", 6}, {"JUL", 7}, {"AUG", 8},
                                                     {"SEP", 9}, {"OCT", 10}, {"NOV", 11}, {"DEC", 12}};
  static const std::map<std::string, int> kDays = {{"SUN", 1}, {"MON", 2}, {"TUE", 3}, {"WED", 4},
                                                   {"THU", 5}, {"FRI", 6}, {"SAT", 7}};
  if (f[2] != "?" && f[4] != "?") {
    return Invalid("Invalid schedule expression: one of day-of-month and day-of-week must be ?");
  }
  CronSchedule c;
  EL_ASSIGN_OR_RETURN(c.minutes_, CronField(f[0], 0, 59, {}));
  EL_ASSIGN_OR_RETURN(c.hours_, CronField(f[1], 0, 23, {}));
  EL_ASSIGN_OR_RETURN(c.days_, CronField(f[2], 1, 31, {}));
  EL_ASSIGN_OR_RETURN(c.months_, CronField(f[3], 1, 12, kMonths));
  EL_ASSIGN_OR_RETURN(c.weekdays_, CronField(f[4], 1, 7, kDays));
  EL_ASSIGN_OR_RETURN(c.years_, CronField(f[5], 1970, 2199, {}));
  c.any_day_ = f[2] == "?" || f[2] == "*";
  c.any_weekday_ = f[4] == "?" || f[4] == "*";
  return c;
}

std::optional<int64_t> CronSchedule::NextMs(int64_t after_ms) const {
  int64_t t = (after_ms / 60000 + 1) * 60000;  // the next whole minute, UTC
  for (int i = 0; i < 366 * 24 * 60 * 2; ++i, t += 60000) {
    const std::time_t secs = static_cast<std::time_t>(t / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    const int year = tm.tm_year + 1900;
    if (year >= static_cast<int>(years_.size()) || !years_[year] || !months_[tm.tm_mon + 1]) continue;
    if (!any_day_ && !days_[tm.tm_mday]) continue;
    if (!any_weekday_ && !weekdays_[tm.tm_wday + 1]) continue;
    if (!hours_[tm.tm_hour]) {
      t += (59 - tm.tm_min) * 60000LL;  // skip the rest of this hour
      continue;
    }
    if (minutes_[tm.tm_min]) return t;
  }
  return std::nullopt;
}

// ---- the service ----

struct CrawlerService::Impl {
  meta::Store& meta;
  Catalog& catalog;
  objects::ObjectStore& objects;
  FileInspector& inspector;
  const Clock& clock;

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;                                     // guarded by mu
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> running;  // guarded by mu: name -> stop asked
  std::vector<std::thread> crawls;                           // guarded by mu
  std::map<std::string, int64_t> next_run_ms;                // guarded by mu
  std::thread scheduler;
  std::chrono::milliseconds tick{30000};

  Impl(meta::Store& m, Catalog& c, objects::ObjectStore& o, FileInspector& i, const Clock& cl)
      : meta(m), catalog(c), objects(o), inspector(i), clock(cl) {}

  Result<CrawlerState> Load(const std::string& name) const {
    EL_ASSIGN_OR_RETURN(auto rows, meta.Query("SELECT doc FROM glue_crawlers WHERE name = ?", {name}));
    if (rows.empty()) return NotFound("Crawler entry with name " + name + " does not exist");
    json j = json::parse(meta::AsText(rows[0][0]), nullptr, false);
    if (j.is_discarded()) return Status::DataLoss("crawler " + name + " is unreadable");
    return StateFrom(j);
  }
  Status Save(const CrawlerState& s) {
    return meta.RunInTransaction([&](meta::Transaction& txn) {
      return txn
          .Execute("INSERT INTO glue_crawlers(name, doc) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET doc = "
                   "excluded.doc",
                   {s.definition.name, StateJson(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)})
          .status();
    });
  }
  // Changes a stored crawler under the lock that orders state changes.
  Status Modify(const std::string& name, const std::function<Status(CrawlerState&)>& fn) {
    EL_ASSIGN_OR_RETURN(CrawlerState s, Load(name));
    EL_RETURN_IF_ERROR(fn(s));
    return Save(s);
  }

  // Starts a crawl on its own thread; `mu` is held.
  Status StartLocked(const std::string& name);
  void RunInBackground(const std::string& name, std::shared_ptr<std::atomic<bool>> stop);
  Result<CrawlReport> Crawl(const CrawlerDefinition& def, const std::atomic<bool>& stop);
  Status CrawlTarget(const CrawlerDefinition& def, const json& target, const std::atomic<bool>& stop,
                     CrawlReport& report, std::set<std::string>& tables_seen);
  void SchedulerLoop();
};

std::vector<meta::Migration> CrawlerService::Migrations() {
  return {{410, "catalog: crawlers", "CREATE TABLE glue_crawlers(name TEXT PRIMARY KEY, doc TEXT NOT NULL);"}};
}

CrawlerService::CrawlerService(meta::Store& meta, Catalog& catalog, objects::ObjectStore& objects,
                               FileInspector& inspector, const Clock& clock)
    : impl_(std::make_unique<Impl>(meta, catalog, objects, inspector, clock)) {}

CrawlerService::~CrawlerService() { Stop(); }

Status CrawlerService::Start(std::chrono::milliseconds tick) {
  EL_ASSIGN_OR_RETURN(auto rows, impl_->meta.Query("SELECT name FROM glue_crawlers"));
  for (const auto& r : rows) {
    EL_RETURN_IF_ERROR(impl_->Modify(meta::AsText(r[0]), [&](CrawlerState& s) {
      if (s.state != "READY") {
        s.state = "READY";
        s.last_status = "FAILED";
        s.last_error = "The server stopped during the crawl";
      }
      return Status::Ok();
    }));
  }
  impl_->tick = tick;
  impl_->scheduler = std::thread([this] { impl_->SchedulerLoop(); });
  return Status::Ok();
}

void CrawlerService::Stop() {
  std::vector<std::thread> crawls;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
    for (auto& [name, stop] : impl_->running) stop->store(true);
    crawls.swap(impl_->crawls);
    impl_->cv.notify_all();
  }
  for (auto& t : crawls) t.join();
  if (impl_->scheduler.joinable()) impl_->scheduler.join();
}

Status CrawlerService::Create(CrawlerDefinition def) {
  if (!def.schedule.empty()) EL_RETURN_IF_ERROR(CronSchedule::Parse(def.schedule).status());
  EL_ASSIGN_OR_RETURN(auto rows, impl_->meta.Query("SELECT 1 FROM glue_crawlers WHERE name = ?", {def.name}));
  if (!rows.empty()) return Status::AlreadyExists(def.name + " already exists").WithType("AlreadyExistsException");
  CrawlerState s;
  s.definition = std::move(def);
  s.created_ms = s.updated_ms = NowMs(impl_->clock);
  return impl_->Save(s);
}

Result<CrawlerState> CrawlerService::Get(const std::string& name) const { return impl_->Load(name); }

Result<Page<CrawlerState>> CrawlerService::List(const std::string& token, int max) const {
  EL_ASSIGN_OR_RETURN(auto rows, impl_->meta.Query("SELECT name FROM glue_crawlers WHERE name > ? ORDER BY name LIMIT ?",
                                                   {token, static_cast<int64_t>(max) + 1}));
  Page<CrawlerState> page;
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(max); ++i) {
    EL_ASSIGN_OR_RETURN(CrawlerState s, impl_->Load(meta::AsText(rows[i][0])));
    page.items.push_back(std::move(s));
  }
  if (rows.size() > static_cast<size_t>(max)) page.next_token = page.items.back().definition.name;
  return page;
}

Status CrawlerService::Update(CrawlerDefinition def) {
  if (!def.schedule.empty()) EL_RETURN_IF_ERROR(CronSchedule::Parse(def.schedule).status());
  std::lock_guard lock(impl_->mu);
  if (impl_->running.count(def.name)) {
    return Status::FailedPrecondition("Crawler " + def.name + " is running").WithType("CrawlerRunningException");
  }
  EL_RETURN_IF_ERROR(impl_->Modify(def.name, [&](CrawlerState& s) {
    s.definition = def;
    s.updated_ms = NowMs(impl_->clock);
    ++s.version;
    return Status::Ok();
  }));
  impl_->next_run_ms.erase(def.name);
  return Status::Ok();
}

Status CrawlerService::Delete(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  if (impl_->running.count(name)) {
    return Status::FailedPrecondition("Crawler " + name + " is running").WithType("CrawlerRunningException");
  }
  return impl_->meta.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_ASSIGN_OR_RETURN(int64_t n, txn.Execute("DELETE FROM glue_crawlers WHERE name = ?", {name}));
    if (n == 0) return NotFound("Crawler entry with name " + name + " does not exist");
    return Status::Ok();
  });
}

Status CrawlerService::StartCrawl(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  EL_RETURN_IF_ERROR(impl_->Load(name).status());
  return impl_->StartLocked(name);
}

Status CrawlerService::Impl::StartLocked(const std::string& name) {
  if (stopping) return Status::Unavailable("the server is stopping");
  if (running.count(name)) {
    return Status::FailedPrecondition("Crawler with name " + name + " has already started")
        .WithType("CrawlerRunningException");
  }
  EL_RETURN_IF_ERROR(Modify(name, [&](CrawlerState& s) {
    s.state = "RUNNING";
    s.last_start_ms = NowMs(clock);
    return Status::Ok();
  }));
  auto stop = std::make_shared<std::atomic<bool>>(false);
  running[name] = stop;
  crawls.emplace_back([this, name, stop] { RunInBackground(name, stop); });
  return Status::Ok();
}

Status CrawlerService::StopCrawl(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  EL_RETURN_IF_ERROR(impl_->Load(name).status());
  auto it = impl_->running.find(name);
  if (it == impl_->running.end()) {
    return Status::FailedPrecondition("Crawler with name " + name + " isn't running")
        .WithType("CrawlerNotRunningException");
  }
  if (it->second->exchange(true)) {
    return Status::FailedPrecondition("Crawler " + name + " is stopping").WithType("CrawlerStoppingException");
  }
  return impl_->Modify(name, [](CrawlerState& s) {
    s.state = "STOPPING";
    return Status::Ok();
  });
}

Result<CrawlReport> CrawlerService::CrawlNow(const std::string& name) {
  EL_ASSIGN_OR_RETURN(CrawlerState s, impl_->Load(name));
  std::atomic<bool> stop{false};
  return impl_->Crawl(s.definition, stop);
}

void CrawlerService::Impl::RunInBackground(const std::string& name, std::shared_ptr<std::atomic<bool>> stop) {
  // Background work: ingestion comes first (this thread, and the threads it starts, yield to it).
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
  const auto started = std::chrono::steady_clock::now();
  auto def = Load(name);
  Result<CrawlReport> report = def.ok() ? Crawl(def->definition, *stop) : Result<CrawlReport>(def.status());
  const int64_t elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  std::lock_guard lock(mu);
  Status saved = Modify(name, [&](CrawlerState& s) {
    s.state = "READY";
    s.last_runtime_ms = elapsed;
    s.runtimes_ms.push_back(elapsed);
    if (s.runtimes_ms.size() > 20) s.runtimes_ms.erase(s.runtimes_ms.begin());
    if (stop->load()) {
      s.last_status = "CANCELLED";
      s.last_error.clear();
    } else if (report.ok()) {
      s.last_status = "SUCCEEDED";
      s.last_error.clear();
    } else {
      s.last_status = "FAILED";
      s.last_error = report.status().message();
    }
    if (report.ok()) s.last_report = *report;
    return Status::Ok();
  });
  if (!saved.ok()) spdlog::warn("crawler {}: {}", name, saved.ToString());
  if (report.ok()) {
    for (const auto& m : report->messages) spdlog::info("crawler {}: {}", name, m);
    spdlog::info("crawler {}: {} in {} ms: {} file(s), {} table(s) created, {} updated, {} deleted, {} partition(s) added",
                 name, stop->load() ? "cancelled" : "finished", elapsed, report->files_seen, report->tables_created,
                 report->tables_updated, report->tables_deleted, report->partitions_added);
  } else {
    spdlog::warn("crawler {}: failed after {} ms: {}", name, elapsed, report.status().ToString());
  }
  running.erase(name);
}

void CrawlerService::Impl::SchedulerLoop() {
  std::unique_lock lock(mu);
  while (!cv.wait_for(lock, tick, [&] { return stopping; })) {
    lock.unlock();
    auto rows = meta.Query("SELECT name FROM glue_crawlers");
    std::vector<std::string> due;
    const int64_t now = NowMs(clock);
    if (rows.ok()) {
      for (const auto& r : *rows) {
        const std::string name = meta::AsText(r[0]);
        auto s = Load(name);
        if (!s.ok() || s->definition.schedule.empty()) continue;
        auto cron = CronSchedule::Parse(s->definition.schedule);
        if (!cron.ok()) continue;
        std::lock_guard inner(mu);
        auto it = next_run_ms.find(name);
        if (it == next_run_ms.end()) {
          next_run_ms[name] = cron->NextMs(now).value_or(INT64_MAX);
        } else if (now >= it->second) {
          due.push_back(name);
          it->second = cron->NextMs(now).value_or(INT64_MAX);
        }
      }
    }
    for (const auto& name : due) {
      std::lock_guard inner(mu);
      if (StartLocked(name).ok()) spdlog::info("crawler {}: started by its schedule", name);
    }
    lock.lock();
  }
}

Result<CrawlReport> CrawlerService::Impl::Crawl(const CrawlerDefinition& def, const std::atomic<bool>& stop) {
  if (def.database.empty()) return Invalid("The crawler has no DatabaseName");
  EL_RETURN_IF_ERROR(catalog.GetDatabase(def.database).status());
  CrawlReport report;
  std::set<std::string> tables_seen;
  if (def.targets.contains("S3Targets") && def.targets["S3Targets"].is_array()) {
    for (const auto& target : def.targets["S3Targets"]) {
      if (stop.load()) break;
      EL_RETURN_IF_ERROR(CrawlTarget(def, target, stop, report, tables_seen));
    }
  }
  // Tables this crawler made earlier whose files are gone.
  const std::string delete_behavior = def.schema_change_policy.value("DeleteBehavior", std::string("DEPRECATE_IN_DATABASE"));
  std::string token;
  do {
    EL_ASSIGN_OR_RETURN(auto page, catalog.ListTables(def.database, "", token, 100));
    for (const auto& t : page.items) {
      auto by = t.parameters.find("UPDATED_BY_CRAWLER");
      if (by == t.parameters.end() || by->second != def.name || tables_seen.count(t.name) || stop.load()) continue;
      if (delete_behavior == "DELETE_FROM_DATABASE") {
        EL_RETURN_IF_ERROR(catalog.DeleteTable(def.database, t.name));
        ++report.tables_deleted;
        report.messages.push_back("Deleted table " + t.name + ": its files are gone");
      } else if (delete_behavior == "DEPRECATE_IN_DATABASE" && !t.parameters.count("DEPRECATED_BY_CRAWLER")) {
        Table deprecated = t;
        deprecated.parameters["DEPRECATED_BY_CRAWLER"] = std::to_string(NowMs(clock) / 1000);
        EL_RETURN_IF_ERROR(catalog.UpdateTable(def.database, deprecated, false, "").status());
        report.messages.push_back("Marked table " + t.name + " deprecated: its files are gone");
      } else {
        report.messages.push_back("Table " + t.name + " has no files any more (left as it is)");
      }
    }
    token = page.next_token;
  } while (!token.empty());
  return report;
}

Status CrawlerService::Impl::CrawlTarget(const CrawlerDefinition& def, const json& target, const std::atomic<bool>& stop,
                                         CrawlReport& report, std::set<std::string>& tables_seen) {
  const std::string path = target.value("Path", std::string());
  if (path.rfind("s3://", 0) != 0) return Invalid("An S3 target path must start with s3://: " + path);
  const std::string rest = path.substr(5);
  const std::string bucket = rest.substr(0, rest.find('/'));
  std::string prefix = rest.find('/') == std::string::npos ? "" : rest.substr(rest.find('/') + 1);
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  std::vector<Pattern> exclusions;
  if (target.contains("Exclusions") && target["Exclusions"].is_array()) {
    for (const auto& e : target["Exclusions"]) {
      if (!e.is_string()) continue;
      auto glob = Pattern::Glob(e.get<std::string>());
      if (!glob.ok()) return Invalid("Exclusion " + e.get<std::string>() + ": " + glob.status().message());
      exclusions.push_back(std::move(*glob));
    }
  }
  const int sample_size = target.contains("SampleSize") && target["SampleSize"].is_number_integer()
                              ? std::clamp(target["SampleSize"].get<int>(), 1, 249)
                              : 10;
  json config = def.configuration.empty() ? json::object() : json::parse(def.configuration, nullptr, false);
  if (config.is_discarded() || !config.is_object()) return Invalid("Configuration is not a JSON object");
  auto config_value = [&](std::initializer_list<const char*> keys) -> json {
    const json* at = &config;
    for (const char* k : keys) {
      if (!at->is_object() || !at->contains(k)) return json();
      at = &(*at)[k];
    }
    return *at;
  };
  const bool merge_new_columns = config_value({"CrawlerOutput", "Tables", "AddOrUpdateBehavior"}) == "MergeNewColumns";
  const bool inherit = config_value({"CrawlerOutput", "Partitions", "AddOrUpdateBehavior"}) == "InheritFromTable";
  const bool combine = config_value({"Grouping", "TableGroupingPolicy"}) == "CombineCompatibleSchemas";
  const json level_json = config_value({"Grouping", "TableLevelConfiguration"});
  const int table_level = level_json.is_number_integer() ? level_json.get<int>() : 0;
  const std::string update_behavior =
      def.schema_change_policy.value("UpdateBehavior", std::string("UPDATE_IN_DATABASE"));
  const std::string delete_behavior =
      def.schema_change_policy.value("DeleteBehavior", std::string("DEPRECATE_IN_DATABASE"));

  // 1. The files, by folder.
  std::vector<objects::ObjectVersion> files;
  objects::ListRequest req;
  req.prefix = prefix;
  for (;;) {
    auto page = objects.List(bucket, req);
    if (!page.ok()) return page.status().code() == StatusCode::kNotFound ? Invalid("Bucket " + bucket + " does not exist")
                                                                       : page.status();
    for (auto& v : page->objects) {
      if (v.size == 0 || v.key.back() == '/') continue;
      const std::string rel = v.key.substr(prefix.size());
      bool hidden = false;
      for (auto seg : Split(rel, '/')) {
        if (!seg.empty() && (seg[0] == '.' || seg[0] == '_')) hidden = true;
      }
      if (hidden) continue;
      if (std::any_of(exclusions.begin(), exclusions.end(), [&](const Pattern& g) { return g.FullMatch(rel); })) continue;
      files.push_back(std::move(v));
    }
    if (!page->truncated) break;
    req.start_after = page->last;
  }
  report.files_seen += static_cast<int>(files.size());
  std::map<std::string, Leaf> leaves;  // by folder below the include path
  for (const auto& f : files) {
    const std::string rel = f.key.substr(prefix.size());
    const size_t slash = rel.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : rel.substr(0, slash);
    Leaf& leaf = leaves[dir];
    if (leaf.files.empty() && !dir.empty()) {
      for (auto seg : Split(dir, '/')) leaf.dirs.emplace_back(seg);
    }
    leaf.files.push_back(&f);
  }

  // 2. Each folder's schema, from a sample of its files.
  for (auto& [dir, leaf] : leaves) {
    if (stop.load()) return Status::Ok();
    std::map<std::pair<std::string, std::string>, std::vector<SampleFile>> by_kind;
    for (const auto* f : leaf.files) {
      auto [format, compression] = FormatFromKey(f->key);
      auto& group = by_kind[{format, compression}];
      if (static_cast<int>(group.size()) >= sample_size) continue;
      auto local = objects.LocalFile(bucket, *f);
      if (!local.ok()) return local.status();
      group.push_back({*local, f->key});
    }
    // The most common kind of file in the folder speaks for it.
    auto best = std::max_element(by_kind.begin(), by_kind.end(),
                                 [](const auto& a, const auto& b) { return a.second.size() < b.second.size(); });
    if (best == by_kind.end()) continue;
    auto schema = inspector.Inspect(best->second);
    if (!schema.ok()) {
      report.messages.push_back("Skipped s3://" + bucket + "/" + prefix + dir + ": " + schema.status().message());
      continue;
    }
    leaf.schema = std::move(*schema);
    leaf.readable = true;
  }

  // 3. Which folders make a table: from the include path down, the first
  // folder under which every readable folder holds the same kind of data at
  // the same depth (or the level the configuration fixes).
  struct TableRoot {
    std::vector<std::string> dirs;  // below the include path
    std::vector<Leaf*> leaves;
  };
  std::vector<TableRoot> roots;
  // The include path's level (the bucket is 1): "a/b/" splits into three pieces, "" into one.
  const int prefix_depth = static_cast<int>(Split(prefix, '/').size());
  std::function<void(std::vector<std::string>, std::vector<Leaf*>)> place = [&](std::vector<std::string> at,
                                                                                std::vector<Leaf*> under) {
    if (under.empty()) return;
    bool same = true;
    if (table_level > 0) {
      same = prefix_depth + static_cast<int>(at.size()) >= table_level;
    } else {
      for (Leaf* l : under) {
        if (l->dirs.size() != under[0]->dirs.size() || l->schema.format != under[0]->schema.format ||
            (!combine && !Similar(l->schema.columns, under[0]->schema.columns))) {
          same = false;
          break;
        }
      }
    }
    if (same) {
      roots.push_back({at, under});
      return;
    }
    std::map<std::string, std::vector<Leaf*>> children;
    for (Leaf* l : under) {
      if (l->dirs.size() <= at.size()) {
        report.messages.push_back("Left out the files directly in s3://" + bucket + "/" + prefix + Join(at, "/") +
                                  ": its folders hold different data");
        continue;
      }
      children[l->dirs[at.size()]].push_back(l);
    }
    for (auto& [name, ls] : children) {
      auto next = at;
      next.push_back(name);
      place(next, ls);
    }
  };
  std::vector<Leaf*> readable;
  for (auto& [dir, leaf] : leaves) {
    if (leaf.readable) readable.push_back(&leaf);
  }
  place({}, readable);

  // 4. Each table: its schema, partition keys and partitions, into the catalog.
  for (auto& root : roots) {
    if (stop.load()) return Status::Ok();
    const size_t levels = root.leaves[0]->dirs.size() - root.dirs.size();
    std::vector<Column> keys;
    for (size_t i = 0; i < levels; ++i) {
      std::string key;
      for (Leaf* l : root.leaves) {
        const std::string& seg = l->dirs[root.dirs.size() + i];
        const size_t eq = seg.find('=');
        std::string k = eq == std::string::npos ? "" : AsciiLower(seg.substr(0, eq));
        if (l == root.leaves[0]) {
          key = k;
        } else if (k != key) {
          key.clear();
          break;
        }
      }
      keys.push_back({key.empty() ? "partition_" + std::to_string(i) : key, "string", "", {}});
    }
    FileSchema merged = root.leaves[0]->schema;
    for (size_t i = 1; i < root.leaves.size(); ++i) MergeColumns(merged.columns, root.leaves[i]->schema.columns);
    std::vector<Column> columns;
    for (auto& c : merged.columns) {
      c.name = AsciiLower(c.name);
      if (std::none_of(keys.begin(), keys.end(), [&](const Column& k) { return k.name == c.name; })) columns.push_back(c);
    }
    const std::string last = root.dirs.empty() ? (prefix.empty() ? bucket : std::string(Split(prefix, '/').end()[-2]))
                                               : root.dirs.back();
    const std::string table_name = TableNameOf(last, def.table_prefix);
    tables_seen.insert(table_name);
    const std::string location =
        "s3://" + bucket + "/" + prefix + (root.dirs.empty() ? "" : Join(root.dirs, "/") + "/");

    Table t;
    t.name = table_name;
    t.table_type = "EXTERNAL_TABLE";
    t.owner = "owner";
    t.partition_keys = keys;
    t.retention = 0;
    StorageDescriptor sd;
    sd.columns = columns;
    sd.location = location;
    FillStorage(sd, merged);
    t.storage = sd;
    t.parameters = sd.parameters;
    t.parameters["UPDATED_BY_CRAWLER"] = def.name;
    t.parameters["CrawlerSchemaSerializerVersion"] = "1.0";
    t.parameters["CrawlerSchemaDeserializerVersion"] = "1.0";
    t.parameters["objectCount"] = std::to_string(std::accumulate(
        root.leaves.begin(), root.leaves.end(), size_t{0}, [](size_t n, Leaf* l) { return n + l->files.size(); }));

    auto existing = catalog.GetTable(def.database, table_name);
    if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) return existing.status();
    if (!existing.ok()) {
      EL_RETURN_IF_ERROR(catalog.CreateTable(def.database, t));
      ++report.tables_created;
      report.messages.push_back("Created table " + table_name + " at " + location + " with " +
                                std::to_string(columns.size()) + " column(s) and " + std::to_string(keys.size()) +
                                " partition key(s)");
    } else {
      Table updated = *existing;
      std::vector<Column> cols = existing->storage ? existing->storage->columns : std::vector<Column>{};
      std::vector<std::string> added, widened;
      if (merge_new_columns) {  // columns are added, and numbers widen; nothing is dropped or retyped otherwise
        for (const auto& c : columns) {
          auto it = std::find_if(cols.begin(), cols.end(), [&](const Column& x) { return EqualsIgnoreCase(x.name, c.name); });
          if (it == cols.end()) {
            cols.push_back(c);
            added.push_back(c.name);
          } else if (const std::string wider = WiderType(it->type, c.type);
                     wider != it->type && IsNumeric(it->type) && IsNumeric(wider)) {
            it->type = wider;
            widened.push_back(c.name + " to " + wider);
          }
        }
      } else {
        for (const auto& c : columns) {
          if (std::none_of(cols.begin(), cols.end(), [&](const Column& x) { return EqualsIgnoreCase(x.name, c.name); })) {
            added.push_back(c.name);
          }
        }
        cols = columns;
      }
      bool changed = !existing->storage || existing->storage->columns.size() != cols.size();
      for (size_t i = 0; !changed && i < cols.size(); ++i) {
        changed = existing->storage->columns[i].name != cols[i].name || existing->storage->columns[i].type != cols[i].type;
      }
      if (existing->partition_keys.size() != keys.size()) changed = true;
      if (changed && update_behavior == "UPDATE_IN_DATABASE") {
        StorageDescriptor new_sd = t.storage.value();
        new_sd.columns = cols;
        if (merge_new_columns && existing->storage) {  // keep the format as it was
          new_sd.serde = existing->storage->serde;
          new_sd.input_format = existing->storage->input_format;
          new_sd.output_format = existing->storage->output_format;
        }
        updated.storage = new_sd;
        updated.partition_keys = merge_new_columns ? existing->partition_keys : keys;
        for (const auto& [k, v] : t.parameters) updated.parameters[k] = v;
        updated.parameters.erase("DEPRECATED_BY_CRAWLER");
        EL_RETURN_IF_ERROR(catalog.UpdateTable(def.database, updated, false, "").status());
        ++report.tables_updated;
        report.messages.push_back("Updated table " + table_name +
                                  (added.empty() ? std::string() : ": new column(s) " + Join(added, ", ")) +
                                  (widened.empty() ? std::string() : "; widened " + Join(widened, ", ")));
      } else if (changed) {
        report.messages.push_back("The schema of table " + table_name + " changed; left as it is (UpdateBehavior LOG)");
      }
      t = updated;
    }

    // Partitions: one per folder holding files, in the order of the keys.
    if (keys.empty()) continue;
    std::set<std::vector<std::string>> present;
    std::vector<Partition> fresh;
    const Table& current = t;
    for (Leaf* l : root.leaves) {
      std::vector<std::string> values;
      for (size_t i = 0; i < levels; ++i) {
        const std::string& seg = l->dirs[root.dirs.size() + i];
        const size_t eq = seg.find('=');
        values.push_back(eq == std::string::npos ? seg : seg.substr(eq + 1));
      }
      present.insert(values);
      if (catalog.GetPartition(def.database, table_name, values).ok()) continue;
      Partition p;
      p.values = values;
      StorageDescriptor psd = inherit && current.storage ? *current.storage : StorageDescriptor{};
      if (!inherit) {
        psd.columns = l->schema.columns;
        for (auto& c : psd.columns) c.name = AsciiLower(c.name);
        FillStorage(psd, l->schema);
      }
      psd.location = location + Join(std::vector<std::string>(l->dirs.begin() + root.dirs.size(), l->dirs.end()), "/") + "/";
      p.storage = std::move(psd);
      fresh.push_back(std::move(p));
    }
    for (size_t i = 0; i < fresh.size(); i += 100) {
      std::vector<Partition> batch(fresh.begin() + i, fresh.begin() + std::min(fresh.size(), i + 100));
      EL_ASSIGN_OR_RETURN(auto errors, catalog.CreatePartitions(def.database, table_name, std::move(batch)));
      report.partitions_added += static_cast<int>(std::min(fresh.size(), i + 100) - i - errors.size());
    }
    if (!fresh.empty()) {
      report.messages.push_back("Added " + std::to_string(fresh.size()) + " partition(s) to " + table_name);
    }
    if (delete_behavior == "DELETE_FROM_DATABASE") {
      std::string token;
      std::vector<std::vector<std::string>> gone;
      do {
        EL_ASSIGN_OR_RETURN(auto page, catalog.ListPartitions(def.database, table_name, "", {}, token, 1000));
        for (const auto& p : page.items) {
          if (!present.count(p.values)) gone.push_back(p.values);
        }
        token = page.next_token;
      } while (!token.empty());
      for (const auto& values : gone) {
        EL_RETURN_IF_ERROR(catalog.DeletePartition(def.database, table_name, values));
        ++report.partitions_deleted;
      }
    }
  }
  return Status::Ok();
}

}  // namespace eventlake::catalog
