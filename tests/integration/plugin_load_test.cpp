// plugin_load_test.cpp: the loader refuses broken connector libraries with one line each, and a
// host keeps serving next to refused or failing plugins; a record emitted with its hook answers is
// rated by them.
#include "plugin/plugin.hpp"

#include "app/records.hpp"

#define BOOST_TEST_MODULE plugin_load
#include <boost/test/unit_test.hpp>

#include "host_runner.hpp"
#include "http_client.hpp"

#include <tributary/version.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
namespace ti = tributary::integration;
using tributary::host::manifest;
using tributary::host::plugin;
using tributary::host::plugin_error;

const fs::path plugin_dir = TRIBUTARY_PLUGIN_DIR;

// Where the build put a test connector library, as the loader names it.
std::string library_file(std::string_view target) {
    return (plugin_dir / "test" / ("lib" + std::string(target) + ".so")).string();
}

std::string manifest_yaml(std::string_view id, std::string_view target,
                          std::string_view extra = {}) {
    std::string yaml;
    yaml += "id: " + std::string(id) + "\n";
    yaml += "name: Test connector " + std::string(id) + "\n";
    yaml += "version: 1.0.0\n";
    yaml += "publisher: Tributary tests\n";
    yaml += "description: A connector library that tests the plugin boundary.\n";
    yaml += "library: test/lib" + std::string(target) + ".so\n";
    yaml += "abi: \"1.0\"\n";
    yaml += "sync: inbound\n";
    yaml += "webhooks:\n  - route: \"\"\n";
    yaml += extra;
    return yaml;
}

// A manifest directory the test fills, one YAML file per connector.
struct manifest_dir {
    ti::temp_dir dir{"tributary-manifests"};

    fs::path add(std::string_view id, std::string_view target, std::string_view extra = {}) {
        auto file = dir.path() / (std::string(id) + ".yaml");
        ti::write_file(file, manifest_yaml(id, target, extra));
        return file;
    }

    manifest load(std::string_view id, std::string_view target, std::string_view extra = {}) {
        return tributary::host::load_manifest(add(id, target, extra));
    }

    void add_satismeter() {
        fs::copy_file(fs::path(TRIBUTARY_MANIFEST_DIR) / "satismeter.yaml",
                      dir.path() / "satismeter.yaml");
    }
};

// The loader's one line for a refused library, or "" when it loads.
std::string refusal(const manifest& m) {
    try {
        plugin::load(m, plugin_dir);
    } catch (const plugin_error& e) {
        return e.what();
    }
    return "";
}

void check_refusal(const manifest& m, const std::string& expected) {
    auto line = refusal(m);
    BOOST_TEST(line == expected);
    BOOST_TEST(line.find('\n') == std::string::npos);
}

// The refusal of the library built for ABI 2: it claims this SDK's minor, as the host speaks.
std::string abi2_refusal() {
    auto minor = std::to_string(TRIBUTARY_ABI_MINOR);
    return library_file("tributary_test_abi2") + ": built for ABI 2." + minor +
           ", this host speaks ABI 1." + minor;
}

// The refusals a manifest directory holding every broken test plugin produces, in file order.
struct broken_plugins {
    std::vector<std::string> lines;

    explicit broken_plugins(manifest_dir& dir) {
        dir.add("test-abi2", "tributary_test_abi2");
        dir.add("test-extra-action", "tributary_test_extra_action");
        dir.add("test-id-mismatch", "tributary_test_id_mismatch");
        dir.add("test-no-entry", "tributary_test_no_entry");
        dir.add("test-version-mismatch", "tributary_test_version_mismatch");
        lines = {
            abi2_refusal(),
            library_file("tributary_test_extra_action") +
                ": library provides action 'surprise' that the manifest does not declare",
            library_file("tributary_test_id_mismatch") +
                ": connector id 'test-someone-else' disagrees with manifest id 'test-id-mismatch'",
            library_file("tributary_test_no_entry") +
                ": missing the entry symbol tributary_connector_entry",
            library_file("tributary_test_version_mismatch") +
                ": connector version '9.9.9' disagrees with manifest version '1.0.0'",
        };
    }
};

