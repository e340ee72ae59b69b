#include "query/parquet_writer.h"

#include <duckdb.h>

#include "query/duckdb_engine.h"
#include "query/lake.h"

namespace eventlake::query {

struct ParquetWriter::Handles {
  duckdb_database db = nullptr;
  duckdb_connection conn = nullptr;
  duckdb_appender appender = nullptr;
  ~Handles() {
    if (appender) duckdb_appender_destroy(&appender);
    if (conn) duckdb_disconnect(&conn);
    if (db) duckdb_close(&db);
  }
};

namespace {

Status Run(duckdb_connection conn, const std::string& sql) {
  duckdb_result result;
  const bool failed = duckdb_query(conn, sql.c_str(), &result) == DuckDBError;
  Status s = failed ? Status::InvalidArgument(duckdb_result_error(&result)) : Status::Ok();
  duckdb_destroy_result(&result);
  return s;
}

bool IsNested(const std::string& duck_type) {
  return duck_type.rfind("STRUCT(", 0) == 0 || duck_type.rfind("MAP(", 0) == 0 ||
         (!duck_type.empty() && duck_type.back() == ']');
}

}  // namespace

Result<std::unique_ptr<ParquetWriter>> ParquetWriter::Create(std::vector<Column> columns,
                                                             const std::string& compression,
                                                             int64_t memory_limit_bytes) {
  if (columns.empty()) return Status::InvalidArgument("a Parquet file needs at least one column");
  if (compression != "SNAPPY" && compression != "GZIP" && compression != "UNCOMPRESSED" && compression != "ZSTD") {
    return Status::InvalidArgument("unknown Parquet compression " + compression);
  }
  std::unique_ptr<ParquetWriter> w(new ParquetWriter());
  w->columns_ = std::move(columns);
  w->compression_ = compression;
  for (const auto& c : w->columns_) {
    EL_ASSIGN_OR_RETURN(std::string t, DuckDbType(c.hive_type.empty() ? "string" : c.hive_type));
    w->nested_.push_back(IsNested(t));
    w->duck_types_.push_back(std::move(t));
  }

  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) != DuckDBSuccess) return Status::Internal("cannot create a DuckDB configuration");
  duckdb_set_config(config, "threads", "1");
  duckdb_set_config(config, "memory_limit",
                    (std::to_string(std::max<int64_t>(memory_limit_bytes >> 20, 16)) + "MiB").c_str());
  duckdb_set_config(config, "autoinstall_known_extensions", "false");
  duckdb_set_config(config, "autoload_known_extensions", "false");
  w->h_ = std::make_unique<Handles>();
  char* error = nullptr;
  const duckdb_state opened = duckdb_open_ext(nullptr, &w->h_->db, config, &error);
  duckdb_destroy_config(&config);
  if (opened != DuckDBSuccess) {
    std::string msg = error ? error : "cannot open DuckDB";
    duckdb_free(error);
    return Status::Internal(msg);
  }
  if (duckdb_connect(w->h_->db, &w->h_->conn) != DuckDBSuccess) return Status::Internal("cannot connect to DuckDB");
  std::string ddl = "CREATE TABLE rows (";
  for (size_t i = 0; i < w->columns_.size(); ++i) {
    ddl += (i ? ", " : "") + QuoteIdentifier("c" + std::to_string(i)) + " " +
           (w->nested_[i] ? std::string("VARCHAR") : w->duck_types_[i]);
  }
  EL_RETURN_IF_ERROR(Run(w->h_->conn, ddl + ")"));
  EL_RETURN_IF_ERROR(w->Reset());
  return w;
}

ParquetWriter::~ParquetWriter() = default;

Status ParquetWriter::Reset() {
  if (h_->appender) duckdb_appender_destroy(&h_->appender);
  if (duckdb_appender_create(h_->conn, nullptr, "rows", &h_->appender) != DuckDBSuccess) {
    return Status::Internal("cannot create a DuckDB appender");
  }
  return Status::Ok();
}

Status ParquetWriter::Check(int state) {
  if (state == DuckDBSuccess) return Status::Ok();
  const char* why = duckdb_appender_error(h_->appender);
  return Status::InvalidArgument(why ? why : "DuckDB refused a value");
}

Status ParquetWriter::Null() { return Check(duckdb_append_null(h_->appender)); }
Status ParquetWriter::Bool(bool v) { return Check(duckdb_append_bool(h_->appender, v)); }
Status ParquetWriter::Int(int64_t v) { return Check(duckdb_append_int64(h_->appender, v)); }
Status ParquetWriter::Double(double v) { return Check(duckdb_append_double(h_->appender, v)); }
Status ParquetWriter::String(std::string_view v) {
  return Check(duckdb_append_varchar_length(h_->appender, v.data(), v.size()));
}
Status ParquetWriter::TimestampMicros(int64_t v) {
  return Check(duckdb_append_timestamp(h_->appender, duckdb_timestamp{v}));
}
Status ParquetWriter::Date(int32_t days) { return Check(duckdb_append_date(h_->appender, duckdb_date{days})); }
Status ParquetWriter::Json(std::string_view v) { return String(v); }

Status ParquetWriter::EndRow() {
  EL_RETURN_IF_ERROR(Check(duckdb_appender_end_row(h_->appender)));
  ++rows_;
  return Status::Ok();
}

Status ParquetWriter::Discard() {
  if (h_->appender) duckdb_appender_destroy(&h_->appender);  // drops what it had not flushed
  EL_RETURN_IF_ERROR(Run(h_->conn, "DELETE FROM rows"));
  rows_ = 0;
  return Reset();
}

Status ParquetWriter::Write(const std::string& path) {
  Status s = WriteRows(path);
  Status cleared = Discard();
  return s.ok() ? cleared : s;
}

Status ParquetWriter::WriteRows(const std::string& path) {
  EL_RETURN_IF_ERROR(Check(duckdb_appender_flush(h_->appender)));
  std::string select = "SELECT ";
  for (size_t i = 0; i < columns_.size(); ++i) {
    const std::string col = QuoteIdentifier("c" + std::to_string(i));
    select += (i ? ", " : "") +
              (nested_[i] ? "CAST(CAST(" + col + " AS JSON) AS " + duck_types_[i] + ")" : col) + " AS " +
              QuoteIdentifier(columns_[i].name);
  }
  std::string codec = compression_ == "UNCOMPRESSED" ? "uncompressed" : compression_;
  return Run(h_->conn, "COPY (" + select + " FROM rows) TO " + QuoteLiteral(path) + " (FORMAT parquet, COMPRESSION " +
                          codec + ")");
}

}  // namespace eventlake::query
