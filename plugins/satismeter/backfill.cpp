// backfill.cpp: the export-API paging loop with checkpoints, retries and clear failures.
#include "satismeter/backfill.hpp"

#include "satismeter/payload.hpp"

#include <tributary/json.hpp>
#include <tributary/time.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

namespace tributary::satismeter {

using time::format_iso8601;
using time::iso_instant;
using time::parse_http_date;
using time::parse_iso8601;
namespace {

using std::chrono::milliseconds;

constexpr std::string_view default_base_url = "https://app.satismeter.com";
// Without a start date the export silently returns only the last 30 days.
constexpr std::string_view default_start_date = "2000-01-01T00:00:00.000Z";
constexpr std::int64_t ms_per_day = 86'400'000;

// What the backfill reads from the installation's config. The key is never logged.
struct settings {
    std::string base_url;
    std::string project_id;
    std::string api_key;
};

// Where the job stands; a checkpoint carries all of it.
struct position {
    std::string project_id;  // the project and server the cursor belongs to
    std::string base_url;
    std::optional<std::string> cursor;
    std::string start_date;
    std::string end_date;
    std::int64_t pages = 0;
    std::int64_t seen = 0;
    std::int64_t skipped = 0;
    std::optional<std::string> oldest;
    std::optional<std::string> newest;
    bool finished = false;
};

// One try at a page: the page, or a problem worth another try.
struct attempt {
    std::optional<bj::value> page;
    std::string problem;                      // "HTTP 503": for the retry log and the failure
    std::optional<milliseconds> retry_after;  // what a 429 asked for
};

tributary::error invalid(const std::string& message) {
    return tributary::error(TRIB_ERR_INVALID_INPUT, message);
}

tributary::error cancelled() {
    return tributary::error(TRIB_ERR_CANCELLED, "cancelled");
}

bool is_lower_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}
bool is_alnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Write keys are 16 or 32 letters and digits; people paste them where the API key belongs.
bool looks_like_write_key(std::string_view key) {
    return (key.size() == 16 || key.size() == 32) && std::all_of(key.begin(), key.end(), is_alnum);
}

settings read_settings(const action_context& ctx) {
    settings s;
    s.project_id = ctx.config_string("projectId").value_or("");
    if (s.project_id.empty()) {
        throw invalid("The Project ID is not set.");
    }
    if (s.project_id.size() != 24 ||
        !std::all_of(s.project_id.begin(), s.project_id.end(), is_lower_hex)) {
        throw invalid("The Project ID must be 24 lowercase hexadecimal characters.");
    }

    s.api_key = ctx.config_string("apiKey").value_or("");
    if (s.api_key.empty()) {
        throw invalid(
            "The SatisMeter API (\"Read\") key is not set. Add it to this connection: it is "
            "under Settings → Integrations → API in SatisMeter.");
    }

    s.base_url = ctx.config_string("baseUrl").value_or("");
    if (s.base_url.empty()) {
        s.base_url = default_base_url;
    }
    if (!s.base_url.starts_with("https://") && !s.base_url.starts_with("http://")) {
        throw invalid("The API base URL must start with https:// or http://.");
    }
    while (s.base_url.ends_with('/')) {
        s.base_url.pop_back();
    }
    return s;
}

// An optional date parameter; absent, null and "" all mean "not given".
std::optional<iso_instant> read_date_param(const bj::object& params, std::string_view key) {
    auto it = params.find(key);
    if (it == params.end() || it->value().is_null() ||
        (it->value().is_string() && it->value().get_string().empty())) {
        return std::nullopt;
    }
    const auto* text = it->value().if_string();
    auto at = text == nullptr ? std::nullopt : parse_iso8601(*text);
    if (!at) {
        throw invalid("\"" + std::string(key) +
                      "\" must be an ISO-8601 date such as 2024-01-31, or a date and time.");
    }
    return at;
}

// The export window of a fresh job: `until` given as a bare date includes that whole day.
position fresh_position(const action_context& ctx, const settings& s, const bj::object& params) {
    auto since = read_date_param(params, "since");
    auto until = read_date_param(params, "until");
    std::int64_t end_ms =
        std::chrono::duration_cast<milliseconds>(ctx.now().time_since_epoch()).count();
    if (until) {
        end_ms = until->date_only ? until->ms + ms_per_day - 1 : until->ms;
    }
    if (since && until && since->ms > end_ms) {
        throw invalid("\"since\" must not be later than \"until\".");
    }

    position p;
    p.project_id = s.project_id;
    p.base_url = s.base_url;
    p.start_date = since ? format_iso8601(since->ms) : std::string(default_start_date);
    p.end_date = format_iso8601(end_ms);
    return p;
}

std::optional<std::string> optional_string(const bj::value& root, std::string_view key) {
    auto text = json::string_at(root, {key});
    return text ? std::optional<std::string>(*text) : std::nullopt;
}

// The position a rerun of this job resumes from; a null cursor means the last page was done.
std::optional<position> resumed_position(const action_context& ctx, const settings& s) {
    auto saved = ctx.checkpoint();
    if (!saved) {
        return std::nullopt;
    }
    auto start = optional_string(*saved, "startDate");
    auto end = optional_string(*saved, "endDate");
    if (!start || !end) {
        ctx.warn("starting afresh: the checkpoint has no export window");
        return std::nullopt;
    }
    // A cursor means nothing to another project or server: the connection was changed since.
    auto project = optional_string(*saved, "projectId");
    auto base_url = optional_string(*saved, "baseUrl");
    if ((project && *project != s.project_id) || (base_url && *base_url != s.base_url)) {
        ctx.warn("starting afresh: the checkpoint belongs to another project or API base URL");
        return std::nullopt;
    }

    position p;
    p.project_id = s.project_id;
    p.base_url = s.base_url;
    p.start_date = std::move(*start);
    p.end_date = std::move(*end);
    p.cursor = optional_string(*saved, "cursor");
    p.finished = !p.cursor;
    p.pages = json::integer_at(*saved, {"pages"}).value_or(0);
    p.seen = json::integer_at(*saved, {"seen"}).value_or(0);
    p.skipped = json::integer_at(*saved, {"skipped"}).value_or(0);
    p.oldest = optional_string(*saved, "oldest");
    p.newest = optional_string(*saved, "newest");
    return p;
}

bj::value or_null(const std::optional<std::string>& text) {
    return text ? bj::value(*text) : bj::value(nullptr);
}

bj::value to_checkpoint(const position& p) {
    return bj::object{{"projectId", p.project_id},
                      {"baseUrl", p.base_url},
                      {"cursor", or_null(p.cursor)},
                      {"startDate", p.start_date},
                      {"endDate", p.end_date},
                      {"pages", p.pages},
                      {"seen", p.seen},
                      {"skipped", p.skipped},
                      {"oldest", or_null(p.oldest)},
                      {"newest", or_null(p.newest)}};
}

bj::object to_progress(const position& p) {
    return {{"pages", p.pages},
            {"responsesSeen", p.seen},
            {"skipped", p.skipped},
            {"oldestResponse", or_null(p.oldest)},
            {"newestResponse", or_null(p.newest)}};
}

std::string percent_encode(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() * 3);
    for (char c : text) {
        if (is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += c;
        } else {
            auto byte = static_cast<unsigned char>(c);
            out += '%';
            out += hex[byte >> 4];
            out += hex[byte & 0xF];
        }
    }
    return out;
}

