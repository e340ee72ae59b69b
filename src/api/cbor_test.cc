#include "api/cbor.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace eventlake::api {
namespace {

const CborShape kShape{{"Data"}, {"Timestamp", "ApproximateArrivalTimestamp"}};

TEST(CborTest, RequestBytesAndMillisecondTimestampsBecomeTheJsonShapes) {
  // {"Data": h'68690a', "Timestamp": 1(1787036486712), "PartitionKey": "pk"} as a Java SDK sends it
  // (an indefinite-length map).
  const unsigned char req[] = {0xbf, 0x64, 'D',  'a',  't',  'a',  0x43, 'h',  'i',  '\n', 0x69, 'T',  'i',
                               'm',  'e',  's',  't',  'a',  'm',  'p',  0xc1, 0x1b, 0x00, 0x00, 0x01, 0xa0,
                               0x13, 0xac, 0xcc, 0x38, 0x6c, 'P',  'a',  'r',  't',  'i',  't',  'i',  'o',
                               'n',  'K',  'e',  'y',  0x62, 'p',  'k',  0xff};
  auto json_text = CborRequestToJson(std::string_view(reinterpret_cast<const char*>(req), sizeof(req)), kShape);
  ASSERT_TRUE(json_text.ok()) << json_text.status().ToString();
  auto j = nlohmann::json::parse(*json_text);
  EXPECT_EQ(j["Data"], "aGkK");
  EXPECT_DOUBLE_EQ(j["Timestamp"].get<double>(), 1787036486.712);
  EXPECT_EQ(j["PartitionKey"], "pk");
}

TEST(CborTest, AnswersCarryByteStringsAndTaggedMilliseconds) {
  auto cbor = JsonToCbor(R"({"Records":[{"Data":"aGkK","ApproximateArrivalTimestamp":1787036486.712}],"N":-3})",
                         kShape);
  ASSERT_TRUE(cbor.ok());
  const std::string& b = *cbor;
  EXPECT_NE(b.find(std::string("\x43hi\n", 4)), std::string::npos);                             // byte string
  EXPECT_NE(b.find(std::string("\xc1\x1b\x00\x00\x01\xa0\x13\xac\xcc\x38", 10)), std::string::npos);  // tag 1 + ms
  EXPECT_NE(b.find(std::string("\x61N\x22", 3)), std::string::npos);                              // -3
}

TEST(CborTest, GarbageIsASerializationException) {
  auto r = CborRequestToJson("\xff\x00garbage", kShape);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().type(), "SerializationException");
}

}  // namespace
}  // namespace eventlake::api
