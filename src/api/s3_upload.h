// The body of an S3 upload (PutObject, UploadPart) as it arrives: removes the
// aws-chunked framing when the client streams, verifies chunk signatures and
// the signed payload digest, computes the ETag (MD5) and the checksum the
// client asked for, and writes the object's bytes to a blob.
//
// The framing (x-amz-content-sha256 STREAMING-* modes, Content-Encoding
// aws-chunked):
//   chunk   := hex-size [";chunk-signature=" 64 hex] CRLF data CRLF
//   body    := chunk* last-chunk trailer* CRLF
//   last    := "0" [";chunk-signature=" 64 hex] CRLF
//   trailer := name ":" value CRLF     (x-amz-checksum-*, x-amz-trailer-signature)
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "auth/crypto.h"
#include "auth/sigv4.h"
#include "common/http_message.h"
#include "objects/object_store.h"

namespace eventlake::api {

// The checksum algorithms S3 knows, by their header suffix ("crc32", "sha256", ...).
bool IsS3ChecksumAlgorithm(std::string_view lower_name);
// A checksum computed over data that arrives in pieces, in one of S3's
// algorithms (upper case: CRC32, CRC32C, CRC64NVME, SHA1, SHA256).
class S3Checksum {
 public:
  explicit S3Checksum(std::string_view algorithm);
  void Update(std::string_view data);
  // The raw checksum (4 bytes for the CRCs, the digest otherwise); call once.
  std::string Final();

 private:
  bool sha_ = false, crc32c_ = false, crc64_ = false;
  uint32_t crc_ = 0;
  uint64_t crc64_value_ = 0;
  std::unique_ptr<auth::StreamingDigest> digest_;
};

// The raw checksum of `data` in `algorithm`.
std::string ChecksumOf(std::string_view algorithm, std::string_view data);
// The CRC (CRC32, CRC32C or CRC64NVME, raw big-endian bytes) of two pieces
// joined, from the CRCs of each and the length of the second.
std::string CombineCrc(std::string_view algorithm, std::string_view first, std::string_view second,
                       uint64_t second_length);

class S3UploadSink final : public BodySink {
 public:
  // `verified` is what the request's signature proved (null when signatures
  // are not checked); `max_bytes` the largest object accepted.
  // `default_algorithm` (lower case) is computed when the request names none
  // (the parts of an upload created with a checksum algorithm).
  static Result<std::shared_ptr<S3UploadSink>> Create(const HttpRequest& head, const auth::VerifiedRequest* verified,
                                                      std::unique_ptr<objects::BlobWriter> blob, uint64_t max_bytes,
                                                      const std::string& default_algorithm = {});

  Status Write(std::string_view bytes) override;
  Status Finish() override;

  // After Finish: the object's bytes, and what was computed over them.
  std::unique_ptr<objects::BlobWriter> TakeBlob() { return std::move(blob_); }
  uint64_t size() const { return decoded_; }
  const std::string& md5() const { return md5_; }         // raw 16 bytes
  const std::string& algorithm() const { return algo_; }  // upper case: CRC32, ...; empty when none
  const std::string& checksum() const { return checksum_b64_; }
  // What the request's signature proved when the upload started (null when not checked).
  const auth::VerifiedRequest* verified() const { return verified_ ? &*verified_ : nullptr; }

 private:
  S3UploadSink();
 public:
  ~S3UploadSink() override;

 private:
  Status Data(std::string_view bytes);
  Status ChunkHeader(std::string_view line);
  Status Trailer(std::string_view line);
  Status CheckChunkSignature();

  std::unique_ptr<objects::BlobWriter> blob_;
  std::optional<auth::VerifiedRequest> verified_;
  uint64_t max_bytes_ = 0;
  uint64_t decoded_ = 0;
  std::optional<uint64_t> declared_;  // x-amz-decoded-content-length or Content-Length
  // Digests.
  std::unique_ptr<auth::StreamingDigest> md5_digest_, sha256_digest_;
  std::optional<S3Checksum> checksum_;
  // Large uploads hash on a thread of their own while this one receives and
  // writes: the digests above are then touched only by that thread until Finish.
  class Hasher;
  std::unique_ptr<Hasher> hasher_;
  void Hash(std::string_view bytes);
  std::string expected_sha256_;  // hex, when the client signed the payload digest
  std::string algo_, expected_checksum_, checksum_b64_, md5_;
  std::string content_md5_;  // Content-MD5 header, base64
  // Framing.
  bool chunked_ = false, signed_chunks_ = false, trailer_expected_ = false;
  bool announced_trailer_ = false;  // x-amz-trailer named the checksum that must follow the body
  enum class State { kHeader, kData, kDataEnd, kTrailer, kDone } state_ = State::kHeader;
  std::string line_;
  uint64_t chunk_left_ = 0;
  std::string chunk_signature_;
  std::unique_ptr<auth::StreamingDigest> chunk_digest_;  // SHA-256 of the current chunk's data
  std::string previous_signature_;
  auth::Digest signing_key_{};
  std::string amz_date_, scope_;
  std::string trailer_text_;  // the trailer lines, for the trailer signature
  std::string trailer_signature_;
};

}  // namespace eventlake::api