fetch_request page_request(const settings& s, const position& p, const backfill_options& opt) {
    fetch_request request;
    request.url = s.base_url + "/api/v3/projects/" + s.project_id +
                  "/responses?startDate=" + percent_encode(p.start_date) +
                  "&endDate=" + percent_encode(p.end_date) +
                  "&pageSize=" + std::to_string(opt.page_size);
    if (p.cursor) {
        request.url += "&pageCursor=" + percent_encode(*p.cursor);
    }
    request.headers = {{"Authorization", "Bearer " + s.api_key}, {"Accept", "application/json"}};
    request.timeout = opt.request_timeout;
    return request;
}

tributary::error unauthorized(int status, std::string_view api_key) {
    std::string message = "SatisMeter refused the API (\"Read\") key (HTTP " +
                          std::to_string(status) +
                          "). The key to use is under Settings → Integrations → API in SatisMeter.";
    if (looks_like_write_key(api_key)) {
        message += " The key given looks like a Write key, which cannot export responses.";
    }
    return tributary::error(TRIB_ERR_UNAUTHORIZED, message);
}

tributary::error unknown_project(std::string_view project_id) {
    return invalid("SatisMeter does not know the Project ID " + std::string(project_id) +
                   " (HTTP 404). Check the Project ID in this connection's settings.");
}

