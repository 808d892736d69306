// restart_test.cpp: `tributary serve` killed with SIGKILL in the middle of a backfill, then
// started again on the same data directory: the job resumes and ends with exact counts.
#include "app/app.hpp"

#define BOOST_TEST_MODULE backfill_restart
#include <boost/test/unit_test.hpp>

#include "backfill_fixture.hpp"
#include "child_process.hpp"
#include "store/sqlite.hpp"

namespace {

using namespace tributary::backfill_test;

const fs::path bin_dir = fs::path(TRIBUTARY_BINARY_DIR) / "bin";
constexpr std::size_t responses = 3000;

// The emulator as a process of its own, with the data set of emulator_options(responses).
std::unique_ptr<child_process> start_emulator(const fs::path& dir) {
    return std::make_unique<child_process>(
        bin_dir / "satismeter-emulator",
        std::vector<std::string>{"--listen", "127.0.0.1:0", "--responses",
                                 std::to_string(responses), "--now", "2025-06-01T12:00:00Z",
                                 "--users", std::to_string(pool_users), "--companies",
                                 std::to_string(pool_companies), "--api-key", std::string(api_key)},
        dir / "emulator.stderr");
}

std::unique_ptr<child_process> start_host(const fs::path& dir, const std::string& name) {
    return std::make_unique<child_process>(
        bin_dir / "tributary",
        std::vector<std::string>{"serve", "--listen", "127.0.0.1:0", "--data-dir",
                                 (dir / "data").string(), "--plugin-dir", TRIBUTARY_PLUGIN_DIR,
                                 "--manifest-dir", TRIBUTARY_MANIFEST_DIR},
        dir / (name + ".stderr"),
        std::vector<std::string>{"TRIBUTARY_ADMIN_TOKEN=" + std::string(ti::admin_token)});
}

void set_faults(std::uint16_t emulator_port, const std::string& plan) {
    auto a = ti::http_client(emulator_port).post("/_emulator/faults", plan);
    BOOST_TEST_REQUIRE(a.status == 200u, a.body);
}

}  // namespace

BOOST_AUTO_TEST_CASE(resumes_after_kill_9_with_exact_counts) {
    ti::temp_dir dir("tributary-backfill-restart");
    auto emulator = start_emulator(dir.path());
    auto emulator_port = emulator->listening_port();
    em::satismeter_dataset data(emulator_options(responses).data);
    auto want = expect_from(data);
    // Slow pages keep the job running long enough to be killed in the middle.
    set_faults(emulator_port, R"({"slow": 1000000, "slowMs": 100})");

    auto host = start_host(dir.path(), "host-1");
    ti::http_client admin(host->listening_port(), std::string(ti::admin_token));
    create_tenant(admin);
    seed_directory(admin, data);
    auto inst =
        install(admin, emulator_config("http://127.0.0.1:" + std::to_string(emulator_port)));
    auto id = start_job_ok(admin, inst.id);

    auto before = wait_for_job(admin, id, [](const bj::object& j) { return pages_of(j) >= 5; });
    BOOST_TEST_REQUIRE(pages_of(before) < 25);
    BOOST_TEST_MESSAGE("killing the host after " << pages_of(before) << " committed pages");
    host->signal(SIGKILL);
    auto status = host->wait(10s);
    BOOST_TEST_REQUIRE(status.has_value());
    BOOST_TEST_REQUIRE(WIFSIGNALED(*status));
    BOOST_TEST(WTERMSIG(*status) == SIGKILL);

    // Again on the same data directory, at full speed.
    set_faults(emulator_port, "{}");
    host = start_host(dir.path(), "host-2");
    admin = ti::http_client(host->listening_port(), std::string(ti::admin_token));
    auto job = wait_for_job(admin, id, finished, 120s);

    BOOST_TEST_REQUIRE(job.at("state") == bj::value("succeeded"), bj::serialize(job));
    check_whole_set(job, data, {30, 3000, 3000, 0, 0, 0});
    check_answers(getter_of(admin), data, want);
    auto log = ti::read_file(dir.path() / "host-2.stderr");
    BOOST_TEST(log.find("\"jobs resumed\" count=1") != std::string::npos, log);
    BOOST_TEST(log.find("resumed=true") != std::string::npos, log);

    // Stopped cleanly, the database holds every response of the data set exactly once.
    host->signal(SIGTERM);
    status = host->wait(20s);
    BOOST_TEST_REQUIRE(status.has_value());
    BOOST_TEST(WIFEXITED(*status));
    tributary::host::sqlite::database db(dir.path() / "data" / "tributary.db", true);
    std::set<std::string> ids;
    std::int64_t rows = 0;
    auto& q = db.prepare("SELECT source_id FROM nps_responses WHERE tenant = 'acme'");
    while (q.step()) {
        ids.insert(q.string(0));
        ++rows;
    }
    BOOST_TEST(rows == static_cast<std::int64_t>(responses));
    BOOST_TEST((ids == want.ids));
}
