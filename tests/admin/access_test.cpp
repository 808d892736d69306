// access_test.cpp: the admin token, tenant tokens and their scopes, over HTTP.
#include "app/app.hpp"

#include "admin_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
namespace ta = tributary::admin_test;
namespace ti = tributary::integration;
using ti::bhttp::verb;

constexpr std::string_view other_tenant = "this token may act only for tenant 'acme'";
constexpr std::string_view admin_only = "this route needs the admin token";

struct two_tenants : ta::admin_fixture {
    ta::installed acme_inst;
    ta::installed beta_inst;
    std::string token_id;
    std::string token;

    two_tenants() {
        create_tenant("acme");
        create_tenant("beta");
        acme_inst = install("acme");
        beta_inst = install("beta", {{"projectId", ta::project_id}, {"apiKey", ta::other_api_key}});
        std::tie(token_id, token) = create_token("acme");
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(tokens_and_scopes)

BOOST_FIXTURE_TEST_CASE(refuses_missing_and_wrong_tokens_with_401, ta::admin_fixture) {
    auto check = [](const ti::http_answer& a) {
        BOOST_TEST(a.status == 401u);
        BOOST_TEST(ta::error_of(a) == "missing or wrong bearer token");
        BOOST_TEST(a.header("WWW-Authenticate").value_or("") == "Bearer");
    };
    check(anonymous().get("/api/v1/connectors"));
    check(as("not-the-admin-token").get("/api/v1/connectors"));
    check(as("trt_not-a-token-the-host-made").get("/api/v1/tenants"));
    check(as(std::string(ti::admin_token) + "x")
              .post_json("/api/v1/tenants", bj::value{{"id", "x"}, {"name", "X"}}));
    check(anonymous().send(verb::get, "/api/v1/connectors", {},
                           {{"Authorization", "Basic " + std::string(ti::admin_token)}}));
    BOOST_TEST(admin().get("/api/v1/tenants").json().as_array().empty());
}

BOOST_FIXTURE_TEST_CASE(tenant_token_manages_its_own_tenant, two_tenants) {
    auto mine = as(token);
    BOOST_TEST(mine.get("/api/v1/tenants/acme/installations").status == 200u);
    BOOST_TEST(mine.get("/api/v1/tenants/acme").status == 200u);
    BOOST_TEST(mine.get("/api/v1/connectors").status == 200u);
    auto patched = mine.patch_json("/api/v1/tenants/acme/installations/" + acme_inst.id,
                                   bj::value{{"enabled", false}});
    BOOST_TEST(patched.status == 200u, patched.body);
    auto companies = mine.put("/api/v1/tenants/acme/companies",
                              R"([{"externalId": "northwind", "name": "Northwind"}])");
    BOOST_TEST(companies.status == 200u, companies.body);

    // Listing tenants shows its own only.
    auto tenants = mine.get("/api/v1/tenants").json().as_array();
    BOOST_TEST_REQUIRE(tenants.size() == 1u);
    BOOST_TEST(tenants[0].at("id") == "acme");
}

BOOST_FIXTURE_TEST_CASE(tenant_token_gets_403_on_another_tenant_and_changes_nothing, two_tenants) {
    auto before = admin().get("/api/v1/tenants/beta/installations").body;
    auto mine = as(token);
    std::string beta = "/api/v1/tenants/beta";
    std::string inst = beta + "/installations/" + beta_inst.id;
    std::vector<ti::http_answer> answers{
        mine.get(beta),
        mine.get(beta + "/installations"),
        mine.post_json(
            beta + "/installations",
            bj::value{{"connector", "satismeter"}, {"config", {{"projectId", ta::project_id}}}}),
        mine.patch_json(inst, bj::value{{"enabled", false}}),
        mine.patch_json(inst, bj::value{{"config", {{"apiKey", ta::api_key}}}}),
        mine.send(verb::delete_, inst),
        mine.post(inst + "/webhook-key", ""),
        mine.post_json(inst + "/actions/pull-historical-nps", bj::object{}),
        mine.put(beta + "/companies", R"([{"externalId": "x", "name": "X"}])"),
        mine.put(beta + "/endusers", R"([{"email": "a@x.example"}])"),
        mine.get(beta + "/endusers/a@x.example"),
        mine.get(beta + "/nps"),
        mine.get(beta + "/nps/unmatched"),
        mine.get(beta + "/companies/x/nps"),
        mine.get(beta + "/jobs"),
        mine.get("/api/v1/tenants/no-such-tenant/installations"),
        mine.get("/api/v1/audit?tenant=beta"),
    };
    for (const auto& a : answers) {
        BOOST_TEST(a.status == 403u, a.body);
        BOOST_TEST(ta::error_of(a) == other_tenant);
    }

    // Beta's installation is as it was, and its webhook still answers.
    BOOST_TEST(admin().get("/api/v1/tenants/beta/installations").body == before);
    auto delivery = anonymous().post(beta_inst.hook, ta::fixture("webhook_dismissed"));
    BOOST_TEST(delivery.status == 200u, delivery.body);
}

BOOST_FIXTURE_TEST_CASE(tenant_token_gets_403_on_host_routes, two_tenants) {
    auto mine = as(token);
    std::vector<ti::http_answer> answers{
        mine.post_json("/api/v1/tenants", bj::value{{"id", "gamma"}, {"name", "Gamma"}}),
        mine.post("/api/v1/connectors/reload", ""),
        mine.post_json("/api/v1/connectors", bj::value{{"manifestPath", "/tmp/x.yaml"}}),
        mine.post_json("/api/v1/tenants/acme/tokens", bj::object{}),
        mine.get("/api/v1/tenants/acme/tokens"),
        mine.send(verb::delete_, "/api/v1/tenants/acme/tokens/" + token_id),
    };
    for (const auto& a : answers) {
        BOOST_TEST(a.status == 403u, a.body);
        BOOST_TEST(ta::error_of(a) == admin_only);
    }
    BOOST_TEST(admin().get("/api/v1/tenants").json().as_array().size() == 2u);
    BOOST_TEST(mine.get("/api/v1/tenants/acme/installations").status == 200u);
}

BOOST_FIXTURE_TEST_CASE(tenant_token_reads_and_cancels_only_its_tenants_jobs, two_tenants) {
    // The job's fate does not matter here: only who may see it. Its base URL is a closed port
    // on the loopback, so it fails without leaving the machine.
    auto local = admin().patch_json("/api/v1/tenants/beta/installations/" + beta_inst.id,
                                    bj::value{{"config", {{"baseUrl", "http://127.0.0.1:1"}}}});
    BOOST_TEST_REQUIRE(local.status == 200u, local.body);
    auto started = admin().post_json(
        "/api/v1/tenants/beta/installations/" + beta_inst.id + "/actions/pull-historical-nps",
        bj::object{});
    BOOST_TEST_REQUIRE(started.status == 202u, started.body);
    std::string job(started.json().at("jobId").as_string());

    auto mine = as(token);
    for (const auto& a :
         {mine.get("/api/v1/jobs/" + job), mine.post("/api/v1/jobs/" + job + "/cancel", "")}) {
        BOOST_TEST(a.status == 403u, a.body);
        BOOST_TEST(ta::error_of(a) == other_tenant);
    }
    BOOST_TEST(admin().get("/api/v1/jobs/" + job).status == 200u);
    BOOST_TEST(mine.get("/api/v1/jobs/job_unknown").status == 404u);
}

BOOST_FIXTURE_TEST_CASE(tokens_are_shown_once_listed_without_secret_and_revoked_at_once,
                        two_tenants) {
    auto listed = admin().get("/api/v1/tenants/acme/tokens");
    BOOST_TEST_REQUIRE(listed.status == 200u, listed.body);
    BOOST_TEST(listed.body.find(token) == std::string::npos);
    auto tokens = listed.json().as_array();
    BOOST_TEST_REQUIRE(tokens.size() == 1u);
    BOOST_TEST(tokens[0].at("id") == bj::value(token_id));
    BOOST_TEST(!tokens[0].as_object().contains("token"));
    BOOST_TEST(tokens[0].at("revoked") == false);

    // Another tenant's token id cannot be revoked through this tenant.
    auto wrong = admin().send(verb::delete_, "/api/v1/tenants/beta/tokens/" + token_id);
    BOOST_TEST(wrong.status == 404u);
    BOOST_TEST(as(token).get("/api/v1/tenants/acme").status == 200u);

    auto revoked = admin().send(verb::delete_, "/api/v1/tenants/acme/tokens/" + token_id);
    BOOST_TEST_REQUIRE(revoked.status == 200u, revoked.body);
    BOOST_TEST(revoked.json().at("revoked") == true);
    BOOST_TEST(as(token).get("/api/v1/tenants/acme").status == 401u);
    auto again = admin().send(verb::delete_, "/api/v1/tenants/acme/tokens/" + token_id);
    BOOST_TEST(again.status == 404u);
    BOOST_TEST(ta::error_of(again) == "no such token, or it is already revoked");

    // Still revoked after a restart.
    restart();
    BOOST_TEST(as(token).get("/api/v1/tenants/acme").status == 401u);
}

BOOST_FIXTURE_TEST_CASE(tokens_survive_a_restart_and_are_stored_hashed, two_tenants) {
    restart();
    BOOST_TEST(as(token).get("/api/v1/tenants/acme/installations").status == 200u);
    host.reset();
    for (const auto* name : {"tributary.db", "tributary.db-wal"}) {
        auto file = data.path() / name;
        if (fs::exists(file)) {
            BOOST_TEST(ti::read_file(file).find(token) == std::string::npos, name);
        }
    }
    start();
}

BOOST_FIXTURE_TEST_CASE(creating_a_token_checks_its_tenant_and_name, ta::admin_fixture) {
    auto missing = admin().post_json("/api/v1/tenants/nobody/tokens", bj::object{});
    BOOST_TEST(missing.status == 404u);
    BOOST_TEST(ta::error_of(missing) == "no such tenant");
    create_tenant("acme");
    auto bad = admin().post_json("/api/v1/tenants/acme/tokens", bj::value{{"name", 7}});
    BOOST_TEST(bad.status == 400u);
    BOOST_TEST(ta::error_of(bad) == "name must be a string of 1 to 100 characters");
}

BOOST_AUTO_TEST_SUITE_END()
