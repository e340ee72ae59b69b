// Reading members of JSON documents the server stored itself, leniently: a
// member that is missing or of another type reads as the fallback.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace eventlake {

inline std::string JsonString(const nlohmann::json& j, const char* key, std::string fallback = {}) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

inline int64_t JsonInt(const nlohmann::json& j, const char* key, int64_t fallback = 0) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : fallback;
}

}  // namespace eventlake
