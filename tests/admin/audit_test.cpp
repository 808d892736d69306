// audit_test.cpp: every admin change lands in the audit log, with secrets masked.
#include "app/app.hpp"

#include "admin_fixture.hpp"
#include "util/time.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace {

namespace bj = boost::json;
namespace ta = tributary::admin_test;
namespace ti = tributary::integration;
using ti::bhttp::verb;

const std::string masked_key = "\u2022\u2022\u2022\u2022QRST";
const std::string masked_other_key = "\u2022\u2022\u2022\u2022UVWX";

std::vector<std::string> actions_of(const bj::array& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries) {
        out.emplace_back(e.at("action").as_string());
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(audit_log)

BOOST_FIXTURE_TEST_CASE(records_every_change_with_masked_before_and_after, ta::admin_fixture) {
    create_tenant("acme");
    auto inst = install("acme");
    std::string path = "/api/v1/tenants/acme/installations/" + inst.id;
    auto patched = admin().patch_json(
        path, bj::value{{"config", {{"apiKey", ta::other_api_key}}}, {"enabled", false}});
    BOOST_TEST_REQUIRE(patched.status == 200u, patched.body);
    auto rotated = admin().post(path + "/webhook-key", "");
    BOOST_TEST_REQUIRE(rotated.status == 200u, rotated.body);
    std::string new_url(rotated.json().at("webhookUrl").as_string());
    remember(new_url.substr(new_url.rfind('/') + 1));
    BOOST_TEST_REQUIRE(admin().send(verb::delete_, path).status == 200u);

    auto raw = admin().get("/api/v1/audit?tenant=acme");
    BOOST_TEST_REQUIRE(raw.status == 200u, raw.body);
    for (const auto& secret : secrets) {
        if (secret != std::string(ti::admin_token)) {
            BOOST_TEST(raw.body.find(secret) == std::string::npos, "the audit holds " << secret);
        }
    }
    auto entries = raw.json().as_array();
    BOOST_TEST(actions_of(entries) ==
                   (std::vector<std::string>{"installation.delete", "installation.rotate-key",
                                             "installation.update", "installation.create",
                                             "tenant.create"}),
               boost::test_tools::per_element());

    const auto& update = entries[2].as_object();
    BOOST_TEST(update.at("actor") == "admin");
    BOOST_TEST(update.at("tokenId").is_null());
    BOOST_TEST(update.at("tenant") == "acme");
    BOOST_TEST(update.at("target") == bj::value(inst.id));
    BOOST_TEST(update.at("route") == bj::value("PATCH " + path));
    BOOST_TEST(update.at("before").at("config").at("apiKey") == bj::value(masked_key));
    BOOST_TEST(update.at("before").at("enabled") == true);
    BOOST_TEST(update.at("after").at("config").at("apiKey") == bj::value(masked_other_key));
    BOOST_TEST(update.at("after").at("enabled") == false);
    BOOST_TEST(!update.at("after").as_object().contains("webhookUrl"));
    BOOST_TEST(tributary::host::parse_time_ms(update.at("at").as_string()).has_value());

    const auto& create = entries[3].as_object();
    BOOST_TEST(create.at("before").is_null());
    BOOST_TEST(create.at("after").at("config").at("apiKey") == bj::value(masked_key));
    BOOST_TEST(!create.at("after").as_object().contains("webhookUrl"));

    const auto& rotation = entries[1].as_object();
    BOOST_TEST(rotation.at("after").as_object().contains("previousKeyValidUntil"));
    BOOST_TEST(!rotation.at("after").as_object().contains("webhookUrl"));

    const auto& removal = entries[0].as_object();
    BOOST_TEST(removal.at("before").at("config").at("apiKey") == bj::value(masked_other_key));
    BOOST_TEST(removal.at("after").is_null());
}

BOOST_FIXTURE_TEST_CASE(names_the_tenant_token_that_made_a_change, ta::admin_fixture) {
    create_tenant("acme");
    auto [token_id, token] = create_token("acme");
    auto put = as(token).put("/api/v1/tenants/acme/companies",
                             R"([{"externalId": "northwind", "name": "Northwind"}])");
    BOOST_TEST_REQUIRE(put.status == 200u, put.body);

    auto entries = audit("?tenant=acme&limit=1");
    BOOST_TEST_REQUIRE(entries.size() == 1u);
    BOOST_TEST(entries[0].at("action") == "companies.upsert");
    BOOST_TEST(entries[0].at("actor") == bj::value("token:" + token_id));
    BOOST_TEST(entries[0].at("tokenId") == bj::value(token_id));
    BOOST_TEST(entries[0].at("after").at("inserted") == 1);
    BOOST_TEST(entries[0].at("after").at("rows") == 1);
}

BOOST_FIXTURE_TEST_CASE(tenant_token_sees_only_its_tenants_entries, ta::admin_fixture) {
    create_tenant("acme");
    create_tenant("beta");
    install("beta");
    auto [token_id, token] = create_token("acme");

    auto mine = as(token).get("/api/v1/audit");
    BOOST_TEST_REQUIRE(mine.status == 200u, mine.body);
    auto entries = mine.json().as_array();
    BOOST_TEST(!entries.empty());
    for (const auto& e : entries) {
        BOOST_TEST(e.at("tenant") == "acme");
    }
    auto other = as(token).get("/api/v1/audit?tenant=beta");
    BOOST_TEST(other.status == 403u);

    // The admin sees all, or one tenant when asking for it.
    auto all = audit();
    BOOST_TEST(all.size() > entries.size());
    for (const auto& e : audit("?tenant=beta")) {
        BOOST_TEST(e.at("tenant") == "beta");
    }
}

BOOST_FIXTURE_TEST_CASE(refused_changes_leave_no_entry, ta::admin_fixture) {
    create_tenant("acme");
    auto before = audit().size();
    auto invalid = admin().post_json(
        "/api/v1/tenants/acme/installations",
        bj::value{{"connector", "satismeter"}, {"config", {{"projectId", "nope"}}}});
    BOOST_TEST(invalid.status == 400u);
    auto duplicate = admin().post_json("/api/v1/tenants", bj::value{{"id", "acme"}, {"name", "A"}});
    BOOST_TEST(duplicate.status == 409u);
    BOOST_TEST(audit().size() == before);
}

BOOST_AUTO_TEST_SUITE_END()
