// `eventlake sql`: runs SQL on a running server through its Athena API and
// prints the result as an aligned table, CSV or JSON lines; with no query, an
// interactive prompt reads statements ending in ';'.
#pragma once

#include <string>

namespace eventlake::server {

struct SqlOptions {
  std::string query;            // empty: read statements from stdin
  std::string endpoint;         // empty: <data-dir>/endpoint, else http://127.0.0.1:4566
  std::string data_dir = "eventlake-data";
  std::string database = "default";
  std::string format = "table";  // table, csv, json
  std::string output_location;   // empty: the work group's
  std::string region = "us-east-1";
};

// The process exit code: 0 when every statement succeeded.
int RunSql(const SqlOptions& options);

}  // namespace eventlake::server
