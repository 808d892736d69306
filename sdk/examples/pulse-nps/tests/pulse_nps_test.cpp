// pulse_nps_test.cpp: the PulseNPS connector driven over the C ABI by the SDK's fake host.
#define BOOST_TEST_MODULE pulse_nps
#include <boost/test/unit_test.hpp>

#include <tributary/hmac.hpp>
#include <tributary/testing.hpp>

#include <string>

// The connector's entry, compiled into this test from pulse_nps.cpp.
extern "C" const trib_connector* tributary_connector_entry(void);

namespace {

namespace tt = tributary::testing;
namespace bj = boost::json;

constexpr const char* secret = "whsec_test_4f9b2c";
constexpr std::int64_t now_s = 1'711'929'600;  // the fake host's clock: 2024-04-01T00:00:00Z

const std::string completed = R"({"type":"response.completed","response":{
    "id":"resp_7Yq2","surveyId":"srv_q2","channel":"email","score":9,"comment":"Fast support",
    "submittedAt":"2024-03-31T22:10:05Z",
    "respondent":{"email":" Ann@Example.com ","externalId":"u-17"}}})";

std::string sign(const std::string& body, std::int64_t t = now_s, const char* key = secret) {
    auto stamp = std::to_string(t);
    return "t=" + stamp + ",v1=" + tributary::hmac::sha256_hex(key, stamp + "." + body);
}

tt::header_list signed_headers(const std::string& signature) {
    return {{"Content-Type", "application/json"}, {"Pulse-Signature", signature}};
}

struct fixture {
    fixture() { host.set_config({{"signingSecret", secret}}); }
    tt::fake_host host;
    tt::driver plugin{tributary_connector_entry(), host};
};

std::string error_of(const tt::call_result& r) {
    return std::string(r.json().as_object().at("error").as_string());
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(describes_the_default_route_only, fixture) {
    auto r = plugin.describe();
    BOOST_TEST(r.status == TRIB_OK);
    BOOST_TEST(r.result == R"({"webhooks":[""],"actions":[],"hooks":[]})");
    BOOST_TEST(std::string(plugin.descriptor().id) == "pulse-nps");
}

BOOST_FIXTURE_TEST_CASE(stores_a_signed_completed_response, fixture) {
    auto r = plugin.webhook(completed, "", signed_headers(sign(completed)));
    BOOST_TEST(r.status == TRIB_OK);
    BOOST_TEST(r.http_status == 200);
    BOOST_TEST(r.body == R"({"stored":1})");
    BOOST_REQUIRE_EQUAL(r.records.size(), 1u);

    const auto& rec = r.records[0].as_object();
    BOOST_TEST(rec.at("type").as_string() == "nps_response");
    BOOST_TEST(rec.at("sourceId").as_string() == "resp_7Yq2");
    BOOST_TEST(rec.at("email").as_string() == " Ann@Example.com ");  // the host normalises
    BOOST_TEST(rec.at("externalUserId").as_string() == "u-17");
    BOOST_TEST(rec.at("score").as_int64() == 9);
    BOOST_TEST(rec.at("comment").as_string() == "Fast support");
    BOOST_TEST(rec.at("state").as_string() == "completed");
    BOOST_TEST(rec.at("created").as_string() == "2024-03-31T22:10:05Z");
    BOOST_TEST(rec.at("campaign").as_string() == "srv_q2");
    BOOST_TEST(rec.at("method").as_string() == "email");
    BOOST_TEST(rec.at("raw").as_object().at("id").as_string() == "resp_7Yq2");
}

BOOST_FIXTURE_TEST_CASE(accepts_any_one_of_several_signatures, fixture) {
    auto rotated = sign(completed, now_s, "whsec_old_secret") + "," +
                   sign(completed).substr(sign(completed).find("v1="));
    auto r = plugin.webhook(completed, "", signed_headers(rotated));
    BOOST_TEST(r.http_status == 200);
    BOOST_TEST(r.records.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(refuses_a_wrong_signature_with_401, fixture) {
    auto r = plugin.webhook(completed, "", signed_headers(sign(completed, now_s, "not-it")));
    BOOST_TEST(r.http_status == 401);
    BOOST_TEST(error_of(r) == "no signature in the Pulse-Signature header matches the body");
    BOOST_TEST(r.records.empty());
}

BOOST_FIXTURE_TEST_CASE(refuses_a_body_changed_after_signing, fixture) {
    auto signature = sign(completed);
    std::string changed = completed;
    changed.replace(changed.find("\"score\":9"), 9, "\"score\":0");
    auto r = plugin.webhook(changed, "", signed_headers(signature));
    BOOST_TEST(r.http_status == 401);
    BOOST_TEST(r.records.empty());
}

BOOST_FIXTURE_TEST_CASE(refuses_an_unsigned_delivery_with_401, fixture) {
    auto r = plugin.webhook(completed);
    BOOST_TEST(r.http_status == 401);
    BOOST_TEST(error_of(r) == "missing Pulse-Signature header");
}

BOOST_FIXTURE_TEST_CASE(refuses_a_replayed_old_delivery, fixture) {
    auto r = plugin.webhook(completed, "", signed_headers(sign(completed, now_s - 301)));
    BOOST_TEST(r.http_status == 401);
    BOOST_TEST(error_of(r) ==
               "Pulse-Signature timestamp is more than 300 seconds away from the current time");
}

BOOST_FIXTURE_TEST_CASE(stores_a_dismissed_response_without_score, fixture) {
    std::string body = R"({"type":"response.dismissed","response":{"id":"resp_8","score":null,
        "submittedAt":"2024-03-31T22:11:00.250Z","respondent":{"email":"bo@example.com"}}})";
    auto r = plugin.webhook(body, "", signed_headers(sign(body)));
    BOOST_TEST(r.http_status == 200);
    BOOST_REQUIRE_EQUAL(r.records.size(), 1u);
    BOOST_TEST(r.records[0].as_object().at("score").is_null());
    BOOST_TEST(r.records[0].as_object().at("state").as_string() == "dismissed");
}

BOOST_FIXTURE_TEST_CASE(answers_a_ping_without_storing, fixture) {
    std::string body = R"({"type":"ping"})";
    auto r = plugin.webhook(body, "", signed_headers(sign(body)));
    BOOST_TEST(r.http_status == 200);
    BOOST_TEST(r.body == R"({"stored":0})");
    BOOST_TEST(r.records.empty());
}

BOOST_FIXTURE_TEST_CASE(refuses_a_signed_but_unusable_body_with_400, fixture) {
    std::string body = R"({"type":"response.completed","response":{"id":"r","score":11,
        "submittedAt":"2024-03-31T22:10:05Z"}})";
    auto r = plugin.webhook(body, "", signed_headers(sign(body)));
    BOOST_TEST(r.http_status == 400);
    BOOST_TEST(error_of(r) == "response.score must be an integer from 0 to 10");
}

BOOST_FIXTURE_TEST_CASE(never_logs_the_secret_or_a_signature, fixture) {
    auto signature = sign(completed, now_s, "not-it");
    plugin.webhook(completed, "", signed_headers(signature));
    BOOST_TEST(!host.logs().empty());
    BOOST_TEST(!host.mentions(secret));
    BOOST_TEST(!host.mentions(signature.substr(signature.find("v1=") + 3)));
}
