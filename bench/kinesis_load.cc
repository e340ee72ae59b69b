// A Kinesis (and Firehose) load driver: many keep-alive connections sending pre-signed,
// pre-serialized requests, so that one process offers more load than any SDK
// does. Measures PutRecords throughput and latency (closed loop at full speed,
// or open loop at a fixed rate), GetRecords throughput, and put-to-get latency.
//
//   kinesis_load --endpoint 127.0.0.1:4566 --mode put --connections 16 --seconds 10
//   kinesis_load --mode put --rate 200          (requests per second, for latency at a given load)
//   kinesis_load --mode get                     (reads every shard from TRIM_HORIZON)
//   kinesis_load --mode e2e                     (put one record at a time, read it back; latency)
//   kinesis_load --service firehose --mode put  (PutRecordBatch to a delivery stream into the raw zone)
//
// Prints one JSON line of results. Works against any Kinesis endpoint
// (kinesalite ignores signatures; Eventlake checks them).
#include <utility>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "auth/crypto.h"
#include "auth/sigv4.h"
#include "common/http_message.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using eventlake::HttpRequest;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "4566";
  std::string stream = "bench";
  std::string mode = "put";
  std::string service = "kinesis";  // or firehose
  int interval_seconds = 60;         // firehose: the delivery stream's buffering interval
  std::string access_key = "AKIABENCHBENCHBENCH0";
  std::string secret = "bench/bench/bench/bench/bench/bench/benc";
  std::string region = "us-east-1";
  int connections = 16;
  int seconds = 10;
  int records = 500;
  int record_bytes = 200;
  double rate = 0;  // requests per second over all connections; 0: as fast as possible
  int shards = 4;
  bool create = true;
};

// A signed HTTP/1.1 request, ready to write.
std::string Signed(const Options& o, const std::string& target, const std::string& body) {
  HttpRequest r;
  r.method = "POST";
  r.target = "/";
  std::string date = eventlake::auth::FormatAmzDate(std::chrono::system_clock::now());
  const bool firehose = o.service == "firehose";
  r.headers = {{"content-type", "application/x-amz-json-1.1"},
               {"host", o.host + ":" + o.port},
               {"x-amz-date", date},
               {"x-amz-target", (firehose ? "Firehose_20150804." : "Kinesis_20131202.") + target}};
  r.body = body;
  std::vector<std::string> names = {"content-type", "host", "x-amz-date", "x-amz-target"};
  std::string scope = date.substr(0, 8) + "/" + o.region + "/" + o.service + "/aws4_request";
  std::string payload = eventlake::auth::Sha256Hex(body);
  std::string sts = eventlake::auth::StringToSign(
      date, scope,
      eventlake::auth::CanonicalRequest(r, names, payload, eventlake::auth::PathCanonicalization::kNormalizeAndEncode,
                                        false));
  std::string sig = eventlake::auth::SignatureHex(
      eventlake::auth::DeriveSigningKey(o.secret, date.substr(0, 8), o.region, o.service), sts);
  std::string out = "POST / HTTP/1.1\r\n";
  for (const auto& h : r.headers) out += h.name + ": " + h.value + "\r\n";
  out += "authorization: AWS4-HMAC-SHA256 Credential=" + o.access_key + "/" + scope +
         ", SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + sig + "\r\n";
  out += "content-length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return out;
}

struct Recorder {
  std::mutex mu;
  std::vector<double> latencies_ms;
  uint64_t requests = 0, records = 0, bytes = 0, errors = 0;
  std::string first_error;
  void Add(double ms, uint64_t recs, uint64_t b) {
    std::lock_guard lock(mu);
    latencies_ms.push_back(ms);
    ++requests;
    records += recs;
    bytes += b;
  }
  void Error(const std::string& e) {
    std::lock_guard lock(mu);
    ++errors;
    if (first_error.empty()) first_error = e.substr(0, 300);
  }
  double Pct(double p) {
    if (latencies_ms.empty()) return 0;
    std::sort(latencies_ms.begin(), latencies_ms.end());
    return latencies_ms[std::min(latencies_ms.size() - 1, static_cast<size_t>(p * latencies_ms.size()))];
  }
};