// The one-line error answer {"error": reason}.
void check_error(const ti::http_answer& a, unsigned status, std::string_view reason) {
    BOOST_TEST(a.status == status);
    BOOST_TEST(a.json() == (bj::value{{"error", reason}}), a.body);
}

bool has_line_with(const std::vector<std::string>& lines, const std::vector<std::string>& parts) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
        return std::all_of(parts.begin(), parts.end(),
                           [&](const std::string& p) { return line.find(p) != line.npos; });
    });
}

}  // namespace

// ---- the loader ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(refuses_plugin_built_for_another_abi_major) {
    manifest_dir dir;
    check_refusal(dir.load("test-abi2", "tributary_test_abi2"), abi2_refusal());
}

BOOST_AUTO_TEST_CASE(refuses_plugin_whose_id_disagrees_with_its_manifest) {
    manifest_dir dir;
    check_refusal(dir.load("test-id-mismatch", "tributary_test_id_mismatch"),
                  library_file("tributary_test_id_mismatch") +
                      ": connector id 'test-someone-else' disagrees with manifest id "
                      "'test-id-mismatch'");
}

BOOST_AUTO_TEST_CASE(refuses_plugin_whose_version_disagrees_with_its_manifest) {
    manifest_dir dir;
    check_refusal(dir.load("test-version-mismatch", "tributary_test_version_mismatch"),
                  library_file("tributary_test_version_mismatch") +
                      ": connector version '9.9.9' disagrees with manifest version '1.0.0'");
}

BOOST_AUTO_TEST_CASE(refuses_library_without_the_entry_symbol) {
    manifest_dir dir;
    check_refusal(dir.load("test-no-entry", "tributary_test_no_entry"),
                  library_file("tributary_test_no_entry") +
                      ": missing the entry symbol tributary_connector_entry");
}

BOOST_AUTO_TEST_CASE(refuses_plugin_providing_an_action_its_manifest_lacks) {
    manifest_dir dir;
    check_refusal(dir.load("test-extra-action", "tributary_test_extra_action"),
                  library_file("tributary_test_extra_action") +
                      ": library provides action 'surprise' that the manifest does not declare");
}

BOOST_AUTO_TEST_CASE(refuses_plugin_lacking_an_action_its_manifest_declares) {
    manifest_dir dir;
    check_refusal(dir.load("test-throws-std", "tributary_test_throws_std",
                           "actions:\n  - id: pull\n    name: Pull\n"),
                  library_file("tributary_test_throws_std") +
                      ": manifest declares action 'pull' that the library does not provide");
}

BOOST_AUTO_TEST_CASE(refuses_a_library_that_is_not_there) {
    manifest_dir dir;
    auto file = dir.add("test-absent", "tributary_test_absent");
    check_refusal(tributary::host::load_manifest(file), library_file("tributary_test_absent") +
                                                            ": library not found (manifest " +
                                                            file.string() + ")");
}

BOOST_AUTO_TEST_CASE(refuses_a_library_whose_checksum_differs) {
    manifest_dir dir;
    check_refusal(dir.load("test-throws-std", "tributary_test_throws_std",
                           "checksum: sha256:" + std::string(64, '0') + "\n"),
                  library_file("tributary_test_throws_std") +
                      ": SHA-256 checksum does not match the manifest");
}

