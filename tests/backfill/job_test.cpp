// job_test.cpp: "Pull historical NPS scores" as a host job against the emulator: the stored
// result, reruns, webhook overlap, cancel, conflicts and the messages of refused runs.
#include "app/app.hpp"

#define BOOST_TEST_MODULE backfill_job
#include <boost/test/unit_test.hpp>

#include "backfill_fixture.hpp"

namespace {

using namespace tributary::backfill_test;

// A webhook delivery of the emulator's response as SatisMeter would post it.
std::string delivery_of(bj::object response) {
    return bj::serialize(bj::object{{"event", "completed"}, {"response", std::move(response)}});
}

// The first response, from index `from` on, that `pick` accepts.
std::size_t find_response(const em::satismeter_dataset& data,
                          const std::function<bool(const em::response_facts&)>& pick,
                          std::size_t from = 0) {
    for (std::size_t i = from; i < data.size(); ++i) {
        if (pick(data.facts_at(i))) {
            return i;
        }
    }
    BOOST_FAIL("no response in the data set fits");
    return 0;
}

bool rated_and_registered(const em::response_facts& f) {
    return f.state == em::response_state::completed && f.rating && f.pool_index &&
           registered(*f.pool_index);
}

}  // namespace

BOOST_AUTO_TEST_CASE(full_backfill_equals_the_data_set) {
    em::satismeter_emulator e(emulator_options(1000));
    e.start();
    backfill_host h;
    auto inst = h.seed(e);
    auto want = expect_from(e.dataset());
    BOOST_TEST_REQUIRE(want.latest.size() > 50u);
    BOOST_TEST_REQUIRE(want.unmatched.size() > 100u);

    auto job = h.run_ok(inst);

    check_whole_set(job, e.dataset(), {10, 1000, 1000, 0, 0, 0});
    BOOST_TEST(job.at("action") == bj::value(action_id));
    BOOST_TEST(!job.contains("error"));
    BOOST_TEST(number(job.at("progress").at("ratePerSecond")) > 0.0);
    check_matches(h, e.dataset(), want);

    // One request per page, all over one kept-alive connection.
    BOOST_TEST(e.stats().responses_requests == 10u);
    BOOST_TEST(e.stats().connections == 1u);
}

BOOST_AUTO_TEST_CASE(rerun_changes_nothing) {
    em::satismeter_emulator e(emulator_options(1000));
    e.start();
    backfill_host h;
    auto inst = h.seed(e);
    h.run_ok(inst);
    auto portfolio = h.get_json(tenant_api + "/nps");
    auto company = h.get_json(tenant_api + "/companies/company3/nps");
    auto unmatched = h.unmatched();

    auto again = h.run_ok(inst);

    check_whole_set(again, e.dataset(), {10, 1000, 0, 0, 1000, 0});
    BOOST_TEST(!again.at("progress").as_object().contains("continuesJob"));
    BOOST_TEST(h.get_json(tenant_api + "/nps") == portfolio);
    BOOST_TEST(h.get_json(tenant_api + "/companies/company3/nps") == company);
    BOOST_TEST(h.unmatched() == unmatched);
    check_matches(h, e.dataset(), expect_from(e.dataset()));
}

BOOST_AUTO_TEST_CASE(a_response_from_webhook_and_backfill_is_stored_once) {
    em::satismeter_emulator e(emulator_options(300));
    e.start();
    backfill_host h;
    auto inst = h.seed(e);
    auto want = expect_from(e.dataset());
    const auto& data = e.dataset();

    // One response arrives by webhook exactly as the export has it.
    auto same = find_response(data, rated_and_registered);
    auto a = h.anonymous().post(h.hook(), delivery_of(e.response_at(same)));
    BOOST_TEST_REQUIRE(a.status == 200u, a.body);

    // Another arrives by webhook in a newer version than the export's: with a comment added.
    auto newer = find_response(data, [&](const em::response_facts& f) {
        return rated_and_registered(f) && !f.feedback && want.latest.at(*f.email).id == f.id &&
               f.index != same;
    });
    auto edited = e.response_at(newer);
    edited["feedback"] = "Added after the export was taken.";
    a = h.anonymous().post(h.hook(), delivery_of(edited));
    BOOST_TEST_REQUIRE(a.status == 200u, a.body);

    auto job = h.run_ok(inst);

    check_counts(job, {3, 300, 298, 0, 1, 1});
    BOOST_TEST(h.stored() == 300);
    auto email = *data.facts_at(newer).email;
    auto user = h.get_json(tenant_api + "/endusers/" + email);
    BOOST_TEST(user.at("nps").at("responseId") == bj::value(data.facts_at(newer).id));
    BOOST_TEST(user.at("nps").at("comment") == bj::value("Added after the export was taken."));

    // The older copy the export still serves does not overwrite it on a rerun either.
    job = h.run_ok(inst);
    check_counts(job, {3, 300, 0, 0, 299, 1});
    user = h.get_json(tenant_api + "/endusers/" + email);
    BOOST_TEST(user.at("nps").at("comment") == bj::value("Added after the export was taken."));
}

