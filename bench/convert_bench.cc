// JSON to Parquet conversion on one core, as a delivery stream does it: each
// record is checked against the table's schema when it is buffered, then
// appended and written as one Parquet file. Prints one JSON line: the input
// rate in MiB/s of JSON, for the whole path and for its parts.
//
//   convert_bench --records 1000000 --compression SNAPPY
#include <sched.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "delivery/convert.h"

using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  int records = 1000000;
  std::string compression = "SNAPPY";
  std::string out_dir = std::filesystem::temp_directory_path();
  CLI::App app{"JSON to Parquet conversion rate on one core"};
  app.add_option("--records", records);
  app.add_option("--compression", compression);
  app.add_option("--dir", out_dir, "where the Parquet file is written");
  CLI11_PARSE(app, argc, argv);

  // One core: the measure is per core.
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof(set), &set);

  eventlake::catalog::Table t;
  t.database = "bench";
  t.name = "events";
  t.storage.emplace();
  for (auto [n, ty] : std::vector<std::pair<const char*, const char*>>{{"event_id", "string"},
                                                                      {"user_id", "bigint"},
                                                                      {"kind", "string"},
                                                                      {"amount", "double"},
                                                                      {"quantity", "int"},
                                                                      {"at", "timestamp"},
                                                                      {"country", "string"},
                                                                      {"ok", "boolean"},
                                                                      {"tags", "array<string>"}}) {
    t.storage->columns.push_back({n, ty, {}, {}});
  }
  eventlake::delivery::ConversionSpec spec;
  spec.parquet_compression = compression;
  auto converter = eventlake::delivery::RecordConverter::Create(t, spec);
  if (!converter.ok()) {
    std::fprintf(stderr, "%s\n", converter.status().ToString().c_str());
    return 1;
  }

  // Events of about 200 bytes, as producers send them (mixed-case keys, ISO timestamps).
  std::mt19937_64 rng(7);
  const char* kinds[] = {"click", "view", "purchase", "signup"};
  const char* countries[] = {"DE", "FR", "US", "JP", "BR"};
  std::vector<std::string> input;
  input.reserve(records);
  uint64_t bytes = 0;
  for (int i = 0; i < records; ++i) {
    char buf[400];
    const int n = std::snprintf(
        buf, sizeof(buf),
        "{\"Event_Id\":\"e-%016llx\",\"user_id\":%llu,\"kind\":\"%s\",\"amount\":%.2f,\"quantity\":%d,"
        "\"at\":\"2026-11-26T%02d:%02d:%02d.%03dZ\",\"country\":\"%s\",\"ok\":%s,\"tags\":[\"a\",\"b%d\"]}",
        static_cast<unsigned long long>(rng()), static_cast<unsigned long long>(rng() % 1000000), kinds[i % 4],
        static_cast<double>(rng() % 100000) / 100.0, static_cast<int>(rng() % 10), i / 3600 % 24, i / 60 % 60,
        i % 60, i % 1000, countries[i % 5], i % 3 ? "true" : "false", i % 7);
    input.emplace_back(buf, n);
    bytes += n;
  }

  const auto t0 = Clock::now();
  for (const auto& r : input) {
    if (!(*converter)->Check(r).ok()) return 2;
  }
  const auto t1 = Clock::now();
  for (const auto& r : input) {
    if (!(*converter)->Append(r).ok()) return 3;
  }
  const auto t2 = Clock::now();
  const std::string path = out_dir + "/eventlake-convert-bench.parquet";
  if (auto s = (*converter)->WriteFile(path); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 4;
  }
  const auto t3 = Clock::now();
  const uint64_t parquet_bytes = std::filesystem::file_size(path);
  std::filesystem::remove(path);

  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  const double mib = static_cast<double>(bytes) / (1 << 20);
  nlohmann::json out = {{"records", records},
                        {"json_mib", mib},
                        {"record_bytes", static_cast<double>(bytes) / records},
                        {"compression", compression},
                        {"parquet_mib", static_cast<double>(parquet_bytes) / (1 << 20)},
                        {"check_s", secs(t0, t1)},
                        {"append_s", secs(t1, t2)},
                        {"write_s", secs(t2, t3)},
                        {"total_s", secs(t0, t3)},
                        {"mib_per_s", mib / secs(t0, t3)},
                        {"records_per_s", records / secs(t0, t3)}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
