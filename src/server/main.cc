// eventlake: the command line.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "common/logging.h"
#include "query/duckdb_engine.h"
#include "server/app.h"
#include "server/sql_command.h"

namespace {

// Fills the options that neither a flag nor an EVENTLAKE_* variable set from a
// TOML file, so the order of precedence is: flags, environment, file, defaults.
eventlake::Status ApplyConfigFile(CLI::App& cmd, const std::string& path) {
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_file(path);
  } catch (const std::exception& e) {
    return eventlake::Status::InvalidArgument("cannot read config file " + path + ": " + e.what());
  }
  for (const auto& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // section markers
    CLI::Option* opt = cmd.get_option_no_throw("--" + item.name);
    if (opt == nullptr || item.name == "config") {
      return eventlake::Status::InvalidArgument("config file " + path + ": unknown key '" + item.name + "'");
    }
    if (opt->count() > 0) continue;  // given as a flag or by the environment
    try {
      for (const auto& value : item.inputs) opt->add_result(value);
      opt->run_callback();
    } catch (const std::exception& e) {
      return eventlake::Status::InvalidArgument("config file " + path + ": " + item.name + ": " + e.what());
    }
  }
  return eventlake::Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  using eventlake::server::Config;
  // Signals are taken by sigwait in Serve(); block them before any thread starts.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{"Eventlake: a real-time, event-based data lake that speaks the AWS APIs."};
  app.require_subcommand(1);
  // Each subcommand binds its own Config: CLI11 applies EVENTLAKE_* variables
  // to the options of every subcommand, parsed or not.
  Config config, creds_config;

  auto add_common = [](CLI::App* cmd, Config& config) {
    cmd->add_option("--data-dir", config.data_dir, "Where all state lives")
        ->envname("EVENTLAKE_DATA_DIR")
        ->capture_default_str();
    cmd->add_option("--region", config.region, "The AWS region this endpoint serves")
        ->envname("EVENTLAKE_REGION")
        ->capture_default_str();
  };

  CLI::App* serve = app.add_subcommand("serve", "Run the server");
  add_common(serve, config);
  serve->add_option("--listen", config.listen, "HOST:PORT to listen on")
      ->envname("EVENTLAKE_LISTEN")
      ->capture_default_str();
  serve->add_option("--account-id", config.account_id, "The 12-digit AWS account id of this endpoint")
      ->envname("EVENTLAKE_ACCOUNT_ID")
      ->capture_default_str();
  serve->add_option("--log-level", config.log_level, "trace, debug, info, warn, error or off")
      ->envname("EVENTLAKE_LOG_LEVEL")
      ->capture_default_str();
  serve->add_option("--threads", config.threads, "I/O threads (0: one per core)")
      ->envname("EVENTLAKE_THREADS")
      ->capture_default_str();
  serve->add_option("--verify-signatures", config.verify_signatures,
                    "Verify SigV4 signatures (false accepts any key as root: for throwaway tests only)")
      ->envname("EVENTLAKE_VERIFY_SIGNATURES")
      ->capture_default_str();
  serve->add_option("--shutdown-grace", config.shutdown_grace_seconds,
                    "Seconds to let requests in flight finish on SIGTERM/SIGINT")
      ->envname("EVENTLAKE_SHUTDOWN_GRACE")
      ->capture_default_str();
  std::string config_file;
  serve->add_option("--config", config_file,
                    "A TOML file of these options, keys named as the flags (data-dir = \"...\"); flags and "
                    "EVENTLAKE_* variables override it")
      ->envname("EVENTLAKE_CONFIG");
  serve->add_option("--durability", config.durability,
                    "sync: acknowledge records after fdatasync (default); none: leave flushing to the OS (faster, "
                    "loses the last records in a power failure)")
      ->envname("EVENTLAKE_DURABILITY")
      ->capture_default_str();
  serve->add_option("--kinesis-shard-limits", config.kinesis_shard_limits,
                    "Apply AWS's per-shard throughput limits (1 MiB/s and 1,000 records/s in, 2 MiB/s and 5 "
                    "reads/s out) and answer ProvisionedThroughputExceededException past them")
      ->envname("EVENTLAKE_KINESIS_SHARD_LIMITS")
      ->capture_default_str();
  serve->add_option("--zones", config.zones, "Buckets created at the first start (the lake's zones)")
      ->envname("EVENTLAKE_ZONES")
      ->delimiter(',')
      ->capture_default_str();
  serve->add_option("--objects-cold-dir", config.objects_cold_dir,
                    "Where lifecycle transitions move object data (default: <data-dir>/objects/cold)")
      ->envname("EVENTLAKE_OBJECTS_COLD_DIR");
  serve->add_option("--lifecycle-interval", config.lifecycle_interval_seconds,
                    "Seconds between passes of the buckets' lifecycle rules (0: never)")
      ->envname("EVENTLAKE_LIFECYCLE_INTERVAL")
      ->capture_default_str();
  serve->add_option("--query-concurrency", config.query_concurrency, "SQL queries that run at once; more wait in a queue")
      ->envname("EVENTLAKE_QUERY_CONCURRENCY")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  serve->add_option("--query-memory", config.query_memory_mib, "Each SQL query's memory limit, in MiB")
      ->envname("EVENTLAKE_QUERY_MEMORY")
      ->check(CLI::Range(64, 1 << 20))
      ->capture_default_str();
  serve->add_option("--query-timeout", config.query_timeout_seconds, "Seconds after which a running SQL query is stopped")
      ->envname("EVENTLAKE_QUERY_TIMEOUT")
      ->check(CLI::Range(1, 7 * 24 * 3600))
      ->capture_default_str();
  serve->add_option("--s3-domains", config.s3_domains,
                    "Host names under which <bucket>.<domain> addresses a bucket (virtual-hosted style)")
      ->envname("EVENTLAKE_S3_DOMAINS")
      ->delimiter(',')
      ->capture_default_str();
  serve->add_option("--idle-timeout", config.idle_timeout_seconds,
                    "Seconds a keep-alive connection may sit idle (or take to send its headers)")
      ->envname("EVENTLAKE_IDLE_TIMEOUT")
      ->capture_default_str();