BOOST_AUTO_TEST_CASE(an_older_webhook_copy_never_overwrites_the_backfilled_response) {
    em::satismeter_emulator e(emulator_options(300));
    e.start();
    backfill_host h;
    auto inst = h.seed(e);
    auto want = expect_from(e.dataset());
    h.run_ok(inst);

    // The same response as it was before it was finished: pending, without a rating.
    auto latest = find_response(e.dataset(), [&](const em::response_facts& f) {
        return rated_and_registered(f) && want.latest.at(*f.email).id == f.id;
    });
    auto older = e.response_at(latest);
    older.erase("rating");
    older.erase("answers");
    older.erase("feedback");
    older["completed"] = false;
    older["pending"] = true;
    auto a = h.anonymous().post(h.hook(), delivery_of(older));
    BOOST_TEST_REQUIRE(a.status == 200u, a.body);

    BOOST_TEST(h.stored() == 300);
    check_matches(h, e.dataset(), want);
}

BOOST_AUTO_TEST_CASE(cancel_stops_between_pages_and_keeps_what_was_stored) {
    em::satismeter_emulator e(emulator_options(2000));
    e.start();
    em::fault_plan slow;
    slow.slow = 1'000'000;
    slow.slow_delay = 150ms;
    e.set_faults(slow);
    backfill_host h;
    auto inst = h.seed(e);

    auto id = h.start_ok(inst);
    h.wait_for(id, [](const bj::object& j) { return pages_of(j) >= 2; });
    auto a = h.admin().post("/api/v1/jobs/" + id + "/cancel", "");
    BOOST_TEST_REQUIRE(a.status == 202u, a.body);
    BOOST_TEST(a.json().at("cancelRequested") == bj::value(true));

    auto job = h.wait_finished(id);
    BOOST_TEST(job.at("state") == bj::value("cancelled"));
    BOOST_TEST(!job.contains("error"));
    auto pages = integer(job.at("progress").at("pages"));
    BOOST_TEST(pages < 20);
    check_counts(job, {pages, pages * 100, pages * 100, 0, 0, 0});
    BOOST_TEST(h.stored() == pages * 100);
    auto requests = e.stats().responses_requests;
    std::this_thread::sleep_for(400ms);
    BOOST_TEST(e.stats().responses_requests == requests);

    // A finished job cannot be cancelled again.
    a = h.admin().post("/api/v1/jobs/" + id + "/cancel", "");
    BOOST_TEST(a.status == 409u);
    BOOST_TEST(a.json() == (bj::value{{"error", "the job has already finished"}}));

    // A rerun continues from the last committed page and ends with the whole set, once.
    e.set_faults({});
    auto rerun = h.run_ok(inst);
    check_whole_set(rerun, e.dataset(), {20, 2000, 2000, 0, 0, 0});
    BOOST_TEST(rerun.at("progress").at("continuesJob") == bj::value(id));
    BOOST_TEST(e.stats().responses_requests == requests + 20 - static_cast<std::uint64_t>(pages));
    check_matches(h, e.dataset(), expect_from(e.dataset()));
}

BOOST_AUTO_TEST_CASE(starting_the_same_action_twice_answers_409_with_the_running_job) {
    em::satismeter_emulator e(emulator_options(2000));
    e.start();
    em::fault_plan slow;
    slow.slow = 1'000'000;
    slow.slow_delay = 100ms;
    e.set_faults(slow);
    backfill_host h;
    auto inst = h.seed(e);

    auto id = h.start_ok(inst);
    auto a = h.start(inst);
    BOOST_TEST(a.status == 409u);
    BOOST_TEST(a.json() ==
               (bj::value{{"error", "a job of this action is already running"}, {"jobId", id}}));

    a = h.admin().post("/api/v1/jobs/" + id + "/cancel", "");
    BOOST_TEST_REQUIRE(a.status == 202u, a.body);
    BOOST_TEST(h.wait_finished(id).at("state") == bj::value("cancelled"));
}

BOOST_AUTO_TEST_CASE(cancelling_a_queued_job_ends_it_at_once) {
    em::satismeter_emulator e(emulator_options(2000));
    e.start();
    em::fault_plan slow;
    slow.slow = 1'000'000;
    slow.slow_delay = 100ms;
    e.set_faults(slow);
    backfill_host h;
    auto first = h.seed(e);
    auto second = h.install(emulator_config(e.base_url())).id;

    // One worker: the second installation's job waits behind the first.
    auto running = h.start_ok(first);
    h.wait_for(running, [](const bj::object& j) { return j.at("state") == "running"; });
    auto queued = h.start_ok(second);
    BOOST_TEST(h.job(queued).at("state") == bj::value("queued"));

    auto a = h.admin().post("/api/v1/jobs/" + queued + "/cancel", "");
    BOOST_TEST_REQUIRE(a.status == 202u, a.body);
    BOOST_TEST(a.json().at("state") == bj::value("cancelled"));
    BOOST_TEST(h.job(queued).at("state") == bj::value("cancelled"));
    auto again = h.start_ok(second);

    for (const auto& id : {running, again}) {
        h.admin().post("/api/v1/jobs/" + id + "/cancel", "");
        BOOST_TEST(h.wait_finished(id).at("state") == bj::value("cancelled"));
    }
    BOOST_TEST(h.job(queued).at("progress").as_object().empty());
}

