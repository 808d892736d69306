// backfill_test.cpp: the export-API paging loop against the fake host and scripted pages.
#include "satismeter/backfill.hpp"

#define BOOST_TEST_MODULE satismeter_backfill
#include <boost/test/unit_test.hpp>

#include "fixtures.hpp"
#include "satismeter/payload.hpp"

#include <tributary/testing.hpp>

#include <boost/json.hpp>

#include <string>
#include <vector>

namespace bj = boost::json;
namespace sm = tributary::satismeter;
namespace tt = tributary::testing;
using satismeter_test::read_fixture;
using std::chrono::milliseconds;

namespace {

constexpr char project_id[] = "5f1e2d3c4b5a697887766554";
constexpr char api_key[] = "sm_api.7Qx2-Lr9v0Kd81nZ";
constexpr char write_key_16[] = "Xb3kP9qL2mN7vR4t";
constexpr char write_key_32[] = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6";

const std::string responses_url =
    "https://app.satismeter.com/api/v3/projects/5f1e2d3c4b5a697887766554/responses";
// The whole history up to the fake host's clock, 2024-04-01T00:00:00Z.
const std::string first_page_url =
    responses_url +
    "?startDate=2000-01-01T00%3A00%3A00.000Z&endDate=2024-04-01T00%3A00%3A00.000Z&pageSize=100";
const std::string second_page_url = first_page_url + "&pageCursor=WzE2OTg1MTYyMDAwMDBd";

const std::string first_page = read_fixture("api_v3_page_first.json");
const std::string last_page = read_fixture("api_v3_page_last.json");

// The backfill as the plugin runs it, but with every wait at its ceiling so tests state it.
class backfill_connector : public tributary::connector {
public:
    backfill_connector() {
        action("pull-historical-nps", [](tributary::action_context& ctx, const bj::object& params) {
            sm::backfill_options options;
            options.jitter = [](milliseconds ceiling) { return ceiling; };
            sm::pull_historical_nps(ctx, params, options);
        });
    }
};

struct backfill_fixture {
    tt::fake_host host;
    tt::driver plugin{tt::descriptor_of<backfill_connector>(), host};

    backfill_fixture() { host.set_config({{"projectId", project_id}, {"apiKey", api_key}}); }

    tt::call_result run(const bj::object& params = {}) {
        return plugin.action("pull-historical-nps", params);
    }