// One blocking call on a connection (for set-up and the get and e2e modes).
struct Conn {
  asio::io_context io;
  tcp::socket sock{io};
  beast::flat_buffer buf;
  explicit Conn(const Options& o) {
    tcp::resolver res(io);
    asio::connect(sock, res.resolve(o.host, o.port));
    sock.set_option(tcp::no_delay(true));
  }
  bhttp::response<bhttp::string_body> Call(const std::string& raw) {
    asio::write(sock, asio::buffer(raw));
    bhttp::response_parser<bhttp::string_body> p;
    p.body_limit(64 << 20);
    bhttp::read(sock, buf, p);
    return p.release();
  }
};

nlohmann::json CallJson(Conn& c, const Options& o, const std::string& target, const nlohmann::json& body) {
  auto res = c.Call(Signed(o, target, body.dump()));
  auto j = nlohmann::json::parse(res.body().empty() ? "{}" : res.body(), nullptr, false);
  if (res.result_int() != 200) throw std::runtime_error(target + ": " + std::to_string(res.result_int()) + " " + res.body());
  return j;
}

std::string PutRecordsBody(const Options& o, int salt) {
  nlohmann::json recs = nlohmann::json::array();
  std::string data(static_cast<size_t>(o.record_bytes), 'x');
  for (int i = 0; i < o.records; ++i) {
    std::snprintf(data.data(), data.size(), "%08d-%06d", salt, i);
    if (o.service == "firehose") {
      recs.push_back({{"Data", eventlake::auth::Base64Encode(data)}});
    } else {
      recs.push_back({{"Data", eventlake::auth::Base64Encode(data)}, {"PartitionKey", "pk-" + std::to_string(salt * 1000 + i)}});
    }
  }
  if (o.service == "firehose") return nlohmann::json({{"DeliveryStreamName", o.stream}, {"Records", recs}}).dump();
  return nlohmann::json({{"StreamName", o.stream}, {"Records", recs}}).dump();
}

void RunPut(const Options& o, Recorder& rec) {
  // A pool of distinct pre-signed requests, replayed round robin.
  std::vector<std::string> pool;
  const bool firehose = o.service == "firehose";
  const char* ok_marker = firehose ? "\"FailedPutCount\":0" : "\"FailedRecordCount\":0";
  for (int i = 0; i < 32; ++i) pool.push_back(Signed(o, firehose ? "PutRecordBatch" : "PutRecords", PutRecordsBody(o, i)));
  const uint64_t payload = static_cast<uint64_t>(o.records) * static_cast<uint64_t>(o.record_bytes);
  asio::io_context io;
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(o.seconds);
  std::atomic<uint64_t> next_slot{0};
  auto worker = [&](int id) -> asio::awaitable<void> {
    tcp::socket sock(io);
    tcp::resolver res(io);
    co_await asio::async_connect(sock, res.resolve(o.host, o.port), asio::use_awaitable);
    sock.set_option(tcp::no_delay(true));
    beast::flat_buffer buf;
    asio::steady_timer timer(io);
    for (uint64_t n = 0;; ++n) {
      auto scheduled = Clock::now();
      if (o.rate > 0) {
        // Open loop: request k is due at start + k/rate, however late the answers are.
        uint64_t k = next_slot.fetch_add(1);
        scheduled = start + std::chrono::nanoseconds(static_cast<int64_t>(1e9 * static_cast<double>(k) / o.rate));
        if (scheduled >= end) co_return;
        timer.expires_at(scheduled);
        co_await timer.async_wait(asio::use_awaitable);
      } else if (scheduled >= end) {
        co_return;
      }
      const std::string& raw = pool[(static_cast<size_t>(id) * 7 + n) % pool.size()];
      co_await asio::async_write(sock, asio::buffer(raw), asio::use_awaitable);
      bhttp::response_parser<bhttp::string_body> p;
      co_await bhttp::async_read(sock, buf, p, asio::use_awaitable);
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - scheduled).count();
      const auto& body = p.get().body();
      if (p.get().result_int() != 200 || body.find(ok_marker) == std::string::npos) {
        rec.Error(std::to_string(p.get().result_int()) + " " + body.substr(0, 200));
      } else {
        rec.Add(ms, static_cast<uint64_t>(o.records), payload);
      }
    }
  };
  for (int i = 0; i < o.connections; ++i) {
    asio::co_spawn(io, worker(i), [&](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          rec.Error(ex.what());
        }
      }
    });
  }
  std::thread helper([&] { io.run(); });
  io.run();
  helper.join();
}

