#include "api/s3_upload.h"

#include <isa-l/crc.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <cstring>

#include "common/strings.h"

namespace eventlake::api {
namespace {

constexpr size_t kMaxFramingLine = 4096;  // a chunk header or a trailer line
// Uploads at least this large hash on a second thread while the first receives and writes, as long as
// no more than kMaxHashThreads of them do at once (the rest hash as they receive).
constexpr uint64_t kHashOnOwnThreadBytes = 4 << 20;
constexpr int kMaxHashThreads = 4;
std::atomic<int> hash_threads{0};
constexpr size_t kMaxTrailerBytes = 4096;  // all trailing headers of one upload

Status Invalid(std::string code, std::string message) {
  return Status::InvalidArgument(std::move(message)).WithType(std::move(code));
}

std::string BigEndian(uint64_t v, int bytes) {
  std::string out(static_cast<size_t>(bytes), '\0');
  for (int i = bytes - 1; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
  return out;
}

}  // namespace

bool IsS3ChecksumAlgorithm(std::string_view n) {
  return n == "crc32" || n == "crc32c" || n == "crc64nvme" || n == "sha1" || n == "sha256";
}

namespace {

// CRC64/NVME (polynomial 0xAD93D23594C93659, reflected, initial value and
// final XOR all ones), as S3 defines CRC64NVME. ISA-L has it only from 2.31
// (crc64_rocksoft); Debian 12 carries 2.30. A table of 256 words, 8 of them
// a byte at a time (slice-by-8).
constexpr uint64_t kCrc64Poly = 0x9A6C9329AC4BC9B5ull;  // reflected

struct Crc64Tables {
  uint64_t t[8][256];
  Crc64Tables() {
    for (int i = 0; i < 256; ++i) {
      uint64_t c = static_cast<uint64_t>(i);
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kCrc64Poly : c >> 1;
      t[0][i] = c;
    }
    for (int i = 0; i < 256; ++i) {
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
    }
  }
};

uint64_t Crc64Update(uint64_t crc, std::string_view data) {
  static const Crc64Tables tables;
  const auto& t = tables.t;
  crc = ~crc;
  auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);  // little-endian, as on every machine this builds for
    v ^= crc;
    crc = t[7][v & 0xFF] ^ t[6][(v >> 8) & 0xFF] ^ t[5][(v >> 16) & 0xFF] ^ t[4][(v >> 24) & 0xFF] ^
          t[3][(v >> 32) & 0xFF] ^ t[2][(v >> 40) & 0xFF] ^ t[1][(v >> 48) & 0xFF] ^ t[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xFF];
  return ~crc;
}

// CRC combination (as zlib's crc32_combine does it for one polynomial):
// multiplying by x^(8 * len) modulo the polynomial, over GF(2), with the
// reflected bit order of these CRCs. For 32- and 64-bit CRCs alike.
template <typename T>
T GfMultiply(T a, T b, T poly) {
  T m = T{1} << (sizeof(T) * 8 - 1), p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1) ? (b >> 1) ^ poly : b >> 1;
  }
  return p;
}

template <typename T>
T XPow8n(uint64_t n, T poly) {
  // x^(8n): repeated squaring of x^8, in the reflected representation (x^0 is the top bit).
  const int top = sizeof(T) * 8 - 1;
  T result = T{1} << top;
  T power = T{1} << (top - 8);
  while (n) {
    if (n & 1) result = GfMultiply<T>(power, result, poly);
    power = GfMultiply<T>(power, power, poly);
    n >>= 1;
  }
  return result;
}

uint64_t ReadBe(std::string_view b) {
  uint64_t v = 0;
  for (unsigned char c : b) v = (v << 8) | c;
  return v;
}

}  // namespace

S3Checksum::S3Checksum(std::string_view algorithm)
    : sha_(algorithm == "SHA1" || algorithm == "SHA256"), crc32c_(algorithm == "CRC32C"),
      crc64_(algorithm == "CRC64NVME") {
  if (sha_) {
    digest_ = std::make_unique<auth::StreamingDigest>(algorithm == "SHA1" ? auth::StreamingDigest::Algorithm::kSha1
                                                                          : auth::StreamingDigest::Algorithm::kSha256);
  }
}

