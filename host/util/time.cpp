// time.cpp: the host's clock, over the SDK's ISO-8601 parsing and formatting.
#include "util/time.hpp"

#include <tributary/time.hpp>

#include <chrono>

namespace tributary::host {

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_time_ms(std::int64_t ms) {
    return time::format_iso8601(ms);
}

std::string format_day(std::int64_t ms) {
    return format_time_ms(ms).substr(0, 10);
}

std::optional<std::int64_t> parse_time_ms(std::string_view iso) {
    auto at = time::parse_iso8601(iso);
    if (!at) {
        return std::nullopt;
    }
    return at->ms;
}

}  // namespace tributary::host
