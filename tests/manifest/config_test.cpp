// config_test.cpp: tenant config and action params validated against field specs, and masking.
#include "manifest/config.hpp"

#define BOOST_TEST_MODULE config
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

namespace bj = boost::json;
using tributary::host::compile_pattern;
using tributary::host::config_result;
using tributary::host::field_spec;
using tributary::host::mask_secrets;
using tributary::host::validate_config;

namespace {

field_spec make_field(std::string key, std::string type, bool required = false,
                      bool secret = false) {
    field_spec f;
    f.key = std::move(key);
    f.type = std::move(type);
    f.label = f.key;
    f.required = required;
    f.secret = secret;
    return f;
}

field_spec with_pattern(field_spec f, std::string pattern) {
    f.compiled_pattern = compile_pattern(pattern);
    f.pattern = std::move(pattern);
    return f;
}

field_spec with_default(field_spec f, bj::value value) {
    f.default_value = std::move(value);
    return f;
}

// The SatisMeter connector's fields, as api.md describes them.
std::vector<field_spec> satismeter_fields() {
    return {with_pattern(make_field("projectId", "string", true), "^[0-9a-f]{24}$"),
            make_field("apiKey", "string", false, true),
            with_default(make_field("baseUrl", "url"), "https://app.satismeter.com")};
}

bj::object object_of(std::string_view json) {
    return bj::parse(json).as_object();
}

// Errors as "field: message; field: message" for word-for-word comparison.
std::string errors_of(const config_result& r) {
    std::string out;
    for (const auto& e : r.errors) {
        out += (out.empty() ? "" : "; ") + e.field + ": " + e.message;
    }
    return out;
}

std::string errors_for(const field_spec& field, std::string_view input_json) {
    return errors_of(validate_config({field}, object_of(input_json)));
}

// The stored value of a single field, or null when validation failed.
bj::value stored(const field_spec& field, std::string_view input_json) {
    auto r = validate_config({field}, object_of(input_json));
    if (!r.ok()) {
        return nullptr;
    }
    const auto* v = r.config.if_contains(field.key);
    return v == nullptr ? bj::value(nullptr) : *v;
}

const std::string project_id = "0123456789abcdef01234567";

}  // namespace

BOOST_AUTO_TEST_CASE(accepts_valid_config_in_field_order_with_defaults) {
    auto r = validate_config(
        satismeter_fields(),
        object_of(R"({"apiKey": "read-key-1234567", "projectId": ")" + project_id + R"("})"));

    BOOST_TEST(r.ok());
    BOOST_TEST(bj::serialize(r.config) ==
               R"({"projectId":")" + project_id +
                   R"(","apiKey":"read-key-1234567","baseUrl":"https://app.satismeter.com"})");
}

BOOST_AUTO_TEST_CASE(trims_surrounding_whitespace_of_text_values) {
    BOOST_TEST(stored(make_field("name", "string"), R"({"name": "  acme \n"})") == "acme");
    BOOST_TEST(stored(with_pattern(make_field("id", "string"), "^[0-9a-f]{24}$"),
                      R"({"id": " )" + project_id + R"(\t"})") == bj::value(project_id));
}

BOOST_AUTO_TEST_CASE(rejects_unknown_field) {
    auto r = validate_config(satismeter_fields(), object_of(R"({"projectId": ")" + project_id +
                                                            R"(", "writeKey": "abc"})"));
    BOOST_TEST(errors_of(r) == "writeKey: unknown field");
    BOOST_TEST(r.config.empty());
}

BOOST_AUTO_TEST_CASE(rejects_missing_required_field) {
    auto fields = satismeter_fields();
    BOOST_TEST(errors_of(validate_config(fields, {})) == "projectId: is required");
    BOOST_TEST(errors_of(validate_config(fields, object_of(R"({"projectId": null})"))) ==
               "projectId: is required");
    BOOST_TEST(errors_of(validate_config(fields, object_of(R"({"projectId": "  "})"))) ==
               "projectId: is required");
}