void S3Checksum::Update(std::string_view data) {
  if (digest_) {
    digest_->Update(data);
    return;
  }
  if (crc64_) {
    crc64_value_ = Crc64Update(crc64_value_, data);
    return;
  }
  auto* p = reinterpret_cast<unsigned char*>(const_cast<char*>(data.data()));
  // ISA-L's CRCs take an int length: at most 1 GiB at a time.
  for (size_t off = 0; off < data.size();) {
    const size_t n = std::min<size_t>(data.size() - off, size_t{1} << 30);
    crc_ = crc32c_ ? ~crc32_iscsi(p + off, static_cast<int>(n), ~crc_) : crc32_gzip_refl(crc_, p + off, n);
    off += n;
  }
}

std::string S3Checksum::Final() {
  if (digest_) return digest_->Final();
  return crc64_ ? BigEndian(crc64_value_, 8) : BigEndian(crc_, 4);
}

std::string ChecksumOf(std::string_view algorithm, std::string_view data) {
  S3Checksum c(algorithm);
  c.Update(data);
  return c.Final();
}

std::string CombineCrc(std::string_view algorithm, std::string_view first, std::string_view second,
                       uint64_t second_length) {
  if (algorithm == "CRC64NVME") {
    const uint64_t a = ReadBe(first), b = ReadBe(second);
    return BigEndian(GfMultiply<uint64_t>(XPow8n<uint64_t>(second_length, kCrc64Poly), a, kCrc64Poly) ^ b, 8);
  }
  const uint32_t poly = algorithm == "CRC32" ? 0xEDB88320u : 0x82F63B78u;
  const auto a = static_cast<uint32_t>(ReadBe(first)), b = static_cast<uint32_t>(ReadBe(second));
  return BigEndian(GfMultiply<uint32_t>(XPow8n<uint32_t>(second_length, poly), a, poly) ^ b, 4);
}

// Hashes the chunks it is given, in order, on its own thread; at most a few
// chunks wait, so a producer that runs ahead waits for it.
class S3UploadSink::Hasher {
 public:
  explicit Hasher(S3UploadSink& sink) : sink_(sink), thread_([this] { Run(); }) {}
  ~Hasher() {
    Finish();
    hash_threads.fetch_sub(1);
  }
  // A hasher, unless enough of them run already.
  static std::unique_ptr<Hasher> MaybeStart(S3UploadSink& sink) {
    if (hash_threads.fetch_add(1) >= kMaxHashThreads) {
      hash_threads.fetch_sub(1);
      return nullptr;
    }
    return std::make_unique<Hasher>(sink);
  }
  void Push(std::string_view bytes) {
    std::unique_lock lock(mu_);
    room_.wait(lock, [&] { return queue_.size() < kMaxQueued; });
    // Buffers are reused: a fresh allocation of this size would be fresh pages to fault in every time.
    std::string buf;
    if (!spare_.empty()) {
      buf = std::move(spare_.back());
      spare_.pop_back();
    }
    buf.assign(bytes);
    queue_.push_back(std::move(buf));
    ready_.notify_one();
  }
  // Waits until every chunk pushed is hashed, and stops the thread.
  void Finish() {
    {
      std::lock_guard lock(mu_);
      if (done_) return;
      done_ = true;
      ready_.notify_one();
    }
    thread_.join();
  }

 private:
  static constexpr size_t kMaxQueued = 8;
  void Run() {
    for (;;) {
      std::string chunk;
      {
        std::unique_lock lock(mu_);
        ready_.wait(lock, [&] { return done_ || !queue_.empty(); });
        if (queue_.empty()) return;  // done, and nothing left
        chunk = std::move(queue_.front());
        queue_.pop_front();
      }
      sink_.Hash(chunk);
      std::lock_guard lock(mu_);
      spare_.push_back(std::move(chunk));
      room_.notify_one();
    }
  }
  S3UploadSink& sink_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<std::string> queue_;    // guarded by mu_
  std::vector<std::string> spare_;  // guarded by mu_: hashed buffers, for the next chunks
  bool done_ = false;              // guarded by mu_
  std::thread thread_;
};

