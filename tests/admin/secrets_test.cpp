// secrets_test.cpp: config validation per field, masked and sealed secrets, webhook keys and
// their rotation, and logs free of all of them.
#include "app/app.hpp"

#include "admin_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
namespace ta = tributary::admin_test;
namespace ti = tributary::integration;

const std::string masked_key = "\u2022\u2022\u2022\u2022QRST";

struct field_error {
    std::string field;
    std::string message;
    bool operator==(const field_error&) const = default;
};

std::ostream& operator<<(std::ostream& out, const field_error& e) {
    return out << e.field << ": " << e.message;
}

std::vector<field_error> field_errors(const ti::http_answer& a) {
    std::vector<field_error> out;
    auto body = a.json();
    for (const auto& f : body.at("fields").as_array()) {
        out.push_back(
            {std::string(f.at("field").as_string()), std::string(f.at("message").as_string())});
    }
    return out;
}

// Every byte of the database files, the write-ahead log included.
std::string database_bytes(const fs::path& data_dir) {
    std::string all;
    for (const auto* name : {"tributary.db", "tributary.db-wal"}) {
        if (fs::exists(data_dir / name)) {
            all += ti::read_file(data_dir / name);
        }
    }
    return all;
}

unsigned mode_of(const fs::path& file) {
    struct stat st {};
    ::stat(file.c_str(), &st);
    return st.st_mode & 0777;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(secrets_and_keys)

BOOST_FIXTURE_TEST_CASE(config_errors_name_each_field_word_for_word, ta::admin_fixture) {
    create_tenant("acme");
    auto a = admin().post_json("/api/v1/tenants/acme/installations",
                               bj::value{{"connector", "satismeter"},
                                         {"config",
                                          {{"colour", "red"},
                                           {"projectId", "5F1E2D3C"},
                                           {"apiKey", 42},
                                           {"baseUrl", "ftp://files.example"}}}});
    BOOST_TEST_REQUIRE(a.status == 400u, a.body);
    BOOST_TEST(ta::error_of(a) == "invalid config");
    auto expected =
        std::vector<field_error>{{"colour", "unknown field"},
                                 {"projectId", "must match ^[0-9a-f]{24}$"},
                                 {"apiKey", "expected a string"},
                                 {"baseUrl", "expected an http:// or https:// URL with a host"}};
    BOOST_TEST(field_errors(a) == expected, boost::test_tools::per_element());

    auto missing = admin().post_json("/api/v1/tenants/acme/installations",
                                     bj::value{{"connector", "satismeter"}, {"config", {}}});
    BOOST_TEST(field_errors(missing) == (std::vector<field_error>{{"projectId", "is required"}}),
               boost::test_tools::per_element());

    auto unknown = admin().post_json("/api/v1/tenants/acme/installations",
                                     bj::value{{"connector", "nothing"}});
    BOOST_TEST(unknown.status == 400u);
    BOOST_TEST(ta::error_of(unknown) == "connector is not in the catalog");
    BOOST_TEST(admin().get("/api/v1/tenants/acme/installations").json().as_array().empty());
}

BOOST_FIXTURE_TEST_CASE(secrets_are_masked_in_every_answer, ta::admin_fixture) {
    create_tenant("acme");
    auto created = admin().post_json(
        "/api/v1/tenants/acme/installations",
        bj::value{{"connector", "satismeter"},
                  {"config", {{"projectId", ta::project_id}, {"apiKey", ta::api_key}}}});
    BOOST_TEST_REQUIRE(created.status == 201u, created.body);
    auto id = std::string(created.json().at("id").as_string());
    std::string url(created.json().at("webhookUrl").as_string());
    remember(url.substr(url.rfind('/') + 1));
    BOOST_TEST(created.json().at("config").at("apiKey") == bj::value(masked_key));

    auto path = "/api/v1/tenants/acme/installations/" + id;
    auto patched = admin().patch_json(path, bj::value{{"enabled", false}});
    auto listed = admin().get("/api/v1/tenants/acme/installations");
    for (const auto* a : {&created, &patched, &listed}) {
        BOOST_TEST(a->body.find(ta::api_key) == std::string::npos, a->body);
    }
    BOOST_TEST(listed.json().as_array()[0].at("config").at("apiKey") == bj::value(masked_key));
    BOOST_TEST(!listed.json().as_array()[0].as_object().contains("webhookUrl"));
    BOOST_TEST(listed.body.find(url.substr(url.rfind('/') + 1)) == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(secrets_are_sealed_on_disk_with_an_owner_only_key, ta::admin_fixture) {
    create_tenant("acme");
    auto inst = install("acme");
    auto token = create_token("acme").second;
    host.reset();

    auto bytes = database_bytes(data.path());
    BOOST_TEST(!bytes.empty());
    BOOST_TEST(bytes.find(ta::project_id) != std::string::npos);  // the check can see plain text
    BOOST_TEST(bytes.find(ta::api_key) == std::string::npos);
    BOOST_TEST(bytes.find(inst.key) == std::string::npos);
    BOOST_TEST(bytes.find(token) == std::string::npos);
    BOOST_TEST(bytes.find("\"apiKey\":\"v1:") != std::string::npos);

    BOOST_TEST(mode_of(data.path() / "secrets.key") == 0600u);
    BOOST_TEST(mode_of(data.path()) == 0700u);

    // The same key opens them again after a restart: jobs and webhooks get the plain value.
    start();
    auto entry = host->app().installation_by_id(inst.id);
    BOOST_TEST_REQUIRE(entry != nullptr);
    BOOST_TEST(entry->config_json.find(ta::api_key) != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(disabling_answers_404_and_enabling_restores_the_same_url,
                        ta::admin_fixture) {
    create_tenant("acme");
    auto inst = install("acme");
    auto path = "/api/v1/tenants/acme/installations/" + inst.id;
    BOOST_TEST(anonymous().post(inst.hook, ta::fixture("webhook_dismissed")).status == 200u);

    BOOST_TEST_REQUIRE(admin().patch_json(path, bj::value{{"enabled", false}}).status == 200u);
    auto off = anonymous().post(inst.hook, ta::fixture("webhook_completed_promoter"));
    BOOST_TEST(off.status == 404u);

    BOOST_TEST_REQUIRE(admin().patch_json(path, bj::value{{"enabled", true}}).status == 200u);
    BOOST_TEST(anonymous().post(inst.hook, ta::fixture("webhook_dismissed")).status == 200u);
}

BOOST_AUTO_TEST_CASE(rotated_key_works_until_the_grace_period_ends) {
    ta::admin_fixture f(
        [](tributary::host::app_options& o) { o.key_grace = std::chrono::seconds(2); });
    f.create_tenant("acme");
    auto inst = f.install("acme");
    auto rotated =
        f.admin().post("/api/v1/tenants/acme/installations/" + inst.id + "/webhook-key", "");
    BOOST_TEST_REQUIRE(rotated.status == 200u, rotated.body);
    std::string url(rotated.json().at("webhookUrl").as_string());
    std::string key = url.substr(url.rfind('/') + 1);
    f.remember(key);
    BOOST_TEST(key != inst.key);
    BOOST_TEST(rotated.json().as_object().contains("previousKeyValidUntil"));

    auto delivery = ta::fixture("webhook_dismissed");
    BOOST_TEST(f.anonymous().post(inst.hook, delivery).status == 200u);
    BOOST_TEST(f.anonymous().post(ti::target_of(url), delivery).status == 200u);

    // The grace period counts from the rotation; past it only the new key works.
    std::this_thread::sleep_for(std::chrono::milliseconds(2300));
    BOOST_TEST(f.anonymous().post(inst.hook, delivery).status == 404u);
    BOOST_TEST(f.anonymous().post(ti::target_of(url), delivery).status == 200u);

    // The new key survives a restart; the old stays refused.
    f.restart();
    BOOST_TEST(f.anonymous().post(ti::target_of(url), delivery).status == 200u);
    BOOST_TEST(f.anonymous().post(inst.hook, delivery).status == 404u);
}

BOOST_FIXTURE_TEST_CASE(logs_hold_no_secret_token_or_key, ta::admin_fixture) {
    // Everything that handles a secret, at debug level; the fixture greps the log at the end.
    create_tenant("acme");
    auto inst = install("acme");
    auto [token_id, token] = create_token("acme");
    auto mine = as(token);
    auto path = "/api/v1/tenants/acme/installations/" + inst.id;
    BOOST_TEST(
        mine.patch_json(path, bj::value{{"config", {{"apiKey", ta::other_api_key}}}}).status ==
        200u);
    BOOST_TEST(mine.patch_json(path, bj::value{{"config", {{"apiKey", 42}}}}).status == 400u);
    auto rotated = mine.post(path + "/webhook-key", "");
    std::string url(rotated.json().at("webhookUrl").as_string());
    remember(url.substr(url.rfind('/') + 1));
    BOOST_TEST(anonymous().post(ti::target_of(url), ta::fixture("webhook_dismissed")).status ==
               200u);
    BOOST_TEST(anonymous().post(ti::target_of(url), "not json").status == 400u);
    BOOST_TEST(as(token + "x").get("/api/v1/tenants/acme").status == 401u);
    BOOST_TEST(mine.get("/api/v1/tenants/beta").status == 403u);
    BOOST_TEST(admin().get("/api/v1/audit").status == 200u);
    restart();
    BOOST_TEST(!logs.lines().empty());
}

BOOST_AUTO_TEST_SUITE_END()