BOOST_AUTO_TEST_CASE(reports_unknown_fields_first_then_fields_in_order) {
    std::vector<field_spec> fields{make_field("a", "integer", true), make_field("b", "boolean")};
    auto r = validate_config(fields, object_of(R"({"b": 1, "z": 1, "y": 2})"));
    BOOST_TEST(errors_of(r) ==
               "z: unknown field; y: unknown field; a: is required; b: expected true or false");
}

BOOST_AUTO_TEST_CASE(rejects_values_of_the_wrong_type) {
    BOOST_TEST(errors_for(make_field("s", "string"), R"({"s": 5})") == "s: expected a string");
    BOOST_TEST(errors_for(make_field("s", "string"), R"({"s": ["a"]})") == "s: expected a string");
    BOOST_TEST(errors_for(make_field("i", "integer"), R"({"i": "5"})") == "i: expected an integer");
    BOOST_TEST(errors_for(make_field("i", "integer"), R"({"i": 5.5})") == "i: expected an integer");
    BOOST_TEST(errors_for(make_field("i", "integer"), R"({"i": true})") ==
               "i: expected an integer");
    BOOST_TEST(errors_for(make_field("i", "integer"), R"({"i": 18446744073709551615})") ==
               "i: expected an integer");
    BOOST_TEST(errors_for(make_field("b", "boolean"), R"({"b": "true"})") ==
               "b: expected true or false");
    BOOST_TEST(errors_for(make_field("b", "boolean"), R"({"b": 1})") ==
               "b: expected true or false");
    BOOST_TEST(errors_for(make_field("u", "url"), R"({"u": 5})") ==
               "u: expected an http:// or https:// URL with a host");
    BOOST_TEST(errors_for(make_field("d", "date"), R"({"d": 20240305})") ==
               "d: expected a date like 2024-03-05 or 2024-03-05T09:12:44Z");
}

BOOST_AUTO_TEST_CASE(stores_integers_and_booleans_as_such) {
    BOOST_TEST(stored(make_field("i", "integer"), R"({"i": -42})") == bj::value(-42));
    BOOST_TEST(stored(make_field("i", "integer"), R"({"i": 100.0})") == bj::value(100));
    BOOST_TEST(stored(make_field("i", "integer"), R"({"i": 9223372036854775807})") ==
               bj::value(INT64_MAX));
    BOOST_TEST(stored(make_field("b", "boolean"), R"({"b": false})") == bj::value(false));
}

BOOST_AUTO_TEST_CASE(rejects_value_that_misses_the_pattern) {
    auto field = satismeter_fields()[0];
    BOOST_TEST(errors_for(field, R"({"projectId": "0123456789ABCDEF01234567"})") ==
               "projectId: must match ^[0-9a-f]{24}$");
    BOOST_TEST(errors_for(field, R"({"projectId": "x)" + project_id + R"("})") ==
               "projectId: must match ^[0-9a-f]{24}$");
}

BOOST_AUTO_TEST_CASE(matches_the_whole_value_against_an_unanchored_pattern) {
    auto field = with_pattern(make_field("code", "string"), "[a-z]{3}");
    BOOST_TEST(stored(field, R"({"code": "abc"})") == "abc");
    BOOST_TEST(errors_for(field, R"({"code": "abcd"})") == "code: must match [a-z]{3}");
}

BOOST_AUTO_TEST_CASE(compiles_a_pattern_when_the_spec_was_built_in_code) {
    auto field = make_field("code", "string");
    field.pattern = "^[0-9]+$";
    BOOST_TEST(stored(field, R"({"code": "123"})") == "123");
    BOOST_TEST(errors_for(field, R"({"code": "12a"})") == "code: must match ^[0-9]+$");

    field.pattern = "([0-9]";
    BOOST_TEST(errors_for(field, R"({"code": "1"})") == "code: has an invalid pattern");
}

BOOST_AUTO_TEST_CASE(accepts_http_and_https_urls_with_a_host) {
    auto field = make_field("u", "url");
    for (auto url : {"https://app.satismeter.com", "http://127.0.0.1:8080/api?x=1",
                     "HTTPS://Example.com/path", "http://[::1]:9000/"}) {
        BOOST_TEST(stored(field, R"({"u": ")" + std::string(url) + R"("})") == bj::value(url), url);
    }
}