S3UploadSink::S3UploadSink() = default;
S3UploadSink::~S3UploadSink() = default;  // the hasher stops before the digests it uses (declared before it) go

void S3UploadSink::Hash(std::string_view bytes) {
  md5_digest_->Update(bytes);
  if (sha256_digest_) sha256_digest_->Update(bytes);
  if (checksum_) checksum_->Update(bytes);
}

Result<std::shared_ptr<S3UploadSink>> S3UploadSink::Create(const HttpRequest& head,
                                                           const auth::VerifiedRequest* verified,
                                                           std::unique_ptr<objects::BlobWriter> blob,
                                                           uint64_t max_bytes, const std::string& default_algorithm) {
  std::shared_ptr<S3UploadSink> s(new S3UploadSink());
  s->blob_ = std::move(blob);
  if (verified) s->verified_ = *verified;
  s->max_bytes_ = max_bytes;
  s->md5_digest_ = std::make_unique<auth::StreamingDigest>(auth::StreamingDigest::Algorithm::kMd5);
  const std::string mode(head.Header("x-amz-content-sha256"));
  const std::string encoding = AsciiLower(head.Header("content-encoding"));
  s->chunked_ = StartsWith(mode, "STREAMING-") || encoding.find("aws-chunked") != std::string::npos;
  if (StartsWith(mode, "STREAMING-") && mode != "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" &&
      mode != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" && mode != "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") {
    return Invalid("InvalidArgument", "x-amz-content-sha256 names an unknown streaming mode: " + mode.substr(0, 64));
  }
  s->signed_chunks_ = StartsWith(mode, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") && verified != nullptr;
  s->trailer_expected_ = mode.find("TRAILER") != std::string::npos;
  if (verified && mode.size() == 64) {
    s->expected_sha256_ = AsciiLower(mode);
    s->sha256_digest_ = std::make_unique<auth::StreamingDigest>(auth::StreamingDigest::Algorithm::kSha256);
  }
  if (s->signed_chunks_) {
    s->previous_signature_ = verified->signature;
    s->signing_key_ = verified->signing_key;
    s->amz_date_ = verified->amz_date;
    s->scope_ = verified->credential.Scope();
  }
  auto parse_length = [](std::string_view text) -> std::optional<uint64_t> {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || text.empty()) return std::nullopt;
    return v;
  };
  if (s->chunked_) {
    if (const std::string* d = head.FindHeader("x-amz-decoded-content-length")) {
      s->declared_ = parse_length(TrimWhitespace(*d));
      if (!s->declared_) return Invalid("InvalidArgument", "x-amz-decoded-content-length is not a number");
    } else if (s->signed_chunks_) {
      return Status::InvalidArgument("You must provide the Content-Length HTTP header.").WithType("MissingContentLength");
    }
  } else if (const std::string* len = head.FindHeader("content-length")) {
    s->declared_ = parse_length(TrimWhitespace(*len));
  }
  if (s->declared_ && *s->declared_ > max_bytes) {
    return Invalid("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
  }
  // The checksum: a header with the value, or (with trailers) the algorithm named up front.
  for (const auto& h : head.headers) {
    std::string name = AsciiLower(h.name);
    if (StartsWith(name, "x-amz-checksum-") && name != "x-amz-checksum-type" && name != "x-amz-checksum-algorithm" &&
        name != "x-amz-checksum-mode") {
      std::string algo = name.substr(15);
      if (!IsS3ChecksumAlgorithm(algo)) {
        return Invalid("InvalidRequest", "Unsupported checksum algorithm: " + algo.substr(0, 32));
      }
      if (!s->algo_.empty()) return Invalid("InvalidRequest", "Expecting a single x-amz-checksum- header");
      s->algo_ = algo;
      s->expected_checksum_ = std::string(TrimWhitespace(h.value));
    }
  }
  if (s->algo_.empty() && s->trailer_expected_) {
    std::string trailer = AsciiLower(TrimWhitespace(head.Header("x-amz-trailer")));
    if (StartsWith(trailer, "x-amz-checksum-")) {
      s->algo_ = trailer.substr(15);
      s->announced_trailer_ = true;
    }
  }
  if (s->algo_.empty()) s->algo_ = AsciiLower(TrimWhitespace(head.Header("x-amz-sdk-checksum-algorithm")));
  if (s->algo_.empty()) s->algo_ = default_algorithm;
  if (!s->algo_.empty() && !IsS3ChecksumAlgorithm(s->algo_)) {
    return Invalid("InvalidRequest", "Unsupported checksum algorithm: " + s->algo_.substr(0, 32));
  }
  for (auto& c : s->algo_) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!s->algo_.empty()) s->checksum_.emplace(s->algo_);
  const uint64_t expected = s->declared_.value_or(0);
  if (expected >= kHashOnOwnThreadBytes) s->hasher_ = Hasher::MaybeStart(*s);
  s->content_md5_ = std::string(TrimWhitespace(head.Header("content-md5")));
  return s;
}

