// host_test.cpp: the real host in-process with the SatisMeter plugin, driven only over HTTP.
#include "app/app.hpp"

#define BOOST_TEST_MODULE host_integration
#include <boost/test/unit_test.hpp>

#include "host_runner.hpp"
#include "http_client.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
namespace ti = tributary::integration;
using ti::http_answer;

const std::string tenant_api = "/api/v1/tenants/acme";
constexpr std::string_view project_id = "5f1e2d3c4b5a697887766554";
constexpr std::string_view api_key = "rk_live_5b2e8d1f0a7c4e93WXYZ";

// Feedback texts of the fixtures: personal data that must stay out of logs.
constexpr std::string_view promoter_feedback = "The new reporting saves my team hours every week.";
constexpr std::string_view detractor_feedback = "Exports time out on large accounts.";

std::string fixture(std::string_view name) {
    return ti::read_file(fs::path(TRIBUTARY_FIXTURES_DIR) / "satismeter" /
                         (std::string(name) + ".json"));
}

// A fixture delivery with its response object changed by `edit`.
std::string edited(std::string_view name, const std::function<void(bj::object&)>& edit) {
    auto delivery = bj::parse(fixture(name));
    edit(delivery.as_object().at("response").as_object());
    return bj::serialize(delivery);
}

double number(const bj::value& v) {
    return v.to_number<double>();
}
std::int64_t integer(const bj::value& v) {
    return v.to_number<std::int64_t>();
}

struct figures {
    std::optional<double> nps;
    std::int64_t promoters = 0;
    std::int64_t passives = 0;
    std::int64_t detractors = 0;
    std::int64_t responses = 0;
    std::optional<double> average;
};

void check_figures(const bj::object& got, const figures& want) {
    BOOST_TEST_INFO("figures " << bj::serialize(got));
    if (want.nps) {
        BOOST_TEST(number(got.at("nps")) == *want.nps);
    } else {
        BOOST_TEST(got.at("nps").is_null());
    }
    BOOST_TEST(integer(got.at("promoters")) == want.promoters);
    BOOST_TEST(integer(got.at("passives")) == want.passives);
    BOOST_TEST(integer(got.at("detractors")) == want.detractors);
    BOOST_TEST(integer(got.at("responses")) == want.responses);
    if (want.average) {
        BOOST_TEST(number(got.at("averageScore")) == *want.average);
    } else {
        BOOST_TEST(got.at("averageScore").is_null());
    }
}

// The End User's nps object as expected: {score, comment, date, responseId}.
void check_nps(const bj::value& nps, int score, std::optional<std::string_view> comment,
               std::string_view date, std::string_view response_id) {
    BOOST_TEST_INFO("nps " << bj::serialize(nps));
    BOOST_TEST_REQUIRE(nps.is_object());
    BOOST_TEST(integer(nps.at("score")) == score);
    if (comment) {
        BOOST_TEST(nps.at("comment") == bj::value(*comment));
    } else {
        BOOST_TEST(nps.at("comment").is_null());
    }
    BOOST_TEST(nps.at("date") == bj::value(date));
    BOOST_TEST(nps.at("responseId") == bj::value(response_id));
}

struct installation_info {
    std::string id;
    std::string url;   // as answered, with the key
    std::string hook;  // the URL's path: what survives a restart on another port
};

// A running host on a fresh data directory, with helpers that drive it over HTTP.
struct host_fixture {
    ti::temp_dir data{"tributary-host-test"};
    tributary::host::app_options options = ti::host_options(data.path());
    std::unique_ptr<ti::running_host> host;

    explicit host_fixture(const std::function<void(tributary::host::app_options&)>& tune = {}) {
        if (tune) {
            tune(options);
        }
        host = std::make_unique<ti::running_host>(options);
    }

    ti::http_client admin() const { return host->admin(); }
    ti::http_client anonymous() const { return host->anonymous(); }

    // Stops the host and starts a new one with the same options and data directory.
    void restart() {
        host.reset();
        host = std::make_unique<ti::running_host>(options);
    }

    void create_tenant() {
        auto a = admin().post_json("/api/v1/tenants", bj::value{{"id", "acme"}, {"name", "Acme"}});
        BOOST_TEST_REQUIRE(a.status == 201u, a.body);
    }

    // Two companies and four End Users who answer in the fixtures.
    void seed_directory() {
        auto companies = admin().put(tenant_api + "/companies", R"([
            {"externalId": "northwind", "name": "Northwind", "domains": ["northwind.example"]},
            {"externalId": "contoso", "name": "Contoso", "domains": ["contoso.example"]}])");
        BOOST_TEST_REQUIRE(companies.status == 200u, companies.body);
        auto users = admin().put(tenant_api + "/endusers", R"([
            {"email": "ada@northwind.example", "companyExternalId": "northwind", "name": "Ada"},
            {"email": "cy@northwind.example", "companyExternalId": "northwind"},
            {"email": "bo.sample@contoso.example", "companyExternalId": "contoso"},
            {"email": "dee@contoso.example", "companyExternalId": "contoso"}])");
        BOOST_TEST_REQUIRE(users.status == 200u, users.body);
    }

    installation_info install() {
        auto a = admin().post_json(
            tenant_api + "/installations",
            bj::value{{"connector", "satismeter"},
                      {"config", {{"projectId", project_id}, {"apiKey", api_key}}}});
        BOOST_TEST_REQUIRE(a.status == 201u, a.body);
        auto body = a.json().as_object();
        std::string url(body.at("webhookUrl").as_string());
        return {std::string(body.at("id").as_string()), url, ti::target_of(url)};
    }

    http_answer deliver(std::string_view hook, std::string body) const {
        return anonymous().post(hook, std::move(body));
    }

    void deliver_ok(std::string_view hook, std::string body) const {
        auto a = deliver(hook, std::move(body));
        BOOST_TEST_REQUIRE(a.status == 200u, a.body);
    }

    bj::value get_json(const std::string& target) const {
        auto a = admin().get(target);
        BOOST_TEST_REQUIRE(a.status == 200u, target << ": " << a.body);
        return a.json();
    }
    bj::object end_user(std::string_view email) const {
        return get_json(tenant_api + "/endusers/" + std::string(email)).as_object();
    }
    bj::object company(std::string_view external_id) const {
        return get_json(tenant_api + "/companies/" + std::string(external_id) + "/nps").as_object();
    }
    bj::object portfolio() const { return get_json(tenant_api + "/nps").as_object(); }
    bj::array unmatched() const { return get_json(tenant_api + "/nps/unmatched").as_array(); }
};