BOOST_AUTO_TEST_CASE(rejects_urls_without_http_scheme_or_host) {
    auto field = make_field("u", "url");
    for (auto url : {"ftp://example.com", "app.satismeter.com", "http://", "https:///path",
                     "http:example.com", "https://exa mple.com", "javascript:alert(1)"}) {
        BOOST_TEST(errors_for(field, R"({"u": ")" + std::string(url) + R"("})") ==
                       "u: expected an http:// or https:// URL with a host",
                   url);
    }
}

BOOST_AUTO_TEST_CASE(accepts_iso_dates_with_optional_time) {
    auto field = make_field("d", "date");
    for (auto date : {"2024-03-05", "2024-02-29", "2000-02-29", "2024-03-05T09:12:44Z",
                      "2024-03-05T09:12:44.120Z", "2024-12-31T23:59:59.123456789Z"}) {
        BOOST_TEST(stored(field, R"({"d": ")" + std::string(date) + R"("})") == bj::value(date),
                   date);
    }
}

BOOST_AUTO_TEST_CASE(rejects_dates_that_are_not_iso_8601) {
    auto field = make_field("d", "date");
    for (auto date : {"2023-02-29", "1900-02-29", "2024-13-01", "2024-04-31", "2024-3-5",
                      "05/03/2024", "2024-03-05T09:12:44", "2024-03-05T09:12:44+01:00",
                      "2024-03-05T24:00:00Z", "2024-03-05T09:60:00Z", "2024-03-05T09:12:44.Z",
                      "2024-03-05 09:12:44Z", "2024-03-05T09:12Z", "0000-01-01", "2024-03-05x"}) {
        BOOST_TEST(errors_for(field, R"({"d": ")" + std::string(date) + R"("})") ==
                       "d: expected a date like 2024-03-05 or 2024-03-05T09:12:44Z",
                   date);
    }
}

BOOST_AUTO_TEST_CASE(rejects_overlong_values_before_matching_patterns) {
    auto field = with_pattern(make_field("s", "string"), "^(a|b)*$");
    BOOST_TEST(stored(field, R"({"s": ")" + std::string(2048, 'a') + R"("})") ==
               bj::value(std::string(2048, 'a')));
    BOOST_TEST(errors_for(field, R"({"s": ")" + std::string(100000, 'a') + R"("})") ==
               "s: must be at most 2048 characters");
}

BOOST_AUTO_TEST_CASE(applies_defaults_to_absent_and_null_fields) {
    auto field = with_default(make_field("n", "integer", true), 25);
    BOOST_TEST(stored(field, "{}") == bj::value(25));
    BOOST_TEST(stored(field, R"({"n": null})") == bj::value(25));
    BOOST_TEST(stored(field, R"({"n": 7})") == bj::value(7));
}

BOOST_AUTO_TEST_CASE(leaves_absent_optional_fields_out) {
    auto r = validate_config(satismeter_fields(),
                             object_of(R"({"projectId": ")" + project_id + R"(", "apiKey": ""})"));
    BOOST_TEST(r.ok());
    BOOST_TEST(!r.config.contains("apiKey"));
    BOOST_TEST(r.config.size() == 2u);
}

BOOST_AUTO_TEST_CASE(patch_keeps_previous_values_of_keys_left_out) {
    auto previous = object_of(R"({"projectId": ")" + project_id +
                              R"(", "apiKey": "old-key-123456", "baseUrl": "http://127.0.0.1:1"})");
    auto r = validate_config(satismeter_fields(), object_of(R"({"apiKey": "new-key-654321"})"),
                             &previous);

    BOOST_TEST(r.ok());
    BOOST_TEST(bj::serialize(r.config) ==
               R"({"projectId":")" + project_id +
                   R"(","apiKey":"new-key-654321","baseUrl":"http://127.0.0.1:1"})");
}

BOOST_AUTO_TEST_CASE(patch_null_clears_an_optional_field_and_restores_a_default) {
    auto previous = object_of(R"({"projectId": ")" + project_id +
                              R"(", "apiKey": "old-key-123456", "baseUrl": "http://127.0.0.1:1"})");
    auto r = validate_config(satismeter_fields(), object_of(R"({"apiKey": null, "baseUrl": null})"),
                             &previous);

    BOOST_TEST(r.ok());
    BOOST_TEST(bj::serialize(r.config) ==
               R"({"projectId":")" + project_id + R"(","baseUrl":"https://app.satismeter.com"})");
}

