#include "query/statements.h"

#include <cctype>
#include <set>

#include "common/pattern.h"
#include "common/strings.h"
#include "query/lake.h"

namespace eventlake::query {

namespace {

Status Invalid(const std::string& msg) { return Status::InvalidArgument(msg); }

enum class Tok { kEnd, kWord, kQuoted, kString, kNumber, kSymbol };
struct Token {
  Tok kind = Tok::kEnd;
  std::string text;
  size_t pos = 0;  // where it starts in the statement
};

Result<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {  // a comment to the end of the line
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (c == '\'' || c == '"' || c == '`') {
      const size_t start = i;
      std::string v;
      for (++i;; ++i) {
        if (i >= s.size()) return Invalid("line 1: unterminated " + std::string(c == '\'' ? "string" : "name"));
        if (s[i] == c) {
          if (i + 1 < s.size() && s[i + 1] == c) {
            v += c;
            ++i;
            continue;
          }
          ++i;
          break;
        }
        if (s[i] == '\\' && c == '\'' && i + 1 < s.size()) {
          v += s[++i];
          continue;
        }
        v += s[i];
      }
      out.push_back({c == '\'' ? Tok::kString : Tok::kQuoted, std::move(v), start});
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
      out.push_back({Tok::kNumber, std::string(s.substr(i, j - i)), i});
      i = j;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      out.push_back({Tok::kWord, std::string(s.substr(i, j - i)), i});
      i = j;
    } else {
      out.push_back({Tok::kSymbol, std::string(1, c), i});
      ++i;
    }
    if (out.size() > 100000) return Invalid("The statement is too long");
  }
  return out;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> t) : t_(std::move(t)) {}
  const Token& Peek(size_t ahead = 0) const {
    static const Token end;
    return pos_ + ahead < t_.size() ? t_[pos_ + ahead] : end;
  }
  Token Next() { return pos_ < t_.size() ? t_[pos_++] : Token{}; }
  bool IsWord(const char* w, size_t ahead = 0) const {
    const Token& t = Peek(ahead);
    return t.kind == Tok::kWord && EqualsIgnoreCase(t.text, w);
  }
  bool Accept(const char* w) {
    if (!IsWord(w)) return false;
    ++pos_;
    return true;
  }
  bool AcceptSymbol(char c) {
    if (Peek().kind != Tok::kSymbol || Peek().text[0] != c) return false;
    ++pos_;
    return true;
  }
  Status Expect(const char* w) {
    if (Accept(w)) return Status::Ok();
    return Invalid("line 1: expected " + std::string(w) + Near());
  }
  Status ExpectSymbol(char c) {
    if (AcceptSymbol(c)) return Status::Ok();
    return Invalid("line 1: expected '" + std::string(1, c) + "'" + Near());
  }
  std::string Near() const {
    return Peek().kind == Tok::kEnd ? " at the end of the statement" : " near '" + Peek().text + "'";
  }
  bool AtEnd() {
    AcceptSymbol(';');
    return Peek().kind == Tok::kEnd;
  }
  Status ExpectEnd() { return AtEnd() ? Status::Ok() : Invalid("line 1: unexpected '" + Peek().text + "'"); }
  Result<std::string> Name() {
    if (Peek().kind == Tok::kWord || Peek().kind == Tok::kQuoted) return Next().text;
    return Invalid("line 1: expected a name" + Near());
  }
  // [db.]name, the database defaulting to `database`.
  Result<std::pair<std::string, std::string>> TableName(const std::string& database) {
    EL_ASSIGN_OR_RETURN(std::string first, Name());
    if (AcceptSymbol('.')) {
      EL_ASSIGN_OR_RETURN(std::string second, Name());
      return std::make_pair(AsciiLower(first), AsciiLower(second));
    }
    if (database.empty()) return Invalid("line 1: no database given for table " + first);
    return std::make_pair(AsciiLower(database), AsciiLower(first));
  }
  Result<std::string> String() {
    if (Peek().kind == Tok::kString) return Next().text;
    return Invalid("line 1: expected a quoted string" + Near());
  }
  // A literal value: 'text' or a number.
  Result<std::string> Value() {
    if (Peek().kind == Tok::kString || Peek().kind == Tok::kNumber) return Next().text;
    return Invalid("line 1: expected a value" + Near());
  }
  // ('k' = 'v', ...)
  Result<catalog::Parameters> Properties() {
    catalog::Parameters out;
    EL_RETURN_IF_ERROR(ExpectSymbol('('));
    do {
      EL_ASSIGN_OR_RETURN(std::string k, String());
      EL_RETURN_IF_ERROR(ExpectSymbol('='));
      EL_ASSIGN_OR_RETURN(std::string v, Value());
      out[k] = v;
    } while (AcceptSymbol(','));
    EL_RETURN_IF_ERROR(ExpectSymbol(')'));
    return out;
  }
  // A column type as Hive writes it, up to the next ',' or ')' at its level or COMMENT.
  Result<std::string> Type() {
    std::string out;
    int depth = 0;
    for (;;) {
      const Token& t = Peek();
      if (t.kind == Tok::kEnd) break;
      if (depth == 0 && t.kind == Tok::kSymbol && (t.text == "," || t.text == ")")) break;
      if (depth == 0 && t.kind == Tok::kWord && EqualsIgnoreCase(t.text, "COMMENT")) break;
      if (t.kind == Tok::kSymbol && (t.text == "<" || t.text == "(")) ++depth;
      if (t.kind == Tok::kSymbol && (t.text == ">" || t.text == ")")) --depth;
      if (depth < 0) break;
      if (!out.empty() && t.kind == Tok::kWord && std::isalnum(static_cast<unsigned char>(out.back()))) out += ' ';
      out += t.kind == Tok::kWord ? AsciiLower(t.text) : t.kind == Tok::kQuoted ? "`" + t.text + "`" : t.text;
      Next();
    }
    if (out.empty()) return Invalid("line 1: expected a column type" + Near());
    EL_RETURN_IF_ERROR(DuckDbType(out).status());  // a type the lake can read
    return out;
  }
  // (name type [COMMENT '...'], ...)
  Result<std::vector<catalog::Column>> Columns() {
    std::vector<catalog::Column> cols;
    EL_RETURN_IF_ERROR(ExpectSymbol('('));
    do {
      catalog::Column c;
      EL_ASSIGN_OR_RETURN(c.name, Name());
      c.name = AsciiLower(c.name);
      EL_ASSIGN_OR_RETURN(c.type, Type());
      if (Accept("COMMENT")) {
        EL_ASSIGN_OR_RETURN(c.comment, String());
      }
      cols.push_back(std::move(c));
    } while (AcceptSymbol(','));
    EL_RETURN_IF_ERROR(ExpectSymbol(')'));
    return cols;
  }
  // PARTITION (k = 'v', ...) in the order of `keys`.
  Result<std::vector<std::string>> PartitionSpec(const std::vector<catalog::Column>& keys) {
    EL_RETURN_IF_ERROR(Expect("PARTITION"));
    EL_RETURN_IF_ERROR(ExpectSymbol('('));
    std::map<std::string, std::string> given;
    do {
      EL_ASSIGN_OR_RETURN(std::string k, Name());
      EL_RETURN_IF_ERROR(ExpectSymbol('='));
      EL_ASSIGN_OR_RETURN(std::string v, Value());
      given[AsciiLower(k)] = v;
    } while (AcceptSymbol(','));
    EL_RETURN_IF_ERROR(ExpectSymbol(')'));
    std::vector<std::string> values;
    for (const auto& k : keys) {
      auto it = given.find(AsciiLower(k.name));
      if (it == given.end()) return Invalid("line 1: the partition does not give a value for " + k.name);
      values.push_back(it->second);
    }
    if (given.size() != keys.size()) return Invalid("line 1: the partition names a column that is not a partition key");
    return values;
  }