void RunGet(const Options& o, Recorder& rec) {
  Conn setup(o);
  auto shards = CallJson(setup, o, "ListShards", {{"StreamName", o.stream}})["Shards"];
  std::vector<std::thread> threads;
  const auto end = Clock::now() + std::chrono::seconds(o.seconds);
  for (const auto& sh : shards) {
    threads.emplace_back([&, shard = sh["ShardId"].get<std::string>()] {
      try {
        Conn c(o);
        std::string it = CallJson(c, o, "GetShardIterator",
                                  {{"StreamName", o.stream}, {"ShardId", shard}, {"ShardIteratorType", "TRIM_HORIZON"}})
                             ["ShardIterator"];
        while (Clock::now() < end && !it.empty()) {
          auto t0 = Clock::now();
          auto res = c.Call(Signed(o, "GetRecords", nlohmann::json({{"ShardIterator", it}, {"Limit", 10000}}).dump()));
          double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
          if (res.result_int() != 200) {
            rec.Error(res.body().substr(0, 200));
            break;
          }
          const std::string& b = res.body();
          uint64_t n = 0;
          for (size_t p = b.find("\"SequenceNumber\""); p != std::string::npos; p = b.find("\"SequenceNumber\"", p + 1)) ++n;
          rec.Add(ms, n, b.size());
          if (n == 0) break;  // caught up
          size_t p = b.find("\"NextShardIterator\":\"");
          it = p == std::string::npos ? "" : b.substr(p + 21, b.find('"', p + 21) - p - 21);
        }
      } catch (const std::exception& e) {
        rec.Error(e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
}

void RunEndToEnd(const Options& o, Recorder& rec) {
  Conn setup(o);
  auto shards = CallJson(setup, o, "ListShards", {{"StreamName", o.stream}})["Shards"];
  const std::string shard = shards[0]["ShardId"];
  // A partition key that lands on the first shard: its hash-key range starts at 0.
  const std::string ehk = "0";
  std::atomic<bool> done{false};
  std::mutex mu;
  std::vector<int64_t> sent_ns;
  std::thread consumer([&] {
    try {
      Conn c(o);
      std::string it = CallJson(c, o, "GetShardIterator",
                                {{"StreamName", o.stream}, {"ShardId", shard}, {"ShardIteratorType", "LATEST"}})
                           ["ShardIterator"];
      while (!done.load()) {
        auto res = c.Call(Signed(o, "GetRecords", nlohmann::json({{"ShardIterator", it}}).dump()));
        auto now = Clock::now().time_since_epoch().count();
        auto j = nlohmann::json::parse(res.body(), nullptr, false);
        if (j.is_discarded() || !j.contains("NextShardIterator")) break;
        for (const auto& r : j["Records"]) {
          auto data = eventlake::auth::Base64Decode(r["Data"].get<std::string>());
          if (data && data->size() == 8) {
            int64_t sent;
            std::memcpy(&sent, data->data(), 8);
            rec.Add(static_cast<double>(now - sent) / 1e6, 1, 8);
          }
        }
        it = j["NextShardIterator"];
      }
    } catch (const std::exception& e) {
      rec.Error(e.what());
    }
  });
  Conn producer(o);
  const auto end = Clock::now() + std::chrono::seconds(o.seconds);
  while (Clock::now() < end) {
    int64_t now = Clock::now().time_since_epoch().count();
    std::string data(8, '\0');
    std::memcpy(data.data(), &now, 8);
    CallJson(producer, o, "PutRecord",
             {{"StreamName", o.stream}, {"Data", eventlake::auth::Base64Encode(data)}, {"PartitionKey", "e2e"},
              {"ExplicitHashKey", ehk}});
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  done = true;
  consumer.join();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string endpoint = "127.0.0.1:4566";
  CLI::App app{"Kinesis load driver"};
  app.add_option("--endpoint", endpoint, "HOST:PORT");
  app.add_option("--mode", o.mode, "put, get or e2e")->check(CLI::IsMember({"put", "get", "e2e"}));
  app.add_option("--service", o.service, "kinesis or firehose (put mode)")->check(CLI::IsMember({"kinesis", "firehose"}));
  app.add_option("--interval", o.interval_seconds, "firehose: buffering interval of the created stream");
  app.add_option("--stream", o.stream);
  app.add_option("--connections", o.connections);
  app.add_option("--seconds", o.seconds);
  app.add_option("--records", o.records, "records per PutRecords");
  app.add_option("--record-bytes", o.record_bytes);
  app.add_option("--rate", o.rate, "requests per second (put mode); 0 = as fast as possible");
  app.add_option("--shards", o.shards, "shards of the stream to create");
  app.add_option("--access-key", o.access_key);
  app.add_option("--secret", o.secret);
  app.add_flag("!--no-create", o.create, "use an existing stream");
  CLI11_PARSE(app, argc, argv);
  o.host = endpoint.substr(0, endpoint.rfind(':'));
  o.port = endpoint.substr(endpoint.rfind(':') + 1);

  try {
    if (o.create && o.service == "firehose") {
      Conn c(o);
      nlohmann::json dest = {{"RoleARN", "arn:aws:iam::000000000000:role/bench"},
                             {"BucketARN", "arn:aws:s3:::raw"},
                             {"Prefix", o.stream + "/"},
                             {"BufferingHints", {{"SizeInMBs", 128}, {"IntervalInSeconds", o.interval_seconds}}}};
      auto res = c.Call(Signed(o, "CreateDeliveryStream",
                               nlohmann::json({{"DeliveryStreamName", o.stream},
                                               {"ExtendedS3DestinationConfiguration", dest}}).dump()));
      if (res.result_int() != 200 && res.body().find("ResourceInUseException") == std::string::npos) {
        std::fprintf(stderr, "create delivery stream: %s\n", res.body().c_str());
        return 1;
      }
    } else if (o.create) {
      Conn c(o);
      auto res = c.Call(Signed(o, "CreateStream", nlohmann::json({{"StreamName", o.stream}, {"ShardCount", o.shards}}).dump()));
      if (res.result_int() != 200 && res.body().find("ResourceInUseException") == std::string::npos) {
        std::fprintf(stderr, "create stream: %s\n", res.body().c_str());
        return 1;
      }
      for (int i = 0; i < 200; ++i) {
        auto d = CallJson(c, o, "DescribeStreamSummary", {{"StreamName", o.stream}});
        if (d["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "set-up failed: %s\n", e.what());
    return 1;
  }

  Recorder rec;
  const auto t0 = Clock::now();
  if (o.mode == "put") RunPut(o, rec);
  if (o.mode == "get") RunGet(o, rec);
  if (o.mode == "e2e") RunEndToEnd(o, rec);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  nlohmann::json out = {{"mode", o.mode},
                        {"seconds", secs},
                        {"requests", rec.requests},
                        {"records", rec.records},
                        {"records_per_s", static_cast<double>(rec.records) / secs},
                        {"mb_per_s", static_cast<double>(rec.bytes) / secs / 1e6},
                        {"p50_ms", rec.Pct(0.50)},
                        {"p90_ms", rec.Pct(0.90)},
                        {"p99_ms", rec.Pct(0.99)},
                        {"max_ms", rec.Pct(1.0)},
                        {"errors", rec.errors}};
  if (!rec.first_error.empty()) out["first_error"] = rec.first_error;
  std::printf("%s\n", out.dump().c_str());
  return rec.errors > 0 && rec.requests == 0 ? 1 : 0;
}
