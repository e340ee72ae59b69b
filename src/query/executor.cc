#include "query/executor.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "common/json.h"
#include "common/strings.h"
#include "query/inspector.h"
#include "query/lake.h"
#include "query/statements.h"

namespace eventlake::query {

using nlohmann::json;

const char* StateName(State s) {
  switch (s) {
    case State::kQueued: return "QUEUED";
    case State::kRunning: return "RUNNING";
    case State::kSucceeded: return "SUCCEEDED";
    case State::kFailed: return "FAILED";
    case State::kCancelled: return "CANCELLED";
  }
  return "FAILED";
}

namespace {

std::optional<State> ParseState(const std::string& s) {
  for (State st : {State::kQueued, State::kRunning, State::kSucceeded, State::kFailed, State::kCancelled}) {
    if (s == StateName(st)) return st;
  }
  return std::nullopt;
}

Status InvalidRequest(const std::string& msg) {
  return Status::InvalidArgument(msg).WithType("InvalidRequestException");
}

json ToJson(const Execution& e) {
  json cols = json::array();
  for (const auto& c : e.columns) cols.push_back({c.name, c.type, c.precision, c.scale});
  json j = {{"id", e.id}, {"sql", e.sql}, {"database", e.database}, {"catalog", e.catalog},
            {"workgroup", e.workgroup}, {"output", e.output_location}, {"type", e.statement_type},
            {"subtype", e.substatement_type}, {"state", StateName(e.state)}, {"reason", e.state_reason},
            {"error_type", e.error_type}, {"error_category", e.error_category}, {"submitted", e.submitted_ms},
            {"started", e.started_ms}, {"completed", e.completed_ms}, {"scanned", e.scanned_bytes},
            {"planning", e.planning_ms}, {"engine", e.engine_ms}, {"processing", e.processing_ms},
            {"columns", cols}, {"header", e.header_row}, {"rows", e.result_rows}, {"token", e.client_token},
            {"parameters", e.parameters}};
  if (e.update_count) j["update_count"] = *e.update_count;
  return j;
}

Execution FromJson(const json& j) {
  Execution e;
  auto str = [&](const char* k) { return JsonString(j, k); };
  auto num = [&](const char* k) { return JsonInt(j, k); };
  e.id = str("id");
  e.sql = str("sql");
  e.database = str("database");
  e.catalog = str("catalog");
  e.workgroup = str("workgroup");
  e.output_location = str("output");
  e.statement_type = str("type");
  e.substatement_type = str("subtype");
  e.state = ParseState(str("state")).value_or(State::kFailed);
  e.state_reason = str("reason");
  e.error_type = str("error_type");
  e.error_category = static_cast<int>(num("error_category"));
  e.submitted_ms = num("submitted");
  e.started_ms = num("started");
  e.completed_ms = num("completed");
  e.scanned_bytes = num("scanned");
  e.planning_ms = num("planning");
  e.engine_ms = num("engine");
  e.processing_ms = num("processing");
  if (j.contains("columns") && j["columns"].is_array()) {
    for (const auto& c : j["columns"]) {
      if (c.is_array() && c.size() == 4) {
        e.columns.push_back({c[0].get<std::string>(), c[1].get<std::string>(), c[2].get<int>(), c[3].get<int>()});
      }
    }
  }
  e.header_row = j.value("header", true);
  e.result_rows = num("rows");
  e.client_token = str("token");
  if (j.contains("parameters") && j["parameters"].is_array()) {
    for (const auto& p : j["parameters"]) {
      if (p.is_string()) e.parameters.push_back(p.get<std::string>());
    }
  }
  if (j.contains("update_count") && j["update_count"].is_number()) e.update_count = j["update_count"].get<int64_t>();
  return e;
}

// One CSV field as Athena writes results: quoted, quotes doubled; NULL as nothing.
void AppendCsvField(std::string& out, const std::optional<std::string>& v) {
  if (!v) return;
  out += '"';
  for (char c : *v) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// Reads back what AppendCsvField wrote (RFC 4180; an empty unquoted field is NULL).
std::vector<TextRow> ParseCsv(std::string_view text) {
  std::vector<TextRow> rows;
  TextRow row;
  size_t i = 0;
  while (i < text.size()) {
    std::optional<std::string> field;
    if (text[i] == '"') {
      std::string v;
      for (++i; i < text.size(); ++i) {
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            v += '"';
            ++i;
          } else {
            ++i;
            break;
          }
        } else {
          v += text[i];
        }
      }
      field = std::move(v);
    } else {
      size_t end = text.find_first_of(",\n", i);
      if (end == std::string_view::npos) end = text.size();
      if (end > i) field = std::string(text.substr(i, end - i));
      i = end;
    }
    row.push_back(std::move(field));
    if (i >= text.size() || text[i] == '\n') {
      rows.push_back(std::move(row));
      row.clear();
    }
    if (i < text.size()) ++i;  // the separator
  }
  return rows;
}

// Athena's ExecutionParameters: each `?` outside quotes takes the next value, as SQL text.
Result<std::string> BindParameters(const std::string& sql, const std::vector<std::string>& params) {
  if (params.empty()) return sql;
  std::string out;
  size_t next = 0;
  char quote = 0;
  for (char c : sql) {
    if (quote) {
      if (c == quote) quote = 0;
      out += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      out += c;
    } else if (c == '?') {
      if (next >= params.size()) return InvalidRequest("The query has more parameters than ExecutionParameters gives");
      out += params[next++];
    } else {
      out += c;
    }
  }
  if (next != params.size()) return InvalidRequest("ExecutionParameters gives more values than the query has parameters");
  return out;
}

int64_t Ms(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch()).count();
}