 private:
  std::vector<Token> t_;
  size_t pos_ = 0;
};

ColumnInfo Text(const std::string& name) { return {name, "varchar", 2147483647, 0}; }

StatementResult Ddl(const std::string& subtype) {
  StatementResult r;
  r.statement_type = "DDL";
  r.substatement_type = subtype;
  return r;
}

StatementResult Lines(const std::string& subtype, const std::string& column, std::vector<std::string> lines) {
  StatementResult r;
  r.statement_type = "UTILITY";
  r.substatement_type = subtype;
  r.columns = {Text(column)};
  for (auto& l : lines) r.rows.push_back({std::move(l)});
  return r;
}

std::string PartitionName(const std::vector<catalog::Column>& keys, const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < keys.size() && i < values.size(); ++i) {
    out += (i ? "/" : "") + keys[i].name + "=" + values[i];
  }
  return out;
}

// Hive-style patterns of SHOW TABLES / DATABASES: * any run, | alternatives.
Result<Pattern> ShowPattern(const std::string& pattern) {
  std::string re;
  for (char c : pattern) {
    if (c == '*') {
      re += ".*";
    } else if (c == '|') {
      re += '|';
    } else {
      re += Pattern::Quote(std::string_view(&c, 1));
    }
  }
  return Pattern::Compile(re, /*ignore_case=*/true);
}

