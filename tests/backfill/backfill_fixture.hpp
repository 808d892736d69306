// backfill_fixture.hpp: the host and the SatisMeter emulator in-process, and the figures a
// backfill of the emulator's data set must leave behind.
#pragma once

#include "app/app.hpp"
#include "store/store.hpp"

#include "emulator/satismeter_emulator.hpp"
#include "host_runner.hpp"
#include "http_client.hpp"

#include <tributary/nps.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace tributary::backfill_test {

namespace bj = boost::json;
namespace em = tributary::emulator;
namespace fs = std::filesystem;
namespace ti = tributary::integration;
using namespace std::chrono_literals;

inline const std::string tenant_api = "/api/v1/tenants/acme";
inline constexpr std::string_view action_id = "pull-historical-nps";
inline constexpr std::string_view project_id = "5f1e2d3c4b5a697887766554";
inline constexpr std::string_view api_key = "sm-read.9fQ2xL7vK0pR3tZ8";
// The emulator's "now", 2025-06-01T12:00:00Z: every created time follows from it.
inline constexpr std::int64_t emulator_now_ms = 1748779200000;
inline constexpr std::size_t pool_users = 200;
inline constexpr std::size_t pool_companies = 20;

inline std::int64_t integer(const bj::value& v) {
    return v.to_number<std::int64_t>();
}
inline double number(const bj::value& v) {
    return v.to_number<double>();
}

// A data set where most pool users answer several times, so that "latest" matters.
inline em::emulator_options emulator_options(std::size_t responses) {
    em::emulator_options o;
    o.data.responses = responses;
    o.data.now_ms = emulator_now_ms;
    o.data.users = pool_users;
    o.data.companies = pool_companies;
    o.api_key = std::string(api_key);
    return o;
}

// Two of every three pool users are End Users; the rest of the pool stays unmatched.
inline bool registered(std::size_t pool_index) {
    return pool_index % 3 != 2;
}

inline std::string company_id(std::size_t company) {
    return "company" + std::to_string(company);
}

// What the emulator's data set must turn into, computed from its facts alone.
struct expected {
    std::set<std::string> ids;
    std::map<std::string, em::response_facts> latest;  // registered email: latest rated response
    std::map<std::string, nps::figures> companies;     // by external id
    nps::figures portfolio;
    std::set<std::string> unmatched;  // response ids without an End User
};

inline expected expect_from(const em::satismeter_dataset& data) {
    expected want;
    // Index 0 is the newest: the first rated response met for an email is its latest.
    for (std::size_t i = 0; i < data.size(); ++i) {
        auto f = data.facts_at(i);
        want.ids.insert(f.id);
        if (!f.pool_index || !registered(*f.pool_index)) {
            want.unmatched.insert(f.id);
            continue;
        }
        if (f.rating && f.state != em::response_state::dismissed) {
            want.latest.emplace(*f.email, f);
        }
    }
    for (const auto& [email, f] : want.latest) {
        auto company = data.email_pool()[*f.pool_index].company;
        want.companies[company_id(company)].add(*f.rating);
        want.portfolio.add(*f.rating);
    }
    return want;
}

// Pages the job has committed so far; 0 before the first.
inline std::int64_t pages_of(const bj::object& job) {
    const auto* pages = job.at("progress").as_object().if_contains("pages");
    return pages == nullptr ? 0 : integer(*pages);
}

// The counts a job's progress must show.
struct counts {
    std::int64_t pages = 0;
    std::int64_t seen = 0;
    std::int64_t inserted = 0;
    std::int64_t updated = 0;
    std::int64_t unchanged = 0;
    std::int64_t stale = 0;
};

