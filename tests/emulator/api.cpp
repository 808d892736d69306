// api.cpp: SatisMeter's export routes over the generated data set, plus the emulator's own.
#include "api.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/params_view.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <charconv>
#include <limits>

namespace tributary::emulator {

namespace {

namespace urls = boost::urls;
namespace json = boost::json;

constexpr std::int64_t trap_window_ms = 30LL * 86'400'000;
constexpr std::size_t max_page_size = 100;
constexpr std::string_view v3_prefix = "/api/v3/projects/";
constexpr std::string_view v3_suffix = "/responses";

constexpr char base64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char base64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Encodes without padding, as cursors are.
std::string base64_encode(std::string_view in, const char* alphabet) {
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : in) {
        acc = (acc << 8) | c;
        bits += 8;
        for (; bits >= 6; bits -= 6) {
            out += alphabet[(acc >> (bits - 6)) & 0x3f];
        }
    }
    if (bits > 0) {
        out += alphabet[(acc << (6 - bits)) & 0x3f];
    }
    return out;
}

// Decodes with the given alphabet; padding is optional. Empty optional on a bad character.
std::optional<std::string> base64_decode(std::string_view in, const char* alphabet) {
    while (!in.empty() && in.back() == '=') {
        in.remove_suffix(1);
    }
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        const char* at = std::char_traits<char>::find(alphabet, 64, c);
        if (at == nullptr) {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(at - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

template <class T>
std::optional<T> to_number(std::string_view s) {
    T value{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
        return std::nullopt;
    }
    return value;
}

http_response json_response(const http_request& req, http::status status, std::string body) {
    http_response res{status, req.version()};
    res.set(http::field::content_type, "application/json; charset=utf-8");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

reply error_reply(const http_request& req, http::status status, std::string_view message) {
    return {json_response(req, status, json::serialize(json::object{{"error", message}}))};
}

// The parts of a responses query both routes share.
struct page_query {
    std::optional<std::int64_t> start;
    std::optional<std::int64_t> end;
    std::optional<std::size_t> page_size;
    std::optional<std::string> cursor;
    std::optional<std::string> project;
    std::optional<std::string> format;
};

// Reads the query; an error is the 400 message.
std::string read_query(urls::params_view params, page_query& q) {
    for (auto p : params) {
        std::string value = p.value;
        if (p.key == "startDate" || p.key == "endDate") {
            auto ms = parse_iso8601(value);
            if (!ms) {
                return p.key + " is not an ISO-8601 date";
            }
            (p.key == "startDate" ? q.start : q.end) = ms;
        } else if (p.key == "pageSize") {
            auto n = to_number<std::size_t>(value);
            if (!n || *n < 1 || *n > max_page_size) {
                return "pageSize must be between 1 and 100";
            }
            q.page_size = n;
        } else if (p.key == "pageCursor") {
            q.cursor = value;
        } else if (p.key == "project") {
            q.project = value;
        } else if (p.key == "format") {
            q.format = value;
        }
    }
    return {};
}

// The index a cursor stands for, if it is one this data set handed out.
std::optional<std::size_t> decode_cursor(const std::string& cursor,
                                         const satismeter_dataset& data) {
    auto text = base64_decode(cursor, base64_url);
    if (!text || text->size() < 5 || text->front() != '[' || text->back() != ']') {
        return std::nullopt;
    }
    auto inner = std::string_view(*text).substr(1, text->size() - 2);
    auto comma = inner.find(',');
    if (comma == std::string_view::npos) {
        return std::nullopt;
    }
    auto created = to_number<std::int64_t>(inner.substr(0, comma));
    auto index = to_number<std::size_t>(inner.substr(comma + 1));
    if (!created || !index || *index >= data.size() || data.created_ms(*index) != *created) {
        return std::nullopt;
    }
    return index;
}

bool bearer_matches(const http_request& req, const std::string& key) {
    auto it = req.find(http::field::authorization);
    return it != req.end() && it->value() == "Bearer " + key;
}

bool basic_user_matches(const http_request& req, const std::string& key) {
    auto it = req.find(http::field::authorization);
    if (it == req.end() || !it->value().starts_with("Basic ")) {
        return false;
    }
    auto decoded = base64_decode(it->value().substr(6), base64_std);
    return decoded && decoded->substr(0, decoded->find(':')) == key;
}

std::int64_t wall_clock_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string encode_cursor(std::int64_t created_ms, std::size_t index) {
    auto text = "[" + std::to_string(created_ms) + "," + std::to_string(index) + "]";
    return base64_encode(text, base64_url);
}

std::string fault_plan_from_json(const json::object& in, fault_plan& out) {
    fault_plan plan;
    std::int64_t slow_ms = 0;
    static constexpr std::pair<std::string_view, int fault_plan::*> counts[] = {
        {"rateLimit", &fault_plan::rate_limit},
        {"rateLimitDate", &fault_plan::rate_limit_date},
        {"retryAfter", &fault_plan::retry_after_seconds},
        {"serverError", &fault_plan::server_error},
        {"serverErrorStatus", &fault_plan::server_error_status},
        {"drop", &fault_plan::drop},
        {"truncate", &fault_plan::truncate},
        {"malformed", &fault_plan::malformed},
        {"slow", &fault_plan::slow},
        {"failPage", &fault_plan::fail_page},
        {"failPageStatus", &fault_plan::fail_page_status},
        {"failPageTimes", &fault_plan::fail_page_times},
    };
    for (const auto& [key, value] : in) {
        if (!value.is_int64() || value.as_int64() < 0 || value.as_int64() > 1'000'000'000) {
            return std::string(key) + " must be a whole number from 0 to 1000000000";
        }
        if (key == "slowMs") {
            slow_ms = value.as_int64();
            continue;
        }
        auto it = std::find_if(std::begin(counts), std::end(counts),
                               [&key](const auto& e) { return key == e.first; });
        if (it == std::end(counts)) {
            return "unknown fault " + std::string(key);
        }
        plan.*(it->second) = static_cast<int>(value.as_int64());
    }
    plan.slow_delay = std::chrono::milliseconds(slow_ms);
    out = plan;
    return {};
}

api::api(const emulator_options& options, const satismeter_dataset& data)
    : options_(options), data_(data) {}

void api::set_faults(const fault_plan& faults) {
    std::lock_guard lock(mutex_);
    faults_ = faults;
}

emulator_stats api::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void api::count_connection() {
    std::lock_guard lock(mutex_);
    ++stats_.connections;
}

reply api::handle(const http_request& req) {
    {
        std::lock_guard lock(mutex_);
        ++stats_.requests;
    }
    auto target = urls::parse_origin_form(req.target());
    if (!target) {
        return error_reply(req, http::status::bad_request, "invalid request target");
    }
    std::string path = target->path();
    // Parameters come from the parsed target: urls::parse_query in Boost 1.81 reads past the end
    // of a view that is not NUL-terminated (https://github.com/boostorg/url/issues/946).
    urls::encoding_opts plus_is_space;
    plus_is_space.space_as_plus = true;
    auto query = target->params(plus_is_space);

    bool v3 = path.starts_with(v3_prefix) && path.ends_with(v3_suffix) &&
              path.size() > v3_prefix.size() + v3_suffix.size();
    if (v3 || path == "/api/responses") {
        if (req.method() != http::verb::get) {
            return error_reply(req, http::status::method_not_allowed, "method not allowed");
        }
        return serve_responses(req, v3, path, query);
    }
    if (path == "/_emulator/faults" && req.method() == http::verb::post) {
        return post_faults(req);
    }
    if (path == "/_emulator/stats" && req.method() == http::verb::get) {
        return get_stats(req);
    }
    return error_reply(req, http::status::not_found, "not found");
}

api::fault_kind api::take_fault(fault_plan& plan) {
    std::pair<int*, fault_kind> order[] = {
        {&plan.rate_limit, fault_kind::rate_limit},
        {&plan.rate_limit_date, fault_kind::rate_limit_date},
        {&plan.server_error, fault_kind::server_error},
        {&plan.drop, fault_kind::drop},
        {&plan.truncate, fault_kind::truncate},
        {&plan.malformed, fault_kind::malformed},
        {&plan.slow, fault_kind::slow},
    };
    for (auto& [count, kind] : order) {
        if (*count > 0) {
            --*count;
            return kind;
        }
    }
    return fault_kind::none;
}

reply api::apply_fault(fault_kind kind, const fault_plan& plan, const http_request& req,
                       reply normal) {
    auto too_many = [&](std::string retry_after) {
        auto r = error_reply(req, http::status::too_many_requests, "rate limit exceeded");
        r.response.set(http::field::retry_after, retry_after);
        return r;
    };
    switch (kind) {
        case fault_kind::rate_limit:
            return too_many(std::to_string(plan.retry_after_seconds));
        case fault_kind::rate_limit_date:
            return too_many(format_http_date(wall_clock_ms() + plan.retry_after_seconds * 1000LL));
        case fault_kind::server_error:
            return error_reply(req, static_cast<http::status>(plan.server_error_status),
                               "internal error");
        case fault_kind::drop:
            normal.how = delivery::drop;
            break;
        case fault_kind::truncate:
            normal.how = delivery::truncate;
            break;
        case fault_kind::malformed:
            normal.response.body() = "<html><body>Bad gateway</body></html>";
            normal.response.prepare_payload();
            break;
        case fault_kind::slow:
            normal.delay = plan.slow_delay;
            break;
        case fault_kind::none:
            break;
    }
    return normal;
}

bool api::take_page_fault(std::size_t page, int& status) {
    std::lock_guard lock(mutex_);
    if (faults_.fail_page <= 0 || faults_.fail_page_times <= 0 ||
        page != static_cast<std::size_t>(faults_.fail_page)) {
        return false;
    }
    --faults_.fail_page_times;
    ++stats_.faults_injected;
    status = faults_.fail_page_status;
    return true;
}

reply api::serve_responses(const http_request& req, bool v3, std::string_view path,
                           urls::params_view query) {
    fault_plan plan;
    fault_kind fault = fault_kind::none;
    {
        std::lock_guard lock(mutex_);
        ++stats_.responses_requests;
        fault = take_fault(faults_);
        stats_.faults_injected += fault == fault_kind::none ? 0 : 1;
        plan = faults_;
    }

    // Faults that replace the answer come first: nothing of the request is looked at.
    if (fault == fault_kind::rate_limit || fault == fault_kind::rate_limit_date ||
        fault == fault_kind::server_error || fault == fault_kind::drop) {
        return apply_fault(fault, plan, req, {});
    }
    if (!v3) {
        return apply_fault(fault, plan, req, responses_legacy(req, query));
    }
    auto project = path.substr(v3_prefix.size(), path.size() - v3_prefix.size() - v3_suffix.size());
    return apply_fault(fault, plan, req, responses_v3(req, project, query));
}

reply api::responses_v3(const http_request& req, std::string_view project,
                        urls::params_view query) {
    if (!bearer_matches(req, options_.api_key)) {
        return error_reply(req, http::status::unauthorized, "invalid API key");
    }
    if (project != data_.options().project_id) {
        return error_reply(req, http::status::not_found, "project not found");
    }
    page_query q;
    if (auto err = read_query(query, q); !err.empty()) {
        return error_reply(req, http::status::bad_request, err);
    }

    // Without startDate the API quietly answers the last 30 days only.
    auto from = q.start.value_or(data_.now_ms() - trap_window_ms);
    auto to = q.end.value_or(std::numeric_limits<std::int64_t>::max());
    auto [first, last] = data_.index_range(from, to);
    auto pos = first;
    if (q.cursor) {
        auto index = decode_cursor(*q.cursor, data_);
        if (!index) {
            return error_reply(req, http::status::bad_request, "invalid pageCursor");
        }
        pos = std::max(first, *index);
    }
    auto size = q.page_size.value_or(options_.default_page_size);
    int status = 0;
    if (take_page_fault((std::min(pos, last) - first) / size + 1, status)) {
        return error_reply(req, static_cast<http::status>(status), "internal error");
    }

    auto end = std::max(pos, std::min(last, pos + size));
    std::string body = "{\"data\":[";
    body.reserve((end - pos) * 700 + 128);
    for (auto i = pos; i < end; ++i) {
        body += i == pos ? "" : ",";
        data_.append_json(i, body);
    }
    body += "],\"page\":{\"hasNextPage\":";
    body += end < last
                ? "true,\"nextPageCursor\":\"" + encode_cursor(data_.created_ms(end), end) + "\","
                : "false,";
    body += "\"size\":" + std::to_string(end - pos) + "}}";
    return {json_response(req, http::status::ok, std::move(body))};
}

reply api::responses_legacy(const http_request& req, urls::params_view query) {
    if (!basic_user_matches(req, options_.api_key)) {
        return error_reply(req, http::status::unauthorized, "invalid API key");
    }
    page_query q;
    if (auto err = read_query(query, q); !err.empty()) {
        return error_reply(req, http::status::bad_request, err);
    }
    if (!q.project) {
        return error_reply(req, http::status::bad_request, "project is required");
    }
    if (*q.project != data_.options().project_id) {
        return error_reply(req, http::status::not_found, "project not found");
    }
    if (q.format.value_or("json") != "json") {
        return error_reply(req, http::status::bad_request, "format must be json");
    }

    // No paging here: everything in range, as the older export does.
    auto [first, last] =
        data_.index_range(q.start.value_or(std::numeric_limits<std::int64_t>::min()),
                          q.end.value_or(std::numeric_limits<std::int64_t>::max()));
    std::string body = "{\"responses\":[";
    for (auto i = first; i < last; ++i) {
        body += i == first ? "" : ",";
        data_.append_json(i, body);
    }
    body += "]}";
    return {json_response(req, http::status::ok, std::move(body))};
}

reply api::post_faults(const http_request& req) {
    boost::system::error_code ec;
    auto value = json::parse(req.body(), ec);
    if (ec || !value.is_object()) {
        return error_reply(req, http::status::bad_request, "expected a JSON object");
    }
    fault_plan plan;
    if (auto err = fault_plan_from_json(value.as_object(), plan); !err.empty()) {
        return error_reply(req, http::status::bad_request, err);
    }
    set_faults(plan);
    return {json_response(req, http::status::ok, "{\"ok\":true}")};
}

reply api::get_stats(const http_request& req) {
    auto s = stats();
    json::object out{{"requests", s.requests},
                     {"responsesRequests", s.responses_requests},
                     {"connections", s.connections},
                     {"faultsInjected", s.faults_injected}};
    return {json_response(req, http::status::ok, json::serialize(out))};
}

}  // namespace tributary::emulator
