// The crypto facade: the only OpenSSL user. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace eventlake::auth {

using Digest = std::array<uint8_t, 32>;

Digest Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);
Digest HmacSha256(std::string_view key, std::string_view data);
inline std::string_view AsBytes(const Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

using Md5Digest = std::array<uint8_t, 16>;
Md5Digest Md5(std::string_view data);

// A digest computed over data that arrives in pieces (an upload).
class StreamingDigest {
 public:
  enum class Algorithm { kMd5, kSha1, kSha256 };
  explicit StreamingDigest(Algorithm algorithm);
  ~StreamingDigest();
  StreamingDigest(const StreamingDigest&) = delete;
  StreamingDigest& operator=(const StreamingDigest&) = delete;
  void Update(std::string_view data);
  // The digest's bytes (16, 20 or 32); call once.
  std::string Final();

 private:
  void* ctx_;  // EVP_MD_CTX
};

// Standard base64 with padding.
std::string Base64Encode(std::string_view data);
// Strict: the standard alphabet, length a multiple of 4, padding only at the
// end. nullopt for anything else.
std::optional<std::string> Base64Decode(std::string_view text);

// Compares without leaking, through timing, where the first difference is.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// `n` characters drawn uniformly from `alphabet` with the OS CSPRNG.
std::string RandomString(size_t n, std::string_view alphabet);

}  // namespace eventlake::auth
