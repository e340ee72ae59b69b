#include "query/duckdb_engine.h"

#include <duckdb.h>

#include <atomic>
#include <mutex>

#include <nlohmann/json.hpp>

#include "common/json.h"

namespace eventlake::query {

std::string DuckDbVersion() { return duckdb_library_version(); }

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string QuoteLiteral(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

namespace {

// DuckDB's SQL spelling of a logical type.
std::string TypeName(duckdb_logical_type t) {
  switch (duckdb_get_type_id(t)) {
    case DUCKDB_TYPE_BOOLEAN: return "BOOLEAN";
    case DUCKDB_TYPE_TINYINT: return "TINYINT";
    case DUCKDB_TYPE_SMALLINT: return "SMALLINT";
    case DUCKDB_TYPE_INTEGER: return "INTEGER";
    case DUCKDB_TYPE_BIGINT: return "BIGINT";
    case DUCKDB_TYPE_UTINYINT: return "UTINYINT";
    case DUCKDB_TYPE_USMALLINT: return "USMALLINT";
    case DUCKDB_TYPE_UINTEGER: return "UINTEGER";
    case DUCKDB_TYPE_UBIGINT: return "UBIGINT";
    case DUCKDB_TYPE_HUGEINT: return "HUGEINT";
    case DUCKDB_TYPE_UHUGEINT: return "UHUGEINT";
    case DUCKDB_TYPE_FLOAT: return "FLOAT";
    case DUCKDB_TYPE_DOUBLE: return "DOUBLE";
    case DUCKDB_TYPE_DATE: return "DATE";
    case DUCKDB_TYPE_TIME: return "TIME";
    case DUCKDB_TYPE_TIME_TZ: return "TIME WITH TIME ZONE";
    case DUCKDB_TYPE_TIMESTAMP: return "TIMESTAMP";
    case DUCKDB_TYPE_TIMESTAMP_S: return "TIMESTAMP_S";
    case DUCKDB_TYPE_TIMESTAMP_MS: return "TIMESTAMP_MS";
    case DUCKDB_TYPE_TIMESTAMP_NS: return "TIMESTAMP_NS";
    case DUCKDB_TYPE_TIMESTAMP_TZ: return "TIMESTAMP WITH TIME ZONE";
    case DUCKDB_TYPE_INTERVAL: return "INTERVAL";
    case DUCKDB_TYPE_VARCHAR: return "VARCHAR";
    case DUCKDB_TYPE_BLOB: return "BLOB";
    case DUCKDB_TYPE_UUID: return "UUID";
    case DUCKDB_TYPE_DECIMAL:
      return "DECIMAL(" + std::to_string(duckdb_decimal_width(t)) + "," + std::to_string(duckdb_decimal_scale(t)) + ")";
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_ARRAY: {
      duckdb_logical_type child = duckdb_get_type_id(t) == DUCKDB_TYPE_LIST ? duckdb_list_type_child_type(t)
                                                                             : duckdb_array_type_child_type(t);
      std::string s = TypeName(child) + "[]";
      duckdb_destroy_logical_type(&child);
      return s;
    }
    case DUCKDB_TYPE_MAP: {
      duckdb_logical_type k = duckdb_map_type_key_type(t), v = duckdb_map_type_value_type(t);
      std::string s = "MAP(" + TypeName(k) + ", " + TypeName(v) + ")";
      duckdb_destroy_logical_type(&k);
      duckdb_destroy_logical_type(&v);
      return s;
    }
    case DUCKDB_TYPE_STRUCT: {
      std::string s = "STRUCT(";
      const idx_t n = duckdb_struct_type_child_count(t);
      for (idx_t i = 0; i < n; ++i) {
        char* name = duckdb_struct_type_child_name(t, i);
        duckdb_logical_type child = duckdb_struct_type_child_type(t, i);
        s += (i ? ", " : "") + QuoteIdentifier(name) + " " + TypeName(child);
        duckdb_free(name);
        duckdb_destroy_logical_type(&child);
      }
      return s + ")";
    }
    case DUCKDB_TYPE_ENUM: return "ENUM";
    case DUCKDB_TYPE_SQLNULL: return "NULL";
    default: return "VARCHAR";
  }
}

// The statement's own error, or a generic one.
Status QueryError(const char* message, bool interrupted) {
  if (interrupted) return Status::Cancelled("Query cancelled");
  return Status::InvalidArgument(message ? message : "query failed");
}

}  // namespace

struct Engine::Handles {
  duckdb_database db = nullptr;
  duckdb_connection conn = nullptr;
  std::atomic<bool> interrupted{false};
  ~Handles() {
    if (conn) duckdb_disconnect(&conn);
    if (db) duckdb_close(&db);
  }
};

Engine::Engine(std::unique_ptr<Handles> h) : h_(std::move(h)) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) != DuckDBSuccess) return Status::Internal("cannot create a DuckDB configuration");
  auto set = [&](const char* key, const std::string& value) { duckdb_set_config(config, key, value.c_str()); };
  set("threads", std::to_string(std::max(1, options.threads)));
  set("memory_limit", std::to_string(std::max<int64_t>(options.memory_limit_bytes >> 20, 16)) + "MiB");
  set("autoinstall_known_extensions", "false");
  set("autoload_known_extensions", "false");
  set("enable_external_file_cache", "false");
  set("temp_directory", options.temp_directory);
  auto h = std::make_unique<Handles>();
  char* error = nullptr;
  const duckdb_state opened = duckdb_open_ext(nullptr, &h->db, config, &error);
  duckdb_destroy_config(&config);
  if (opened != DuckDBSuccess) {
    std::string msg = error ? error : "cannot open DuckDB";
    duckdb_free(error);
    return Status::Internal(msg);
  }
  if (duckdb_connect(h->db, &h->conn) != DuckDBSuccess) return Status::Internal("cannot connect to DuckDB");
  return std::unique_ptr<Engine>(new Engine(std::move(h)));
}