// Result files are written here, not uploaded: their ETag is unique but not an MD5 (the
// dash tells S3 clients not to compare it with one, as for multipart uploads).
std::string ResultEtag() {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(FastRandom64()),
                static_cast<unsigned long long>(FastRandom64()));
  return "\"" + std::string(buf) + "-1\"";
}

// The nice value of query threads (0 is the server's; 19 the lowest).
constexpr int kQueryNice = 10;

// Queries yield the processor to ingestion: this thread, and the DuckDB threads it starts (they inherit
// it), run at a lower scheduling priority than the server's network and log threads.
void YieldToIngest() { (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), kQueryNice); }

// Functions of Athena's SQL (Trino's) that DuckDB spells differently, as macros in each query's DuckDB.
// Trino's date formats are MySQL's: %i minutes, %s seconds, %T time. (date_parse has no macro: DuckDB's
// strptime wants its format as a constant.)
constexpr const char* kAthenaFunctions[] = {
    "CREATE MACRO approx_distinct(x) AS approx_count_distinct(x)",
    "CREATE MACRO approx_percentile(x, p) AS approx_quantile(x, p)",
    "CREATE MACRO json_extract_scalar(j, path) AS json_extract_string(j, path)",
    "CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)",
    "CREATE MACRO from_iso8601_date(s) AS CAST(s AS DATE)",
    "CREATE MACRO to_unixtime(t) AS epoch(t)",
    "CREATE MACRO mysql_to_strftime(f) AS replace(replace(replace(f, '%i', '%M'), '%s', '%S'), '%T', '%H:%M:%S')",
    "CREATE MACRO date_format(t, f) AS strftime(t, mysql_to_strftime(f))",
    "CREATE MACRO regexp_like(s, p) AS regexp_matches(s, p)",
};

