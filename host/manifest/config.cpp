// config.cpp: validation of tenant config and action params against field specs, and masking.
#include "manifest/config.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/scheme.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace tributary::host {

namespace bj = boost::json;

namespace {

constexpr std::string_view mask_dots = "••••";
constexpr std::size_t mask_min_chars = 12;
constexpr std::size_t mask_tail_chars = 4;

std::string_view trim(std::string_view s) {
    constexpr std::string_view space = " \t\r\n\f\v";
    auto first = s.find_first_not_of(space);
    if (first == std::string_view::npos) {
        return {};
    }
    auto last = s.find_last_not_of(space);
    return s.substr(first, last - first + 1);
}

bool is_utf8_continuation(char c) {
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::size_t utf8_length(std::string_view s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return !is_utf8_continuation(c); }));
}

// The last n characters (not bytes) of a UTF-8 string.
std::string_view utf8_tail(std::string_view s, std::size_t n) {
    std::size_t pos = s.size();
    while (n > 0 && pos > 0) {
        --pos;
        if (!is_utf8_continuation(s[pos])) {
            --n;
        }
    }
    return s.substr(pos);
}

const field_spec* find_spec(const std::vector<field_spec>& fields, std::string_view key) {
    auto it = std::find_if(fields.begin(), fields.end(),
                           [&](const field_spec& f) { return f.key == key; });
    return it == fields.end() ? nullptr : &*it;
}

// The n digits at pos as a number, or -1 when any of them is not a digit.
int digits_at(std::string_view s, std::size_t pos, std::size_t n) {
    if (pos + n > s.size()) {
        return -1;
    }
    int out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        out = out * 10 + (s[i] - '0');
    }
    return out;
}

int days_in_month(int year, int month) {
    constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

// "THH:MM:SS", an optional fraction of 1 to 9 digits, then "Z".
bool is_iso_time(std::string_view t) {
    if (t.size() < 10 || t[0] != 'T' || t[3] != ':' || t[6] != ':' || t.back() != 'Z') {
        return false;
    }
    int hour = digits_at(t, 1, 2);
    int minute = digits_at(t, 4, 2);
    int second = digits_at(t, 7, 2);
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
        return false;
    }
    auto fraction = t.substr(9, t.size() - 10);
    if (fraction.empty()) {
        return true;
    }
    return fraction.size() >= 2 && fraction.size() <= 10 && fraction[0] == '.' &&
           digits_at(fraction, 1, fraction.size() - 1) >= 0;
}

bool is_iso_date(std::string_view s) {
    if (s.size() < 10 || s[4] != '-' || s[7] != '-') {
        return false;
    }
    int year = digits_at(s, 0, 4);
    int month = digits_at(s, 5, 2);
    int day = digits_at(s, 8, 2);
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) {
        return false;
    }
    return s.size() == 10 || is_iso_time(s.substr(10));
}

bool is_http_url(std::string_view s) {
    auto parsed = boost::urls::parse_uri(s);
    if (!parsed) {
        return false;
    }
    auto scheme = parsed->scheme_id();
    if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) {
        return false;
    }
    return parsed->has_authority() && !parsed->encoded_host().empty();
}

std::optional<bj::value> check_integer(const bj::value& value, std::string& error) {
    if (value.is_int64()) {
        return value;
    }
    if (value.is_uint64() && value.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        return bj::value(static_cast<std::int64_t>(value.get_uint64()));
    }
    // JSON does not tell 10 from 10.0; a whole number within the exact range of a double is one.
    if (value.is_double()) {
        double d = value.get_double();
        if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) <= 9007199254740992.0) {
            return bj::value(static_cast<std::int64_t>(d));
        }
    }
    error = "expected an integer";
    return std::nullopt;
}

std::string text_expectation(const std::string& type) {
    if (type == "url") {
        return "expected an http:// or https:// URL with a host";
    }
    if (type == "date") {
        return "expected a date like 2024-03-05 or 2024-03-05T09:12:44Z";
    }
    return "expected a string";
}

