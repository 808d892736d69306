// dataset.cpp: generates SatisMeter responses from (seed, index) and writes them as JSON text.
#include "dataset.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>

namespace tributary::emulator {

namespace {

constexpr std::int64_t day_ms = 86'400'000;

// Independent random streams, so that times can be computed without the other fields.
constexpr std::uint64_t time_stream = 0x7469'6d65;
constexpr std::uint64_t field_stream = 0x6669'656c;
constexpr std::uint64_t user_stream = 0x7573'6572;

std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

std::uint64_t hash(std::uint64_t seed, std::uint64_t stream, std::uint64_t i) {
    return mix(mix(seed ^ stream) ^ mix(i));
}

// splitmix64 seeded per response.
class rng {
public:
    rng(std::uint64_t seed, std::uint64_t stream, std::uint64_t i)
        : state_(hash(seed, stream, i)) {}

    std::uint64_t next() {
        state_ += 0x9e3779b97f4a7c15ULL;
        return mix(state_);
    }
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
    bool chance(int percent) { return below(100) < static_cast<std::size_t>(percent); }

private:
    std::uint64_t state_;
};

std::string hex(std::uint64_t v, int digits) {
    static constexpr char digit[] = "0123456789abcdef";
    std::string out(static_cast<std::size_t>(digits), '0');
    for (int i = digits - 1; i >= 0 && v != 0; --i, v >>= 4) {
        out[static_cast<std::size_t>(i)] = digit[v & 0xf];
    }
    return out;
}

// A 24-hex id, stable for (seed, stream, key).
std::string hex_id(std::uint64_t seed, std::uint64_t stream, std::uint64_t key) {
    auto bits = hash(seed, stream, key);
    return hex(bits, 16) + hex(mix(bits) >> 32, 8);
}

// A typical NPS spread: many promoters, fewer passives, a tail of detractors.
int draw_rating(rng& r) {
    static constexpr std::array<int, 11> weights{3, 2, 2, 3, 3, 5, 6, 10, 14, 22, 30};
    auto pick = static_cast<int>(r.below(100));
    for (int rating = 0; rating <= 10; ++rating) {
        pick -= weights[static_cast<std::size_t>(rating)];
        if (pick < 0) {
            return rating;
        }
    }
    return 10;
}

const char* category_of(int rating) {
    return rating >= 9 ? "promoter" : rating >= 7 ? "passive" : "detractor";
}

const char* score_of(int rating) {
    return rating >= 9 ? "100" : rating >= 7 ? "0" : "-100";
}

constexpr std::array<const char*, 12> feedback_texts{
    "Great product, the reports save us hours.",
    "Onboarding took too long.",
    "Support answered within minutes. Thank you!",
    "Exports time out on large accounts.",
    "Überraschend gut \u2014 danke!",
    "The \"new\" dashboard is confusing; where did filters go?",
    "Pricing is too high for small teams.",
    "Love it.\nWould love an API for bulk edits, too.",
    "meh",
    "Search is slow on mobile \\ tablet.",
    "Integrations with our CRM work well, but setup was painful and the documentation "
    "did not cover single sign-on at all, so we had to open three tickets.",
    "\u4f7f\u3044\u3084\u3059\u3044\u3067\u3059",
};

constexpr std::array<const char*, 4> languages{"en", "de", "fr", "es"};
constexpr std::array<const char*, 4> systems{"macOS", "Windows", "iOS", "Android"};
constexpr std::array<std::pair<const char*, const char*>, 4> countries{
    {{"DE", "Germany"}, {"US", "United States"}, {"FR", "France"}, {"BR", "Brazil"}}};

// The decorations a response carries beyond its facts.
struct extras {
    std::size_t campaign = 0;
    std::size_t language = 0;
    bool with_score = false;
    std::size_t answers = 0;  // 0 none; 1 rating; 2 rating and comment; 3 rating and choices
    bool personal = false;
    std::uint64_t personal_bits = 0;
    bool with_name = false;
};

std::string decorate_email(const std::string& email, std::size_t style, bool spaced) {
    std::string out = email;
    if (style == 1) {
        out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
        auto at = out.find('@');
        out[at + 1] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[at + 1])));
    } else if (style == 2) {
        std::transform(out.begin(), out.end(), out.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    }
    return spaced ? "  " + out + " " : out;
}

void append_escaped(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                out += c;
        }
    }
    out += '"';
}

// Appends "name": followed by the JSON string value.
void append_field(std::string& out, const char* name, std::string_view value) {
    out += '"';
    out += name;
    out += "\":";
    append_escaped(out, value);
}

}  // namespace

