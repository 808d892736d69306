// abi_test.cpp: pins the C ABI's layout and checks which descriptor versions the host loads.
#include <tributary/abi.h>
#include <tributary/connector.hpp>

#define BOOST_TEST_MODULE abi
#include <boost/test/unit_test.hpp>

#include "manifest/manifest.hpp"
#include "plugin/call.hpp"
#include "plugin/plugin.hpp"

#include <cstddef>
#include <iterator>
#include <string>

namespace {

using tributary::host::manifest;
using tributary::host::plugin;
using tributary::host::plugin_error;

// Where the leading 32-bit fields end and the pointers begin, and the n-th pointer after them.
constexpr std::size_t round_up(std::size_t n, std::size_t a) {
    return (n + a - 1) / a * a;
}
constexpr std::size_t pointer_slot(std::size_t leading_u32, std::size_t n) {
    return round_up(leading_u32 * sizeof(std::uint32_t), alignof(void*)) + n * sizeof(void*);
}

std::string probe_dir() {
    return ABI_PROBE_DIR;
}

manifest probe_manifest(const std::string& library) {
    manifest m;
    m.file = "abi-probe.yaml";
    m.id = "abi-probe";
    m.name = "ABI probe";
    m.version = "1.0.0";
    m.library = library;
    m.sync = "inbound";
    m.abi_major = 1;
    m.abi_minor = 0;
    m.hooks = {"echo"};
    return m;
}

std::string load_error(const std::string& library) {
    try {
        plugin::load(probe_manifest(library), probe_dir());
    } catch (const plugin_error& e) {
        return e.what();
    }
    return "loaded";
}

std::string abi_text(unsigned major, unsigned minor) {
    return std::to_string(major) + "." + std::to_string(minor);
}

}  // namespace

// ---- layout: the fields of ABI 1.0 keep their places; new ones are appended ------------------

BOOST_AUTO_TEST_CASE(descriptor_fields_of_abi_1_0_keep_their_offsets) {
    BOOST_TEST(offsetof(trib_connector, abi_major) == 0u);
    BOOST_TEST(offsetof(trib_connector, abi_minor) == 4u);
    BOOST_TEST(offsetof(trib_connector, struct_size) == 8u);
    BOOST_TEST(offsetof(trib_connector, sdk_version) == pointer_slot(3, 0));
    BOOST_TEST(offsetof(trib_connector, id) == pointer_slot(3, 1));
    BOOST_TEST(offsetof(trib_connector, version) == pointer_slot(3, 2));
    BOOST_TEST(offsetof(trib_connector, create) == pointer_slot(3, 3));
    BOOST_TEST(offsetof(trib_connector, destroy) == pointer_slot(3, 4));
    BOOST_TEST(offsetof(trib_connector, describe) == pointer_slot(3, 5));
    BOOST_TEST(offsetof(trib_connector, handle_webhook) == pointer_slot(3, 6));
    BOOST_TEST(offsetof(trib_connector, run_action) == pointer_slot(3, 7));
    BOOST_TEST(offsetof(trib_connector, run_hook) == pointer_slot(3, 8));
    BOOST_TEST(sizeof(trib_connector) >= pointer_slot(3, 9));
}

