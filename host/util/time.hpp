// time.hpp: UTC timestamps as milliseconds since the epoch and their ISO-8601 form.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tributary::host {

std::int64_t now_ms();

// 2024-03-05T09:12:44.120Z
std::string format_time_ms(std::int64_t ms);

// 2024-03-05
std::string format_day(std::int64_t ms);

// As tributary::time::parse_iso8601 reads it; nullopt when it is not such a time.
std::optional<std::int64_t> parse_time_ms(std::string_view iso);

}  // namespace tributary::host
