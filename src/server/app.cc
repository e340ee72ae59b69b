#include "server/app.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "api/front_door.h"
#include "api/s3.h"
#include "objects/object_store.h"
#include "api/athena.h"
#include "api/firehose.h"
#include "api/events.h"
#include "delivery/delivery_service.h"
#include "query/inspector.h"
#include "query/statements.h"
#include "api/glue.h"
#include "api/kinesis.h"
#include "api/services.h"
#include "auth/audit.h"
#include "auth/authorizer.h"
#include "auth/crypto.h"
#include "auth/keys.h"
#include "auth/sigv4.h"
#include "common/clock.h"
#include "http/server.h"
#include "io/file_system.h"
#include "io/files.h"
#include "meta/store.h"
#include "streams/stream_store.h"

namespace eventlake::server {
namespace {

int Fail(const Status& s, const char* what) {
  spdlog::critical("{}: {}", what, s.ToString());
  return 1;
}

// Many idle keep-alive connections need many descriptors.
void RaiseDescriptorLimit() {
  struct rlimit rl {};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 1 << 20);
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// A random secret kept in `path` (mode 0600), made on first use.
Result<std::string> LoadOrCreateSecret(const std::string& path) {
  auto existing = io::ReadWholeFile(path);
  if (existing.ok() && existing->size() >= 32) return *existing;
  if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) return existing.status();
  std::string secret = auth::RandomString(64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
  EL_RETURN_IF_ERROR(io::WriteFileAtomically(path, secret, 0600));
  return secret;
}

}  // namespace

Status ParseListen(const std::string& listen, std::string* host, uint16_t* port) {
  std::smatch m;
  static const std::regex kV6(R"(^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$)");
  static const std::regex kV4(R"(^([^:\[\]]+):(\d{1,5})$)");
  if (!std::regex_match(listen, m, kV6) && !std::regex_match(listen, m, kV4)) {
    return Status::InvalidArgument("--listen must be HOST:PORT (e.g. 127.0.0.1:4566 or [::1]:4566), got '" +
                                   listen + "'");
  }
  int p = std::stoi(m[2].str());
  if (p > 65535) return Status::InvalidArgument("--listen port out of range: " + listen);
  *host = m[1].str() == "localhost" ? "127.0.0.1" : m[1].str();
  *port = static_cast<uint16_t>(p);
  return Status::Ok();
}

Status ValidateConfig(const Config& c) {
  static const std::regex kRegion(R"(^[a-z]{2}(-[a-z]+)+-\d+$)");
  static const std::regex kAccount(R"(^\d{12}$)");
  if (!std::regex_match(c.region, kRegion)) {
    return Status::InvalidArgument("--region must look like us-east-1, got '" + c.region + "'");
  }
  if (!std::regex_match(c.account_id, kAccount)) {
    return Status::InvalidArgument("--account-id must be 12 digits, got '" + c.account_id + "'");
  }
  if (c.threads < 0 || c.threads > 256) return Status::InvalidArgument("--threads must be 0..256");
  if (c.idle_timeout_seconds < 1) return Status::InvalidArgument("--idle-timeout must be at least 1 second");
  if (c.shutdown_grace_seconds < 0) return Status::InvalidArgument("--shutdown-grace must not be negative");
  if (c.durability != "sync" && c.durability != "none") {
    return Status::InvalidArgument("--durability must be sync or none, got '" + c.durability + "'");
  }
  std::string host;
  uint16_t port;
  return ParseListen(c.listen, &host, &port);
}

int PrintCredentials(const Config& config) {
  auto creds = auth::LoadOrCreateRootCredentials(config.data_dir, std::getenv("EVENTLAKE_ROOT_ACCESS_KEY_ID"),
                                                 std::getenv("EVENTLAKE_ROOT_SECRET_ACCESS_KEY"));
  if (!creds.ok()) return Fail(creds.status(), "root credentials");
  std::printf("export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nexport AWS_DEFAULT_REGION=%s\n",
              creds->access_key_id.c_str(), creds->secret_access_key.c_str(), config.region.c_str());
  return 0;
}

int Serve(const Config& config) {
  const auto started = std::chrono::steady_clock::now();
  if (Status s = ValidateConfig(config); !s.ok()) return Fail(s, "configuration");
  std::string host;
  uint16_t port = 0;
  ParseListen(config.listen, &host, &port).IgnoreError();  // validated above
  RaiseDescriptorLimit();

  const std::string& dir = config.data_dir;
  if (Status s = io::EnsureDirectory(dir); !s.ok()) return Fail(s, "data directory");
  auto lock = io::LockFile::Acquire(dir + "/LOCK");
  if (!lock.ok()) return Fail(lock.status(), "data directory");

  // meta: the control-plane store and every room's schema.
  auto store = meta::OpenSqliteStore(dir + "/meta.db");
  if (!store.ok()) return Fail(store.status(), "control-plane store");
  std::vector<meta::Migration> migrations = auth::KeyStore::Migrations();
  for (auto& m : streams::StreamStore::Migrations()) migrations.push_back(std::move(m));
  for (auto& m : objects::ObjectStore::Migrations()) migrations.push_back(std::move(m));
  for (auto& m : catalog::Catalog::Migrations()) migrations.push_back(std::move(m));
  for (auto& m : catalog::CrawlerService::Migrations()) migrations.push_back(std::move(m));
  for (auto& m : query::QueryExecutor::Migrations()) migrations.push_back(std::move(m));
  for (auto& m : delivery::DeliveryService::Migrations()) migrations.push_back(std::move(m));
  if (Status s = (*store)->Migrate(migrations); !s.ok()) return Fail(s, "schema migration");

  // auth: keys, the root identity, the audit trail.
  auto creds = auth::LoadOrCreateRootCredentials(dir, std::getenv("EVENTLAKE_ROOT_ACCESS_KEY_ID"),
                                                 std::getenv("EVENTLAKE_ROOT_SECRET_ACCESS_KEY"));
  if (!creds.ok()) return Fail(creds.status(), "root credentials");
  auto keys = auth::KeyStore::Open(**store, config.account_id);
  if (!keys.ok()) return Fail(keys.status(), "access keys");
  if (Status s = (*keys)->PutRootKey(creds->access_key_id, creds->secret_access_key); !s.ok()) {
    return Fail(s, "root access key");
  }
  auto audit = auth::AuditLog::Open(dir + "/audit");
  if (!audit.ok()) return Fail(audit.status(), "audit log");
  const Clock& clock = SystemClock::Get();
  auth::Verifier verifier(**keys, clock);
  auth::Authorizer authorizer;

  // streams: Kinesis streams over the record log.
  streams::StreamStoreOptions stream_opts;
  stream_opts.data_dir = dir;
  stream_opts.region = config.region;
  stream_opts.account_id = config.account_id;
  stream_opts.shard_limits = config.kinesis_shard_limits;
  stream_opts.log_options.durability = config.durability == "none" ? log::Durability::kNone : log::Durability::kSync;
  auto stream_store = streams::StreamStore::Open(**store, io::PosixFileSystem(), clock, stream_opts);
  if (!stream_store.ok()) return Fail(stream_store.status(), "streams");
  auto iterator_key = LoadOrCreateSecret(dir + "/iterator.key");
  if (!iterator_key.ok()) return Fail(iterator_key.status(), "iterator key");
  api::KinesisApi kinesis(**stream_store, clock, *iterator_key);

  // objects: the lake's buckets, with the zones.
  objects::ObjectStoreOptions object_opts;
  object_opts.data_dir = dir;
  object_opts.cold_dir = config.objects_cold_dir;
  object_opts.region = config.region;
  object_opts.zones = config.zones;
  object_opts.lifecycle_interval = std::chrono::seconds(config.lifecycle_interval_seconds);
  auto object_store = objects::ObjectStore::Open(**store, io::PosixFileSystem(), clock, object_opts);
  if (!object_store.ok()) return Fail(object_store.status(), "objects");
  api::S3Options s3_opts;
  s3_opts.region = config.region;
  s3_opts.virtual_host_domains = config.s3_domains;
  api::S3Api s3(**object_store, s3_opts);

  // catalog: databases, tables and partitions (Glue).
  catalog::Catalog catalog(**store, clock);
  {  // Athena's and Glue's "default" database, there from the start
    catalog::Database default_db;
    default_db.name = "default";
    default_db.description = "Default Hive database";
    if (Status s = catalog.CreateDatabase(default_db); !s.ok() && s.code() != StatusCode::kAlreadyExists) {
      return Fail(s, "catalog");
    }
  }
  query::DuckDbInspector inspector;
  catalog::CrawlerService crawlers(**store, catalog, **object_store, inspector, clock);
  if (Status s = crawlers.Start(); !s.ok()) return Fail(s, "crawlers");
  api::GlueApi glue(catalog, &crawlers);

  // query: SQL over the catalog's tables (Athena), each query in its own DuckDB.
  query::ExecutorOptions query_opts;
  query_opts.work_dir = dir + "/query";
  query_opts.max_concurrent = config.query_concurrency;
  query_opts.memory_limit_bytes = static_cast<int64_t>(config.query_memory_mib) << 20;
  query_opts.timeout = std::chrono::seconds(config.query_timeout_seconds);
  query::CatalogStatements statements(catalog, **object_store);
  query::QueryExecutor executor(**store, catalog, **object_store, clock, query_opts, &statements);
  if (Status s = executor.Start(); !s.ok()) return Fail(s, "query executor");
  const std::string results_zone = config.zones.size() > 1 ? config.zones[1] : config.zones.front();
  api::AthenaApi athena(executor, catalog, "s3://" + results_zone + "/athena-results/",
                        std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch()).count());

