#include "catalog/catalog.h"

#include <algorithm>
#include <cmath>

#include "catalog/partition_filter.h"
#include "common/pattern.h"
#include "common/strings.h"

namespace eventlake::catalog {

using nlohmann::json;

namespace {

Status NotFound(const std::string& what) { return Status::NotFound(what).WithType("EntityNotFoundException"); }
Status Exists(const std::string& what) { return Status::AlreadyExists(what).WithType("AlreadyExistsException"); }
Status Invalid(const std::string& what) { return Status::InvalidArgument(what).WithType("InvalidInputException"); }

// ---- JSON: the Glue shape ----

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

void PutString(json& j, const char* member, const std::string& v) {
  if (!v.empty()) j[member] = v;
}
void PutTime(json& j, const char* member, int64_t ms) {
  if (ms != 0) j[member] = Seconds(ms);
}
void PutParams(json& j, const char* member, const Parameters& p) {
  if (!p.empty()) j[member] = p;
}
void PutRaw(json& j, const char* member, const json& v) {
  if (!v.is_null()) j[member] = v;
}

// Reads members, remembering the first one of the wrong type.
class Reader {
 public:
  explicit Reader(const json& j) : j_(j) {}
  const json* Find(const char* member, bool (json::*is)() const, const char* what) {
    auto it = j_.find(member);
    if (it == j_.end() || it->is_null()) return nullptr;
    if (!((*it).*is)()) {
      if (error_.ok()) error_ = Invalid(std::string(member) + " must be " + what);
      return nullptr;
    }
    return &*it;
  }
  std::string Str(const char* member) {
    const json* v = Find(member, &json::is_string, "a string");
    return v ? v->get<std::string>() : std::string();
  }
  std::optional<bool> Bool(const char* member) {
    const json* v = Find(member, &json::is_boolean, "a boolean");
    return v ? std::optional<bool>(v->get<bool>()) : std::nullopt;
  }
  std::optional<int64_t> Int(const char* member) {
    const json* v = Find(member, &json::is_number_integer, "an integer");
    return v ? std::optional<int64_t>(v->get<int64_t>()) : std::nullopt;
  }
  int64_t TimeMs(const char* member) {
    const json* v = Find(member, &json::is_number, "a timestamp");
    return v ? static_cast<int64_t>(std::llround(v->get<double>() * 1000.0)) : 0;
  }
  Parameters Params(const char* member) {
    Parameters out;
    const json* v = Find(member, &json::is_object, "a map");
    if (!v) return out;
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (!it.value().is_string()) {
        if (error_.ok()) error_ = Invalid(std::string(member) + " values must be strings");
        continue;
      }
      out[it.key()] = it.value().get<std::string>();
    }
    return out;
  }
  std::vector<std::string> Strings(const char* member) {
    std::vector<std::string> out;
    const json* v = Find(member, &json::is_array, "a list");
    if (!v) return out;
    for (const auto& e : *v) {
      if (!e.is_string()) {
        if (error_.ok()) error_ = Invalid(std::string(member) + " must be a list of strings");
        continue;
      }
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  json Raw(const char* member) {
    auto it = j_.find(member);
    return it == j_.end() ? json() : *it;
  }
  const json* Array(const char* member) { return Find(member, &json::is_array, "a list"); }
  const json* Object(const char* member) { return Find(member, &json::is_object, "a structure"); }
  void Note(const Status& s) {
    if (!s.ok() && error_.ok()) error_ = s;
  }
  const Status& error() const { return error_; }

 private:
  const json& j_;
  Status error_;
};

Result<std::vector<Column>> ColumnsFrom(Reader& r, const char* member) {
  std::vector<Column> out;
  if (const json* a = r.Array(member)) {
    for (const auto& c : *a) {
      auto col = ColumnFromJson(c);
      if (!col.ok()) return col.status();
      out.push_back(std::move(*col));
    }
  }
  return out;
}

json ColumnsJson(const std::vector<Column>& cols) {
  json a = json::array();
  for (const auto& c : cols) a.push_back(ToJson(c));
  return a;
}

// ---- storage ----

std::string ValuesKey(const std::vector<std::string>& values) { return json(values).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }


Result<Table> ParseTable(const std::string& doc) {
  json j = json::parse(doc, nullptr, false);
  if (j.is_discarded()) return Status::DataLoss("a stored table is not valid JSON");
  return TableFromJson(j);
}

Result<Partition> ParsePartition(const std::string& doc) {
  json j = json::parse(doc, nullptr, false);
  if (j.is_discarded()) return Status::DataLoss("a stored partition is not valid JSON");
  return PartitionFromJson(j);
}

Status RequireDatabase(meta::Transaction& txn, const std::string& db) {
  EL_ASSIGN_OR_RETURN(auto rows, txn.Query("SELECT 1 FROM glue_databases WHERE name = ?", {db}));
  if (rows.empty()) return NotFound("Database " + db + " not found.");
  return Status::Ok();
}

Result<Table> LoadTable(meta::Transaction& txn, const std::string& db, const std::string& name) {
  EL_RETURN_IF_ERROR(RequireDatabase(txn, db));
  EL_ASSIGN_OR_RETURN(auto rows, txn.Query("SELECT doc FROM glue_tables WHERE db = ? AND name = ?", {db, name}));
  if (rows.empty()) return NotFound("Table " + name + " not found.");
  return ParseTable(meta::AsText(rows[0][0]));
}

Status CheckValues(const Table& t, const std::vector<std::string>& values) {
  if (values.size() != t.partition_keys.size()) {
    return Invalid("The number of partition values (" + std::to_string(values.size()) +
                   ") does not match the number of partition keys (" + std::to_string(t.partition_keys.size()) + ")");
  }
  return Status::Ok();
}

std::string Lower(const std::string& s) { return AsciiLower(s); }

}  // namespace

// ---- JSON ----

json ToJson(const Column& c) {
  json j = {{"Name", c.name}};
  PutString(j, "Type", c.type);
  PutString(j, "Comment", c.comment);
  PutParams(j, "Parameters", c.parameters);
  return j;
}

json ToJson(const StorageDescriptor& sd) {
  json j = json::object();
  j["Columns"] = ColumnsJson(sd.columns);
  PutString(j, "Location", sd.location);
  if (!sd.additional_locations.empty()) j["AdditionalLocations"] = sd.additional_locations;
  PutString(j, "InputFormat", sd.input_format);
  PutString(j, "OutputFormat", sd.output_format);
  j["Compressed"] = sd.compressed.value_or(false);
  j["NumberOfBuckets"] = sd.number_of_buckets.value_or(0);
  if (sd.serde) {
    json s = json::object();
    PutString(s, "Name", sd.serde->name);
    PutString(s, "SerializationLibrary", sd.serde->serialization_library);
    s["Parameters"] = sd.serde->parameters;
    j["SerdeInfo"] = s;
  }
  j["BucketColumns"] = sd.bucket_columns;
  json sorts = json::array();
  for (const auto& o : sd.sort_columns) sorts.push_back({{"Column", o.column}, {"SortOrder", o.sort_order}});
  j["SortColumns"] = sorts;
  j["Parameters"] = sd.parameters;
  PutRaw(j, "SkewedInfo", sd.skewed_info);
  j["StoredAsSubDirectories"] = sd.stored_as_sub_directories.value_or(false);
  PutRaw(j, "SchemaReference", sd.schema_reference);
  return j;
}

json ToJson(const Database& db) {
  json j = {{"Name", db.name}};
  PutString(j, "Description", db.description);
  PutString(j, "LocationUri", db.location_uri);
  j["Parameters"] = db.parameters;
  PutTime(j, "CreateTime", db.create_time_ms);
  PutRaw(j, "CreateTableDefaultPermissions", db.create_table_default_permissions);
  PutRaw(j, "TargetDatabase", db.target_database);
  PutRaw(j, "FederatedDatabase", db.federated_database);
  return j;
}

json ToJson(const Table& t) {
  json j = {{"Name", t.name}};
  PutString(j, "DatabaseName", t.database);
  PutString(j, "Description", t.description);
  PutString(j, "Owner", t.owner);
  PutTime(j, "CreateTime", t.create_time_ms);
  PutTime(j, "UpdateTime", t.update_time_ms);
  PutTime(j, "LastAccessTime", t.last_access_time_ms);
  PutTime(j, "LastAnalyzedTime", t.last_analyzed_time_ms);
  j["Retention"] = t.retention.value_or(0);
  if (t.storage) j["StorageDescriptor"] = ToJson(*t.storage);
  j["PartitionKeys"] = ColumnsJson(t.partition_keys);
  PutString(j, "ViewOriginalText", t.view_original_text);
  PutString(j, "ViewExpandedText", t.view_expanded_text);
  PutString(j, "TableType", t.table_type);
  j["Parameters"] = t.parameters;
  PutString(j, "CreatedBy", t.created_by);
  j["IsRegisteredWithLakeFormation"] = false;
  PutRaw(j, "TargetTable", t.target_table);
  PutString(j, "VersionId", t.version_id);
  PutRaw(j, "ViewDefinition", t.view_definition);
  return j;
}

json ToJson(const Partition& p) {
  json j = {{"Values", p.values}};
  PutString(j, "DatabaseName", p.database);
  PutString(j, "TableName", p.table);
  PutTime(j, "CreationTime", p.creation_time_ms);
  PutTime(j, "LastAccessTime", p.last_access_time_ms);
  PutTime(j, "LastAnalyzedTime", p.last_analyzed_time_ms);
  if (p.storage) j["StorageDescriptor"] = ToJson(*p.storage);
  j["Parameters"] = p.parameters;
  return j;
}

Result<Column> ColumnFromJson(const json& j) {
  if (!j.is_object()) return Invalid("A column must be a structure");
  Reader r(j);
  Column c;
  c.name = r.Str("Name");
  c.type = r.Str("Type");
  c.comment = r.Str("Comment");
  c.parameters = r.Params("Parameters");
  EL_RETURN_IF_ERROR(r.error());
  if (c.name.empty()) return Invalid("A column needs a Name");
  return c;
}

Result<StorageDescriptor> StorageFromJson(const json& j) {
  if (!j.is_object()) return Invalid("StorageDescriptor must be a structure");
  Reader r(j);
  StorageDescriptor sd;
  auto cols = ColumnsFrom(r, "Columns");
  if (!cols.ok()) return cols.status();
  sd.columns = std::move(*cols);
  sd.location = r.Str("Location");
  sd.additional_locations = r.Strings("AdditionalLocations");
  sd.input_format = r.Str("InputFormat");
  sd.output_format = r.Str("OutputFormat");
  sd.compressed = r.Bool("Compressed");
  sd.number_of_buckets = r.Int("NumberOfBuckets");
  if (const json* s = r.Object("SerdeInfo")) {
    Reader sr(*s);
    SerDeInfo info;
    info.name = sr.Str("Name");
    info.serialization_library = sr.Str("SerializationLibrary");
    info.parameters = sr.Params("Parameters");
    r.Note(sr.error());
    sd.serde = std::move(info);
  }
  sd.bucket_columns = r.Strings("BucketColumns");
  if (const json* a = r.Array("SortColumns")) {
    for (const auto& o : *a) {
      if (!o.is_object()) return Invalid("SortColumns must be a list of structures");
      Reader orr(o);
      SortColumn sc;
      sc.column = orr.Str("Column");
      sc.sort_order = static_cast<int>(orr.Int("SortOrder").value_or(1));
      r.Note(orr.error());
      sd.sort_columns.push_back(std::move(sc));
    }
  }
  sd.parameters = r.Params("Parameters");
  sd.skewed_info = r.Raw("SkewedInfo");
  sd.stored_as_sub_directories = r.Bool("StoredAsSubDirectories");
  sd.schema_reference = r.Raw("SchemaReference");
  EL_RETURN_IF_ERROR(r.error());
  return sd;
}

Result<Database> DatabaseFromJson(const json& j) {
  if (!j.is_object()) return Invalid("DatabaseInput must be a structure");
  Reader r(j);
  Database db;
  db.name = r.Str("Name");
  db.description = r.Str("Description");
  db.location_uri = r.Str("LocationUri");
  db.parameters = r.Params("Parameters");
  db.create_time_ms = r.TimeMs("CreateTime");
  db.create_table_default_permissions = r.Raw("CreateTableDefaultPermissions");
  db.target_database = r.Raw("TargetDatabase");
  db.federated_database = r.Raw("FederatedDatabase");
  EL_RETURN_IF_ERROR(r.error());
  return db;
}

Result<Table> TableFromJson(const json& j) {
  if (!j.is_object()) return Invalid("TableInput must be a structure");
  Reader r(j);
  Table t;
  t.name = r.Str("Name");
  t.database = r.Str("DatabaseName");
  t.description = r.Str("Description");
  t.owner = r.Str("Owner");
  t.create_time_ms = r.TimeMs("CreateTime");
  t.update_time_ms = r.TimeMs("UpdateTime");
  t.last_access_time_ms = r.TimeMs("LastAccessTime");
  t.last_analyzed_time_ms = r.TimeMs("LastAnalyzedTime");
  t.retention = r.Int("Retention");
  if (const json* sd = r.Object("StorageDescriptor")) {
    auto s = StorageFromJson(*sd);
    if (!s.ok()) return s.status();
    t.storage = std::move(*s);
  }
  auto keys = ColumnsFrom(r, "PartitionKeys");
  if (!keys.ok()) return keys.status();
  t.partition_keys = std::move(*keys);
  t.view_original_text = r.Str("ViewOriginalText");
  t.view_expanded_text = r.Str("ViewExpandedText");
  t.table_type = r.Str("TableType");
  t.parameters = r.Params("Parameters");
  t.created_by = r.Str("CreatedBy");
  t.target_table = r.Raw("TargetTable");
  t.version_id = r.Str("VersionId");
  t.view_definition = r.Raw("ViewDefinition");
  EL_RETURN_IF_ERROR(r.error());
  return t;
}

Result<Partition> PartitionFromJson(const json& j) {
  if (!j.is_object()) return Invalid("PartitionInput must be a structure");
  Reader r(j);
  Partition p;
  p.values = r.Strings("Values");
  p.database = r.Str("DatabaseName");
  p.table = r.Str("TableName");
  p.creation_time_ms = r.TimeMs("CreationTime");
  p.last_access_time_ms = r.TimeMs("LastAccessTime");
  p.last_analyzed_time_ms = r.TimeMs("LastAnalyzedTime");
  if (const json* sd = r.Object("StorageDescriptor")) {
    auto s = StorageFromJson(*sd);
    if (!s.ok()) return s.status();
    p.storage = std::move(*s);
  }
  p.parameters = r.Params("Parameters");
  EL_RETURN_IF_ERROR(r.error());
  return p;
}

// ---- the catalog ----

std::vector<meta::Migration> Catalog::Migrations() {
  return {{400, "catalog: databases, tables, versions, partitions",
           "CREATE TABLE glue_databases(name TEXT PRIMARY KEY, doc TEXT NOT NULL);"
           "CREATE TABLE glue_tables(db TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,"
           "  doc TEXT NOT NULL, PRIMARY KEY(db, name));"
           "CREATE TABLE glue_table_versions(db TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,"
           "  doc TEXT NOT NULL, PRIMARY KEY(db, name, version));"
           "CREATE TABLE glue_partitions(db TEXT NOT NULL, tbl TEXT NOT NULL, pkey TEXT NOT NULL,"
           "  doc TEXT NOT NULL, PRIMARY KEY(db, tbl, pkey));"}};
}

int64_t Catalog::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch()).count();
}

