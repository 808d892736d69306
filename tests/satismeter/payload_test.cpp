// payload_test.cpp: webhook bodies and export objects into normalised records, and the rollup.
#include "satismeter/payload.hpp"

#define BOOST_TEST_MODULE satismeter_payload
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "fixtures.hpp"

#include <string>

namespace bj = boost::json;
namespace sm = tributary::satismeter;

namespace {

using satismeter_test::read_fixture;

// The fixture's response object as the record's raw field must hold it.
bj::value raw_of(bj::value response) {
    for (const char* dropped : {"ip", "location", "device"}) {
        response.as_object().erase(dropped);
    }
    return response;
}

// The expected record: the listed fields plus raw.
bj::value expected(std::string_view fields, const bj::value& raw) {
    bj::value out = bj::parse(fields);
    out.as_object()["raw"] = raw;
    return out;
}

// A delivery whose response has an id (unless given) and the given fields.
std::string delivery(bj::object response, bj::object envelope = {}) {
    if (!response.contains("id")) {
        response["id"] = "6601c0ffee00000000000009";
    }
    if (!envelope.contains("event")) {
        envelope["event"] = "completed";
    }
    envelope["response"] = std::move(response);
    return bj::serialize(envelope);
}

// The record a delivery gives; fails the test when it is refused.
bj::value record_of(const std::string& body) {
    auto result = sm::normalize_webhook(body);
    BOOST_TEST_REQUIRE(result.ok(), "refused: " << result.reason);
    return result.record;
}

std::string reason_of(std::string_view body) {
    auto result = sm::normalize_webhook(body);
    return result.ok() ? "<accepted>" : std::string(result.reason);
}

bj::value field(const std::string& body, std::string_view key) {
    return record_of(body).at(key);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fixtures)

BOOST_AUTO_TEST_CASE(completed_promoter_gives_its_record) {
    std::string body = read_fixture("webhook_completed_promoter.json");
    auto result = sm::normalize_webhook(body);
    BOOST_TEST_REQUIRE(result.ok());
    BOOST_TEST(result.record == expected(R"({
        "type": "nps_response", "sourceId": "6601c0ffee00000000000001",
        "email": "ada@northwind.example", "externalUserId": "u-1001", "score": 10,
        "comment": "The new reporting saves my team hours every week.", "state": "completed",
        "created": "2024-03-05T09:12:44.120Z", "campaign": "65f0a1b2c3d4e5f60718293a",
        "method": "In-app" })",
                                         raw_of(bj::parse(body).at("response"))));
}

BOOST_AUTO_TEST_CASE(raw_keeps_the_response_without_ip_location_and_device) {
    auto raw = record_of(read_fixture("webhook_completed_promoter.json")).at("raw").as_object();
    BOOST_TEST(!raw.contains("ip"));
    BOOST_TEST(!raw.contains("location"));
    BOOST_TEST(!raw.contains("device"));
    BOOST_TEST(raw.at("language") == bj::value("en"));
    BOOST_TEST(raw.at("score") == bj::value(100));
    BOOST_TEST(raw.size() == 15u);
}

BOOST_AUTO_TEST_CASE(detractor_with_traits_email_gives_its_record) {
    std::string body = read_fixture("webhook_completed_detractor_traits_email.json");
    BOOST_TEST(record_of(body) == expected(R"({
        "type": "nps_response", "sourceId": "6601c0ffee00000000000002",
        "email": "bo.sample@contoso.example", "externalUserId": "u-1002", "score": 3,
        "comment": "Exports time out on large accounts.", "state": "completed",
        "created": "2024-03-06T14:01:09.004Z", "campaign": null, "method": "In-app" })",
                                           raw_of(bj::parse(body).at("response"))));
}

