#include "api/athena.h"

#include "api/json_input.h"
#include "common/strings.h"

namespace eventlake::api {
namespace {

constexpr const char* kCatalogName = "AwsDataCatalog";
constexpr const char* kWorkGroup = "primary";

Status InvalidRequest(const std::string& msg) {
  return Status::InvalidArgument(msg).WithType("InvalidRequestException");
}
Status Metadata(const std::string& msg) { return Status::InvalidArgument(msg).WithType("MetadataException"); }

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

json ExecutionJson(const query::Execution& e) {
  json status = {{"State", query::StateName(e.state)}, {"SubmissionDateTime", Seconds(e.submitted_ms)}};
  if (!e.state_reason.empty()) status["StateChangeReason"] = e.state_reason;
  if (e.completed_ms) status["CompletionDateTime"] = Seconds(e.completed_ms);
  if (e.state == query::State::kFailed) {
    status["AthenaError"] = {{"ErrorCategory", e.error_category ? e.error_category : 2},
                             {"ErrorType", std::atoi(e.error_type.empty() ? "1100" : e.error_type.c_str())},
                             {"Retryable", e.error_category == 1},
                             {"ErrorMessage", e.state_reason}};
  }
  const int64_t queue_ms = e.started_ms ? e.started_ms - e.submitted_ms : 0;
  const int64_t total_ms = e.completed_ms ? e.completed_ms - e.submitted_ms : 0;
  json stats = {{"EngineExecutionTimeInMillis", e.engine_ms},
                {"DataScannedInBytes", e.scanned_bytes},
                {"TotalExecutionTimeInMillis", total_ms},
                {"QueryQueueTimeInMillis", queue_ms},
                {"QueryPlanningTimeInMillis", e.planning_ms},
                {"ServiceProcessingTimeInMillis", std::max<int64_t>(e.processing_ms, 0)},
                {"ResultReuseInformation", {{"ReusedPreviousResult", false}}}};
  json context = {{"Catalog", e.catalog}};
  if (!e.database.empty()) context["Database"] = e.database;
  json j = {{"QueryExecutionId", e.id},
            {"Query", e.sql},
            {"StatementType", e.statement_type},
            {"ResultConfiguration", {{"OutputLocation", e.output_location}}},
            {"ResultReuseConfiguration", {{"ResultReuseByAgeConfiguration", {{"Enabled", false}}}}},
            {"QueryExecutionContext", context},
            {"Status", status},
            {"Statistics", stats},
            {"WorkGroup", e.workgroup},
            {"EngineVersion", {{"SelectedEngineVersion", "AUTO"}, {"EffectiveEngineVersion", "Athena engine version 3"}}}};
  if (!e.substatement_type.empty()) j["SubstatementType"] = e.substatement_type;
  if (!e.parameters.empty()) j["ExecutionParameters"] = e.parameters;
  return j;
}

json ColumnsJson(const std::vector<catalog::Column>& cols) {
  json out = json::array();
  for (const auto& c : cols) {
    json j = {{"Name", c.name}, {"Type", c.type}};
    if (!c.comment.empty()) j["Comment"] = c.comment;
    out.push_back(j);
  }
  return out;
}

json TableMetadataJson(const catalog::Table& t) {
  json j = {{"Name", t.name},
            {"CreateTime", Seconds(t.create_time_ms)},
            {"TableType", t.table_type.empty() ? "EXTERNAL_TABLE" : t.table_type},
            {"Columns", ColumnsJson(t.storage ? t.storage->columns : std::vector<catalog::Column>{})},
            {"PartitionKeys", ColumnsJson(t.partition_keys)}};
  if (t.last_access_time_ms) j["LastAccessTime"] = Seconds(t.last_access_time_ms);
  json params = t.parameters;
  if (t.storage) {
    if (!t.storage->location.empty()) params["location"] = t.storage->location;
    if (!t.storage->input_format.empty()) params["inputformat"] = t.storage->input_format;
    if (!t.storage->output_format.empty()) params["outputformat"] = t.storage->output_format;
    if (t.storage->serde) params["serde.serialization.lib"] = t.storage->serde->serialization_library;
  }
  j["Parameters"] = params;
  return j;
}

}  // namespace

JsonService AthenaApi::Service() {
  JsonService svc;
  svc.target_prefix = "AmazonAthena";
  svc.signing_name = "athena";
  svc.max_body_bytes = 2 << 20;
  svc.error_names = {{StatusCode::kInvalidArgument, "InvalidRequestException"},
                     {StatusCode::kNotFound, "InvalidRequestException"},
                     {StatusCode::kResourceExhausted, "TooManyRequestsException"}};
  using Body = std::function<Result<json>(RequestContext&, Input&, const json&)>;
  auto op = [](const char* action, Body body) -> JsonOperation {
    return WithInput([action, body](RequestContext& ctx, Input& in, const json& parsed, JsonReply reply) {
      const std::string arn = "arn:aws:athena:" + ctx.server().region + ":" + ctx.server().account_id + ":workgroup/" +
                              kWorkGroup;
      if (Status s = ctx.Authorize(std::string("athena:") + action, arn); !s.ok()) return reply(s);
      Result<json> out = body(ctx, in, parsed);
      if (!out.ok()) return reply(out.status());
      reply(Dump(*out));
    });
  };
  auto require_catalog = [](Input& in, const char* member, const char* field, bool required) -> Status {
    auto name = in.Str(member, field, required, 1, 256);
    EL_RETURN_IF_ERROR(in.Check());
    if (name && *name != kCatalogName && AsciiLower(*name) != "awsdatacatalog") {
      return InvalidRequest("Catalog " + *name + " was not found");
    }
    return Status::Ok();
  };
  auto require_workgroup = [](Input& in) -> Result<std::string> {
    auto wg = in.Str("WorkGroup", "workGroup", false, 0, 128);
    EL_RETURN_IF_ERROR(in.Check());
    const std::string name = !wg || wg->empty() ? std::string(kWorkGroup) : *wg;
    if (name != kWorkGroup) return InvalidRequest("WorkGroup " + name + " is not found.");
    return name;
  };

  svc.operations["StartQueryExecution"] = op("StartQueryExecution", [this, require_workgroup](
                                                                        RequestContext&, Input& in, const json& body) -> Result<json> {
    query::SubmitRequest req;
    req.sql = in.Str("QueryString", "queryString", true, 1, 262144).value_or("");
    req.client_token = in.Str("ClientRequestToken", "clientRequestToken", false, 32, 128).value_or("");
    if (const json* ctx = in.Member("QueryExecutionContext", json::value_t::object)) {
      Input c(*ctx);
      req.database = c.Str("Database", "queryExecutionContext.database", false, 1, 255).value_or("");
      req.catalog = c.Str("Catalog", "queryExecutionContext.catalog", false, 1, 256).value_or("");
      EL_RETURN_IF_ERROR(c.Check());
    }
    if (const json* rc = in.Member("ResultConfiguration", json::value_t::object)) {
      Input r(*rc);
      req.output_location = r.Str("OutputLocation", "resultConfiguration.outputLocation", false).value_or("");
      EL_RETURN_IF_ERROR(r.Check());
    }
    if (const json* params = in.Member("ExecutionParameters", json::value_t::array)) {
      for (const auto& p : *params) {
        if (!p.is_string()) return Serialization("ExecutionParameters must be a list of strings");
        req.parameters.push_back(p.get<std::string>());
      }
    }
    (void)body;
    EL_ASSIGN_OR_RETURN(req.workgroup, require_workgroup(in));
    if (!req.catalog.empty() && AsciiLower(req.catalog) != "awsdatacatalog") {
      return InvalidRequest("Catalog " + req.catalog + " was not found");
    }
    if (req.output_location.empty()) req.output_location = default_output_;
    EL_ASSIGN_OR_RETURN(std::string id, executor_.Submit(std::move(req)));
    return json{{"QueryExecutionId", id}};
  });
  auto execution_id = [](Input& in) -> Result<std::string> {
    auto id = in.Str("QueryExecutionId", "queryExecutionId", true, 1, 128);
    EL_RETURN_IF_ERROR(in.Check());
    return *id;
  };
  svc.operations["GetQueryExecution"] = op("GetQueryExecution", [this, execution_id](RequestContext&, Input& in,
                                                                                    const json&) -> Result<json> {
    EL_ASSIGN_OR_RETURN(std::string id, execution_id(in));
    EL_ASSIGN_OR_RETURN(auto e, executor_.Get(id));
    return json{{"QueryExecution", ExecutionJson(e)}};
  });
  svc.operations["StopQueryExecution"] = op("StopQueryExecution", [this, execution_id](RequestContext&, Input& in,
                                                                                      const json&) -> Result<json> {
    EL_ASSIGN_OR_RETURN(std::string id, execution_id(in));
    EL_RETURN_IF_ERROR(executor_.Cancel(id));
    return json::object();
  });
  svc.operations["GetQueryResults"] = op("GetQueryResults", [this, execution_id](RequestContext&, Input& in,
                                                                                const json&) -> Result<json> {
    auto token = in.Str("NextToken", "nextToken", false, 1, 1024);
    auto max = in.Int("MaxResults", "maxResults", false, 1, 1000);
    EL_ASSIGN_OR_RETURN(std::string id, execution_id(in));
    EL_ASSIGN_OR_RETURN(auto page, executor_.Results(id, token.value_or(""), static_cast<int>(max.value_or(1000))));
    json cols = json::array();
    for (const auto& c : page.columns) {
      cols.push_back({{"CatalogName", "hive"}, {"SchemaName", ""}, {"TableName", ""}, {"Name", c.name}, {"Label", c.name},
                      {"Type", c.type}, {"Precision", c.precision}, {"Scale", c.scale}, {"Nullable", "UNKNOWN"},
                      {"CaseSensitive", c.type == "varchar"}});
    }
    json rows = json::array();
    for (const auto& r : page.rows) {
      json data = json::array();
      for (const auto& v : r) data.push_back(v ? json{{"VarCharValue", *v}} : json::object());
      rows.push_back({{"Data", data}});
    }
    json out = {{"ResultSet", {{"Rows", rows}, {"ResultSetMetadata", {{"ColumnInfo", cols}}}}},
                {"UpdateCount", page.update_count.value_or(0)}};
    if (!page.next_token.empty()) out["NextToken"] = page.next_token;
    return out;
  });
  svc.operations["ListQueryExecutions"] = op("ListQueryExecutions", [this, require_workgroup](
                                                                        RequestContext&, Input& in, const json&) -> Result<json> {
    auto token = in.Str("NextToken", "nextToken", false, 1, 1024);
    auto max = in.Int("MaxResults", "maxResults", false, 0, 50);
    EL_ASSIGN_OR_RETURN(std::string wg, require_workgroup(in));
    EL_ASSIGN_OR_RETURN(auto page, executor_.List(wg, token.value_or(""), static_cast<int>(max.value_or(50))));
    json out = {{"QueryExecutionIds", page.items}};
    if (!page.next_token.empty()) out["NextToken"] = page.next_token;
    return out;
  });
  svc.operations["BatchGetQueryExecution"] = op("BatchGetQueryExecution", [this](RequestContext&, Input& in,
                                                                                const json&) -> Result<json> {
    const json* ids = in.Member("QueryExecutionIds", json::value_t::array);
    if (!ids) in.Fail("Value null at 'queryExecutionIds' failed to satisfy constraint: Member must not be null");
    if (ids && (ids->empty() || ids->size() > 50)) {
      in.Fail("Value at 'queryExecutionIds' failed to satisfy constraint: Member must have length between 1 and 50");
    }
    EL_RETURN_IF_ERROR(in.Check());
    json found = json::array(), missing = json::array();
    for (const auto& id : *ids) {
      if (!id.is_string()) return Serialization("QueryExecutionIds must be a list of strings");
      auto e = executor_.Get(id.get<std::string>());
      if (e.ok()) {
        found.push_back(ExecutionJson(*e));
      } else {
        missing.push_back({{"QueryExecutionId", id}, {"ErrorCode", "INVALID_INPUT"}, {"ErrorMessage", e.status().message()}});
      }
    }
    return json{{"QueryExecutions", found}, {"UnprocessedQueryExecutionIds", missing}};
  });

  // ---- catalog browsing ----
  svc.operations["ListDataCatalogs"] = op("ListDataCatalogs", [](RequestContext&, Input&, const json&) -> Result<json> {
    return json{{"DataCatalogsSummary", json::array({{{"CatalogName", kCatalogName}, {"Type", "GLUE"}}})}};
  });
  svc.operations["GetDataCatalog"] = op("GetDataCatalog", [require_catalog](RequestContext& ctx, Input& in,
                                                                            const json&) -> Result<json> {
    EL_RETURN_IF_ERROR(require_catalog(in, "Name", "name", true));
    return json{{"DataCatalog", {{"Name", kCatalogName},
                                 {"Description", "The lake's catalog"},
                                 {"Type", "GLUE"},
                                 {"Parameters", {{"catalog-id", ctx.server().account_id}}}}}};
  });
  svc.operations["ListDatabases"] = op("ListDatabases", [this, require_catalog](RequestContext&, Input& in,
                                                                                const json&) -> Result<json> {
    auto token = in.Str("NextToken", "nextToken", false, 1, 1024);
    auto max = in.Int("MaxResults", "maxResults", false, 1, 50);
    EL_RETURN_IF_ERROR(require_catalog(in, "CatalogName", "catalogName", true));
    EL_ASSIGN_OR_RETURN(auto page, catalog_.ListDatabases(token.value_or(""), static_cast<int>(max.value_or(50))));
    json list = json::array();
    for (const auto& db : page.items) {
      json j = {{"Name", db.name}, {"Parameters", db.parameters}};
      if (!db.description.empty()) j["Description"] = db.description;
      list.push_back(j);
    }
    json out = {{"DatabaseList", list}};
    if (!page.next_token.empty()) out["NextToken"] = page.next_token;
    return out;
  });
  svc.operations["GetDatabase"] = op("GetDatabase", [this, require_catalog](RequestContext&, Input& in,
                                                                            const json&) -> Result<json> {
    auto name = in.Str("DatabaseName", "databaseName", true, 1, 128);
    EL_RETURN_IF_ERROR(require_catalog(in, "CatalogName", "catalogName", true));
    auto db = catalog_.GetDatabase(*name);
    if (!db.ok()) return Metadata(db.status().message());
    json j = {{"Name", db->name}, {"Parameters", db->parameters}};
    if (!db->description.empty()) j["Description"] = db->description;
    return json{{"Database", j}};
  });
  svc.operations["ListTableMetadata"] = op("ListTableMetadata", [this, require_catalog](RequestContext&, Input& in,
                                                                                        const json&) -> Result<json> {
    auto db = in.Str("DatabaseName", "databaseName", true, 1, 128);
    auto expression = in.Str("Expression", "expression", false, 0, 256);
    auto token = in.Str("NextToken", "nextToken", false, 1, 1024);
    auto max = in.Int("MaxResults", "maxResults", false, 1, 50);
    EL_RETURN_IF_ERROR(require_catalog(in, "CatalogName", "catalogName", true));
    std::string pattern = expression.value_or("");
    for (size_t i = 0; i < pattern.size(); ++i) {  // Athena's wildcard is a bare *
      if (pattern[i] == '*' && (i == 0 || pattern[i - 1] != '.')) pattern.insert(i++, ".");
    }
    auto page = catalog_.ListTables(*db, pattern, token.value_or(""), static_cast<int>(max.value_or(50)));
    if (!page.ok()) return Metadata(page.status().message());
    json list = json::array();
    for (const auto& t : page->items) list.push_back(TableMetadataJson(t));
    json out = {{"TableMetadataList", list}};
    if (!page->next_token.empty()) out["NextToken"] = page->next_token;
    return out;
  });
  svc.operations["GetTableMetadata"] = op("GetTableMetadata", [this, require_catalog](RequestContext&, Input& in,
                                                                                      const json&) -> Result<json> {
    auto db = in.Str("DatabaseName", "databaseName", true, 1, 128);
    auto name = in.Str("TableName", "tableName", true, 1, 128);
    EL_RETURN_IF_ERROR(require_catalog(in, "CatalogName", "catalogName", true));
    auto t = catalog_.GetTable(*db, *name);
    if (!t.ok()) return Metadata(t.status().message());
    return json{{"TableMetadata", TableMetadataJson(*t)}};
  });

  // ---- work groups: the one there is ----
  auto workgroup_json = [this]() {
    return json{{"Name", kWorkGroup},
                {"State", "ENABLED"},
                {"Description", "The default work group"},
                {"CreationTime", Seconds(created_ms_)},
                {"Configuration",
                 {{"ResultConfiguration", {{"OutputLocation", default_output_}}},
                  {"EnforceWorkGroupConfiguration", false},
                  {"PublishCloudWatchMetricsEnabled", false},
                  {"RequesterPaysEnabled", false},
                  {"EngineVersion", {{"SelectedEngineVersion", "AUTO"}, {"EffectiveEngineVersion", "Athena engine version 3"}}}}}};
  };
  svc.operations["GetWorkGroup"] = op("GetWorkGroup", [workgroup_json](RequestContext&, Input& in,
                                                                       const json&) -> Result<json> {
    auto name = in.Str("WorkGroup", "workGroup", true, 1, 128);
    EL_RETURN_IF_ERROR(in.Check());
    if (*name != kWorkGroup) return InvalidRequest("WorkGroup " + *name + " is not found.");
    return json{{"WorkGroup", workgroup_json()}};
  });
  svc.operations["ListWorkGroups"] = op("ListWorkGroups", [workgroup_json](RequestContext&, Input&,
                                                                           const json&) -> Result<json> {
    json wg = workgroup_json();
    return json{{"WorkGroups", json::array({{{"Name", wg["Name"]},
                                             {"State", wg["State"]},
                                             {"Description", wg["Description"]},
                                             {"CreationTime", wg["CreationTime"]},
                                             {"EngineVersion", wg["Configuration"]["EngineVersion"]}}})}};
  });
  return svc;
}

}  // namespace eventlake::api
