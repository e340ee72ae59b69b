#include "common/http_message.h"

#include "common/strings.h"

namespace eventlake {

const std::string* HttpRequest::FindHeader(std::string_view name) const {
  for (const auto& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return &h.value;
  }
  return nullptr;
}

std::string_view HttpRequest::Header(std::string_view name, std::string_view fallback) const {
  const std::string* v = FindHeader(name);
  return v ? std::string_view(*v) : fallback;
}

std::string_view HttpRequest::path() const {
  std::string_view t(target);
  return t.substr(0, t.find('?'));
}

std::string_view HttpRequest::query() const {
  std::string_view t(target);
  size_t q = t.find('?');
  return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

void HttpResponse::SetHeader(std::string name, std::string value) {
  for (auto& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) {
      h.value = std::move(value);
      return;
    }
  }
  headers.push_back({std::move(name), std::move(value)});
}

const std::string* HttpResponse::FindHeader(std::string_view name) const {
  for (const auto& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return &h.value;
  }
  return nullptr;
}

}  // namespace eventlake