// A tenant with its companies and End Users, and one SatisMeter installation.
struct seeded_host : host_fixture {
    installation_info inst;

    seeded_host() {
        create_tenant();
        seed_directory();
        inst = install();
    }

    // Nothing counted and nothing waiting: the state before any delivery.
    void check_nothing_stored() const {
        check_figures(portfolio(), {});
        check_figures(company("northwind"), {});
        BOOST_TEST(end_user("ada@northwind.example").at("nps").is_null());
        BOOST_TEST(unmatched().empty());
    }
};

// The one-line error answer {"error": reason}.
void check_error(const http_answer& a, unsigned status, std::string_view reason) {
    BOOST_TEST(a.status == status);
    BOOST_TEST(a.header("Content-Type").value_or("") == "application/json");
    BOOST_TEST(a.body.find('\n') == std::string::npos);
    BOOST_TEST(a.json() == (bj::value{{"error", reason}}), a.body);
}

}  // namespace

// ---- the admin API -----------------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(admin_routes_need_the_bearer_token, host_fixture) {
    auto none = anonymous().get("/api/v1/connectors");
    check_error(none, 401, "missing or wrong bearer token");
    BOOST_TEST(none.header("WWW-Authenticate").value_or("") == "Bearer");

    check_error(anonymous().with_token("not-the-token").get("/api/v1/connectors"), 401,
                "missing or wrong bearer token");
    auto basic = anonymous().send(ti::bhttp::verb::get, "/api/v1/connectors", {},
                                  {{"Authorization", "Basic " + std::string(ti::admin_token)}});
    check_error(basic, 401, "missing or wrong bearer token");
    check_error(anonymous().post("/api/v1/tenants", R"({"id":"acme","name":"Acme"})"), 401,
                "missing or wrong bearer token");

    auto catalog = admin().get("/api/v1/connectors");
    BOOST_TEST_REQUIRE(catalog.status == 200u);
    BOOST_TEST_REQUIRE(catalog.json().as_array().size() == 1u);
    BOOST_TEST(catalog.json().as_array()[0].at("id") == "satismeter");
}

BOOST_FIXTURE_TEST_CASE(health_and_readiness_need_no_token, host_fixture) {
    auto health = anonymous().get("/healthz");
    BOOST_TEST(health.status == 200u);
    BOOST_TEST(health.json() == bj::parse(R"({"status":"ok"})"));

    auto ready = anonymous().get("/readyz");
    BOOST_TEST(ready.status == 200u);
    BOOST_TEST(ready.json() == bj::parse(R"({"storage":true,"plugins":true,"status":"ready"})"));
}

BOOST_FIXTURE_TEST_CASE(tenant_create_answers_201_then_409_and_refuses_invalid_ids, host_fixture) {
    auto created = admin().post("/api/v1/tenants", R"({"id":"acme","name":"Acme"})");
    BOOST_TEST(created.status == 201u);
    BOOST_TEST(created.json() == bj::parse(R"({"id":"acme","name":"Acme"})"));

    check_error(admin().post("/api/v1/tenants", R"({"id":"acme","name":"Acme again"})"), 409,
                "tenant 'acme' already exists");

    const std::string invalid_ids[] = {"Acme", "acme_corp", "", "acme corp", std::string(64, 'a')};
    for (const auto& id : invalid_ids) {
        BOOST_TEST_CONTEXT("id '" << id << "'") {
            check_error(admin().post_json("/api/v1/tenants", bj::value{{"id", id}, {"name", "X"}}),
                        400, "id must be 1 to 63 characters of a-z, 0-9 and -");
        }
    }
    BOOST_TEST(admin()
                   .post_json("/api/v1/tenants",
                              bj::value{{"id", std::string(63, 'a')}, {"name", "Longest"}})
                   .status == 201u);
    check_error(admin().get("/api/v1/tenants/nobody/nps"), 404, "no such tenant");
}