Status Catalog::CreateDatabase(Database db) {
  db.name = Lower(db.name);
  db.create_time_ms = NowMs();
  return meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_ASSIGN_OR_RETURN(auto rows, txn.Query("SELECT 1 FROM glue_databases WHERE name = ?", {db.name}));
    if (!rows.empty()) return Exists("Database already exists.");
    return txn.Execute("INSERT INTO glue_databases(name, doc) VALUES (?, ?)", {db.name, ToJson(db).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)}).status();
  });
}

Result<Database> Catalog::GetDatabase(const std::string& name) const {
  EL_ASSIGN_OR_RETURN(auto rows, meta_.Query("SELECT doc FROM glue_databases WHERE name = ?", {Lower(name)}));
  if (rows.empty()) return NotFound("Database " + Lower(name) + " not found.");
  json j = json::parse(meta::AsText(rows[0][0]), nullptr, false);
  return DatabaseFromJson(j);
}

Result<Page<Database>> Catalog::ListDatabases(const std::string& token, int max) const {
  EL_ASSIGN_OR_RETURN(auto rows, meta_.Query("SELECT name, doc FROM glue_databases WHERE name > ? ORDER BY name LIMIT ?",
                                             {token, static_cast<int64_t>(max) + 1}));
  Page<Database> page;
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(max); ++i) {
    EL_ASSIGN_OR_RETURN(Database db, DatabaseFromJson(json::parse(meta::AsText(rows[i][1]), nullptr, false)));
    page.items.push_back(std::move(db));
  }
  if (rows.size() > static_cast<size_t>(max)) page.next_token = page.items.back().name;
  return page;
}