BOOST_AUTO_TEST_CASE(loads_well_formed_test_plugins) {
    manifest_dir dir;
    auto sdk = plugin::load(dir.load("test-throws-std", "tributary_test_throws_std"), plugin_dir);
    BOOST_TEST(sdk->id() == "test-throws-std");
    BOOST_TEST(sdk->version() == "1.0.0");
    BOOST_TEST(sdk->sdk_version() == TRIBUTARY_SDK_VERSION);
    BOOST_TEST(sdk->file().string() == library_file("tributary_test_throws_std"));

    auto raw =
        plugin::load(dir.load("test-raw-internal", "tributary_test_raw_internal"), plugin_dir);
    BOOST_TEST(raw->id() == "test-raw-internal");
    BOOST_TEST(raw->sdk_version() == "test");
}

// ---- the host next to broken plugins ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(host_serves_satismeter_next_to_refused_plugins) {
    manifest_dir manifests;
    manifests.add_satismeter();
    broken_plugins broken(manifests);

    ti::log_capture capture;
    ti::temp_dir data("tributary-plugin-host");
    auto options = ti::host_options(data.path());
    options.manifest_dir = manifests.dir.path();
    ti::running_host host(options);
    auto admin = host.admin();

    BOOST_TEST(host.app().catalog_errors() == broken.lines, boost::test_tools::per_element());
    auto ready = host.anonymous().get("/readyz");
    BOOST_TEST(ready.status == 503u);
    BOOST_TEST(ready.json() ==
               bj::parse(R"({"storage":true,"plugins":false,"status":"not ready"})"));
    BOOST_TEST(host.anonymous().get("/healthz").status == 200u);
    for (const auto& line : broken.lines) {
        BOOST_TEST(has_line_with(capture.lines(), {"plugin refused", line}), line);
    }

    auto catalog = admin.get("/api/v1/connectors");
    BOOST_TEST_REQUIRE(catalog.status == 200u);
    BOOST_TEST_REQUIRE(catalog.json().as_array().size() == 1u, catalog.body);
    BOOST_TEST(catalog.json().as_array()[0].at("id") == "satismeter");

    BOOST_TEST_REQUIRE(admin.post("/api/v1/tenants", R"({"id":"acme","name":"Acme"})").status ==
                       201u);
    check_error(admin.post("/api/v1/tenants/acme/installations", R"({"connector":"test-abi2"})"),
                400, "connector is not in the catalog");

    BOOST_TEST_REQUIRE(
        admin.put("/api/v1/tenants/acme/companies", R"([{"externalId":"northwind"}])").status ==
        200u);
    BOOST_TEST_REQUIRE(admin
                           .put("/api/v1/tenants/acme/endusers",
                                R"([{"email":"ada@northwind.example",
                                     "companyExternalId":"northwind"}])")
                           .status == 200u);
    auto installed = admin.post(
        "/api/v1/tenants/acme/installations",
        R"({"connector":"satismeter","config":{"projectId":"5f1e2d3c4b5a697887766554"}})");
    BOOST_TEST_REQUIRE(installed.status == 201u, installed.body);
    auto hook = ti::target_of(std::string(installed.json().at("webhookUrl").as_string()));
    auto delivered =
        host.anonymous().post(hook, ti::read_file(fs::path(TRIBUTARY_FIXTURES_DIR) / "satismeter" /
                                                  "webhook_completed_promoter.json"));
    BOOST_TEST(delivered.status == 200u, delivered.body);

    auto ada = admin.get("/api/v1/tenants/acme/endusers/ada@northwind.example");
    BOOST_TEST_REQUIRE(ada.status == 200u);
    BOOST_TEST(ada.json().at("nps").at("score") == 10);
}

