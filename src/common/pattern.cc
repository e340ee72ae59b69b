#include "common/pattern.h"

#include <re2/re2.h>


namespace eventlake {

struct Pattern::Impl {
  explicit Impl(std::string_view regex, const RE2::Options& o) : re(re2::StringPiece(regex.data(), regex.size()), o) {}
  RE2 re;
};

Pattern::Pattern(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pattern::Pattern(Pattern&&) noexcept = default;
Pattern& Pattern::operator=(Pattern&&) noexcept = default;
Pattern::~Pattern() = default;

Result<Pattern> Pattern::Compile(std::string_view regex, bool ignore_case) {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_case_sensitive(!ignore_case);
  o.set_max_mem(8 << 20);
  auto impl = std::make_unique<Impl>(regex, o);
  if (!impl->re.ok()) return Status::InvalidArgument("not a valid regular expression: " + impl->re.error());
  return Pattern(std::move(impl));
}

Result<Pattern> Pattern::Glob(std::string_view glob) {
  std::string re;
  for (size_t i = 0; i < glob.size(); ++i) {
    const char c = glob[i];
    if (c == '*' && i + 1 < glob.size() && glob[i + 1] == '*') {
      re += ".*";
      ++i;
    } else if (c == '*') {
      re += "[^/]*";
    } else if (c == '?') {
      re += "[^/]";
    } else {
      re += RE2::QuoteMeta(re2::StringPiece(&c, 1));
    }
  }
  return Compile(re);
}

std::string Pattern::Quote(std::string_view text) { return RE2::QuoteMeta(re2::StringPiece(text.data(), text.size())); }

bool Pattern::FullMatch(std::string_view text) const {
  return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), impl_->re);
}

}  // namespace eventlake