BOOST_AUTO_TEST_CASE(host_api_fields_of_abi_1_0_keep_their_offsets) {
    BOOST_TEST(offsetof(trib_host_api, struct_size) == 0u);
    BOOST_TEST(offsetof(trib_host_api, abi_major) == 4u);
    BOOST_TEST(offsetof(trib_host_api, abi_minor) == 8u);
    BOOST_TEST(offsetof(trib_host_api, tenant_id) == pointer_slot(3, 0));
    BOOST_TEST(offsetof(trib_host_api, installation_id) == pointer_slot(3, 1));
    BOOST_TEST(offsetof(trib_host_api, config_json) == pointer_slot(3, 2));
    BOOST_TEST(offsetof(trib_host_api, log) == pointer_slot(3, 3));
    BOOST_TEST(offsetof(trib_host_api, now_ms) == pointer_slot(3, 4));
    BOOST_TEST(offsetof(trib_host_api, set_response) == pointer_slot(3, 5));
    BOOST_TEST(offsetof(trib_host_api, set_result) == pointer_slot(3, 6));
    BOOST_TEST(offsetof(trib_host_api, set_error) == pointer_slot(3, 7));
    BOOST_TEST(offsetof(trib_host_api, emit_record) == pointer_slot(3, 8));
    BOOST_TEST(offsetof(trib_host_api, commit_page) == pointer_slot(3, 9));
    BOOST_TEST(offsetof(trib_host_api, checkpoint) == pointer_slot(3, 10));
    BOOST_TEST(offsetof(trib_host_api, cancelled) == pointer_slot(3, 11));
    BOOST_TEST(offsetof(trib_host_api, progress) == pointer_slot(3, 12));
    BOOST_TEST(offsetof(trib_host_api, sleep_ms) == pointer_slot(3, 13));
    BOOST_TEST(offsetof(trib_host_api, http_fetch) == pointer_slot(3, 14));
    BOOST_TEST(sizeof(trib_host_api) >= pointer_slot(3, 15));
}

BOOST_AUTO_TEST_CASE(host_api_fields_of_abi_1_1_keep_their_offsets) {
    BOOST_TEST(offsetof(trib_host_api, emit_record_with_hooks) == pointer_slot(3, 15));
    BOOST_TEST(sizeof(trib_host_api) >= pointer_slot(3, 16));
}

// A table that grew must come with a new minor version, so a host can tell what it may call.
BOOST_AUTO_TEST_CASE(tables_grow_only_with_a_minor_version) {
    // Each table's size at each minor; a new minor adds its entry. 1.1 added
    // emit_record_with_hooks to the host's table.
    const std::size_t connector_size[] = {pointer_slot(3, 9), pointer_slot(3, 9)};
    const std::size_t host_api_size[] = {pointer_slot(3, 15), pointer_slot(3, 16)};
    BOOST_TEST_REQUIRE(TRIBUTARY_ABI_MINOR < std::size(host_api_size));
    BOOST_TEST(sizeof(trib_connector) == connector_size[TRIBUTARY_ABI_MINOR]);
    BOOST_TEST(sizeof(trib_host_api) == host_api_size[TRIBUTARY_ABI_MINOR]);
}

BOOST_AUTO_TEST_CASE(request_structs_of_abi_1_0_keep_their_offsets) {
    BOOST_TEST(sizeof(trib_str) == 2 * sizeof(void*));
    BOOST_TEST(offsetof(trib_str, size) == sizeof(void*));
    BOOST_TEST(offsetof(trib_header, value) == sizeof(trib_str));

    BOOST_TEST(offsetof(trib_http_request, method) == pointer_slot(1, 0));
    BOOST_TEST(offsetof(trib_http_request, path) == pointer_slot(1, 2));
    BOOST_TEST(offsetof(trib_http_request, query) == pointer_slot(1, 4));
    BOOST_TEST(offsetof(trib_http_request, headers) == pointer_slot(1, 6));
    BOOST_TEST(offsetof(trib_http_request, header_count) == pointer_slot(1, 7));
    BOOST_TEST(offsetof(trib_http_request, body) == pointer_slot(1, 8));

    BOOST_TEST(offsetof(trib_fetch_request, method) == pointer_slot(1, 0));
    BOOST_TEST(offsetof(trib_fetch_request, url) == pointer_slot(1, 2));
    BOOST_TEST(offsetof(trib_fetch_request, headers) == pointer_slot(1, 4));
    BOOST_TEST(offsetof(trib_fetch_request, header_count) == pointer_slot(1, 5));
    BOOST_TEST(offsetof(trib_fetch_request, body) == pointer_slot(1, 6));
    BOOST_TEST(offsetof(trib_fetch_request, timeout_ms) == pointer_slot(1, 8));

    BOOST_TEST(offsetof(trib_fetch_response, status) == 4u);
    BOOST_TEST(offsetof(trib_fetch_response, headers) == pointer_slot(2, 0));
    BOOST_TEST(offsetof(trib_fetch_response, header_count) == pointer_slot(2, 1));
    BOOST_TEST(offsetof(trib_fetch_response, body) == pointer_slot(2, 2));
}