Status S3UploadSink::Data(std::string_view bytes) {
  if (bytes.empty()) return Status::Ok();
  decoded_ += bytes.size();
  if (decoded_ > max_bytes_) return Invalid("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
  if (declared_ && decoded_ > *declared_) {
    return Invalid("IncompleteBody", "The request body is longer than the declared length");
  }
  if (hasher_) {
    hasher_->Push(bytes);
  } else {
    Hash(bytes);
  }
  if (chunk_digest_) chunk_digest_->Update(bytes);
  return blob_->Write(bytes);
}

Status S3UploadSink::CheckChunkSignature() {
  if (!signed_chunks_) return Status::Ok();
  std::string hex = HexEncode(chunk_digest_->Final());
  chunk_digest_.reset();
  std::string want = auth::ChunkSignatureHexOfDigest(signing_key_, amz_date_, scope_, previous_signature_, hex);
  if (!auth::ConstantTimeEquals(want, AsciiLower(chunk_signature_))) {
    return Status::PermissionDenied(
               "The request signature we calculated does not match the signature you provided. Check your key and "
               "signing method.")
        .WithType("SignatureDoesNotMatch");
  }
  previous_signature_ = std::move(want);
  return Status::Ok();
}

Status S3UploadSink::ChunkHeader(std::string_view line) {
  std::string_view size_text = line.substr(0, line.find(';'));
  chunk_signature_.clear();
  if (size_t p = line.find(";chunk-signature="); p != std::string_view::npos) {
    chunk_signature_ = std::string(line.substr(p + 17));
  }
  if (signed_chunks_ && chunk_signature_.size() != 64) {
    return Invalid("InvalidChunkSizeError", "A chunk of a signed streaming upload has no chunk-signature");
  }
  uint64_t size = 0;
  auto [ptr, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
  if (ec != std::errc() || ptr != size_text.data() + size_text.size() || size_text.empty() || size_text.size() > 16) {
    return Invalid("IncompleteBody", "Malformed aws-chunked chunk header");
  }
  if (signed_chunks_) chunk_digest_ = std::make_unique<auth::StreamingDigest>(auth::StreamingDigest::Algorithm::kSha256);
  chunk_left_ = size;
  if (size == 0) {
    EL_RETURN_IF_ERROR(CheckChunkSignature());
    state_ = State::kTrailer;
  } else {
    state_ = State::kData;
  }
  return Status::Ok();
}

Status S3UploadSink::Trailer(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return Invalid("MalformedTrailerError", "Malformed trailing header");
  std::string name = AsciiLower(TrimWhitespace(line.substr(0, colon)));
  std::string_view value = TrimWhitespace(line.substr(colon + 1));
  if (name == "x-amz-trailer-signature") {
    trailer_signature_ = std::string(value);
    return Status::Ok();
  }
  trailer_text_ += name + ":" + std::string(value) + "\n";
  if (trailer_text_.size() > kMaxTrailerBytes) return Invalid("MalformedTrailerError", "The trailing headers are too large");
  if (StartsWith(name, "x-amz-checksum-")) {
    std::string algo = name.substr(15);
    if (algo != AsciiLower(algo_)) return Invalid("InvalidRequest", "The trailing checksum does not match x-amz-trailer");
    expected_checksum_ = std::string(value);
  }
  return Status::Ok();
}

Status S3UploadSink::Write(std::string_view bytes) {
  if (!chunked_) return Data(bytes);
  while (!bytes.empty()) {
    switch (state_) {
      case State::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk_left_, bytes.size()));
        EL_RETURN_IF_ERROR(Data(bytes.substr(0, n)));
        bytes.remove_prefix(n);
        chunk_left_ -= n;
        if (chunk_left_ == 0) state_ = State::kDataEnd;
        break;
      }
      case State::kDone:
        return Invalid("IncompleteBody", "Bytes after the end of the aws-chunked body");
      default: {
        // A line: chunk header, the CRLF after a chunk's data, or a trailer.
        size_t nl = bytes.find('\n');
        const size_t take = nl == std::string_view::npos ? bytes.size() : nl + 1;
        if (line_.size() + take > kMaxFramingLine) return Invalid("IncompleteBody", "aws-chunked line too long");
        line_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        if (nl == std::string_view::npos) break;
        std::string_view line(line_);
        line.remove_suffix(1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        Status s;
        if (state_ == State::kDataEnd) {
          if (!line.empty()) s = Invalid("IncompleteBody", "A chunk is longer than its declared size");
          state_ = State::kHeader;
          if (s.ok()) s = CheckChunkSignature();
        } else if (state_ == State::kHeader) {
          s = ChunkHeader(line);
        } else if (line.empty()) {
          state_ = State::kDone;
        } else {
          s = Trailer(line);
        }
        line_.clear();
        EL_RETURN_IF_ERROR(s);
      }
    }
  }
  return Status::Ok();
}

