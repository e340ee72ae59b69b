// Reading AWS JSON 1.1 request bodies: the object check, typed members and
// the constraint failures that AWS collects into one ValidationException.
// Shared by every JSON service's file.
#pragma once

#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/context.h"
#include "api/json_service.h"
#include "common/status.h"

namespace eventlake::api {

using json = nlohmann::json;

// Patterns are compiled once per thread: std::regex construction is slow.
inline const std::regex& CachedRegex(const char* pattern) {
  thread_local std::map<const char*, std::regex> cache;
  auto it = cache.find(pattern);
  if (it == cache.end()) it = cache.emplace(pattern, std::regex(pattern)).first;
  return it->second;
}

inline Status Serialization(std::string msg) {
  return Status::InvalidArgument(std::move(msg)).WithType("SerializationException");
}

// Reads and validates the members of a request, collecting constraint
// failures into one ValidationException as AWS does.
class Input {
 public:
  explicit Input(const json& body) : body_(body) {}

  // A string member; nullopt when absent. A wrong type is a SerializationException.
  std::optional<std::string> Str(const char* member, const char* field, bool required, size_t min_len = 0,
                                 size_t max_len = SIZE_MAX, const char* pattern = nullptr) {
    const json* v = Find(member, field, required, json::value_t::string, "a String");
    if (!v) return std::nullopt;
    std::string str = v->get<std::string>();
    if (str.size() < min_len) {
      Fail("Value '" + str + "' at '" + field +
           "' failed to satisfy constraint: Member must have length greater than or equal to " +
           std::to_string(min_len));
    } else if (str.size() > max_len) {
      Fail("Value '" + str.substr(0, 64) + "' at '" + field +
           "' failed to satisfy constraint: Member must have length less than or equal to " + std::to_string(max_len));
    } else if (pattern && !std::regex_match(str, CachedRegex(pattern))) {
      Fail("Value '" + str + "' at '" + field +
           "' failed to satisfy constraint: Member must satisfy regular expression pattern: " + pattern);
    }
    return str;
  }

  std::optional<int64_t> Int(const char* member, const char* field, bool required, int64_t min, int64_t max) {
    const json* v = Find(member, field, required, json::value_t::number_integer, "an Integer");
    if (!v) return std::nullopt;
    int64_t n = v->get<int64_t>();
    if (n < min) {
      Fail("Value '" + std::to_string(n) + "' at '" + field +
           "' failed to satisfy constraint: Member must have value greater than or equal to " + std::to_string(min));
    } else if (n > max) {
      Fail("Value '" + std::to_string(n) + "' at '" + field +
           "' failed to satisfy constraint: Member must have value less than or equal to " + std::to_string(max));
    }
    return n;
  }

  std::optional<bool> Bool(const char* member) {
    const json* v = Find(member, member, false, json::value_t::boolean, "a Boolean");
    return v ? std::optional<bool>(v->get<bool>()) : std::nullopt;
  }

  // Epoch seconds (integer or fractional) to milliseconds.
  std::optional<int64_t> TimestampMs(const char* member) {
    const json* v = Find(member, member, false, json::value_t::number_float, "a Timestamp");
    return v ? std::optional<int64_t>(std::llround(v->get<double>() * 1000.0)) : std::nullopt;
  }

  // An object or array member; nullptr when absent or of another type (a SerializationException).
  const json* Member(const char* member, json::value_t type) {
    return Find(member, member, false, type, type == json::value_t::array ? "a List" : "a Structure");
  }

  void Fail(std::string message) { errors_.push_back(std::move(message)); }

  // SerializationException for a wrong type, ValidationException for broken constraints.
  Status Check() const {
    if (!type_error_.empty()) return Serialization(type_error_);
    if (errors_.empty()) return Status::Ok();
    std::string msg =
        std::to_string(errors_.size()) + " validation error" + (errors_.size() > 1 ? "s" : "") + " detected: ";
    for (size_t i = 0; i < errors_.size(); ++i) msg += (i ? "; " : "") + errors_[i];
    return Status::InvalidArgument(msg).WithType("ValidationException");
  }

 private:
  // The member when present and of the wanted type. Absent (or null): nullptr,
  // and a constraint failure when required. Another type: nullptr and a
  // SerializationException. number_integer takes any integer, number_float any number.
  const json* Find(const char* member, const char* field, bool required, json::value_t type, const char* what) {
    auto it = body_.find(member);
    if (it == body_.end() || it->is_null()) {
      if (required)
        Fail("Value null at '" + std::string(field) + "' failed to satisfy constraint: Member must not be null");
      return nullptr;
    }
    bool ok = type == json::value_t::number_integer ? it->is_number_integer()
              : type == json::value_t::number_float ? it->is_number()
                                                    : it->type() == type;
    if (!ok) {
      type_error_ = std::string(it->type_name()) + " can not be converted to " + what + " (member " + member + ")";
      return nullptr;
    }
    return &*it;
  }

  const json& body_;
  std::vector<std::string> errors_;
  std::string type_error_;
};

inline std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Reads the body as a JSON object.
inline Result<json> ParseBody(std::string_view body) {
  if (body.empty()) return json::object();
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Serialization("Request body is not valid JSON");
  if (!j.is_object()) return Serialization("Start of structure or map expected");
  return j;
}

// An operation that reads its input from a JSON body: SerializationException
// when the body is not a JSON object, else `op` with the members to read.
using BodyOperation = std::function<void(RequestContext&, Input&, const json&, JsonReply)>;
inline JsonOperation WithInput(BodyOperation op) {
  return [op = std::move(op)](RequestContext& ctx, std::string_view body, JsonReply reply) {
    auto parsed = ParseBody(body);
    if (!parsed.ok()) return reply(parsed.status());
    Input in(*parsed);
    op(ctx, in, *parsed, std::move(reply));
  };
}

}  // namespace eventlake::api