Status Catalog::UpdateDatabase(const std::string& name, Database db) {
  const std::string key = Lower(name);
  return meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_ASSIGN_OR_RETURN(auto rows, txn.Query("SELECT doc FROM glue_databases WHERE name = ?", {key}));
    if (rows.empty()) return NotFound("Database " + key + " not found.");
    EL_ASSIGN_OR_RETURN(Database old, DatabaseFromJson(json::parse(meta::AsText(rows[0][0]), nullptr, false)));
    if (!db.name.empty() && Lower(db.name) != key) return Invalid("Database rename is not supported.");
    db.name = key;
    db.create_time_ms = old.create_time_ms;
    return txn.Execute("UPDATE glue_databases SET doc = ? WHERE name = ?", {ToJson(db).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), key}).status();
  });
}

Status Catalog::DeleteDatabase(const std::string& name) {
  const std::string key = Lower(name);
  return meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_ASSIGN_OR_RETURN(int64_t n, txn.Execute("DELETE FROM glue_databases WHERE name = ?", {key}));
    if (n == 0) return NotFound("Database " + key + " not found.");
    EL_RETURN_IF_ERROR(txn.Execute("DELETE FROM glue_tables WHERE db = ?", {key}).status());
    EL_RETURN_IF_ERROR(txn.Execute("DELETE FROM glue_table_versions WHERE db = ?", {key}).status());
    return txn.Execute("DELETE FROM glue_partitions WHERE db = ?", {key}).status();
  });
}

