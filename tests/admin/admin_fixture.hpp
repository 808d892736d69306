// admin_fixture.hpp: a host on 127.0.0.1 port 0 for the administration tests, with its log
// captured and checked, when the test ends, for every secret, token and webhook key it used.
#pragma once

#include "app/app.hpp"

#include "host_runner.hpp"
#include "http_client.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::admin_test {

namespace bj = boost::json;
namespace fs = std::filesystem;
namespace ti = tributary::integration;

inline constexpr std::string_view project_id = "5f1e2d3c4b5a697887766554";
// A secret long enough to be masked to its last 4 characters: "••••QRST".
inline constexpr std::string_view api_key = "rk_live_9c4e7a2b1d6f3e8aQRST";
inline constexpr std::string_view other_api_key = "rk_live_0a1b2c3d4e5f6a7bUVWX";

const fs::path plugin_dir = TRIBUTARY_PLUGIN_DIR;

// Where the build put a test connector library.
inline std::string test_library(std::string_view target) {
    return (plugin_dir / "test" / ("lib" + std::string(target) + ".so")).string();
}

// The same as a manifest names it: relative to the plugin directory.
inline std::string test_library_name(std::string_view target) {
    return "test/lib" + std::string(target) + ".so";
}

// A manifest for a test connector that offers only the default webhook route.
inline std::string test_manifest(std::string_view id, std::string_view library,
                                 std::string_view version = "1.0.0", std::string_view extra = {}) {
    std::string yaml;
    yaml += "id: " + std::string(id) + "\n";
    yaml += "name: Test connector " + std::string(id) + "\n";
    yaml += "version: " + std::string(version) + "\n";
    yaml += "publisher: Tributary tests\n";
    yaml += "description: A connector that tests the catalog.\n";
    yaml += "library: " + std::string(library) + "\n";
    yaml += "abi: \"1.0\"\n";
    yaml += "sync: inbound\n";
    yaml += "webhooks:\n  - route: \"\"\n";
    yaml += extra;
    return yaml;
}

struct installed {
    std::string id;
    std::string url;  // with its key
    std::string key;
    std::string hook;  // the URL's path
};

// A running host whose log lines are kept; every secret the test registers with remember() must
// be absent from them when the fixture ends.
struct admin_fixture {
    ti::log_capture logs;
    ti::temp_dir data{"tributary-admin-test"};
    ti::temp_dir manifests{"tributary-admin-manifests"};
    std::unique_ptr<ti::running_host> host;
    std::vector<std::string> secrets{std::string(ti::admin_token), std::string(api_key),
                                     std::string(other_api_key)};
    std::function<void(host::app_options&)> tune;

    explicit admin_fixture(std::function<void(host::app_options&)> tuning = {})
        : tune(std::move(tuning)) {
        fs::copy_file(fs::path(TRIBUTARY_MANIFEST_DIR) / "satismeter.yaml",
                      manifests.path() / "satismeter.yaml");
        start();
    }

    ~admin_fixture() {
        host.reset();
        for (const auto& line : logs.lines()) {
            for (const auto& secret : secrets) {
                BOOST_CHECK_MESSAGE(line.find(secret) == std::string::npos,
                                    "a log line holds a secret: " << line);
            }
        }
    }

    void start() {
        auto options = ti::host_options(data.path());
        options.manifest_dir = manifests.path();
        if (tune) {
            tune(options);
        }
        host = std::make_unique<ti::running_host>(options);
        auto key = ti::read_file(data.path() / "secrets.key");
        remember(key.substr(0, key.find('\n')));
    }

    void restart() {
        host.reset();
        start();
    }

    void remember(std::string secret) { secrets.push_back(std::move(secret)); }

    ti::http_client admin() const { return host->admin(); }
    ti::http_client anonymous() const { return host->anonymous(); }
    ti::http_client as(const std::string& token) const {
        return host->anonymous().with_token(token);
    }

    void create_tenant(const std::string& id) {
        auto a = admin().post_json("/api/v1/tenants", bj::value{{"id", id}, {"name", id + " Inc"}});
        BOOST_TEST_REQUIRE(a.status == 201u, a.body);
    }

    // A tenant token, remembered as a secret.
    std::pair<std::string, std::string> create_token(const std::string& tenant) {
        auto a =
            admin().post_json("/api/v1/tenants/" + tenant + "/tokens", bj::value{{"name", "ops"}});
        BOOST_TEST_REQUIRE(a.status == 201u, a.body);
        auto body = a.json().as_object();
        std::string token(body.at("token").as_string());
        remember(token);
        return {std::string(body.at("id").as_string()), token};
    }

    installed install(const std::string& tenant, bj::object config = {}) {
        if (config.empty()) {
            config = {{"projectId", project_id}, {"apiKey", api_key}};
        }
        auto a = admin().post_json("/api/v1/tenants/" + tenant + "/installations",
                                   bj::value{{"connector", "satismeter"}, {"config", config}});
        BOOST_TEST_REQUIRE(a.status == 201u, a.body);
        auto body = a.json().as_object();
        installed out;
        out.id = body.at("id").as_string();
        out.url = body.at("webhookUrl").as_string();
        out.key = out.url.substr(out.url.rfind('/') + 1);
        out.hook = ti::target_of(out.url);
        remember(out.key);
        return out;
    }

    std::vector<std::string> catalog_ids() {
        auto a = admin().get("/api/v1/connectors");
        BOOST_TEST_REQUIRE(a.status == 200u, a.body);
        std::vector<std::string> ids;
        auto catalog = a.json();
        for (const auto& c : catalog.as_array()) {
            ids.emplace_back(c.at("id").as_string());
        }
        return ids;
    }

    bj::array audit(std::string_view query = {}) {
        auto a = admin().get("/api/v1/audit" + std::string(query));
        BOOST_TEST_REQUIRE(a.status == 200u, a.body);
        return a.json().as_array();
    }
};

inline std::string fixture(std::string_view name) {
    return ti::read_file(fs::path(TRIBUTARY_FIXTURES_DIR) / "satismeter" /
                         (std::string(name) + ".json"));
}

inline std::string error_of(const ti::http_answer& a) {
    auto v = a.json();
    return std::string(v.at("error").as_string());
}

}  // namespace tributary::admin_test