satismeter_dataset::satismeter_dataset(dataset_options o) : options_(std::move(o)) {
    if (options_.now_ms == 0) {
        auto now = std::chrono::system_clock::now().time_since_epoch();
        options_.now_ms = std::chrono::duration_cast<std::chrono::seconds>(now).count() * 1000;
    }
    options_.users = std::max<std::size_t>(options_.users, 1);
    options_.companies = std::max<std::size_t>(options_.companies, 1);

    pool_.reserve(options_.users);
    for (std::size_t k = 0; k < options_.users; ++k) {
        std::size_t company = k % options_.companies;
        pool_.push_back(
            {"user" + std::to_string(k) + "@company" + std::to_string(company) + ".example",
             company});
    }
    for (std::uint64_t c = 0; c < 3; ++c) {
        campaigns_.push_back(hex_id(options_.seed, user_stream, ~c));
    }
    auto span = static_cast<std::int64_t>(options_.years) * 36525 * day_ms / 100;
    auto count = static_cast<std::int64_t>(std::max<std::size_t>(options_.responses, 1));
    step_ms_ = std::max<std::int64_t>(1, span / count);
}

std::int64_t satismeter_dataset::created_ms(std::size_t i) const {
    // Slot i is one step wide; the jitter stays inside its slot so that order is kept, and
    // within a day so that a small set still starts close to now.
    auto width = static_cast<std::uint64_t>(std::min(step_ms_, day_ms));
    auto jitter = static_cast<std::int64_t>(hash(options_.seed, time_stream, i) % width);
    auto newest = options_.now_ms - 1000;
    return newest - static_cast<std::int64_t>(i) * step_ms_ - jitter;
}

namespace {

void draw_person(rng& r, const std::vector<pool_entry>& pool, response_facts& f) {
    auto who = r.below(100);
    auto user = r.below(pool.size());
    f.email_in_traits = r.chance(40);
    auto style = r.below(4);
    bool spaced = r.chance(15);
    if (who < 7) {
        return;  // anonymous
    }
    if (who < 12) {
        f.email = "visitor" + std::to_string(f.index) + "@elsewhere.example";
    } else {
        f.pool_index = user;
        f.email = pool[user].email;
    }
    f.email_as_sent = decorate_email(*f.email, style, spaced);
}

// The id, like SatisMeter's, starts with the creation time in seconds; the index keeps it unique.
response_facts draw_facts(rng& r, const satismeter_dataset& data, std::size_t i) {
    response_facts f;
    f.index = i;
    f.created_ms = data.created_ms(i);
    f.id = hex(static_cast<std::uint64_t>(f.created_ms / 1000), 8) + hex(r.next(), 6) + hex(i, 10);

    auto state = r.below(100);
    f.state = state < 8    ? response_state::dismissed
              : state < 10 ? response_state::pending
                           : response_state::completed;
    if (f.state != response_state::dismissed) {
        f.rating = draw_rating(r);
        f.rating_in_answers_only = r.chance(10);
    }
    draw_person(r, data.email_pool(), f);
    auto method = r.below(100);
    f.method = method < 60 ? "In-app" : method < 85 ? "Email" : "Mobile";
    if (f.state == response_state::completed && r.chance(35)) {
        f.feedback = feedback_texts[r.below(feedback_texts.size())];
    }
    return f;
}

extras draw_extras(rng& r, const response_facts& f) {
    extras x;
    x.campaign = r.below(3);
    x.language = r.below(languages.size());
    x.with_score = r.chance(50);
    x.answers = r.below(4);
    if (f.rating_in_answers_only && x.answers == 0) {
        x.answers = 1;
    }
    x.personal = r.chance(30);
    x.personal_bits = r.next();
    x.with_name = r.chance(50);
    return x;
}

void append_answers(std::string& out, const response_facts& f, const extras& x) {
    auto id = hex(static_cast<std::uint64_t>(f.created_ms), 12);
    out += ",\"answers\":[{\"id\":\"" + id + "-0001\",";
    out += "\"label\":\"How likely are you to recommend us?\",\"name\":\"SM_rating\",";
    out += "\"type\":\"scale\",\"metric\":\"nps\",\"value\":" + std::to_string(*f.rating) + "}";
    if (x.answers == 2 && f.feedback) {
        out += ",{\"id\":\"" + id + "-0002\",";
        out += "\"label\":\"What is the main reason for your score?\",\"name\":\"SM_comment\",";
        out += "\"type\":\"long-text\",";
        append_field(out, "value", *f.feedback);
        out += "}";
    } else if (x.answers == 3) {
        out += ",{\"id\":\"" + id + "-0003\",";
        out += "\"label\":\"Which features do you use?\",\"name\":\"features\",";
        out += "\"type\":\"multiple-choice\",\"value\":[\"Reports\",\"Alerts\"]}";
    }
    out += "]";
}

void append_user(std::string& out, const response_facts& f, const extras& x, std::uint64_t seed) {
    std::vector<std::string> fields;
    if (f.pool_index) {
        auto k = *f.pool_index;
        fields.push_back("\"id\":\"" + hex_id(seed, user_stream, k) + "\"");
        fields.push_back("\"userId\":\"u-" + std::to_string(k) + "\"");
        if (x.with_name) {
            fields.push_back("\"name\":\"User " + std::to_string(k) + "\"");
        }
    } else if (f.email) {
        fields.push_back("\"userId\":\"v-" + std::to_string(f.index) + "\"");
    } else if (x.with_name) {
        fields.push_back("\"userId\":\"anon-" + std::to_string(f.index) + "\"");
    }
    if (f.email) {
        std::string email;
        append_field(email, "email", f.email_as_sent);
        fields.push_back(f.email_in_traits ? "\"traits\":{" + email + ",\"plan\":\"business\"}"
                                           : email);
    }

    out += ",\"user\":{";
    for (std::size_t k = 0; k < fields.size(); ++k) {
        out += k == 0 ? "" : ",";
        out += fields[k];
    }
    out += "}";
}

void append_personal(std::string& out, const extras& x) {
    auto bits = x.personal_bits;
    out += ",\"ip\":\"198.51.100." + std::to_string(bits % 254 + 1) + "\"";
    out += ",\"device\":{\"os\":\"" + std::string(systems[(bits >> 8) % systems.size()]);
    out += (bits >> 16) % 2 == 0 ? "\",\"type\":\"desktop\"}" : "\",\"type\":\"mobile\"}";
    const auto& [code, name] = countries[(bits >> 24) % countries.size()];
    out += ",\"location\":{\"country\":\"" + std::string(code) + "\",\"countryName\":\"" + name +
           "\"}";
}

}  // namespace

