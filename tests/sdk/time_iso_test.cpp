// time_iso_test.cpp: ISO-8601 and HTTP-date parsing and the canonical UTC format.
#include <tributary/time.hpp>

#define BOOST_TEST_MODULE sdk_time
#include <boost/test/unit_test.hpp>

#include <string>

namespace sm = tributary::time;

namespace {

std::string canonical(std::string_view text) {
    return sm::normalize_iso8601(text).value_or("<invalid>");
}

}  // namespace

BOOST_AUTO_TEST_CASE(keeps_a_canonical_time_as_it_is) {
    BOOST_TEST(canonical("2024-03-05T09:12:44.120Z") == "2024-03-05T09:12:44.120Z");
}

BOOST_AUTO_TEST_CASE(converts_offsets_to_utc) {
    BOOST_TEST(canonical("2024-03-05T11:12:44.120+02:00") == "2024-03-05T09:12:44.120Z");
    BOOST_TEST(canonical("2024-03-05T04:12:44.120-0500") == "2024-03-05T09:12:44.120Z");
    BOOST_TEST(canonical("2024-03-05T14:42:44.120+05:30") == "2024-03-05T09:12:44.120Z");
    BOOST_TEST(canonical("2024-01-01T01:00:00+03") == "2023-12-31T22:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(pads_and_truncates_fractions_to_milliseconds) {
    BOOST_TEST(canonical("2024-03-05T09:12:44Z") == "2024-03-05T09:12:44.000Z");
    BOOST_TEST(canonical("2024-03-05T09:12:44.1Z") == "2024-03-05T09:12:44.100Z");
    BOOST_TEST(canonical("2024-03-05T09:12:44.123456789Z") == "2024-03-05T09:12:44.123Z");
    BOOST_TEST(canonical("2024-03-05T09:12Z") == "2024-03-05T09:12:00.000Z");
}

BOOST_AUTO_TEST_CASE(reads_a_time_without_zone_as_utc) {
    BOOST_TEST(canonical("2024-03-05T09:12:44.120") == "2024-03-05T09:12:44.120Z");
}

BOOST_AUTO_TEST_CASE(reads_a_bare_date_as_midnight) {
    auto at = sm::parse_iso8601("2024-02-29");
    BOOST_REQUIRE(at.has_value());
    BOOST_TEST(at->date_only);
    BOOST_TEST(sm::format_iso8601(at->ms) == "2024-02-29T00:00:00.000Z");
    BOOST_TEST(!sm::parse_iso8601("2024-02-29T00:00:00Z")->date_only);
}

BOOST_AUTO_TEST_CASE(rejects_impossible_and_malformed_times) {
    for (const char* text :
         {"", "yesterday", "2023-02-29", "2024-13-01", "2024-00-10", "2024-04-31",
          "2024-03-05T24:00:00Z", "2024-03-05T09:60:00Z", "2024-03-05T09:12:60Z",
          "2024-03-05T09:12:44.Z", "2024-03-05T09:12:44.120+24:00", "2024-03-05T09:12:44.120X",
          "2024-03-05 T09:12", "24-03-05", "2024-3-5", "2024-03-05T09", "2024-03-05T09:12:44ZZ",
          "0000-01-01T00:00:00+01:00"}) {
        BOOST_TEST_CONTEXT(text) {
            BOOST_TEST(!sm::parse_iso8601(text).has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(formats_times_before_the_epoch) {
    BOOST_TEST(sm::format_iso8601(0) == "1970-01-01T00:00:00.000Z");
    BOOST_TEST(sm::format_iso8601(-1) == "1969-12-31T23:59:59.999Z");
    BOOST_TEST(canonical("1999-12-31T23:59:59.999Z") == "1999-12-31T23:59:59.999Z");
}

BOOST_AUTO_TEST_CASE(reads_the_three_http_date_forms) {
    constexpr std::int64_t expected = 784'111'777'000;  // 1994-11-06T08:49:37Z
    BOOST_TEST(sm::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").value_or(0) == expected);
    BOOST_TEST(sm::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT").value_or(0) == expected);
    BOOST_TEST(sm::parse_http_date("Sun Nov  6 08:49:37 1994").value_or(0) == expected);
}

BOOST_AUTO_TEST_CASE(rejects_unreadable_http_dates) {
    for (const char* text :
         {"", "120", "soon", "Sun, 06 Nov 1994 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
          "Sun, 06 Nox 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT"}) {
        BOOST_TEST_CONTEXT(text) {
            BOOST_TEST(!sm::parse_http_date(text).has_value());
        }
    }
}
