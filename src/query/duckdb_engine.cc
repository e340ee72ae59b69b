#include "query/duckdb_engine.h"

#include <duckdb.h>

namespace eventlake::query {

std::string DuckDbVersion() { return duckdb_library_version(); }

}  // namespace eventlake::query