// Adds them; one that DuckDB already has under that name is left to DuckDB.
void AddAthenaFunctions(Engine& engine) {
  for (const char* sql : kAthenaFunctions) engine.Execute(sql).IgnoreError();
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ColumnInfo AthenaColumn(const ResultColumn& column) {
  ColumnInfo c;
  c.name = column.name;
  const std::string& t = column.type;
  static const std::map<std::string, std::pair<std::string, int>> kTypes = {
      {"BOOLEAN", {"boolean", 0}},  {"TINYINT", {"tinyint", 3}},   {"SMALLINT", {"smallint", 5}},
      {"INTEGER", {"integer", 10}}, {"BIGINT", {"bigint", 19}},    {"HUGEINT", {"decimal", 38}},
      {"UTINYINT", {"smallint", 5}}, {"USMALLINT", {"integer", 10}}, {"UINTEGER", {"bigint", 19}},
      {"UBIGINT", {"decimal", 20}}, {"FLOAT", {"float", 17}},      {"DOUBLE", {"double", 17}},
      {"VARCHAR", {"varchar", 2147483647}}, {"BLOB", {"varbinary", 1073741824}}, {"DATE", {"date", 0}},
      {"TIME", {"time", 0}},        {"TIMESTAMP", {"timestamp", 3}}, {"TIMESTAMP_MS", {"timestamp", 3}},
      {"TIMESTAMP_S", {"timestamp", 3}}, {"TIMESTAMP_NS", {"timestamp", 3}},
      {"TIMESTAMP WITH TIME ZONE", {"timestamp with time zone", 3}}, {"INTERVAL", {"interval day to second", 0}},
      {"UUID", {"uuid", 0}},        {"NULL", {"unknown", 0}},      {"ENUM", {"varchar", 2147483647}}};
  if (auto it = kTypes.find(t); it != kTypes.end()) {
    c.type = it->second.first;
    c.precision = it->second.second;
  } else if (t.rfind("DECIMAL(", 0) == 0) {
    c.type = "decimal";
    std::sscanf(t.c_str(), "DECIMAL(%d,%d)", &c.precision, &c.scale);
  } else if (t.size() > 2 && t.substr(t.size() - 2) == "[]") {
    c.type = "array";
  } else if (t.rfind("MAP(", 0) == 0) {
    c.type = "map";
  } else if (t.rfind("STRUCT(", 0) == 0) {
    c.type = "row";
  } else {
    c.type = "varchar";
  }
  return c;
}

struct QueryExecutor::Impl {
  meta::Store& meta;
  catalog::Catalog& catalog;
  objects::ObjectStore& objects;
  const Clock& clock;
  ExecutorOptions options;
  StatementHandler* statements;
  LakeTables lake;

  struct Cached {
    std::vector<TextRow> rows;  // data rows, no header
    size_t bytes = 0;
  };
  struct Running {
    Engine* engine = nullptr;  // while DuckDB runs it
    int64_t deadline_ms = 0;
    int64_t started_ms = 0;    // on the clock, for GetQueryExecution while it runs
    bool cancelled = false;
  };

  mutable std::mutex mu;
  std::condition_variable work_cv, stop_cv;
  std::deque<std::string> queue;                 // guarded by mu
  std::map<std::string, Running> running;        // guarded by mu
  std::map<std::string, std::shared_ptr<Cached>> cache;  // guarded by mu
  std::list<std::string> cache_order;            // guarded by mu: oldest first
  size_t cache_bytes = 0;                        // guarded by mu
  bool stopping = false;                         // guarded by mu
  // A DuckDB opened ahead, so that a query does not wait for one to open.
  std::unique_ptr<Engine> spare;                 // guarded by mu
  std::vector<std::unique_ptr<Engine>> to_close;  // guarded by mu: used ones, closed off the query's path
  std::condition_variable spare_cv;
  std::vector<std::thread> workers;
  std::thread monitor, spare_maker;

  Impl(meta::Store& m, catalog::Catalog& c, objects::ObjectStore& o, const Clock& cl, ExecutorOptions opts,
       StatementHandler* s)
      : meta(m), catalog(c), objects(o), clock(cl), options(std::move(opts)), statements(s),
        lake(c, o, options.work_dir + "/farms",
             std::chrono::duration_cast<std::chrono::seconds>(options.timeout) + std::chrono::minutes(5)) {}

  Status Save(const Execution& e) {
    return meta.RunInTransaction([&](meta::Transaction& txn) {
      return txn
          .Execute("INSERT INTO athena_executions(id, workgroup, submitted_ms, client_token, doc) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT(id) DO UPDATE SET doc = excluded.doc",
                   {e.id, e.workgroup, e.submitted_ms, e.client_token, ToJson(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)})
          .status();
    });
  }

  Result<Execution> Load(const std::string& id) const {
    EL_ASSIGN_OR_RETURN(auto rows, meta.Query("SELECT doc FROM athena_executions WHERE id = ?", {id}));
    if (rows.empty()) return InvalidRequest("QueryExecution " + id + " was not found");
    json j = json::parse(meta::AsText(rows[0][0]), nullptr, false);
    if (j.is_discarded()) return Status::DataLoss("execution " + id + " is unreadable");
    return FromJson(j);
  }

  void Remember(const std::string& id, std::shared_ptr<Cached> c) {
    std::lock_guard lock(mu);
    if (c->bytes > options.cached_result_bytes) return;
    cache[id] = c;
    cache_order.push_back(id);
    cache_bytes += c->bytes;
    while (cache_bytes > options.cached_result_bytes && !cache_order.empty()) {
      auto it = cache.find(cache_order.front());
      if (it != cache.end()) {
        cache_bytes -= it->second->bytes;
        cache.erase(it);
      }
      cache_order.pop_front();
    }
  }

  void WorkerLoop();
  void MonitorLoop();
  void SpareLoop();
  EngineOptions BaseEngineOptions() const {
    EngineOptions eo;
    eo.threads = options.threads_per_query;
    eo.memory_limit_bytes = options.memory_limit_bytes;
    return eo;
  }
  Result<std::unique_ptr<Engine>> TakeEngine() {
    {
      std::lock_guard lock(mu);
      if (spare) {
        auto e = std::move(spare);
        spare_cv.notify_all();
        return e;
      }
    }
    return OpenEngine();
  }
  Result<std::unique_ptr<Engine>> OpenEngine() {
    EL_ASSIGN_OR_RETURN(auto e, Engine::Open(BaseEngineOptions()));
    AddAthenaFunctions(*e);
    return e;
  }
  void Run(Execution& e);
  Status RunDuckDb(Execution& e, const std::string& sql, const std::string& work, Cached& out);
  // The DuckDB a query runs on, registered so that it can be interrupted; closed off the query's path.
  struct Lease {
    Lease(Impl* i, std::string query) : impl(i), id(std::move(query)) {}
    ~Lease() {
      std::lock_guard lock(impl->mu);
      impl->running[id].engine = nullptr;
      if (engine) impl->to_close.push_back(std::move(engine));  // closing one takes a few milliseconds
      impl->spare_cv.notify_all();
    }
    Impl* impl;
    std::string id;
    std::unique_ptr<Engine> engine;
  };
  // A DuckDB for the query with the tables `sql` names defined, reading only their files and writing
  // only under `writable`, its configuration locked.
  Result<std::unique_ptr<Lease>> Prepare(Execution& e, const std::string& sql, const std::string& work,
                                         const std::vector<std::string>& writable);
  Status RunCtas(Execution& e, const CtasPlan& plan, const std::string& work, Cached& out);
  Status WriteResults(Execution& e, const Cached& rows);
};

std::vector<meta::Migration> QueryExecutor::Migrations() {
  return {{500, "query: executions",
           "CREATE TABLE athena_executions(id TEXT PRIMARY KEY, workgroup TEXT NOT NULL, submitted_ms INTEGER NOT NULL,"
           "  client_token TEXT NOT NULL, doc TEXT NOT NULL);"
           "CREATE INDEX athena_executions_by_time ON athena_executions(workgroup, submitted_ms);"
           "CREATE INDEX athena_executions_by_token ON athena_executions(client_token);"}};
}

QueryExecutor::QueryExecutor(meta::Store& meta, catalog::Catalog& catalog, objects::ObjectStore& objects,
                             const Clock& clock, ExecutorOptions options, StatementHandler* statements)
    : impl_(std::make_unique<Impl>(meta, catalog, objects, clock, std::move(options), statements)) {}

QueryExecutor::~QueryExecutor() { Stop(); }

Status QueryExecutor::Start() {
  // Executions a stop or crash interrupted.
  EL_ASSIGN_OR_RETURN(auto rows, impl_->meta.Query("SELECT doc FROM athena_executions WHERE doc LIKE '%\"state\":\"QUEUED\"%' "
                                                   "OR doc LIKE '%\"state\":\"RUNNING\"%'"));
  for (const auto& r : rows) {
    json j = json::parse(meta::AsText(r[0]), nullptr, false);
    if (j.is_discarded()) continue;
    Execution e = FromJson(j);
    if (e.state != State::kQueued && e.state != State::kRunning) continue;
    e.state = State::kFailed;
    e.state_reason = "The server stopped before the query finished; run it again.";
    e.error_category = 1;
    e.completed_ms = Ms(impl_->clock);
    EL_RETURN_IF_ERROR(impl_->Save(e));
  }
  std::error_code ec;
  std::filesystem::remove_all(impl_->options.work_dir, ec);
  std::filesystem::create_directories(impl_->options.work_dir, ec);
  if (ec) return Status::IoError("cannot create " + impl_->options.work_dir + ": " + ec.message());
  for (int i = 0; i < std::max(1, impl_->options.max_concurrent); ++i) {
    impl_->workers.emplace_back([this] { impl_->WorkerLoop(); });
  }
  impl_->monitor = std::thread([this] { impl_->MonitorLoop(); });
  impl_->spare_maker = std::thread([this] { impl_->SpareLoop(); });
  return Status::Ok();
}

void QueryExecutor::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
    for (auto& [id, r] : impl_->running) {
      r.cancelled = true;
      if (r.engine) r.engine->Interrupt();
    }
    impl_->work_cv.notify_all();
    impl_->stop_cv.notify_all();
    impl_->spare_cv.notify_all();
  }
  for (auto& t : impl_->workers) t.join();
  if (impl_->monitor.joinable()) impl_->monitor.join();
  if (impl_->spare_maker.joinable()) impl_->spare_maker.join();
  impl_->spare.reset();
  impl_->to_close.clear();
}

