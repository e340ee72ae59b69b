// Small string helpers for wire parsing. All functions are pure and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eventlake {

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string AsciiLower(std::string_view s);
// Removes leading and trailing spaces and tabs.
std::string_view TrimWhitespace(std::string_view s);
bool StartsWith(std::string_view s, std::string_view prefix);
// Splits on every `sep`; empty pieces are kept.
std::vector<std::string_view> Split(std::string_view s, char sep);
// The pieces with `separator` between them.
std::string Join(const std::vector<std::string>& pieces, std::string_view separator);

// Decodes %XX escapes. Returns nullopt on a malformed escape. '+' is kept as is
// (AWS signing treats it literally); pass plus_is_space for form bodies.
std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space = false);
// Encodes every byte except the RFC 3986 unreserved characters (A-Z a-z 0-9 - _ . ~),
// and also '/' when keep_slash.
std::string UriEncode(std::string_view s, bool keep_slash);

std::string HexEncode(std::string_view bytes);
// Escapes a string for use inside XML text or attribute values. Bytes that are
// not well-formed UTF-8, and control characters XML forbids, become U+FFFD, so
// that echoing untrusted input never breaks the document.
std::string XmlEscape(std::string_view s);

}  // namespace eventlake
