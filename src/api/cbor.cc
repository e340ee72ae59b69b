#include "api/cbor.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>

#include "auth/crypto.h"

namespace eventlake::api {
namespace {

using nlohmann::json;

constexpr int kMaxDepth = 64;
// Stands for the key of a value under tag 1, which is a timestamp wherever it is.
constexpr std::string_view kEpochTag = "<tag 1>";

// Decodes RFC 8949 CBOR into the JSON the operations read: byte strings as
// base64, tag 1 (and any number under a timestamp member) as epoch seconds
// from milliseconds. Other tags are read through. Never trusts a length
// further than the bytes that are there.
class Decoder {
 public:
  Decoder(std::string_view in, const CborShape& shape) : in_(in), shape_(shape) {}

  bool Value(json* out, std::string_view key, int depth) {
    // A JSON node costs far more than a CBOR byte: bound the nodes, not only the bytes.
    if (depth > kMaxDepth || pos_ >= in_.size() || ++items_ > kMaxItems) return false;
    const auto initial = static_cast<uint8_t>(in_[pos_++]);
    const uint8_t major = initial >> 5, info = initial & 31;
    if (major == 7) return Simple(info, out, key);
    uint64_t n = 0;
    bool indefinite = false;
    if (info == 31) {
      if (major < 2 || major == 6) return false;
      indefinite = true;
    } else if (!Argument(info, &n)) {
      return false;
    }
    switch (major) {
      case 0: *out = n; return Timestamp(out, key);
      case 1:
        if (n > static_cast<uint64_t>(INT64_MAX)) return false;
        *out = -1 - static_cast<int64_t>(n);
        return Timestamp(out, key);
      case 2:
      case 3: {
        std::string bytes;
        if (!Chunks(major, indefinite, n, &bytes)) return false;
        *out = major == 2 ? auth::Base64Encode(bytes) : bytes;
        return true;
      }
      case 4: {
        *out = json::array();
        for (uint64_t i = 0; indefinite || i < n; ++i) {
          if (indefinite && Break()) break;
          json e;
          if (!Value(&e, key, depth + 1)) return false;
          out->push_back(std::move(e));
        }
        return true;
      }
      case 5: {
        *out = json::object();
        for (uint64_t i = 0; indefinite || i < n; ++i) {
          if (indefinite && Break()) break;
          json k;
          if (!Value(&k, "", depth + 1) || !k.is_string()) return false;
          json v;
          const std::string name = k.get<std::string>();
          if (!Value(&v, name, depth + 1)) return false;
          (*out)[name] = std::move(v);
        }
        return true;
      }
      case 6: {
        json inner;
        if (!Value(&inner, n == 1 ? kEpochTag : key, depth + 1)) return false;
        *out = std::move(inner);
        return true;
      }
    }
    return false;
  }

  bool AtEnd() const { return pos_ == in_.size(); }

 private:
  // Numbers under a timestamp member (or tag 1) are milliseconds.
  bool Timestamp(json* v, std::string_view key) {
    if (key == kEpochTag || shape_.timestamps.count(key)) *v = v->get<double>() / 1000.0;
    return true;
  }

  bool Simple(uint8_t info, json* out, std::string_view key) {
    switch (info) {
      case 20: *out = false; return true;
      case 21: *out = true; return true;
      case 22:
      case 23: *out = nullptr; return true;
      case 25: {  // half float
        uint64_t h;
        if (!Bytes(2, &h)) return false;
        int e = (h >> 10) & 0x1f, m = h & 0x3ff;
        double v = e == 0 ? std::ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : std::ldexp(m + 1024, e - 25);
        *out = (h & 0x8000) ? -v : v;
        return Timestamp(out, key);
      }
      case 26: {
        uint64_t bits;
        if (!Bytes(4, &bits)) return false;
        float f;
        uint32_t b32 = static_cast<uint32_t>(bits);
        std::memcpy(&f, &b32, 4);
        *out = static_cast<double>(f);
        return Timestamp(out, key);
      }
      case 27: {
        uint64_t bits;
        if (!Bytes(8, &bits)) return false;
        double d;
        std::memcpy(&d, &bits, 8);
        *out = d;
        return Timestamp(out, key);
      }
      default: return false;
    }
  }

  bool Argument(uint8_t info, uint64_t* n) {
    if (info < 24) {
      *n = info;
      return true;
    }
    if (info > 27) return false;
    return Bytes(size_t{1} << (info - 24), n);
  }

  bool Bytes(size_t count, uint64_t* n) {
    if (in_.size() - pos_ < count) return false;
    *n = 0;
    for (size_t i = 0; i < count; ++i) *n = (*n << 8) | static_cast<uint8_t>(in_[pos_++]);
    return true;
  }