BOOST_FIXTURE_TEST_CASE(company_and_end_user_upserts_answer_counts, host_fixture) {
    create_tenant();
    auto companies = R"([
        {"externalId": "northwind", "name": "Northwind", "domains": ["northwind.example"]},
        {"externalId": "contoso", "name": "Contoso", "domains": ["contoso.example"]}])";
    auto first = admin().put(tenant_api + "/companies", companies);
    BOOST_TEST(first.status == 200u);
    BOOST_TEST(first.json() == bj::parse(R"({"inserted":2,"updated":0,"unchanged":0})"));

    auto again = admin().put(tenant_api + "/companies", R"([
        {"externalId": "northwind", "name": "Northwind", "domains": ["northwind.example"]},
        {"externalId": "contoso", "name": "Contoso Ltd", "domains": ["contoso.example"]},
        {"externalId": "fabrikam", "name": "Fabrikam"}])");
    BOOST_TEST(again.status == 200u);
    BOOST_TEST(again.json() == bj::parse(R"({"inserted":1,"updated":1,"unchanged":1})"));

    auto users = admin().put(tenant_api + "/endusers", R"([
        {"email": "Ada@Northwind.example ", "companyExternalId": "northwind", "name": "Ada"},
        {"email": "bo.sample@contoso.example", "companyExternalId": "contoso"}])");
    BOOST_TEST(users.status == 200u);
    BOOST_TEST(users.json() == bj::parse(R"({"inserted":2,"updated":0,"unchanged":0})"));

    auto renamed = admin().put(tenant_api + "/endusers", R"([
        {"email": "ada@northwind.example", "companyExternalId": "northwind", "name": "Ada L."},
        {"email": "bo.sample@contoso.example", "companyExternalId": "contoso"}])");
    BOOST_TEST(renamed.status == 200u);
    BOOST_TEST(renamed.json() == bj::parse(R"({"inserted":0,"updated":1,"unchanged":1})"));

    auto ada = end_user("ada@northwind.example");
    BOOST_TEST(ada.at("email") == "ada@northwind.example");
    BOOST_TEST(ada.at("name") == "Ada L.");
    BOOST_TEST(ada.at("companyExternalId") == "northwind");
    BOOST_TEST(ada.at("nps").is_null());

    check_error(admin().put(tenant_api + "/endusers",
                            R"([{"email": "x@y.example", "companyExternalId": "nobody"}])"),
                400, "companyExternalId 'nobody' is not a known company");
}

BOOST_FIXTURE_TEST_CASE(installation_answers_webhook_url_once_and_masks_secrets, host_fixture) {
    create_tenant();
    auto a =
        admin().post_json(tenant_api + "/installations",
                          bj::value{{"connector", "satismeter"},
                                    {"config", {{"projectId", project_id}, {"apiKey", api_key}}}});
    BOOST_TEST_REQUIRE(a.status == 201u, a.body);
    auto created = a.json().as_object();
    std::string id(created.at("id").as_string());
    BOOST_TEST(id.starts_with("inst_"));
    BOOST_TEST(created.at("connector") == "satismeter");
    BOOST_TEST(created.at("enabled") == true);
    BOOST_TEST(a.body.find(api_key) == std::string::npos);

    std::string url(created.at("webhookUrl").as_string());
    std::string prefix = "http://127.0.0.1:" + std::to_string(host->port()) + "/hooks/satismeter/";
    BOOST_TEST_REQUIRE(url.starts_with(prefix), url);
    std::string key = url.substr(prefix.size());
    BOOST_TEST(key.size() == 43u);  // 256 random bits, URL-safe base64
    BOOST_TEST(key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789-_") == std::string::npos);

    auto list = admin().get(tenant_api + "/installations");
    BOOST_TEST_REQUIRE(list.status == 200u);
    BOOST_TEST(list.body.find(key) == std::string::npos);
    BOOST_TEST(list.body.find(api_key) == std::string::npos);
    BOOST_TEST(list.body.find("/hooks/") == std::string::npos);
    auto listing = list.json();
    BOOST_TEST_REQUIRE(listing.as_array().size() == 1u);
    const auto& listed = listing.as_array()[0].as_object();
    BOOST_TEST(listed.at("id") == bj::value(id));
    BOOST_TEST(listed.at("connector") == "satismeter");
    BOOST_TEST(listed.at("enabled") == true);
    BOOST_TEST(!listed.contains("webhookUrl"));
    BOOST_TEST(listed.at("config").at("projectId") == bj::value(project_id));
    BOOST_TEST(listed.at("config").at("apiKey") == "••••WXYZ");

    auto refused = admin().post(tenant_api + "/installations",
                                R"({"connector":"satismeter","config":{"projectId":"nope"}})");
    BOOST_TEST(refused.status == 400u);
    BOOST_TEST(refused.json().at("error") == "invalid config");
    BOOST_TEST(refused.json().at("fields").as_array()[0].at("field") == "projectId");
}

// ---- deliveries --------------------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(every_fixture_is_stored_and_rolled_up_exactly, seeded_host) {
    for (auto name : {"webhook_completed_promoter", "webhook_completed_detractor_traits_email",
                      "webhook_dismissed", "webhook_anonymous", "webhook_rating_in_answers_only"}) {
        BOOST_TEST_CONTEXT(name) {
            auto a = deliver(inst.hook, fixture(name));
            BOOST_TEST(a.status == 200u);
            BOOST_TEST(a.json() == bj::parse(R"({"stored":1})"));
        }
    }

    check_nps(end_user("ada@northwind.example").at("nps"), 10, promoter_feedback,
              "2024-03-05T09:12:44.120Z", "6601c0ffee00000000000001");
    check_nps(end_user("bo.sample@contoso.example").at("nps"), 3, detractor_feedback,
              "2024-03-06T14:01:09.004Z", "6601c0ffee00000000000002");
    check_nps(end_user("dee@contoso.example").at("nps"), 9, std::nullopt,
              "2024-03-09T16:20:00.250Z", "6601c0ffee00000000000005");
    // Dismissed: stored, matched to its End User, counted nowhere.
    BOOST_TEST(end_user("cy@northwind.example").at("nps").is_null());

    check_figures(company("northwind"), {100.0, 1, 0, 0, 1, 10.0});
    check_figures(company("contoso"), {0.0, 1, 0, 1, 2, 6.0});
    auto total = portfolio();
    check_figures(total, {33.3, 2, 0, 1, 3, 7.3});
    BOOST_TEST_REQUIRE(total.at("companies").as_array().size() == 2u);
    for (const auto& c : total.at("companies").as_array()) {
        if (c.at("externalId") == "northwind") {
            check_figures(c.as_object(), {100.0, 1, 0, 0, 1, 10.0});
        } else {
            BOOST_TEST(c.at("externalId") == "contoso");
            check_figures(c.as_object(), {0.0, 1, 0, 1, 2, 6.0});
        }
    }

    auto queue = unmatched();
    BOOST_TEST_REQUIRE(queue.size() == 1u, bj::serialize(queue));
    BOOST_TEST(queue[0].at("responseId") == "6601c0ffee00000000000004");
    BOOST_TEST(queue[0].at("email").is_null());
    BOOST_TEST(integer(queue[0].at("score")) == 8);
    BOOST_TEST(queue[0].at("created") == "2024-03-08T11:45:10.500Z");
}