BOOST_AUTO_TEST_CASE(patch_cannot_clear_a_required_field) {
    auto previous = object_of(R"({"projectId": ")" + project_id + R"("})");
    auto r = validate_config(satismeter_fields(), object_of(R"({"projectId": null})"), &previous);
    BOOST_TEST(errors_of(r) == "projectId: is required");
}

BOOST_AUTO_TEST_CASE(patch_drops_previous_keys_no_field_describes) {
    auto previous = object_of(R"({"projectId": ")" + project_id + R"(", "retired": 1})");
    auto r = validate_config(satismeter_fields(), {}, &previous);
    BOOST_TEST(r.ok());
    BOOST_TEST(!r.config.contains("retired"));
}

BOOST_AUTO_TEST_CASE(never_names_a_secret_value_in_messages) {
    auto secret = with_pattern(make_field("token", "string", true, true), "^tk_[a-z]{8}$");
    const std::string value = "sk_live_hunter2_abcdef";
    std::vector<field_spec> fields{secret, make_field("count", "integer", false, true)};

    for (const auto& input :
         {R"({"token": ")" + value + R"("})",
          R"({"token": ")" + value + std::string(3000, 'x') + R"("})",
          R"({"token": 42, "count": ")" + value + R"("})",
          R"({")" + value.substr(0, 3) + R"(": 1, "token": ")" + value + R"("})"}) {
        auto r = validate_config(fields, object_of(input));
        BOOST_REQUIRE(!r.ok());
        for (const auto& e : r.errors) {
            BOOST_TEST(e.message.find("hunter2") == std::string::npos, e.message);
            BOOST_TEST(e.field.find("hunter2") == std::string::npos, e.field);
        }
    }
    BOOST_TEST(errors_for(secret, R"({"token": ")" + value + R"("})") ==
               "token: must match ^tk_[a-z]{8}$");
}

BOOST_AUTO_TEST_CASE(masks_secret_values_showing_the_last_four_characters) {
    auto fields = satismeter_fields();
    auto masked = mask_secrets(fields, object_of(R"({"projectId": ")" + project_id +
                                                 R"(", "apiKey": "abcdefghijklmnop"})"));
    BOOST_TEST(bj::serialize(masked) ==
               R"({"projectId":")" + project_id + R"(","apiKey":"••••mnop"})");
}

BOOST_AUTO_TEST_CASE(masks_short_secrets_entirely) {
    auto fields = satismeter_fields();
    BOOST_TEST(mask_secrets(fields, object_of(R"({"apiKey": "abcdefghijk"})")).at("apiKey") ==
               "••••");
    BOOST_TEST(mask_secrets(fields, object_of(R"({"apiKey": "abcdefghijkl"})")).at("apiKey") ==
               "••••ijkl");
    BOOST_TEST(mask_secrets(fields, object_of(R"({"apiKey": ""})")).at("apiKey") == "••••");
}

BOOST_AUTO_TEST_CASE(masks_by_characters_not_bytes) {
    auto fields = satismeter_fields();
    // Eleven characters, far more bytes: still too short to show any.
    BOOST_TEST(mask_secrets(fields, object_of(R"({"apiKey": "ééééééééééé"})")).at("apiKey") ==
               "••••");
    BOOST_TEST(mask_secrets(fields, object_of(R"({"apiKey": "abcdefghéñüß"})")).at("apiKey") ==
               "••••éñüß");
}

BOOST_AUTO_TEST_CASE(masks_non_string_secrets_and_unknown_keys_entirely) {
    std::vector<field_spec> fields{make_field("pin", "integer", false, true),
                                   make_field("name", "string")};
    auto masked = mask_secrets(fields, object_of(R"({"pin": 123456789012345, "name": "acme",
                                                    "legacyToken": "abcdefghijklmnop"})"));
    BOOST_TEST(bj::serialize(masked) == R"({"pin":"••••","name":"acme","legacyToken":"••••"})");
}
