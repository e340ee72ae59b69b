// DuckDB on its own, for the query benchmark's baseline: writes the event
// files, and runs SQL over them directly (no server), timing each run.
//
//   duckdb_direct generate --dir DIR --rows N --files F --days D
//   duckdb_direct query --glob 'DIR/*/*.parquet' --sql 'SELECT ... FROM {table}' [--runs 5] [--threads 2]
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "query/duckdb_engine.h"

using namespace eventlake;

int main(int argc, char** argv) {
  CLI::App app("DuckDB directly, for benchmarks");
  app.require_subcommand(1);
  std::string dir, glob, sql;
  int64_t rows = 10'000'000;
  int files = 40, days = 10, runs = 5, threads = 2;
  CLI::App* gen = app.add_subcommand("generate", "Write the event files as Parquet");
  gen->add_option("--dir", dir)->required();
  gen->add_option("--rows", rows);
  gen->add_option("--files", files);
  gen->add_option("--days", days);
  CLI::App* q = app.add_subcommand("query", "Run SQL over the files, timing each run");
  q->add_option("--glob", glob)->required();
  q->add_option("--sql", sql)->required();
  q->add_option("--runs", runs);
  q->add_option("--threads", threads);
  CLI11_PARSE(app, argc, argv);

  query::EngineOptions o;
  o.threads = threads;
  o.memory_limit_bytes = 2LL << 30;
  auto engine = query::Engine::Open(o);
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", engine.status().ToString().c_str());
    return 1;
  }
  if (gen->parsed()) {
    const int64_t per_file = rows / files;
    for (int f = 0; f < files; ++f) {
      const int day = f % days;
      char date[16];
      std::snprintf(date, sizeof(date), "2026-11-%02d", day + 1);
      const std::string folder = dir + "/dt=" + date;
      std::filesystem::create_directories(folder);
      const int64_t from = f * per_file, to = f == files - 1 ? rows : from + per_file;
      const std::string copy =
          "COPY (SELECT range AS id, (hash(range) % 100000)::INTEGER AS user_id, "
          "['click', 'view', 'buy', 'search', 'share'][(range % 5) + 1] AS kind, "
          "(hash(range + 1) % 10000) / 100.0 AS amount, (hash(range + 2) % 5000)::INTEGER AS ms, "
          "['NL', 'DE', 'FR', 'US', 'JP', 'BR'][((hash(range + 3) % 6) + 1)::BIGINT] AS country, "
          "TIMESTAMP '2026-11-01' + to_seconds(range % 86400) AS ts "
          "FROM range(" + std::to_string(from) + ", " + std::to_string(to) + ")) TO '" + folder + "/part-" +
          std::to_string(f) + ".parquet' (FORMAT PARQUET, COMPRESSION ZSTD)";
      if (Status s = (*engine)->Execute(copy); !s.ok()) {
        std::fprintf(stderr, "%s\n", s.ToString().c_str());
        return 1;
      }
    }
    return 0;
  }
  const size_t at = sql.find("{table}");
  if (at != std::string::npos) {
    sql.replace(at, 7, "read_parquet('" + glob + "', hive_partitioning = true, hive_types = {'dt': 'VARCHAR'})");
  }
  std::vector<double> times;
  std::vector<query::TextRow> result;
  for (int r = 0; r < runs; ++r) {
    result.clear();
    const auto t0 = std::chrono::steady_clock::now();
    Status s = (*engine)->Query(sql, [](std::vector<query::ResultColumn>) {},
                                [&](query::TextRow&& row) {
                                  result.push_back(std::move(row));
                                  return true;
                                });
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
  }
  for (double t : times) std::printf("run_ms %.1f\n", t);
  for (const auto& row : result) {
    std::string line;
    for (const auto& v : row) line += (line.empty() ? "" : "\t") + v.value_or("NULL");
    std::printf("row %s\n", line.c_str());
  }
  return 0;
}
