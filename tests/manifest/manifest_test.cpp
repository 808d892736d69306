// manifest_test.cpp: reading App Center manifests, and each schema error word for word.
#include "manifest/manifest.hpp"

#define BOOST_TEST_MODULE manifest
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <random>

namespace bj = boost::json;
namespace fs = std::filesystem;
using tributary::host::load_manifest;
using tributary::host::load_manifest_dir;
using tributary::host::manifest;
using tributary::host::manifest_error;
using tributary::host::parse_manifest;

namespace {

const std::string checksum_hex(64, 'a');

const std::string valid_yaml = R"(id: satismeter
name: SatisMeter
version: 1.2.3
publisher: Tributary
description: In-app NPS survey responses.
library: libtributary_satismeter.so
abi: "1.0"
sync: inbound
checksum: sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
config:
  - key: projectId
    type: string
    label: Project ID
    help: Settings, Integrations, API in SatisMeter
    required: true
    pattern: "^[0-9a-f]{24}$"
  - key: apiKey
    type: string
    label: API key
    secret: true
  - key: baseUrl
    type: url
    label: Base URL
    default: https://app.satismeter.com
  - key: pageSize
    type: integer
    label: Page size
    default: 100
  - key: dryRun
    type: boolean
    label: Dry run
    default: false
webhooks:
  - route: ""
    description: Survey responses
  - route: v2/events
    method: PUT
actions:
  - id: pull-historical-nps
    name: Pull historical NPS scores
    description: Backfill of past responses.
    params:
      - { key: since, type: date, label: Since, required: false }
      - { key: until, type: date, label: Until }
hooks:
  - nps-rollup
)";

// The fields every manifest must have, and nothing more.
const std::string minimal_yaml = R"(id: minimal
name: Minimal
version: 0.1.0-rc.1+build.7
publisher: Someone
description: The least a manifest says.
library: connectors/libminimal.so
abi: 2.15
sync: bidirectional
)";

// text with the first occurrence of `from` replaced by `to`.
std::string replaced(std::string text, std::string_view from, std::string_view to) {
    auto at = text.find(from);
    BOOST_REQUIRE_MESSAGE(at != std::string::npos, "the manifest has no " << from);
    text.replace(at, from.size(), to);
    return text;
}

// The valid manifest with the first occurrence of `from` replaced by `to`.
std::string with(std::string_view from, std::string_view to) {
    return replaced(valid_yaml, from, to);
}

// The message parse_manifest throws for text, or "loaded" when it accepts it.
std::string error_of(const std::string& text) {
    try {
        parse_manifest(text, "manifests/x.yaml");
    } catch (const manifest_error& e) {
        return e.what();
    }
    return "loaded";
}

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    BOOST_REQUIRE(out.good());
}