void ApplyStoredAs(const std::string& format, catalog::StorageDescriptor& sd, catalog::Parameters& table_params) {
  const std::string f = AsciiLower(format);
  const std::string text_in = "org.apache.hadoop.mapred.TextInputFormat";
  const std::string text_out = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat";
  if (f == "parquet") {
    sd.input_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
    sd.output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";
    if (!sd.serde) sd.serde = catalog::SerDeInfo{"", "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe", {}};
    table_params.emplace("classification", "parquet");
  } else if (f == "json" || f == "jsonfile") {
    sd.input_format = text_in;
    sd.output_format = text_out;
    if (!sd.serde) sd.serde = catalog::SerDeInfo{"", "org.openx.data.jsonserde.JsonSerDe", {}};
    table_params.emplace("classification", "json");
  } else if (f == "orc") {
    sd.input_format = "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat";
    sd.output_format = "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat";
    if (!sd.serde) sd.serde = catalog::SerDeInfo{"", "org.apache.hadoop.hive.ql.io.orc.OrcSerde", {}};
    table_params.emplace("classification", "orc");
  } else if (f == "avro") {
    sd.input_format = "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat";
    sd.output_format = "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat";
    if (!sd.serde) sd.serde = catalog::SerDeInfo{"", "org.apache.hadoop.hive.serde2.avro.AvroSerDe", {}};
    table_params.emplace("classification", "avro");
  } else {  // TEXTFILE
    sd.input_format = text_in;
    sd.output_format = text_out;
    if (!sd.serde) sd.serde = catalog::SerDeInfo{"", "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", {}};
  }
}

// The statement's first keyword, upper case (blanks and -- comments before it skipped): every query
// passes through here, so the whole text is tokenized only for the statements that start as ours do.
std::string FirstWord(std::string_view s) {
  size_t i = 0;
  for (;;) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (s.substr(i, 2) != "--") break;
    while (i < s.size() && s[i] != '\n') ++i;
  }
  std::string word;
  while (i < s.size() && (std::isalpha(static_cast<unsigned char>(s[i])) || s[i] == '_')) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(s[i++])));
  }
  return word;
}

}  // namespace