  // delivery: Firehose streams writing into the lake.
  delivery::DeliveryOptions delivery_opts;
  delivery_opts.data_dir = dir;
  delivery_opts.region = config.region;
  delivery_opts.account_id = config.account_id;
  delivery_opts.log_options.durability = stream_opts.log_options.durability;
  delivery::DeliveryService delivery(**store, io::PosixFileSystem(), clock, **object_store, stream_store->get(), &catalog,
                                     delivery_opts);
  if (Status s = delivery.Start(); !s.ok()) return Fail(s, "delivery");
  api::FirehoseApi firehose(delivery);

  // api + http: the front door.
  api::FrontDoorOptions fd_opts;
  fd_opts.server = {config.region, config.account_id, EL_VERSION};
  fd_opts.verify_signatures = config.verify_signatures;
  api::FrontDoor front_door(fd_opts, verifier, authorizer, **audit, clock);
  for (auto& svc : api::AwsJsonServices()) front_door.AddJsonService(std::move(svc));
  front_door.AddJsonService(kinesis.Service());
  front_door.AddJsonService(glue.Service());
  front_door.AddJsonService(athena.Service());
  front_door.AddJsonService(firehose.Service());
  front_door.AddJsonService(api::EventsApi().Service());
  front_door.SetS3(&s3);

