// faults_test.cpp: the backfill job against an emulator that misbehaves: rate limits, server
// errors, dropped connections, truncated bodies and slow answers.
#include "app/app.hpp"

#define BOOST_TEST_MODULE backfill_faults
#include <boost/test/unit_test.hpp>

#include "backfill_fixture.hpp"

namespace {

using namespace tributary::backfill_test;

// A host seeded for an emulator of 1,000 responses, with the log captured.
struct faulty_setup {
    ti::log_capture logs;
    em::satismeter_emulator e{emulator_options(1000)};
    backfill_host h;
    std::string inst;

    faulty_setup() {
        e.start();
        inst = h.seed(e);
    }

    // Runs the backfill to success and checks that the whole data set arrived, once.
    bj::object run_whole() {
        auto job = h.run_ok(inst);
        check_whole_set(job, e.dataset(), {10, 1000, 1000, 0, 0, 0});
        BOOST_TEST(h.stored() == 1000);
        return job;
    }

    std::size_t retries(std::initializer_list<std::string_view> parts) const {
        std::vector<std::string_view> all{"SatisMeter export failed; trying again"};
        all.insert(all.end(), parts.begin(), parts.end());
        std::size_t n = 0;
        for (const auto& line : logs.lines()) {
            bool every = true;
            for (auto part : all) {
                every = every && line.find(part) != std::string::npos;
            }
            n += every ? 1 : 0;
        }
        return n;
    }
};

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(survives_429_with_retry_after_seconds, faulty_setup) {
    em::fault_plan plan;
    plan.rate_limit = 2;
    plan.retry_after_seconds = 1;
    e.set_faults(plan);
    auto start = std::chrono::steady_clock::now();

    run_whole();

    BOOST_TEST(seconds_since(start) >= 2.0);
    BOOST_TEST(e.stats().faults_injected == 2u);
    BOOST_TEST(e.stats().responses_requests == 12u);
    BOOST_TEST(retries({"problem=\"HTTP 429\"", "waitMs=1000"}) == 2u);
    check_matches(h, e.dataset(), expect_from(e.dataset()));
}

BOOST_FIXTURE_TEST_CASE(survives_429_with_retry_after_http_date, faulty_setup) {
    // Set over HTTP, as a test process outside would.
    auto a = ti::http_client(e.port()).post("/_emulator/faults",
                                            R"({"rateLimitDate": 2, "retryAfter": 2})");
    BOOST_TEST_REQUIRE(a.status == 200u, a.body);
    auto start = std::chrono::steady_clock::now();

    run_whole();

    // An HTTP date has whole seconds: each wait is more than one second and at most two.
    BOOST_TEST(seconds_since(start) >= 2.0);
    BOOST_TEST(e.stats().faults_injected == 2u);
    BOOST_TEST(retries({"problem=\"HTTP 429\""}) == 2u);
}

BOOST_FIXTURE_TEST_CASE(survives_server_errors, faulty_setup) {
    em::fault_plan plan;
    plan.server_error = 3;
    plan.server_error_status = 503;
    e.set_faults(plan);

    run_whole();

    BOOST_TEST(e.stats().faults_injected == 3u);
    BOOST_TEST(retries({"problem=\"HTTP 503\""}) == 3u);
}

BOOST_FIXTURE_TEST_CASE(survives_dropped_connections_and_truncated_bodies, faulty_setup) {
    em::fault_plan plan;
    plan.drop = 3;
    plan.truncate = 2;
    e.set_faults(plan);

    run_whole();

    BOOST_TEST(e.stats().faults_injected == 5u);
    BOOST_TEST(retries({"connection closed before any response"}) >= 1u);
    BOOST_TEST(retries({"connection closed before the whole response body arrived"}) == 2u);
    check_matches(h, e.dataset(), expect_from(e.dataset()));
}

BOOST_FIXTURE_TEST_CASE(fails_after_too_many_server_errors_and_a_rerun_continues, faulty_setup) {
    em::fault_plan plan;
    plan.fail_page = 3;
    plan.fail_page_times = 6;
    plan.fail_page_status = 500;
    e.set_faults(plan);

    auto id = h.start_ok(inst);
    auto job = h.wait_finished(id);

    BOOST_TEST(job.at("state") == bj::value("failed"));
    BOOST_TEST(job.at("error") == bj::value("SatisMeter export failed after 6 tries: HTTP 500"));
    check_counts(job, {2, 200, 200, 0, 0, 0});
    BOOST_TEST(h.stored() == 200);
    BOOST_TEST(retries({"problem=\"HTTP 500\""}) == 5u);
    BOOST_TEST(lines_with(logs.lines(), {"job failed", id, "HTTP 500"}) == 1u);
    auto checkpoint = h.checkpoint(id);
    BOOST_TEST_REQUIRE(checkpoint.is_object());
    BOOST_TEST(checkpoint.at("pages") == bj::value(2));
    BOOST_TEST(checkpoint.at("cursor").is_string());
    auto requests = e.stats().responses_requests;
    BOOST_TEST(requests == 8u);

    // The rerun asks for pages 3 to 10 only, and the counts come out as one clean run's.
    auto rerun = h.run_ok(inst);
    check_whole_set(rerun, e.dataset(), {10, 1000, 1000, 0, 0, 0});
    BOOST_TEST(rerun.at("progress").at("continuesJob") == bj::value(id));
    BOOST_TEST(e.stats().responses_requests == requests + 8);
    BOOST_TEST(h.stored() == 1000);
    check_matches(h, e.dataset(), expect_from(e.dataset()));

    // After a success, a rerun starts afresh again.
    auto fresh = h.run_ok(inst);
    check_whole_set(fresh, e.dataset(), {10, 1000, 0, 0, 1000, 0});
    BOOST_TEST(!fresh.at("progress").as_object().contains("continuesJob"));
}

BOOST_FIXTURE_TEST_CASE(a_page_that_is_not_json_is_retried, faulty_setup) {
    em::fault_plan plan;
    plan.malformed = 2;
    e.set_faults(plan);

    run_whole();

    BOOST_TEST(e.stats().faults_injected == 2u);
    BOOST_TEST(retries({"problem=\"the answer is not valid JSON\""}) == 2u);
}

BOOST_FIXTURE_TEST_CASE(fails_when_every_page_is_not_json, faulty_setup) {
    em::fault_plan plan;
    plan.malformed = 6;
    e.set_faults(plan);

    auto job = h.wait_finished(h.start_ok(inst));

    BOOST_TEST(job.at("state") == bj::value("failed"));
    BOOST_TEST(job.at("error") ==
               bj::value("SatisMeter export failed after 6 tries: the answer is not valid JSON"));
    BOOST_TEST(h.stored() == 0);
}

BOOST_FIXTURE_TEST_CASE(retries_a_slow_answer_past_the_read_timeout, faulty_setup) {
    // The connector gives a page 30 seconds; this answer comes a second later.
    em::fault_plan plan;
    plan.slow = 1;
    plan.slow_delay = 31s;
    e.set_faults(plan);
    auto start = std::chrono::steady_clock::now();

    auto job = h.wait_finished(h.start_ok(inst), 90s);

    BOOST_TEST_REQUIRE(job.at("state") == bj::value("succeeded"), bj::serialize(job));
    check_whole_set(job, e.dataset(), {10, 1000, 1000, 0, 0, 0});
    BOOST_TEST(seconds_since(start) >= 30.0);
    BOOST_TEST(seconds_since(start) < 60.0);
    BOOST_TEST(retries({"timed out after 30000 ms waiting for the response"}) == 1u);
    BOOST_TEST(e.stats().responses_requests == 11u);
}