Status Engine::Execute(const std::string& sql) {
  duckdb_result result;
  const bool failed = duckdb_query(h_->conn, sql.c_str(), &result) == DuckDBError;
  Status s = failed ? QueryError(duckdb_result_error(&result), h_->interrupted.load()) : Status::Ok();
  duckdb_destroy_result(&result);
  return s;
}

Result<int64_t> Engine::ExecuteCountingRows(const std::string& sql) {
  if (h_->interrupted.load()) return Status::Cancelled("Query cancelled");
  duckdb_result result;
  const bool failed = duckdb_query(h_->conn, sql.c_str(), &result) == DuckDBError;
  Status s = failed ? QueryError(duckdb_result_error(&result), h_->interrupted.load()) : Status::Ok();
  const auto rows = failed ? 0 : static_cast<int64_t>(duckdb_rows_changed(&result));
  duckdb_destroy_result(&result);
  EL_RETURN_IF_ERROR(s);
  return rows;
}

Result<bool> Engine::IsQuery(const std::string& sql) {
  duckdb_extracted_statements statements = nullptr;
  const idx_t n = duckdb_extract_statements(h_->conn, sql.c_str(), &statements);
  if (n == 0) {
    std::string msg = statements ? duckdb_extract_statements_error(statements) : "empty query";
    duckdb_destroy_extracted(&statements);
    return Status::InvalidArgument(msg.empty() ? "empty query" : msg);
  }
  if (n > 1) {
    duckdb_destroy_extracted(&statements);
    return Status::InvalidArgument("Only one SQL statement is allowed.");
  }
  duckdb_destroy_extracted(&statements);
  // Parsed, not bound (the tables it names may not be defined yet): only SELECTs serialize.
  auto tables = ReferencedTables(sql);
  return tables.ok();
}