BOOST_FIXTURE_TEST_CASE(dismissed_response_is_stored_but_not_counted, seeded_host) {
    // For an address no End User has, the dismissed response shows in the queue: it is stored.
    deliver_ok(inst.hook, edited("webhook_dismissed", [](bj::object& r) {
                   r["user"].as_object()["email"] = "nobody@elsewhere.example";
               }));
    auto queue = unmatched();
    BOOST_TEST_REQUIRE(queue.size() == 1u);
    BOOST_TEST(queue[0].at("responseId") == "6601c0ffee00000000000003");
    BOOST_TEST(queue[0].at("email") == "nobody@elsewhere.example");
    BOOST_TEST(queue[0].at("score").is_null());
    BOOST_TEST(queue[0].at("state") == "dismissed");

    // A dismissal that still carries a rating counts nowhere either.
    deliver_ok(inst.hook, edited("webhook_dismissed", [](bj::object& r) {
                   r["id"] = "6601c0ffee00000000000013";
                   r["rating"] = 2;
               }));
    BOOST_TEST(end_user("cy@northwind.example").at("nps").is_null());
    check_figures(company("northwind"), {});
    check_figures(portfolio(), {});
}

BOOST_FIXTURE_TEST_CASE(repeated_delivery_changes_nothing, seeded_host) {
    for (int i = 0; i < 2; ++i) {
        deliver_ok(inst.hook, fixture("webhook_completed_promoter"));
        deliver_ok(inst.hook, fixture("webhook_anonymous"));
    }
    check_nps(end_user("ada@northwind.example").at("nps"), 10, promoter_feedback,
              "2024-03-05T09:12:44.120Z", "6601c0ffee00000000000001");
    check_figures(company("northwind"), {100.0, 1, 0, 0, 1, 10.0});
    check_figures(portfolio(), {100.0, 1, 0, 0, 1, 10.0});
    BOOST_TEST(unmatched().size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(older_update_never_overwrites_newer, seeded_host) {
    auto pending = edited("webhook_completed_promoter", [](bj::object& r) {
        r["rating"] = 4;
        r["feedback"] = "Half-way through";
        r["completed"] = false;
        r["pending"] = true;
    });

    // Pending first, then completed: the completed version replaces it.
    deliver_ok(inst.hook, pending);
    check_nps(end_user("ada@northwind.example").at("nps"), 4, "Half-way through",
              "2024-03-05T09:12:44.120Z", "6601c0ffee00000000000001");
    deliver_ok(inst.hook, fixture("webhook_completed_promoter"));
    check_nps(end_user("ada@northwind.example").at("nps"), 10, promoter_feedback,
              "2024-03-05T09:12:44.120Z", "6601c0ffee00000000000001");

    // The pending version again, and a version with an older survey time: both ignored.
    deliver_ok(inst.hook, pending);
    deliver_ok(inst.hook, edited("webhook_completed_promoter", [](bj::object& r) {
                   r["created"] = "2024-03-01T00:00:00.000Z";
                   r["rating"] = 2;
                   r["feedback"] = "An older version";
               }));
    // A dismissal of the same response after its completion is older in state: ignored too.
    deliver_ok(inst.hook, edited("webhook_completed_promoter", [](bj::object& r) {
                   r["dismissed"] = true;
                   r["completed"] = false;
               }));

    check_nps(end_user("ada@northwind.example").at("nps"), 10, promoter_feedback,
              "2024-03-05T09:12:44.120Z", "6601c0ffee00000000000001");
    check_figures(company("northwind"), {100.0, 1, 0, 0, 1, 10.0});
    check_figures(portfolio(), {100.0, 1, 0, 0, 1, 10.0});
}

BOOST_FIXTURE_TEST_CASE(older_response_of_same_user_does_not_replace_latest_score, seeded_host) {
    deliver_ok(inst.hook, fixture("webhook_completed_promoter"));
    deliver_ok(inst.hook, edited("webhook_completed_promoter", [](bj::object& r) {
                   r["id"] = "6601c0ffee00000000000011";
                   r["created"] = "2024-02-01T08:00:00.000Z";
                   r["rating"] = 2;
                   r["feedback"] = "An older survey";
               }));
    check_nps(end_user("ada@northwind.example").at("nps"), 10, promoter_feedback,
              "2024-03-05T09:12:44.120Z", "6601c0ffee00000000000001");
    check_figures(company("northwind"), {100.0, 1, 0, 0, 1, 10.0});

    // A newer survey of the same user does replace it, in the End User and in the rollups.
    deliver_ok(inst.hook, edited("webhook_completed_promoter", [](bj::object& r) {
                   r["id"] = "6601c0ffee00000000000012";
                   r["created"] = "2024-04-01T08:00:00.000Z";
                   r["rating"] = 6;
                   r.erase("feedback");
                   r.erase("answers");
               }));
    check_nps(end_user("ada@northwind.example").at("nps"), 6, std::nullopt,
              "2024-04-01T08:00:00.000Z", "6601c0ffee00000000000012");
    check_figures(company("northwind"), {-100.0, 0, 0, 1, 1, 6.0});
    check_figures(portfolio(), {-100.0, 0, 0, 1, 1, 6.0});
}

BOOST_FIXTURE_TEST_CASE(unmatched_responses_match_when_their_end_user_appears, seeded_host) {
    deliver_ok(inst.hook, edited("webhook_completed_promoter", [](bj::object& r) {
                   r["id"] = "6601c0ffee00000000000021";
                   r["created"] = "2024-03-10T10:00:00.000Z";
                   r["rating"] = 9;
                   r["user"].as_object()["email"] = " Eve@Fabrikam.example";
               }));
    deliver_ok(inst.hook, edited("webhook_completed_detractor_traits_email", [](bj::object& r) {
                   r["id"] = "6601c0ffee00000000000022";
                   r["created"] = "2024-03-11T10:00:00.000Z";
                   r["rating"] = 5;
                   r["user"].as_object()["traits"].as_object()["email"] =
                       "Frank.Alt@fabrikam.example";
               }));
    deliver_ok(inst.hook, fixture("webhook_anonymous"));

    auto queue = unmatched();
    BOOST_TEST_REQUIRE(queue.size() == 3u, bj::serialize(queue));
    BOOST_TEST(queue[0].at("responseId") == "6601c0ffee00000000000022");
    BOOST_TEST(queue[0].at("email") == "frank.alt@fabrikam.example");
    BOOST_TEST(integer(queue[0].at("score")) == 5);
    BOOST_TEST(queue[0].at("created") == "2024-03-11T10:00:00.000Z");
    BOOST_TEST(queue[1].at("responseId") == "6601c0ffee00000000000021");
    BOOST_TEST(queue[1].at("email") == "eve@fabrikam.example");
    BOOST_TEST(queue[2].at("responseId") == "6601c0ffee00000000000004");
    check_figures(portfolio(), {});

    auto added = admin().put(tenant_api + "/companies",
                             R"([{"externalId": "fabrikam", "name": "Fabrikam"}])");
    BOOST_TEST_REQUIRE(added.status == 200u);
    auto users = admin().put(tenant_api + "/endusers", R"([
        {"email": "EVE@fabrikam.example", "companyExternalId": "fabrikam"},
        {"email": "frank@fabrikam.example", "companyExternalId": "fabrikam",
         "otherEmails": ["frank.alt@Fabrikam.example"]}])");
    BOOST_TEST_REQUIRE(users.status == 200u, users.body);
    BOOST_TEST(users.json() ==
               bj::parse(R"({"inserted":2,"updated":0,"unchanged":0,"matchedResponses":2})"));

    check_nps(end_user("eve@fabrikam.example").at("nps"), 9, promoter_feedback,
              "2024-03-10T10:00:00.000Z", "6601c0ffee00000000000021");
    check_nps(end_user("frank@fabrikam.example").at("nps"), 5, detractor_feedback,
              "2024-03-11T10:00:00.000Z", "6601c0ffee00000000000022");
    check_figures(company("fabrikam"), {0.0, 1, 0, 1, 2, 7.0});
    check_figures(portfolio(), {0.0, 1, 0, 1, 2, 7.0});

    queue = unmatched();
    BOOST_TEST_REQUIRE(queue.size() == 1u, bj::serialize(queue));
    BOOST_TEST(queue[0].at("responseId") == "6601c0ffee00000000000004");
}

BOOST_FIXTURE_TEST_CASE(unusable_bodies_answer_400_with_reason_and_store_nothing, seeded_host) {
    struct bad_case {
        std::string name;
        std::string body;
        std::string reason;
    };
    auto with_rating = [](bj::value rating) {
        return edited("webhook_completed_promoter",
                      [rating](bj::object& r) { r["rating"] = rating; });
    };
    const std::string rating_reason = "response.rating must be an integer from 0 to 10";
    const bad_case cases[] = {
        {"malformed JSON", R"({"event":"completed","response":{"id":)", "body is not valid JSON"},
        {"missing response id",
         edited("webhook_completed_promoter", [](bj::object& r) { r.erase("id"); }),
         "response.id must be a non-empty string"},
        {"rating 11", with_rating(11), rating_reason},
        {"rating -1", with_rating(-1), rating_reason},
        {"rating abc", with_rating("abc"), rating_reason},
        {"no response object", R"({"event":"completed"})", "body has no response object"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.name) {
            check_error(deliver(inst.hook, c.body), 400, c.reason);
        }
    }
    check_nothing_stored();
}

BOOST_FIXTURE_TEST_CASE(end_user_moving_company_moves_its_score, seeded_host) {
    deliver_ok(inst.hook, fixture("webhook_completed_promoter"));
    check_figures(company("northwind"), {100.0, 1, 0, 0, 1, 10.0});

    auto moved = admin().put(tenant_api + "/endusers",
                             R"([{"email": "ada@northwind.example", "companyExternalId": "contoso",
                                  "name": "Ada"}])");
    BOOST_TEST_REQUIRE(moved.status == 200u, moved.body);
    BOOST_TEST(moved.json() == bj::parse(R"({"inserted":0,"updated":1,"unchanged":0})"));

    check_figures(company("northwind"), {});
    check_figures(company("contoso"), {100.0, 1, 0, 0, 1, 10.0});
    check_figures(portfolio(), {100.0, 1, 0, 0, 1, 10.0});
}

