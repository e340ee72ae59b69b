// Untrusted bytes from a socket: the HTTP parser with the server's limits, then
// the whole front door (protocol detection, SigV4 verification, gzip, form and
// S3 route decoding, error rendering) against a real key store.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "api/front_door.h"
#include "api/services.h"
#include "fuzz_world.h"
#include "http/request_parser.h"

namespace {

using namespace eventlake;

struct World : fuzz::FrontDoorWorld {
  // The date of the AWS SigV4 test suite, so seeds from it verify.
  World() : FrontDoorWorld("http", {}, Clock::TimePoint(std::chrono::seconds(1440938160)), true) {
    for (auto& svc : api::AwsJsonServices()) door->AddJsonService(std::move(svc));
    door->SetReady({"fuzz"});
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto req = http::ParseRequest(bytes, 64 * 1024, 1 << 20);
  if (!req.ok()) {
    HttpRequest empty;
    (void)world->door->Reject(empty, 400, req.status().message());
    return 0;
  }
  (void)world->door->BodyLimit(*req);
  bool answered = false;
  world->door->Handle(std::move(*req), [&](HttpResponse&& r) {
    answered = true;
    if (r.status < 100 || r.status > 599) std::abort();
  });
  if (!answered) std::abort();  // every request must be answered
  return 0;
}