    std::vector<std::string> urls() const {
        std::vector<std::string> out;
        for (const auto& request : host.requests()) {
            out.push_back(request.url);
        }
        return out;
    }
};

// The records the export page's objects normalise to (their exact form is pinned in
// payload_test.cpp).
std::vector<bj::value> records_of(const std::string& page) {
    std::vector<bj::value> out;
    bj::value parsed = bj::parse(page);
    for (auto& item : parsed.at("data").as_array()) {
        out.push_back(sm::normalize_export(std::move(item)).record);
    }
    return out;
}

tt::fetch_reply status(int code, tt::header_list headers = {}) {
    return {code, std::move(headers), R"({"error":"try later"})", {}};
}

std::vector<milliseconds> waits(std::initializer_list<int> ms) {
    std::vector<milliseconds> out;
    for (int m : ms) {
        out.emplace_back(m);
    }
    return out;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(paging, backfill_fixture)

BOOST_AUTO_TEST_CASE(pages_through_the_export_and_commits_each_page) {
    host.script_fetch(tt::fetch_reply::ok(first_page));
    host.script_fetch(tt::fetch_reply::ok(last_page));

    auto result = run();

    BOOST_TEST(result.status == TRIB_OK);
    BOOST_TEST(result.error == "");
    BOOST_TEST(urls() == (std::vector<std::string>{first_page_url, second_page_url}),
               boost::test_tools::per_element());
    BOOST_TEST_REQUIRE(host.commits().size() == 2u);
    BOOST_TEST(host.commits()[0].records == records_of(first_page),
               boost::test_tools::per_element());
    BOOST_TEST(host.commits()[1].records == records_of(last_page),
               boost::test_tools::per_element());
    BOOST_TEST(host.commits()[0].checkpoint == bj::parse(R"({
        "projectId": "5f1e2d3c4b5a697887766554",
        "baseUrl": "https://app.satismeter.com", "cursor": "WzE2OTg1MTYyMDAwMDBd", "startDate": "2000-01-01T00:00:00.000Z",
        "endDate": "2024-04-01T00:00:00.000Z", "pages": 1, "seen": 2, "skipped": 0,
        "oldest": "2023-10-28T17:30:00.000Z", "newest": "2023-11-02T10:00:00.000Z" })"));
    BOOST_TEST(host.commits()[0].progress == bj::parse(R"({
        "pages": 1, "responsesSeen": 2, "skipped": 0,
        "oldestResponse": "2023-10-28T17:30:00.000Z",
        "newestResponse": "2023-11-02T10:00:00.000Z" })"));
    BOOST_TEST(host.commits()[1].checkpoint == bj::parse(R"({
        "projectId": "5f1e2d3c4b5a697887766554",
        "baseUrl": "https://app.satismeter.com", "cursor": null, "startDate": "2000-01-01T00:00:00.000Z",
        "endDate": "2024-04-01T00:00:00.000Z", "pages": 2, "seen": 3, "skipped": 0,
        "oldest": "2023-09-14T08:05:00.000Z", "newest": "2023-11-02T10:00:00.000Z" })"));
    BOOST_TEST(host.commits()[1].progress == bj::parse(R"({
        "pages": 2, "responsesSeen": 3, "skipped": 0,
        "oldestResponse": "2023-09-14T08:05:00.000Z",
        "newestResponse": "2023-11-02T10:00:00.000Z" })"));
    BOOST_TEST(host.sleeps().empty());
}

BOOST_AUTO_TEST_CASE(emits_the_exact_records_of_a_page) {
    host.script_fetch(tt::fetch_reply::ok(last_page));
    run();
    BOOST_TEST_REQUIRE(host.emitted().size() == 1u);
    auto expected = bj::parse(R"({
        "type": "nps_response", "sourceId": "6601c0ffee00000000000103",
        "email": "gus@fabrikam.example", "externalUserId": "u-2003", "score": 10,
        "comment": null, "state": "completed", "created": "2023-09-14T08:05:00.000Z",
        "campaign": null, "method": "In-app" })");
    expected.as_object()["raw"] = bj::parse(last_page).at("data").at(0);
    BOOST_TEST(host.emitted()[0] == expected);
}

BOOST_AUTO_TEST_CASE(asks_with_the_api_key_as_bearer_token) {
    host.script_fetch(tt::fetch_reply::ok(last_page));
    run();
    BOOST_TEST_REQUIRE(host.requests().size() == 1u);
    const auto& request = host.requests()[0];
    BOOST_TEST(request.method == "GET");
    BOOST_TEST(request.header("Authorization").value_or("") == "Bearer sm_api.7Qx2-Lr9v0Kd81nZ");
    BOOST_TEST(request.header("Accept").value_or("") == "application/json");
}

BOOST_AUTO_TEST_CASE(always_sends_a_start_date) {
    host.script_fetch(tt::fetch_reply::ok(last_page));
    run({{"until", "2023-12-31"}});
    BOOST_TEST(urls() == (std::vector<std::string>{
                             responses_url + "?startDate=2000-01-01T00%3A00%3A00.000Z"
                                             "&endDate=2023-12-31T23%3A59%3A59.999Z&pageSize=100"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(asks_for_the_window_of_since_and_until) {
    host.script_fetch(tt::fetch_reply::ok(last_page));
    run({{"since", "2023-01-01T02:00:00+02:00"}, {"until", "2023-06-30T12:00:00Z"}});
    BOOST_TEST(urls() == (std::vector<std::string>{
                             responses_url + "?startDate=2023-01-01T00%3A00%3A00.000Z"
                                             "&endDate=2023-06-30T12%3A00%3A00.000Z&pageSize=100"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(treats_empty_dates_as_not_given) {
    host.script_fetch(tt::fetch_reply::ok(last_page));
    run({{"since", ""}, {"until", nullptr}});
    BOOST_TEST(urls() == (std::vector<std::string>{first_page_url}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(uses_the_configured_base_url) {
    host.set_config(
        {{"projectId", project_id}, {"apiKey", api_key}, {"baseUrl", "http://127.0.0.1:8123/"}});
    host.script_fetch(tt::fetch_reply::ok(last_page));
    run();
    BOOST_TEST_REQUIRE(host.requests().size() == 1u);
    BOOST_TEST(host.requests()[0].url.starts_with(
        "http://127.0.0.1:8123/api/v3/projects/5f1e2d3c4b5a697887766554/responses?startDate="));
}

BOOST_AUTO_TEST_CASE(resumes_from_the_checkpoint_cursor_and_window) {
    host.set_checkpoint(bj::parse(R"({
        "cursor": "WzE2OTg1MTYyMDAwMDBd", "startDate": "2023-01-01T00:00:00.000Z",
        "endDate": "2023-12-31T23:59:59.999Z", "pages": 1, "seen": 2, "skipped": 1,
        "oldest": "2023-10-28T17:30:00.000Z", "newest": "2023-11-02T10:00:00.000Z" })"));
    host.script_fetch(tt::fetch_reply::ok(last_page));

    auto result = run({{"since", "2020-01-01"}});

    BOOST_TEST(result.status == TRIB_OK);
    BOOST_TEST(urls() == (std::vector<std::string>{
                             responses_url + "?startDate=2023-01-01T00%3A00%3A00.000Z"
                                             "&endDate=2023-12-31T23%3A59%3A59.999Z&pageSize=100"
                                             "&pageCursor=WzE2OTg1MTYyMDAwMDBd"}),
               boost::test_tools::per_element());
    BOOST_TEST_REQUIRE(host.commits().size() == 1u);
    BOOST_TEST(host.commits()[0].checkpoint == bj::parse(R"({
        "projectId": "5f1e2d3c4b5a697887766554",
        "baseUrl": "https://app.satismeter.com", "cursor": null, "startDate": "2023-01-01T00:00:00.000Z",
        "endDate": "2023-12-31T23:59:59.999Z", "pages": 2, "seen": 3, "skipped": 1,
        "oldest": "2023-09-14T08:05:00.000Z", "newest": "2023-11-02T10:00:00.000Z" })"));
}

BOOST_AUTO_TEST_CASE(a_checkpoint_past_the_last_page_fetches_nothing) {
    host.set_checkpoint(bj::parse(R"({
        "cursor": null, "startDate": "2000-01-01T00:00:00.000Z",
        "endDate": "2024-04-01T00:00:00.000Z", "pages": 2, "seen": 3, "skipped": 0,
        "oldest": null, "newest": null })"));
    auto result = run();
    BOOST_TEST(result.status == TRIB_OK);
    BOOST_TEST(host.requests().empty());
    BOOST_TEST(host.commits().empty());
}

BOOST_AUTO_TEST_CASE(starts_afresh_when_the_checkpoint_belongs_to_another_project) {
    host.set_checkpoint(bj::parse(R"({
        "projectId": "0123456789abcdef01234567", "baseUrl": "https://app.satismeter.com",
        "cursor": "WzE2OTg1MTYyMDAwMDBd", "startDate": "2023-01-01T00:00:00.000Z",
        "endDate": "2023-12-31T23:59:59.999Z", "pages": 1, "seen": 2, "skipped": 0,
        "oldest": null, "newest": null })"));
    host.script_fetch(tt::fetch_reply::ok(last_page));

    auto result = run();

    BOOST_TEST(result.status == TRIB_OK);
    BOOST_TEST(urls() == (std::vector<std::string>{first_page_url}),
               boost::test_tools::per_element());
    BOOST_TEST_REQUIRE(host.commits().size() == 1u);
    BOOST_TEST(host.commits()[0].progress.at("pages") == bj::value(1));
}

BOOST_AUTO_TEST_CASE(starts_afresh_when_the_checkpoint_belongs_to_another_server) {
    host.set_config(
        {{"projectId", project_id}, {"apiKey", api_key}, {"baseUrl", "http://127.0.0.1:8123"}});
    host.set_checkpoint(bj::parse(R"({
        "projectId": "5f1e2d3c4b5a697887766554", "baseUrl": "https://app.satismeter.com",
        "cursor": "WzE2OTg1MTYyMDAwMDBd", "startDate": "2023-01-01T00:00:00.000Z",
        "endDate": "2023-12-31T23:59:59.999Z", "pages": 1, "seen": 2, "skipped": 0,
        "oldest": null, "newest": null })"));
    host.script_fetch(tt::fetch_reply::ok(last_page));

    auto result = run();

    BOOST_TEST(result.status == TRIB_OK);
    BOOST_TEST_REQUIRE(host.requests().size() == 1u);
    BOOST_TEST(host.requests()[0].url ==
               "http://127.0.0.1:8123/api/v3/projects/5f1e2d3c4b5a697887766554/responses"
               "?startDate=2000-01-01T00%3A00%3A00.000Z&endDate=2024-04-01T00%3A00%3A00.000Z"
               "&pageSize=100");
}

BOOST_AUTO_TEST_CASE(skips_a_response_it_cannot_use_and_counts_it) {
    host.script_fetch(tt::fetch_reply::ok(R"({"data": [
        {"created": "2023-05-01T00:00:00.000Z", "rating": 7, "user": {"email": "no-id@x.example"}},
        {"id": "6601c0ffee00000000000201", "rating": 42, "feedback": "secret words"},
        {"id": "6601c0ffee00000000000202", "rating": 8, "created": "2023-05-02T00:00:00.000Z"}
    ], "page": {"hasNextPage": false, "size": 3}})"));

    auto result = run();

    BOOST_TEST(result.status == TRIB_OK);
    BOOST_TEST_REQUIRE(host.emitted().size() == 1u);
    BOOST_TEST(host.emitted()[0].at("sourceId") == bj::value("6601c0ffee00000000000202"));
    BOOST_TEST_REQUIRE(host.commits().size() == 1u);
    BOOST_TEST(host.commits()[0].progress == bj::parse(R"({
        "pages": 1, "responsesSeen": 1, "skipped": 2,
        "oldestResponse": "2023-05-02T00:00:00.000Z",
        "newestResponse": "2023-05-02T00:00:00.000Z" })"));
    std::vector<std::string> warnings;
    for (const auto& line : host.logs()) {
        if (line.level == TRIB_LOG_WARN) {
            warnings.push_back(line.message + " " + line.fields_json);
        }
    }
    BOOST_TEST(
        warnings == (std::vector<std::string>{
                        "skipped a response SatisMeter exported "
                        R"({"reason":"response.id must be a non-empty string","page":1,"index":0})",
                        "skipped a response SatisMeter exported "
                        R"({"reason":"response.rating must be an integer from 0 to 10",)"
                        R"("page":1,"index":1})"}),
        boost::test_tools::per_element());
    BOOST_TEST(!host.mentions("no-id@x.example"));
    BOOST_TEST(!host.mentions("secret words"));
}

BOOST_AUTO_TEST_CASE(emits_each_id_once_per_page) {
    host.script_fetch(tt::fetch_reply::ok(R"({"data": [
        {"id": "6601c0ffee00000000000301", "rating": 9},
        {"id": "6601c0ffee00000000000301", "rating": 9},
        {"id": "6601c0ffee00000000000302", "rating": 2}
    ], "page": {"hasNextPage": false}})"));
    run();
    BOOST_TEST_REQUIRE(host.emitted().size() == 2u);
    BOOST_TEST(host.emitted()[0].at("sourceId") == bj::value("6601c0ffee00000000000301"));
    BOOST_TEST(host.emitted()[1].at("sourceId") == bj::value("6601c0ffee00000000000302"));
    BOOST_TEST(host.commits()[0].progress.at("responsesSeen") == bj::value(2));
}

BOOST_AUTO_TEST_CASE(stops_when_the_next_page_has_no_cursor) {
    host.script_fetch(tt::fetch_reply::ok(R"({"data": [], "page": {"hasNextPage": true}})"));
    auto result = run();
    BOOST_TEST(result.status == TRIB_OK);
    BOOST_TEST(host.requests().size() == 1u);
    BOOST_TEST(host.commits().size() == 1u);
}

BOOST_AUTO_TEST_CASE(fails_when_the_same_cursor_comes_back) {
    host.set_checkpoint(bj::parse(R"({"cursor": "c1", "startDate": "2000-01-01T00:00:00.000Z",
        "endDate": "2024-04-01T00:00:00.000Z", "pages": 1, "seen": 0})"));
    host.script_fetch(tt::fetch_reply::ok(
        R"({"data": [], "page": {"hasNextPage": true, "nextPageCursor": "c1"}})"));
    auto result = run();
    BOOST_TEST(result.status == TRIB_ERR_REMOTE);
    BOOST_TEST(result.error == "SatisMeter export failed: it returned the same page twice.");
    BOOST_TEST(host.commits().empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(retries, backfill_fixture)

BOOST_AUTO_TEST_CASE(waits_retry_after_seconds_on_429) {
    host.script_fetch(status(429, {{"Retry-After", "7"}}));
    host.script_fetch(tt::fetch_reply::ok(last_page));
    auto result = run();
    BOOST_TEST(result.status == TRIB_OK);
    BOOST_TEST(host.sleeps() == waits({7000}), boost::test_tools::per_element());
    BOOST_TEST(urls() == (std::vector<std::string>{first_page_url, first_page_url}),
               boost::test_tools::per_element());
    BOOST_TEST(host.emitted().size() == 1u);
}

BOOST_AUTO_TEST_CASE(waits_until_retry_after_http_date_on_429) {
    // The fake host's clock reads 2024-04-01T00:00:00Z.
    host.script_fetch(status(429, {{"retry-after", "Mon, 01 Apr 2024 00:00:42 GMT"}}));
    host.script_fetch(tt::fetch_reply::ok(last_page));
    auto result = run();
    BOOST_TEST(result.status == TRIB_OK);
    BOOST_TEST(host.sleeps() == waits({42000}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(caps_retry_after_at_two_minutes) {
    host.script_fetch(status(429, {{"Retry-After", "3600"}}));
    host.script_fetch(status(429, {{"Retry-After", "Tue, 02 Apr 2024 00:00:00 GMT"}}));
    host.script_fetch(tt::fetch_reply::ok(last_page));
    run();
    BOOST_TEST(host.sleeps() == waits({120000, 120000}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(backs_off_on_429_without_retry_after) {
    host.script_fetch(status(429));
    host.script_fetch(tt::fetch_reply::ok(last_page));
    run();
    BOOST_TEST(host.sleeps() == waits({250}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(counts_429s_against_the_try_budget) {
    for (int i = 0; i < 6; ++i) {
        host.script_fetch(status(429, {{"Retry-After", "1"}}));
    }
    auto result = run();
    BOOST_TEST(result.status == TRIB_ERR_REMOTE);
    BOOST_TEST(result.error == "SatisMeter export failed after 6 tries: HTTP 429");
    BOOST_TEST(host.sleeps() == waits({1000, 1000, 1000, 1000, 1000}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(retries_server_errors_with_exponential_backoff) {
    host.script_fetch(status(503));
    host.script_fetch(status(500));
    host.script_fetch(status(502));
    host.script_fetch(tt::fetch_reply::ok(last_page));
    auto result = run();
    BOOST_TEST(result.status == TRIB_OK);
    BOOST_TEST(host.sleeps() == waits({250, 500, 1000}), boost::test_tools::per_element());
    BOOST_TEST(host.emitted().size() == 1u);
    BOOST_TEST(host.commits().size() == 1u);
}

BOOST_AUTO_TEST_CASE(fails_after_six_server_errors) {
    for (int i = 0; i < 6; ++i) {
        host.script_fetch(status(503));
    }
    host.script_fetch(tt::fetch_reply::ok(last_page));
    auto result = run();
    BOOST_TEST(result.status == TRIB_ERR_REMOTE);
    BOOST_TEST(result.error == "SatisMeter export failed after 6 tries: HTTP 503");
    BOOST_TEST(host.requests().size() == 6u);
    BOOST_TEST(host.unused_replies() == 1u);
    BOOST_TEST(host.sleeps() == waits({250, 500, 1000, 2000, 4000}),
               boost::test_tools::per_element());
    BOOST_TEST(host.commits().empty());
}

BOOST_AUTO_TEST_CASE(caps_the_backoff_at_eight_seconds) {
    tt::fake_host slow_host;
    slow_host.set_config({{"projectId", project_id}, {"apiKey", api_key}});
    for (int i = 0; i < 7; ++i) {
        slow_host.script_fetch(status(500));
    }
    tributary::action_context ctx(slow_host.api(), slow_host.call());
    sm::backfill_options options;
    options.max_tries = 8;
    options.jitter = [](milliseconds ceiling) { return ceiling; };
    BOOST_CHECK_THROW(sm::pull_historical_nps(ctx, {}, options), tributary::error);
    BOOST_TEST(slow_host.sleeps() == waits({250, 500, 1000, 2000, 4000, 8000, 8000}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(keeps_the_last_checkpoint_when_a_later_page_fails) {
    host.script_fetch(tt::fetch_reply::ok(first_page));
    for (int i = 0; i < 6; ++i) {
        host.script_fetch(status(500));
    }
    auto result = run();
    BOOST_TEST(result.status == TRIB_ERR_REMOTE);
    BOOST_TEST(result.error == "SatisMeter export failed after 6 tries: HTTP 500");
    BOOST_TEST(host.commits().size() == 1u);
    BOOST_TEST(host.checkpoint().at("cursor") == bj::value("WzE2OTg1MTYyMDAwMDBd"));

    // A rerun of the job continues with the page that failed.
    host.script_fetch(tt::fetch_reply::ok(last_page));
    BOOST_TEST(run().status == TRIB_OK);
    BOOST_TEST(host.requests().back().url == second_page_url);
    BOOST_TEST(host.commits().size() == 2u);
}

BOOST_AUTO_TEST_CASE(retries_a_page_that_is_not_json) {
    host.script_fetch(tt::fetch_reply::ok("<html>Bad gateway</html>"));
    host.script_fetch(tt::fetch_reply::ok(last_page));
    auto result = run();
    BOOST_TEST(result.status == TRIB_OK);
    BOOST_TEST(host.requests().size() == 2u);
    BOOST_TEST(host.sleeps() == waits({250}), boost::test_tools::per_element());
    BOOST_TEST(host.emitted().size() == 1u);
}

BOOST_AUTO_TEST_CASE(names_the_last_problem_of_unusable_answers) {
    for (const char* body : {"{", R"({"data": []})", R"({"page": {}})",
                             R"({"data": {}, "page": {}})", R"({"data": [], "page": []})", "[]"}) {
        host.script_fetch(tt::fetch_reply::ok(body));
    }
    auto result = run();
    BOOST_TEST(result.status == TRIB_ERR_REMOTE);
    BOOST_TEST(result.error ==
               "SatisMeter export failed after 6 tries: the answer has no data array");
    std::vector<std::string> problems;
    for (const auto& line : host.logs()) {
        if (line.level == TRIB_LOG_WARN) {
            problems.push_back(std::string(bj::parse(line.fields_json).at("problem").as_string()));
        }
    }
    BOOST_TEST(problems == (std::vector<std::string>{
                               "the answer is not valid JSON", "the answer has no page object",
                               "the answer has no data array", "the answer has no data array",
                               "the answer has no page object"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(retries_transport_failures) {
    for (int i = 0; i < 6; ++i) {
        host.script_fetch(tt::fetch_reply::transport_failure("connection refused"));
    }
    auto result = run();
    BOOST_TEST(result.status == TRIB_ERR_REMOTE);
    BOOST_TEST(result.error ==
               "SatisMeter export failed after 6 tries: network error (connection refused)");
    BOOST_TEST(host.requests().size() == 6u);
}

BOOST_AUTO_TEST_CASE(fails_at_once_when_the_certificate_is_refused) {
    host.script_fetch(tt::fetch_reply::transport_failure(
        "TLS handshake with app.satismeter.com failed: certificate verify failed: "
        "self-signed certificate"));

    auto result = run();

    BOOST_TEST(result.status == TRIB_ERR_REMOTE);
    BOOST_TEST(result.error ==
               "SatisMeter's TLS certificate was not accepted: TLS handshake with "
               "app.satismeter.com failed: certificate verify failed: self-signed certificate. "
               "Check the API base URL; a server whose certificate comes from a private "
               "authority needs the host started with --ca-file.");
    BOOST_TEST(host.requests().size() == 1u);
    BOOST_TEST(host.sleeps().empty());
}

BOOST_AUTO_TEST_CASE(fails_at_once_on_another_client_error) {
    host.script_fetch(status(400));
    auto result = run();
    BOOST_TEST(result.status == TRIB_ERR_REMOTE);
    BOOST_TEST(result.error == "SatisMeter refused the export request: HTTP 400");
    BOOST_TEST(host.requests().size() == 1u);
    BOOST_TEST(host.sleeps().empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(failures, backfill_fixture)

BOOST_AUTO_TEST_CASE(rejects_write_key_with_hint) {
    for (const char* key : {write_key_16, write_key_32}) {
        BOOST_TEST_CONTEXT(key) {
            tt::fake_host fresh;
            tt::driver connector(tt::descriptor_of<backfill_connector>(), fresh);
            fresh.set_config({{"projectId", project_id}, {"apiKey", key}});
            fresh.script_fetch(status(401));
            auto result = connector.action("pull-historical-nps");
            BOOST_TEST(result.status == TRIB_ERR_UNAUTHORIZED);
            BOOST_TEST(result.error ==
                       "SatisMeter refused the API (\"Read\") key (HTTP 401). The key to use is "
                       "under Settings → Integrations → API in SatisMeter. The key given looks "
                       "like a Write key, which cannot export responses.");
            BOOST_TEST(fresh.requests().size() == 1u);
            BOOST_TEST(!fresh.mentions(key));
        }
    }
}

BOOST_AUTO_TEST_CASE(rejects_other_key_without_write_key_hint) {
    host.script_fetch(status(403));
    auto result = run();
    BOOST_TEST(result.status == TRIB_ERR_UNAUTHORIZED);
    BOOST_TEST(result.error ==
               "SatisMeter refused the API (\"Read\") key (HTTP 403). The key to use is under "
               "Settings → Integrations → API in SatisMeter.");
    BOOST_TEST(host.sleeps().empty());
}

BOOST_AUTO_TEST_CASE(reports_an_unknown_project_on_404) {
    host.script_fetch(status(404));
    auto result = run();
    BOOST_TEST(result.status == TRIB_ERR_INVALID_INPUT);
    BOOST_TEST(result.error ==
               "SatisMeter does not know the Project ID 5f1e2d3c4b5a697887766554 (HTTP 404). "
               "Check the Project ID in this connection's settings.");
}

BOOST_AUTO_TEST_CASE(fails_clearly_without_an_api_key) {
    host.set_config({{"projectId", project_id}});
    auto result = run();
    BOOST_TEST(result.status == TRIB_ERR_INVALID_INPUT);
    BOOST_TEST(result.error ==
               "The SatisMeter API (\"Read\") key is not set. Add it to this connection: it is "
               "under Settings → Integrations → API in SatisMeter.");
    BOOST_TEST(host.requests().empty());
}

BOOST_AUTO_TEST_CASE(rejects_a_missing_or_malformed_project_id) {
    host.set_config({{"apiKey", api_key}});
    BOOST_TEST(run().error == "The Project ID is not set.");
    host.set_config({{"apiKey", api_key}, {"projectId", "5F1E2D3C4B5A697887766554"}});
    BOOST_TEST(run().error == "The Project ID must be 24 lowercase hexadecimal characters.");
    host.set_config({{"apiKey", api_key}, {"projectId", "5f1e2d3c4b5a6978877665"}});
    BOOST_TEST(run().error == "The Project ID must be 24 lowercase hexadecimal characters.");
    BOOST_TEST(host.requests().empty());
}

BOOST_AUTO_TEST_CASE(rejects_a_base_url_that_is_not_http) {
    host.set_config({{"projectId", project_id}, {"apiKey", api_key}, {"baseUrl", "ftp://x"}});
    auto result = run();
    BOOST_TEST(result.status == TRIB_ERR_INVALID_INPUT);
    BOOST_TEST(result.error == "The API base URL must start with https:// or http://.");
}

BOOST_AUTO_TEST_CASE(rejects_dates_that_are_not_iso_8601) {
    auto result = run({{"since", "last year"}});
    BOOST_TEST(result.status == TRIB_ERR_INVALID_INPUT);
    BOOST_TEST(result.error ==
               "\"since\" must be an ISO-8601 date such as 2024-01-31, or a date and time.");
    BOOST_TEST(run({{"until", 20240131}}).error ==
               "\"until\" must be an ISO-8601 date such as 2024-01-31, or a date and time.");
    BOOST_TEST(host.requests().empty());
}

BOOST_AUTO_TEST_CASE(rejects_since_after_until) {
    auto result = run({{"since", "2024-02-01"}, {"until", "2024-01-31"}});
    BOOST_TEST(result.status == TRIB_ERR_INVALID_INPUT);
    BOOST_TEST(result.error == "\"since\" must not be later than \"until\".");
}

BOOST_AUTO_TEST_CASE(accepts_since_and_until_on_the_same_day) {
    host.script_fetch(tt::fetch_reply::ok(last_page));
    BOOST_TEST(run({{"since", "2024-01-31"}, {"until", "2024-01-31"}}).status == TRIB_OK);
}

BOOST_AUTO_TEST_CASE(stops_between_pages_when_cancelled) {
    host.cancel_after_commits(1);
    host.script_fetch(tt::fetch_reply::ok(first_page));
    host.script_fetch(tt::fetch_reply::ok(last_page));
    auto result = run();
    BOOST_TEST(result.status == TRIB_ERR_CANCELLED);
    BOOST_TEST(result.error == "cancelled");
    BOOST_TEST(host.requests().size() == 1u);
    BOOST_TEST(host.commits().size() == 1u);
    BOOST_TEST(host.checkpoint().at("cursor") == bj::value("WzE2OTg1MTYyMDAwMDBd"));
}

BOOST_AUTO_TEST_CASE(stops_before_the_first_page_when_cancelled) {
    host.cancel();
    auto result = run();
    BOOST_TEST(result.status == TRIB_ERR_CANCELLED);
    BOOST_TEST(host.requests().empty());
}

BOOST_AUTO_TEST_CASE(stops_during_a_wait_when_cancelled) {
    host.cancel_during_sleep(1);
    host.script_fetch(status(429, {{"Retry-After", "30"}}));
    host.script_fetch(tt::fetch_reply::ok(last_page));
    auto result = run();
    BOOST_TEST(result.status == TRIB_ERR_CANCELLED);
    BOOST_TEST(result.error == "cancelled");
    BOOST_TEST(host.requests().size() == 1u);
    BOOST_TEST(host.commits().empty());
}

BOOST_AUTO_TEST_CASE(fails_when_the_host_cannot_commit) {
    host.fail_commits(TRIB_ERR_STORAGE);
    host.script_fetch(tt::fetch_reply::ok(last_page));
    auto result = run();
    BOOST_TEST(result.status == TRIB_ERR_STORAGE);
    BOOST_TEST(result.error == "the host could not commit the page");
}

BOOST_AUTO_TEST_CASE(never_puts_the_key_in_a_message_or_log) {
    host.set_config({{"projectId", project_id}, {"apiKey", write_key_32}});
    host.script_fetch(status(429, {{"Retry-After", "1"}}));
    host.script_fetch(status(503));
    host.script_fetch(tt::fetch_reply::ok("not json"));
    host.script_fetch(tt::fetch_reply::transport_failure("timed out"));
    host.script_fetch(tt::fetch_reply::ok(first_page));
    host.script_fetch(status(401));
    auto result = run();
    BOOST_TEST(result.status == TRIB_ERR_UNAUTHORIZED);
    BOOST_TEST(host.logs().size() >= 5u);
    BOOST_TEST(!host.mentions(write_key_32));
    for (const auto& request : host.requests()) {
        BOOST_TEST(request.url.find(write_key_32) == std::string::npos);
    }
}

BOOST_AUTO_TEST_SUITE_END()
