// Status and Result<T>: errors as values, LevelDB-style.
//
// A Status is either OK or carries a code and a message that says what went wrong and where
// ("landmark_lat: must be a number in [-90, 90], got 91"). Result<T> is a T or a non-OK Status.
// No exceptions cross module boundaries; callers check ok() and pass the Status up.
// Thread-safety: const methods may be called concurrently; mutation needs external sync.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace custodian {

enum class StatusCode {
  kOk = 0,
  kInvalidInput,  // malformed or out-of-range input (CLI exit 2)
  kNotFound,
  kUnauthorized,
  kCorruption,   // stored or signed data fails its integrity check
  kUnavailable,  // a peer did not answer, a resource is busy
  kIoError,      // the operating system refused (open, bind, write, ...)
  kFailedCheck,  // a well-formed thing failed verification (CLI exit 1)
  kInternal,
  kAlreadyExists,     // a unique thing exists already (duplicate enrolment, replayed receipt)
  kPermissionDenied,  // authenticated, but this caller may not do or see this
  kAborted,           // a transaction lost a race (serialization failure, busy); retry it
};

class Status {
 public:
  Status() = default;  // OK
  static Status Ok() { return Status(); }
  static Status InvalidInput(std::string msg) {
    return {StatusCode::kInvalidInput, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status Unauthorized(std::string msg) {
    return {StatusCode::kUnauthorized, std::move(msg)};
  }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status IoError(std::string msg) { return {StatusCode::kIoError, std::move(msg)}; }
  static Status FailedCheck(std::string msg) { return {StatusCode::kFailedCheck, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) {
    return {StatusCode::kAlreadyExists, std::move(msg)};
  }
  static Status PermissionDenied(std::string msg) {
    return {StatusCode::kPermissionDenied, std::move(msg)};
  }
  static Status Aborted(std::string msg) { return {StatusCode::kAborted, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "OK" or the message; the message already names the field and the problem.
  std::string ToString() const { return ok() ? std::string("OK") : message_; }
  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(const std::string& context) const {
    return ok() ? *this : Status(code_, context + ": " + message_);
  }

 private:
  Status(StatusCode code, std::string msg) : code_(code), message_(std::move(msg)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value of type T, or the Status explaining why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!status_.ok() && "Result needs a value or an error");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;  // OK iff value_ is set
};

}  // namespace custodian

// Propagate a non-OK Status to the caller.
#define CUSTODIAN_RETURN_IF_ERROR(expr)   \
  do {                                    \
    ::custodian::Status status_ = (expr); \
    if (!status_.ok()) return status_;    \
  } while (false)
