// store_test.cpp: migrations, upserts, identity matching, incremental rollups and group commit.
#include "store/store.hpp"

#include "store/schema.hpp"

#define BOOST_TEST_MODULE store
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace fs = std::filesystem;
namespace th = tributary::host;
namespace nps = tributary::nps;

namespace tributary::host {

std::ostream& operator<<(std::ostream& os, upsert_outcome o) {
    return os << to_string(o);
}

}  // namespace tributary::host

namespace {

constexpr std::int64_t t0 = 1700000000000;  // 2023-11-14T22:13:20Z
constexpr std::int64_t minute = 60'000;
constexpr std::int64_t hour = 60 * minute;
constexpr const char* tenant = "acme";

// A directory of its own under the system's temporary directory, removed afterwards.
class temp_dir {
public:
    temp_dir() {
        std::random_device random;
        path_ = fs::temp_directory_path() /
                ("tributary-store-" + std::to_string(random()) + "-" + std::to_string(random()));
        fs::create_directories(path_);
    }
    ~temp_dir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

th::nps_record response(std::string id, std::optional<std::string> email, std::optional<int> score,
                        std::int64_t created, std::string state = "completed") {
    th::nps_record r;
    r.source = "satismeter";
    r.source_id = std::move(id);
    r.email = std::move(email);
    r.score = score;
    r.state = std::move(state);
    r.created_ms = created;
    r.raw_json = "{}";
    return r;
}

// What the SatisMeter rollup hook says: completed responses with a score count.
th::nps_contribution contribution_of(const th::nps_record& r) {
    return {r.state == "completed" && r.score.has_value(), r.score.value_or(0)};
}

th::end_user_input end_user(std::string email, std::optional<std::string> company,
                            std::optional<std::vector<std::string>> others = std::nullopt) {
    th::end_user_input in;
    in.email = std::move(email);
    in.company_external_id = std::move(company);
    in.other_emails = std::move(others);
    return in;
}

// "promoters/passives/detractors/score sum", so that one assertion shows all four.
std::string text(const nps::figures& f) {
    return std::to_string(f.promoters) + "/" + std::to_string(f.passives) + "/" +
           std::to_string(f.detractors) + "/" + std::to_string(f.score_sum);
}

std::string counts_text(const th::upsert_counts& c) {
    return std::to_string(c.inserted) + "/" + std::to_string(c.updated) + "/" +
           std::to_string(c.unchanged);
}

struct store_fixture {
    store_fixture() {
        open();
        BOOST_TEST_REQUIRE(
            write([](th::write_txn& txn) { return txn.create_tenant(tenant, "Acme"); }));
    }

    void open() { db = std::make_unique<th::store>(th::store_options{file}); }

    // A connection of the test's own, for what the store's interface does not show.
    std::unique_ptr<th::sqlite::database> peek() const {
        return std::make_unique<th::sqlite::database>(file);
    }

    template <class F, class R = std::invoke_result_t<F&, th::write_txn&>>
    R write(F&& f) {
        return db->write_sync<R>(std::function<R(th::write_txn&)>(std::forward<F>(f)));
    }

    th::upsert_counts companies(const std::vector<std::string>& ids) {
        std::vector<th::company_input> rows;
        for (const auto& id : ids) {
            rows.push_back({id, "Company " + id, {id + ".example"}});
        }
        return write([&](th::write_txn& txn) { return txn.upsert_companies(tenant, rows); });
    }

    th::upsert_counts users(const std::vector<th::end_user_input>& rows) {
        return write([&](th::write_txn& txn) { return txn.upsert_end_users(tenant, rows); });
    }

    th::upsert_outcome respond(const th::nps_record& r) {
        return write(
            [&](th::write_txn& txn) { return txn.upsert_response(tenant, r, contribution_of(r)); });
    }

    std::string company(const std::string& external_id) {
        auto v = db->read([&](th::read_txn& txn) { return txn.company_nps(tenant, external_id); });
        return v ? text(v->nps.figures) : "no company";
    }

    // The Company's history rows, oldest first, as "day promoters/passives/detractors/sum".
    std::vector<std::string> history(const std::string& external_id) const {
        auto conn = peek();
        auto& q = conn->prepare(
            "SELECT d.day, d.promoters, d.passives, d.detractors, d.score_sum "
            "FROM company_nps_daily d JOIN companies c ON c.id = d.company_id "
            "WHERE c.external_id = ? ORDER BY d.day");
        q.bind(1, external_id);
        std::vector<std::string> rows;
        while (q.step()) {
            rows.push_back(q.string(0) + " " +
                           text({q.int64(1), q.int64(2), q.int64(3), q.int64(4)}));
        }
        q.reset();
        return rows;
    }

    // As if the Company's figures had last changed at ms.
    void changed_on(const std::string& external_id, std::int64_t ms) const {
        peek()->exec("UPDATE companies SET nps_updated_ms = " + std::to_string(ms) +
                     " WHERE external_id = '" + external_id + "'");
    }

    std::string portfolio() {
        return text(db->read([](th::read_txn& txn) { return txn.tenant_nps(tenant); }).figures);
    }

    // "<score> <response id>", "no score" or "no user".
    std::string score_of(const std::string& email) {
        auto v = db->read([&](th::read_txn& txn) { return txn.end_user(tenant, email); });
        if (!v) {
            return "no user";
        }
        if (!v->nps_score) {
            return "no score";
        }
        return std::to_string(*v->nps_score) + " " + v->nps_response_id.value_or("?");
    }

    std::vector<th::unmatched_view> unmatched() {
        return db->read([](th::read_txn& txn) { return txn.unmatched(tenant, 100, 0); });
    }