Status Catalog::CreateTable(const std::string& database, Table table) {
  const std::string db = Lower(database);
  table.database = db;
  table.name = Lower(table.name);
  table.create_time_ms = table.update_time_ms = NowMs();
  table.version_id = "0";
  if (table.created_by.empty()) table.created_by = "eventlake";
  return meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_RETURN_IF_ERROR(RequireDatabase(txn, db));
    EL_ASSIGN_OR_RETURN(auto rows, txn.Query("SELECT 1 FROM glue_tables WHERE db = ? AND name = ?", {db, table.name}));
    if (!rows.empty()) return Exists("Table already exists.");
    const std::string doc = ToJson(table).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    EL_RETURN_IF_ERROR(
        txn.Execute("INSERT INTO glue_tables(db, name, version, doc) VALUES (?, ?, 0, ?)", {db, table.name, doc})
            .status());
    return txn
        .Execute("INSERT INTO glue_table_versions(db, name, version, doc) VALUES (?, ?, 0, ?)", {db, table.name, doc})
        .status();
  });
}

Result<Table> Catalog::GetTable(const std::string& database, const std::string& name) const {
  const std::string db = Lower(database);
  EL_ASSIGN_OR_RETURN(auto rows, meta_.Query("SELECT 1 FROM glue_databases WHERE name = ?", {db}));
  if (rows.empty()) return NotFound("Database " + db + " not found.");
  EL_ASSIGN_OR_RETURN(rows, meta_.Query("SELECT doc FROM glue_tables WHERE db = ? AND name = ?", {db, Lower(name)}));
  if (rows.empty()) return NotFound("Table " + Lower(name) + " not found.");
  return ParseTable(meta::AsText(rows[0][0]));
}