BOOST_FIXTURE_TEST_CASE(end_user_without_company_counts_in_portfolio_only, seeded_host) {
    auto added = admin().put(tenant_api + "/endusers", R"([{"email": "solo@freelance.example"}])");
    BOOST_TEST_REQUIRE(added.status == 200u, added.body);
    deliver_ok(inst.hook, edited("webhook_completed_promoter", [](bj::object& r) {
                   r["user"].as_object()["email"] = "solo@freelance.example";
               }));

    check_nps(end_user("solo@freelance.example").at("nps"), 10, promoter_feedback,
              "2024-03-05T09:12:44.120Z", "6601c0ffee00000000000001");
    check_figures(portfolio(), {100.0, 1, 0, 0, 1, 10.0});
    check_figures(company("northwind"), {});
    check_figures(company("contoso"), {});
    BOOST_TEST(unmatched().empty());
}

BOOST_FIXTURE_TEST_CASE(concurrent_deliveries_are_all_stored_exactly_once, seeded_host) {
    // 110 End Users; user i answers i % 11, so every rating from 0 to 10 shows ten times:
    // NPS (20 - 70) / 110 = -45.45 shows as -45.5, the average 550 / 110 as 5.
    constexpr int users = 110;
    constexpr int threads = 5;
    bj::array directory;
    for (int i = 0; i < users; ++i) {
        directory.push_back(bj::object{{"email", "user" + std::to_string(i) + "@bulk.example"},
                                       {"companyExternalId", "bulk"}});
    }
    BOOST_TEST_REQUIRE(
        admin().put(tenant_api + "/companies", R"([{"externalId":"bulk"}])").status == 200u);
    BOOST_TEST_REQUIRE(admin().put_json(tenant_api + "/endusers", directory).status == 200u);

    std::vector<std::string> bodies;
    for (int i = 0; i < users; ++i) {
        bodies.push_back(edited("webhook_completed_promoter", [i](bj::object& r) {
            char id[25];
            std::snprintf(id, sizeof id, "7701c0ffee%014d", i);
            r["id"] = id;
            r["rating"] = i % 11;
            r["user"].as_object()["email"] = "user" + std::to_string(i) + "@bulk.example";
        }));
    }
    auto anonymous_body = fixture("webhook_anonymous");
    std::vector<std::vector<unsigned>> statuses(threads);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            auto client = anonymous();
            for (int i = t; i < users; i += threads) {
                statuses[t].push_back(client.post(inst.hook, bodies[i]).status);
                // Every thread also repeats one shared delivery.
                statuses[t].push_back(client.post(inst.hook, anonymous_body).status);
            }
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    for (const auto& per_thread : statuses) {
        for (auto status : per_thread) {
            BOOST_TEST(status == 200u);
        }
    }

    check_figures(company("bulk"), {-45.5, 20, 20, 70, 110, 5.0});
    check_figures(portfolio(), {-45.5, 20, 20, 70, 110, 5.0});
    check_nps(end_user("user37@bulk.example").at("nps"), 4, promoter_feedback,
              "2024-03-05T09:12:44.120Z", "7701c0ffee00000000000037");
    BOOST_TEST(unmatched().size() == 1u);
}

