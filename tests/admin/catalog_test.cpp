// catalog_test.cpp: reloading the catalog and installing manifests at run time, and refusals
// that leave the catalog as it was.
#include "app/app.hpp"

#include "admin_fixture.hpp"
#include "util/crypto.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
namespace ta = tributary::admin_test;
namespace ti = tributary::integration;

const std::string raw_library = ta::test_library("tributary_test_raw_internal");
const std::string raw_name = ta::test_library_name("tributary_test_raw_internal");

struct catalog_fixture : ta::admin_fixture {
    ti::temp_dir elsewhere{"tributary-admin-elsewhere"};

    // Writes a manifest outside the manifest directory and asks the host to install it.
    ti::http_answer install_file(const std::string& name, const std::string& yaml) {
        auto file = elsewhere.path() / name;
        ti::write_file(file, yaml);
        return admin().post_json("/api/v1/connectors", bj::value{{"manifestPath", file.string()}});
    }

    std::string file_of(const std::string& name) const {
        return (elsewhere.path() / name).string();
    }

    std::vector<std::string> strings(const bj::value& report, std::string_view key) {
        std::vector<std::string> out;
        for (const auto& v : report.at(key).as_array()) {
            out.emplace_back(v.as_string());
        }
        return out;
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(catalog_changes)

BOOST_FIXTURE_TEST_CASE(installs_a_manifest_without_restart_and_keeps_it, catalog_fixture) {
    auto a = install_file("raw.yaml", ta::test_manifest("test-raw-internal", raw_name));
    BOOST_TEST_REQUIRE(a.status == 201u, a.body);
    BOOST_TEST(a.json().at("id") == "test-raw-internal");
    BOOST_TEST(a.json().at("version") == "1.0.0");
    BOOST_TEST(catalog_ids() == (std::vector<std::string>{"satismeter", "test-raw-internal"}),
               boost::test_tools::per_element());

    // A tenant can install it at once, and it is still there after a restart.
    create_tenant("acme");
    auto inst = admin().post_json("/api/v1/tenants/acme/installations",
                                  bj::value{{"connector", "test-raw-internal"}});
    BOOST_TEST_REQUIRE(inst.status == 201u, inst.body);
    remember(ti::target_of(std::string(inst.json().at("webhookUrl").as_string())));
    restart();
    BOOST_TEST(catalog_ids() == (std::vector<std::string>{"satismeter", "test-raw-internal"}),
               boost::test_tools::per_element());

    auto audit_entries = audit();
    BOOST_TEST(audit_entries.back().at("action") == "connector.install");
    BOOST_TEST(audit_entries.back().at("target") == "test-raw-internal");
}

BOOST_FIXTURE_TEST_CASE(installs_uploaded_manifest_text, catalog_fixture) {
    auto yaml = ta::test_manifest("test-raw-internal", raw_name);
    auto a = admin().post_json("/api/v1/connectors", bj::value{{"manifest", yaml}});
    BOOST_TEST_REQUIRE(a.status == 201u, a.body);
    restart();
    BOOST_TEST(catalog_ids().size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(finds_a_library_beside_its_manifest, catalog_fixture) {
    fs::copy_file(raw_library, elsewhere.path() / "libraw.so");
    auto a = install_file("raw.yaml", ta::test_manifest("test-raw-internal", "libraw.so"));
    BOOST_TEST(a.status == 201u, a.body);
    restart();
    BOOST_TEST(catalog_ids().size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(refuses_a_malformed_manifest_and_keeps_the_catalog, catalog_fixture) {
    auto before = admin().get("/api/v1/connectors").body;

    auto bad_version =
        install_file("bad.yaml", ta::test_manifest("test-raw-internal", raw_name, "abc"));
    BOOST_TEST(bad_version.status == 400u);
    BOOST_TEST(ta::error_of(bad_version) ==
               file_of("bad.yaml") +
                   ": field 'version': expected a semantic version like 1.2.3, got 'abc'");

    auto unknown_key = install_file(
        "extra.yaml", ta::test_manifest("test-raw-internal", raw_name, "1.0.0", "colour: red\n"));
    BOOST_TEST(unknown_key.status == 400u);
    BOOST_TEST(ta::error_of(unknown_key).starts_with(file_of("extra.yaml") + ": field 'colour': "));

    auto missing =
        admin().post_json("/api/v1/connectors", bj::value{{"manifestPath", file_of("none.yaml")}});
    BOOST_TEST(missing.status == 400u);
    BOOST_TEST(
        ta::error_of(missing).starts_with(file_of("none.yaml") + ": cannot read the manifest ("));

    auto neither = admin().post_json("/api/v1/connectors", bj::object{});
    BOOST_TEST(neither.status == 400u);
    BOOST_TEST(ta::error_of(neither) ==
               "give either manifestPath or manifest (the YAML text) as a string");

    BOOST_TEST(admin().get("/api/v1/connectors").body == before);
}

BOOST_FIXTURE_TEST_CASE(refuses_a_lying_manifest_and_keeps_the_catalog, catalog_fixture) {
    auto before = admin().get("/api/v1/connectors").body;

    // The library says it is someone else.
    auto liar_library = ta::test_library("tributary_test_id_mismatch");
    auto id_lie = install_file(
        "liar.yaml",
        ta::test_manifest("test-liar", ta::test_library_name("tributary_test_id_mismatch")));
    BOOST_TEST(id_lie.status == 400u);
    BOOST_TEST(ta::error_of(id_lie) ==
               liar_library +
                   ": connector id 'test-someone-else' disagrees with manifest id 'test-liar'");

    // The library is another version than the manifest says.
    auto version_library = ta::test_library("tributary_test_version_mismatch");
    auto version_lie =
        install_file("version.yaml",
                     ta::test_manifest("test-version-mismatch",
                                       ta::test_library_name("tributary_test_version_mismatch")));
    BOOST_TEST(version_lie.status == 400u);
    BOOST_TEST(ta::error_of(version_lie) ==
               version_library +
                   ": connector version '9.9.9' disagrees with manifest version '1.0.0'");

    // The library is not the file the manifest's checksum names.
    auto wrong_sum = "checksum: sha256:" + std::string(64, '0') + "\n";
    auto sum_lie = install_file(
        "sum.yaml", ta::test_manifest("test-raw-internal", raw_name, "1.0.0", wrong_sum));
    BOOST_TEST(sum_lie.status == 400u);
    BOOST_TEST(ta::error_of(sum_lie) ==
               raw_library + ": SHA-256 checksum does not match the manifest");

    // A library built for another ABI.
    auto abi_library = ta::test_library("tributary_test_abi2");
    auto abi = install_file(
        "abi.yaml", ta::test_manifest("test-abi2", ta::test_library_name("tributary_test_abi2")));
    BOOST_TEST(abi.status == 400u);
    BOOST_TEST(ta::error_of(abi).starts_with(abi_library + ": built for ABI 2."));

    BOOST_TEST(admin().get("/api/v1/connectors").body == before);

    // With the right checksum the same library installs.
    auto sum = tributary::host::crypto::sha256_hex(ti::read_file(raw_library));
    auto good = install_file("good.yaml", ta::test_manifest("test-raw-internal", raw_name, "1.0.0",
                                                            "checksum: sha256:" + sum + "\n"));
    BOOST_TEST(good.status == 201u, good.body);
}

BOOST_FIXTURE_TEST_CASE(refuses_to_replace_a_connector_in_use_or_already_loaded, catalog_fixture) {
    auto first = install_file("raw.yaml", ta::test_manifest("test-raw-internal", raw_name));
    BOOST_TEST_REQUIRE(first.status == 201u, first.body);

    auto same = install_file("raw.yaml", ta::test_manifest("test-raw-internal", raw_name));
    BOOST_TEST(same.status == 409u);
    BOOST_TEST(ta::error_of(same) ==
               "connector 'test-raw-internal' 1.0.0 is already in the catalog");

    // Unused, but the new version would come from the library already loaded.
    auto reloaded =
        install_file("raw2.yaml", ta::test_manifest("test-raw-internal", raw_name, "1.1.0"));
    BOOST_TEST(reloaded.status == 409u);
    BOOST_TEST(ta::error_of(reloaded) == "connector 'test-raw-internal' 1.0.0 is loaded from " +
                                             raw_library +
                                             "; replacing that library needs a restart");

    // Used by an installation: upgrades are restarts.
    create_tenant("acme");
    auto inst = admin().post_json("/api/v1/tenants/acme/installations",
                                  bj::value{{"connector", "test-raw-internal"}});
    BOOST_TEST_REQUIRE(inst.status == 201u, inst.body);
    remember(ti::target_of(std::string(inst.json().at("webhookUrl").as_string())));
    auto used =
        install_file("raw3.yaml", ta::test_manifest("test-raw-internal", raw_name, "1.1.0"));
    BOOST_TEST(used.status == 409u);
    BOOST_TEST(ta::error_of(used) ==
               "connector 'test-raw-internal' 1.0.0 is used by 1 "
               "installation; replacing it with 1.1.0 needs a restart");
    BOOST_TEST(admin().get("/api/v1/connectors").json().as_array()[1].at("version") == "1.0.0");
}

BOOST_FIXTURE_TEST_CASE(reload_adds_removes_and_keeps_what_is_used, catalog_fixture) {
    ti::write_file(manifests.path() / "raw.yaml", ta::test_manifest("test-raw-internal", raw_name));
    auto added = admin().post("/api/v1/connectors/reload", "");
    BOOST_TEST_REQUIRE(added.status == 200u, added.body);
    auto report = added.json();
    BOOST_TEST(strings(report, "added") == (std::vector<std::string>{"test-raw-internal"}),
               boost::test_tools::per_element());
    BOOST_TEST(strings(report, "unchanged") == (std::vector<std::string>{"satismeter"}),
               boost::test_tools::per_element());
    BOOST_TEST(report.at("errors").as_array().empty());

    fs::remove(manifests.path() / "raw.yaml");
    auto removed = admin().post("/api/v1/connectors/reload", "").json();
    BOOST_TEST(strings(removed, "removed") == (std::vector<std::string>{"test-raw-internal"}),
               boost::test_tools::per_element());
    BOOST_TEST(catalog_ids() == (std::vector<std::string>{"satismeter"}),
               boost::test_tools::per_element());

    // satismeter is used by an installation: removing its manifest does not unload it.
    create_tenant("acme");
    auto inst = install("acme");
    fs::remove(manifests.path() / "satismeter.yaml");
    auto kept = admin().post("/api/v1/connectors/reload", "").json();
    BOOST_TEST(strings(kept, "keptInUse") == (std::vector<std::string>{"satismeter"}),
               boost::test_tools::per_element());
    auto delivery = anonymous().post(inst.hook, ta::fixture("webhook_dismissed"));
    BOOST_TEST(delivery.status == 200u, delivery.body);
}

BOOST_FIXTURE_TEST_CASE(reload_reports_a_broken_manifest_and_keeps_serving, catalog_fixture) {
    auto before = admin().get("/api/v1/connectors").body;
    ti::write_file(manifests.path() / "bad.yaml",
                   ta::test_manifest("test-raw-internal", raw_name, "abc"));
    auto answer = admin().post("/api/v1/connectors/reload", "");
    BOOST_TEST_REQUIRE(answer.status == 200u, answer.body);
    auto errors = answer.json().at("errors").as_array();
    BOOST_TEST_REQUIRE(errors.size() == 1u);
    BOOST_TEST(errors[0] == bj::value((manifests.path() / "bad.yaml").string() +
                                      ": field 'version': expected a semantic version like "
                                      "1.2.3, got 'abc'"));
    BOOST_TEST(admin().get("/api/v1/connectors").body == before);
}

BOOST_FIXTURE_TEST_CASE(installations_of_a_missing_connector_return_with_it, catalog_fixture) {
    create_tenant("acme");
    auto inst = install("acme");
    fs::remove(manifests.path() / "satismeter.yaml");
    restart();
    BOOST_TEST(anonymous().post(inst.hook, ta::fixture("webhook_dismissed")).status == 404u);

    fs::copy_file(fs::path(TRIBUTARY_MANIFEST_DIR) / "satismeter.yaml",
                  manifests.path() / "satismeter.yaml");
    auto report = admin().post("/api/v1/connectors/reload", "").json();
    BOOST_TEST(strings(report, "added") == (std::vector<std::string>{"satismeter"}),
               boost::test_tools::per_element());
    auto delivery = anonymous().post(inst.hook, ta::fixture("webhook_dismissed"));
    BOOST_TEST(delivery.status == 200u, delivery.body);
}

BOOST_AUTO_TEST_SUITE_END()