  CLI::App* creds = app.add_subcommand("credentials", "Print the root credentials as shell export lines");
  add_common(creds, creds_config);
  CLI::App* version = app.add_subcommand("version", "Print the version");
  eventlake::server::SqlOptions sql;
  CLI::App* sql_cmd = app.add_subcommand("sql", "Run SQL on a running server (with no query: a prompt)");
  sql_cmd->add_option("query", sql.query, "The statement to run");
  sql_cmd->add_option("--data-dir", sql.data_dir, "The server's data directory (its endpoint and credentials)")
      ->envname("EVENTLAKE_DATA_DIR")
      ->capture_default_str();
  sql_cmd->add_option("--endpoint", sql.endpoint, "The server (default: from the data directory, else :4566)")
      ->envname("EVENTLAKE_ENDPOINT");
  sql_cmd->add_option("--database,-d", sql.database, "The database unqualified table names are in")
      ->capture_default_str();
  sql_cmd->add_option("--format,-f", sql.format, "table, csv or json (one object a line)")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();
  sql_cmd->add_option("--output-location", sql.output_location, "Where results go (default: the work group's)");
  sql_cmd->add_option("--region", sql.region, "The region requests are signed for")->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  if (serve->parsed() && !config_file.empty()) {
    if (auto s = ApplyConfigFile(*serve, config_file); !s.ok()) {
      std::fprintf(stderr, "eventlake: %s\n", s.message().c_str());
      return 2;
    }
  }
  if (version->parsed()) {
    std::printf("eventlake %s (DuckDB %s)\n", EL_VERSION, eventlake::query::DuckDbVersion().c_str());
    return 0;
  }
  if (auto s = eventlake::SetUpLogging(serve->parsed() ? config.log_level : "warn"); !s.ok()) {
    std::fprintf(stderr, "eventlake: %s\n", s.message().c_str());
    return 2;
  }
  if (creds->parsed()) return eventlake::server::PrintCredentials(creds_config);
  if (sql_cmd->parsed()) return eventlake::server::RunSql(sql);
  try {
    return eventlake::server::Serve(config);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "eventlake: fatal: %s\n", e.what());
    return 1;
  }
}