Result<Page<Table>> Catalog::ListTables(const std::string& database, const std::string& pattern,
                                        const std::string& token, int max) const {
  const std::string db = Lower(database);
  EL_ASSIGN_OR_RETURN(auto found, meta_.Query("SELECT 1 FROM glue_databases WHERE name = ?", {db}));
  if (found.empty()) return NotFound("Database " + db + " not found.");
  std::optional<Pattern> re;
  if (!pattern.empty()) {
    auto compiled = Pattern::Compile(pattern, /*ignore_case=*/true);
    if (!compiled.ok()) return Invalid("Expression is not a valid regular expression: " + pattern);
    re = std::move(*compiled);
  }
  Page<Table> page;
  std::string after = token;
  // Pages of names are read until enough match.
  for (;;) {
    EL_ASSIGN_OR_RETURN(auto rows, meta_.Query("SELECT name, doc FROM glue_tables WHERE db = ? AND name > ? ORDER BY "
                                               "name LIMIT 1000",
                                               {db, after}));
    for (const auto& row : rows) {
      const std::string name = meta::AsText(row[0]);
      after = name;
      if (re && !re->FullMatch(name)) continue;
      if (page.items.size() == static_cast<size_t>(max)) {
        page.next_token = page.items.back().name;
        return page;
      }
      EL_ASSIGN_OR_RETURN(Table t, ParseTable(meta::AsText(row[1])));
      page.items.push_back(std::move(t));
    }
    if (rows.size() < 1000) return page;
  }
}

