// The audit trail: one structured record per API request (who, what, on which
// resource, from where, and how it ended), written as JSON lines to
// <data-dir>/audit/audit.jsonl with size-based rotation (64 MiB x 16 files).
// Format: docs/formats/data-directory.md.
//
// Records are handed to a background writer through a bounded queue; when the
// queue is full, Record() blocks instead of dropping. The writer hands each
// record to the OS as it writes it; records are not fsync'd one by one.
//
// Thread-safety: Record() may be called from any thread.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>

#include "common/clock.h"
#include "common/status.h"

namespace spdlog {
class logger;
namespace details {
class thread_pool;
}
}  // namespace spdlog

namespace eventlake::auth {

// The record layout's version (docs/formats/data-directory.md).
inline constexpr int kAuditRecordVersion = 1;

struct AuditRecord {
  Clock::TimePoint time;
  std::string request_id;
  std::string principal;      // the caller's ARN, or "anonymous"
  std::string access_key_id;  // as presented, even when unknown
  std::string action;         // "kinesis:PutRecord"; empty when the request named none
  std::string resource;       // an ARN, or "*"
  std::string source_ip;
  std::string user_agent;
  int http_status = 0;
  std::string error_code;  // the AWS error code; empty on success
  std::string outcome() const { return error_code.empty() ? "Success" : "Failure"; }
};

// Renders one record as a single JSON line (no trailing newline).
std::string AuditRecordJson(const AuditRecord& r);

class AuditLog {
 public:
  // Opens (creating) `dir`/audit.jsonl.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& dir);
  ~AuditLog();

  // Queues one record. Records after Stop() are dropped.
  void Record(const AuditRecord& record);
  // Writes out everything queued so far; later records are dropped. Idempotent.
  void Stop();

 private:
  AuditLog() = default;
  std::shared_mutex mu_;  // Record() shares it; Stop() takes it alone
  std::shared_ptr<spdlog::details::thread_pool> pool_;  // guarded by mu_
  std::shared_ptr<spdlog::logger> logger_;              // guarded by mu_; null once stopped
};

}  // namespace eventlake::auth