// ---- webhook keys and installation state -----------------------------------------------------

BOOST_FIXTURE_TEST_CASE(unknown_key_answers_404, seeded_host) {
    auto key = inst.hook.substr(inst.hook.rfind('/') + 1);
    check_error(deliver("/hooks/satismeter/not-a-key", fixture("webhook_completed_promoter")), 404,
                "not found");
    check_error(deliver("/hooks/satismeter/" + key + "x", fixture("webhook_completed_promoter")),
                404, "not found");
    check_error(deliver("/hooks/other-connector/" + key, fixture("webhook_completed_promoter")),
                404, "not found");
    check_nothing_stored();
}

BOOST_FIXTURE_TEST_CASE(disabled_installation_answers_404_and_stores_nothing, seeded_host) {
    auto off = admin().patch(tenant_api + "/installations/" + inst.id, R"({"enabled":false})");
    BOOST_TEST_REQUIRE(off.status == 200u, off.body);
    BOOST_TEST(off.json().at("enabled") == false);

    check_error(deliver(inst.hook, fixture("webhook_completed_promoter")), 404, "not found");
    check_error(deliver(inst.hook, fixture("webhook_anonymous")), 404, "not found");
    check_nothing_stored();

    auto on = admin().patch(tenant_api + "/installations/" + inst.id, R"({"enabled":true})");
    BOOST_TEST_REQUIRE(on.status == 200u, on.body);
    BOOST_TEST(on.json().at("enabled") == true);
    deliver_ok(inst.hook, fixture("webhook_completed_promoter"));
    check_figures(company("northwind"), {100.0, 1, 0, 0, 1, 10.0});
}