Result<std::string> QueryExecutor::Submit(SubmitRequest request) {
  if (!request.client_token.empty()) {
    EL_ASSIGN_OR_RETURN(auto rows, impl_->meta.Query("SELECT id FROM athena_executions WHERE client_token = ?",
                                                     {request.client_token}));
    if (!rows.empty()) return meta::AsText(rows[0][0]);
  }
  if (request.output_location.empty()) {
    return InvalidRequest(
        "No output location provided. An output location is required either through the Workgroup result configuration "
        "setting or as an API input.");
  }
  EL_RETURN_IF_ERROR(ParseS3Location(request.output_location).status());
  Execution e;
  e.id = NewRequestId();
  e.sql = std::move(request.sql);
  e.database = AsciiLower(request.database);
  if (!request.catalog.empty()) e.catalog = request.catalog;
  e.workgroup = request.workgroup.empty() ? "primary" : request.workgroup;
  std::string folder = request.output_location;
  if (folder.back() != '/') folder += '/';
  e.output_location = folder + e.id;  // the extension comes with the statement type
  e.client_token = request.client_token;
  e.parameters = std::move(request.parameters);
  e.submitted_ms = Ms(impl_->clock);
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return Status::Unavailable("the server is stopping");
    if (impl_->queue.size() >= static_cast<size_t>(impl_->options.max_queued)) {
      return Status::ResourceExhausted("Too many queries are queued; try again later.").WithType("TooManyRequestsException");
    }
  }
  EL_RETURN_IF_ERROR(impl_->Save(e));
  {
    std::lock_guard lock(impl_->mu);
    impl_->queue.push_back(e.id);
    impl_->work_cv.notify_one();
  }
  return e.id;
}

Result<Execution> QueryExecutor::Get(const std::string& id) const {
  EL_ASSIGN_OR_RETURN(Execution e, impl_->Load(id));
  if (e.state == State::kQueued) {
    std::lock_guard lock(impl_->mu);
    if (auto it = impl_->running.find(id); it != impl_->running.end() && it->second.started_ms) {
      e.state = State::kRunning;
      e.started_ms = it->second.started_ms;
    }
  }
  return e;
}

Result<catalog::Page<std::string>> QueryExecutor::List(const std::string& workgroup, const std::string& token,
                                                       int max) const {
  int64_t before = INT64_MAX;
  std::string before_id;
  if (!token.empty()) {
    const size_t colon = token.find(':');
    if (colon == std::string::npos) return InvalidRequest("NextToken is not valid");
    before = std::strtoll(token.substr(0, colon).c_str(), nullptr, 10);
    before_id = token.substr(colon + 1);
  }
  EL_ASSIGN_OR_RETURN(auto rows, impl_->meta.Query("SELECT id, submitted_ms FROM athena_executions WHERE workgroup = ? AND "
                                                   "(submitted_ms < ? OR (submitted_ms = ? AND id < ?)) ORDER BY "
                                                   "submitted_ms DESC, id DESC LIMIT ?",
                                                   {workgroup, before, before, before_id, static_cast<int64_t>(max) + 1}));
  catalog::Page<std::string> page;
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(max); ++i) page.items.push_back(meta::AsText(rows[i][0]));
  if (rows.size() > static_cast<size_t>(max)) {
    page.next_token = std::to_string(meta::AsInt(rows[max - 1][1])) + ":" + page.items.back();
  }
  return page;
}