Status S3UploadSink::Finish() {
  if (chunked_ && state_ != State::kDone && !(state_ == State::kTrailer && line_.empty() && !trailer_expected_)) {
    return Invalid("IncompleteBody", "The aws-chunked body ended early");
  }
  if (declared_ && decoded_ != *declared_) {
    return Invalid("IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header");
  }
  if (signed_chunks_ && trailer_expected_) {
    std::string want = auth::TrailerSignatureHex(signing_key_, amz_date_, scope_, previous_signature_, trailer_text_);
    if (!auth::ConstantTimeEquals(want, AsciiLower(trailer_signature_))) {
      return Status::PermissionDenied("The trailing header signature does not match.").WithType("SignatureDoesNotMatch");
    }
  }
  if (hasher_) {
    // The hasher may still have a few chunks to go: the disk catches up meanwhile.
    EL_RETURN_IF_ERROR(blob_->Flush());
    hasher_->Finish();
  }
  md5_ = md5_digest_->Final();
  if (sha256_digest_ && HexEncode(sha256_digest_->Final()) != expected_sha256_) {
    return Invalid("XAmzContentSHA256Mismatch",
                   "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  if (!content_md5_.empty() && auth::Base64Encode(md5_) != content_md5_) {
    return Invalid("BadDigest", "The Content-MD5 you specified did not match what we received.");
  }
  if (trailer_expected_ && announced_trailer_ && expected_checksum_.empty()) {
    return Invalid("InvalidRequest", "The checksum named in x-amz-trailer was not sent after the body");
  }
  if (checksum_) {
    checksum_b64_ = auth::Base64Encode(checksum_->Final());
    if (!expected_checksum_.empty() && expected_checksum_ != checksum_b64_) {
      return Invalid("BadDigest", "The " + algo_ + " you specified did not match the calculated checksum.");
    }
  }
  return Status::Ok();
}

}  // namespace eventlake::api
