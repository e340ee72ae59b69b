// Process-wide logging set-up (spdlog). Call once from main before threads start.
#pragma once

#include <string_view>

#include "common/status.h"

namespace eventlake {

// Logs to stderr with UTC timestamps: "2026-11-25T15:00:00.123Z info  message".
// `level` is one of trace, debug, info, warn, error, off.
Status SetUpLogging(std::string_view level);

}  // namespace eventlake