Status QueryExecutor::Cancel(const std::string& id) {
  EL_ASSIGN_OR_RETURN(Execution e, impl_->Load(id));
  std::unique_lock lock(impl_->mu);
  if (auto it = impl_->running.find(id); it != impl_->running.end()) {
    it->second.cancelled = true;
    if (it->second.engine) it->second.engine->Interrupt();
    return Status::Ok();  // the worker records CANCELLED when the query stops
  }
  auto q = std::find(impl_->queue.begin(), impl_->queue.end(), id);
  if (q == impl_->queue.end()) return Status::Ok();  // ended already
  impl_->queue.erase(q);
  lock.unlock();
  e.state = State::kCancelled;
  e.state_reason = "Query cancelled by the user";
  e.completed_ms = Ms(impl_->clock);
  return impl_->Save(e);
}

Result<ResultPage> QueryExecutor::Results(const std::string& id, const std::string& token, int max) {
  EL_ASSIGN_OR_RETURN(Execution e, impl_->Load(id));
  if (e.state != State::kSucceeded) {
    return InvalidRequest("Query has not yet finished. Current state: " + std::string(StateName(e.state)));
  }
  std::shared_ptr<Impl::Cached> rows;
  {
    std::lock_guard lock(impl_->mu);
    if (auto it = impl_->cache.find(id); it != impl_->cache.end()) rows = it->second;
  }
  if (!rows) {  // read back from the result file
    EL_ASSIGN_OR_RETURN(auto where, ParseS3Location(e.output_location));
    EL_ASSIGN_OR_RETURN(auto v, impl_->objects.Head(where.first, where.second, ""));
    EL_ASSIGN_OR_RETURN(auto reader, impl_->objects.Read(where.first, v, 0, v.size));
    std::string text;
    std::string buf(1 << 20, '\0');
    for (;;) {
      EL_ASSIGN_OR_RETURN(size_t n, reader->Read(buf.data(), buf.size()));
      if (n == 0) break;
      text.append(buf.data(), n);
    }
    rows = std::make_shared<Impl::Cached>();
    if (e.statement_type == "DML" || e.header_row) {
      rows->rows = ParseCsv(text);
      if (e.header_row && !rows->rows.empty()) rows->rows.erase(rows->rows.begin());
    } else {
      for (auto line : Split(text, '\n')) {
        if (!line.empty()) rows->rows.push_back({std::string(line)});
      }
    }
    rows->bytes = text.size();
    impl_->Remember(id, rows);
  }
  const size_t total = rows->rows.size() + (e.header_row ? 1 : 0);
  size_t offset = 0;
  if (!token.empty()) {
    char* end = nullptr;
    offset = std::strtoull(token.c_str(), &end, 10);
    if (*end != '\0' || offset > total) return InvalidRequest("NextToken is not valid");
  }
  ResultPage page;
  page.columns = e.columns;
  page.update_count = e.update_count;
  for (size_t i = offset; i < total && page.rows.size() < static_cast<size_t>(max); ++i) {
    if (e.header_row && i == 0) {
      TextRow header;
      for (const auto& c : e.columns) header.push_back(c.name);
      page.rows.push_back(std::move(header));
    } else {
      page.rows.push_back(rows->rows[i - (e.header_row ? 1 : 0)]);
    }
  }
  if (offset + page.rows.size() < total) page.next_token = std::to_string(offset + page.rows.size());
  return page;
}

void QueryExecutor::Impl::WorkerLoop() {
  YieldToIngest();
  for (;;) {
    std::string id;
    {
      std::unique_lock lock(mu);
      work_cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (stopping) return;
      id = queue.front();
      queue.pop_front();
      running[id].deadline_ms = SteadyMs() + options.timeout.count();
    }
    auto e = Load(id);
    if (e.ok()) {
      Run(*e);
    } else {
      spdlog::warn("query: execution {}: {}", id, e.status().ToString());
    }
    std::lock_guard lock(mu);
    running.erase(id);
  }
}

void QueryExecutor::Impl::SpareLoop() {
  YieldToIngest();
  std::unique_lock lock(mu);
  for (;;) {
    spare_cv.wait(lock, [&] { return stopping || !spare || !to_close.empty(); });
    std::vector<std::unique_ptr<Engine>> closing;
    closing.swap(to_close);
    lock.unlock();
    closing.clear();
    lock.lock();
    if (stopping) return;
    if (spare) continue;
    lock.unlock();
    auto e = OpenEngine();
    lock.lock();
    if (!e.ok()) {
      spdlog::warn("query: opening DuckDB: {}", e.status().ToString());
      spare_cv.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; });
      continue;
    }
    spare = std::move(*e);
  }
}

void QueryExecutor::Impl::MonitorLoop() {
  std::unique_lock lock(mu);
  while (!stop_cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping; })) {
    const int64_t now = SteadyMs();
    for (auto& [id, r] : running) {
      if (r.cancelled && r.engine) r.engine->Interrupt();  // again: one that came between two statements is lost
      if (!r.cancelled && now > r.deadline_ms && r.engine) {
        spdlog::info("query: execution {} ran past its timeout of {} s; stopping it", id, options.timeout.count() / 1000);
        r.engine->Interrupt();
      }
    }
  }
}

