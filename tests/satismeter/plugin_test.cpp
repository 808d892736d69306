// plugin_test.cpp: the built libtributary_satismeter.so, driven through its exported entry.
#include <tributary/testing.hpp>

#define BOOST_TEST_MODULE satismeter_plugin
#include <boost/test/unit_test.hpp>

#include "fixtures.hpp"

#include <tributary/version.hpp>

#include <yaml-cpp/yaml.h>
#include <boost/json.hpp>

#include <dlfcn.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace bj = boost::json;
namespace tt = tributary::testing;
using satismeter_test::read_fixture;

namespace {

// The plugin as the host loads it; it stays loaded until the test process ends.
const trib_connector* plugin_descriptor() {
    static const trib_connector* descriptor = [] {
        std::string path = std::string(TRIBUTARY_PLUGIN_DIR) + "/libtributary_satismeter.so";
        void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (library == nullptr) {
            throw std::runtime_error(dlerror());
        }
        auto entry = reinterpret_cast<trib_entry_fn>(dlsym(library, TRIBUTARY_ENTRY_SYMBOL));
        if (entry == nullptr) {
            throw std::runtime_error(path + " exports no " TRIBUTARY_ENTRY_SYMBOL);
        }
        return entry();
    }();
    return descriptor;
}

struct plugin_fixture {
    tt::fake_host host;
    tt::driver plugin{plugin_descriptor(), host};