BOOST_AUTO_TEST_CASE(status_codes_and_entry_symbol_never_change) {
    BOOST_TEST(TRIB_OK == 0);
    BOOST_TEST(TRIB_ERR_INVALID_INPUT == 1);
    BOOST_TEST(TRIB_ERR_NOT_FOUND == 2);
    BOOST_TEST(TRIB_ERR_UNAUTHORIZED == 3);
    BOOST_TEST(TRIB_ERR_REMOTE == 4);
    BOOST_TEST(TRIB_ERR_CANCELLED == 5);
    BOOST_TEST(TRIB_ERR_INTERNAL == 6);
    BOOST_TEST(TRIB_ERR_UNSUPPORTED == 7);
    BOOST_TEST(TRIB_ERR_STORAGE == 8);
    BOOST_TEST(TRIB_LOG_DEBUG == 0);
    BOOST_TEST(TRIB_LOG_ERROR == 3);
    BOOST_TEST(std::string(TRIBUTARY_ENTRY_SYMBOL) == "tributary_connector_entry");
}

// ---- loading: which descriptors the host accepts ---------------------------------------------

// The C++ layer claims the minor it needs (1.0), so hosts of every 1.x minor load its libraries.
BOOST_AUTO_TEST_CASE(loads_a_descriptor_as_the_sdk_exports_it) {
    auto p = plugin::load(probe_manifest("libabi_probe_current.so"), probe_dir());
    BOOST_TEST(p->id() == "abi-probe");
    BOOST_TEST(p->abi_minor() == tributary::needed_abi_minor);
    BOOST_TEST(p->abi_minor() == 0u);
}

// Once the host's minor moves on, this library keeps proving that an older minor still loads.
BOOST_AUTO_TEST_CASE(loads_an_abi_1_0_descriptor_and_calls_it) {
    auto p = plugin::load(probe_manifest("libabi_probe_1_0.so"), probe_dir());
    BOOST_TEST(p->abi_minor() == 0u);

    trib_call call;
    call.connector = "abi-probe";
    BOOST_TEST(p->hook(call, "echo", R"({"a":1})") == TRIB_OK);
    BOOST_TEST(call.result == R"({"a":1})");
}

BOOST_AUTO_TEST_CASE(refuses_a_newer_minor_naming_both_versions) {
    auto file = probe_dir() + "/libabi_probe_newer_minor.so";
    BOOST_TEST(load_error("libabi_probe_newer_minor.so") ==
               file + ": needs ABI " + abi_text(TRIBUTARY_ABI_MAJOR, TRIBUTARY_ABI_MINOR + 1) +
                   ", newer than this host's " +
                   abi_text(TRIBUTARY_ABI_MAJOR, TRIBUTARY_ABI_MINOR));
}

BOOST_AUTO_TEST_CASE(refuses_another_major_naming_both_versions) {
    auto file = probe_dir() + "/libabi_probe_other_major.so";
    BOOST_TEST(load_error("libabi_probe_other_major.so") ==
               file + ": built for ABI " +
                   abi_text(TRIBUTARY_ABI_MAJOR + 1, tributary::needed_abi_minor) +
                   ", this host speaks ABI " + abi_text(TRIBUTARY_ABI_MAJOR, TRIBUTARY_ABI_MINOR));
}

BOOST_AUTO_TEST_CASE(refuses_a_descriptor_shorter_than_abi_1_0) {
    auto file = probe_dir() + "/libabi_probe_too_small.so";
    BOOST_TEST(load_error("libabi_probe_too_small.so") == file + ": descriptor is too small (" +
                                                              std::to_string(pointer_slot(3, 8)) +
                                                              " bytes)");
}
