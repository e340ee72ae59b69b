// Status and Result<T>: errors are values that cannot be ignored.
//
// Rooms return Status (or Result<T>) for every expected failure: bad input,
// missing resources, full disks. Exceptions never cross a room's API. The api/
// room maps a Status to the wire error of each protocol with one table
// (api/errors.h); a Status may carry an explicit error `type` (an AWS error
// name such as "ExpiredIteratorException") when the generic code is not precise
// enough.
//
// Thread-safety: values; copy freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace eventlake {

enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidArgument,     // the caller sent something malformed or out of range
  kNotFound,            // the named resource does not exist
  kAlreadyExists,       // the resource to create exists
  kFailedPrecondition,  // the resource is not in a state that allows this
  kResourceExhausted,   // a limit or a full queue: retry later (throttling)
  kUnauthenticated,     // no or bad credentials
  kPermissionDenied,    // authenticated, but not allowed
  kUnimplemented,       // not supported by this server
  kUnavailable,         // temporarily unable; retry
  kDeadlineExceeded,    // ran out of time
  kCancelled,           // stopped on request (shutdown)
  kIoError,             // the file system failed
  kDataLoss,            // stored bytes are corrupt
  kInternal,            // a bug
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, std::string type = {})
      : code_(code), message_(std::move(message)), type_(std::move(type)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {StatusCode::kAlreadyExists, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) {
    return {StatusCode::kFailedPrecondition, std::move(msg)};
  }
  static Status ResourceExhausted(std::string msg) {
    return {StatusCode::kResourceExhausted, std::move(msg)};
  }
  static Status Unauthenticated(std::string msg) { return {StatusCode::kUnauthenticated, std::move(msg)}; }
  static Status PermissionDenied(std::string msg) {
    return {StatusCode::kPermissionDenied, std::move(msg)};
  }
  static Status Unimplemented(std::string msg) { return {StatusCode::kUnimplemented, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status Cancelled(std::string msg) { return {StatusCode::kCancelled, std::move(msg)}; }
  static Status IoError(std::string msg) { return {StatusCode::kIoError, std::move(msg)}; }
  static Status DataLoss(std::string msg) { return {StatusCode::kDataLoss, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The specific wire error name, or empty when the code's default applies.
  const std::string& type() const { return type_; }

  // Returns a copy naming a specific wire error type.
  Status WithType(std::string type) const& { return Status(code_, message_, std::move(type)); }

  // Marks an error as dropped on purpose; grep for IgnoreError to find them.
  void IgnoreError() const {}

  // "InvalidArgument: message" (or "OK").
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string type_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  // The error; Status::Ok() when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace eventlake

#define EL_CONCAT_INNER(a, b) a##b
#define EL_CONCAT(a, b) EL_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function when it is an error.
#define EL_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::eventlake::Status el_status_ = (expr);     \
    if (!el_status_.ok()) return el_status_;     \
  } while (0)

// `lhs = value of expr`, or returns its Status. lhs may declare: EL_ASSIGN_OR_RETURN(auto x, F());
#define EL_ASSIGN_OR_RETURN(lhs, expr) EL_ASSIGN_OR_RETURN_IMPL(EL_CONCAT(el_result_, __LINE__), lhs, expr)
#define EL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
