// iso_time.hpp: ISO-8601 and HTTP-date parsing and the one UTC time format records carry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tributary::satismeter {

// A point in time read from text, in milliseconds since the Unix epoch (UTC).
struct iso_instant {
    std::int64_t ms = 0;
    bool date_only = false;  // the text was a bare date, read as midnight UTC
};

// Reads `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS[.fraction]]` followed by `Z`, `+HH:MM`, `+HHMM`,
// `+HH` (or `-`), or by nothing, which is read as UTC. Digits past milliseconds are truncated.
// nullopt when the text is not such a time or names an impossible one (2023-02-29, 24:00).
std::optional<iso_instant> parse_iso8601(std::string_view text);

// `YYYY-MM-DDTHH:MM:SS.sssZ` for a time from year 0000 to 9999.
std::string format_iso8601(std::int64_t ms);

// The canonical UTC form of an ISO-8601 time; nullopt when parse_iso8601 refuses it.
std::optional<std::string> normalize_iso8601(std::string_view text);

// Reads an HTTP-date (RFC 9110): IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, and the obsolete
// RFC 850 and asctime forms. Milliseconds since the Unix epoch; nullopt when unreadable.
std::optional<std::int64_t> parse_http_date(std::string_view text);

}  // namespace tributary::satismeter
