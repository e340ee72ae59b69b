#include "query/inspector.h"

#include <fstream>
#include <map>

#include "common/strings.h"

namespace eventlake::query {

namespace {

// Reads Engine's type spelling back, producing Hive's.
class TypeReader {
 public:
  explicit TypeReader(std::string_view s) : s_(s) {}
  std::string Read(int depth = 0) {
    Skip();
    if (depth > 64) return "string";
    std::string base;
    if (Eat("STRUCT(")) {
      base = "struct<";
      for (int i = 0;; ++i) {
        Skip();
        std::string name = Name();
        Skip();
        std::string type = Read(depth + 1);
        base += (i ? "," : "") + name + ":" + type;
        Skip();
        if (Eat(",")) continue;
        Eat(")");
        break;
      }
      base += ">";
    } else if (Eat("MAP(")) {
      std::string k = Read(depth + 1);
      Eat(",");
      std::string v = Read(depth + 1);
      Eat(")");
      base = "map<" + k + "," + v + ">";
    } else {
      std::string word;
      while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != ')' && s_[pos_] != '[') {
        if (s_[pos_] == '(') {  // DECIMAL(p,s)
          size_t close = s_.find(')', pos_);
          if (close == std::string_view::npos) break;
          word += std::string(s_.substr(pos_, close - pos_ + 1));
          pos_ = close + 1;
          break;
        }
        word += s_[pos_++];
      }
      base = Simple(std::string(TrimWhitespace(word)));
    }
    while (Eat("[]")) base = "array<" + base + ">";
    return base;
  }

 private:
  static std::string Simple(const std::string& t) {
    static const std::map<std::string, std::string> kMap = {
        {"BOOLEAN", "boolean"},   {"TINYINT", "tinyint"},   {"SMALLINT", "smallint"},  {"INTEGER", "int"},
        {"BIGINT", "bigint"},     {"UTINYINT", "smallint"}, {"USMALLINT", "int"},      {"UINTEGER", "bigint"},
        {"UBIGINT", "bigint"},    {"HUGEINT", "decimal(38,0)"}, {"UHUGEINT", "decimal(38,0)"},
        {"FLOAT", "float"},       {"DOUBLE", "double"},     {"DATE", "date"},          {"TIMESTAMP", "timestamp"},
        {"TIMESTAMP_S", "timestamp"}, {"TIMESTAMP_MS", "timestamp"}, {"TIMESTAMP_NS", "timestamp"},
        {"TIMESTAMP WITH TIME ZONE", "timestamp"}, {"BLOB", "binary"}, {"VARCHAR", "string"}};
    if (auto it = kMap.find(t); it != kMap.end()) return it->second;
    if (t.rfind("DECIMAL", 0) == 0) return AsciiLower(t);
    return "string";  // JSON, UUID, TIME, INTERVAL, NULL: text
  }
  void Skip() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
  }
  bool Eat(std::string_view token) {
    Skip();
    if (s_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }
  std::string Name() {
    std::string out;
    if (pos_ < s_.size() && s_[pos_] == '"') {
      for (++pos_; pos_ < s_.size(); ++pos_) {
        if (s_[pos_] == '"') {
          if (pos_ + 1 < s_.size() && s_[pos_ + 1] == '"') {
            out += '"';
            ++pos_;
            continue;
          }
          ++pos_;
          break;
        }
        out += s_[pos_];
      }
      return out;
    }
    while (pos_ < s_.size() && s_[pos_] != ' ') out += s_[pos_++];
    return out;
  }
  std::string_view s_;
  size_t pos_ = 0;
};

// What the first bytes of a file say: its format and compression.
std::pair<std::string, std::string> Sniff(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[64] = {};
  in.read(head, sizeof(head));
  const auto n = static_cast<size_t>(in.gcount());
  const auto u = [&](size_t i) { return static_cast<unsigned char>(head[i]); };
  if (n >= 4 && std::string_view(head, 4) == "PAR1") return {"parquet", ""};
  if (n >= 2 && u(0) == 0x1f && u(1) == 0x8b) return {"", "gzip"};
  if (n >= 4 && u(0) == 0x28 && u(1) == 0xb5 && u(2) == 0x2f && u(3) == 0xfd) return {"", "zstd"};
  for (size_t i = 0; i < n; ++i) {
    if (std::isspace(u(i))) continue;
    return {head[i] == '{' ? "json" : "csv", ""};
  }
  return {"json", ""};
}

}  // namespace

std::string HiveType(std::string_view duckdb_type) { return TypeReader(duckdb_type).Read(); }

Result<catalog::FileSchema> DuckDbInspector::Inspect(const std::vector<catalog::SampleFile>& files) {
  if (files.empty()) return Status::InvalidArgument("no files to read");
  std::lock_guard lock(mu_);
  if (!engine_) {
    EngineOptions o;
    o.threads = 1;
    o.memory_limit_bytes = 512LL << 20;
    EL_ASSIGN_OR_RETURN(engine_, Engine::Open(o));
  }
  catalog::FileSchema schema;
  // The name tells, else the bytes.
  const std::string name = AsciiLower(files[0].key);
  auto ends = [&](std::string_view ext) { return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext; };
  auto sniffed = Sniff(files[0].path);
  schema.compression = ends(".gz") || ends(".gzip") ? "gzip" : ends(".zst") || ends(".zstd") ? "zstd" : sniffed.second;
  if (name.find(".parquet") != std::string::npos || sniffed.first == "parquet") {
    schema.format = "parquet";
  } else if (name.find(".csv") != std::string::npos || name.find(".tsv") != std::string::npos) {
    schema.format = "csv";
  } else if (name.find(".json") != std::string::npos || !schema.compression.empty()) {
    schema.format = "json";
  } else {
    schema.format = sniffed.first.empty() ? "json" : sniffed.first;
  }
  std::string list = "[";
  for (size_t i = 0; i < files.size(); ++i) list += (i ? ", " : "") + QuoteLiteral(files[i].path);
  list += "]";
  const std::string compression = schema.compression.empty() ? "uncompressed" : schema.compression;
  std::string read;
  if (schema.format == "parquet") {
    read = "read_parquet(" + list + ", union_by_name = true)";
  } else if (schema.format == "json") {
    read = "read_json(" + list + ", format = 'newline_delimited', union_by_name = true, compression = " +
           QuoteLiteral(compression) + ")";
  } else {
    // The delimiter and header line, as DuckDB's sniffer sees the first file.
    schema.delimiter = ",";
    Status sniff = engine_->Query(
        "SELECT Delimiter, HasHeader FROM sniff_csv(" + QuoteLiteral(files[0].path) +
            ", compression = " + QuoteLiteral(compression) + ")",
        [](std::vector<ResultColumn>) {},
        [&](TextRow&& r) {
          if (r.size() == 2 && r[0]) schema.delimiter = *r[0];
          if (r.size() == 2 && r[1]) schema.header = *r[1] == "true";
          return false;
        });
    EL_RETURN_IF_ERROR(sniff);
    read = "read_csv(" + list + ", union_by_name = true, compression = " + QuoteLiteral(compression) + ")";
  }
  std::vector<ResultColumn> columns;
  Status s = engine_->Query("SELECT * FROM " + read + " LIMIT 0",
                            [&](std::vector<ResultColumn> c) { columns = std::move(c); },
                            [](TextRow&&) { return true; });
  if (!s.ok()) return Status::InvalidArgument("cannot read the files as " + schema.format + ": " + s.message());
  for (const auto& c : columns) schema.columns.push_back({c.name, HiveType(c.type), "", {}});
  return schema;
}

}  // namespace eventlake::query
