// The eventlake process: configuration, the rooms in start order, and an
// orderly stop.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace eventlake::server {

struct Config {
  std::string data_dir = "./eventlake-data";
  std::string listen = "127.0.0.1:4566";
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string log_level = "info";
  int threads = 0;  // 0: one per core
  bool verify_signatures = true;
  int shutdown_grace_seconds = 10;
  int idle_timeout_seconds = 60;
  std::string durability = "sync";
  bool kinesis_shard_limits = false;  // AWS's per-shard throughput limits
  std::vector<std::string> zones = {"raw", "processed"};  // buckets that exist from the first start
  int lifecycle_interval_seconds = 600;  // how often bucket lifecycle rules are applied
  int query_concurrency = 2;             // SQL queries running at once (more wait in a queue)
  int query_memory_mib = 2048;           // each query's memory limit
  int query_timeout_seconds = 1800;      // a query running longer is stopped
  std::string objects_cold_dir;  // the cold tier of the object store; empty: <data-dir>/objects/cold
  std::vector<std::string> s3_domains = {"localhost", "s3.localhost"};  // <bucket>.<domain> hosts name a bucket
};

// Splits "host:port" or "[v6]:port". InvalidArgument when malformed.
Status ParseListen(const std::string& listen, std::string* host, uint16_t* port);
// Checks region and account id shapes. InvalidArgument naming the field.
Status ValidateConfig(const Config& config);

// Runs the server until SIGTERM or SIGINT, then stops it. Returns the process
// exit code. The caller must have blocked SIGTERM and SIGINT in every thread.
int Serve(const Config& config);

// Prints the root credentials as shell `export` lines.
int PrintCredentials(const Config& config);

}  // namespace eventlake::server