  bool Chunks(uint8_t major, bool indefinite, uint64_t n, std::string* out) {
    if (!indefinite) {
      if (in_.size() - pos_ < n) return false;
      out->append(in_.substr(pos_, n));
      pos_ += n;
      return true;
    }
    for (;;) {
      if (Break()) return true;
      if (pos_ >= in_.size()) return false;
      const auto initial = static_cast<uint8_t>(in_[pos_++]);
      uint64_t len;
      if ((initial >> 5) != major || !Argument(initial & 31, &len) || in_.size() - pos_ < len) return false;
      out->append(in_.substr(pos_, len));
      pos_ += len;
    }
  }

  bool Break() {
    if (pos_ < in_.size() && static_cast<uint8_t>(in_[pos_]) == 0xff) {
      ++pos_;
      return true;
    }
    return false;
  }

  static constexpr size_t kMaxItems = 200'000;  // a full PutRecords takes about 2,000

  std::string_view in_;
  const CborShape& shape_;
  size_t pos_ = 0;
  size_t items_ = 0;
};

void Head(std::string& out, uint8_t major, uint64_t n) {
  const uint8_t m = static_cast<uint8_t>(major << 5);
  if (n < 24) {
    out.push_back(static_cast<char>(m | n));
  } else if (n <= 0xff) {
    out.push_back(static_cast<char>(m | 24));
    out.push_back(static_cast<char>(n));
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(m | 25));
    for (int i = 1; i >= 0; --i) out.push_back(static_cast<char>(n >> (8 * i)));
  } else if (n <= 0xffffffffULL) {
    out.push_back(static_cast<char>(m | 26));
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>(n >> (8 * i)));
  } else {
    out.push_back(static_cast<char>(m | 27));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(n >> (8 * i)));
  }
}

void Integer(std::string& out, int64_t v) {
  if (v >= 0) {
    Head(out, 0, static_cast<uint64_t>(v));
  } else {
    Head(out, 1, static_cast<uint64_t>(-(v + 1)));
  }
}

Status Encode(const json& v, const CborShape& shape, std::string_view key, std::string& out) {
  switch (v.type()) {
    case json::value_t::object:
      Head(out, 5, v.size());
      for (auto it = v.begin(); it != v.end(); ++it) {
        Head(out, 3, it.key().size());
        out += it.key();
        EL_RETURN_IF_ERROR(Encode(it.value(), shape, it.key(), out));
      }
      return Status::Ok();
    case json::value_t::array:
      Head(out, 4, v.size());
      for (const auto& e : v) EL_RETURN_IF_ERROR(Encode(e, shape, key, out));
      return Status::Ok();
    case json::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      if (shape.blobs.count(key)) {
        auto bytes = auth::Base64Decode(s);
        if (!bytes) return Status::Internal("blob member " + std::string(key) + " is not base64");
        Head(out, 2, bytes->size());
        out += *bytes;
      } else {
        Head(out, 3, s.size());
        out += s;
      }
      return Status::Ok();
    }
    case json::value_t::boolean: out.push_back(static_cast<char>(v.get<bool>() ? 0xf5 : 0xf4)); return Status::Ok();
    case json::value_t::null: out.push_back(static_cast<char>(0xf6)); return Status::Ok();
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      if (shape.timestamps.count(key)) {
        out.push_back(static_cast<char>(0xc1));  // tag 1: epoch time, here in milliseconds
        Integer(out, std::llround(v.get<double>() * 1000.0));
      } else if (v.is_number_float()) {
        double d = v.get<double>();
        uint64_t bits;
        std::memcpy(&bits, &d, 8);
        out.push_back(static_cast<char>(0xfb));
        for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(bits >> (8 * i)));
      } else if (v.is_number_unsigned()) {
        Head(out, 0, v.get<uint64_t>());
      } else {
        Integer(out, v.get<int64_t>());
      }
      return Status::Ok();
    default: return Status::Internal("value that CBOR cannot carry");
  }
}

}  // namespace

Result<std::string> CborRequestToJson(std::string_view cbor, const CborShape& shape) {
  if (cbor.empty()) return std::string("{}");
  json v;
  Decoder d(cbor, shape);
  if (!d.Value(&v, "", 0) || !d.AtEnd() || !v.is_object()) {
    return Status::InvalidArgument("Request body is not a valid CBOR map").WithType("SerializationException");
  }
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::string> JsonToCbor(std::string_view json_text, const CborShape& shape) {
  json v = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded()) return Status::Internal("answer is not JSON");
  std::string out;
  out.reserve(json_text.size());
  EL_RETURN_IF_ERROR(Encode(v, shape, "", out));
  return out;
}

}  // namespace eventlake::api