Result<Table> Catalog::UpdateTable(const std::string& database, Table table, bool skip_archive,
                                   const std::string& expected_version) {
  const std::string db = Lower(database);
  table.database = db;
  table.name = Lower(table.name);
  Table saved;
  Status s = meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_ASSIGN_OR_RETURN(Table old, LoadTable(txn, db, table.name));
    if (!expected_version.empty() && expected_version != old.version_id) {
      return Status::FailedPrecondition("The table was changed since version " + expected_version + " (it is at " +
                                        old.version_id + ").")
          .WithType("ConcurrentModificationException");
    }
    const int64_t old_version = std::strtoll(old.version_id.c_str(), nullptr, 10);
    EL_ASSIGN_OR_RETURN(auto top, txn.Query("SELECT MAX(version) FROM glue_table_versions WHERE db = ? AND name = ?",
                                            {db, table.name}));
    const int64_t version = std::max(old_version, top.empty() ? 0 : meta::AsInt(top[0][0])) + 1;
    table.create_time_ms = old.create_time_ms;
    table.update_time_ms = NowMs();
    table.version_id = std::to_string(version);
    if (table.created_by.empty()) table.created_by = old.created_by;
    const std::string doc = ToJson(table).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (skip_archive) {
      EL_RETURN_IF_ERROR(txn.Execute("DELETE FROM glue_table_versions WHERE db = ? AND name = ? AND version = ?",
                                     {db, table.name, old_version})
                             .status());
    }
    EL_RETURN_IF_ERROR(txn.Execute("UPDATE glue_tables SET version = ?, doc = ? WHERE db = ? AND name = ?",
                                   {version, doc, db, table.name})
                           .status());
    EL_RETURN_IF_ERROR(txn.Execute("INSERT INTO glue_table_versions(db, name, version, doc) VALUES (?, ?, ?, ?)",
                                   {db, table.name, version, doc})
                           .status());
    saved = table;
    return Status::Ok();
  });
  EL_RETURN_IF_ERROR(s);
  return saved;
}

Status Catalog::DeleteTable(const std::string& database, const std::string& name) {
  const std::string db = Lower(database), tbl = Lower(name);
  return meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_RETURN_IF_ERROR(RequireDatabase(txn, db));
    EL_ASSIGN_OR_RETURN(int64_t n, txn.Execute("DELETE FROM glue_tables WHERE db = ? AND name = ?", {db, tbl}));
    if (n == 0) return NotFound("Table " + tbl + " not found.");
    EL_RETURN_IF_ERROR(txn.Execute("DELETE FROM glue_table_versions WHERE db = ? AND name = ?", {db, tbl}).status());
    return txn.Execute("DELETE FROM glue_partitions WHERE db = ? AND tbl = ?", {db, tbl}).status();
  });
}