BOOST_AUTO_TEST_CASE(resumes_after_a_clean_restart) {
    em::satismeter_emulator e(emulator_options(2000));
    e.start();
    em::fault_plan slow;
    slow.slow = 1'000'000;
    slow.slow_delay = 100ms;
    e.set_faults(slow);
    backfill_host h;
    auto inst = h.seed(e);
    auto id = h.start_ok(inst);
    h.wait_for(id, [](const bj::object& j) { return pages_of(j) >= 3; });

    h.restart();

    // Stopped between pages, it stays running and goes on from its checkpoint.
    e.set_faults({});
    auto job = h.wait_finished(id);
    BOOST_TEST_REQUIRE(job.at("state") == bj::value("succeeded"), bj::serialize(job));
    check_whole_set(job, e.dataset(), {20, 2000, 2000, 0, 0, 0});
    BOOST_TEST(e.stats().responses_requests == 20u);
    check_matches(h, e.dataset(), expect_from(e.dataset()));
}

BOOST_AUTO_TEST_CASE(rejects_write_key_with_hint) {
    ti::log_capture logs;
    em::satismeter_emulator e(emulator_options(100));
    e.start();
    backfill_host h;
    h.create_tenant();
    const std::string write_key = e.options().write_key;
    auto inst =
        h.install(bj::object{
                      {"projectId", project_id}, {"apiKey", write_key}, {"baseUrl", e.base_url()}})
            .id;

    auto start = h.start(inst);
    BOOST_TEST_REQUIRE(start.status == 202u, start.body);
    auto id = std::string(start.json().at("jobId").as_string());
    auto job = h.wait_finished(id);

    BOOST_TEST(job.at("state") == bj::value("failed"));
    BOOST_TEST(job.at("error") ==
               bj::value("SatisMeter refused the API (\"Read\") key (HTTP 401). The key to use is "
                         "under Settings → Integrations → API in SatisMeter. The key given looks "
                         "like a Write key, which cannot export responses."));
    BOOST_TEST(e.stats().responses_requests == 1u);

    // The key shows nowhere: not in the job, nor in any answer, nor in the log.
    std::vector<std::string> answers{
        start.body,
        h.admin().get("/api/v1/jobs/" + id).body,
        h.admin().get(tenant_api + "/jobs").body,
        h.admin().get(tenant_api + "/installations").body,
        h.admin().post("/api/v1/jobs/" + id + "/cancel", "").body,
    };
    for (const auto& body : answers) {
        BOOST_TEST(body.find(write_key) == std::string::npos, body);
    }
    auto lines = logs.lines();
    BOOST_TEST_REQUIRE(lines_with(lines, {"job failed", id}) == 1u);
    for (const auto& line : lines) {
        BOOST_TEST(line.find(write_key) == std::string::npos, line);
    }
}

BOOST_AUTO_TEST_CASE(fails_clearly_without_an_api_key) {
    em::satismeter_emulator e(emulator_options(100));
    e.start();
    backfill_host h;
    h.create_tenant();
    auto inst = h.install(bj::object{{"projectId", project_id}, {"baseUrl", e.base_url()}}).id;

    auto job = h.wait_finished(h.start_ok(inst));

    BOOST_TEST(job.at("state") == bj::value("failed"));
    BOOST_TEST(job.at("error") ==
               bj::value("The SatisMeter API (\"Read\") key is not set. Add it to this "
                         "connection: it is under Settings → Integrations → API in SatisMeter."));
    BOOST_TEST(e.stats().requests == 0u);
}

BOOST_AUTO_TEST_CASE(fails_clearly_on_an_unknown_project) {
    em::satismeter_emulator e(emulator_options(100));
    e.start();
    backfill_host h;
    h.create_tenant();
    auto inst = h.install(bj::object{{"projectId", "0123456789abcdef01234567"},
                                     {"apiKey", api_key},
                                     {"baseUrl", e.base_url()}})
                    .id;

    auto job = h.wait_finished(h.start_ok(inst));

    BOOST_TEST(job.at("state") == bj::value("failed"));
    BOOST_TEST(job.at("error") ==
               bj::value("SatisMeter does not know the Project ID 0123456789abcdef01234567 "
                         "(HTTP 404). Check the Project ID in this connection's settings."));
    BOOST_TEST(e.stats().responses_requests == 1u);
}
