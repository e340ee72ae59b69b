#include "query/lake.h"

#include <cctype>
#include <filesystem>
#include <map>
#include <thread>

#include "common/strings.h"

namespace eventlake::query {

namespace {

Status Invalid(const std::string& what) { return Status::InvalidArgument(what); }

// A Hive type string, parsed into DuckDB's spelling.
class HiveTypeParser {
 public:
  explicit HiveTypeParser(std::string_view s) : s_(s) {}
  Result<std::string> ParseAll() {
    EL_ASSIGN_OR_RETURN(std::string t, Type(0));
    Skip();
    if (pos_ != s_.size()) return Invalid("Unexpected text in the type '" + std::string(s_) + "'");
    return t;
  }

 private:
  void Skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  std::string Word() {
    Skip();
    size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
    return AsciiLower(s_.substr(start, pos_ - start));
  }
  bool Eat(char c) {
    Skip();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  Result<int> Number() {
    Skip();
    size_t start = pos_;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (start == pos_ || pos_ - start > 4) return Invalid("Expected a number in the type '" + std::string(s_) + "'");
    return std::stoi(std::string(s_.substr(start, pos_ - start)));
  }
  Result<std::string> Type(int depth) {
    if (depth > 32) return Invalid("The type '" + std::string(s_) + "' nests too deeply");
    const std::string w = Word();
    static const std::map<std::string, std::string> kSimple = {
        {"string", "VARCHAR"},  {"tinyint", "TINYINT"}, {"smallint", "SMALLINT"}, {"int", "INTEGER"},
        {"integer", "INTEGER"}, {"bigint", "BIGINT"},   {"long", "BIGINT"},       {"float", "FLOAT"},
        {"real", "FLOAT"},      {"double", "DOUBLE"},   {"boolean", "BOOLEAN"},   {"date", "DATE"},
        {"timestamp", "TIMESTAMP"}, {"binary", "BLOB"}, {"varbinary", "BLOB"},    {"json", "VARCHAR"}};
    if (auto it = kSimple.find(w); it != kSimple.end()) return it->second;
    if (w == "varchar" || w == "char") {
      if (Eat('(')) {
        EL_RETURN_IF_ERROR(Number().status());
        if (!Eat(')')) return Invalid("Expected ')' in the type '" + std::string(s_) + "'");
      }
      return std::string("VARCHAR");
    }
    if (w == "decimal" || w == "numeric") {
      int precision = 10, scale = 0;
      if (Eat('(')) {
        EL_ASSIGN_OR_RETURN(precision, Number());
        if (Eat(',')) {
          EL_ASSIGN_OR_RETURN(scale, Number());
        }
        if (!Eat(')')) return Invalid("Expected ')' in the type '" + std::string(s_) + "'");
      }
      if (precision < 1 || precision > 38 || scale > precision) return Invalid("Bad decimal type '" + std::string(s_) + "'");
      return "DECIMAL(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
    }
    if (w == "array") {
      if (!Eat('<')) return Invalid("Expected '<' after array in '" + std::string(s_) + "'");
      EL_ASSIGN_OR_RETURN(std::string element, Type(depth + 1));
      if (!Eat('>')) return Invalid("Expected '>' in '" + std::string(s_) + "'");
      return element + "[]";
    }
    if (w == "map") {
      if (!Eat('<')) return Invalid("Expected '<' after map in '" + std::string(s_) + "'");
      EL_ASSIGN_OR_RETURN(std::string key, Type(depth + 1));
      if (!Eat(',')) return Invalid("Expected ',' in '" + std::string(s_) + "'");
      EL_ASSIGN_OR_RETURN(std::string value, Type(depth + 1));
      if (!Eat('>')) return Invalid("Expected '>' in '" + std::string(s_) + "'");
      return "MAP(" + key + ", " + value + ")";
    }
    if (w == "struct" || w == "row") {
      const char close = Eat('<') ? '>' : (Eat('(') ? ')' : '\0');
      if (!close) return Invalid("Expected '<' after struct in '" + std::string(s_) + "'");
      std::string out = "STRUCT(";
      for (int i = 0;; ++i) {
        Skip();
        std::string name;
        if (Eat('`')) {
          size_t end = s_.find('`', pos_);
          if (end == std::string_view::npos) return Invalid("Unterminated field name in '" + std::string(s_) + "'");
          name = std::string(s_.substr(pos_, end - pos_));
          pos_ = end + 1;
        } else {
          name = Word();
        }
        if (name.empty()) return Invalid("Expected a field name in '" + std::string(s_) + "'");
        if (!Eat(':')) Skip();  // struct<a:int> (Hive) or row(a int) (Athena)
        EL_ASSIGN_OR_RETURN(std::string t, Type(depth + 1));
        out += (i ? ", " : "") + QuoteIdentifier(name) + " " + t;
        if (Eat(',')) continue;
        if (!Eat(close)) return Invalid("Expected '" + std::string(1, close) + "' in '" + std::string(s_) + "'");
        return out + ")";
      }
    }
    return Invalid("Unsupported column type '" + std::string(s_) + "'");
  }
  std::string_view s_;
  size_t pos_ = 0;
};

// Folder and file names DuckDB reads back exactly (it decodes %XX in partition folders).
std::string Escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (out == "." || out == "..") out = "%2E" + out.substr(1);
  return out;
}

// The extension of a key's last segment (".json.gz", ".snappy.parquet"), which tells DuckDB the compression.
std::string Extension(const std::string& key) {
  const std::string base = key.substr(key.rfind('/') + 1);
  const size_t dot = base.find('.', 1);
  if (dot == std::string::npos) return "";
  std::string ext = base.substr(dot);
  if (ext.size() > 40) ext = ext.substr(ext.rfind('.'));
  for (char c : ext) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return "";
  }
  return ext;
}

// Files Hive and Athena leave out: hidden (leading "." or "_") and folder markers.
bool IsDataFile(const objects::ObjectVersion& v) {
  if (v.delete_marker || v.key.empty() || v.key.back() == '/') return false;
  const std::string base = v.key.substr(v.key.rfind('/') + 1);
  if (base.empty() || base[0] == '.' || base[0] == '_') return false;
  return base.size() < 9 || base.substr(base.size() - 9) != "_$folder$";
}

std::string Param(const catalog::Parameters& p, const std::string& key) {
  auto it = p.find(key);
  return it == p.end() ? std::string() : it->second;
}

}  // namespace