BOOST_AUTO_TEST_CASE(dismissed_gives_its_record_without_score) {
    std::string body = read_fixture("webhook_dismissed.json");
    BOOST_TEST(record_of(body) == expected(R"({
        "type": "nps_response", "sourceId": "6601c0ffee00000000000003",
        "email": "cy@northwind.example", "externalUserId": "u-1003", "score": null,
        "comment": null, "state": "dismissed", "created": "2024-03-07T08:30:00.000Z",
        "campaign": null, "method": "In-app" })",
                                           raw_of(bj::parse(body).at("response"))));
}

BOOST_AUTO_TEST_CASE(anonymous_gives_its_record_without_email) {
    std::string body = read_fixture("webhook_anonymous.json");
    BOOST_TEST(record_of(body) == expected(R"({
        "type": "nps_response", "sourceId": "6601c0ffee00000000000004", "email": null,
        "externalUserId": null, "score": 8, "comment": null, "state": "completed",
        "created": "2024-03-08T11:45:10.500Z", "campaign": null, "method": "Email" })",
                                           raw_of(bj::parse(body).at("response"))));
}

BOOST_AUTO_TEST_CASE(rating_in_answers_only_gives_its_record) {
    std::string body = read_fixture("webhook_rating_in_answers_only.json");
    BOOST_TEST(record_of(body) == expected(R"({
        "type": "nps_response", "sourceId": "6601c0ffee00000000000005",
        "email": "dee@contoso.example", "externalUserId": "u-1005", "score": 9,
        "comment": null, "state": "completed", "created": "2024-03-09T16:20:00.250Z",
        "campaign": null, "method": "Mobile" })",
                                           raw_of(bj::parse(body).at("response"))));
}

BOOST_AUTO_TEST_CASE(export_first_page_objects_give_their_records) {
    auto data = bj::parse(read_fixture("api_v3_page_first.json")).at("data").as_array();
    auto first = sm::normalize_export(bj::value(data[0]));
    auto second = sm::normalize_export(bj::value(data[1]));
    BOOST_TEST_REQUIRE(first.ok());
    BOOST_TEST_REQUIRE(second.ok());
    BOOST_TEST(first.record == expected(R"({
        "type": "nps_response", "sourceId": "6601c0ffee00000000000101",
        "email": "eve@fabrikam.example", "externalUserId": "u-2001", "score": 6,
        "comment": "Onboarding took too long.", "state": "completed",
        "created": "2023-11-02T10:00:00.000Z", "campaign": "65f0a1b2c3d4e5f60718293a",
        "method": "In-app" })",
                                        data[0]));
    BOOST_TEST(second.record == expected(R"({
        "type": "nps_response", "sourceId": "6601c0ffee00000000000102",
        "email": "finn@fabrikam.example", "externalUserId": "u-2002", "score": 9,
        "comment": null, "state": "completed", "created": "2023-10-28T17:30:00.000Z",
        "campaign": "65f0a1b2c3d4e5f60718293a", "method": "Email" })",
                                         data[1]));
}

BOOST_AUTO_TEST_CASE(export_last_page_object_gives_its_record) {
    auto data = bj::parse(read_fixture("api_v3_page_last.json")).at("data").as_array();
    auto only = sm::normalize_export(bj::value(data[0]));
    BOOST_TEST_REQUIRE(only.ok());
    BOOST_TEST(only.record == expected(R"({
        "type": "nps_response", "sourceId": "6601c0ffee00000000000103",
        "email": "gus@fabrikam.example", "externalUserId": "u-2003", "score": 10,
        "comment": null, "state": "completed", "created": "2023-09-14T08:05:00.000Z",
        "campaign": null, "method": "In-app" })",
                                       data[0]));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(malformed)

BOOST_AUTO_TEST_CASE(rejects_a_body_that_is_not_json) {
    BOOST_TEST(reason_of("") == "body is not valid JSON");
    BOOST_TEST(reason_of("{\"event\": \"completed\",") == "body is not valid JSON");
    BOOST_TEST(reason_of("event=completed") == "body is not valid JSON");
}

BOOST_AUTO_TEST_CASE(rejects_a_body_that_is_not_an_object) {
    BOOST_TEST(reason_of("[]") == "body must be a JSON object");
    BOOST_TEST(reason_of("\"completed\"") == "body must be a JSON object");
    BOOST_TEST(reason_of("null") == "body must be a JSON object");
}