response_facts satismeter_dataset::facts_at(std::size_t i) const {
    rng r(options_.seed, field_stream, i);
    return draw_facts(r, *this, i);
}

void satismeter_dataset::append_json(std::size_t i, std::string& out) const {
    rng r(options_.seed, field_stream, i);
    auto f = draw_facts(r, *this, i);
    auto x = draw_extras(r, f);

    out += '{';
    append_field(out, "id", f.id);
    out += ',';
    append_field(out, "created", format_iso8601(f.created_ms));
    if (f.rating && !f.rating_in_answers_only) {
        out += ",\"rating\":" + std::to_string(*f.rating);
        out += ",\"category\":\"" + std::string(category_of(*f.rating)) + "\"";
        if (x.with_score) {
            out += ",\"score\":" + std::string(score_of(*f.rating));
        }
    }
    if (f.feedback) {
        out += ',';
        append_field(out, "feedback", *f.feedback);
    }
    out += f.state == response_state::completed ? ",\"completed\":true" : ",\"completed\":false";
    out += f.state == response_state::dismissed ? ",\"dismissed\":true" : ",\"dismissed\":false";
    if (f.state == response_state::pending) {
        out += ",\"pending\":true";
    }
    out += ",\"method\":\"" + f.method + "\",\"language\":\"" + languages[x.language] + "\"";
    if (f.rating && x.answers > 0) {
        append_answers(out, f, x);
    }
    append_user(out, f, x, options_.seed);
    out += ",\"project\":\"" + options_.project_id + "\",\"campaign\":\"" + campaigns_[x.campaign] +
           "\"";
    if (x.personal) {
        append_personal(out, x);
    }
    out += '}';
}

boost::json::object satismeter_dataset::response_at(std::size_t i) const {
    std::string text;
    append_json(i, text);
    return boost::json::parse(text).as_object();
}

