#include "api/s3_upload.h"

#include <gtest/gtest.h>

#include "common/strings.h"

namespace eventlake::api {
namespace {

class MemoryBlob : public objects::BlobWriter {
 public:
  explicit MemoryBlob(std::string* out) : out_(out) {}
  Status Write(std::string_view bytes) override {
    out_->append(bytes);
    return Status::Ok();
  }
  uint64_t size() const override { return out_->size(); }

 private:
  std::string* out_;
};

HttpRequest Head(std::vector<HttpHeader> headers) {
  HttpRequest r;
  r.method = "PUT";
  r.target = "/b/k";
  r.headers = std::move(headers);
  return r;
}

// Feeds `body` in pieces of `step` bytes; returns the first error.
Status Feed(S3UploadSink& sink, std::string_view body, size_t step) {
  for (size_t at = 0; at < body.size(); at += step) EL_RETURN_IF_ERROR(sink.Write(body.substr(at, step)));
  return sink.Finish();
}

std::string B64(std::string_view raw) { return auth::Base64Encode(raw); }

TEST(S3UploadSinkTest, APlainBodyIsHashedAndChecked) {
  std::string stored;
  auto sink = S3UploadSink::Create(Head({{"Content-Length", "11"}, {"x-amz-checksum-crc32", "DUoRhQ=="}}), nullptr,
                                   std::make_unique<MemoryBlob>(&stored), 1 << 20);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE(Feed(**sink, "hello world", 3).ok());
  EXPECT_EQ(stored, "hello world");
  EXPECT_EQ(HexEncode((*sink)->md5()), "5eb63bbbe01eeed093cb22bb8f5acdc3");
  EXPECT_EQ((*sink)->algorithm(), "CRC32");
  EXPECT_EQ((*sink)->checksum(), "DUoRhQ==");

  stored.clear();
  sink = S3UploadSink::Create(Head({{"Content-Length", "11"}, {"Content-MD5", B64(std::string(16, 'x'))}}), nullptr,
                              std::make_unique<MemoryBlob>(&stored), 1 << 20);
  EXPECT_EQ(Feed(**sink, "hello world", 4).type(), "BadDigest");
  sink = S3UploadSink::Create(Head({{"Content-Length", "11"}, {"x-amz-checksum-crc32c", "AAAAAA=="}}), nullptr,
                              std::make_unique<MemoryBlob>(&stored), 1 << 20);
  EXPECT_EQ(Feed(**sink, "hello world", 4).type(), "BadDigest");
  sink = S3UploadSink::Create(Head({{"Content-Length", "11"}}), nullptr, std::make_unique<MemoryBlob>(&stored), 5);
  EXPECT_EQ(sink.status().type(), "EntityTooLarge");
  EXPECT_EQ(S3UploadSink::Create(Head({{"x-amz-checksum-md4", "x"}}), nullptr, std::make_unique<MemoryBlob>(&stored),
                                 1 << 20)
                .status()
                .type(),
            "InvalidRequest");
}

TEST(S3UploadSinkTest, ALargeBodyIsHashedOnItsOwnThreadWithTheSameResult) {
  std::string body(6 << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 2654435761u >> 13);
  const std::string crc = B64(ChecksumOf("CRC32C", body));
  std::string stored;
  auto sink = S3UploadSink::Create(Head({{"Content-Length", std::to_string(body.size())},
                                        {"x-amz-checksum-crc32c", crc}}),
                                   nullptr, std::make_unique<MemoryBlob>(&stored), 64 << 20);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE(Feed(**sink, body, 100'000).ok());
  EXPECT_EQ(stored, body);
  const auto md5 = auth::Md5(body);
  EXPECT_EQ((*sink)->md5(), std::string(reinterpret_cast<const char*>(md5.data()), md5.size()));
  EXPECT_EQ((*sink)->checksum(), crc);
  // A wrong checksum is still caught, and a sink dropped half-way stops its thread.
  sink = S3UploadSink::Create(Head({{"Content-Length", std::to_string(body.size())}, {"x-amz-checksum-crc32c", "AAAAAA=="}}),
                              nullptr, std::make_unique<MemoryBlob>(&stored), 64 << 20);
  EXPECT_EQ(Feed(**sink, body, 1 << 20).type(), "BadDigest");
  sink = S3UploadSink::Create(Head({{"Content-Length", std::to_string(body.size())}}), nullptr,
                              std::make_unique<MemoryBlob>(&stored), 64 << 20);
  ASSERT_TRUE((*sink)->Write(std::string_view(body).substr(0, 1 << 20)).ok());
}

TEST(S3UploadSinkTest, AwsChunkedFramingIsRemovedInAnyPieces) {
  const std::string framed = "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
  for (size_t step : {1, 2, 7, 64}) {
    std::string stored;
    auto sink = S3UploadSink::Create(Head({{"x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
                                           {"Content-Encoding", "aws-chunked"},
                                           {"x-amz-trailer", "x-amz-checksum-crc32"},
                                           {"x-amz-decoded-content-length", "11"}}),
                                     nullptr, std::make_unique<MemoryBlob>(&stored), 1 << 20);
    ASSERT_TRUE(sink.ok());
    ASSERT_TRUE(Feed(**sink, framed, step).ok()) << step;
    EXPECT_EQ(stored, "hello world");
    EXPECT_EQ((*sink)->checksum(), "DUoRhQ==");
  }
  auto run = [](const std::string& body, const std::string& decoded_length = "11") {
    std::string stored;
    auto sink = S3UploadSink::Create(Head({{"x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
                                           {"x-amz-trailer", "x-amz-checksum-crc32"},
                                           {"x-amz-decoded-content-length", decoded_length}}),
                                     nullptr, std::make_unique<MemoryBlob>(&stored), 1 << 20);
    return Feed(**sink, body, 3);
  };
  EXPECT_EQ(run("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n").type(), "BadDigest");
  EXPECT_EQ(run("zz\r\nhello\r\n").type(), "IncompleteBody");
  EXPECT_EQ(run("5\r\nhelloXX\r\n").type(), "IncompleteBody");            // chunk longer than its size
  EXPECT_EQ(run("5\r\nhello\r\n6\r\n wor").type(), "IncompleteBody");     // cut short
  EXPECT_EQ(run("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "12").type(), "IncompleteBody");  // length differs
  EXPECT_EQ(run(std::string(5000, '1')).type(), "IncompleteBody");        // endless chunk header
  std::string many = "5\r\nhello\r\n6\r\n world\r\n0\r\n";
  for (int i = 0; i < 2000; ++i) many += "x-amz-meta-a:b\r\n";              // endless trailers
  EXPECT_EQ(run(many + "\r\n").type(), "MalformedTrailerError");
  EXPECT_EQ(run("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n").type(), "InvalidRequest");  // announced, not sent
  EXPECT_EQ(run("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\nmore").type(),
            "IncompleteBody");
}

TEST(S3UploadSinkTest, SignedChunksAreVerifiedInAChain) {
  auth::VerifiedRequest v;
  v.signing_key = auth::DeriveSigningKey("secret", "20261125", "us-east-1", "s3");
  v.amz_date = "20261125T120000Z";
  v.credential = {"AKID", "20261125", "us-east-1", "s3", "aws4_request"};
  v.signature = std::string(64, 'a');
  auto body = [&](bool tamper) {
    std::string prev = v.signature, out;
    for (std::string chunk : {std::string("hello"), std::string(" world"), std::string()}) {
      std::string sig = auth::ChunkSignatureHex(v.signing_key, v.amz_date, v.credential.Scope(), prev, chunk);
      if (tamper && chunk == " world") chunk = " WORLD";
      char size[16];
      snprintf(size, sizeof(size), "%zx", chunk.size());
      out += std::string(size) + ";chunk-signature=" + sig + "\r\n" + chunk + "\r\n";
      prev = sig;
    }
    return out;
  };
  for (bool tamper : {false, true}) {
    std::string stored;
    auto sink = S3UploadSink::Create(Head({{"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
                                           {"Content-Encoding", "aws-chunked"},
                                           {"x-amz-decoded-content-length", "11"}}),
                                     &v, std::make_unique<MemoryBlob>(&stored), 1 << 20);
    ASSERT_TRUE(sink.ok());
    Status s = Feed(**sink, body(tamper), 5);
    if (tamper) {
      EXPECT_EQ(s.type(), "SignatureDoesNotMatch");
    } else {
      EXPECT_TRUE(s.ok()) << s.ToString();
      EXPECT_EQ(stored, "hello world");
    }
  }
}

TEST(S3ChecksumTest, CrcsOfPiecesCombineIntoTheCrcOfTheWhole) {
  const std::string a = "The lake keeps every event", b = std::string(100000, 'z') + " and then some";
  for (const char* algo : {"CRC32", "CRC32C", "CRC64NVME"}) {
    EXPECT_EQ(CombineCrc(algo, ChecksumOf(algo, a), ChecksumOf(algo, b), b.size()), ChecksumOf(algo, a + b)) << algo;
  }
  EXPECT_EQ(B64(ChecksumOf("CRC32", "hello world")), "DUoRhQ==");
  EXPECT_EQ(HexEncode(ChecksumOf("CRC64NVME", "123456789")), "ae8b14860a799888");  // the standard check value
  // Pieces of any size give the same CRC as the whole (the 8-byte steps and the tail).
  S3Checksum pieces("CRC64NVME");
  for (size_t at = 0; at < b.size(); at += 13) pieces.Update(std::string_view(b).substr(at, 13));
  EXPECT_EQ(pieces.Final(), ChecksumOf("CRC64NVME", b));
  EXPECT_EQ(B64(ChecksumOf("SHA256", "")), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

}  // namespace
}  // namespace eventlake::api