BOOST_AUTO_TEST_CASE(rejects_a_body_without_response_object) {
    BOOST_TEST(reason_of(R"({"event":"completed"})") == "body has no response object");
    BOOST_TEST(reason_of(R"({"event":"completed","response":"x"})") ==
               "body has no response object");
    BOOST_TEST(reason_of(R"({"event":"completed","response":null})") ==
               "body has no response object");
}

BOOST_AUTO_TEST_CASE(rejects_a_missing_or_non_string_id) {
    BOOST_TEST(reason_of(R"({"response":{"rating":9}})") ==
               "response.id must be a non-empty string");
    BOOST_TEST(reason_of(delivery({{"id", 42}})) == "response.id must be a non-empty string");
    BOOST_TEST(reason_of(delivery({{"id", ""}})) == "response.id must be a non-empty string");
    BOOST_TEST(reason_of(delivery({{"id", nullptr}})) == "response.id must be a non-empty string");
}

BOOST_AUTO_TEST_CASE(rejects_rating_above_ten) {
    BOOST_TEST(reason_of(delivery({{"rating", 11}})) ==
               "response.rating must be an integer from 0 to 10");
}

BOOST_AUTO_TEST_CASE(rejects_rating_that_is_not_an_integer_from_zero_to_ten) {
    for (bj::value rating : {bj::value(-1), bj::value(7.5), bj::value("ten"), bj::value(true),
                             bj::value(bj::array{9}), bj::value("")}) {
        BOOST_TEST_CONTEXT(rating) {
            BOOST_TEST(reason_of(delivery({{"rating", rating}})) ==
                       "response.rating must be an integer from 0 to 10");
        }
    }
}

BOOST_AUTO_TEST_CASE(rejects_an_nps_answer_out_of_range) {
    bj::object response{{"answers", bj::array{bj::object{{"metric", "nps"}, {"value", 12}}}}};
    BOOST_TEST(reason_of(delivery(response)) ==
               "response.answers: the nps answer's value must be an integer from 0 to 10");
    response["answers"] = bj::array{bj::object{{"metric", "nps"}, {"value", "great"}}};
    BOOST_TEST(reason_of(delivery(response)) ==
               "response.answers: the nps answer's value must be an integer from 0 to 10");
}

BOOST_AUTO_TEST_CASE(rejects_an_unknown_event) {
    BOOST_TEST(reason_of(delivery({}, {{"event", "updated"}})) ==
               "event must be \"completed\" or \"dismissed\"");
    BOOST_TEST(reason_of(delivery({}, {{"event", 1}})) ==
               "event must be \"completed\" or \"dismissed\"");
}

BOOST_AUTO_TEST_CASE(rejects_a_created_time_that_is_not_iso_8601) {
    for (bj::value created : {bj::value("yesterday"), bj::value("2024-02-30T10:00:00.000Z"),
                              bj::value(1709629964120), bj::value("05/03/2024 09:12")}) {
        BOOST_TEST_CONTEXT(created) {
            BOOST_TEST(reason_of(delivery({{"created", created}})) ==
                       "response.created must be an ISO-8601 time");
        }
    }
}