std::pair<std::size_t, std::size_t> satismeter_dataset::index_range(std::int64_t from_ms,
                                                                    std::int64_t to_ms) const {
    // Times fall as the index rises: find the first index at or before to_ms, and the first
    // one before from_ms.
    auto first_below = [this](auto pred) {
        std::size_t lo = 0;
        std::size_t hi = size();
        while (lo < hi) {
            auto mid = lo + (hi - lo) / 2;
            if (pred(created_ms(mid))) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    };
    auto first = first_below([to_ms](std::int64_t t) { return t <= to_ms; });
    auto last = first_below([from_ms](std::int64_t t) { return t < from_ms; });
    return {first, std::max(first, last)};
}

std::string format_iso8601(std::int64_t ms) {
    using namespace std::chrono;
    sys_time<milliseconds> tp{milliseconds(ms)};
    auto day = floor<days>(tp);
    year_month_day ymd{day};
    hh_mm_ss<milliseconds> hms{tp - day};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()),
                  int(hms.subseconds().count()));
    return buf;
}

namespace {

// Reads exactly n digits at pos into value.
bool read_digits(std::string_view s, std::size_t& pos, std::size_t n, int& value) {
    if (pos + n > s.size()) {
        return false;
    }
    value = 0;
    for (std::size_t k = 0; k < n; ++k, ++pos) {
        if (!std::isdigit(static_cast<unsigned char>(s[pos]))) {
            return false;
        }
        value = value * 10 + (s[pos] - '0');
    }
    return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
    if (pos < s.size() && s[pos] == c) {
        ++pos;
        return true;
    }
    return false;
}

// Parses Thh:mm[:ss[.fff]] into milliseconds of the day.
bool read_time(std::string_view s, std::size_t& pos, std::int64_t& ms) {
    int h = 0, m = 0, sec = 0, frac = 0;
    if (!read_digits(s, pos, 2, h) || !expect(s, pos, ':') || !read_digits(s, pos, 2, m)) {
        return false;
    }
    if (expect(s, pos, ':') && !read_digits(s, pos, 2, sec)) {
        return false;
    }
    if (expect(s, pos, '.')) {
        std::size_t digits = 0;
        for (; pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])); ++pos) {
            if (digits++ < 3) {
                frac = frac * 10 + (s[pos] - '0');
            }
        }
        if (digits == 0) {
            return false;
        }
        for (; digits < 3; ++digits) {
            frac *= 10;
        }
    }
    if (h > 23 || m > 59 || sec > 60) {
        return false;
    }
    ms = ((h * 60LL + m) * 60 + sec) * 1000 + frac;
    return true;
}

// Parses Z or ±hh:mm into an offset in milliseconds.
bool read_offset(std::string_view s, std::size_t& pos, std::int64_t& offset) {
    if (expect(s, pos, 'Z') || expect(s, pos, 'z')) {
        return true;
    }
    if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-')) {
        return false;
    }
    int sign = s[pos++] == '-' ? -1 : 1;
    int h = 0, m = 0;
    if (!read_digits(s, pos, 2, h) || !expect(s, pos, ':') || !read_digits(s, pos, 2, m)) {
        return false;
    }
    offset = sign * (h * 60LL + m) * 60'000;
    return true;
}

}  // namespace

std::optional<std::int64_t> parse_iso8601(std::string_view s) {
    using namespace std::chrono;
    std::size_t pos = 0;
    int y = 0, mo = 0, d = 0;
    if (!read_digits(s, pos, 4, y) || !expect(s, pos, '-') || !read_digits(s, pos, 2, mo) ||
        !expect(s, pos, '-') || !read_digits(s, pos, 2, d)) {
        return std::nullopt;
    }
    year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
    if (!ymd.ok()) {
        return std::nullopt;
    }
    std::int64_t ms = sys_days(ymd).time_since_epoch().count() * day_ms;
    if (pos == s.size()) {
        return ms;
    }
    std::int64_t time = 0;
    std::int64_t offset = 0;
    if (!(expect(s, pos, 'T') || expect(s, pos, 't')) || !read_time(s, pos, time)) {
        return std::nullopt;
    }
    if (pos < s.size() && !read_offset(s, pos, offset)) {
        return std::nullopt;
    }
    if (pos != s.size()) {
        return std::nullopt;
    }
    return ms + time - offset;
}

std::string format_http_date(std::int64_t ms) {
    using namespace std::chrono;
    static constexpr std::array<const char*, 7> day_names{"Sun", "Mon", "Tue", "Wed",
                                                          "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> month_names{
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    sys_time<milliseconds> tp{milliseconds(ms)};
    auto day = floor<days>(tp);
    year_month_day ymd{day};
    hh_mm_ss<milliseconds> hms{tp - day};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT",
                  day_names[weekday(day).c_encoding()], unsigned(ymd.day()),
                  month_names[unsigned(ymd.month()) - 1], int(ymd.year()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()));
    return buf;
}

}  // namespace tributary::emulator