Result<Page<TableVersion>> Catalog::ListTableVersions(const std::string& database, const std::string& name,
                                                      const std::string& token, int max) const {
  const std::string db = Lower(database), tbl = Lower(name);
  EL_RETURN_IF_ERROR(GetTable(db, tbl).status());
  const int64_t below = token.empty() ? INT64_MAX : std::strtoll(token.c_str(), nullptr, 10);
  EL_ASSIGN_OR_RETURN(auto rows, meta_.Query("SELECT version, doc FROM glue_table_versions WHERE db = ? AND name = ? "
                                             "AND version < ? ORDER BY version DESC LIMIT ?",
                                             {db, tbl, below, static_cast<int64_t>(max) + 1}));
  Page<TableVersion> page;
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(max); ++i) {
    EL_ASSIGN_OR_RETURN(Table t, ParseTable(meta::AsText(rows[i][1])));
    page.items.push_back({std::move(t), std::to_string(meta::AsInt(rows[i][0]))});
  }
  if (rows.size() > static_cast<size_t>(max)) page.next_token = page.items.back().version_id;
  return page;
}

Result<TableVersion> Catalog::GetTableVersion(const std::string& database, const std::string& name,
                                              const std::string& version) const {
  EL_ASSIGN_OR_RETURN(Table current, GetTable(database, name));
  if (version.empty()) return TableVersion{current, current.version_id};
  char* end = nullptr;
  const int64_t v = std::strtoll(version.c_str(), &end, 10);
  if (version.empty() || *end != '\0') return Invalid("VersionId must be a number");
  EL_ASSIGN_OR_RETURN(auto rows, meta_.Query("SELECT doc FROM glue_table_versions WHERE db = ? AND name = ? AND "
                                             "version = ?",
                                             {current.database, current.name, v}));
  if (rows.empty()) return NotFound("Version " + version + " of table " + current.name + " not found.");
  EL_ASSIGN_OR_RETURN(Table t, ParseTable(meta::AsText(rows[0][0])));
  return TableVersion{std::move(t), std::to_string(v)};
}

Status Catalog::DeleteTableVersion(const std::string& database, const std::string& name, const std::string& version) {
  EL_ASSIGN_OR_RETURN(Table current, GetTable(database, name));
  if (version == current.version_id) return Invalid("The current version of a table cannot be deleted.");
  char* end = nullptr;
  const int64_t v = std::strtoll(version.c_str(), &end, 10);
  if (version.empty() || *end != '\0') return Invalid("VersionId must be a number");
  return meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_ASSIGN_OR_RETURN(int64_t n, txn.Execute("DELETE FROM glue_table_versions WHERE db = ? AND name = ? AND "
                                               "version = ?",
                                               {current.database, current.name, v}));
    if (n == 0) return NotFound("Version " + version + " of table " + current.name + " not found.");
    return Status::Ok();
  });
}

Status Catalog::CreatePartition(const std::string& database, const std::string& table, Partition p) {
  std::vector<Partition> one;
  one.push_back(std::move(p));
  EL_ASSIGN_OR_RETURN(auto errors, CreatePartitions(database, table, std::move(one)));
  if (!errors.empty()) return errors[0].status;
  return Status::Ok();
}

Result<std::vector<ItemError>> Catalog::CreatePartitions(const std::string& database, const std::string& table,
                                                         std::vector<Partition> partitions) {
  const std::string db = Lower(database), tbl = Lower(table);
  std::vector<ItemError> errors;
  const int64_t now = NowMs();
  Status s = meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    errors.clear();
    EL_ASSIGN_OR_RETURN(Table t, LoadTable(txn, db, tbl));
    for (auto& p : partitions) {
      if (Status bad = CheckValues(t, p.values); !bad.ok()) {
        errors.push_back({p.values, bad});
        continue;
      }
      const std::string key = ValuesKey(p.values);
      EL_ASSIGN_OR_RETURN(auto rows, txn.Query("SELECT 1 FROM glue_partitions WHERE db = ? AND tbl = ? AND pkey = ?",
                                               {db, tbl, key}));
      if (!rows.empty()) {
        errors.push_back({p.values, Exists("Partition already exists.")});
        continue;
      }
      p.database = db;
      p.table = tbl;
      p.creation_time_ms = now;
      EL_RETURN_IF_ERROR(txn.Execute("INSERT INTO glue_partitions(db, tbl, pkey, doc) VALUES (?, ?, ?, ?)",
                                     {db, tbl, key, ToJson(p).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)})
                             .status());
    }
    return Status::Ok();
  });
  EL_RETURN_IF_ERROR(s);
  return errors;
}

