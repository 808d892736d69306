// time.hpp: ISO-8601 and HTTP-date parsing and formatting, in UTC milliseconds since the epoch.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace tributary::time {

// A point in time read from text, in milliseconds since the Unix epoch (UTC).
struct iso_instant {
    std::int64_t ms = 0;
    bool date_only = false;  // the text was a bare date, read as midnight UTC
};

namespace chr = std::chrono;

namespace detail {

inline constexpr std::int64_t ms_per_minute = 60'000;

// A cursor over text being parsed; every read either consumes what it matched or fails.
class scanner {
public:
    explicit scanner(std::string_view text) : text_(text) {}

    bool done() const { return pos_ == text_.size(); }

    bool accept(char c) {
        if (done() || text_[pos_] != c) {
            return false;
        }
        ++pos_;
        return true;
    }

    // Exactly n decimal digits.
    std::optional<int> digits(std::size_t n) {
        if (text_.size() - pos_ < n) {
            return std::nullopt;
        }
        int out = 0;
        for (std::size_t i = 0; i < n; ++i) {
            char c = text_[pos_ + i];
            if (c < '0' || c > '9') {
                return std::nullopt;
            }
            out = out * 10 + (c - '0');
        }
        pos_ += n;
        return out;
    }

    // A fraction of a second after the separator: 1 to 9 digits, truncated to milliseconds.
    std::optional<int> fraction_ms() {
        int ms = 0;
        std::size_t count = 0;
        while (!done() && text_[pos_] >= '0' && text_[pos_] <= '9') {
            if (count < 3) {
                ms = ms * 10 + (text_[pos_] - '0');
            }
            ++count;
            ++pos_;
        }
        if (count == 0 || count > 9) {
            return std::nullopt;
        }
        for (; count < 3; ++count) {
            ms *= 10;
        }
        return ms;
    }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

struct civil_time {
    int year = 0;
    int month = 0;
    int day = 0;
    int hour = 0;
    int minute = 0;
    int second = 0;
    int ms = 0;
};

// Milliseconds since the epoch; nullopt for an impossible date or time of day.
inline std::optional<std::int64_t> to_epoch_ms(const civil_time& t) {
    chr::year_month_day ymd{chr::year{t.year}, chr::month{static_cast<unsigned>(t.month)},
                            chr::day{static_cast<unsigned>(t.day)}};
    if (t.month < 1 || t.day < 1 || !ymd.ok() || t.hour > 23 || t.minute > 59 || t.second > 59) {
        return std::nullopt;
    }
    std::int64_t days = chr::sys_days{ymd}.time_since_epoch().count();
    return ((days * 24 + t.hour) * 60 + t.minute) * ms_per_minute + t.second * 1000 + t.ms;
}

// The UTC offset in minutes: `Z`, `+HH:MM`, `+HHMM`, `+HH`, or nothing for UTC.
inline std::optional<int> read_offset(scanner& in) {
    if (in.done() || in.accept('Z') || in.accept('z')) {
        return 0;
    }
    int sign = in.accept('+') ? 1 : (in.accept('-') ? -1 : 0);
    auto hours = sign == 0 ? std::nullopt : in.digits(2);
    if (!hours || *hours > 23) {
        return std::nullopt;
    }
    int minutes = 0;
    if (!in.done()) {
        in.accept(':');
        auto m = in.digits(2);
        if (!m || *m > 59) {
            return std::nullopt;
        }
        minutes = *m;
    }
    return sign * (*hours * 60 + minutes);
}

// HH:MM[:SS[.fraction]] after the date's separator.
inline bool read_time_of_day(scanner& in, civil_time& t) {
    auto hour = in.digits(2);
    auto minute = in.accept(':') ? in.digits(2) : std::nullopt;
    if (!hour || !minute) {
        return false;
    }
    t.hour = *hour;
    t.minute = *minute;
    if (!in.accept(':')) {
        return true;
    }
    auto second = in.digits(2);
    if (!second) {
        return false;
    }
    t.second = *second;
    if (in.accept('.') || in.accept(',')) {
        auto ms = in.fraction_ms();
        if (!ms) {
            return false;
        }
        t.ms = *ms;
    }
    return true;
}

inline bool within_four_digit_years(std::int64_t ms) {
    static const std::int64_t first = *to_epoch_ms({0, 1, 1});
    static const std::int64_t end = *to_epoch_ms({9999, 12, 31, 23, 59, 59, 999});
    return ms >= first && ms <= end;
}

inline constexpr std::array<std::string_view, 12> month_names = {
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};

inline bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
inline bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// 1 to 12 for a three-letter English month name in any case, 0 otherwise.
inline int month_number(std::string_view word) {
    if (word.size() != 3) {
        return 0;
    }
    std::string lower(word);
    for (char& c : lower) {
        c = static_cast<char>(c | 0x20);
    }
    for (std::size_t i = 0; i < month_names.size(); ++i) {
        if (month_names[i] == lower) {
            return static_cast<int>(i) + 1;
        }
    }
    return 0;
}

inline int to_int(std::string_view digits) {
    int out = 0;
    for (char c : digits) {
        out = out * 10 + (c - '0');
    }
    return out;
}

// One token of an HTTP-date, put where its shape says it belongs.
inline bool place_http_date_token(std::string_view token, bool first, civil_time& t,
                                  bool& has_time) {
    bool alpha = is_alpha(token.front());
    if (alpha && (first || token == "GMT")) {
        return true;  // the day name, or the zone, which is always GMT
    }
    if (alpha) {
        t.month = month_number(token);
        return t.month != 0;
    }
    if (token.find(':') != std::string_view::npos) {
        scanner in(token);
        has_time = read_time_of_day(in, t) && in.done();
        return has_time;
    }
    for (char c : token) {
        if (!is_digit(c)) {
            return false;
        }
    }
    if (token.size() == 4) {
        t.year = to_int(token);
    } else if (token.size() <= 2 && t.day == 0) {
        t.day = to_int(token);
    } else if (token.size() == 2) {
        int yy = to_int(token);  // RFC 850's two-digit year
        t.year = yy < 70 ? 2000 + yy : 1900 + yy;
    } else {
        return false;
    }
    return true;
}

}  // namespace detail

// Reads `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS[.fraction]]` followed by `Z`, `+HH:MM`, `+HHMM`,
// `+HH` (or `-`), or by nothing, which is read as UTC. Digits past milliseconds are truncated.
// nullopt when the text is not such a time or names an impossible one (2023-02-29, 24:00).
inline std::optional<iso_instant> parse_iso8601(std::string_view text) {
    detail::scanner in(text);
    detail::civil_time t;
    auto year = in.digits(4);
    auto month = in.accept('-') ? in.digits(2) : std::nullopt;
    auto day = in.accept('-') ? in.digits(2) : std::nullopt;
    if (!year || !month || !day) {
        return std::nullopt;
    }
    t.year = *year;
    t.month = *month;
    t.day = *day;

    bool date_only = in.done();
    if (!date_only && !((in.accept('T') || in.accept('t') || in.accept(' ')) &&
                        detail::read_time_of_day(in, t))) {
        return std::nullopt;
    }
    auto offset = date_only ? std::optional<int>(0) : detail::read_offset(in);
    auto local = detail::to_epoch_ms(t);
    if (!offset || !in.done() || !local) {
        return std::nullopt;
    }

    std::int64_t ms = *local - *offset * detail::ms_per_minute;
    if (!detail::within_four_digit_years(ms)) {
        return std::nullopt;
    }
    return iso_instant{ms, date_only};
}

// `YYYY-MM-DDTHH:MM:SS.sssZ` for a time from year 0000 to 9999.
inline std::string format_iso8601(std::int64_t ms) {
    chr::sys_time<chr::milliseconds> at{chr::milliseconds{ms}};
    auto day = chr::floor<chr::days>(at);
    chr::year_month_day ymd{day};
    chr::hh_mm_ss<chr::milliseconds> time{at - day};

    char out[32];
    std::snprintf(
        out, sizeof(out), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
        static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
        static_cast<int>(time.seconds().count()), static_cast<int>(time.subseconds().count()));
    return out;
}

// The canonical UTC form of an ISO-8601 time; nullopt when parse_iso8601 refuses it.
inline std::optional<std::string> normalize_iso8601(std::string_view text) {
    auto at = parse_iso8601(text);
    if (!at) {
        return std::nullopt;
    }
    return format_iso8601(at->ms);
}

// Reads an HTTP-date (RFC 9110): IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, and the obsolete
// RFC 850 and asctime forms. Milliseconds since the Unix epoch; nullopt when unreadable.
inline std::optional<std::int64_t> parse_http_date(std::string_view text) {
    detail::civil_time t;
    bool has_time = false;
    bool first = true;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find_first_of(" ,-", pos);
        end = end == std::string_view::npos ? text.size() : end;
        if (end > pos) {
            if (!detail::place_http_date_token(text.substr(pos, end - pos), first, t, has_time)) {
                return std::nullopt;
            }
            first = false;
        }
        pos = end + 1;
    }
    if (!has_time || t.year == 0 || t.month == 0 || t.day == 0) {
        return std::nullopt;
    }
    return detail::to_epoch_ms(t);
}

}  // namespace tributary::time
