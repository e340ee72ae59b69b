// Regular expressions from users (Glue's table-name Expression, SHOW TABLES
// patterns, crawler exclusion globs), matched in linear time whatever the
// pattern: RE2, not a backtracking engine, so no pattern can hang a request.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace eventlake {

class Pattern {
 public:
  // InvalidArgument when `regex` is not a valid expression (RE2 syntax, close to ECMAScript's).
  static Result<Pattern> Compile(std::string_view regex, bool ignore_case = false);
  // `text` as an expression that matches it literally.
  static std::string Quote(std::string_view text);
  // A glob: * any run within a path segment, ** any run, ? one character.
  static Result<Pattern> Glob(std::string_view glob);
  Pattern(Pattern&&) noexcept;
  Pattern& operator=(Pattern&&) noexcept;
  ~Pattern();
  // Whether the whole of `text` matches.
  bool FullMatch(std::string_view text) const;

 private:
  struct Impl;
  explicit Pattern(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eventlake
