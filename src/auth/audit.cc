#include "auth/audit.h"

#include <mutex>

#include <spdlog/async.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "auth/sigv4.h"
#include "io/files.h"

namespace eventlake::auth {

std::string AuditRecordJson(const AuditRecord& r) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.time.time_since_epoch()).count();
  std::string date = FormatAmzDate(r.time);  // yyyymmddThhmmssZ
  char when[40];
  snprintf(when, sizeof(when), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s.%03lldZ", date.c_str(), date.c_str() + 4,
           date.c_str() + 6, date.c_str() + 9, date.c_str() + 11, date.c_str() + 13,
           static_cast<long long>(ms % 1000));
  nlohmann::ordered_json j = {
      {"eventVersion", kAuditRecordVersion},
      {"eventTime", when},
      {"requestId", r.request_id},
      {"principal", r.principal},
      {"accessKeyId", r.access_key_id},
      {"action", r.action},
      {"resource", r.resource},
      {"sourceIPAddress", r.source_ip},
      {"userAgent", r.user_agent},
      {"httpStatus", r.http_status},
      {"outcome", r.outcome()},
  };
  if (!r.error_code.empty()) j["errorCode"] = r.error_code;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& dir) {
  EL_RETURN_IF_ERROR(io::EnsureDirectory(dir));
  std::unique_ptr<AuditLog> log(new AuditLog());
  try {
    log->pool_ = std::make_shared<spdlog::details::thread_pool>(8192, 1);
    auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(dir + "/audit.jsonl", 64 * 1024 * 1024, 16);
    log->logger_ = std::make_shared<spdlog::async_logger>("audit", sink, log->pool_,
                                                          spdlog::async_overflow_policy::block);
    log->logger_->set_pattern("%v");
    log->logger_->set_level(spdlog::level::info);
    log->logger_->flush_on(spdlog::level::info);
  } catch (const std::exception& e) {
    return Status::IoError(std::string("open audit log in ") + dir + ": " + e.what());
  }
  return log;
}

void AuditLog::Record(const AuditRecord& record) {
  std::string line = AuditRecordJson(record);
  std::shared_lock lock(mu_);
  if (logger_) logger_->info(line);  // a late answer after Stop() has nowhere to go
}

void AuditLog::Stop() {
  std::unique_lock lock(mu_);
  if (!logger_) return;
  logger_->flush();
  logger_.reset();
  pool_.reset();  // joins the writer thread after it drained the queue
}

AuditLog::~AuditLog() { Stop(); }

}  // namespace eventlake::auth