inline void check_counts(const bj::object& job, const counts& want) {
    BOOST_TEST_INFO("job " << bj::serialize(job));
    const auto& p = job.at("progress").as_object();
    BOOST_TEST(integer(p.at("pages")) == want.pages);
    BOOST_TEST(integer(p.at("responsesSeen")) == want.seen);
    BOOST_TEST(integer(p.at("skipped")) == 0);
    BOOST_TEST(integer(p.at("inserted")) == want.inserted);
    BOOST_TEST(integer(p.at("updated")) == want.updated);
    BOOST_TEST(integer(p.at("unchanged")) == want.unchanged);
    BOOST_TEST(integer(p.at("stale")) == want.stale);
}

inline void check_figures(const bj::object& got, const nps::figures& want) {
    BOOST_TEST_INFO("figures " << bj::serialize(got));
    if (auto score = want.score()) {
        BOOST_TEST(number(got.at("nps")) == *score);
        BOOST_TEST(number(got.at("averageScore")) == *want.average());
    } else {
        BOOST_TEST(got.at("nps").is_null());
        BOOST_TEST(got.at("averageScore").is_null());
    }
    BOOST_TEST(integer(got.at("promoters")) == want.promoters);
    BOOST_TEST(integer(got.at("passives")) == want.passives);
    BOOST_TEST(integer(got.at("detractors")) == want.detractors);
    BOOST_TEST(integer(got.at("responses")) == want.responses());
}

// ---- driving a host over HTTP ------------------------------------------------------------------

inline bj::value get_json(const ti::http_client& admin, const std::string& target) {
    auto a = admin.get(target);
    BOOST_TEST_REQUIRE(a.status == 200u, target << ": " << a.body);
    return a.json();
}

inline void create_tenant(const ti::http_client& admin) {
    auto a = admin.post_json("/api/v1/tenants", bj::value{{"id", "acme"}, {"name", "Acme"}});
    BOOST_TEST_REQUIRE(a.status == 201u, a.body);
}

// Every company of the pool, and the registered pool users as End Users.
inline void seed_directory(const ti::http_client& admin, const em::satismeter_dataset& data) {
    bj::array companies;
    for (std::size_t c = 0; c < data.options().companies; ++c) {
        auto id = company_id(c);
        companies.push_back(bj::object{{"externalId", id},
                                       {"name", "Company " + std::to_string(c)},
                                       {"domains", bj::array{id + ".example"}}});
    }
    auto a = admin.put_json(tenant_api + "/companies", companies);
    BOOST_TEST_REQUIRE(a.status == 200u, a.body);

    bj::array users;
    for (std::size_t k = 0; k < data.email_pool().size(); ++k) {
        if (registered(k)) {
            const auto& entry = data.email_pool()[k];
            users.push_back(bj::object{{"email", entry.email},
                                       {"companyExternalId", company_id(entry.company)}});
        }
    }
    a = admin.put_json(tenant_api + "/endusers", users);
    BOOST_TEST_REQUIRE(a.status == 200u, a.body);
}

struct installed {
    std::string id;
    std::string hook;  // the webhook URL's path, key included
};

inline installed install(const ti::http_client& admin, const bj::object& config) {
    auto a = admin.post_json(tenant_api + "/installations",
                             bj::object{{"connector", "satismeter"}, {"config", config}});
    BOOST_TEST_REQUIRE(a.status == 201u, a.body);
    auto body = a.json().as_object();
    return {std::string(body.at("id").as_string()),
            ti::target_of(std::string(body.at("webhookUrl").as_string()))};
}

// The config of an installation that reads from the emulator at base_url.
inline bj::object emulator_config(const std::string& base_url) {
    return {{"projectId", project_id}, {"apiKey", api_key}, {"baseUrl", base_url}};
}

inline ti::http_answer start_job(const ti::http_client& admin, const std::string& installation,
                                 const bj::object& params = {}) {
    return admin.post_json(
        tenant_api + "/installations/" + installation + "/actions/" + std::string(action_id),
        bj::object{{"params", params}});
}

inline std::string start_job_ok(const ti::http_client& admin, const std::string& installation,
                                const bj::object& params = {}) {
    auto a = start_job(admin, installation, params);
    BOOST_TEST_REQUIRE(a.status == 202u, a.body);
    return std::string(a.json().at("jobId").as_string());
}