Status Engine::Query(const std::string& sql, const std::function<void(std::vector<ResultColumn>)>& columns,
                     const std::function<bool(TextRow&&)>& row) {
  if (h_->interrupted.load()) return Status::Cancelled("Query cancelled");
  // The columns as the query produces them, then the same rows cast to text by DuckDB.
  duckdb_prepared_statement stmt = nullptr;
  if (duckdb_prepare(h_->conn, sql.c_str(), &stmt) == DuckDBError) {
    Status s = QueryError(duckdb_prepare_error(stmt), h_->interrupted.load());
    duckdb_destroy_prepare(&stmt);
    return s;
  }
  std::vector<ResultColumn> cols;
  const idx_t ncols = duckdb_prepared_statement_column_count(stmt);
  for (idx_t i = 0; i < ncols; ++i) {
    const char* name = duckdb_prepared_statement_column_name(stmt, i);
    duckdb_logical_type type = duckdb_prepared_statement_column_logical_type(stmt, i);
    cols.push_back({name ? name : "", TypeName(type)});
    duckdb_free(const_cast<char*>(name));  // the caller owns it
    duckdb_destroy_logical_type(&type);
  }
  duckdb_destroy_prepare(&stmt);
  columns(cols);
  std::string as_text = "SELECT ";
  for (idx_t i = 0; i < ncols; ++i) {
    as_text += (i ? ", " : "") + std::string("CAST(#") + std::to_string(i + 1) + " AS VARCHAR)";
  }
  as_text += " FROM (" + sql + "\n) AS __eventlake_result";
  if (duckdb_prepare(h_->conn, as_text.c_str(), &stmt) == DuckDBError) {
    Status s = QueryError(duckdb_prepare_error(stmt), h_->interrupted.load());
    duckdb_destroy_prepare(&stmt);
    return s;
  }
  duckdb_result result;
  const bool failed = duckdb_execute_prepared_streaming(stmt, &result) == DuckDBError;
  duckdb_destroy_prepare(&stmt);
  if (failed) {
    Status s = QueryError(duckdb_result_error(&result), h_->interrupted.load());
    duckdb_destroy_result(&result);
    return s;
  }
  Status status;
  for (bool more = true; more;) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(result);
    if (!chunk) break;
    const idx_t n = duckdb_data_chunk_get_size(chunk);
    std::vector<duckdb_string_t*> data(ncols);
    std::vector<uint64_t*> validity(ncols);
    for (idx_t c = 0; c < ncols; ++c) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
      data[c] = static_cast<duckdb_string_t*>(duckdb_vector_get_data(v));
      validity[c] = duckdb_vector_get_validity(v);
    }
    for (idx_t r = 0; r < n && more; ++r) {
      TextRow values(ncols);
      for (idx_t c = 0; c < ncols; ++c) {
        if (validity[c] && !duckdb_validity_row_is_valid(validity[c], r)) continue;
        values[c] = std::string(duckdb_string_t_data(&data[c][r]), duckdb_string_t_length(data[c][r]));
      }
      more = row(std::move(values));
    }
    duckdb_destroy_data_chunk(&chunk);
  }
  if (const char* err = duckdb_result_error(&result)) status = QueryError(err, h_->interrupted.load());
  duckdb_destroy_result(&result);
  return status;
}

Result<std::vector<std::pair<std::string, std::string>>> Engine::ReferencedTables(const std::string& sql) {
  std::string tree;
  EL_RETURN_IF_ERROR(Query(
      "SELECT json_serialize_sql(" + QuoteLiteral(sql) + ")", [](std::vector<ResultColumn>) {},
      [&](TextRow&& r) {
        if (!r.empty() && r[0]) tree = *r[0];
        return false;
      }));
  nlohmann::json j = nlohmann::json::parse(tree, nullptr, false);
  if (j.is_discarded()) return Status::Internal("DuckDB returned an unreadable parse tree");
  if (auto err = j.find("error"); err != j.end() && err->is_boolean() && err->get<bool>()) {
    auto msg = j.find("error_message");
    return Status::InvalidArgument(msg != j.end() && msg->is_string() ? msg->get<std::string>() : "cannot parse");
  }
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<std::string> ctes;
  auto text = [](const nlohmann::json& n, const char* key) { return JsonString(n, key); };
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& n) {
    if (n.is_object()) {
      if (text(n, "type") == "BASE_TABLE" && !text(n, "table_name").empty()) {
        out.emplace_back(text(n, "schema_name"), text(n, "table_name"));
      }
      if (auto it = n.find("cte_map"); it != n.end() && it->is_object() && it->contains("map")) {
        for (const auto& e : (*it)["map"]) {
          if (e.contains("key") && e["key"].is_string()) ctes.push_back(e["key"].get<std::string>());
        }
      }
      for (const auto& [k, v] : n.items()) walk(v);
    } else if (n.is_array()) {
      for (const auto& v : n) walk(v);
    }
  };
  if (auto st = j.find("statements"); st != j.end() && st->is_array() && st->size() > 1) {
    return Status::InvalidArgument("Only one SQL statement is allowed.");
  }
  walk(j);
  std::vector<std::pair<std::string, std::string>> tables;
  for (auto& t : out) {
    bool cte = t.first.empty() && std::find(ctes.begin(), ctes.end(), t.second) != ctes.end();
    if (!cte && std::find(tables.begin(), tables.end(), t) == tables.end()) tables.push_back(std::move(t));
  }
  return tables;
}

void Engine::Interrupt() {
  h_->interrupted.store(true);
  duckdb_interrupt(h_->conn);
}

Status Engine::CountReads() { return Execute("CALL enable_logging('FileSystem')"); }

Result<int64_t> Engine::BytesRead() {
  int64_t bytes = 0;
  EL_RETURN_IF_ERROR(Query(
      "SELECT coalesce(sum(bytes), 0) FROM duckdb_logs_parsed('FileSystem') WHERE op = 'READ'",
      [](std::vector<ResultColumn>) {},
      [&](TextRow&& r) {
        if (!r.empty() && r[0]) bytes = std::strtoll(r[0]->c_str(), nullptr, 10);
        return false;
      }));
  return bytes;
}

}  // namespace eventlake::query