bool matches_pattern(const field_spec& field, std::string_view text, std::string& error) {
    auto regex = field.compiled_pattern;
    if (!regex) {
        try {
            regex = compile_pattern(*field.pattern);
        } catch (const std::regex_error&) {
            error = "has an invalid pattern";
            return false;
        }
    }
    if (!std::regex_match(text.begin(), text.end(), *regex)) {
        error = "must match " + *field.pattern;
        return false;
    }
    return true;
}

// Strings, URLs and dates: a JSON string, trimmed, bounded, of the right shape.
std::optional<bj::value> check_text(const field_spec& field, const bj::value& value,
                                    std::string& error) {
    if (!value.is_string()) {
        error = text_expectation(field.type);
        return std::nullopt;
    }
    auto text = trim(value.get_string());
    if (utf8_length(text) > max_value_chars) {
        error = "must be at most " + std::to_string(max_value_chars) + " characters";
        return std::nullopt;
    }

    bool shaped = field.type == "string" || (field.type == "url" && is_http_url(text)) ||
                  (field.type == "date" && is_iso_date(text));
    if (!shaped) {
        error = text_expectation(field.type);
        return std::nullopt;
    }
    if (field.pattern && !matches_pattern(field, text, error)) {
        return std::nullopt;
    }
    return bj::value(bj::string(text));
}

bool is_absent(const bj::value* value) {
    if (value == nullptr || value->is_null()) {
        return true;
    }
    return value->is_string() && trim(value->get_string()).empty();
}

// The value a field gets: from input first, then (for a PATCH) from the previous config.
const bj::value* pick_value(const std::string& key, const bj::object& input,
                            const bj::object* previous) {
    if (const auto* v = input.if_contains(key)) {
        return v;
    }
    if (previous != nullptr) {
        return previous->if_contains(key);
    }
    return nullptr;
}

void apply_field(const field_spec& field, const bj::value* raw, config_result& result) {
    if (is_absent(raw)) {
        if (field.default_value) {
            result.config[field.key] = *field.default_value;
        } else if (field.required) {
            result.errors.push_back({field.key, "is required"});
        }
        return;
    }

    std::string error;
    auto checked = check_field_value(field, *raw, error);
    if (!checked) {
        result.errors.push_back({field.key, std::move(error)});
        return;
    }
    result.config[field.key] = std::move(*checked);
}

bj::value mask_value(const bj::value& value) {
    if (!value.is_string()) {
        return bj::string(mask_dots);
    }
    std::string_view text = value.get_string();
    if (utf8_length(text) < mask_min_chars) {
        return bj::string(mask_dots);
    }
    std::string out(mask_dots);
    out += utf8_tail(text, mask_tail_chars);
    return bj::string(out);
}

}  // namespace

bool is_field_type(std::string_view type) {
    return std::find(std::begin(field_types), std::end(field_types), type) != std::end(field_types);
}

std::shared_ptr<const std::regex> compile_pattern(const std::string& pattern) {
    return std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
}

std::optional<bj::value> check_field_value(const field_spec& field, const bj::value& value,
                                           std::string& error) {
    if (field.type == "integer") {
        return check_integer(value, error);
    }
    if (field.type == "boolean") {
        if (value.is_bool()) {
            return value;
        }
        error = "expected true or false";
        return std::nullopt;
    }
    if (!is_field_type(field.type)) {
        error = "has an unknown type";
        return std::nullopt;
    }
    return check_text(field, value, error);
}

config_result validate_config(const std::vector<field_spec>& fields, const bj::object& input,
                              const bj::object* previous) {
    config_result result;
    for (const auto& entry : input) {
        if (find_spec(fields, entry.key()) == nullptr) {
            result.errors.push_back({std::string(entry.key()), "unknown field"});
        }
    }
    for (const auto& field : fields) {
        apply_field(field, pick_value(field.key, input, previous), result);
    }

    // A half-validated config must not be stored by mistake.
    if (!result.ok()) {
        result.config.clear();
    }
    return result;
}

bj::object mask_secrets(const std::vector<field_spec>& fields, const bj::object& config) {
    bj::object out;
    for (const auto& entry : config) {
        const auto* field = find_spec(fields, entry.key());
        if (field == nullptr) {
            out[entry.key()] = mask_dots;
        } else {
            out[entry.key()] = field->secret ? mask_value(entry.value()) : entry.value();
        }
    }
    return out;
}

}  // namespace tributary::host