BOOST_AUTO_TEST_CASE(rejects_an_export_entry_that_is_not_an_object) {
    auto result = sm::normalize_export(bj::value("6601c0ffee00000000000101"));
    BOOST_TEST(result.reason == "response must be a JSON object");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(fields)

BOOST_AUTO_TEST_CASE(takes_email_from_user_first) {
    auto body =
        delivery({{"user", {{"email", " Ann@X.Example "}, {"traits", {{"email", "t@x.example"}}}}}},
                 {{"traits", {{"email", "top@x.example"}}}});
    BOOST_TEST(field(body, "email") == bj::value("ann@x.example"));
}

BOOST_AUTO_TEST_CASE(takes_email_from_user_traits_second) {
    auto body = delivery({{"user", {{"traits", {{"email", "\tTRAITS@X.EXAMPLE\n"}}}}}},
                         {{"traits", {{"email", "top@x.example"}}}});
    BOOST_TEST(field(body, "email") == bj::value("traits@x.example"));
}

BOOST_AUTO_TEST_CASE(takes_email_from_delivery_traits_last) {
    auto body =
        delivery({{"user", {{"userId", "u-1"}}}}, {{"traits", {{"email", " Top@X.example"}}}});
    BOOST_TEST(field(body, "email") == bj::value("top@x.example"));
}

BOOST_AUTO_TEST_CASE(skips_blank_email_to_the_next_place) {
    auto body = delivery({{"user", {{"email", "   "}, {"traits", {{"email", "Next@X.example"}}}}}});
    BOOST_TEST(field(body, "email") == bj::value("next@x.example"));
}

BOOST_AUTO_TEST_CASE(gives_null_email_when_none_is_usable) {
    BOOST_TEST(field(delivery({{"user", {{"email", ""}}}}), "email").is_null());
    BOOST_TEST(field(delivery({{"user", {{"email", 7}}}}), "email").is_null());
    BOOST_TEST(field(delivery({}), "email").is_null());
}

BOOST_AUTO_TEST_CASE(reads_rating_from_nps_answer_number_or_numeric_string) {
    bj::array answers{bj::object{{"metric", "csat"}, {"value", 2}},
                      bj::object{{"metric", "nps"}, {"type", "scale"}, {"value", 7}}};
    BOOST_TEST(field(delivery({{"answers", answers}}), "score") == bj::value(7));
    answers[1].as_object()["value"] = "4";
    BOOST_TEST(field(delivery({{"answers", answers}}), "score") == bj::value(4));
}

BOOST_AUTO_TEST_CASE(prefers_response_rating_to_answers) {
    bj::array answers{bj::object{{"metric", "nps"}, {"value", 2}}};
    BOOST_TEST(field(delivery({{"rating", 8}, {"answers", answers}}), "score") == bj::value(8));
}

BOOST_AUTO_TEST_CASE(never_takes_score_100_as_the_rating) {
    BOOST_TEST(field(delivery({{"score", 100}}), "score").is_null());
    BOOST_TEST(field(delivery({{"score", 100}, {"rating", 3}}), "score") == bj::value(3));
    BOOST_TEST(field(delivery({{"score", 0}, {"answers", bj::array{}}}), "score").is_null());
}

BOOST_AUTO_TEST_CASE(accepts_rating_zero_and_a_null_rating) {
    BOOST_TEST(field(delivery({{"rating", 0}}), "score") == bj::value(0));
    BOOST_TEST(field(delivery({{"rating", nullptr}}), "score").is_null());
}

BOOST_AUTO_TEST_CASE(dismissed_flag_wins_over_completed_event_and_drops_score) {
    auto record = record_of(delivery({{"rating", 9}, {"dismissed", true}}));
    BOOST_TEST(record.at("state") == bj::value("dismissed"));
    BOOST_TEST(record.at("score").is_null());
}

BOOST_AUTO_TEST_CASE(dismissed_event_drops_score) {
    auto record = record_of(delivery({{"rating", 9}}, {{"event", "dismissed"}}));
    BOOST_TEST(record.at("state") == bj::value("dismissed"));
    BOOST_TEST(record.at("score").is_null());
}

BOOST_AUTO_TEST_CASE(pending_keeps_its_score) {
    auto record = record_of(delivery({{"rating", 6}, {"pending", true}}));
    BOOST_TEST(record.at("state") == bj::value("pending"));
    BOOST_TEST(record.at("score") == bj::value(6));
}

BOOST_AUTO_TEST_CASE(missing_event_is_completed) {
    auto body = bj::serialize(bj::object{{"response", {{"id", "a1"}, {"rating", 10}}}});
    BOOST_TEST(field(body, "state") == bj::value("completed"));
}

BOOST_AUTO_TEST_CASE(normalises_created_with_offset_to_utc_milliseconds) {
    BOOST_TEST(field(delivery({{"created", "2024-03-05T11:12:44.120+02:00"}}), "created") ==
               bj::value("2024-03-05T09:12:44.120Z"));
    BOOST_TEST(field(delivery({{"created", "2024-03-05T09:12:44Z"}}), "created") ==
               bj::value("2024-03-05T09:12:44.000Z"));
    BOOST_TEST(field(delivery({}), "created").is_null());
}

BOOST_AUTO_TEST_CASE(takes_campaign_from_response_then_delivery) {
    auto own = delivery({{"campaign", "65f0000000000000000000aa"}},
                        {{"campaign", {{"id", "65f0000000000000000000bb"}}}});
    BOOST_TEST(field(own, "campaign") == bj::value("65f0000000000000000000aa"));
    auto outer = delivery({}, {{"campaign", {{"id", "65f0000000000000000000bb"}, {"name", "Q"}}}});
    BOOST_TEST(field(outer, "campaign") == bj::value("65f0000000000000000000bb"));
}

BOOST_AUTO_TEST_CASE(takes_a_numeric_user_id_as_text) {
    BOOST_TEST(field(delivery({{"user", {{"userId", 1001}}}}), "externalUserId") ==
               bj::value("1001"));
}

BOOST_AUTO_TEST_CASE(gives_null_for_empty_comment_and_method) {
    auto record = record_of(delivery({{"feedback", ""}, {"method", ""}}));
    BOOST_TEST(record.at("comment").is_null());
    BOOST_TEST(record.at("method").is_null());
}

BOOST_AUTO_TEST_CASE(builds_the_record_in_the_callers_storage) {
    unsigned char buffer[8192];
    bj::monotonic_resource arena(buffer, sizeof(buffer));
    auto result = sm::normalize_webhook(read_fixture("webhook_completed_promoter.json"), &arena);
    BOOST_TEST_REQUIRE(result.ok());
    BOOST_TEST(result.record.storage().get() == &arena);
    BOOST_TEST(result.record.at("raw").storage().get() == &arena);
    BOOST_TEST(result.record.at("sourceId") == bj::value("6601c0ffee00000000000001"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rollup)

BOOST_AUTO_TEST_CASE(counts_a_rated_completed_response) {
    auto out = sm::nps_rollup(bj::parse(R"({"state":"completed","score":9})"));
    BOOST_TEST(bj::value(out) == bj::parse(R"({"counts":true,"score":9})"));
}

BOOST_AUTO_TEST_CASE(counts_a_rated_pending_response) {
    auto out = sm::nps_rollup(bj::parse(R"({"state":"pending","score":0})"));
    BOOST_TEST(bj::value(out) == bj::parse(R"({"counts":true,"score":0})"));
}

BOOST_AUTO_TEST_CASE(does_not_count_a_dismissed_response) {
    auto out = sm::nps_rollup(bj::parse(R"({"state":"dismissed","score":9})"));
    BOOST_TEST(bj::value(out) == bj::parse(R"({"counts":false,"score":null})"));
}

BOOST_AUTO_TEST_CASE(does_not_count_a_missing_or_invalid_score) {
    for (const char* record :
         {R"({"state":"completed","score":null})", R"({"state":"completed"})",
          R"({"state":"completed","score":11})", R"({"state":"completed","score":"9"})",
          R"({"state":"completed","score":8.5})", R"([])"}) {
        BOOST_TEST_CONTEXT(record) {
            BOOST_TEST(bj::value(sm::nps_rollup(bj::parse(record))) ==
                       bj::parse(R"({"counts":false,"score":null})"));
        }
    }
}

BOOST_AUTO_TEST_CASE(counts_a_record_the_webhook_produced) {
    auto record = record_of(read_fixture("webhook_completed_detractor_traits_email.json"));
    BOOST_TEST(bj::value(sm::nps_rollup(record)) == bj::parse(R"({"counts":true,"score":3})"));
}

BOOST_AUTO_TEST_SUITE_END()