BOOST_FIXTURE_TEST_CASE(patching_config_keeps_secret_unless_a_new_one_is_given, seeded_host) {
    auto path = tenant_api + "/installations/" + inst.id;

    // The listing's masked value sent back unchanged, as an edit form does, keeps the secret.
    auto echoed = admin().patch(path, R"({"config":{"projectId":"0123456789abcdef01234567",
                                                    "apiKey":"••••WXYZ"}})");
    BOOST_TEST_REQUIRE(echoed.status == 200u, echoed.body);
    BOOST_TEST(echoed.json().at("config").at("projectId") == "0123456789abcdef01234567");
    BOOST_TEST(echoed.json().at("config").at("apiKey") == "••••WXYZ");

    // Leaving the secret out keeps it too; a new value replaces it.
    auto omitted = admin().patch(path, R"({"config":{"projectId":"5f1e2d3c4b5a697887766554"}})");
    BOOST_TEST_REQUIRE(omitted.status == 200u, omitted.body);
    BOOST_TEST(omitted.json().at("config").at("apiKey") == "••••WXYZ");
    auto replaced = admin().patch(path, R"({"config":{"apiKey":"rk_live_0000111122223333ABCD"}})");
    BOOST_TEST_REQUIRE(replaced.status == 200u, replaced.body);
    BOOST_TEST(replaced.json().at("config").at("apiKey") == "••••ABCD");
    BOOST_TEST(replaced.json().at("config").at("projectId") == bj::value(project_id));

    auto refused = admin().patch(path, R"({"config":{"projectId":"not-hex"}})");
    BOOST_TEST(refused.status == 400u);
    BOOST_TEST(refused.json().at("error") == "invalid config");
    check_error(admin().patch(path, R"({"enabled":"yes"})"), 400, "enabled must be true or false");
    check_error(admin().patch(tenant_api + "/installations/inst_missing", R"({"enabled":true})"),
                404, "no such installation");
}

BOOST_FIXTURE_TEST_CASE(tenants_see_only_their_own_data_and_installations, seeded_host) {
    deliver_ok(inst.hook, fixture("webhook_completed_promoter"));
    deliver_ok(inst.hook, fixture("webhook_anonymous"));
    BOOST_TEST_REQUIRE(admin().post("/api/v1/tenants", R"({"id":"beta","name":"Beta"})").status ==
                       201u);
    const std::string beta = "/api/v1/tenants/beta";

    check_error(admin().get(beta + "/endusers/ada@northwind.example"), 404, "no such End User");
    check_error(admin().get(beta + "/companies/northwind/nps"), 404, "no such company");
    BOOST_TEST(admin().get(beta + "/installations").json() == bj::array{});
    BOOST_TEST(admin().get(beta + "/nps/unmatched").json() == bj::array{});
    check_figures(admin().get(beta + "/nps").json().as_object(), {});

    check_error(admin().patch(beta + "/installations/" + inst.id, R"({"enabled":false})"), 404,
                "no such installation");
    check_error(admin().post(beta + "/installations/" + inst.id + "/webhook-key", ""), 404,
                "no such installation");
    deliver_ok(inst.hook, fixture("webhook_completed_detractor_traits_email"));
    check_figures(portfolio(), {0.0, 1, 0, 1, 2, 6.5});
}

BOOST_FIXTURE_TEST_CASE(deleted_installation_answers_404, seeded_host) {
    auto path = tenant_api + "/installations/" + inst.id;
    auto deleted = admin().send(ti::bhttp::verb::delete_, path);
    BOOST_TEST_REQUIRE(deleted.status == 200u, deleted.body);
    check_error(deliver(inst.hook, fixture("webhook_completed_promoter")), 404, "not found");
    check_nothing_stored();
    BOOST_TEST(admin().get(tenant_api + "/installations").json() == bj::array{});
    check_error(admin().send(ti::bhttp::verb::delete_, path), 404, "no such installation");
}