Result<Partition> Catalog::GetPartition(const std::string& database, const std::string& table,
                                        const std::vector<std::string>& values) const {
  EL_ASSIGN_OR_RETURN(Table t, GetTable(database, table));
  EL_ASSIGN_OR_RETURN(auto rows, meta_.Query("SELECT doc FROM glue_partitions WHERE db = ? AND tbl = ? AND pkey = ?",
                                             {t.database, t.name, ValuesKey(values)}));
  if (rows.empty()) return NotFound("Partition not found.");
  return ParsePartition(meta::AsText(rows[0][0]));
}

Result<Page<Partition>> Catalog::ListPartitions(const std::string& database, const std::string& table,
                                                const std::string& expression, const Segment& segment,
                                                const std::string& token, int max) const {
  EL_ASSIGN_OR_RETURN(Table t, GetTable(database, table));
  EL_ASSIGN_OR_RETURN(PartitionFilter filter, PartitionFilter::Parse(expression, t.partition_keys));
  Page<Partition> page;
  std::string after = token;
  for (;;) {
    EL_ASSIGN_OR_RETURN(auto rows, meta_.Query("SELECT pkey, doc FROM glue_partitions WHERE db = ? AND tbl = ? AND "
                                               "pkey > ? ORDER BY pkey LIMIT 1000",
                                               {t.database, t.name, after}));
    for (const auto& row : rows) {
      const std::string key = meta::AsText(row[0]);
      after = key;
      if (segment.total > 1 && std::hash<std::string>{}(key) % segment.total != static_cast<size_t>(segment.number)) {
        continue;
      }
      EL_ASSIGN_OR_RETURN(Partition p, ParsePartition(meta::AsText(row[1])));
      if (!filter.Matches(p.values)) continue;
      if (page.items.size() == static_cast<size_t>(max)) {
        page.next_token = ValuesKey(page.items.back().values);
        return page;
      }
      page.items.push_back(std::move(p));
    }
    if (rows.size() < 1000) return page;
  }
}

Status Catalog::UpdatePartition(const std::string& database, const std::string& table,
                                const std::vector<std::string>& values, Partition p) {
  const std::string db = Lower(database), tbl = Lower(table);
  return meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_ASSIGN_OR_RETURN(Table t, LoadTable(txn, db, tbl));
    const std::string old_key = ValuesKey(values);
    EL_ASSIGN_OR_RETURN(auto rows, txn.Query("SELECT doc FROM glue_partitions WHERE db = ? AND tbl = ? AND pkey = ?",
                                             {db, tbl, old_key}));
    if (rows.empty()) return NotFound("Partition not found.");
    EL_ASSIGN_OR_RETURN(Partition old, ParsePartition(meta::AsText(rows[0][0])));
    if (p.values.empty()) p.values = values;
    EL_RETURN_IF_ERROR(CheckValues(t, p.values));
    const std::string key = ValuesKey(p.values);
    if (key != old_key) {
      EL_ASSIGN_OR_RETURN(auto taken, txn.Query("SELECT 1 FROM glue_partitions WHERE db = ? AND tbl = ? AND pkey = ?",
                                                {db, tbl, key}));
      if (!taken.empty()) return Exists("Partition already exists.");
    }
    p.database = db;
    p.table = tbl;
    p.creation_time_ms = old.creation_time_ms;
    EL_RETURN_IF_ERROR(
        txn.Execute("DELETE FROM glue_partitions WHERE db = ? AND tbl = ? AND pkey = ?", {db, tbl, old_key}).status());
    return txn
        .Execute("INSERT INTO glue_partitions(db, tbl, pkey, doc) VALUES (?, ?, ?, ?)", {db, tbl, key, ToJson(p).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)})
        .status();
  });
}

Status Catalog::DeletePartition(const std::string& database, const std::string& table,
                                const std::vector<std::string>& values) {
  const std::string db = Lower(database), tbl = Lower(table);
  return meta_.RunInTransaction([&](meta::Transaction& txn) -> Status {
    EL_RETURN_IF_ERROR(LoadTable(txn, db, tbl).status());
    EL_ASSIGN_OR_RETURN(int64_t n, txn.Execute("DELETE FROM glue_partitions WHERE db = ? AND tbl = ? AND pkey = ?",
                                               {db, tbl, ValuesKey(values)}));
    if (n == 0) return NotFound("Partition not found.");
    return Status::Ok();
  });
}

}  // namespace eventlake::catalog