void QueryExecutor::Impl::Run(Execution& e) {
  // RUNNING lives in memory (Get overlays it): one commit fewer on each query's path.
  e.state = State::kRunning;
  e.started_ms = Ms(clock);
  {
    std::lock_guard lock(mu);
    running[e.id].started_ms = e.started_ms;
  }
  const int64_t started = SteadyMs();
  const std::string work = options.work_dir + "/" + e.id;
  Cached result;
  Status s;
  // A statement may end with ';' (the one statement there may be).
  std::string text = e.sql;
  while (!text.empty() && (std::isspace(static_cast<unsigned char>(text.back())) || text.back() == ';')) text.pop_back();
  auto bound = BindParameters(text, e.parameters);
  if (!bound.ok()) {
    s = bound.status();
  } else if (auto ctas = ParseCtas(*bound, e.database); ctas) {
    s = ctas->ok() ? RunCtas(e, **ctas, work, result) : ctas->status();
  } else if (auto handled = statements ? statements->Handle(*bound, e.database) : std::nullopt; handled) {
    if (handled->ok()) {
      e.statement_type = (*handled)->statement_type;
      e.substatement_type = (*handled)->substatement_type;
      e.columns = (*handled)->columns;
      e.header_row = (*handled)->header_row;
      result.rows = std::move((*handled)->rows);
    } else {
      s = handled->status();
    }
  } else {
    s = RunDuckDb(e, *bound, work, result);
  }
  bool cancelled = false, server_stopping = false;
  int64_t deadline = 0;
  {
    std::lock_guard lock(mu);
    cancelled = running[e.id].cancelled;
    deadline = running[e.id].deadline_ms;
    server_stopping = stopping;
  }
  if (s.ok()) s = WriteResults(e, result);
  e.completed_ms = Ms(clock);
  e.processing_ms = SteadyMs() - started - e.engine_ms - e.planning_ms;
  if (s.ok()) {
    e.state = State::kSucceeded;
    e.result_rows = static_cast<int64_t>(result.rows.size());
    for (const auto& r : result.rows) {
      for (const auto& v : r) result.bytes += v ? v->size() + 3 : 1;
    }
    Remember(e.id, std::make_shared<Cached>(std::move(result)));
  } else if (cancelled) {
    e.state = State::kCancelled;
    e.state_reason = server_stopping ? "The server stopped while the query ran" : "Query cancelled by the user";
  } else {
    e.state = State::kFailed;
    if (s.code() == StatusCode::kCancelled && SteadyMs() > deadline) {
      e.state_reason = "Query timeout: the query ran longer than " + std::to_string(options.timeout.count() / 1000) +
                       " seconds";
      e.error_category = 1;
      e.error_type = "1001";
    } else {
      e.state_reason = s.message();
      e.error_category = s.code() == StatusCode::kInvalidArgument ? 2 : 1;
      e.error_type = s.code() == StatusCode::kInvalidArgument ? "1100" : "1000";
    }
  }
  if (Status saved = Save(e); !saved.ok()) spdlog::warn("query: saving execution {}: {}", e.id, saved.ToString());
  std::error_code ec;  // the links to the files read, once the answer is out
  std::filesystem::remove_all(work, ec);
  spdlog::info("query: {} {} in {} ms, {} bytes scanned{}", e.id, StateName(e.state), e.completed_ms - e.started_ms,
               e.scanned_bytes, e.state == State::kSucceeded ? "" : ": " + e.state_reason);
}

Result<std::unique_ptr<QueryExecutor::Impl::Lease>> QueryExecutor::Impl::Prepare(Execution& e, const std::string& sql,
                                                                                  const std::string& work,
                                                                                  const std::vector<std::string>& writable) {
  const int64_t planning_started = SteadyMs();
  auto lease = std::make_unique<Lease>(this, e.id);
  EL_ASSIGN_OR_RETURN(lease->engine, TakeEngine());
  {
    std::lock_guard lock(mu);
    Running& r = running[e.id];
    if (r.cancelled) return Status::Cancelled("cancelled");
    r.engine = lease->engine.get();
  }
  Engine& engine = *lease->engine;
  // Only a SELECT serializes: anything else is refused, with DuckDB's parse error when it is one.
  auto tables = engine.ReferencedTables(sql);
  if (!tables.ok()) {
    EL_ASSIGN_OR_RETURN(bool is_query, engine.IsQuery(sql));
    if (!is_query) {
      return Status::InvalidArgument(
          "Only SELECT queries and the statements of the catalog (CREATE EXTERNAL TABLE, CREATE TABLE AS SELECT, "
          "DROP TABLE, SHOW, DESCRIBE, MSCK REPAIR TABLE, ALTER TABLE ADD PARTITION) can run.");
    }
    return tables.status();
  }
  std::filesystem::create_directories(work);
  for (const auto& [schema, name] : *tables) {
    const std::string db = schema.empty() ? e.database : schema;
    if (db.empty()) continue;
    auto t = catalog.GetTable(db, name);
    if (!t.ok()) continue;  // DuckDB says the table does not exist
    EL_RETURN_IF_ERROR(lake.Define(engine, *t).status());
  }
  if (!e.database.empty()) {
    EL_RETURN_IF_ERROR(engine.Execute("CREATE SCHEMA IF NOT EXISTS " + QuoteIdentifier(e.database)));
    EL_RETURN_IF_ERROR(engine.Execute("SET search_path = " + QuoteLiteral(e.database + ",main")));
  }
  // From here on the query reads only the files linked for it (and writes only where it is told to).
  std::string allowed = QuoteLiteral(lake.farms_dir() + "/");
  for (const auto& w : writable) allowed += ", " + QuoteLiteral(w + "/");
  EL_RETURN_IF_ERROR(engine.Execute("SET temp_directory = " + QuoteLiteral(work + "/spill")));
  EL_RETURN_IF_ERROR(engine.Execute("SET allowed_directories = [" + allowed + "]"));
  EL_RETURN_IF_ERROR(engine.Execute("SET enable_external_access = false"));
  EL_RETURN_IF_ERROR(engine.CountReads());
  EL_RETURN_IF_ERROR(engine.Execute("SET lock_configuration = true"));
  e.planning_ms = SteadyMs() - planning_started;
  return lease;
}