Result<std::string> DuckDbType(const std::string& hive_type) { return HiveTypeParser(hive_type).ParseAll(); }

Result<FileFormat> FormatOf(const catalog::Table& table) {
  std::string hints = AsciiLower(Param(table.parameters, "classification"));
  if (table.storage) {
    hints += " " + AsciiLower(table.storage->input_format);
    if (table.storage->serde) hints += " " + AsciiLower(table.storage->serde->serialization_library);
    hints += " " + AsciiLower(Param(table.storage->parameters, "classification"));
  }
  if (hints.find("parquet") != std::string::npos) return FileFormat::kParquet;
  if (hints.find("json") != std::string::npos) return FileFormat::kJson;
  if (hints.find("csv") != std::string::npos || hints.find("lazysimpleserde") != std::string::npos ||
      hints.find("textinputformat") != std::string::npos) {
    return FileFormat::kCsv;
  }
  return Status::InvalidArgument("Table " + table.database + "." + table.name +
                                 " is stored in a format that cannot be read (Parquet, JSON and CSV can)");
}

Result<std::pair<std::string, std::string>> ParseS3Location(const std::string& location) {
  std::string_view rest = location;
  for (std::string_view scheme : {"s3://", "s3a://", "s3n://"}) {
    if (rest.substr(0, scheme.size()) == scheme) {
      rest.remove_prefix(scheme.size());
      const size_t slash = rest.find('/');
      std::string bucket(rest.substr(0, slash));
      std::string prefix = slash == std::string_view::npos ? std::string() : std::string(rest.substr(slash + 1));
      if (bucket.empty()) break;
      return std::make_pair(bucket, prefix);
    }
  }
  return Status::InvalidArgument("The location '" + location + "' is not an s3:// location");
}