BOOST_FIXTURE_TEST_CASE(rotated_key_works_and_old_key_keeps_working_in_grace, seeded_host) {
    auto rotated = admin().post(tenant_api + "/installations/" + inst.id + "/webhook-key", "");
    BOOST_TEST_REQUIRE(rotated.status == 200u, rotated.body);
    std::string url(rotated.json().at("webhookUrl").as_string());
    BOOST_TEST(url != inst.url);
    BOOST_TEST(
        url.starts_with("http://127.0.0.1:" + std::to_string(host->port()) + "/hooks/satismeter/"));
    BOOST_TEST(rotated.json().as_object().contains("previousKeyValidUntil"));

    deliver_ok(ti::target_of(url), fixture("webhook_completed_promoter"));
    deliver_ok(inst.hook, fixture("webhook_completed_detractor_traits_email"));
    check_figures(portfolio(), {0.0, 1, 0, 1, 2, 6.5});

    // The rotation's answer was the only place the new key showed.
    auto list = admin().get(tenant_api + "/installations");
    BOOST_TEST(list.body.find(url.substr(url.rfind('/') + 1)) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(rotated_old_key_stops_working_after_grace) {
    host_fixture f([](tributary::host::app_options& o) { o.key_grace = std::chrono::seconds(0); });
    f.create_tenant();
    f.seed_directory();
    auto inst = f.install();
    auto rotated = f.admin().post(tenant_api + "/installations/" + inst.id + "/webhook-key", "");
    BOOST_TEST_REQUIRE(rotated.status == 200u);

    // The grace ends at the millisecond of the rotation: poll until the old key is refused.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    unsigned status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        status = f.deliver(inst.hook, R"({"event":"completed"})").status;
        if (status == 404u) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    BOOST_TEST(status == 404u);
    check_error(f.deliver(inst.hook, fixture("webhook_completed_promoter")), 404, "not found");
    f.deliver_ok(ti::target_of(std::string(rotated.json().at("webhookUrl").as_string())),
                 fixture("webhook_anonymous"));
    BOOST_TEST(f.unmatched().size() == 1u);
    BOOST_TEST(f.end_user("ada@northwind.example").at("nps").is_null());
}

BOOST_FIXTURE_TEST_CASE(body_over_one_mebibyte_answers_413_and_stores_nothing, seeded_host) {
    // Valid JSON padded past the limit: only its size is wrong.
    std::string body = edited("webhook_completed_promoter",
                              [](bj::object& r) { r["padding"] = std::string(1 << 20, 'x'); });
    BOOST_TEST_REQUIRE(body.size() > (1u << 20));
    check_error(deliver(inst.hook, body), 413, "request body too large");

    // Without a declared length the limit holds as the body arrives.
    check_error(anonymous().send(ti::bhttp::verb::post, inst.hook, body,
                                 {{"Transfer-Encoding", "chunked"}}),
                413, "request body too large");
    check_nothing_stored();

    // Just under the limit the same delivery is stored.
    std::string fits = edited("webhook_completed_promoter", [](bj::object& r) {
        r["padding"] = std::string((1 << 20) - 2048, 'x');
    });
    BOOST_TEST_REQUIRE(fits.size() < (1u << 20));
    deliver_ok(inst.hook, fits);
    check_figures(company("northwind"), {100.0, 1, 0, 0, 1, 10.0});
}

// ---- restart ---------------------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(restart_keeps_data_installations_and_webhook_key, seeded_host) {
    deliver_ok(inst.hook, fixture("webhook_completed_promoter"));
    auto rotated = admin().post(tenant_api + "/installations/" + inst.id + "/webhook-key", "");
    BOOST_TEST_REQUIRE(rotated.status == 200u);
    std::string new_hook = ti::target_of(std::string(rotated.json().at("webhookUrl").as_string()));

    restart();

    check_nps(end_user("ada@northwind.example").at("nps"), 10, promoter_feedback,
              "2024-03-05T09:12:44.120Z", "6601c0ffee00000000000001");
    auto list = admin().get(tenant_api + "/installations");
    BOOST_TEST_REQUIRE(list.status == 200u);
    BOOST_TEST_REQUIRE(list.json().as_array().size() == 1u);
    BOOST_TEST(list.json().as_array()[0].at("id") == bj::value(inst.id));
    BOOST_TEST(list.json().as_array()[0].at("enabled") == true);
    BOOST_TEST(list.json().as_array()[0].at("config").at("apiKey") == "••••WXYZ");

    // Both keys still work on the new port; the key is what identifies the installation.
    deliver_ok(new_hook, fixture("webhook_completed_detractor_traits_email"));
    deliver_ok(inst.hook, fixture("webhook_rating_in_answers_only"));
    check_figures(company("contoso"), {0.0, 1, 0, 1, 2, 6.0});
    check_figures(portfolio(), {33.3, 2, 0, 1, 3, 7.3});
    check_error(deliver("/hooks/satismeter/not-a-key", fixture("webhook_anonymous")), 404,
                "not found");
}

// ---- logs ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(logs_carry_no_secrets_keys_or_personal_data) {
    ti::log_capture capture;
    std::vector<std::string> secrets{std::string(ti::admin_token), std::string(api_key),
                                     std::string(promoter_feedback),
                                     std::string(detractor_feedback), "192.0.2.10"};
    {
        seeded_host f;
        secrets.push_back(f.inst.hook.substr(f.inst.hook.rfind('/') + 1));
        for (auto name :
             {"webhook_completed_promoter", "webhook_completed_detractor_traits_email",
              "webhook_dismissed", "webhook_anonymous", "webhook_rating_in_answers_only"}) {
            f.deliver_ok(f.inst.hook, fixture(name));
        }
        f.deliver_ok(f.inst.hook, edited("webhook_completed_promoter", [](bj::object& r) {
                         r["id"] = "6601c0ffee00000000000031";
                         r["user"].as_object()["email"] = "unknown.person@elsewhere.example";
                     }));
        BOOST_TEST(f.deliver(f.inst.hook, edited("webhook_completed_promoter",
                                                 [](bj::object& r) { r["rating"] = 11; }))
                       .status == 400u);
        BOOST_TEST(f.deliver(f.inst.hook, "{not json").status == 400u);
        BOOST_TEST(f.deliver("/hooks/satismeter/not-a-key", "{}").status == 404u);
        BOOST_TEST(f.anonymous().with_token("wrong-token").get("/api/v1/connectors").status ==
                   401u);
        BOOST_TEST(f.admin()
                       .put(tenant_api + "/endusers",
                            R"([{"email": "ghost@nowhere.example", "companyExternalId": "x"}])")
                       .status == 400u);

        auto rotated =
            f.admin().post(tenant_api + "/installations/" + f.inst.id + "/webhook-key", "");
        BOOST_TEST_REQUIRE(rotated.status == 200u);
        std::string url(rotated.json().at("webhookUrl").as_string());
        secrets.push_back(url.substr(url.rfind('/') + 1));
        f.deliver_ok(ti::target_of(url), fixture("webhook_completed_promoter"));
        BOOST_TEST(f.admin()
                       .patch(tenant_api + "/installations/" + f.inst.id, R"({"enabled":false})")
                       .status == 200u);
        BOOST_TEST(f.deliver(ti::target_of(url), fixture("webhook_anonymous")).status == 404u);
        f.restart();
        BOOST_TEST(f.end_user("ada@northwind.example").at("nps").at("score") == 10);
    }

    auto lines = capture.lines();
    BOOST_TEST_REQUIRE(!lines.empty());
    bool saw_installation = false;
    for (const auto& line : lines) {
        BOOST_TEST_CONTEXT("log line: " << line) {
            saw_installation = saw_installation || line.find("installation created") != line.npos;
            // No email address at all, whatever its case or where it came from.
            BOOST_TEST(line.find('@') == std::string::npos);
            for (const auto& secret : secrets) {
                BOOST_TEST(line.find(secret) == std::string::npos);
            }
        }
    }
    BOOST_TEST(saw_installation);
}
