// The query room: the only code that includes duckdb.h.
#pragma once

#include <string>

namespace eventlake::query {

// The version of the linked DuckDB library, e.g. "v1.4.4".
std::string DuckDbVersion();

}  // namespace eventlake::query