Result<TableFiles> LakeTables::Define(Engine& engine, const catalog::Table& table) {
  if (!table.storage) return Invalid("Table " + table.database + "." + table.name + " has no storage descriptor");
  EL_ASSIGN_OR_RETURN(FileFormat format, FormatOf(table));
  const auto& columns = table.storage->columns;
  const auto& keys = table.partition_keys;
  std::vector<std::string> column_types, key_types;
  for (const auto& c : columns) {
    EL_ASSIGN_OR_RETURN(std::string t, DuckDbType(c.type.empty() ? "string" : c.type));
    column_types.push_back(std::move(t));
  }
  for (const auto& k : keys) {
    EL_ASSIGN_OR_RETURN(std::string t, DuckDbType(k.type.empty() ? "string" : k.type));
    key_types.push_back(std::move(t));
  }

  // The files: under the table's location, or under each partition's.
  struct Source {
    std::string location;
    std::vector<std::string> values;
  };
  std::vector<Source> sources;
  if (keys.empty()) {
    sources.push_back({table.storage->location, {}});
  } else {
    std::string token;
    do {
      EL_ASSIGN_OR_RETURN(auto page, catalog_.ListPartitions(table.database, table.name, "", {}, token, 1000));
      for (auto& p : page.items) {
        std::string location = p.storage && !p.storage->location.empty() ? p.storage->location : "";
        if (location.empty()) {
          location = table.storage->location;
          if (!location.empty() && location.back() != '/') location += '/';
          for (size_t i = 0; i < keys.size() && i < p.values.size(); ++i) {
            location += keys[i].name + "=" + p.values[i] + "/";
          }
        }
        sources.push_back({location, p.values});
      }
      token = page.next_token;
    } while (!token.empty());
  }
  // The files, and the links that will name them: partition folders carry the values.
  struct Link {
    std::string dir, name, target;
  };
  std::vector<Link> links;
  TableFiles covered;
  std::string signature = table.database + "." + table.name + "@" + table.version_id;  // what is read
  for (const auto& source : sources) {
    EL_ASSIGN_OR_RETURN(auto where, ParseS3Location(source.location));
    std::string prefix = where.second;
    if (!prefix.empty() && prefix.back() != '/') prefix += '/';
    std::string dir;
    for (size_t i = 0; i < keys.size(); ++i) dir += "/" + Escape(keys[i].name) + "=" + Escape(source.values[i]);
    objects::ListRequest req;
    req.prefix = prefix;
    for (;;) {
      auto page = objects_.List(where.first, req);
      if (!page.ok() && page.status().code() == StatusCode::kNotFound) break;  // no such bucket: no files
      if (!page.ok()) return page.status();
      for (const auto& v : page->objects) {
        if (!IsDataFile(v) || v.size == 0) continue;
        EL_ASSIGN_OR_RETURN(std::string path, objects_.LocalFile(where.first, v));
        links.push_back({dir, std::to_string(covered.files) + Extension(v.key), path});
        ++covered.files;
        covered.bytes += static_cast<int64_t>(v.size);
        signature += "|" + dir + "/" + links.back().name + ">" + path + ":" + std::to_string(v.size);
      }
      if (!page->truncated) break;
      req.start_after = page->last;
    }
  }
  // One folder of links per table version and set of files: queries over the same files share it.
  char key[40];
  std::snprintf(key, sizeof(key), "%016zx%08zx", std::hash<std::string>{}(signature), signature.size());
  const std::string farm = farms_dir_ + "/" + key;
  std::error_code ec;
  {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(cache_mu_);
    for (auto it = farm_used_.begin(); it != farm_used_.end();) {
      if (now - it->second > keep_) {
        std::filesystem::remove_all(farms_dir_ + "/" + it->first, ec);
        it = farm_used_.erase(it);
      } else {
        ++it;
      }
    }
    farm_used_[key] = now;
  }
  if (covered.files > 0 && !std::filesystem::exists(farm, ec)) {
    const std::string building = farm + ".tmp-" + std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
    std::filesystem::remove_all(building, ec);
    for (const auto& l : links) {
      std::filesystem::create_directories(building + l.dir, ec);
      std::filesystem::create_symlink(l.target, building + l.dir + "/" + l.name, ec);
      if (ec) return Status::IoError("cannot link " + building + l.dir + "/" + l.name + ": " + ec.message());
    }
    std::filesystem::rename(building, farm, ec);
    if (ec) std::filesystem::remove_all(building, ec);  // another query made the same one first
  }

  const std::string view = QuoteIdentifier(table.database) + "." + QuoteIdentifier(table.name);
  EL_RETURN_IF_ERROR(engine.Execute("CREATE SCHEMA IF NOT EXISTS " + QuoteIdentifier(table.database)));
  std::string select;
  auto add = [&](const std::string& expr, const std::string& name) {
    select += (select.empty() ? "" : ", ") + expr + " AS " + QuoteIdentifier(name);
  };
  if (covered.files == 0) {
    for (size_t i = 0; i < columns.size(); ++i) add("CAST(NULL AS " + column_types[i] + ")", columns[i].name);
    for (size_t i = 0; i < keys.size(); ++i) add("CAST(NULL AS " + key_types[i] + ")", keys[i].name);
    EL_RETURN_IF_ERROR(engine.Execute("CREATE OR REPLACE VIEW " + view + " AS SELECT " + select + " WHERE false"));
    return covered;
  }
  std::string glob = farm;
  for (size_t i = 0; i < keys.size(); ++i) glob += "/*";
  glob += "/*";
  std::string hive = keys.empty() ? "hive_partitioning = false" : "hive_partitioning = true, hive_types = {";
  for (size_t i = 0; i < keys.size(); ++i) {
    hive += (i ? ", " : "") + QuoteLiteral(keys[i].name) + ": " + QuoteLiteral(key_types[i]);
  }
  if (!keys.empty()) hive += "}";
  std::string read;
  switch (format) {
    case FileFormat::kParquet:
      read = "read_parquet(" + QuoteLiteral(glob) + ", union_by_name = true, " + hive + ")";
      break;
    case FileFormat::kJson:
      // Detected here once; the view then reads with the columns declared, sampling nothing.
      read = "read_json(" + QuoteLiteral(glob) + ", format = 'newline_delimited', union_by_name = true, " +
             "hive_partitioning = false)";
      break;
    case FileFormat::kCsv: {
      std::string delim = Param(table.storage->serde ? table.storage->serde->parameters : catalog::Parameters{},
                                "field.delim");
      if (delim.empty()) delim = Param(table.storage->serde ? table.storage->serde->parameters : catalog::Parameters{},
                                       "separatorChar");
      if (delim.empty()) delim = ",";
      const bool header = Param(table.parameters, "skip.header.line.count") == "1";
      std::string cols = "{";
      for (size_t i = 0; i < columns.size(); ++i) {
        cols += (i ? ", " : "") + QuoteLiteral(columns[i].name) + ": 'VARCHAR'";
      }
      cols += "}";
      read = "read_csv(" + QuoteLiteral(glob) + ", auto_detect = false, header = " + (header ? "true" : "false") +
             ", delim = " + QuoteLiteral(delim) + ", columns = " + cols + ", " + hive + ")";
      break;
    }
  }
  // Which of the catalog's columns the files have, by name in any case; the others read as NULL.
  // (DuckDB matches JSON keys exactly: a key is read in the spelling the detection saw first.)
  // Read once per set of files: a query over the same files again skips their footers or samples.
  Present present;
  const std::string cache_key = std::string(key) + ":" + std::to_string(static_cast<int>(format));
  bool cached = false;
  {
    std::lock_guard lock(cache_mu_);
    if (auto it = present_cache_.find(cache_key); it != present_cache_.end()) {
      present = it->second;
      cached = true;
    }
  }
  if (!cached) {
    EL_RETURN_IF_ERROR(engine.Query(
        "DESCRIBE SELECT * FROM " + read, [](std::vector<ResultColumn>) {},
        [&](TextRow&& r) {
          if (!r.empty() && r[0]) present[AsciiLower(*r[0])].push_back(*r[0]);
          return true;
        }));
    std::lock_guard lock(cache_mu_);
    if (present_cache_.emplace(cache_key, present).second) cache_order_.push_back(cache_key);
    while (cache_order_.size() > 256) {
      present_cache_.erase(cache_order_.front());
      cache_order_.pop_front();
    }
  }
  std::string declared;
  for (size_t i = 0; i < columns.size(); ++i) {
    auto it = present.find(AsciiLower(columns[i].name));
    if (it == present.end()) {
      add("CAST(NULL AS " + column_types[i] + ")", columns[i].name);
      continue;
    }
    std::string expr;
    for (const auto& spelling : it->second) {
      expr += (expr.empty() ? "" : ", ") + QuoteIdentifier(spelling);
      declared += (declared.empty() ? "" : ", ") + QuoteLiteral(spelling) + ": " + QuoteLiteral(column_types[i]);
    }
    if (it->second.size() > 1) expr = "COALESCE(" + expr + ")";
    add(format == FileFormat::kJson ? expr : "CAST(" + expr + " AS " + column_types[i] + ")", columns[i].name);
  }
  if (format == FileFormat::kJson) {
    if (declared.empty()) declared = "'__eventlake_none': 'VARCHAR'";
    read = "read_json(" + QuoteLiteral(glob) + ", format = 'newline_delimited', columns = {" + declared + "}, " + hive +
           ")";
  }
  for (size_t i = 0; i < keys.size(); ++i) add(QuoteIdentifier(keys[i].name), keys[i].name);
  EL_RETURN_IF_ERROR(engine.Execute("CREATE OR REPLACE VIEW " + view + " AS SELECT " + select + " FROM " + read));
  return covered;
}

}  // namespace eventlake::query