Status QueryExecutor::Impl::RunDuckDb(Execution& e, const std::string& sql, const std::string& work, Cached& out) {
  EL_ASSIGN_OR_RETURN(auto lease, Prepare(e, sql, work, {}));
  e.statement_type = "DML";
  e.substatement_type = "SELECT";
  e.header_row = true;
  const int64_t engine_started = SteadyMs();
  std::vector<ResultColumn> columns;
  Status s = lease->engine->Query(
      sql, [&](std::vector<ResultColumn> c) { columns = std::move(c); },
      [&](TextRow&& row) {
        out.rows.push_back(std::move(row));
        return true;
      });
  e.engine_ms = SteadyMs() - engine_started;
  EL_RETURN_IF_ERROR(s);
  e.columns.clear();
  for (const auto& c : columns) e.columns.push_back(AthenaColumn(c));
  EL_ASSIGN_OR_RETURN(e.scanned_bytes, lease->engine->BytesRead());
  return Status::Ok();
}

Status QueryExecutor::Impl::RunCtas(Execution& e, const CtasPlan& plan, const std::string& work, Cached& out) {
  e.statement_type = "DDL";
  e.substatement_type = "CREATE_TABLE_AS_SELECT";
  e.header_row = false;
  e.columns = {{"rows", "bigint", 19, 0}};
  (void)out;
  if (catalog.GetTable(plan.database, plan.table).ok()) {
    if (plan.if_not_exists) return Status::Ok();
    return Status::AlreadyExists("Table " + plan.database + "." + plan.table + " already exists");
  }
  const std::string location =
      plan.location.empty() ? options.ctas_root + plan.database + "/" + plan.table + "/" : plan.location;
  EL_ASSIGN_OR_RETURN(auto where, ParseS3Location(location));
  objects::ListRequest probe;
  probe.prefix = where.second;
  probe.max_keys = 1;
  if (auto existing = objects.List(where.first, probe); existing.ok() && !existing->objects.empty()) {
    return Status::InvalidArgument("HIVE_PATH_ALREADY_EXISTS: Target directory for table '" + plan.database + "." +
                                   plan.table + "' already exists: " + location);
  } else if (!existing.ok()) {
    return existing.status();
  }
  const std::string out_dir = work + "/ctas";
  std::filesystem::create_directories(out_dir);
  EL_ASSIGN_OR_RETURN(auto lease, Prepare(e, plan.select, work, {out_dir}));
  Engine& engine = *lease->engine;
  // The columns the SELECT makes: the table's, with the partition columns as its keys.
  std::vector<ResultColumn> result_columns;
  EL_RETURN_IF_ERROR(engine.Query(
      "SELECT * FROM (" + plan.select + "\n) LIMIT 0",
      [&](std::vector<ResultColumn> c) { result_columns = std::move(c); }, [](TextRow&&) { return true; }));
  std::vector<catalog::Column> columns, keys;
  for (const auto& c : result_columns) {
    if (std::find(plan.partitioned_by.begin(), plan.partitioned_by.end(), AsciiLower(c.name)) == plan.partitioned_by.end()) {
      columns.push_back({AsciiLower(c.name), HiveType(c.type), "", {}});
    }
  }
  for (const auto& k : plan.partitioned_by) {
    auto it = std::find_if(result_columns.begin(), result_columns.end(),
                           [&](const ResultColumn& c) { return AsciiLower(c.name) == k; });
    if (it == result_columns.end()) return Status::InvalidArgument("Partition column " + k + " is not in the SELECT");
    keys.push_back({k, HiveType(it->type), "", {}});
  }
  std::string copy = "COPY (" + plan.select + "\n) TO ";
  const std::string ext = plan.format == "JSON" ? ".json" : ".parquet";
  if (keys.empty()) {
    copy += QuoteLiteral(out_dir + "/" + e.id + ext) + " (FORMAT " + plan.format + ")";
  } else {
    std::string by;
    for (const auto& k : keys) by += (by.empty() ? "" : ", ") + QuoteIdentifier(k.name);
    copy += QuoteLiteral(out_dir) + " (FORMAT " + plan.format + ", PARTITION_BY (" + by + "), FILENAME_PATTERN " +
            QuoteLiteral(e.id + "_{i}") + ")";
  }
  const int64_t engine_started = SteadyMs();
  EL_ASSIGN_OR_RETURN(int64_t rows, engine.ExecuteCountingRows(copy));
  e.engine_ms = SteadyMs() - engine_started;
  EL_ASSIGN_OR_RETURN(e.scanned_bytes, engine.BytesRead());
  // The files into the lake, then the table (and its partitions) into the catalog.
  std::set<std::vector<std::string>> partitions;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(out_dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const std::string rel = std::filesystem::relative(it->path(), out_dir).generic_string();
    EL_ASSIGN_OR_RETURN(auto blob, objects.NewBlob());
    std::ifstream in(it->path(), std::ios::binary);
    std::string buf(1 << 20, '\0');
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      if (in.gcount() > 0) EL_RETURN_IF_ERROR(blob->Write(std::string_view(buf.data(), static_cast<size_t>(in.gcount()))));
    }
    EL_RETURN_IF_ERROR(objects.PutObject(where.first, where.second + rel, std::move(blob), ResultEtag(), {}, {}).status());
    if (!keys.empty()) {
      std::vector<std::string> values;
      auto parts = Split(rel, '/');
      for (size_t i = 0; i < keys.size() && i + 1 < parts.size(); ++i) {
        const std::string_view seg = parts[i];
        const size_t eq = seg.find('=');
        values.push_back(PercentDecode(seg.substr(eq == std::string_view::npos ? 0 : eq + 1)).value_or(std::string(seg)));
      }
      if (values.size() == keys.size()) partitions.insert(values);
    }
  }
  catalog::Table t = ExternalTable(plan.table, columns, keys, plan.format, location);
  EL_RETURN_IF_ERROR(catalog.CreateTable(plan.database, t));
  std::vector<catalog::Partition> batch;
  for (const auto& values : partitions) {
    catalog::Partition p;
    p.values = values;
    batch.push_back(std::move(p));
  }
  for (size_t i = 0; i < batch.size(); i += 100) {
    std::vector<catalog::Partition> some(batch.begin() + i, batch.begin() + std::min(batch.size(), i + 100));
    EL_RETURN_IF_ERROR(catalog.CreatePartitions(plan.database, plan.table, std::move(some)).status());
  }
  e.update_count = rows;
  return Status::Ok();
}