BOOST_AUTO_TEST_CASE(failing_webhook_costs_that_request_a_500_and_host_keeps_serving) {
    manifest_dir manifests;
    manifests.add_satismeter();
    manifests.add("test-throws-std", "tributary_test_throws_std");
    manifests.add("test-throws-other", "tributary_test_throws_other");
    manifests.add("test-raw-internal", "tributary_test_raw_internal");
    manifests.add("test-escapes", "tributary_test_escapes");

    ti::log_capture capture;
    ti::temp_dir data("tributary-plugin-host");
    auto options = ti::host_options(data.path());
    options.manifest_dir = manifests.dir.path();
    ti::running_host host(options);
    auto admin = host.admin();
    auto client = host.anonymous();

    BOOST_TEST(host.app().catalog_errors().empty());
    BOOST_TEST(client.get("/readyz").status == 200u);
    BOOST_TEST_REQUIRE(admin.post("/api/v1/tenants", R"({"id":"acme","name":"Acme"})").status ==
                       201u);
    auto install = [&](std::string_view connector) {
        auto a = admin.post_json("/api/v1/tenants/acme/installations",
                                 bj::value{{"connector", connector}, {"config", bj::object{}}});
        BOOST_TEST_REQUIRE(a.status == 201u, a.body);
        return ti::target_of(std::string(a.json().at("webhookUrl").as_string()));
    };
    auto satismeter = admin.post(
        "/api/v1/tenants/acme/installations",
        R"({"connector":"satismeter","config":{"projectId":"5f1e2d3c4b5a697887766554"}})");
    BOOST_TEST_REQUIRE(satismeter.status == 201u, satismeter.body);
    auto satismeter_hook =
        ti::target_of(std::string(satismeter.json().at("webhookUrl").as_string()));
    auto anonymous_delivery =
        ti::read_file(fs::path(TRIBUTARY_FIXTURES_DIR) / "satismeter" / "webhook_anonymous.json");

    struct failing {
        std::string connector;
        std::string reason;  // as logged with the connector id
        bool fails_always;
    };
    const failing cases[] = {
        {"test-throws-std", "the test connector throws on request", false},
        {"test-throws-other", "unknown exception", false},
        {"test-escapes", "exception escaped the connector: thrown past the C boundary", false},
        {"test-raw-internal", "the raw connector fails every delivery", true},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.connector) {
            auto hook = install(c.connector);
            check_error(client.post(hook, "throw"), 500, "the connector failed");
            BOOST_TEST(has_line_with(capture.lines(),
                                     {"connector failed a webhook", "connector=" + c.connector,
                                      "reason=\"" + c.reason + "\""}));

            // The next request on the same host, to the same connector and to another, works.
            auto next = client.post(hook, "fine");
            if (c.fails_always) {
                check_error(next, 500, "the connector failed");
            } else {
                BOOST_TEST(next.status == 200u);
                BOOST_TEST(next.json() == bj::parse(R"({"ok":true})"));
            }
            auto stored = client.post(satismeter_hook, anonymous_delivery);
            BOOST_TEST(stored.status == 200u, stored.body);
            BOOST_TEST(client.get("/healthz").status == 200u);
        }
    }

    auto queue = admin.get("/api/v1/tenants/acme/nps/unmatched");
    BOOST_TEST_REQUIRE(queue.status == 200u);
    BOOST_TEST(queue.json().as_array().size() == 1u);
}

// ---- rating emitted records ------------------------------------------------------------------

namespace {

// The raw rollup connector's hook counts every record it is called with as a 7.
struct rated_records {
    manifest_dir dir;
    tributary::host::connector_entry connector;
    trib_call call;

    rated_records() {
        auto m =
            dir.load("test-raw-rollup", "tributary_test_raw_rollup", "hooks:\n  - nps-rollup\n");
        connector = {m, plugin::load(m, plugin_dir), true};
        call.connector = connector.spec.id;
    }