std::optional<Result<CtasPlan>> ParseCtas(const std::string& sql, const std::string& database) {
  if (FirstWord(sql) != "CREATE") return std::nullopt;
  auto tokens = Tokenize(sql);
  if (!tokens.ok()) return std::nullopt;
  Parser p(std::move(*tokens));
  if (!p.Accept("CREATE") || !p.Accept("TABLE")) return std::nullopt;
  CtasPlan plan;
  plan.if_not_exists = p.Accept("IF") && p.Accept("NOT") && p.Accept("EXISTS");
  auto name = p.TableName(AsciiLower(database));
  if (!name.ok()) return std::nullopt;
  if (!p.IsWord("WITH") && !p.IsWord("AS")) return std::nullopt;  // a CREATE TABLE of another kind
  auto run = [&]() -> Result<CtasPlan> {
    plan.database = name->first;
    plan.table = name->second;
    if (p.Accept("WITH")) {
      EL_RETURN_IF_ERROR(p.ExpectSymbol('('));
      do {
        EL_ASSIGN_OR_RETURN(std::string key, p.Name());
        key = AsciiLower(key);
        EL_RETURN_IF_ERROR(p.ExpectSymbol('='));
        if (key == "partitioned_by") {
          EL_RETURN_IF_ERROR(p.Expect("ARRAY"));
          EL_RETURN_IF_ERROR(p.ExpectSymbol('['));
          do {
            EL_ASSIGN_OR_RETURN(std::string col, p.String());
            plan.partitioned_by.push_back(AsciiLower(col));
          } while (p.AcceptSymbol(','));
          EL_RETURN_IF_ERROR(p.ExpectSymbol(']'));
          continue;
        }
        EL_ASSIGN_OR_RETURN(std::string value, p.String());
        if (key == "format") {
          plan.format = AsciiLower(value) == "json" ? "JSON" : AsciiLower(value) == "parquet" ? "PARQUET" : "";
          if (plan.format.empty()) return Invalid("format must be PARQUET or JSON");
        } else if (key == "external_location") {
          EL_RETURN_IF_ERROR(ParseS3Location(value).status());
          plan.location = value.back() == '/' ? value : value + "/";
        } else if (key != "write_compression" && key != "parquet_compression" && key != "table_type") {
          return Invalid("Unsupported table property " + key);
        }
      } while (p.AcceptSymbol(','));
      EL_RETURN_IF_ERROR(p.ExpectSymbol(')'));
    }
    if (!p.IsWord("AS")) return Invalid("line 1: expected AS SELECT" + p.Near());
    const size_t at = p.Peek().pos + 2;
    plan.select = sql.substr(at);
    while (!plan.select.empty() && (std::isspace(static_cast<unsigned char>(plan.select.back())) || plan.select.back() == ';')) {
      plan.select.pop_back();
    }
    if (TrimWhitespace(plan.select).empty()) return Invalid("line 1: expected a SELECT after AS");
    return plan;
  };
  return run();
}

catalog::Table ExternalTable(const std::string& name, std::vector<catalog::Column> columns,
                             std::vector<catalog::Column> partition_keys, const std::string& format,
                             const std::string& location) {
  catalog::Table t;
  t.name = name;
  t.table_type = "EXTERNAL_TABLE";
  t.parameters["EXTERNAL"] = "TRUE";
  t.partition_keys = std::move(partition_keys);
  catalog::StorageDescriptor sd;
  sd.columns = std::move(columns);
  sd.location = location;
  ApplyStoredAs(format, sd, t.parameters);
  t.storage = std::move(sd);
  return t;
}