    plugin_fixture() {
        host.set_config({{"projectId", "5f1e2d3c4b5a697887766554"}, {"apiKey", "sm_api.key-1"}});
    }
};

std::vector<std::string> strings_of(const bj::value& array) {
    std::vector<std::string> out;
    for (const auto& item : array.as_array()) {
        out.emplace_back(item.as_string());
    }
    return out;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(plugin, plugin_fixture)

BOOST_AUTO_TEST_CASE(descriptor_names_the_connector_and_its_abi) {
    const auto& d = plugin.descriptor();
    BOOST_TEST(d.abi_major == TRIBUTARY_ABI_MAJOR);
    // The C++ layer checks for newer host services, so it needs ABI 1.0 only.
    BOOST_TEST(d.abi_minor == 0u);
    BOOST_TEST(d.abi_minor == tributary::needed_abi_minor);
    BOOST_TEST(d.struct_size == sizeof(trib_connector));
    BOOST_TEST(std::string(d.id) == "satismeter");
    BOOST_TEST(std::string(d.version) == "1.0.0");
    BOOST_TEST(std::string(d.sdk_version) == TRIBUTARY_SDK_VERSION);
}

BOOST_AUTO_TEST_CASE(describes_its_route_action_and_hook) {
    auto result = plugin.describe();
    BOOST_TEST(result.status == TRIB_OK);
    BOOST_TEST(result.json() == bj::parse(R"({"webhooks": [""],
        "actions": ["pull-historical-nps"], "hooks": ["nps-rollup"]})"));
}

BOOST_AUTO_TEST_CASE(manifest_agrees_with_the_descriptor) {
    auto manifest = YAML::LoadFile(std::string(TRIBUTARY_MANIFEST_DIR) + "/satismeter.yaml");
    auto described = plugin.describe().json();
    BOOST_TEST(manifest["id"].as<std::string>() == plugin.descriptor().id);
    BOOST_TEST(manifest["version"].as<std::string>() == plugin.descriptor().version);
    BOOST_TEST(manifest["library"].as<std::string>() == "libtributary_satismeter.so");
    BOOST_TEST(manifest["abi"].as<std::string>() == "1.0");

    std::vector<std::string> routes;
    for (const auto& webhook : manifest["webhooks"]) {
        routes.push_back(webhook["route"].as<std::string>());
    }
    std::vector<std::string> actions;
    for (const auto& action : manifest["actions"]) {
        actions.push_back(action["id"].as<std::string>());
    }
    BOOST_TEST(routes == strings_of(described.at("webhooks")), boost::test_tools::per_element());
    BOOST_TEST(actions == strings_of(described.at("actions")), boost::test_tools::per_element());
    BOOST_TEST(
        manifest["hooks"].as<std::vector<std::string>>() == strings_of(described.at("hooks")),
        boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(stores_a_delivery_and_answers_stored_one) {
    auto result = plugin.webhook(read_fixture("webhook_completed_promoter.json"));
    BOOST_TEST(result.status == TRIB_OK);
    BOOST_TEST(result.http_status == 200);
    BOOST_TEST(result.content_type == "application/json");
    BOOST_TEST(result.body == R"({"stored":1})");
    BOOST_TEST_REQUIRE(result.records.size() == 1u);
    BOOST_TEST(result.records[0].at("sourceId") == bj::value("6601c0ffee00000000000001"));
    BOOST_TEST(result.records[0].at("email") == bj::value("ada@northwind.example"));
    BOOST_TEST(!result.records[0].at("raw").as_object().contains("ip"));
    BOOST_TEST(host.logs().empty());
}

BOOST_AUTO_TEST_CASE(stores_every_sample_delivery) {
    for (const char* name :
         {"webhook_anonymous.json", "webhook_completed_detractor_traits_email.json",
          "webhook_completed_promoter.json", "webhook_dismissed.json",
          "webhook_rating_in_answers_only.json"}) {
        BOOST_TEST_CONTEXT(name) {
            auto result = plugin.webhook(read_fixture(name));
            BOOST_TEST(result.http_status == 200);
            BOOST_TEST(result.records.size() == 1u);
        }
    }
    BOOST_TEST(host.emitted().size() == 5u);
}

BOOST_AUTO_TEST_CASE(answers_400_with_the_reason) {
    auto not_json = plugin.webhook("{\"event\":");
    BOOST_TEST(not_json.status == TRIB_OK);
    BOOST_TEST(not_json.http_status == 400);
    BOOST_TEST(not_json.body == R"({"error":"body is not valid JSON"})");
    BOOST_TEST(not_json.records.empty());

    auto bad_rating = plugin.webhook(R"({"event":"completed","response":{"id":"r1","rating":11}})");
    BOOST_TEST(bad_rating.http_status == 400);
    BOOST_TEST(bad_rating.body == R"({"error":"response.rating must be an integer from 0 to 10"})");
    BOOST_TEST(host.emitted().empty());
}

BOOST_AUTO_TEST_CASE(never_logs_personal_data_of_a_refused_delivery) {
    auto result = plugin.webhook(R"({"event":"completed","traits":{"email":"zoe@x.example"},
        "response":{"id":"r1","rating":"eleven","feedback":"my private note","ip":"192.0.2.77",
        "user":{"email":"zoe@x.example"}}})");
    BOOST_TEST(result.http_status == 400);
    BOOST_TEST(host.logs().size() == 1u);
    BOOST_TEST(!host.mentions("zoe@x.example"));
    BOOST_TEST(!host.mentions("my private note"));
    BOOST_TEST(!host.mentions("192.0.2.77"));
}

BOOST_AUTO_TEST_CASE(fails_a_delivery_the_host_cannot_store) {
    host.fail_emits(TRIB_ERR_STORAGE);
    auto result = plugin.webhook(read_fixture("webhook_anonymous.json"));
    BOOST_TEST(result.status == TRIB_ERR_STORAGE);
    BOOST_TEST(result.error == "the host refused a record");
    BOOST_TEST(result.http_status == 0);
}

BOOST_AUTO_TEST_CASE(has_no_other_webhook_route) {
    auto result = plugin.webhook(read_fixture("webhook_anonymous.json"), "extra");
    BOOST_TEST(result.status == TRIB_ERR_NOT_FOUND);
    BOOST_TEST(result.error == "no such webhook route");
}

BOOST_AUTO_TEST_CASE(answers_the_rollup_hook) {
    auto stored = plugin.webhook(read_fixture("webhook_completed_detractor_traits_email.json"));
    BOOST_TEST_REQUIRE(stored.records.size() == 1u);
    auto counted = plugin.hook("nps-rollup", stored.records[0]);
    BOOST_TEST(counted.status == TRIB_OK);
    BOOST_TEST(counted.json() == bj::parse(R"({"counts":true,"score":3})"));

    auto dismissed = plugin.webhook(read_fixture("webhook_dismissed.json"));
    BOOST_TEST(plugin.hook("nps-rollup", dismissed.records.at(0)).json() ==
               bj::parse(R"({"counts":false,"score":null})"));
}

// Every record goes to the host with the hook's answer, so the host need not call it back.
BOOST_AUTO_TEST_CASE(sends_the_rollup_answer_with_each_record) {
    for (const char* fixture :
         {"webhook_completed_promoter.json", "webhook_completed_detractor_traits_email.json",
          "webhook_dismissed.json", "webhook_anonymous.json",
          "webhook_rating_in_answers_only.json"}) {
        BOOST_TEST_CONTEXT(fixture) {
            auto stored = plugin.webhook(read_fixture(fixture));
            BOOST_TEST_REQUIRE(stored.records.size() == 1u);
            BOOST_TEST_REQUIRE(stored.hook_answers.at(0).is_object());
            BOOST_TEST(stored.hook_answers[0].at("nps-rollup") ==
                       plugin.hook("nps-rollup", stored.records[0]).json());
        }
    }
}

BOOST_AUTO_TEST_CASE(runs_the_backfill_action) {
    host.script_fetch({503, {}, "unavailable", {}});
    host.script_fetch(tt::fetch_reply::ok(read_fixture("api_v3_page_first.json")));
    host.script_fetch(tt::fetch_reply::ok(read_fixture("api_v3_page_last.json")));
    auto result = plugin.action("pull-historical-nps", {{"since", "2023-01-01"}});
    BOOST_TEST(result.status == TRIB_OK);
    BOOST_TEST(host.commits().size() == 2u);
    BOOST_TEST_REQUIRE(host.emitted().size() == 3u);
    for (std::size_t i = 0; i < host.emitted().size(); ++i) {
        BOOST_TEST(host.emitted_hook_answers().at(i).at("nps-rollup") ==
                   plugin.hook("nps-rollup", host.emitted()[i]).json());
    }
    BOOST_TEST_REQUIRE(host.sleeps().size() == 1u);
    BOOST_TEST(host.sleeps()[0].count() <= 250);
}

BOOST_AUTO_TEST_CASE(fails_the_backfill_without_an_api_key) {
    host.set_config({{"projectId", "5f1e2d3c4b5a697887766554"}});
    auto result = plugin.action("pull-historical-nps");
    BOOST_TEST(result.status == TRIB_ERR_INVALID_INPUT);
    BOOST_TEST(result.error ==
               "The SatisMeter API (\"Read\") key is not set. Add it to this connection: it is "
               "under Settings → Integrations → API in SatisMeter.");
}

BOOST_AUTO_TEST_SUITE_END()