    // Prepares one record emitted with these hook answers ("" for none): the contribution, or
    // the reason it was refused.
    std::pair<tributary::host::nps_contribution, std::string> rate(std::string hook_answers,
                                                                   std::string_view record = {}) {
        call.records = {{std::string(record.empty() ? R"({"sourceId":"r1","score":2})" : record),
                         std::move(hook_answers)}};
        std::string error;
        auto prepared = tributary::host::prepare_records(connector, call, error);
        if (!prepared) {
            return {{}, error};
        }
        BOOST_TEST_REQUIRE(prepared->size() == 1u);
        return {prepared->front().contribution, ""};
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_record_is_rated_by_the_answer_sent_with_it_or_else_by_its_hook) {
    rated_records f;
    auto sent = f.rate(R"({"nps-rollup":{"counts":true,"score":2}})");
    BOOST_TEST(sent.second == "");
    BOOST_TEST(sent.first.counts);
    BOOST_TEST(sent.first.score == 2);

    auto left_out = f.rate(R"({"nps-rollup":{"counts":false,"score":null}})");
    BOOST_TEST(!left_out.first.counts);

    // Without an answer for nps-rollup, the host calls the hook, which says 7; the record the
    // hook tries to emit is refused.
    for (std::string answers : {"", "{}", R"({"another-hook":{"counts":false}})"}) {
        BOOST_TEST_CONTEXT(answers) {
            auto called = f.rate(answers);
            BOOST_TEST(called.second == "");
            BOOST_TEST(called.first.counts);
            BOOST_TEST(called.first.score == 7);
            BOOST_TEST(f.call.records.size() == 1u);
        }
    }
}

BOOST_AUTO_TEST_CASE(unusable_answers_sent_with_a_record_refuse_it_as_a_hook_answer_would) {
    rated_records f;
    BOOST_TEST(f.rate(R"({"nps-rollup":{"counts":true,"score":11}})").second ==
               "the nps-rollup hook counted a score outside 0 to 10");
    BOOST_TEST(f.rate(R"({"nps-rollup":{"counts":true}})").second ==
               "the nps-rollup hook counted a score outside 0 to 10");
    BOOST_TEST(f.rate("[1]").second == "the hook answers sent with a record are not a JSON object");
    for (std::string answers : {"not json", R"({"nps-rollup":)"}) {
        BOOST_TEST(f.rate(answers).second.starts_with(
            "the hook answers sent with a record are not JSON: "));
    }
    for (std::string answers :
         {R"({"nps-rollup":null})", R"({"nps-rollup":[1]})",
          R"({"nps-rollup":{"counts":"true","score":9}})", R"({"nps-rollup":{"score":9}})"}) {
        BOOST_TEST_CONTEXT(answers) {
            BOOST_TEST(f.rate(answers).second ==
                       "the nps-rollup hook answered without a true or false \"counts\"");
        }
    }
    // Beyond the int range a score must not wrap round to one from 0 to 10 (2^32 + 9 is not 9).
    for (std::string score : {"4294967305", "-4294967287", "\"4294967305\""}) {
        BOOST_TEST_CONTEXT(score) {
            BOOST_TEST(f.rate(R"({"nps-rollup":{"counts":true,"score":)" + score + "}}").second ==
                       "the nps-rollup hook counted a score outside 0 to 10");
            BOOST_TEST(f.rate("", R"({"sourceId":"r1","score":)" + score + "}").second ==
                       "record score must be an integer from 0 to 10 or null");
        }
    }
}

// The answers wrap an answer in one more object: an answer as deep as a called hook may give is
// still read.
BOOST_AUTO_TEST_CASE(a_sent_answer_may_be_as_deep_as_a_called_one) {
    rated_records f;
    std::string trace = std::string(31, '[') + std::string(31, ']');
    auto r = f.rate(R"({"nps-rollup":{"counts":true,"score":2,"trace":)" + trace + "}}");
    BOOST_TEST(r.second == "");
    BOOST_TEST(r.first.score == 2);
}

// A connector without the hook is rated by the host's own rule, whatever answers come along.
BOOST_AUTO_TEST_CASE(answers_are_ignored_for_a_connector_without_the_hook) {
    rated_records f;
    f.connector.has_rollup_hook = false;
    auto r =
        f.rate(R"({"nps-rollup":{"counts":false,"score":null}})", R"({"sourceId":"r1","score":4})");
    BOOST_TEST(r.first.counts);
    BOOST_TEST(r.first.score == 4);
}