Status QueryExecutor::Impl::WriteResults(Execution& e, const Cached& rows) {
  // SELECT results as CSV with a header; what DDL and SHOW print as text, one line a row.
  const bool csv = e.statement_type == "DML";
  if (e.output_location.size() < 4 || (e.output_location.substr(e.output_location.size() - 4) != ".csv" &&
                                       e.output_location.substr(e.output_location.size() - 4) != ".txt")) {
    e.output_location += csv ? ".csv" : ".txt";
  }
  EL_ASSIGN_OR_RETURN(auto where, ParseS3Location(e.output_location));
  EL_ASSIGN_OR_RETURN(auto blob, objects.NewBlob());
  std::string text;
  auto flush = [&](bool last) -> Status {
    if (text.size() < (1 << 20) && !last) return Status::Ok();
    EL_RETURN_IF_ERROR(blob->Write(text));
    text.clear();
    return Status::Ok();
  };
  if (csv) {
    for (size_t i = 0; i < e.columns.size(); ++i) {
      if (i) text += ',';
      AppendCsvField(text, e.columns[i].name);
    }
    text += '\n';
    for (const auto& r : rows.rows) {
      for (size_t i = 0; i < r.size(); ++i) {
        if (i) text += ',';
        AppendCsvField(text, r[i]);
      }
      text += '\n';
      EL_RETURN_IF_ERROR(flush(false));
    }
  } else {
    for (const auto& r : rows.rows) {
      for (size_t i = 0; i < r.size(); ++i) text += (i ? "\t" : "") + r[i].value_or("");
      text += '\n';
      EL_RETURN_IF_ERROR(flush(false));
    }
  }
  EL_RETURN_IF_ERROR(flush(true));
  // The metadata beside them (the columns, as GetQueryResults gives them) commits on a second thread
  // while the results commit on this one: each commit waits for the disk.
  json cols = json::array();
  for (const auto& c : e.columns) {
    cols.push_back({{"Name", c.name}, {"Label", c.name}, {"Type", c.type}, {"Precision", c.precision},
                    {"Scale", c.scale}, {"Nullable", "UNKNOWN"}, {"CaseSensitive", c.type == "varchar"}});
  }
  const std::string meta_text = json{{"ColumnInfo", cols}, {"Rows", rows.rows.size()}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  Status metadata_status;
  std::thread metadata_writer([&] {
    metadata_status = [&]() -> Status {
      EL_ASSIGN_OR_RETURN(auto meta_blob, objects.NewBlob());
      EL_RETURN_IF_ERROR(meta_blob->Write(meta_text));
      return objects.PutObject(where.first, where.second + ".metadata", std::move(meta_blob), ResultEtag(), {}, {})
          .status();
    }();
  });
  objects::ObjectAttributes attrs;
  attrs.content_type = csv ? "text/csv" : "text/plain";
  auto put = objects.PutObject(where.first, where.second, std::move(blob), ResultEtag(), attrs, {});
  metadata_writer.join();
  if (!put.ok()) {
    return Status::InvalidArgument("Unable to write the query results to " + e.output_location + ": " +
                                   put.status().message());
  }
  return metadata_status;
}

}  // namespace eventlake::query