std::optional<Result<StatementResult>> CatalogStatements::Handle(const std::string& sql, const std::string& database) {
  const std::string first = FirstWord(sql);
  if (first != "CREATE" && first != "DROP" && first != "ALTER" && first != "MSCK" && first != "SHOW" &&
      first != "DESCRIBE" && first != "DESC") {
    return std::nullopt;
  }
  if (first == "CREATE" && ParseCtas(sql, database)) return std::nullopt;  // the executor runs those: they need DuckDB
  auto tokens = Tokenize(sql);
  if (!tokens.ok()) return std::nullopt;  // DuckDB reports what it cannot parse
  Parser p(std::move(*tokens));
  const bool create = first == "CREATE", drop = first == "DROP", alter = first == "ALTER", msck = first == "MSCK",
             show = first == "SHOW";
  const std::string db = AsciiLower(database);
  auto run = [&]() -> Result<StatementResult> {
    p.Next();
    if (create) {
      if (p.Accept("DATABASE") || p.Accept("SCHEMA")) {
        const bool if_not_exists = p.Accept("IF") && p.Accept("NOT") && p.Accept("EXISTS");
        catalog::Database d;
        EL_ASSIGN_OR_RETURN(d.name, p.Name());
        for (;;) {
          if (p.Accept("COMMENT")) {
            EL_ASSIGN_OR_RETURN(d.description, p.String());
          } else if (p.Accept("LOCATION")) {
            EL_ASSIGN_OR_RETURN(d.location_uri, p.String());
          } else if (p.Accept("WITH")) {
            EL_RETURN_IF_ERROR(p.Expect("DBPROPERTIES"));
            EL_ASSIGN_OR_RETURN(d.parameters, p.Properties());
          } else {
            break;
          }
        }
        EL_RETURN_IF_ERROR(p.ExpectEnd());
        Status s = catalog_.CreateDatabase(d);
        if (!s.ok() && !(if_not_exists && s.code() == StatusCode::kAlreadyExists)) return s;
        return Ddl("CREATE_DATABASE");
      }
      const bool external = p.Accept("EXTERNAL");
      EL_RETURN_IF_ERROR(p.Expect("TABLE"));
      const bool if_not_exists = p.Accept("IF") && p.Accept("NOT") && p.Accept("EXISTS");
      EL_ASSIGN_OR_RETURN(auto name, p.TableName(db));
      if (p.IsWord("AS") || p.IsWord("WITH")) {
        return Invalid("CREATE TABLE AS SELECT is not supported yet");
      }
      if (!external) return Invalid("Only external tables can be created: write CREATE EXTERNAL TABLE");
      catalog::Table t;
      t.name = name.second;
      t.table_type = "EXTERNAL_TABLE";
      t.parameters["EXTERNAL"] = "TRUE";
      catalog::StorageDescriptor sd;
      EL_ASSIGN_OR_RETURN(sd.columns, p.Columns());
      std::string stored_as = "TEXTFILE";
      bool explicit_formats = false;
      for (;;) {
        if (p.Accept("COMMENT")) {
          EL_ASSIGN_OR_RETURN(t.description, p.String());
        } else if (p.Accept("PARTITIONED")) {
          EL_RETURN_IF_ERROR(p.Expect("BY"));
          EL_ASSIGN_OR_RETURN(t.partition_keys, p.Columns());
        } else if (p.Accept("ROW")) {
          EL_RETURN_IF_ERROR(p.Expect("FORMAT"));
          if (p.Accept("SERDE")) {
            catalog::SerDeInfo serde;
            EL_ASSIGN_OR_RETURN(serde.serialization_library, p.String());
            if (p.Accept("WITH")) {
              EL_RETURN_IF_ERROR(p.Expect("SERDEPROPERTIES"));
              EL_ASSIGN_OR_RETURN(serde.parameters, p.Properties());
            }
            sd.serde = std::move(serde);
          } else {
            EL_RETURN_IF_ERROR(p.Expect("DELIMITED"));
            catalog::SerDeInfo serde{"", "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", {}};
            for (;;) {
              if (p.Accept("FIELDS") || p.Accept("COLLECTION") || p.Accept("MAP") || p.Accept("LINES")) {
                if (p.Accept("ITEMS") || p.Accept("KEYS")) {
                }
                EL_RETURN_IF_ERROR(p.Expect("TERMINATED"));
                EL_RETURN_IF_ERROR(p.Expect("BY"));
                EL_ASSIGN_OR_RETURN(std::string d, p.String());
                serde.parameters.emplace("field.delim", d);
                serde.parameters.emplace("serialization.format", d);
              } else if (p.Accept("ESCAPED")) {
                EL_RETURN_IF_ERROR(p.Expect("BY"));
                EL_ASSIGN_OR_RETURN(serde.parameters["escape.delim"], p.String());
              } else {
                break;
              }
            }
            sd.serde = std::move(serde);
          }
        } else if (p.Accept("STORED")) {
          EL_RETURN_IF_ERROR(p.Expect("AS"));
          if (p.Accept("INPUTFORMAT")) {
            EL_ASSIGN_OR_RETURN(sd.input_format, p.String());
            EL_RETURN_IF_ERROR(p.Expect("OUTPUTFORMAT"));
            EL_ASSIGN_OR_RETURN(sd.output_format, p.String());
            explicit_formats = true;
          } else {
            EL_ASSIGN_OR_RETURN(stored_as, p.Name());
          }
        } else if (p.Accept("LOCATION")) {
          EL_ASSIGN_OR_RETURN(sd.location, p.String());
        } else if (p.Accept("TBLPROPERTIES")) {
          EL_ASSIGN_OR_RETURN(auto props, p.Properties());
          for (auto& [k, v] : props) t.parameters[k] = v;
        } else {
          break;
        }
      }
      EL_RETURN_IF_ERROR(p.ExpectEnd());
      if (sd.location.empty()) return Invalid("An external table needs a LOCATION 's3://bucket/prefix/'");
      EL_RETURN_IF_ERROR(ParseS3Location(sd.location).status());
      if (!explicit_formats) {
        ApplyStoredAs(stored_as, sd, t.parameters);
      } else if (!sd.serde) {
        sd.serde = catalog::SerDeInfo{"", "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", {}};
      }
      if (sd.serde && AsciiLower(sd.serde->serialization_library).find("json") != std::string::npos) {
        t.parameters.emplace("classification", "json");
      }
      t.storage = std::move(sd);
      Status s = catalog_.CreateTable(name.first, std::move(t));
      if (!s.ok() && !(if_not_exists && s.code() == StatusCode::kAlreadyExists)) return s;
      return Ddl("CREATE_TABLE");
    }
    if (drop) {
      const bool is_db = p.Accept("DATABASE") || p.Accept("SCHEMA");
      if (!is_db) EL_RETURN_IF_ERROR(p.Expect("TABLE"));
      const bool if_exists = p.Accept("IF") && p.Accept("EXISTS");
      if (is_db) {
        EL_ASSIGN_OR_RETURN(std::string name, p.Name());
        const bool cascade = p.Accept("CASCADE");
        if (!cascade) p.Accept("RESTRICT");
        EL_RETURN_IF_ERROR(p.ExpectEnd());
        if (!cascade) {
          auto tables = catalog_.ListTables(name, "", "", 1);
          if (tables.ok() && !tables->items.empty()) {
            return Invalid("Database " + AsciiLower(name) + " is not empty: drop its tables, or use CASCADE");
          }
        }
        Status s = catalog_.DeleteDatabase(name);
        if (!s.ok() && !(if_exists && s.code() == StatusCode::kNotFound)) return s;
        return Ddl("DROP_DATABASE");
      }
      EL_ASSIGN_OR_RETURN(auto name, p.TableName(db));
      EL_RETURN_IF_ERROR(p.ExpectEnd());
      Status s = catalog_.DeleteTable(name.first, name.second);
      if (!s.ok() && !(if_exists && s.code() == StatusCode::kNotFound)) return s;
      return Ddl("DROP_TABLE");
    }
    if (alter) {
      EL_RETURN_IF_ERROR(p.Expect("TABLE"));
      EL_ASSIGN_OR_RETURN(auto name, p.TableName(db));
      EL_ASSIGN_OR_RETURN(catalog::Table t, catalog_.GetTable(name.first, name.second));
      if (p.Accept("ADD")) {
        const bool if_not_exists = p.Accept("IF") && p.Accept("NOT") && p.Accept("EXISTS");
        std::vector<catalog::Partition> parts;
        while (p.IsWord("PARTITION")) {
          catalog::Partition part;
          EL_ASSIGN_OR_RETURN(part.values, p.PartitionSpec(t.partition_keys));
          if (p.Accept("LOCATION")) {
            catalog::StorageDescriptor sd = t.storage.value_or(catalog::StorageDescriptor{});
            EL_ASSIGN_OR_RETURN(sd.location, p.String());
            EL_RETURN_IF_ERROR(ParseS3Location(sd.location).status());
            part.storage = std::move(sd);
          }
          parts.push_back(std::move(part));
        }
        EL_RETURN_IF_ERROR(p.ExpectEnd());
        if (parts.empty()) return Invalid("line 1: expected PARTITION after ADD");
        EL_ASSIGN_OR_RETURN(auto errors, catalog_.CreatePartitions(name.first, name.second, std::move(parts)));
        for (const auto& e : errors) {
          if (!(if_not_exists && e.status.code() == StatusCode::kAlreadyExists)) return e.status;
        }
        return Ddl("ALTER_TABLE_ADD_PARTITION");
      }
      if (p.Accept("DROP")) {
        const bool if_exists = p.Accept("IF") && p.Accept("EXISTS");
        std::vector<std::vector<std::string>> doomed;
        do {
          EL_ASSIGN_OR_RETURN(auto values, p.PartitionSpec(t.partition_keys));
          doomed.push_back(std::move(values));
        } while (p.AcceptSymbol(','));
        EL_RETURN_IF_ERROR(p.ExpectEnd());
        for (const auto& values : doomed) {
          Status s = catalog_.DeletePartition(name.first, name.second, values);
          if (!s.ok() && !(if_exists && s.code() == StatusCode::kNotFound)) return s;
        }
        return Ddl("ALTER_TABLE_DROP_PARTITION");
      }
      return Invalid("line 1: only ALTER TABLE ADD PARTITION and DROP PARTITION are supported");
    }
    if (msck) {
      EL_RETURN_IF_ERROR(p.Expect("REPAIR"));
      EL_RETURN_IF_ERROR(p.Expect("TABLE"));
      EL_ASSIGN_OR_RETURN(auto name, p.TableName(db));
      EL_RETURN_IF_ERROR(p.ExpectEnd());
      EL_ASSIGN_OR_RETURN(catalog::Table t, catalog_.GetTable(name.first, name.second));
      StatementResult r = Ddl("MSCK_REPAIR_TABLE");
      r.columns = {Text("result")};
      if (t.partition_keys.empty() || !t.storage) return r;
      EL_ASSIGN_OR_RETURN(auto where, ParseS3Location(t.storage->location));
      std::string prefix = where.second;
      if (!prefix.empty() && prefix.back() != '/') prefix += '/';
      // Every key=value/... path under the location, in the order of the partition keys.
      std::set<std::vector<std::string>> found;
      objects::ListRequest req;
      req.prefix = prefix;
      for (;;) {
        EL_ASSIGN_OR_RETURN(auto page, objects_.List(where.first, req));
        for (const auto& v : page.objects) {
          auto parts = Split(std::string_view(v.key).substr(prefix.size()), '/');
          if (parts.size() <= t.partition_keys.size()) continue;
          std::vector<std::string> values;
          for (size_t i = 0; i < t.partition_keys.size(); ++i) {
            const size_t eq = parts[i].find('=');
            if (eq == std::string_view::npos || !EqualsIgnoreCase(parts[i].substr(0, eq), t.partition_keys[i].name)) break;
            values.push_back(PercentDecode(parts[i].substr(eq + 1)).value_or(std::string(parts[i].substr(eq + 1))));
          }
          if (values.size() == t.partition_keys.size()) found.insert(values);
        }
        if (!page.truncated) break;
        req.start_after = page.last;
      }
      std::vector<catalog::Partition> missing;
      for (const auto& values : found) {
        if (catalog_.GetPartition(name.first, name.second, values).ok()) continue;
        catalog::Partition part;
        part.values = values;
        catalog::StorageDescriptor sd = *t.storage;
        sd.location = t.storage->location + (t.storage->location.back() == '/' ? "" : "/") +
                      PartitionName(t.partition_keys, values) + "/";
        part.storage = std::move(sd);
        missing.push_back(std::move(part));
      }
      if (missing.empty()) return r;
      std::string not_in = "Partitions not in metastore:";
      for (const auto& m : missing) not_in += "\t" + name.second + ":" + PartitionName(t.partition_keys, m.values);
      r.rows.push_back({not_in});
      for (size_t i = 0; i < missing.size(); i += 100) {
        std::vector<catalog::Partition> batch(missing.begin() + i, missing.begin() + std::min(missing.size(), i + 100));
        EL_RETURN_IF_ERROR(catalog_.CreatePartitions(name.first, name.second, std::move(batch)).status());
      }
      for (const auto& m : missing) {
        r.rows.push_back({"Repair: Added partition to metastore " + name.second + ":" +
                          PartitionName(t.partition_keys, m.values)});
      }
      return r;
    }
    if (show) {
      if (p.Accept("TABLES")) {
        std::string in = db;
        if (p.Accept("IN") || p.Accept("FROM")) {
          EL_ASSIGN_OR_RETURN(in, p.Name());
        }
        std::string pattern;
        if (p.Accept("LIKE") || p.Peek().kind == Tok::kString) {
          EL_ASSIGN_OR_RETURN(pattern, p.String());
        }
        EL_RETURN_IF_ERROR(p.ExpectEnd());
        if (in.empty()) return Invalid("SHOW TABLES needs a database: SHOW TABLES IN db, or a query context");
        EL_ASSIGN_OR_RETURN(Pattern match, ShowPattern(pattern.empty() ? "*" : pattern));
        std::vector<std::string> names;
        std::string token;
        do {
          EL_ASSIGN_OR_RETURN(auto page, catalog_.ListTables(in, "", token, 100));
          for (const auto& t : page.items) {
            if (match.FullMatch(t.name)) names.push_back(t.name);
          }
          token = page.next_token;
        } while (!token.empty());
        return Lines("SHOW_TABLES", "tab_name", std::move(names));
      }
      if (p.Accept("DATABASES") || p.Accept("SCHEMAS")) {
        std::string pattern;
        if (p.Accept("LIKE") || p.Peek().kind == Tok::kString) {
          EL_ASSIGN_OR_RETURN(pattern, p.String());
        }
        EL_RETURN_IF_ERROR(p.ExpectEnd());
        EL_ASSIGN_OR_RETURN(Pattern match, ShowPattern(pattern.empty() ? "*" : pattern));
        std::vector<std::string> names;
        std::string token;
        do {
          EL_ASSIGN_OR_RETURN(auto page, catalog_.ListDatabases(token, 100));
          for (const auto& d : page.items) {
            if (match.FullMatch(d.name)) names.push_back(d.name);
          }
          token = page.next_token;
        } while (!token.empty());
        return Lines("SHOW_DATABASES", "database_name", std::move(names));
      }
      if (p.Accept("PARTITIONS")) {
        EL_ASSIGN_OR_RETURN(auto name, p.TableName(db));
        EL_RETURN_IF_ERROR(p.ExpectEnd());
        EL_ASSIGN_OR_RETURN(catalog::Table t, catalog_.GetTable(name.first, name.second));
        if (t.partition_keys.empty()) return Invalid("Table " + name.second + " is not partitioned");
        std::vector<std::string> lines;
        std::string token;
        do {
          EL_ASSIGN_OR_RETURN(auto page, catalog_.ListPartitions(name.first, name.second, "", {}, token, 1000));
          for (const auto& part : page.items) lines.push_back(PartitionName(t.partition_keys, part.values));
          token = page.next_token;
        } while (!token.empty());
        return Lines("SHOW_PARTITIONS", "partition", std::move(lines));
      }
      if (p.Accept("COLUMNS")) {
        if (!p.Accept("IN")) EL_RETURN_IF_ERROR(p.Expect("FROM"));
        EL_ASSIGN_OR_RETURN(auto name, p.TableName(db));
        if (p.Accept("IN") || p.Accept("FROM")) {
          EL_ASSIGN_OR_RETURN(name.first, p.Name());
          name.first = AsciiLower(name.first);
        }
        EL_RETURN_IF_ERROR(p.ExpectEnd());
        EL_ASSIGN_OR_RETURN(catalog::Table t, catalog_.GetTable(name.first, name.second));
        std::vector<std::string> lines;
        if (t.storage) {
          for (const auto& c : t.storage->columns) lines.push_back(c.name);
        }
        for (const auto& k : t.partition_keys) lines.push_back(k.name);
        return Lines("SHOW_COLUMNS", "field", std::move(lines));
      }
      return Invalid("line 1: SHOW TABLES, SHOW DATABASES, SHOW PARTITIONS and SHOW COLUMNS are supported");
    }
    // DESCRIBE [EXTENDED | FORMATTED] [db.]table
    if (!p.Accept("EXTENDED")) p.Accept("FORMATTED");
    EL_ASSIGN_OR_RETURN(auto name, p.TableName(db));
    EL_RETURN_IF_ERROR(p.ExpectEnd());
    EL_ASSIGN_OR_RETURN(catalog::Table t, catalog_.GetTable(name.first, name.second));
    std::vector<std::string> lines;
    auto line = [](const catalog::Column& c) { return c.name + "\t" + c.type + "\t" + c.comment; };
    if (t.storage) {
      for (const auto& c : t.storage->columns) lines.push_back(line(c));
    }
    for (const auto& k : t.partition_keys) lines.push_back(line(k));
    if (!t.partition_keys.empty()) {
      lines.push_back("");
      lines.push_back("# Partition Information");
      lines.push_back("# col_name\tdata_type\tcomment");
      lines.push_back("");
      for (const auto& k : t.partition_keys) lines.push_back(line(k));
    }
    return Lines("DESCRIBE_TABLE", "col_name", std::move(lines));
  };
  return run();
}

}  // namespace eventlake::query