  http::ServerOptions http_opts;
  http_opts.address = host;
  http_opts.port = port;
  http_opts.threads = config.threads;
  http_opts.idle_timeout = std::chrono::seconds(config.idle_timeout_seconds);
  auto http_server = http::Server::Create(http_opts, front_door);
  if (!http_server.ok()) return Fail(http_server.status(), "listen");
  const std::string endpoint = "http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                               std::to_string((*http_server)->port());
  if (Status s = io::WriteFileAtomically(dir + "/endpoint", endpoint + "\n", 0644); !s.ok()) {
    return Fail(s, "endpoint file");
  }
  (*http_server)->Start();
  front_door.SetReady({"meta", "auth", "streams", "objects", "catalog", "query", "delivery", "api", "http"});

  const auto startup_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("eventlake {} listening on {} (data {}, region {}, account {}, signatures {}) in {} ms", EL_VERSION,
               endpoint, dir, config.region, config.account_id,
               config.verify_signatures ? "verified" : "NOT verified", startup_ms);
  switch (creds->source) {
    case auth::RootCredentials::Source::kGenerated:
      std::printf(
          "\nRoot credentials were generated and saved to %s (mode 0600).\n"
          "They are printed this once; `eventlake credentials` prints them again. Use them with any AWS client:\n\n"
          "  export AWS_ACCESS_KEY_ID=%s\n  export AWS_SECRET_ACCESS_KEY=%s\n  export AWS_DEFAULT_REGION=%s\n\n"
          "  aws --endpoint-url %s sts get-caller-identity\n\n",
          creds->file.c_str(), creds->access_key_id.c_str(), creds->secret_access_key.c_str(),
          config.region.c_str(), endpoint.c_str());
      std::fflush(stdout);
      break;
    case auth::RootCredentials::Source::kFile:
      spdlog::info("root access key {} (from {})", creds->access_key_id, creds->file);
      break;
    case auth::RootCredentials::Source::kEnvironment:
      spdlog::info("root access key {} (from EVENTLAKE_ROOT_ACCESS_KEY_ID)", creds->access_key_id);
      break;
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("received {}, stopping: draining requests in flight (at most {} s)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
               config.shutdown_grace_seconds);

  // Stop in reverse start order.
  front_door.SetStopping();
  (*http_server)->Stop(std::chrono::seconds(config.shutdown_grace_seconds));
  delivery.Stop();
  (*stream_store)->Stop();
  executor.Stop();
  crawlers.Stop();
  (*object_store)->Stop();
  (*audit)->Stop();
  std::error_code ec;
  std::filesystem::remove(dir + "/endpoint", ec);
  spdlog::info("stopped");
  return 0;
}

}  // namespace eventlake::server
