// time.cpp: UTC time formatting and parsing without locale or time zone state.
#include "util/time.hpp"

#include <chrono>
#include <cstdio>

namespace tributary::host {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    auto yoe = static_cast<unsigned>(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
    z += 719468;
    std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    auto doe = static_cast<unsigned>(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    std::int64_t yy = static_cast<std::int64_t>(yoe) + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<int>(yy + (m <= 2 ? 1 : 0));
}

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
    if (at + n > s.size()) {
        return false;
    }
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

unsigned days_in_month(int y, unsigned m) {
    static constexpr unsigned table[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : table[m - 1];
}

}  // namespace

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_time_ms(std::int64_t ms) {
    std::int64_t days = ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000;
    std::int64_t rest = ms - days * 86400000;
    int y = 0;
    unsigned m = 0;
    unsigned d = 0;
    civil_from_days(days, y, m, d);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d,
                  static_cast<int>(rest / 3600000), static_cast<int>(rest / 60000 % 60),
                  static_cast<int>(rest / 1000 % 60), static_cast<int>(rest % 1000));
    return buf;
}

std::string format_day(std::int64_t ms) { return format_time_ms(ms).substr(0, 10); }

std::optional<std::int64_t> parse_time_ms(std::string_view s) {
    int y = 0;
    int mo = 0;
    int d = 0;
    if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) ||
        s[7] != '-' || !digits(s, 8, 2, d)) {
        return std::nullopt;
    }
    if (mo < 1 || mo > 12 || d < 1 || static_cast<unsigned>(d) > days_in_month(y, mo)) {
        return std::nullopt;
    }

    int hh = 0;
    int mi = 0;
    int ss = 0;
    int frac_ms = 0;
    std::size_t at = 10;
    if (at < s.size() && (s[at] == 'T' || s[at] == 't' || s[at] == ' ')) {
        if (!digits(s, at + 1, 2, hh) || at + 3 >= s.size() || s[at + 3] != ':' ||
            !digits(s, at + 4, 2, mi)) {
            return std::nullopt;
        }
        at += 6;
        if (at < s.size() && s[at] == ':') {
            if (!digits(s, at + 1, 2, ss)) {
                return std::nullopt;
            }
            at += 3;
            if (at < s.size() && (s[at] == '.' || s[at] == ',')) {
                ++at;
                int scale = 100;
                std::size_t start = at;
                while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
                    frac_ms += (s[at] - '0') * scale;
                    scale /= 10;
                    ++at;
                }
                if (at == start) {
                    return std::nullopt;
                }
            }
        }
        if (hh > 23 || mi > 59 || ss > 60) {
            return std::nullopt;
        }
    }

    int offset_min = 0;
    if (at < s.size()) {
        if ((s[at] == 'Z' || s[at] == 'z') && at + 1 == s.size()) {
            at += 1;
        } else if (s[at] == '+' || s[at] == '-') {
            int oh = 0;
            int om = 0;
            bool colon = at + 3 < s.size() && s[at + 3] == ':';
            if (!digits(s, at + 1, 2, oh) || !digits(s, at + (colon ? 4 : 3), 2, om) || oh > 23 ||
                om > 59) {
                return std::nullopt;
            }
            offset_min = (oh * 60 + om) * (s[at] == '-' ? -1 : 1);
            at += colon ? 6 : 5;
        }
        if (at != s.size()) {
            return std::nullopt;
        }
    }

    std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    std::int64_t secs = days * 86400 + hh * 3600 + mi * 60 + ss - offset_min * 60;
    return secs * 1000 + frac_ms;
}

}  // namespace tributary::host