    temp_dir dir;
    fs::path file = dir.path() / "data" / "tributary.db";
    std::unique_ptr<th::store> db;
};

}  // namespace

// ---- migrations ------------------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(migrations, store_fixture)

BOOST_AUTO_TEST_CASE(fresh_database_reaches_latest_version) {
    BOOST_TEST(th::latest_schema_version() >= 1);
    BOOST_TEST(db->schema_version() == th::latest_schema_version());

    auto conn = peek();
    auto& q = conn->prepare("PRAGMA user_version");
    BOOST_TEST_REQUIRE(q.step());
    BOOST_TEST(q.int64(0) == th::latest_schema_version());
    q.reset();
    auto& mode = conn->prepare("PRAGMA journal_mode");
    BOOST_TEST_REQUIRE(mode.step());
    BOOST_TEST(mode.string(0) == "wal");
}

BOOST_AUTO_TEST_CASE(reopening_keeps_data) {
    companies({"c1"});
    users({end_user("ada@example.test", "c1")});
    BOOST_TEST(respond(response("r1", "ada@example.test", 9, t0)) == th::upsert_outcome::inserted);
    db.reset();

    open();
    BOOST_TEST(db->schema_version() == th::latest_schema_version());
    BOOST_TEST(db->read([](th::read_txn& txn) { return txn.tenant_exists(tenant); }));
    BOOST_TEST(score_of("ada@example.test") == "9 r1");
    BOOST_TEST(company("c1") == "1/0/0/9");
    BOOST_TEST(respond(response("r1", "ada@example.test", 9, t0)) == th::upsert_outcome::unchanged);
}

BOOST_AUTO_TEST_CASE(refuses_database_with_newer_schema_version) {
    db.reset();
    int newer = th::latest_schema_version() + 1;
    peek()->exec("PRAGMA user_version = " + std::to_string(newer));

    std::string expected = file.string() + ": the database has schema version " +
                           std::to_string(newer) + ", newer than this host knows (" +
                           std::to_string(th::latest_schema_version()) + ")";
    BOOST_CHECK_EXCEPTION(open(), th::sqlite::error,
                          [&](const th::sqlite::error& e) { return e.what() == expected; });

    auto conn = peek();
    auto& q = conn->prepare("PRAGMA user_version");
    BOOST_TEST_REQUIRE(q.step());
    BOOST_TEST(q.int64(0) == newer);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- tenants, companies, End Users -----------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(records, store_fixture)

BOOST_AUTO_TEST_CASE(duplicate_tenant_is_refused_and_keeps_its_name) {
    BOOST_TEST(write([](th::write_txn& txn) { return txn.create_tenant("beta", "Beta"); }));
    BOOST_TEST(!write([](th::write_txn& txn) { return txn.create_tenant("beta", "Other"); }));
    BOOST_TEST(db->read([](th::read_txn& txn) { return txn.tenant_exists("beta"); }));
    BOOST_TEST(!db->read([](th::read_txn& txn) { return txn.tenant_exists("gamma"); }));

    auto conn = peek();
    auto& q = conn->prepare("SELECT name FROM tenants WHERE id = 'beta'");
    BOOST_TEST_REQUIRE(q.step());
    BOOST_TEST(q.string(0) == "Beta");
}

BOOST_AUTO_TEST_CASE(new_tenant_has_empty_figures) {
    BOOST_TEST(portfolio() == "0/0/0/0");
    BOOST_TEST(!db->read([](th::read_txn& txn) { return txn.tenant_nps(tenant); })
                    .figures.score()
                    .has_value());
}

BOOST_AUTO_TEST_CASE(company_upsert_counts_inserted_updated_unchanged) {
    BOOST_TEST(counts_text(companies({"c1", "c2"})) == "2/0/0");

    std::vector<th::company_input> rows{{"c1", "Company c1", {"c1.example"}},
                                        {"c2", "Renamed", {"c2.example"}},
                                        {"c3", "Company c3", {}}};
    auto counts = write([&](th::write_txn& txn) { return txn.upsert_companies(tenant, rows); });
    BOOST_TEST(counts_text(counts) == "1/1/1");

    rows = {{"c1", "Company c1", {"c1.example", "c1.test"}}};
    counts = write([&](th::write_txn& txn) { return txn.upsert_companies(tenant, rows); });
    BOOST_TEST(counts_text(counts) == "0/1/0");

    auto renamed = db->read([](th::read_txn& txn) { return txn.company_nps(tenant, "c2"); });
    BOOST_TEST_REQUIRE(renamed.has_value());
    BOOST_TEST(renamed->name == "Renamed");
    BOOST_TEST(db->read([](th::read_txn& txn) { return txn.companies_nps(tenant); }).size() == 3u);
}

BOOST_AUTO_TEST_CASE(companies_are_kept_per_tenant) {
    companies({"c1"});
    write([](th::write_txn& txn) { return txn.create_tenant("beta", "Beta"); });
    std::vector<th::company_input> rows{{"c1", "Beta's c1", {}}};
    auto counts = write([&](th::write_txn& txn) { return txn.upsert_companies("beta", rows); });
    BOOST_TEST(counts_text(counts) == "1/0/0");
    auto acme = db->read([](th::read_txn& txn) { return txn.company_nps(tenant, "c1"); });
    BOOST_TEST_REQUIRE(acme.has_value());
    BOOST_TEST(acme->name == "Company c1");
}

BOOST_AUTO_TEST_CASE(end_user_upsert_counts_inserted_updated_unchanged) {
    companies({"c1", "c2"});
    BOOST_TEST(counts_text(users({end_user("a@example.test", "c1"),
                                  end_user("b@example.test", "c1")})) == "2/0/0");
    BOOST_TEST(counts_text(users({end_user("a@example.test", "c1")})) == "0/0/1");

    auto renamed = end_user("a@example.test", "c1");
    renamed.name = "Ada";
    auto moved = end_user("b@example.test", "c2");
    BOOST_TEST(counts_text(users({renamed, moved})) == "0/2/0");

    // A field left out keeps what is stored.
    BOOST_TEST(counts_text(users({end_user("a@example.test", "c1")})) == "0/0/1");
    auto v = db->read([](th::read_txn& txn) { return txn.end_user(tenant, "a@example.test"); });
    BOOST_TEST_REQUIRE(v.has_value());
    BOOST_TEST(v->name.value_or("") == "Ada");
    BOOST_TEST(v->company_external_id.value_or("") == "c1");
}

BOOST_AUTO_TEST_CASE(unknown_company_stores_nothing_of_that_write) {
    companies({"c1"});
    std::vector<th::end_user_input> rows{end_user("a@example.test", "c1"),
                                         end_user("b@example.test", "nope")};
    BOOST_CHECK_EXCEPTION(users(rows), th::invalid_input, [](const th::invalid_input& e) {
        return std::string(e.what()) == "companyExternalId 'nope' is not a known company";
    });
    BOOST_TEST(score_of("a@example.test") == "no user");
    BOOST_TEST(score_of("b@example.test") == "no user");

    // The store keeps working after the failed unit.
    BOOST_TEST(counts_text(users({end_user("a@example.test", "c1")})) == "1/0/0");
}

BOOST_AUTO_TEST_CASE(end_user_is_found_by_any_of_its_emails) {
    users({end_user("a@example.test", std::nullopt, {{"z@example.test", "a2@example.test"}})});
    auto v = db->read([](th::read_txn& txn) { return txn.end_user(tenant, "z@example.test"); });
    BOOST_TEST_REQUIRE(v.has_value());
    BOOST_TEST(v->email == "a@example.test");
    std::vector<std::string> expected{"a2@example.test", "z@example.test"};
    BOOST_TEST(v->other_emails == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(given_other_emails_replace_the_set) {
    users({end_user("a@example.test", std::nullopt, {{"o1@example.test", "o2@example.test"}})});
    users({end_user("a@example.test", std::nullopt, {{"o2@example.test", "o3@example.test"}})});
    users({end_user("a@example.test", std::nullopt)});  // not given: kept

    auto v = db->read([](th::read_txn& txn) { return txn.end_user(tenant, "a@example.test"); });
    BOOST_TEST_REQUIRE(v.has_value());
    std::vector<std::string> expected{"o2@example.test", "o3@example.test"};
    BOOST_TEST(v->other_emails == expected, boost::test_tools::per_element());
    BOOST_TEST(score_of("o1@example.test") == "no user");
}

BOOST_AUTO_TEST_CASE(changed_other_emails_count_as_an_update) {
    users({end_user("a@example.test", std::nullopt)});
    auto counts = users({end_user("a@example.test", std::nullopt, {{"o1@example.test"}})});
    BOOST_TEST(counts_text(counts) == "0/1/0");
    counts = users({end_user("a@example.test", std::nullopt, {{"o1@example.test"}})});
    BOOST_TEST(counts_text(counts) == "0/0/1");
    counts = users({end_user("a@example.test", std::nullopt, std::vector<std::string>{})});
    BOOST_TEST(counts_text(counts) == "0/1/0");
}

BOOST_AUTO_TEST_CASE(other_email_owned_by_another_end_user_is_a_conflict) {
    users({end_user("a@example.test", std::nullopt, {{"shared@example.test"}})});
    auto counts = users(
        {end_user("b@example.test", std::nullopt, {{"shared@example.test", "b2@example.test"}})});
    BOOST_TEST(counts_text(counts) == "1/0/0");
    std::vector<std::string> expected{"shared@example.test"};
    BOOST_TEST(counts.conflicts == expected, boost::test_tools::per_element());

    auto owner =
        db->read([](th::read_txn& txn) { return txn.end_user(tenant, "shared@example.test"); });
    BOOST_TEST_REQUIRE(owner.has_value());
    BOOST_TEST(owner->email == "a@example.test");
    auto b = db->read([](th::read_txn& txn) { return txn.end_user(tenant, "b2@example.test"); });
    BOOST_TEST_REQUIRE(b.has_value());
    BOOST_TEST(b->email == "b@example.test");
}

BOOST_AUTO_TEST_CASE(email_that_is_another_users_other_email_is_refused) {
    users({end_user("a@example.test", std::nullopt, {{"alias@example.test"}})});
    BOOST_CHECK_EXCEPTION(
        users({end_user("alias@example.test", std::nullopt)}), th::invalid_input,
        [](const th::invalid_input& e) {
            return std::string(e.what()) ==
                   "email 'alias@example.test' is already an other email of End User "
                   "'a@example.test'";
        });
}

BOOST_AUTO_TEST_SUITE_END()

// ---- responses and rollups -------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(responses, store_fixture)

BOOST_AUTO_TEST_CASE(repeat_delivery_changes_nothing) {
    companies({"c1"});
    users({end_user("a@example.test", "c1")});
    auto r = response("r1", "a@example.test", 9, t0);
    BOOST_TEST(respond(r) == th::upsert_outcome::inserted);
    BOOST_TEST(respond(r) == th::upsert_outcome::unchanged);
    BOOST_TEST(respond(r) == th::upsert_outcome::unchanged);

    BOOST_TEST(db->read([](th::read_txn& txn) { return txn.count_responses(tenant); }) == 1);
    BOOST_TEST(company("c1") == "1/0/0/9");
    BOOST_TEST(portfolio() == "1/0/0/9");
}

BOOST_AUTO_TEST_CASE(newer_version_updates_and_counts) {
    companies({"c1"});
    users({end_user("a@example.test", "c1")});
    BOOST_TEST(respond(response("r1", "a@example.test", std::nullopt, t0, "pending")) ==
               th::upsert_outcome::inserted);
    BOOST_TEST(score_of("a@example.test") == "no score");
    BOOST_TEST(company("c1") == "0/0/0/0");

    BOOST_TEST(respond(response("r1", "a@example.test", 8, t0)) == th::upsert_outcome::updated);
    BOOST_TEST(score_of("a@example.test") == "8 r1");
    BOOST_TEST(company("c1") == "0/1/0/8");
    BOOST_TEST(portfolio() == "0/1/0/8");
}

BOOST_AUTO_TEST_CASE(older_version_never_overwrites_newer) {
    companies({"c1"});
    users({end_user("a@example.test", "c1")});
    auto newest = response("r1", "a@example.test", 9, t0);
    newest.comment = "great";
    BOOST_TEST(respond(newest) == th::upsert_outcome::inserted);

    // Lower state, older time, less answered: each older than what is stored.
    auto pending = response("r1", "a@example.test", 2, t0, "pending");
    auto dismissed = response("r1", "a@example.test", std::nullopt, t0 + hour, "dismissed");
    auto earlier = response("r1", "a@example.test", 2, t0 - minute);
    earlier.comment = "bad";
    auto less = response("r1", "a@example.test", 2, t0);
    for (const auto& r : {pending, dismissed, earlier, less}) {
        BOOST_TEST(respond(r) == th::upsert_outcome::stale);
    }

    BOOST_TEST(score_of("a@example.test") == "9 r1");
    BOOST_TEST(company("c1") == "1/0/0/9");
    auto conn = peek();
    auto& q = conn->prepare("SELECT score, comment, state, created_ms FROM nps_responses");
    BOOST_TEST_REQUIRE(q.step());
    BOOST_TEST(q.int64(0) == 9);
    BOOST_TEST(q.string(1) == "great");
    BOOST_TEST(q.string(2) == "completed");
    BOOST_TEST(q.int64(3) == t0);
}

BOOST_AUTO_TEST_CASE(equal_version_with_other_content_keeps_the_first) {
    users({end_user("a@example.test", std::nullopt)});
    auto first = response("r1", "a@example.test", 9, t0);
    first.comment = "first";
    auto second = first;
    second.comment = "second";
    second.score = 3;
    BOOST_TEST(respond(first) == th::upsert_outcome::inserted);
    BOOST_TEST(respond(second) == th::upsert_outcome::stale);
    BOOST_TEST(score_of("a@example.test") == "9 r1");
}

BOOST_AUTO_TEST_CASE(dismissed_response_is_stored_but_not_counted) {
    companies({"c1"});
    users({end_user("a@example.test", "c1")});
    BOOST_TEST(respond(response("r1", "a@example.test", 6, t0)) == th::upsert_outcome::inserted);
    BOOST_TEST(respond(response("r2", "a@example.test", std::nullopt, t0 + hour, "dismissed")) ==
               th::upsert_outcome::inserted);

    BOOST_TEST(score_of("a@example.test") == "6 r1");
    BOOST_TEST(company("c1") == "0/0/1/6");
    BOOST_TEST(db->read([](th::read_txn& txn) { return txn.count_responses(tenant); }) == 2);
    BOOST_TEST(unmatched().empty());
}

BOOST_AUTO_TEST_CASE(latest_by_created_wins_even_when_older_arrives_later) {
    companies({"c1"});
    users({end_user("a@example.test", "c1")});
    BOOST_TEST(respond(response("r2", "a@example.test", 10, t0 + hour)) ==
               th::upsert_outcome::inserted);
    BOOST_TEST(respond(response("r1", "a@example.test", 0, t0)) == th::upsert_outcome::inserted);

    BOOST_TEST(score_of("a@example.test") == "10 r2");
    BOOST_TEST(company("c1") == "1/0/0/10");
    BOOST_TEST(portfolio() == "1/0/0/10");

    BOOST_TEST(respond(response("r3", "a@example.test", 7, t0 + 2 * hour)) ==
               th::upsert_outcome::inserted);
    BOOST_TEST(score_of("a@example.test") == "7 r3");
    BOOST_TEST(company("c1") == "0/1/0/7");
}

BOOST_AUTO_TEST_CASE(equal_times_go_to_the_higher_source_id) {
    users({end_user("a@example.test", std::nullopt), end_user("b@example.test", std::nullopt)});
    respond(response("r-b", "a@example.test", 9, t0));
    respond(response("r-a", "a@example.test", 1, t0));
    respond(response("r-a2", "b@example.test", 1, t0));
    respond(response("r-b2", "b@example.test", 9, t0));

    BOOST_TEST(score_of("a@example.test") == "9 r-b");
    BOOST_TEST(score_of("b@example.test") == "9 r-b2");
    BOOST_TEST(portfolio() == "2/0/0/18");
}

BOOST_AUTO_TEST_CASE(score_change_of_current_response_moves_counts) {
    companies({"c1"});
    users({end_user("a@example.test", "c1"), end_user("b@example.test", "c1")});
    respond(response("r0", "b@example.test", 8, t0));
    BOOST_TEST(respond(response("r1", "a@example.test", 3, t0)) == th::upsert_outcome::inserted);
    BOOST_TEST(company("c1") == "0/1/1/11");

    // A comment makes the new version more answered, hence newer.
    auto changed = response("r1", "a@example.test", 9, t0);
    changed.comment = "changed my mind";
    BOOST_TEST(respond(changed) == th::upsert_outcome::updated);
    BOOST_TEST(score_of("a@example.test") == "9 r1");
    BOOST_TEST(company("c1") == "1/1/0/17");
    BOOST_TEST(portfolio() == "1/1/0/17");
}

BOOST_AUTO_TEST_CASE(newer_version_that_stops_counting_falls_back_to_the_previous) {
    users({end_user("a@example.test", std::nullopt)});
    respond(response("r1", "a@example.test", 9, t0));
    respond(response("r2", "a@example.test", 2, t0 + hour));
    BOOST_TEST(score_of("a@example.test") == "2 r2");

    BOOST_TEST(respond(response("r2", "a@example.test", std::nullopt, t0 + 2 * hour)) ==
               th::upsert_outcome::updated);
    BOOST_TEST(score_of("a@example.test") == "9 r1");
    BOOST_TEST(portfolio() == "1/0/0/9");
}

BOOST_AUTO_TEST_CASE(email_change_reattaches_the_response) {
    companies({"c1", "c2"});
    users({end_user("a@example.test", "c1"), end_user("b@example.test", "c2")});
    respond(response("r1", "a@example.test", 9, t0));
    BOOST_TEST(company("c1") == "1/0/0/9");

    auto moved = response("r1", "b@example.test", 9, t0);
    moved.comment = "now b";
    BOOST_TEST(respond(moved) == th::upsert_outcome::updated);
    BOOST_TEST(score_of("a@example.test") == "no score");
    BOOST_TEST(score_of("b@example.test") == "9 r1");
    BOOST_TEST(company("c1") == "0/0/0/0");
    BOOST_TEST(company("c2") == "1/0/0/9");
    BOOST_TEST(portfolio() == "1/0/0/9");

    // To an address nobody has: the response waits unmatched and counts nowhere.
    auto lost = response("r1", "nobody@example.test", 9, t0 + hour);
    BOOST_TEST(respond(lost) == th::upsert_outcome::updated);
    BOOST_TEST(score_of("b@example.test") == "no score");
    BOOST_TEST(company("c2") == "0/0/0/0");
    BOOST_TEST(portfolio() == "0/0/0/0");
    BOOST_TEST_REQUIRE(unmatched().size() == 1u);
    BOOST_TEST(unmatched()[0].email.value_or("") == "nobody@example.test");
}

BOOST_AUTO_TEST_CASE(response_without_email_stays_unmatched) {
    BOOST_TEST(respond(response("r1", std::nullopt, 5, t0)) == th::upsert_outcome::inserted);
    users({end_user("a@example.test", std::nullopt)});

    auto queue = unmatched();
    BOOST_TEST_REQUIRE(queue.size() == 1u);
    BOOST_TEST(queue[0].response_id == "r1");
    BOOST_TEST(queue[0].source == "satismeter");
    BOOST_TEST(!queue[0].email.has_value());
    BOOST_TEST(queue[0].score.value_or(-1) == 5);
    BOOST_TEST(queue[0].state == "completed");
    BOOST_TEST(queue[0].created_ms == t0);
    BOOST_TEST(portfolio() == "0/0/0/0");
}

BOOST_AUTO_TEST_CASE(unmatched_response_is_claimed_by_a_later_end_user) {
    companies({"c1"});
    respond(response("r1", "late@example.test", 10, t0));
    respond(response("r2", "late@example.test", std::nullopt, t0 + hour, "dismissed"));
    BOOST_TEST(unmatched().size() == 2u);
    BOOST_TEST(portfolio() == "0/0/0/0");

    auto counts = users({end_user("late@example.test", "c1")});
    BOOST_TEST(counts_text(counts) == "1/0/0");
    BOOST_TEST(counts.matched_responses == 2);
    BOOST_TEST(unmatched().empty());
    BOOST_TEST(score_of("late@example.test") == "10 r1");
    BOOST_TEST(company("c1") == "1/0/0/10");
    BOOST_TEST(portfolio() == "1/0/0/10");
}

BOOST_AUTO_TEST_CASE(unmatched_response_is_claimed_through_an_other_email) {
    companies({"c1"});
    users({end_user("a@example.test", "c1")});
    respond(response("r1", "a@example.test", 4, t0));
    respond(response("r2", "alias@example.test", 9, t0 + hour));
    BOOST_TEST(score_of("a@example.test") == "4 r1");

    auto counts = users({end_user("a@example.test", "c1", {{"alias@example.test"}})});
    BOOST_TEST(counts.matched_responses == 1);
    BOOST_TEST(unmatched().empty());
    BOOST_TEST(score_of("a@example.test") == "9 r2");
    BOOST_TEST(company("c1") == "1/0/0/9");
    BOOST_TEST(portfolio() == "1/0/0/9");
}

BOOST_AUTO_TEST_CASE(removed_other_email_releases_its_responses) {
    companies({"c1"});
    users({end_user("a@example.test", "c1", {{"alias@example.test"}})});
    respond(response("r1", "a@example.test", 3, t0));
    respond(response("r2", "alias@example.test", 9, t0 + hour));
    BOOST_TEST(score_of("a@example.test") == "9 r2");

    auto counts = users({end_user("a@example.test", "c1", std::vector<std::string>{})});
    BOOST_TEST(counts_text(counts) == "0/1/0");
    BOOST_TEST(score_of("a@example.test") == "3 r1");
    BOOST_TEST(company("c1") == "0/0/1/3");
    auto queue = unmatched();
    BOOST_TEST_REQUIRE(queue.size() == 1u);
    BOOST_TEST(queue[0].response_id == "r2");

    // The address's next owner gets the response.
    counts = users({end_user("b@example.test", "c1", {{"alias@example.test"}})});
    BOOST_TEST(counts.matched_responses == 1);
    BOOST_TEST(score_of("b@example.test") == "9 r2");
    BOOST_TEST(company("c1") == "1/0/1/12");
    BOOST_TEST(portfolio() == "1/0/1/12");
}

BOOST_AUTO_TEST_CASE(kept_other_email_keeps_its_responses) {
    users({end_user("a@example.test", std::nullopt, {{"o1@example.test"}})});
    respond(response("r1", "o1@example.test", 9, t0));
    auto counts =
        users({end_user("a@example.test", std::nullopt, {{"o1@example.test", "o2@example.test"}})});
    BOOST_TEST(counts_text(counts) == "0/1/0");
    BOOST_TEST(counts.matched_responses == 0);
    BOOST_TEST(score_of("a@example.test") == "9 r1");
    BOOST_TEST(unmatched().empty());
}

BOOST_AUTO_TEST_CASE(unmatched_queue_is_newest_first_and_paged) {
    respond(response("r1", "x@example.test", 1, t0));
    respond(response("r3", "y@example.test", 3, t0 + 2 * hour));
    respond(response("r2", std::nullopt, 2, t0 + hour));

    auto page = db->read([](th::read_txn& txn) { return txn.unmatched(tenant, 2, 0); });
    BOOST_TEST_REQUIRE(page.size() == 2u);
    BOOST_TEST(page[0].response_id == "r3");
    BOOST_TEST(page[1].response_id == "r2");
    page = db->read([](th::read_txn& txn) { return txn.unmatched(tenant, 2, 2); });
    BOOST_TEST_REQUIRE(page.size() == 1u);
    BOOST_TEST(page[0].response_id == "r1");
}

BOOST_AUTO_TEST_CASE(end_user_moving_company_moves_counts) {
    companies({"c1", "c2"});
    users({end_user("a@example.test", "c1"), end_user("b@example.test", "c1")});
    respond(response("r1", "a@example.test", 9, t0));
    respond(response("r2", "b@example.test", 2, t0));
    BOOST_TEST(company("c1") == "1/0/1/11");

    BOOST_TEST(counts_text(users({end_user("a@example.test", "c2")})) == "0/1/0");
    BOOST_TEST(company("c1") == "0/0/1/2");
    BOOST_TEST(company("c2") == "1/0/0/9");
    BOOST_TEST(portfolio() == "1/0/1/11");

    // Without a company the End User still counts for the tenant.
    BOOST_TEST(counts_text(users({end_user("a@example.test", std::nullopt)})) == "0/1/0");
    BOOST_TEST(company("c2") == "0/0/0/0");
    BOOST_TEST(portfolio() == "1/0/1/11");
    BOOST_TEST(score_of("a@example.test") == "9 r1");

    users({end_user("a@example.test", "c1")});
    BOOST_TEST(company("c1") == "1/0/1/11");
}

// History keeps a Company's closing figures for each earlier day they changed, written at their
// first change on a later day; today's figures are the Company's own row.
BOOST_AUTO_TEST_CASE(company_history_keeps_each_earlier_days_closing_figures) {
    companies({"c1"});
    users({end_user("a@example.test", "c1"), end_user("b@example.test", "c1")});
    respond(response("r1", "a@example.test", 3, t0));
    respond(response("r2", "b@example.test", 9, t0));
    BOOST_TEST(company("c1") == "1/0/1/12");
    BOOST_TEST(history("c1").empty());

    // As if those changes had been made two days ago: the next change closes that day.
    constexpr std::int64_t day = 24 * hour;
    std::int64_t two_days_ago = th::now_ms() - 2 * day;
    changed_on("c1", two_days_ago);
    respond(response("r3", "a@example.test", 10, t0 + hour));
    std::vector<std::string> closed{th::format_day(two_days_ago) + " 1/0/1/12"};
    BOOST_TEST(history("c1") == closed, "");
    BOOST_TEST(company("c1") == "2/0/0/19");

    // Further changes on the same day write no history.
    respond(response("r4", "b@example.test", 7, t0 + hour));
    BOOST_TEST(company("c1") == "1/1/0/17");
    BOOST_TEST(history("c1") == closed, "");

    // A row already there for the day closed (as every change wrote before) takes its closing
    // figures.
    std::int64_t yesterday = th::now_ms() - day;
    changed_on("c1", yesterday);
    peek()->exec(
        "INSERT INTO company_nps_daily (company_id, day, promoters, passives, detractors, "
        "score_sum) SELECT id, '" +
        th::format_day(yesterday) + "', 0, 0, 0, 0 FROM companies WHERE external_id = 'c1'");
    respond(response("r5", "a@example.test", 0, t0 + 2 * hour));
    closed.push_back(th::format_day(yesterday) + " 1/1/0/17");
    BOOST_TEST(history("c1") == closed, "");
    BOOST_TEST(company("c1") == "0/1/1/7");
}

// The closed day is named as format_day names it, also where a division rounds the other way.
BOOST_AUTO_TEST_CASE(company_history_names_days_as_format_day_does) {
    companies({"c1"});
    users({end_user("a@example.test", "c1")});
    respond(response("r1", "a@example.test", 9, t0));
    changed_on("c1", -1);
    respond(response("r2", "a@example.test", 3, t0 + hour));
    BOOST_TEST(th::format_day(-1) == "1969-12-31");
    BOOST_TEST(history("c1") == std::vector<std::string>{"1969-12-31 1/0/0/9"}, "");
}

BOOST_AUTO_TEST_SUITE_END()

// ---- incremental rollups against a recount ---------------------------------------------------

namespace {

constexpr int user_count = 50;
constexpr int company_count = 5;

std::string primary_email(int u) {
    return "user" + std::to_string(u) + "@example.test";
}
std::string alias_email(int u) {
    return "alias" + std::to_string(u) + "@example.test";
}
std::string company_id(int c) {
    return "co" + std::to_string(c);
}

int state_rank(const std::string& state) {
    return state == "completed" ? 2 : state == "dismissed" ? 1 : 0;
}

const char* state_of_rank(int rank) {
    static constexpr const char* states[] = {"pending", "dismissed", "completed"};
    return states[rank];
}

// Random operations with their expected outcome; the last accepted version of every response.
class random_workload {
public:
    explicit random_workload(std::uint32_t seed) : rng_(seed) {}

    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    bool chance(int percent) { return pick(1, 100) <= percent; }

    std::optional<std::string> email() {
        int roll = pick(1, 100);
        if (roll <= 55) {
            return primary_email(pick(0, user_count - 1));
        }
        if (roll <= 75) {
            return alias_email(pick(0, user_count - 1));
        }
        if (roll <= 93) {
            return "stranger" + std::to_string(pick(0, 9)) + "@example.test";
        }
        return std::nullopt;
    }

    std::optional<int> score() {
        return chance(88) ? std::optional<int>(pick(0, 10)) : std::nullopt;
    }

    std::optional<std::string> comment() {
        int roll = pick(1, 100);
        if (roll <= 25) {
            return "comment " + std::to_string(pick(0, 999));
        }
        return roll <= 30 ? std::optional<std::string>("") : std::nullopt;
    }

    th::end_user_input user() {
        int u = pick(0, user_count - 1);
        auto in = end_user(
            primary_email(u),
            chance(8) ? std::nullopt
                      : std::optional<std::string>(company_id(pick(0, company_count - 1))));
        in.name = "User " + std::to_string(u);
        int roll = pick(1, 100);
        if (roll <= 30) {
            in.other_emails = std::vector<std::string>{alias_email(u)};
        } else if (roll <= 36) {
            in.other_emails = std::vector<std::string>{};  // takes the alias away again
        }
        return in;
    }

    th::nps_record fresh() {
        int roll = pick(1, 100);
        auto state = roll <= 75 ? "completed" : roll <= 88 ? "dismissed" : "pending";
        auto r = response("r" + std::to_string(next_id_++), email(), score(),
                          t0 + pick(0, 29) * 24 * hour, state);
        r.comment = comment();
        r.raw_json = "{\"n\":" + std::to_string(next_id_) + "}";
        return r;
    }

    const th::nps_record& existing() {
        auto it = std::next(accepted_.begin(), pick(0, static_cast<int>(accepted_.size()) - 1));
        return it->second;
    }

    // Lower state, or the same state at an older time: older whatever else it says.
    th::nps_record older(const th::nps_record& current) {
        auto r = current;
        int rank = state_rank(current.state);
        if (rank > 0 && chance(50)) {
            r.state = state_of_rank(pick(0, rank - 1));
        } else {
            r.created_ms = *current.created_ms - pick(1, 48) * hour;
        }
        r.score = score();
        r.comment = comment();
        r.email = email();
        r.raw_json = "{\"older\":true}";
        return r;
    }

    // Higher state, more answered, or a later time: newer whatever else it says.
    th::nps_record newer(const th::nps_record& current) {
        auto r = current;
        int rank = state_rank(current.state);
        bool commented = current.comment && !current.comment->empty();
        if (rank < 2 && chance(40)) {
            r.state = state_of_rank(pick(rank + 1, 2));
            r.score = score();
            r.comment = comment();
        } else if (!commented && chance(50)) {
            r.comment = "added " + std::to_string(pick(0, 999));
            r.score = current.score || chance(50) ? std::optional<int>(pick(0, 10)) : std::nullopt;
        } else {
            r.created_ms = *current.created_ms + pick(1, 48) * hour;
            r.score = score();
            r.comment = comment();
        }
        if (chance(30)) {
            r.email = email();
        }
        r.raw_json = "{\"newer\":" + std::to_string(++versions_) + "}";
        return r;
    }

    void accept(const th::nps_record& r) { accepted_[r.source_id] = r; }
    const std::map<std::string, th::nps_record>& accepted() const { return accepted_; }

private:
    std::mt19937 rng_;
    int next_id_ = 0;
    int versions_ = 0;
    std::map<std::string, th::nps_record> accepted_;
};

// The figures recounted from scratch: every End User's latest counting response, found by
// matching the responses' emails against the End Users' addresses.
struct recount {
    std::map<std::string, nps::figures> companies;
    nps::figures tenant;
    std::vector<std::string> wrong_users;  // whose stored score is not their latest
};

recount recount_from_scratch(th::sqlite::database& db) {
    recount out;
    for (int c = 0; c < company_count; ++c) {
        out.companies[company_id(c)] = {};
    }
    auto& q = db.prepare(
        "WITH latest AS (SELECT e.end_user_id AS uid, r.rollup_score AS score, r.source_id AS rid, "
        "  row_number() OVER (PARTITION BY e.end_user_id "
        "                     ORDER BY r.created_ms DESC, r.source_id DESC) AS rn "
        "  FROM nps_responses r JOIN end_user_emails e ON e.tenant = r.tenant AND e.email = "
        "r.email "
        "  WHERE r.tenant = ?1 AND r.rollup_score IS NOT NULL) "
        "SELECT u.email, c.external_id, l.score, l.rid, u.nps_score, u.nps_response_id "
        "FROM end_users u LEFT JOIN latest l ON l.uid = u.id AND l.rn = 1 "
        "LEFT JOIN companies c ON c.id = u.company_id WHERE u.tenant = ?1");
    q.bind(1, tenant);
    while (q.step()) {
        auto score = q.opt_int64(2);
        if (score != q.opt_int64(4) || q.opt_string(3) != q.opt_string(5)) {
            out.wrong_users.push_back(q.string(0));
        }
        if (!score) {
            continue;
        }
        out.tenant.add(static_cast<int>(*score));
        if (auto company = q.opt_string(1)) {
            out.companies[*company].add(static_cast<int>(*score));
        }
    }
    return out;
}

std::int64_t count(th::sqlite::database& db, const std::string& sql) {
    auto& q = db.prepare(sql);
    q.step();
    return q.int64(0);
}

// Stored responses that differ from the last version the workload saw accepted.
std::vector<std::string> responses_off_model(th::sqlite::database& db,
                                             const random_workload& work) {
    std::vector<std::string> off;
    auto& q = db.prepare(
        "SELECT source_id, email, score, rollup_score, comment, state, created_ms, raw "
        "FROM nps_responses");
    while (q.step()) {
        auto it = work.accepted().find(q.string(0));
        if (it == work.accepted().end()) {
            off.push_back(q.string(0));
            continue;
        }
        const auto& r = it->second;
        // -1 stands for no score in both.
        auto c = contribution_of(r);
        if (q.opt_string(1) != r.email || q.opt_int64(2).value_or(-1) != r.score.value_or(-1) ||
            q.opt_int64(3).value_or(-1) != (c.counts ? c.score : -1) ||
            q.opt_string(4) != r.comment || q.string(5) != r.state || q.int64(6) != *r.created_ms ||
            q.string(7) != r.raw_json) {
            off.push_back(q.string(0));
        }
    }
    return off;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(incremental_rollups_equal_a_recount, store_fixture) {
    constexpr int operations = 3000;
    constexpr int check_every = 100;
    random_workload work(20240305);
    std::vector<std::string> ids;
    for (int c = 0; c < company_count; ++c) {
        ids.push_back(company_id(c));
    }
    companies(ids);

    for (int op = 1; op <= operations; ++op) {
        int roll = work.pick(1, 100);
        if (roll <= 15) {
            auto counts = users({work.user()});
            BOOST_TEST(counts.inserted + counts.updated + counts.unchanged == 1);
            BOOST_TEST(counts.conflicts.empty());
        } else if (roll <= 55 || work.accepted().empty()) {
            auto r = work.fresh();
            BOOST_TEST(respond(r) == th::upsert_outcome::inserted, "op " << op);
            work.accept(r);
        } else if (roll <= 68) {
            BOOST_TEST(respond(work.existing()) == th::upsert_outcome::unchanged, "op " << op);
        } else if (roll <= 80) {
            BOOST_TEST(respond(work.older(work.existing())) == th::upsert_outcome::stale,
                       "op " << op);
        } else {
            auto r = work.newer(work.existing());
            BOOST_TEST(respond(r) == th::upsert_outcome::updated, "op " << op);
            work.accept(r);
        }

        if (op % check_every != 0) {
            continue;
        }
        BOOST_TEST_CONTEXT("after " << op << " operations") {
            auto conn = peek();
            auto expected = recount_from_scratch(*conn);
            BOOST_TEST(
                expected.wrong_users.empty(),
                "first: " << (expected.wrong_users.empty() ? "" : expected.wrong_users.front()));
            BOOST_TEST(portfolio() == text(expected.tenant));
            auto stored = db->read([](th::read_txn& txn) { return txn.companies_nps(tenant); });
            BOOST_TEST_REQUIRE(stored.size() == expected.companies.size());
            for (const auto& c : stored) {
                BOOST_TEST(text(c.nps.figures) == text(expected.companies[c.external_id]),
                           c.external_id);
            }
            BOOST_TEST(count(*conn,
                             "SELECT count(*) FROM nps_responses r LEFT JOIN end_user_emails e "
                             "ON e.tenant = r.tenant AND e.email = r.email "
                             "WHERE r.end_user_id IS NOT e.end_user_id") == 0);
            auto off = responses_off_model(*conn, work);
            BOOST_TEST(off.empty(), "first: " << (off.empty() ? "" : off.front()));
            BOOST_TEST(count(*conn, "SELECT count(*) FROM nps_responses") ==
                       static_cast<std::int64_t>(work.accepted().size()));
        }
    }
    // The workload reached every path: unmatched responses, scored End Users, and End Users
    // whose counting responses tie on time.
    BOOST_TEST(unmatched().size() > 10u);
    BOOST_TEST(
        count(*peek(),
              "SELECT count(*) FROM (SELECT 1 FROM nps_responses WHERE end_user_id IS NOT NULL "
              "AND rollup_score IS NOT NULL GROUP BY end_user_id, created_ms "
              "HAVING count(*) > 1)") > 5);
    BOOST_TEST(db->read([](th::read_txn& txn) {
                     return txn.tenant_nps(tenant);
                 }).figures.responses() > 30);
}

// ---- group commit ----------------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(group_commit, store_fixture)

BOOST_AUTO_TEST_CASE(concurrent_writes_all_commit_before_their_done_runs) {
    constexpr int threads = 4;
    constexpr int per_thread = 150;
    constexpr int total = threads * per_thread;
    auto before = db->stats();

    std::mutex mutex;
    std::condition_variable all_done;
    int done = 0;
    int failed = 0;
    int invisible = 0;
    auto on_done = [&](std::string name) {
        return [&, name](std::exception_ptr e) {
            // Runs after the commit: a reader on another connection must see the tenant.
            bool seen = db->read([&](th::read_txn& txn) { return txn.tenant_exists(name); });
            std::lock_guard lock(mutex);
            failed += e ? 1 : 0;
            invisible += seen ? 0 : 1;
            if (++done == total) {
                all_done.notify_all();
            }
        };
    };

    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t) {
        writers.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
                db->write(
                    [name](th::write_txn& txn) {
                        if (!txn.create_tenant(name, name)) {
                            throw std::runtime_error("tenant " + name + " existed");
                        }
                    },
                    on_done(name));
            }
        });
    }
    for (auto& w : writers) {
        w.join();
    }
    {
        std::unique_lock lock(mutex);
        all_done.wait(lock, [&] { return done == total; });
    }

    BOOST_TEST(failed == 0);
    BOOST_TEST(invisible == 0);
    BOOST_TEST(count(*peek(), "SELECT count(*) FROM tenants") == total + 1);
    auto after = db->stats();
    BOOST_TEST(after.writes - before.writes == static_cast<std::uint64_t>(total));
    BOOST_TEST(after.commits - before.commits >= 1u);
    BOOST_TEST(after.commits - before.commits <= after.writes - before.writes);
}

// Queues units while the writer is held by a first one, so that they commit as one batch after
// it; returns each unit's outcome, the holding unit's first. The holder runs `first`.
std::vector<std::exception_ptr> run_as_one_batch(
    th::store& store, const std::vector<th::store::write_fn>& units,
    const th::store::write_fn& first = [](th::write_txn&) {}) {
    std::promise<void> started;
    std::promise<void> release;
    auto released = release.get_future().share();
    std::vector<std::promise<std::exception_ptr>> done(units.size() + 1);
    auto on_done = [&done](std::size_t i) {
        return [&done, i](std::exception_ptr e) { done[i].set_value(e); };
    };
    store.write(
        [&](th::write_txn& txn) {
            started.set_value();
            released.wait();
            first(txn);
        },
        on_done(0));
    started.get_future().wait();
    for (std::size_t i = 0; i < units.size(); ++i) {
        store.write(units[i], on_done(i + 1));
    }
    release.set_value();
    std::vector<std::exception_ptr> outcomes;
    for (auto& d : done) {
        outcomes.push_back(d.get_future().get());
    }
    return outcomes;
}

BOOST_AUTO_TEST_CASE(failing_unit_does_not_undo_its_neighbours_in_the_batch) {
    auto before = db->stats();
    auto outcomes = run_as_one_batch(*db,
                                     {[](th::write_txn& txn) { txn.create_tenant("t1", "T1"); },
                                      [](th::write_txn& txn) {
                                          txn.create_tenant("t2", "T2");
                                          throw std::runtime_error("unit two fails");
                                      },
                                      [](th::write_txn& txn) { txn.create_tenant("t3", "T3"); }},
                                     [](th::write_txn& txn) { txn.create_tenant("t0", "T0"); });

    BOOST_TEST(!outcomes[0]);
    BOOST_TEST(!outcomes[1]);
    BOOST_TEST_REQUIRE(static_cast<bool>(outcomes[2]));
    BOOST_CHECK_EXCEPTION(
        std::rethrow_exception(outcomes[2]), std::runtime_error,
        [](const std::runtime_error& e) { return std::string(e.what()) == "unit two fails"; });
    BOOST_TEST(!outcomes[3]);

    auto exists = [&](const char* id) {
        return db->read([&](th::read_txn& txn) { return txn.tenant_exists(id); });
    };
    BOOST_TEST(exists("t0"));
    BOOST_TEST(exists("t1"));
    BOOST_TEST(!exists("t2"));
    BOOST_TEST(exists("t3"));
    auto after = db->stats();
    BOOST_TEST(after.writes - before.writes == 4u);
    BOOST_TEST(after.commits - before.commits == 2u);
    // The batch of three ran once whole, failed, and ran again with a savepoint per unit.
    BOOST_TEST(after.replayed_batches - before.replayed_batches == 1u);
}

BOOST_AUTO_TEST_CASE(unit_run_again_after_a_neighbour_fails_leaves_its_writes_once) {
    auto before = db->stats();
    std::atomic<int> runs{0};
    th::installation inst;
    inst.tenant = tenant;
    inst.connector = "satismeter";
    // The first runs in the whole-batch pass, then again after its neighbour fails. Its row must
    // be stored once, as if it had run once.
    auto outcomes = run_as_one_batch(*db, {[&, inst](th::write_txn& txn) mutable {
                                               ++runs;
                                               inst.id = "kept";
                                               inst.key_hash = "kept-hash";
                                               txn.insert_installation(inst);
                                           },
                                           [&, inst](th::write_txn& txn) mutable {
                                               inst.id = "refused";
                                               inst.key_hash = "kept-hash";  // UNIQUE: fails
                                               txn.insert_installation(inst);
                                           }});

    BOOST_TEST(!outcomes[0]);
    BOOST_TEST(!outcomes[1]);
    BOOST_TEST(static_cast<bool>(outcomes[2]));
    BOOST_TEST(runs.load() == 2);
    auto rows = db->read([](th::read_txn& txn) { return txn.installations(); });
    BOOST_TEST_REQUIRE(rows.size() == 1u);
    BOOST_TEST(rows[0].id == "kept");
    BOOST_TEST(db->stats().replayed_batches - before.replayed_batches == 1u);
}

BOOST_AUTO_TEST_CASE(failing_units_run_once_and_each_keeps_its_own_error) {
    auto before = db->stats();
    std::atomic<int> failing_runs{0};
    auto failing = [&failing_runs](std::string name) {
        return [&failing_runs, name](th::write_txn& txn) {
            ++failing_runs;
            txn.create_tenant(name, "F");
            throw std::runtime_error(name + " fails");
        };
    };
    auto good = [](std::string name) {
        return [name](th::write_txn& txn) { txn.create_tenant(name, "G"); };
    };
    // Three failures: two passes leave one out each, the third runs with a savepoint per unit.
    auto outcomes = run_as_one_batch(
        *db, {good("g1"), failing("f1"), good("g2"), failing("f2"), failing("f3"), good("g3")});

    std::vector<std::string> errors;
    for (std::size_t i = 1; i < outcomes.size(); ++i) {
        try {
            if (outcomes[i]) {
                std::rethrow_exception(outcomes[i]);
            }
            errors.emplace_back("ok");
        } catch (const std::exception& e) {
            errors.emplace_back(e.what());
        }
    }
    BOOST_TEST(
        errors == (std::vector<std::string>{"ok", "f1 fails", "ok", "f2 fails", "f3 fails", "ok"}),
        boost::test_tools::per_element());
    // Left out of the passes after their failure; f3 fails in the last pass only.
    BOOST_TEST(failing_runs.load() == 3);
    BOOST_TEST(count(*peek(), "SELECT count(*) FROM tenants WHERE id LIKE 'g%'") == 3);
    BOOST_TEST(count(*peek(), "SELECT count(*) FROM tenants WHERE id LIKE 'f%'") == 0);
    auto after = db->stats();
    BOOST_TEST(after.commits - before.commits == 2u);
    BOOST_TEST(after.replayed_batches - before.replayed_batches == 1u);
}

BOOST_AUTO_TEST_CASE(unit_failing_alone_commits_nothing) {
    auto before = db->stats();
    BOOST_CHECK_THROW(write([](th::write_txn& txn) -> bool {
                          txn.create_tenant("alone", "A");
                          throw std::runtime_error("fails alone");
                      }),
                      std::runtime_error);
    BOOST_TEST(!db->read([](th::read_txn& txn) { return txn.tenant_exists("alone"); }));
    auto after = db->stats();
    BOOST_TEST(after.commits == before.commits);
    BOOST_TEST(after.replayed_batches == before.replayed_batches);
}

BOOST_AUTO_TEST_CASE(batch_without_failures_runs_each_unit_once) {
    auto before = db->stats();
    std::atomic<int> runs{0};
    std::vector<th::store::write_fn> units;
    for (int i = 1; i < 5; ++i) {
        units.push_back([&runs, i](th::write_txn& txn) {
            ++runs;
            txn.create_tenant("b" + std::to_string(i), "B");
        });
    }
    for (const auto& outcome : run_as_one_batch(*db, units)) {
        BOOST_TEST(!outcome);
    }
    BOOST_TEST(runs.load() == 4);
    BOOST_TEST(db->stats().replayed_batches == before.replayed_batches);
    BOOST_TEST(count(*peek(), "SELECT count(*) FROM tenants WHERE id LIKE 'b%'") == 4);
}

// The portfolio row is written once per group: the shares of failing units are left out, those
// failing with savepoints (the third failure on) included, and a unit reads its own change.
BOOST_AUTO_TEST_CASE(portfolio_leaves_out_failing_units_and_shows_a_units_own_change) {
    companies({"c1"});
    users({end_user("a@c1.example", "c1"), end_user("b@c1.example", "c1"),
           end_user("c@c1.example", "c1"), end_user("d@c1.example", "c1"),
           end_user("e@c1.example", "c1"), end_user("f@c1.example", "c1")});
    auto rate = [](std::string email, int score, bool fail) {
        return [email, score, fail](th::write_txn& txn) {
            auto r = response("r-" + email, email, score, t0);
            txn.upsert_response(tenant, r, contribution_of(r));
            if (fail) {
                throw std::runtime_error("fails after rating");
            }
        };
    };
    std::string seen;
    auto outcomes =
        run_as_one_batch(*db, {rate("a@c1.example", 9, false), rate("b@c1.example", 3, true),
                               rate("c@c1.example", 7, false), rate("d@c1.example", 10, true),
                               [&](th::write_txn& txn) {
                                   auto r = response("r-e", "e@c1.example", 0, t0);
                                   txn.upsert_response(tenant, r, contribution_of(r));
                                   seen = text(txn.tenant_nps(tenant).figures);
                               },
                               rate("f@c1.example", 1, true)});
    BOOST_TEST(!outcomes[1]);
    BOOST_TEST(static_cast<bool>(outcomes[2]));
    BOOST_TEST(!outcomes[3]);
    BOOST_TEST(static_cast<bool>(outcomes[4]));
    BOOST_TEST(!outcomes[5]);
    BOOST_TEST(static_cast<bool>(outcomes[6]));
    BOOST_TEST(seen == "1/1/1/16");  // a, c and e itself, in the pass that committed
    BOOST_TEST(portfolio() == "1/1/1/16");
    BOOST_TEST(company("c1") == "1/1/1/16");
}

// Rates an End User inside a unit; the unit throws afterwards when asked to.
th::store::write_fn rate_unit(std::string email, int score, bool fail = false) {
    return [email, score, fail](th::write_txn& txn) {
        auto r = response("r-" + email, email, score, t0);
        txn.upsert_response(tenant, r, contribution_of(r));
        if (fail) {
            throw std::runtime_error("fails after rating");
        }
    };
}

// Stands for any error of the portfolio's UPDATE (disk full, I/O): detractors are refused.
void refuse_portfolio_detractors(th::sqlite::database& db) {
    db.exec(
        "CREATE TRIGGER refuse BEFORE UPDATE ON tenant_rollups WHEN NEW.detractors > 0 "
        "BEGIN SELECT RAISE(ABORT, 'portfolio refused'); END");
}

// When the group's one portfolio write fails, the group runs again with each change written at
// once: only the unit whose change fails is refused.
BOOST_AUTO_TEST_CASE(failing_portfolio_write_fails_only_the_unit_that_causes_it) {
    companies({"c1"});
    users({end_user("a@c1.example", "c1"), end_user("b@c1.example", "c1")});
    refuse_portfolio_detractors(*peek());
    auto outcomes =
        run_as_one_batch(*db, {[](th::write_txn& txn) { txn.create_tenant("iso", "Unrelated"); },
                               rate_unit("b@c1.example", 3), rate_unit("a@c1.example", 9)});
    BOOST_TEST(!outcomes[1]);
    BOOST_TEST_REQUIRE(static_cast<bool>(outcomes[2]));
    BOOST_CHECK_EXCEPTION(
        std::rethrow_exception(outcomes[2]), th::sqlite::error, [](const th::sqlite::error& e) {
            return std::string(e.what()).find("portfolio refused") != std::string::npos;
        });
    BOOST_TEST(!outcomes[3]);
    BOOST_TEST(db->read([](th::read_txn& txn) { return txn.tenant_exists("iso"); }));
    BOOST_TEST(portfolio() == "1/0/0/9");
    BOOST_TEST(company("c1") == "1/0/0/9");
}

// A unit reading the portfolio is not blamed when an earlier unit's share cannot be written.
BOOST_AUTO_TEST_CASE(unit_reading_the_portfolio_is_not_blamed_for_another_units_share) {
    companies({"c1"});
    users({end_user("a@c1.example", "c1"), end_user("b@c1.example", "c1")});
    refuse_portfolio_detractors(*peek());
    std::string seen;
    auto outcomes = run_as_one_batch(*db, {rate_unit("b@c1.example", 3), [&](th::write_txn& txn) {
                                               rate_unit("a@c1.example", 9)(txn);
                                               seen = text(txn.tenant_nps(tenant).figures);
                                           }});
    BOOST_TEST(static_cast<bool>(outcomes[1]));
    BOOST_TEST(!outcomes[2]);
    BOOST_TEST(seen == "1/0/0/9");
    BOOST_TEST(portfolio() == "1/0/0/9");
}

// Read through the base class, the portfolio inside a write still shows the transaction's changes.
BOOST_AUTO_TEST_CASE(portfolio_read_through_a_read_txn_shows_the_writes_so_far) {
    companies({"c1"});
    users({end_user("a@c1.example", "c1")});
    auto seen = write([](th::write_txn& txn) {
        rate_unit("a@c1.example", 9)(txn);
        th::read_txn& reader = txn;
        return text(reader.tenant_nps(tenant).figures);
    });
    BOOST_TEST(seen == "1/0/0/9");
}

BOOST_AUTO_TEST_CASE(failing_sql_in_a_unit_rolls_back_only_that_unit) {
    th::installation inst;
    inst.id = "i1";
    inst.tenant = tenant;
    inst.connector = "satismeter";
    inst.key_hash = "hash";
    write([&](th::write_txn& txn) {
        txn.insert_installation(inst);
        return true;
    });

    // Same key hash: the UNIQUE constraint fails after the tenant was created.
    inst.id = "i2";
    BOOST_CHECK_THROW(write([&](th::write_txn& txn) {
                          txn.create_tenant("beta", "Beta");
                          txn.insert_installation(inst);
                          return true;
                      }),
                      th::sqlite::error);
    BOOST_TEST(!db->read([](th::read_txn& txn) { return txn.tenant_exists("beta"); }));
    BOOST_TEST(db->read([](th::read_txn& txn) { return txn.installations(); }).size() == 1u);
    BOOST_TEST(write([](th::write_txn& txn) { return txn.create_tenant("beta", "Beta"); }));
}

BOOST_AUTO_TEST_CASE(write_sync_rethrows_what_the_work_threw) {
    BOOST_CHECK_EXCEPTION(
        write([](th::write_txn&) -> int { throw th::invalid_input("bad row"); }), th::invalid_input,
        [](const th::invalid_input& e) { return std::string(e.what()) == "bad row"; });
}

BOOST_AUTO_TEST_CASE(writes_after_stop_are_refused) {
    db->stop();
    std::exception_ptr error;
    bool ran = false;
    db->write([&](th::write_txn&) { ran = true; }, [&](std::exception_ptr e) { error = e; });
    BOOST_TEST(!ran);
    BOOST_TEST_REQUIRE(static_cast<bool>(error));
    BOOST_CHECK_EXCEPTION(std::rethrow_exception(error), std::runtime_error,
                          [](const std::runtime_error& e) {
                              return std::string(e.what()) == "the store is shutting down";
                          });
    BOOST_TEST(db->ping());
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

constexpr std::uintmax_t wal_frame = 4096 + 24;  // a 4 KiB page and its frame header

// Writes 300 responses of two pages and more each (about 2,000 WAL frames in all).
void write_big_responses(th::store& s) {
    s.write_sync<bool>([](th::write_txn& txn) { return txn.create_tenant(tenant, "Acme"); });
    for (int i = 0; i < 300; ++i) {
        auto r = response("big-" + std::to_string(i), std::nullopt, 9, t0 + i * minute);
        r.raw_json = R"({"pad":")" + std::string(6000, 'x') + R"("})";
        s.write_sync<th::upsert_outcome>(
            [&](th::write_txn& txn) { return txn.upsert_response(tenant, r, contribution_of(r)); });
    }
}

// Frames the WAL file has room for: it keeps the size of the largest WAL it held.
std::uintmax_t wal_frames(const fs::path& db) {
    return (fs::file_size(db.string() + "-wal") - 32) / wal_frame;
}

// The WAL header's checkpoint sequence: the times the WAL started over.
std::uint32_t wal_restarts(const fs::path& db) {
    std::ifstream in(db.string() + "-wal", std::ios::binary);
    unsigned char header[16] = {};
    in.read(reinterpret_cast<char*>(header), sizeof(header));
    return (std::uint32_t{header[12]} << 24) | (std::uint32_t{header[13]} << 16) |
           (std::uint32_t{header[14]} << 8) | std::uint32_t{header[15]};
}

}  // namespace

// The background copies and the writer's closing pass keep the WAL bounded, and the WAL starts
// over only once it holds restart_pages: smaller copies happen in the background before that.
BOOST_AUTO_TEST_CASE(wal_starts_over_once_it_holds_restart_pages) {
    temp_dir dir;
    th::store_options options{dir.path() / "wal.db"};
    options.checkpoint_pages = 8;
    options.restart_pages = 48;
    th::store s(options);
    write_big_responses(s);

    // About 2,000 frames in all: 35-40 times over at 48 frames, where starting over after every
    // background copy made it 75 times, and never starting over would leave 2,000 in the file.
    // Commits made while a background pass runs come on top of the 48 (up to 210 seen under load).
    auto restarts = wal_restarts(options.file);
    BOOST_TEST(restarts >= 3u);
    BOOST_TEST(restarts <= 55u);
    auto frames = wal_frames(options.file);
    BOOST_TEST(frames >= 48u);
    BOOST_TEST(frames <= 600u);
}

// A copy interval above the WAL's limit is held to the limit, which therefore still bounds it.
BOOST_AUTO_TEST_CASE(copy_interval_above_the_limit_is_held_to_it) {
    temp_dir dir;
    th::store_options options{dir.path() / "wal.db"};
    options.checkpoint_pages = 1'000'000;
    options.restart_pages = 1'000'000;
    options.wal_limit_pages = 40;
    th::store s(options);
    write_big_responses(s);
    BOOST_TEST(wal_restarts(options.file) >= 3u);
    BOOST_TEST(wal_frames(options.file) <= 600u);  // about 2,000 when nothing is ever copied
}

// While a reader keeps the WAL from starting over, the writer copies what it may every
// checkpoint_pages past the limit, not after every commit.
BOOST_AUTO_TEST_CASE(held_wal_is_copied_every_interval_not_every_commit) {
    temp_dir dir;
    th::store_options options{dir.path() / "wal.db"};
    options.checkpoint_pages = 20;
    options.restart_pages = 20;
    options.wal_limit_pages = 40;
    th::store s(options);
    s.write_sync<bool>([](th::write_txn& txn) { return txn.create_tenant("other", "Other"); });
    th::sqlite::database reader(options.file);
    reader.exec("BEGIN");
    auto& q = reader.prepare("SELECT count(*) FROM tenants");
    BOOST_TEST_REQUIRE(q.step());
    q.reset();  // the snapshot stays until COMMIT
    auto restarts = wal_restarts(options.file);

    write_big_responses(s);
    // About 2,000 frames: some 100 passes at one per 20 frames, 300 at one per commit.
    BOOST_TEST(s.stats().writer_checkpoints <= 150u);
    // A reader whose snapshot lies wholly in the database file lets the WAL start over once more.
    BOOST_TEST(wal_restarts(options.file) <= restarts + 1);
    BOOST_TEST(wal_frames(options.file) >= 1'000u);
    reader.exec("COMMIT");
}