// Polls the job until `done` holds; fails the test after `limit`.
inline bj::object wait_for_job(const ti::http_client& admin, const std::string& id,
                               const std::function<bool(const bj::object&)>& done,
                               std::chrono::seconds limit = 60s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        auto j = get_json(admin, "/api/v1/jobs/" + id).as_object();
        if (done(j)) {
            return j;
        }
        BOOST_TEST_REQUIRE((std::chrono::steady_clock::now() < deadline),
                           "job still not there: " << bj::serialize(j));
        std::this_thread::sleep_for(20ms);
    }
}

inline bool finished(const bj::object& job) {
    auto state = job.at("state").as_string();
    return state != "queued" && state != "running";
}

// The host in-process on a fresh data directory, driven over HTTP.
class backfill_host {
public:
    explicit backfill_host(std::optional<fs::path> ca_file = {}) {
        options_ = ti::host_options(data_.path());
        options_.ca_file = std::move(ca_file);
        // One worker, so that a second job visibly waits in the queue behind the first.
        options_.job_workers = 1;
        host_ = std::make_unique<ti::running_host>(options_);
    }

    ti::http_client admin() const { return host_->admin(); }
    ti::http_client anonymous() const { return host_->anonymous(); }
    host::app& app() { return host_->app(); }

    // Stops the host as SIGTERM would and starts it again on the same data directory.
    void restart() {
        host_.reset();
        host_ = std::make_unique<ti::running_host>(options_);
    }

    bj::value get_json(const std::string& target) const {
        return backfill_test::get_json(admin(), target);
    }
    void create_tenant() const { backfill_test::create_tenant(admin()); }
    installed install(const bj::object& config) const {
        return backfill_test::install(admin(), config);
    }

    // The tenant, its directory and an installation that reads from the emulator.
    std::string seed(const em::satismeter_emulator& e) {
        create_tenant();
        seed_directory(admin(), e.dataset());
        auto inst = install(emulator_config(e.base_url()));
        hook_ = inst.hook;
        return inst.id;
    }

    const std::string& hook() const { return hook_; }

    ti::http_answer start(const std::string& installation, const bj::object& params = {}) const {
        return start_job(admin(), installation, params);
    }
    std::string start_ok(const std::string& installation, const bj::object& params = {}) const {
        return start_job_ok(admin(), installation, params);
    }
    bj::object job(const std::string& id) const {
        return get_json("/api/v1/jobs/" + id).as_object();
    }
    bj::object wait_for(const std::string& id, const std::function<bool(const bj::object&)>& done,
                        std::chrono::seconds limit = 60s) const {
        return wait_for_job(admin(), id, done, limit);
    }
    bj::object wait_finished(const std::string& id, std::chrono::seconds limit = 60s) const {
        return wait_for_job(admin(), id, finished, limit);
    }

    bj::object run_ok(const std::string& installation, const bj::object& params = {}) const {
        auto j = wait_finished(start_ok(installation, params));
        BOOST_TEST_REQUIRE(j.at("state") == bj::value("succeeded"), bj::serialize(j));
        return j;
    }

    std::int64_t stored() {
        return app().storage().read(
            [](host::read_txn& txn) { return txn.count_responses("acme"); });
    }

    // The checkpoint the job row holds, as JSON; null when it has none.
    bj::value checkpoint(const std::string& job_id) {
        auto row = app().storage().read([&](host::read_txn& txn) { return txn.job(job_id); });
        BOOST_TEST_REQUIRE(row.has_value());
        return row->checkpoint ? bj::parse(*row->checkpoint) : bj::value(nullptr);
    }

    bj::array unmatched() const;

private:
    ti::temp_dir data_{"tributary-backfill-test"};
    host::app_options options_;
    std::unique_ptr<ti::running_host> host_;
    std::string hook_;
};

// Reads a JSON answer of the host; fails the test on anything but 200.
using json_getter = std::function<bj::value(const std::string& target)>;