// A fresh directory under the system temp directory, removed at scope exit.
struct temp_dir {
    fs::path path;
    temp_dir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("tributary-manifest-" + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(reads_every_field_of_a_valid_manifest) {
    auto m = parse_manifest(valid_yaml, "manifests/satismeter.yaml");

    BOOST_TEST(m.file == fs::path("manifests/satismeter.yaml"));
    BOOST_TEST(m.id == "satismeter");
    BOOST_TEST(m.name == "SatisMeter");
    BOOST_TEST(m.version == "1.2.3");
    BOOST_TEST(m.publisher == "Tributary");
    BOOST_TEST(m.description == "In-app NPS survey responses.");
    BOOST_TEST(m.library == "libtributary_satismeter.so");
    BOOST_TEST(m.abi_major == 1);
    BOOST_TEST(m.abi_minor == 0);
    BOOST_TEST(m.sync == "inbound");
    BOOST_TEST(m.checksum.value_or("") == checksum_hex);
    BOOST_TEST(m.hooks == std::vector<std::string>{"nps-rollup"});

    BOOST_REQUIRE_EQUAL(m.config.size(), 5u);
    const auto& project = m.config[0];
    BOOST_TEST(project.key == "projectId");
    BOOST_TEST(project.type == "string");
    BOOST_TEST(project.label == "Project ID");
    BOOST_TEST(project.help == "Settings, Integrations, API in SatisMeter");
    BOOST_TEST(project.required);
    BOOST_TEST(!project.secret);
    BOOST_TEST(project.pattern.value_or("") == "^[0-9a-f]{24}$");
    BOOST_TEST(!project.default_value.has_value());
    BOOST_TEST(m.config[1].secret);
    BOOST_TEST(!m.config[1].required);
    BOOST_TEST(m.config[2].default_value.value() == bj::value("https://app.satismeter.com"));
    BOOST_TEST(m.config[3].default_value.value() == bj::value(100));
    BOOST_TEST(m.config[4].default_value.value() == bj::value(false));
}

BOOST_AUTO_TEST_CASE(reads_webhooks_and_actions) {
    auto m = parse_manifest(valid_yaml, "manifests/satismeter.yaml");

    BOOST_REQUIRE_EQUAL(m.webhooks.size(), 2u);
    BOOST_TEST(m.webhooks[0].route == "");
    BOOST_TEST(m.webhooks[0].method == "POST");
    BOOST_TEST(m.webhooks[0].description == "Survey responses");
    BOOST_TEST(m.webhooks[1].route == "v2/events");
    BOOST_TEST(m.webhooks[1].method == "PUT");
    BOOST_TEST(m.webhooks[1].description == "");

    BOOST_REQUIRE_EQUAL(m.actions.size(), 1u);
    const auto& action = m.actions[0];
    BOOST_TEST(action.id == "pull-historical-nps");
    BOOST_TEST(action.name == "Pull historical NPS scores");
    BOOST_TEST(action.description == "Backfill of past responses.");
    BOOST_REQUIRE_EQUAL(action.params.size(), 2u);
    BOOST_TEST(action.params[0].key == "since");
    BOOST_TEST(action.params[0].type == "date");
    BOOST_TEST(action.params[0].label == "Since");
    BOOST_TEST(!action.params[0].required);
    BOOST_TEST(action.params[1].key == "until");
}

BOOST_AUTO_TEST_CASE(finds_actions_webhooks_and_fields_by_name) {
    auto m = parse_manifest(valid_yaml, "manifests/satismeter.yaml");

    BOOST_TEST(m.find_action("pull-historical-nps") == &m.actions[0]);
    BOOST_TEST(m.find_action("push") == nullptr);
    BOOST_TEST(m.find_webhook("") == &m.webhooks[0]);
    BOOST_TEST(m.find_webhook("v2/events") == &m.webhooks[1]);
    BOOST_TEST(m.find_webhook("v3") == nullptr);
    BOOST_TEST(m.find_field("apiKey") == &m.config[1]);
    BOOST_TEST(m.find_field("since") == nullptr);
}

BOOST_AUTO_TEST_CASE(compiles_patterns_once_at_load) {
    auto m =
        parse_manifest(with("      - { key: until, type: date, label: Until }",
                            "      - { key: tag, type: string, label: Tag, pattern: '[a-z]+' }"),
                       "manifests/x.yaml");

    BOOST_REQUIRE(m.config[0].compiled_pattern);
    BOOST_TEST(std::regex_match("0123456789abcdef01234567", *m.config[0].compiled_pattern));
    BOOST_TEST(!m.config[1].compiled_pattern);
    BOOST_REQUIRE(m.actions[0].params[1].compiled_pattern);
    BOOST_TEST(!std::regex_match("A", *m.actions[0].params[1].compiled_pattern));
}

BOOST_AUTO_TEST_CASE(catalog_entry_carries_every_field_in_camel_case) {
    auto m = parse_manifest(valid_yaml, "manifests/satismeter.yaml");

    auto expected = bj::parse(R"({
        "id": "satismeter", "name": "SatisMeter", "version": "1.2.3", "publisher": "Tributary",
        "description": "In-app NPS survey responses.", "sync": "inbound", "abi": "1.0",
        "config": [
            {"key": "projectId", "type": "string", "label": "Project ID",
             "help": "Settings, Integrations, API in SatisMeter", "required": true,
             "secret": false, "pattern": "^[0-9a-f]{24}$", "default": null},
            {"key": "apiKey", "type": "string", "label": "API key", "help": "",
             "required": false, "secret": true, "pattern": null, "default": null},
            {"key": "baseUrl", "type": "url", "label": "Base URL", "help": "", "required": false,
             "secret": false, "pattern": null, "default": "https://app.satismeter.com"},
            {"key": "pageSize", "type": "integer", "label": "Page size", "help": "",
             "required": false, "secret": false, "pattern": null, "default": 100},
            {"key": "dryRun", "type": "boolean", "label": "Dry run", "help": "",
             "required": false, "secret": false, "pattern": null, "default": false}
        ],
        "webhooks": [
            {"route": "", "method": "POST", "description": "Survey responses"},
            {"route": "v2/events", "method": "PUT", "description": ""}
        ],
        "actions": [
            {"id": "pull-historical-nps", "name": "Pull historical NPS scores",
             "description": "Backfill of past responses.",
             "params": [
                {"key": "since", "type": "date", "label": "Since", "help": "", "required": false,
                 "secret": false, "pattern": null, "default": null},
                {"key": "until", "type": "date", "label": "Until", "help": "", "required": false,
                 "secret": false, "pattern": null, "default": null}
             ]}
        ],
        "hooks": ["nps-rollup"]
    })");
    BOOST_TEST(bj::value(m.to_json()) == expected);
}

BOOST_AUTO_TEST_CASE(optional_sections_may_be_left_out) {
    auto m = parse_manifest(minimal_yaml + "config:\nhooks: []\n", "manifests/minimal.yaml");

    BOOST_TEST(m.version == "0.1.0-rc.1+build.7");
    BOOST_TEST(m.library == "connectors/libminimal.so");
    BOOST_TEST(m.abi_major == 2);
    BOOST_TEST(m.abi_minor == 15);
    BOOST_TEST(!m.checksum.has_value());
    BOOST_TEST(m.config.empty());
    BOOST_TEST(m.webhooks.empty());
    BOOST_TEST(m.actions.empty());
    BOOST_TEST(m.hooks.empty());
}

BOOST_AUTO_TEST_CASE(rejects_missing_required_field) {
    BOOST_TEST(error_of(with("library: libtributary_satismeter.so\n", "")) ==
               "manifests/x.yaml: field 'library': expected the library's file name or a path "
               "relative to the plugin directory, but it is missing");
    BOOST_TEST(error_of(with("sync: inbound\n", "")) ==
               "manifests/x.yaml: field 'sync': expected one of inbound, outbound, "
               "bidirectional, but it is missing");
    BOOST_TEST(error_of(with("    label: Page size\n", "")) ==
               "manifests/x.yaml: field 'config[3].label': expected a label, but it is missing");
}

BOOST_AUTO_TEST_CASE(rejects_null_and_empty_values) {
    BOOST_TEST(error_of(with("name: SatisMeter", "name:")) ==
               "manifests/x.yaml: field 'name': expected a display name, got null");
    BOOST_TEST(error_of(with("name: SatisMeter", "name: \"\"")) ==
               "manifests/x.yaml: field 'name': expected a display name, got ''");
    BOOST_TEST(error_of(with("publisher: Tributary", "publisher: ~")) ==
               "manifests/x.yaml: field 'publisher': expected the publisher's name, got null");
}

BOOST_AUTO_TEST_CASE(rejects_wrong_yaml_kinds) {
    BOOST_TEST(error_of("- id: satismeter\n") ==
               "manifests/x.yaml: expected a map of manifest fields, got a list");
    BOOST_TEST(error_of(with("name: SatisMeter", "name: [Satis, Meter]")) ==
               "manifests/x.yaml: field 'name': expected a display name, got a list");
    BOOST_TEST(error_of(minimal_yaml + "config:\n  bad: map\n") ==
               "manifests/x.yaml: field 'config': expected a list of fields, got a map");
    BOOST_TEST(error_of(with("config:\n", "config:\n  - projectId\n")) ==
               "manifests/x.yaml: field 'config[0]': expected a map with key, type and label, "
               "got 'projectId'");
    BOOST_TEST(error_of(minimal_yaml + "webhooks: POST\n") ==
               "manifests/x.yaml: field 'webhooks': expected a list of webhooks, got 'POST'");
    BOOST_TEST(error_of(with("  - nps-rollup", "  - {name: nps-rollup}")) ==
               "manifests/x.yaml: field 'hooks[0]': expected an id matching "
               "[a-z0-9][a-z0-9-]{0,62}, got a map");
}

BOOST_AUTO_TEST_CASE(rejects_unknown_top_level_key_with_a_suggestion) {
    BOOST_TEST(error_of(with("library:", "libary:")) ==
               "manifests/x.yaml: field 'libary': unknown field, did you mean 'library'?");
}

BOOST_AUTO_TEST_CASE(rejects_unknown_top_level_key_listing_known_ones) {
    BOOST_TEST(error_of(valid_yaml + "permissions: [admin]\n") ==
               "manifests/x.yaml: field 'permissions': unknown field, expected one of id, name, "
               "version, publisher, description, library, abi, sync, checksum, config, "
               "webhooks, actions, hooks");
}

BOOST_AUTO_TEST_CASE(rejects_unknown_keys_inside_entries) {
    BOOST_TEST(
        error_of(with("    secret: true", "    secrett: true")) ==
        "manifests/x.yaml: field 'config[1].secrett': unknown field, did you mean 'secret'?");
    BOOST_TEST(error_of(with("    method: PUT", "    method: PUT\n    verb: PUT")) ==
               "manifests/x.yaml: field 'webhooks[1].verb': unknown field, expected one of route, "
               "method, description");
    BOOST_TEST(error_of(with("label: Until }", "label: Until, optional: true }")) ==
               "manifests/x.yaml: field 'actions[0].params[1].optional': unknown field, expected "
               "one of key, type, label, help, required, pattern, secret, default");
}

BOOST_AUTO_TEST_CASE(rejects_a_key_given_twice) {
    BOOST_TEST(error_of(valid_yaml + "version: 2.0.0\n") ==
               "manifests/x.yaml: field 'version': appears more than once");
}

BOOST_AUTO_TEST_CASE(rejects_bad_id_version_and_library) {
    BOOST_TEST(error_of(with("id: satismeter", "id: SatisMeter")) ==
               "manifests/x.yaml: field 'id': expected an id matching [a-z0-9][a-z0-9-]{0,62}, "
               "got 'SatisMeter'");
    BOOST_TEST(error_of(with("id: satismeter", "id: " + std::string(64, 'a'))) ==
               "manifests/x.yaml: field 'id': expected an id matching [a-z0-9][a-z0-9-]{0,62}, "
               "got '" +
                   std::string(60, 'a') + "...'");
    BOOST_TEST(error_of(with("version: 1.2.3", "version: abc")) ==
               "manifests/x.yaml: field 'version': expected a semantic version like 1.2.3, "
               "got 'abc'");
    BOOST_TEST(error_of(with("version: 1.2.3", "version: 1.02.3")) ==
               "manifests/x.yaml: field 'version': expected a semantic version like 1.2.3, "
               "got '1.02.3'");
    BOOST_TEST(error_of(with("library: libtributary_satismeter.so", "library: /usr/lib/x.so")) ==
               "manifests/x.yaml: field 'library': expected the library's file name or a path "
               "relative to the plugin directory, got '/usr/lib/x.so'");
    BOOST_TEST(error_of(with("library: libtributary_satismeter.so", "library: ../x.so")) ==
               "manifests/x.yaml: field 'library': expected the library's file name or a path "
               "relative to the plugin directory, got '../x.so'");
}

BOOST_AUTO_TEST_CASE(rejects_abi_not_major_dot_minor) {
    BOOST_TEST(error_of(with("abi: \"1.0\"", "abi: 1")) ==
               "manifests/x.yaml: field 'abi': expected the host ABI as MAJOR.MINOR like 1.0, "
               "got '1'");
    BOOST_TEST(error_of(with("abi: \"1.0\"", "abi: 1.0.0")) ==
               "manifests/x.yaml: field 'abi': expected the host ABI as MAJOR.MINOR like 1.0, "
               "got '1.0.0'");
}

BOOST_AUTO_TEST_CASE(rejects_unknown_sync_value) {
    BOOST_TEST(error_of(with("sync: inbound", "sync: inward")) ==
               "manifests/x.yaml: field 'sync': expected one of inbound, outbound, "
               "bidirectional, got 'inward'");
}

BOOST_AUTO_TEST_CASE(rejects_bad_checksum_format) {
    BOOST_TEST(error_of(with("checksum: sha256:", "checksum: md5:")) ==
               "manifests/x.yaml: field 'checksum': expected sha256: followed by 64 hex digits, "
               "got 'md5:" +
                   std::string(56, 'A') + "...'");
    BOOST_TEST(error_of(with("checksum: sha256:A", "checksum: sha256:")) ==
               "manifests/x.yaml: field 'checksum': expected sha256: followed by 64 hex digits, "
               "got 'sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA...'");
    BOOST_TEST(error_of(with("checksum: sha256:A", "checksum: sha256:G")) ==
               "manifests/x.yaml: field 'checksum': expected sha256: followed by 64 hex digits, "
               "got 'sha256:GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA...'");
}

BOOST_AUTO_TEST_CASE(rejects_unknown_field_type) {
    BOOST_TEST(error_of(with("    type: integer", "    type: int")) ==
               "manifests/x.yaml: field 'config[3].type': expected one of string, integer, "
               "boolean, url, date, got 'int'");
}

BOOST_AUTO_TEST_CASE(rejects_bad_field_key) {
    BOOST_TEST(error_of(with("key: apiKey", "key: 2fa")) ==
               "manifests/x.yaml: field 'config[1].key': expected a key matching "
               "[A-Za-z][A-Za-z0-9_]*, got '2fa'");
}

BOOST_AUTO_TEST_CASE(rejects_flags_that_are_not_true_or_false) {
    BOOST_TEST(error_of(with("    required: true", "    required: yes")) ==
               "manifests/x.yaml: field 'config[0].required': expected true or false, got 'yes'");
}

BOOST_AUTO_TEST_CASE(rejects_invalid_regex_pattern) {
    BOOST_TEST(error_of(with("\"^[0-9a-f]{24}$\"", "\"^([0-9a-f]{24}$\"")) ==
               "manifests/x.yaml: field 'config[0].pattern': expected an ECMAScript regular "
               "expression, got '^([0-9a-f]{24}$' which has unbalanced parentheses");
}

BOOST_AUTO_TEST_CASE(rejects_pattern_on_a_field_that_is_not_a_string) {
    BOOST_TEST(
        error_of(with("    label: Page size", "    label: Page size\n    pattern: '[0-9]+'")) ==
        "manifests/x.yaml: field 'config[3].pattern': a pattern applies to string fields "
        "only, not to integer");
}

BOOST_AUTO_TEST_CASE(rejects_default_of_the_wrong_type) {
    BOOST_TEST(error_of(with("default: 100", "default: many")) ==
               "manifests/x.yaml: field 'config[3].default': expected an integer, got 'many'");
    BOOST_TEST(error_of(with("default: false", "default: [false]")) ==
               "manifests/x.yaml: field 'config[4].default': expected true or false, got a list");
    BOOST_TEST(
        error_of(with("default: https://app.satismeter.com", "default: app.satismeter.com")) ==
        "manifests/x.yaml: field 'config[2].default': expected an http:// or https:// URL "
        "with a host, got 'app.satismeter.com'");
}

BOOST_AUTO_TEST_CASE(rejects_default_that_misses_the_pattern) {
    BOOST_TEST(error_of(with("    required: true", "    default: xyz")) ==
               "manifests/x.yaml: field 'config[0].default': must match ^[0-9a-f]{24}$, got 'xyz'");
}

BOOST_AUTO_TEST_CASE(does_not_repeat_a_secret_default) {
    auto text = with("    label: API key\n",
                     "    label: API key\n    pattern: \"^[0-9a-f]{32}$\"\n    default: hunter2\n");
    BOOST_TEST(error_of(text) ==
               "manifests/x.yaml: field 'config[1].default': must match ^[0-9a-f]{32}$");
}

BOOST_AUTO_TEST_CASE(rejects_duplicate_config_keys) {
    BOOST_TEST(error_of(with("key: apiKey", "key: projectId")) ==
               "manifests/x.yaml: field 'config[1].key': 'projectId' is already used by config[0]");
}

BOOST_AUTO_TEST_CASE(rejects_duplicate_param_keys) {
    BOOST_TEST(error_of(with("key: until", "key: since")) ==
               "manifests/x.yaml: field 'actions[0].params[1].key': 'since' is already used by "
               "actions[0].params[0]");
}

BOOST_AUTO_TEST_CASE(rejects_duplicate_action_ids) {
    BOOST_TEST(
        error_of(with("\nhooks:", "\n  - { id: pull-historical-nps, name: Again }\nhooks:")) ==
        "manifests/x.yaml: field 'actions[1].id': 'pull-historical-nps' is already used "
        "by actions[0]");
}

BOOST_AUTO_TEST_CASE(rejects_duplicate_webhook_routes) {
    BOOST_TEST(error_of(with("route: v2/events", "route: \"\"")) ==
               "manifests/x.yaml: field 'webhooks[1].route': '' is already used by webhooks[0]");
}

BOOST_AUTO_TEST_CASE(rejects_duplicate_hooks) {
    BOOST_TEST(error_of(valid_yaml + "  - nps-rollup\n") ==
               "manifests/x.yaml: field 'hooks[1]': 'nps-rollup' is already used by hooks[0]");
}

BOOST_AUTO_TEST_CASE(rejects_bad_webhook_route_and_method) {
    BOOST_TEST(error_of(with("route: v2/events", "route: V2/Events")) ==
               "manifests/x.yaml: field 'webhooks[1].route': expected \"\" for the default route "
               "or a path of a-z, 0-9, - and /, got 'V2/Events'");
    BOOST_TEST(error_of(with("method: PUT", "method: FETCH")) ==
               "manifests/x.yaml: field 'webhooks[1].method': expected one of GET, POST, PUT, "
               "PATCH, DELETE, got 'FETCH'");
}

BOOST_AUTO_TEST_CASE(rejects_action_without_name) {
    BOOST_TEST(error_of(with("    name: Pull historical NPS scores\n", "")) ==
               "manifests/x.yaml: field 'actions[0].name': expected a display name, but it is "
               "missing");
}

BOOST_AUTO_TEST_CASE(reports_yaml_syntax_errors_with_the_line) {
    BOOST_TEST(error_of(with("name: SatisMeter", "name: [SatisMeter")) ==
               "manifests/x.yaml: invalid YAML at line 3, column 8: end of sequence flow not "
               "found");
    BOOST_TEST(error_of(with("publisher: Tributary", "publisher: Tri: butary")) ==
               "manifests/x.yaml: invalid YAML at line 4, column 15: illegal map value");
}

BOOST_AUTO_TEST_CASE(rejects_empty_and_multi_document_files) {
    BOOST_TEST(error_of("") ==
               "manifests/x.yaml: expected a map of manifest fields, got an empty document");
    BOOST_TEST(error_of("# only a comment\n") ==
               "manifests/x.yaml: expected a map of manifest fields, got an empty document");
    BOOST_TEST(error_of(valid_yaml + "---\nid: other\n") ==
               "manifests/x.yaml: expected one YAML document, got 2");
}

BOOST_AUTO_TEST_CASE(loads_a_manifest_file) {
    temp_dir dir;
    write_file(dir.path / "satismeter.yaml", valid_yaml);

    auto m = load_manifest(dir.path / "satismeter.yaml");
    BOOST_TEST(m.id == "satismeter");
    BOOST_TEST(m.file == dir.path / "satismeter.yaml");
}

BOOST_AUTO_TEST_CASE(names_a_missing_file) {
    temp_dir dir;
    auto file = dir.path / "absent.yaml";
    try {
        load_manifest(file);
        BOOST_FAIL("a missing file loaded");
    } catch (const manifest_error& e) {
        BOOST_TEST(std::string(e.what()) ==
                   file.string() + ": cannot read the manifest (No such file or directory)");
    }
}

BOOST_AUTO_TEST_CASE(loads_a_directory_reporting_the_bad_file) {
    temp_dir dir;
    write_file(dir.path / "b-satismeter.yaml", valid_yaml);
    write_file(dir.path / "a-broken.yml", with("sync: inbound", "sync: sideways"));
    write_file(dir.path / "c-again.yaml", valid_yaml);
    write_file(dir.path / "d-other.yml", with("id: satismeter", "id: other"));
    write_file(dir.path / "notes.txt", "not a manifest");
    write_file(dir.path / ".hidden.yaml", "not: [a manifest");
    fs::create_directory(dir.path / "sub.yaml");

    auto loaded = load_manifest_dir(dir.path);
    BOOST_REQUIRE_EQUAL(loaded.manifests.size(), 2u);
    BOOST_TEST(loaded.manifests[0].id == "satismeter");
    BOOST_TEST(loaded.manifests[1].id == "other");
    BOOST_REQUIRE_EQUAL(loaded.errors.size(), 2u);
    BOOST_TEST(loaded.errors[0] == (dir.path / "a-broken.yml").string() +
                                       ": field 'sync': expected one of inbound, outbound, "
                                       "bidirectional, got 'sideways'");
    BOOST_TEST(loaded.errors[1] == (dir.path / "c-again.yaml").string() +
                                       ": field 'id': 'satismeter' is already used by " +
                                       (dir.path / "b-satismeter.yaml").string());
}

BOOST_AUTO_TEST_CASE(fails_on_a_missing_directory) {
    temp_dir dir;
    auto missing = dir.path / "nowhere";
    try {
        load_manifest_dir(missing);
        BOOST_FAIL("a missing directory loaded");
    } catch (const manifest_error& e) {
        BOOST_TEST(std::string(e.what()) == missing.string() +
                                                ": cannot read the manifest directory (No such "
                                                "file or directory)");
    }
}

BOOST_AUTO_TEST_CASE(reads_yaml_spellings_of_booleans) {
    auto text = replaced(with("    required: true", "    required: True"), "default: false",
                         "default: FALSE");
    auto m = parse_manifest(text, "manifests/x.yaml");
    BOOST_TEST(m.config[0].required);
    BOOST_TEST(m.config[4].default_value.value() == bj::value(false));
}

BOOST_AUTO_TEST_CASE(loads_the_repository_manifests_without_errors) {
    auto loaded = load_manifest_dir(TRIBUTARY_MANIFEST_DIR);
    BOOST_TEST(loaded.errors.empty(), (loaded.errors.empty() ? "" : loaded.errors.front()));

    auto m = load_manifest(fs::path(TRIBUTARY_MANIFEST_DIR) / "satismeter.yaml");
    BOOST_TEST(m.id == "satismeter");
    BOOST_TEST(m.sync == "inbound");
    BOOST_TEST(m.abi_major == 1);
    BOOST_REQUIRE(m.find_field("projectId") != nullptr);
    BOOST_TEST(m.find_field("projectId")->required);
    BOOST_TEST(m.find_field("projectId")->pattern.value_or("") == "^[0-9a-f]{24}$");
    BOOST_REQUIRE(m.find_field("apiKey") != nullptr);
    BOOST_TEST(m.find_field("apiKey")->secret);
    BOOST_TEST(!m.find_field("apiKey")->required);
    BOOST_REQUIRE(m.find_field("baseUrl") != nullptr);
    BOOST_TEST(m.find_field("baseUrl")->default_value.value() ==
               bj::value("https://app.satismeter.com"));
    BOOST_TEST(m.find_webhook("") != nullptr);

    const auto* pull = m.find_action("pull-historical-nps");
    BOOST_REQUIRE(pull != nullptr);
    BOOST_REQUIRE_EQUAL(pull->params.size(), 2u);
    BOOST_TEST(pull->params[0].key == "since");
    BOOST_TEST(pull->params[0].type == "date");
    BOOST_TEST(pull->params[1].key == "until");
    BOOST_TEST(pull->params[1].type == "date");
}
