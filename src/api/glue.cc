#include "api/glue.h"

#include <utility>

#include "api/json_input.h"
#include "common/strings.h"

namespace eventlake::api {
namespace {

using catalog::Catalog;

constexpr size_t kNameMax = 255;

Status NotFound(const std::string& what) { return Status::NotFound(what).WithType("EntityNotFoundException"); }
Status InvalidInput(const std::string& what) {
  return Status::InvalidArgument(what).WithType("InvalidInputException");
}

std::string Arn(const RequestContext& ctx, const std::string& resource) {
  return "arn:aws:glue:" + ctx.server().region + ":" + ctx.server().account_id + ":" + resource;
}

// Glue's GetTables Expression is a regular expression in which a bare `*`
// (as users write it) means any run of characters.
std::string NamePattern(const std::string& expression) {
  std::string out;
  for (size_t i = 0; i < expression.size(); ++i) {
    const char c = expression[i];
    if (c == '*' && (i == 0 || (expression[i - 1] != '.' && expression[i - 1] != ')' && expression[i - 1] != ']' &&
                                expression[i - 1] != '\\'))) {
      out += ".*";
    } else {
      out += c;
    }
  }
  return out;
}

json ErrorDetail(const Status& s) {
  return {{"ErrorCode", s.type().empty() ? std::string("InternalServiceException") : s.type()},
          {"ErrorMessage", s.message()}};
}

json WithCatalogId(json j, const RequestContext& ctx) {
  j["CatalogId"] = ctx.server().account_id;
  return j;
}

// Values of a partition as a list of strings (PartitionValueList.Values or a bare list).
Result<std::vector<std::string>> StringList(const json& j, const char* what) {
  if (!j.is_array()) return Serialization(std::string(what) + " must be a list");
  std::vector<std::string> out;
  for (const auto& v : j) {
    if (!v.is_string()) return Serialization(std::string(what) + " must be a list of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

// A list member the action needs, of at most `max` items; null (with the
// failure noted) when missing.
const json* RequiredList(Input& in, const char* member, const char* field, size_t max) {
  const json* list = in.Member(member, json::value_t::array);
  if (!list) {
    in.Fail(std::string("Value null at '") + field + "' failed to satisfy constraint: Member must not be null");
  } else if (list->size() > max) {
    in.Fail(std::string("Value at '") + field +
            "' failed to satisfy constraint: Member must have length less than or equal to " + std::to_string(max));
  }
  return list;
}

// The Values of one PartitionValueList item.
Result<std::vector<std::string>> ValuesOf(const json& item, const char* what) {
  if (!item.is_object() || !item.contains("Values")) return Serialization(std::string(what) + " must hold Values lists");
  return StringList(item["Values"], "Values");
}

}  // namespace

JsonService GlueApi::Service() {
  JsonService svc;
  svc.target_prefix = "AWSGlue";
  svc.signing_name = "glue";
  svc.max_body_bytes = 8 << 20;
  svc.error_names = {{StatusCode::kNotFound, "EntityNotFoundException"},
                     {StatusCode::kAlreadyExists, "AlreadyExistsException"},
                     {StatusCode::kFailedPrecondition, "ConcurrentModificationException"},
                     {StatusCode::kResourceExhausted, "ResourceNumberLimitExceededException"}};

  // Every operation: decode on the caller's thread, authorize, then run on the
  // API's pool (catalog changes commit to the store, which may wait on the disk).
  using Body = std::function<Result<json>(RequestContext&, Input&, const json&)>;
  auto op = [this](const char* action, Body body) -> JsonOperation {
    return WithInput([this, action, body](RequestContext& ctx, Input& in, const json& parsed, JsonReply reply) {
      auto catalog_id = in.Str("CatalogId", "catalogId", false, 1, kNameMax);
      if (Status s = in.Check(); !s.ok()) return reply(s);
      if (catalog_id && *catalog_id != ctx.server().account_id) {
        return reply(NotFound("Catalog " + *catalog_id + " not found."));
      }
      if (Status s = ctx.Authorize(std::string("glue:") + action, Arn(ctx, "catalog")); !s.ok()) return reply(s);
      pool_.Post([&ctx, parsed, body, reply = std::move(reply)]() mutable {
        Input members(parsed);
        Result<json> out = body(ctx, members, parsed);
        if (!out.ok()) return reply(out.status());
        reply(Dump(*out));
      });
    });
  };
  auto database_name = [](Input& in, const char* member, const char* field) {
    return in.Str(member, field, true, 1, kNameMax).value_or("");
  };
  auto paging = [](Input& in, int max_max, int default_max, std::string* token) {
    *token = in.Str("NextToken", "nextToken", false).value_or("");
    return static_cast<int>(in.Int("MaxResults", "maxResults", false, 1, max_max).value_or(default_max));
  };

  // ---- databases ----
  svc.operations["CreateDatabase"] = op("CreateDatabase", [this](RequestContext&, Input& in, const json&) -> Result<json> {
    const json* input = in.Member("DatabaseInput", json::value_t::object);
    if (!input) in.Fail("Value null at 'databaseInput' failed to satisfy constraint: Member must not be null");
    EL_RETURN_IF_ERROR(in.Check());
    Input di(*input);
    di.Str("Name", "databaseInput.name", true, 1, kNameMax);
    EL_RETURN_IF_ERROR(di.Check());
    EL_ASSIGN_OR_RETURN(catalog::Database db, catalog::DatabaseFromJson(*input));
    EL_RETURN_IF_ERROR(catalog_.CreateDatabase(std::move(db)));
    return json::object();
  });
  svc.operations["GetDatabase"] = op("GetDatabase", [this, database_name](RequestContext& ctx, Input& in,
                                                                          const json&) -> Result<json> {
    const std::string name = database_name(in, "Name", "name");
    EL_RETURN_IF_ERROR(in.Check());
    EL_ASSIGN_OR_RETURN(catalog::Database db, catalog_.GetDatabase(name));
    return json{{"Database", WithCatalogId(catalog::ToJson(db), ctx)}};
  });
  svc.operations["GetDatabases"] = op("GetDatabases", [this, paging](RequestContext& ctx, Input& in,
                                                                     const json&) -> Result<json> {
    std::string token;
    const int max = paging(in, 100, 100, &token);
    EL_RETURN_IF_ERROR(in.Check());
    EL_ASSIGN_OR_RETURN(auto page, catalog_.ListDatabases(token, max));
    json list = json::array();
    for (const auto& db : page.items) list.push_back(WithCatalogId(catalog::ToJson(db), ctx));
    json out = {{"DatabaseList", list}};
    if (!page.next_token.empty()) out["NextToken"] = page.next_token;
    return out;
  });
  svc.operations["UpdateDatabase"] = op("UpdateDatabase", [this, database_name](RequestContext&, Input& in,
                                                                                const json&) -> Result<json> {
    const std::string name = database_name(in, "Name", "name");
    const json* input = in.Member("DatabaseInput", json::value_t::object);
    if (!input) in.Fail("Value null at 'databaseInput' failed to satisfy constraint: Member must not be null");
    EL_RETURN_IF_ERROR(in.Check());
    EL_ASSIGN_OR_RETURN(catalog::Database db, catalog::DatabaseFromJson(*input));
    EL_RETURN_IF_ERROR(catalog_.UpdateDatabase(name, std::move(db)));
    return json::object();
  });
  svc.operations["DeleteDatabase"] = op("DeleteDatabase", [this, database_name](RequestContext&, Input& in,
                                                                                const json&) -> Result<json> {
    const std::string name = database_name(in, "Name", "name");
    EL_RETURN_IF_ERROR(in.Check());
    EL_RETURN_IF_ERROR(catalog_.DeleteDatabase(name));
    return json::object();
  });

  // ---- tables ----
  auto table_input = [](Input& in) -> Result<catalog::Table> {
    const json* input = in.Member("TableInput", json::value_t::object);
    if (!input) in.Fail("Value null at 'tableInput' failed to satisfy constraint: Member must not be null");
    EL_RETURN_IF_ERROR(in.Check());
    Input ti(*input);
    ti.Str("Name", "tableInput.name", true, 1, kNameMax);
    EL_RETURN_IF_ERROR(ti.Check());
    return catalog::TableFromJson(*input);
  };
  svc.operations["CreateTable"] = op("CreateTable", [this, database_name, table_input](
                                                        RequestContext&, Input& in, const json&) -> Result<json> {
    const std::string db = database_name(in, "DatabaseName", "databaseName");
    EL_ASSIGN_OR_RETURN(catalog::Table t, table_input(in));
    EL_RETURN_IF_ERROR(catalog_.CreateTable(db, std::move(t)));
    return json::object();
  });
  svc.operations["GetTable"] = op("GetTable", [this, database_name](RequestContext& ctx, Input& in,
                                                                    const json&) -> Result<json> {
    const std::string db = database_name(in, "DatabaseName", "databaseName");
    const std::string name = database_name(in, "Name", "name");
    EL_RETURN_IF_ERROR(in.Check());
    EL_ASSIGN_OR_RETURN(catalog::Table t, catalog_.GetTable(db, name));
    return json{{"Table", WithCatalogId(catalog::ToJson(t), ctx)}};
  });
  svc.operations["GetTables"] = op("GetTables", [this, database_name, paging](RequestContext& ctx, Input& in,
                                                                              const json&) -> Result<json> {
    const std::string db = database_name(in, "DatabaseName", "databaseName");
    const std::string expression = in.Str("Expression", "expression", false, 0, 2048).value_or("");
    std::string token;
    const int max = paging(in, 100, 100, &token);
    EL_RETURN_IF_ERROR(in.Check());
    EL_ASSIGN_OR_RETURN(auto page, catalog_.ListTables(db, NamePattern(expression), token, max));
    json list = json::array();
    for (const auto& t : page.items) list.push_back(WithCatalogId(catalog::ToJson(t), ctx));
    json out = {{"TableList", list}};
    if (!page.next_token.empty()) out["NextToken"] = page.next_token;
    return out;
  });
  svc.operations["UpdateTable"] = op("UpdateTable", [this, database_name, table_input](
                                                        RequestContext&, Input& in, const json&) -> Result<json> {
    const std::string db = database_name(in, "DatabaseName", "databaseName");
    const bool skip_archive = in.Bool("SkipArchive").value_or(false);
    const std::string version = in.Str("VersionId", "versionId", false, 1, kNameMax).value_or("");
    EL_ASSIGN_OR_RETURN(catalog::Table t, table_input(in));
    EL_RETURN_IF_ERROR(catalog_.UpdateTable(db, std::move(t), skip_archive, version).status());
    return json::object();
  });
  svc.operations["DeleteTable"] = op("DeleteTable", [this, database_name](RequestContext&, Input& in,
                                                                          const json&) -> Result<json> {
    const std::string db = database_name(in, "DatabaseName", "databaseName");
    const std::string name = database_name(in, "Name", "name");
    EL_RETURN_IF_ERROR(in.Check());
    EL_RETURN_IF_ERROR(catalog_.DeleteTable(db, name));
    return json::object();
  });
  svc.operations["BatchDeleteTable"] = op("BatchDeleteTable", [this, database_name](RequestContext&, Input& in,
                                                                                    const json&) -> Result<json> {
    const std::string db = database_name(in, "DatabaseName", "databaseName");
    const json* names = RequiredList(in, "TablesToDelete", "tablesToDelete", 100);
    EL_RETURN_IF_ERROR(in.Check());
    EL_ASSIGN_OR_RETURN(auto list, StringList(*names, "TablesToDelete"));
    json errors = json::array();
    for (const auto& name : list) {
      if (Status s = catalog_.DeleteTable(db, name); !s.ok()) {
        errors.push_back({{"TableName", name}, {"ErrorDetail", ErrorDetail(s)}});
      }
    }
    return json{{"Errors", errors}};
  });
  svc.operations["GetTableVersions"] = op("GetTableVersions", [this, database_name, paging](
                                                                  RequestContext& ctx, Input& in, const json&) -> Result<json> {
    const std::string db = database_name(in, "DatabaseName", "databaseName");
    const std::string name = database_name(in, "TableName", "tableName");
    std::string token;
    const int max = paging(in, 100, 100, &token);
    EL_RETURN_IF_ERROR(in.Check());
    EL_ASSIGN_OR_RETURN(auto page, catalog_.ListTableVersions(db, name, token, max));
    json list = json::array();
    for (const auto& v : page.items) {
      list.push_back({{"Table", WithCatalogId(catalog::ToJson(v.table), ctx)}, {"VersionId", v.version_id}});
    }
    json out = {{"TableVersions", list}};
    if (!page.next_token.empty()) out["NextToken"] = page.next_token;
    return out;
  });
  svc.operations["GetTableVersion"] = op("GetTableVersion", [this, database_name](RequestContext& ctx, Input& in,
                                                                                  const json&) -> Result<json> {
    const std::string db = database_name(in, "DatabaseName", "databaseName");
    const std::string name = database_name(in, "TableName", "tableName");
    const std::string version = in.Str("VersionId", "versionId", false, 1, kNameMax).value_or("");
    EL_RETURN_IF_ERROR(in.Check());
    EL_ASSIGN_OR_RETURN(auto v, catalog_.GetTableVersion(db, name, version));
    return json{{"TableVersion", {{"Table", WithCatalogId(catalog::ToJson(v.table), ctx)}, {"VersionId", v.version_id}}}};
  });
  svc.operations["DeleteTableVersion"] = op("DeleteTableVersion", [this, database_name](RequestContext&, Input& in,
                                                                                        const json&) -> Result<json> {
    const std::string db = database_name(in, "DatabaseName", "databaseName");
    const std::string name = database_name(in, "TableName", "tableName");
    const std::string version = in.Str("VersionId", "versionId", true, 1, kNameMax).value_or("");
    EL_RETURN_IF_ERROR(in.Check());
    EL_RETURN_IF_ERROR(catalog_.DeleteTableVersion(db, name, version));
    return json::object();
  });
  svc.operations["BatchDeleteTableVersion"] = op("BatchDeleteTableVersion", [this, database_name](
                                                                                RequestContext&, Input& in, const json&) -> Result<json> {
    const std::string db = database_name(in, "DatabaseName", "databaseName");
    const std::string name = database_name(in, "TableName", "tableName");
    const json* versions = RequiredList(in, "VersionIds", "versionIds", 100);
    EL_RETURN_IF_ERROR(in.Check());
    EL_ASSIGN_OR_RETURN(auto list, StringList(*versions, "VersionIds"));
    json errors = json::array();
    for (const auto& v : list) {
      if (Status s = catalog_.DeleteTableVersion(db, name, v); !s.ok()) {
        errors.push_back({{"TableName", name}, {"VersionId", v}, {"ErrorDetail", ErrorDetail(s)}});
      }
    }
    return json{{"Errors", errors}};
  });

  // ---- partitions ----
  auto partition_input = [](const json& j) -> Result<catalog::Partition> {
    EL_ASSIGN_OR_RETURN(catalog::Partition p, catalog::PartitionFromJson(j));
    for (const auto& v : p.values) {
      if (v.empty() || v.size() > 1024) return InvalidInput("A partition value must be 1 to 1024 bytes long");
    }
    return p;
  };
  // The partition members every partition action names.
  struct Where {
    std::string db, table;
  };
  auto where = [database_name](Input& in) {
    Where w;
    w.db = database_name(in, "DatabaseName", "databaseName");
    w.table = database_name(in, "TableName", "tableName");
    return w;
  };
  auto partition_json = [](const catalog::Partition& p, const RequestContext& ctx, bool without_columns) {
    json j = WithCatalogId(catalog::ToJson(p), ctx);
    if (without_columns && j.contains("StorageDescriptor")) j["StorageDescriptor"].erase("Columns");
    return j;
  };
  svc.operations["CreatePartition"] = op("CreatePartition", [this, where, partition_input](
                                                                RequestContext&, Input& in, const json&) -> Result<json> {
    Where w = where(in);
    const json* input = in.Member("PartitionInput", json::value_t::object);
    if (!input) in.Fail("Value null at 'partitionInput' failed to satisfy constraint: Member must not be null");
    EL_RETURN_IF_ERROR(in.Check());
    EL_ASSIGN_OR_RETURN(catalog::Partition p, partition_input(*input));
    EL_RETURN_IF_ERROR(catalog_.CreatePartition(w.db, w.table, std::move(p)));
    return json::object();
  });
  svc.operations["BatchCreatePartition"] = op("BatchCreatePartition", [this, where, partition_input](
                                                                          RequestContext&, Input& in, const json&) -> Result<json> {
    Where w = where(in);
    const json* inputs = RequiredList(in, "PartitionInputList", "partitionInputList", 100);
    EL_RETURN_IF_ERROR(in.Check());
    std::vector<catalog::Partition> parts;
    for (const auto& j : *inputs) {
      EL_ASSIGN_OR_RETURN(catalog::Partition p, partition_input(j));
      parts.push_back(std::move(p));
    }
    EL_ASSIGN_OR_RETURN(auto failures, catalog_.CreatePartitions(w.db, w.table, std::move(parts)));
    json errors = json::array();
    for (const auto& f : failures) errors.push_back({{"PartitionValues", f.values}, {"ErrorDetail", ErrorDetail(f.status)}});
    return json{{"Errors", errors}};
  });
  svc.operations["GetPartition"] = op("GetPartition", [this, where, partition_json](RequestContext& ctx, Input& in,
                                                                                    const json&) -> Result<json> {
    Where w = where(in);
    const json* listed = RequiredList(in, "PartitionValues", "partitionValues", 100);
    EL_RETURN_IF_ERROR(in.Check());
    EL_ASSIGN_OR_RETURN(auto values, StringList(*listed, "PartitionValues"));
    EL_ASSIGN_OR_RETURN(catalog::Partition p, catalog_.GetPartition(w.db, w.table, values));
    return json{{"Partition", partition_json(p, ctx, false)}};
  });
  svc.operations["GetPartitions"] = op("GetPartitions", [this, where, paging, partition_json](
                                                            RequestContext& ctx, Input& in, const json&) -> Result<json> {
    Where w = where(in);
    const std::string expression = in.Str("Expression", "expression", false, 0, 2048).value_or("");
    std::string token;
    const int max = paging(in, 1000, 1000, &token);
    const bool exclude_columns = in.Bool("ExcludeColumnSchema").value_or(false);
    catalog::Segment segment;
    if (const json* s = in.Member("Segment", json::value_t::object)) {
      Input si(*s);
      segment.number = static_cast<int>(si.Int("SegmentNumber", "segment.segmentNumber", true, 0, INT32_MAX).value_or(0));
      segment.total = static_cast<int>(si.Int("TotalSegments", "segment.totalSegments", true, 1, 10).value_or(1));
      EL_RETURN_IF_ERROR(si.Check());
      if (segment.number >= segment.total) return InvalidInput("SegmentNumber must be less than TotalSegments");
    }
    EL_RETURN_IF_ERROR(in.Check());
    EL_ASSIGN_OR_RETURN(auto page, catalog_.ListPartitions(w.db, w.table, expression, segment, token, max));
    json list = json::array();
    for (const auto& p : page.items) list.push_back(partition_json(p, ctx, exclude_columns));
    json out = {{"Partitions", list}};
    if (!page.next_token.empty()) out["NextToken"] = page.next_token;
    return out;
  });
  svc.operations["BatchGetPartition"] = op("BatchGetPartition", [this, where, partition_json](
                                                                    RequestContext& ctx, Input& in, const json&) -> Result<json> {
    Where w = where(in);
    const json* wanted = RequiredList(in, "PartitionsToGet", "partitionsToGet", 1000);
    EL_RETURN_IF_ERROR(in.Check());
    EL_RETURN_IF_ERROR(catalog_.GetTable(w.db, w.table).status());
    json found = json::array();
    for (const auto& item : *wanted) {
      EL_ASSIGN_OR_RETURN(auto values, ValuesOf(item, "PartitionsToGet"));
      auto p = catalog_.GetPartition(w.db, w.table, values);
      if (p.ok()) {
        found.push_back(partition_json(*p, ctx, false));
      } else if (p.status().code() != StatusCode::kNotFound) {
        return p.status();
      }
    }
    return json{{"Partitions", found}, {"UnprocessedKeys", json::array()}};
  });
  svc.operations["UpdatePartition"] = op("UpdatePartition", [this, where, partition_input](
                                                                RequestContext&, Input& in, const json&) -> Result<json> {
    Where w = where(in);
    const json* listed = RequiredList(in, "PartitionValueList", "partitionValueList", 100);
    const json* input = in.Member("PartitionInput", json::value_t::object);
    if (!input) in.Fail("Value null at 'partitionInput' failed to satisfy constraint: Member must not be null");
    EL_RETURN_IF_ERROR(in.Check());
    EL_ASSIGN_OR_RETURN(auto values, StringList(*listed, "PartitionValueList"));
    EL_ASSIGN_OR_RETURN(catalog::Partition p, partition_input(*input));
    EL_RETURN_IF_ERROR(catalog_.UpdatePartition(w.db, w.table, values, std::move(p)));
    return json::object();
  });
  svc.operations["DeletePartition"] = op("DeletePartition", [this, where](RequestContext&, Input& in,
                                                                          const json&) -> Result<json> {
    Where w = where(in);
    const json* listed = RequiredList(in, "PartitionValues", "partitionValues", 100);
    EL_RETURN_IF_ERROR(in.Check());
    EL_ASSIGN_OR_RETURN(auto values, StringList(*listed, "PartitionValues"));
    EL_RETURN_IF_ERROR(catalog_.DeletePartition(w.db, w.table, values));
    return json::object();
  });
  svc.operations["BatchDeletePartition"] = op("BatchDeletePartition", [this, where](RequestContext&, Input& in,
                                                                                    const json&) -> Result<json> {
    Where w = where(in);
    const json* doomed = RequiredList(in, "PartitionsToDelete", "partitionsToDelete", 25);
    EL_RETURN_IF_ERROR(in.Check());
    EL_RETURN_IF_ERROR(catalog_.GetTable(w.db, w.table).status());
    json errors = json::array();
    for (const auto& item : *doomed) {
      EL_ASSIGN_OR_RETURN(auto values, ValuesOf(item, "PartitionsToDelete"));
      if (Status s = catalog_.DeletePartition(w.db, w.table, values); !s.ok()) {
        errors.push_back({{"PartitionValues", values}, {"ErrorDetail", ErrorDetail(s)}});
      }
    }
    return json{{"Errors", errors}};
  });
  if (crawlers_) AddCrawlerOperations(svc);
  return svc;
}

namespace {

double Secs(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

json CrawlerJson(const catalog::CrawlerState& s) {
  const auto& d = s.definition;
  json j = {{"Name", d.name},
            {"Role", d.role},
            {"Targets", d.targets},
            {"Classifiers", d.classifiers},
            {"RecrawlPolicy", d.recrawl_policy.empty() ? json{{"RecrawlBehavior", "CRAWL_EVERYTHING"}} : d.recrawl_policy},
            {"SchemaChangePolicy", d.schema_change_policy.empty()
                                       ? json{{"UpdateBehavior", "UPDATE_IN_DATABASE"}, {"DeleteBehavior", "DEPRECATE_IN_DATABASE"}}
                                       : d.schema_change_policy},
            {"LineageConfiguration", d.lineage_configuration.is_null() ? json{{"CrawlerLineageSettings", "DISABLE"}}
                                                                       : d.lineage_configuration},
            {"State", s.state},
            {"CrawlElapsedTime", 0},
            {"CreationTime", Secs(s.created_ms)},
            {"LastUpdated", Secs(s.updated_ms)},
            {"Version", s.version}};
  if (!d.database.empty()) j["DatabaseName"] = d.database;
  if (!d.description.empty()) j["Description"] = d.description;
  if (!d.table_prefix.empty()) j["TablePrefix"] = d.table_prefix;
  if (!d.configuration.empty()) j["Configuration"] = d.configuration;
  if (!d.lake_formation_configuration.is_null()) j["LakeFormationConfiguration"] = d.lake_formation_configuration;
  if (!d.schedule.empty()) j["Schedule"] = {{"ScheduleExpression", d.schedule}, {"State", "SCHEDULED"}};
  if (!s.last_status.empty()) {
    json last = {{"Status", s.last_status}, {"StartTime", Secs(s.last_start_ms)},
                 {"LogGroup", "/aws-glue/crawlers"}, {"LogStream", d.name}, {"MessagePrefix", d.name}};
    if (!s.last_error.empty()) last["ErrorMessage"] = s.last_error;
    j["LastCrawl"] = last;
  }
  return j;
}

// The definition from CreateCrawler's or UpdateCrawler's members (over `base` for an update).
Result<catalog::CrawlerDefinition> DefinitionFromInput(Input& in, const json& body, catalog::CrawlerDefinition base,
                                                       bool create) {
  auto name = in.Str("Name", "name", true, 1, 255);
  auto role = in.Str("Role", "role", create, 0, 2048);
  auto database = in.Str("DatabaseName", "databaseName", false, 0, 255);
  auto description = in.Str("Description", "description", false, 0, 2048);
  auto prefix = in.Str("TablePrefix", "tablePrefix", false, 0, 128);
  auto schedule = in.Str("Schedule", "schedule", false, 0, 256);
  auto configuration = in.Str("Configuration", "configuration", false, 0, 65536);
  const json* targets = in.Member("Targets", json::value_t::object);
  if (create && !targets) in.Fail("Value null at 'targets' failed to satisfy constraint: Member must not be null");
  EL_RETURN_IF_ERROR(in.Check());
  base.name = *name;
  if (role) base.role = *role;
  if (database) base.database = AsciiLower(*database);
  if (description) base.description = *description;
  if (prefix) base.table_prefix = *prefix;
  if (schedule) base.schedule = *schedule;
  if (configuration) {
    json parsed = json::parse(*configuration, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) return InvalidInput("Configuration is not a valid JSON object");
    base.configuration = *configuration;
  }
  if (targets) {
    if (targets->contains("S3Targets")) {
      const json& s3 = (*targets)["S3Targets"];
      if (!s3.is_array()) return Serialization("S3Targets must be a list");
      for (const auto& t : s3) {
        if (!t.is_object() || !t.contains("Path") || !t["Path"].is_string() ||
            t["Path"].get<std::string>().rfind("s3://", 0) != 0) {
          return InvalidInput("Each S3 target needs a Path s3://bucket/prefix");
        }
      }
    }
    base.targets = *targets;
  }
  for (const char* member : {"SchemaChangePolicy", "RecrawlPolicy", "LineageConfiguration", "LakeFormationConfiguration"}) {
    auto it = body.find(member);
    if (it == body.end()) continue;
    if (!it->is_object()) return Serialization(std::string(member) + " must be a structure");
    if (std::string(member) == "SchemaChangePolicy") base.schema_change_policy = *it;
    if (std::string(member) == "RecrawlPolicy") base.recrawl_policy = *it;
    if (std::string(member) == "LineageConfiguration") base.lineage_configuration = *it;
    if (std::string(member) == "LakeFormationConfiguration") base.lake_formation_configuration = *it;
  }
  if (auto it = body.find("Classifiers"); it != body.end() && it->is_array()) base.classifiers = *it;
  if (base.recrawl_policy.value("RecrawlBehavior", std::string()) == "CRAWL_NEW_FOLDERS_ONLY" &&
      (base.schema_change_policy.value("UpdateBehavior", std::string("UPDATE_IN_DATABASE")) != "LOG" ||
       base.schema_change_policy.value("DeleteBehavior", std::string("DEPRECATE_IN_DATABASE")) != "LOG")) {
    return InvalidInput(
        "The SchemaChangePolicy for \"Crawl new folders only\" Amazon S3 target can have only LOG DeleteBehavior value "
        "and LOG UpdateBehavior value.");
  }
  return base;
}

}  // namespace

void GlueApi::AddCrawlerOperations(JsonService& svc) {
  using Body = std::function<Result<json>(RequestContext&, Input&, const json&)>;
  auto op = [this](const char* action, Body body) -> JsonOperation {
    return WithInput([this, action, body](RequestContext& ctx, Input&, const json& parsed, JsonReply reply) {
      if (Status s = ctx.Authorize(std::string("glue:") + action, Arn(ctx, "crawler/*")); !s.ok()) return reply(s);
      pool_.Post([&ctx, parsed, body, reply = std::move(reply)]() mutable {
        Input members(parsed);
        Result<json> out = body(ctx, members, parsed);
        if (!out.ok()) return reply(out.status());
        reply(Dump(*out));
      });
    });
  };
  auto name_of = [](Input& in) -> Result<std::string> {
    auto name = in.Str("Name", "name", true, 1, 255);
    EL_RETURN_IF_ERROR(in.Check());
    return *name;
  };
  svc.operations["CreateCrawler"] = op("CreateCrawler", [this](RequestContext&, Input& in, const json& body) -> Result<json> {
    EL_ASSIGN_OR_RETURN(auto def, DefinitionFromInput(in, body, {}, true));
    if (auto tags = body.find("Tags"); tags != body.end() && tags->is_object()) {
      for (auto it = tags->begin(); it != tags->end(); ++it) {
        if (it.value().is_string()) def.tags[it.key()] = it.value().get<std::string>();
      }
    }
    EL_RETURN_IF_ERROR(crawlers_->Create(std::move(def)));
    return json::object();
  });
  svc.operations["UpdateCrawler"] = op("UpdateCrawler", [this, name_of](RequestContext&, Input& in,
                                                                        const json& body) -> Result<json> {
    EL_ASSIGN_OR_RETURN(std::string name, name_of(in));
    EL_ASSIGN_OR_RETURN(auto current, crawlers_->Get(name));
    Input again(body);
    EL_ASSIGN_OR_RETURN(auto def, DefinitionFromInput(again, body, current.definition, false));
    EL_RETURN_IF_ERROR(crawlers_->Update(std::move(def)));
    return json::object();
  });
  svc.operations["GetCrawler"] = op("GetCrawler", [this, name_of](RequestContext&, Input& in, const json&) -> Result<json> {
    EL_ASSIGN_OR_RETURN(std::string name, name_of(in));
    EL_ASSIGN_OR_RETURN(auto s, crawlers_->Get(name));
    return json{{"Crawler", CrawlerJson(s)}};
  });
  svc.operations["DeleteCrawler"] = op("DeleteCrawler", [this, name_of](RequestContext&, Input& in,
                                                                        const json&) -> Result<json> {
    EL_ASSIGN_OR_RETURN(std::string name, name_of(in));
    EL_RETURN_IF_ERROR(crawlers_->Delete(name));
    return json::object();
  });
  svc.operations["StartCrawler"] = op("StartCrawler", [this, name_of](RequestContext&, Input& in,
                                                                      const json&) -> Result<json> {
    EL_ASSIGN_OR_RETURN(std::string name, name_of(in));
    EL_RETURN_IF_ERROR(crawlers_->StartCrawl(name));
    return json::object();
  });
  svc.operations["StopCrawler"] = op("StopCrawler", [this, name_of](RequestContext&, Input& in,
                                                                    const json&) -> Result<json> {
    EL_ASSIGN_OR_RETURN(std::string name, name_of(in));
    EL_RETURN_IF_ERROR(crawlers_->StopCrawl(name));
    return json::object();
  });
  auto page_of = [this](Input& in) -> Result<catalog::Page<catalog::CrawlerState>> {
    auto token = in.Str("NextToken", "nextToken", false);
    auto max = in.Int("MaxResults", "maxResults", false, 1, 1000);
    EL_RETURN_IF_ERROR(in.Check());
    return crawlers_->List(token.value_or(""), static_cast<int>(max.value_or(100)));
  };
  svc.operations["GetCrawlers"] = op("GetCrawlers", [page_of](RequestContext&, Input& in, const json&) -> Result<json> {
    EL_ASSIGN_OR_RETURN(auto page, page_of(in));
    json list = json::array();
    for (const auto& s : page.items) list.push_back(CrawlerJson(s));
    json out = {{"Crawlers", list}};
    if (!page.next_token.empty()) out["NextToken"] = page.next_token;
    return out;
  });
  svc.operations["ListCrawlers"] = op("ListCrawlers", [page_of](RequestContext&, Input& in, const json&) -> Result<json> {
    EL_ASSIGN_OR_RETURN(auto page, page_of(in));
    json names = json::array();
    for (const auto& s : page.items) names.push_back(s.definition.name);
    json out = {{"CrawlerNames", names}};
    if (!page.next_token.empty()) out["NextToken"] = page.next_token;
    return out;
  });
  svc.operations["BatchGetCrawlers"] = op("BatchGetCrawlers", [this](RequestContext&, Input& in,
                                                                    const json&) -> Result<json> {
    const json* names = RequiredList(in, "CrawlerNames", "crawlerNames", 100);
    EL_RETURN_IF_ERROR(in.Check());
    EL_ASSIGN_OR_RETURN(auto list, StringList(*names, "CrawlerNames"));
    json found = json::array(), missing = json::array();
    for (const auto& n : list) {
      auto s = crawlers_->Get(n);
      if (s.ok()) {
        found.push_back(CrawlerJson(*s));
      } else {
        missing.push_back(n);
      }
    }
    return json{{"Crawlers", found}, {"CrawlersNotFound", missing}};
  });
  svc.operations["GetCrawlerMetrics"] = op("GetCrawlerMetrics", [this, page_of](RequestContext&, Input& in,
                                                                              const json& body) -> Result<json> {
    std::vector<catalog::CrawlerState> states;
    std::string next;
    if (body.contains("CrawlerNameList")) {
      const json* names = RequiredList(in, "CrawlerNameList", "crawlerNameList", 100);
      EL_RETURN_IF_ERROR(in.Check());
      EL_ASSIGN_OR_RETURN(auto list, StringList(*names, "CrawlerNameList"));
      for (const auto& n : list) {
        auto s = crawlers_->Get(n);
        if (s.ok()) states.push_back(std::move(*s));
      }
    } else {
      EL_ASSIGN_OR_RETURN(auto page, page_of(in));
      states = std::move(page.items);
      next = page.next_token;
    }
    json list = json::array();
    for (const auto& s : states) {
      std::vector<int64_t> runtimes = s.runtimes_ms;
      std::sort(runtimes.begin(), runtimes.end());
      const double median = runtimes.empty() ? 0.0 : Secs(runtimes[runtimes.size() / 2]);
      list.push_back({{"CrawlerName", s.definition.name},
                      {"TimeLeftSeconds", 0.0},
                      {"StillEstimating", s.state == "RUNNING"},
                      {"LastRuntimeSeconds", Secs(s.last_runtime_ms)},
                      {"MedianRuntimeSeconds", median},
                      {"TablesCreated", s.last_report.tables_created},
                      {"TablesUpdated", s.last_report.tables_updated},
                      {"TablesDeleted", s.last_report.tables_deleted}});
    }
    json out = {{"CrawlerMetricsList", list}};
    if (!next.empty()) out["NextToken"] = next;
    return out;
  });
}

}  // namespace eventlake::api