inline json_getter getter_of(const ti::http_client& admin) {
    return [admin](const std::string& target) {
        auto a = admin.get(target);
        BOOST_TEST_REQUIRE(a.status == 200u, target << ": " << a.body);
        return a.json();
    };
}

// The whole unmatched queue, read a thousand at a time.
inline bj::array all_unmatched(const json_getter& get) {
    bj::array all;
    for (std::size_t offset = 0;; offset += 1000) {
        auto page = get(tenant_api + "/nps/unmatched?limit=1000&offset=" + std::to_string(offset))
                        .as_array();
        for (auto& row : page) {
            all.push_back(std::move(row));
        }
        if (page.size() < 1000) {
            return all;
        }
    }
}

inline bj::array backfill_host::unmatched() const {
    return all_unmatched(getter_of(admin()));
}

// Everything the host shows about End Users, companies, the portfolio and the unmatched queue
// matches what the data set implies.
inline void check_answers(const json_getter& get, const em::satismeter_dataset& data,
                          const expected& want) {
    for (std::size_t k = 0; k < data.email_pool().size(); ++k) {
        if (!registered(k)) {
            continue;
        }
        const auto& email = data.email_pool()[k].email;
        auto user = get(tenant_api + "/endusers/" + email).as_object();
        BOOST_TEST_INFO(email << ": " << bj::serialize(user));
        auto it = want.latest.find(email);
        if (it == want.latest.end()) {
            BOOST_TEST(user.at("nps").is_null());
            continue;
        }
        const auto& f = it->second;
        BOOST_TEST_REQUIRE(user.at("nps").is_object());
        const auto& nps = user.at("nps").as_object();
        BOOST_TEST(integer(nps.at("score")) == *f.rating);
        BOOST_TEST(nps.at("comment") == (f.feedback ? bj::value(*f.feedback) : bj::value()));
        BOOST_TEST(nps.at("date") == bj::value(em::format_iso8601(f.created_ms)));
        BOOST_TEST(nps.at("responseId") == bj::value(f.id));
    }

    for (std::size_t c = 0; c < data.options().companies; ++c) {
        auto id = company_id(c);
        auto got = get(tenant_api + "/companies/" + id + "/nps").as_object();
        auto it = want.companies.find(id);
        check_figures(got, it == want.companies.end() ? nps::figures{} : it->second);
    }
    check_figures(get(tenant_api + "/nps").as_object(), want.portfolio);

    std::set<std::string> unmatched;
    for (const auto& row : all_unmatched(get)) {
        unmatched.insert(std::string(row.at("responseId").as_string()));
    }
    BOOST_TEST(unmatched.size() == want.unmatched.size());
    BOOST_TEST((unmatched == want.unmatched));
}

inline void check_matches(backfill_host& h, const em::satismeter_dataset& data,
                          const expected& want) {
    BOOST_TEST(h.stored() == static_cast<std::int64_t>(want.ids.size()));
    check_answers(getter_of(h.admin()), data, want);
}

// The progress of a job that read the whole data set: exact counts, and the time span.
inline void check_whole_set(const bj::object& job, const em::satismeter_dataset& data,
                            const counts& want) {
    check_counts(job, want);
    const auto& p = job.at("progress").as_object();
    BOOST_TEST(p.at("newestResponse") == bj::value(em::format_iso8601(data.created_ms(0))));
    BOOST_TEST(p.at("oldestResponse") ==
               bj::value(em::format_iso8601(data.created_ms(data.size() - 1))));
}

// Log lines that contain every one of the parts.
inline std::size_t lines_with(const std::vector<std::string>& lines,
                              std::initializer_list<std::string_view> parts) {
    std::size_t n = 0;
    for (const auto& line : lines) {
        bool all = true;
        for (auto part : parts) {
            all = all && line.find(part) != std::string::npos;
        }
        n += all ? 1 : 0;
    }
    return n;
}

}  // namespace tributary::backfill_test