tributary::error certificate_refused(const std::string& reason) {
    return tributary::error(TRIB_ERR_REMOTE,
                            "SatisMeter's TLS certificate was not accepted: " + reason +
                                ". Check the API base URL; a server whose certificate comes from a "
                                "private authority needs the host started with --ca-file.");
}

// How long a 429 asks to wait: Retry-After in seconds or as an HTTP-date, capped.
std::optional<milliseconds> retry_after(const fetch_response& answer, const action_context& ctx,
                                        milliseconds cap) {
    auto header = answer.header("Retry-After");
    if (!header) {
        return std::nullopt;
    }
    std::string_view text = *header;
    while (!text.empty() && text.front() == ' ') {
        text.remove_prefix(1);
    }
    while (!text.empty() && text.back() == ' ') {
        text.remove_suffix(1);
    }

    std::optional<milliseconds> wait;
    if (!text.empty() && text.size() <= 9 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        wait = milliseconds(std::stoll(std::string(text)) * 1000);
    } else if (auto at = parse_http_date(text)) {
        auto now = std::chrono::duration_cast<milliseconds>(ctx.now().time_since_epoch());
        wait = std::max(milliseconds(*at) - now, milliseconds(0));
    }
    if (!wait) {
        return std::nullopt;
    }
    return std::min(*wait, cap);
}

attempt check_page(std::string_view body) {
    auto page = json::parse(body);
    if (!page) {
        return {std::nullopt, "the answer is not valid JSON", std::nullopt};
    }
    const auto* data = json::find(*page, {"data"});
    if (data == nullptr || !data->is_array()) {
        return {std::nullopt, "the answer has no data array", std::nullopt};
    }
    const auto* paging = json::find(*page, {"page"});
    if (paging == nullptr || !paging->is_object()) {
        return {std::nullopt, "the answer has no page object", std::nullopt};
    }
    return {std::move(page), {}, std::nullopt};
}

attempt try_page(action_context& ctx, const fetch_request& request, const settings& s,
                 const backfill_options& opt) {
    auto answer = ctx.fetch(request);
    int status = answer.status;
    if (status == 0) {
        std::string reason =
            answer.transport_error.empty() ? "no connection" : answer.transport_error;
        // Another try meets the same certificate: fail at once.
        if (reason.find("certificate verify failed") != std::string::npos) {
            throw certificate_refused(reason);
        }
        return {std::nullopt, "network error (" + reason + ")", std::nullopt};
    }
    if (status == 401 || status == 403) {
        throw unauthorized(status, s.api_key);
    }
    if (status == 404) {
        throw unknown_project(s.project_id);
    }
    std::string problem = "HTTP " + std::to_string(status);
    if (status == 429) {
        return {std::nullopt, problem, retry_after(answer, ctx, opt.retry_after_cap)};
    }
    if (status == 408 || status >= 500) {
        return {std::nullopt, problem, std::nullopt};
    }
    if (status < 200 || status >= 300) {
        throw tributary::error(TRIB_ERR_REMOTE,
                               "SatisMeter refused the export request: " + problem);
    }
    return check_page(answer.body);
}

