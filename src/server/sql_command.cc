#include "server/sql_command.h"

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "auth/keys.h"
#include "auth/sigv4.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/strings.h"
#include "http/client.h"

namespace eventlake::server {

namespace {

using nlohmann::json;

struct Connection {
  std::string host;
  uint16_t port = 0;
  std::string key, secret, region;
};

// One Athena call; the parsed answer, or the error AWS-style.
Result<json> Call(const Connection& c, const std::string& operation, const json& input) {
  HttpRequest req;
  req.method = "POST";
  req.target = "/";
  req.body = input.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  req.headers = {{"Host", c.host + ":" + std::to_string(c.port)},
                 {"Content-Type", "application/x-amz-json-1.1"},
                 {"X-Amz-Target", "AmazonAthena." + operation}};
  auth::SignRequest(req, c.key, c.secret, c.region, "athena", SystemClock::Get().Now());
  EL_ASSIGN_OR_RETURN(auto resp, http::Send(c.host, c.port, req));
  json j = json::parse(resp.body, nullptr, false);
  if (resp.status != 200) {
    std::string type = j.is_object() ? j.value("__type", std::string("Error")) : "Error";
    std::string msg = j.is_object() ? j.value("message", j.value("Message", resp.body)) : resp.body;
    return Status::InvalidArgument(type.substr(type.rfind('#') + 1) + ": " + msg);
  }
  if (j.is_discarded()) return Status::Internal("the server sent something that is not JSON");
  return j;
}

// Without surrounding blanks and line ends.
std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string CsvField(const std::optional<std::string>& v) {
  if (!v) return "";
  if (v->find_first_of(",\"\n\r") == std::string::npos) return *v;
  std::string out = "\"";
  for (char c : *v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Display width of UTF-8 text (code points).
size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void Print(const std::string& format, const std::vector<std::string>& columns,
           const std::vector<std::vector<std::optional<std::string>>>& rows) {
  if (format == "csv") {
    for (size_t i = 0; i < columns.size(); ++i) std::printf("%s%s", i ? "," : "", CsvField(columns[i]).c_str());
    std::printf("\n");
    for (const auto& r : rows) {
      for (size_t i = 0; i < r.size(); ++i) std::printf("%s%s", i ? "," : "", CsvField(r[i]).c_str());
      std::printf("\n");
    }
    return;
  }
  if (format == "json") {
    for (const auto& r : rows) {
      json o = json::object();
      for (size_t i = 0; i < r.size() && i < columns.size(); ++i) o[columns[i]] = r[i] ? json(*r[i]) : json();
      std::printf("%s\n", o.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    }
    return;
  }
  std::vector<size_t> width(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) width[i] = Width(columns[i]);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], Width(r[i].value_or("NULL")));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) {
      out += (i ? " | " : " ") + cells[i];
      if (i + 1 < cells.size()) out += std::string(width[i] - std::min(width[i], Width(cells[i])), ' ');
    }
    std::printf("%s\n", out.c_str());
  };
  line(columns);
  std::string rule;
  for (size_t i = 0; i < width.size(); ++i) rule += (i ? "-+-" : "-") + std::string(width[i], '-');
  std::printf("%s-\n", rule.c_str());
  for (const auto& r : rows) {
    std::vector<std::string> cells;
    for (const auto& v : r) cells.push_back(v.value_or("NULL"));
    cells.resize(columns.size());
    line(cells);
  }
  std::printf("(%zu row%s)\n", rows.size(), rows.size() == 1 ? "" : "s");
}

// Runs one statement and prints its result; false when it failed.
bool RunOne(const Connection& c, const SqlOptions& o, const std::string& sql) {
  json start = {{"QueryString", sql}, {"ClientRequestToken", NewRequestId() + NewRequestId().substr(0, 8)}};
  if (!o.database.empty()) start["QueryExecutionContext"] = {{"Database", o.database}};
  if (!o.output_location.empty()) start["ResultConfiguration"] = {{"OutputLocation", o.output_location}};
  auto started = Call(c, "StartQueryExecution", start);
  if (!started.ok()) {
    std::fprintf(stderr, "error: %s\n", started.status().message().c_str());
    return false;
  }
  const std::string id = (*started)["QueryExecutionId"].get<std::string>();
  json execution;
  for (int delay = 2;; delay = std::min(delay * 2, 100)) {
    auto got = Call(c, "GetQueryExecution", {{"QueryExecutionId", id}});
    if (!got.ok()) {
      std::fprintf(stderr, "error: %s\n", got.status().message().c_str());
      return false;
    }
    execution = (*got)["QueryExecution"];
    const std::string state = execution["Status"]["State"].get<std::string>();
    if (state == "SUCCEEDED") break;
    if (state == "FAILED" || state == "CANCELLED") {
      std::fprintf(stderr, "%s: %s\n", state.c_str(),
                   execution["Status"].value("StateChangeReason", std::string("(no reason given)")).c_str());
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  }
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
  const bool header = execution.value("StatementType", std::string()) == "DML";
  std::string token;
  do {
    json in = {{"QueryExecutionId", id}, {"MaxResults", 1000}};
    if (!token.empty()) in["NextToken"] = token;
    auto page = Call(c, "GetQueryResults", in);
    if (!page.ok()) {
      std::fprintf(stderr, "error: %s\n", page.status().message().c_str());
      return false;
    }
    if (columns.empty()) {
      for (const auto& ci : (*page)["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]) columns.push_back(ci["Name"]);
    }
    for (const auto& r : (*page)["ResultSet"]["Rows"]) {
      std::vector<std::optional<std::string>> values;
      for (const auto& d : r["Data"]) {
        values.push_back(d.contains("VarCharValue") ? std::optional<std::string>(d["VarCharValue"].get<std::string>())
                                                    : std::nullopt);
      }
      rows.push_back(std::move(values));
    }
    token = page->value("NextToken", std::string());
  } while (!token.empty());
  if (header && !rows.empty()) rows.erase(rows.begin());
  if (columns.empty()) {
    std::printf("OK\n");
  } else {
    Print(o.format, columns, rows);
  }
  const json& stats = execution["Statistics"];
  if (o.format == "table" && isatty(STDOUT_FILENO)) {
    std::printf("%.3f s, %s bytes scanned\n", stats.value("TotalExecutionTimeInMillis", 0) / 1000.0,
                std::to_string(stats.value("DataScannedInBytes", int64_t{0})).c_str());
  }
  return true;
}

}  // namespace

int RunSql(const SqlOptions& o) {
  if (o.format != "table" && o.format != "csv" && o.format != "json") {
    std::fprintf(stderr, "eventlake sql: --format is table, csv or json\n");
    return 2;
  }
  std::string endpoint = o.endpoint;
  if (endpoint.empty()) {
    std::ifstream f(o.data_dir + "/endpoint");
    std::getline(f, endpoint);
  }
  if (endpoint.empty()) endpoint = "http://127.0.0.1:4566";
  auto where = http::ParseEndpoint(endpoint);
  if (!where.ok()) {
    std::fprintf(stderr, "eventlake sql: %s\n", where.status().message().c_str());
    return 2;
  }
  Connection c{where->first, where->second, "", "", o.region};
  if (const char* k = std::getenv("AWS_ACCESS_KEY_ID"); k && std::getenv("AWS_SECRET_ACCESS_KEY")) {
    c.key = k;
    c.secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  } else if (std::getenv("EVENTLAKE_ROOT_ACCESS_KEY_ID") || std::filesystem::exists(o.data_dir)) {
    auto creds = auth::LoadOrCreateRootCredentials(o.data_dir, std::getenv("EVENTLAKE_ROOT_ACCESS_KEY_ID"),
                                                   std::getenv("EVENTLAKE_ROOT_SECRET_ACCESS_KEY"));
    if (!creds.ok()) {
      std::fprintf(stderr, "eventlake sql: %s\n", creds.status().message().c_str());
      return 2;
    }
    c.key = creds->access_key_id;
    c.secret = creds->secret_access_key;
  } else {
    std::fprintf(stderr, "eventlake sql: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or --data-dir\n");
    return 2;
  }
  if (!o.query.empty()) return RunOne(c, o, o.query) ? 0 : 1;

  // The prompt: statements end with ';'.
  const bool tty = isatty(STDIN_FILENO);
  std::string statement, line;
  bool ok = true;
  if (tty) std::printf("eventlake %s: SQL over the lake. End statements with ';', quit with \\q.\n", EL_VERSION);
  for (;;) {
    if (tty) {
      std::printf("%s", statement.empty() ? "eventlake> " : "       ...> ");
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    std::string_view trimmed = Trim(line);
    if (statement.empty() && (trimmed == "\\q" || trimmed == "quit" || trimmed == "exit")) break;
    statement += line + "\n";
    if (!trimmed.empty() && trimmed.back() == ';') {
      std::string sql(Trim(statement));
      sql.pop_back();
      if (!Trim(sql).empty()) ok = RunOne(c, o, sql) && ok;
      statement.clear();
    }
  }
  if (!Trim(statement).empty()) ok = RunOne(c, o, std::string(Trim(statement))) && ok;
  return ok ? 0 : 1;
}

}  // namespace eventlake::server
