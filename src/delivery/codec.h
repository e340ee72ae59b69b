// How a delivered object's bytes are compressed (CompressionFormat), and the
// file extension each format gets by default.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace eventlake::delivery {

enum class Compression { kUncompressed, kGzip, kZip, kSnappy, kHadoopSnappy };

// The wire name (UNCOMPRESSED, GZIP, ZIP, Snappy, HADOOP_SNAPPY) and back.
const char* CompressionName(Compression c);
Result<Compression> ParseCompression(std::string_view name);
// ".gz", ".zip", ".snappy", ".hsnappy"; "" when uncompressed.
const char* DefaultExtension(Compression c);

// The object body for `data`:
//   GZIP           one gzip member
//   ZIP            a zip archive with one deflated entry named `entry_name`
//   Snappy         the Snappy framing format (stream identifier, chunks of at
//                  most 64 KiB with masked CRC-32C)
//   HADOOP_SNAPPY  Hadoop's block format (big-endian block and chunk lengths)
Result<std::string> Compress(Compression c, std::string_view data, const std::string& entry_name);

// The reverse, for tests and for the Decompression processor's GZIP.
Result<std::string> Decompress(Compression c, std::string_view data, size_t max_output);

}  // namespace eventlake::delivery