milliseconds backoff(const backfill_options& opt, int tries) {
    auto ceiling = opt.backoff_base * (std::int64_t{1} << std::min(tries - 1, 20));
    ceiling = std::min(ceiling, opt.backoff_cap);
    if (opt.jitter) {
        return opt.jitter(ceiling);
    }
    thread_local std::mt19937_64 random{std::random_device{}()};
    return milliseconds(std::uniform_int_distribution<std::int64_t>(0, ceiling.count())(random));
}

// Fetches the page at the position, retrying what may pass; throws what will not.
bj::value fetch_page(action_context& ctx, const settings& s, const position& p,
                     const backfill_options& opt) {
    auto request = page_request(s, p, opt);
    for (int tries = 1;; ++tries) {
        auto result = try_page(ctx, request, s, opt);
        if (result.page) {
            return std::move(*result.page);
        }
        if (tries >= opt.max_tries) {
            throw tributary::error(TRIB_ERR_REMOTE,
                                   "SatisMeter export failed after " + std::to_string(tries) +
                                       (tries == 1 ? " try: " : " tries: ") + result.problem);
        }

        auto wait = result.retry_after.value_or(backoff(opt, tries));
        ctx.warn("SatisMeter export failed; trying again",
                 {{"problem", result.problem}, {"try", tries}, {"waitMs", wait.count()}});
        if (!ctx.sleep_for(wait)) {
            throw cancelled();
        }
    }
}

// The cursor of the next page, or nullopt after the last one.
std::optional<std::string> next_cursor(const action_context& ctx, const bj::value& page) {
    auto has_next = json::bool_at(page, {"page", "hasNextPage"});
    auto cursor = json::string_at(page, {"page", "nextPageCursor"});
    if (has_next == false) {
        return std::nullopt;
    }
    if (!cursor || cursor->empty()) {
        if (has_next == true) {
            ctx.warn("stopping: SatisMeter announced a next page without a cursor");
        }
        return std::nullopt;
    }
    return std::string(*cursor);
}

void note_created(position& p, const bj::value& created) {
    const auto* text = created.if_string();
    if (text == nullptr) {
        return;
    }
    std::string_view at = *text;  // canonical form: text order is time order
    if (!p.oldest || at < *p.oldest) {
        p.oldest = std::string(at);
    }
    if (!p.newest || at > *p.newest) {
        p.newest = std::string(at);
    }
}

// Emits the page's responses, once per id; a response that cannot be used is skipped.
void emit_page(action_context& ctx, bj::value& page, position& p) {
    std::unordered_set<std::string> ids;
    std::int64_t index = 0;
    for (auto& item : page.at("data").get_array()) {
        auto result = normalize_export(std::move(item));
        if (!result.ok()) {
            ++p.skipped;
            ctx.warn("skipped a response SatisMeter exported",
                     {{"reason", result.reason}, {"page", p.pages + 1}, {"index", index}});
        } else if (ids.emplace(result.record.at("sourceId").get_string()).second) {
            note_created(p, result.record.at("created"));
            ctx.emit(result.record);
            ++p.seen;
        }
        ++index;
    }
}

}  // namespace

void pull_historical_nps(action_context& ctx, const bj::object& params,
                         const backfill_options& options) {
    settings s = read_settings(ctx);
    auto resumed = resumed_position(ctx, s);
    position p = resumed ? std::move(*resumed) : fresh_position(ctx, s, params);

    while (!p.finished) {
        if (ctx.cancelled()) {
            throw cancelled();
        }
        bj::value page = fetch_page(ctx, s, p, options);
        auto next = next_cursor(ctx, page);
        if (next && next == p.cursor) {
            throw tributary::error(TRIB_ERR_REMOTE,
                                   "SatisMeter export failed: it returned the same page twice.");
        }

        emit_page(ctx, page, p);
        p.cursor = std::move(next);
        p.finished = !p.cursor;
        ++p.pages;
        ctx.commit_page(to_checkpoint(p), to_progress(p));
        ctx.debug("committed a page", {{"pages", p.pages}, {"responses", p.seen}});
    }
    ctx.info("pulled historical NPS scores",
             {{"pages", p.pages}, {"responses", p.seen}, {"skipped", p.skipped}});
}

}  // namespace tributary::satismeter
