// time_test.cpp: ISO-8601 parsing and formatting in UTC.
#include "util/time.hpp"

#define BOOST_TEST_MODULE time
#include <boost/test/unit_test.hpp>

#include <climits>
#include <cstdint>
#include <string>
#include <string_view>

using tributary::host::format_day;
using tributary::host::format_time_ms;
using tributary::host::parse_time_ms;

namespace {

// 2024-03-05T09:12:44.120Z
constexpr std::int64_t sample_ms = 1709629964120;

// What parse_time_ms gave, with nullopt shown as a value no valid time maps to.
constexpr std::int64_t rejected = INT64_MIN;

std::int64_t parsed(std::string_view text) {
    return parse_time_ms(text).value_or(rejected);
}

}  // namespace

BOOST_AUTO_TEST_CASE(formats_milliseconds_as_utc) {
    BOOST_TEST(format_time_ms(0) == "1970-01-01T00:00:00.000Z");
    BOOST_TEST(format_time_ms(sample_ms) == "2024-03-05T09:12:44.120Z");
    BOOST_TEST(format_time_ms(951782400000) == "2000-02-29T00:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(formats_times_before_the_epoch) {
    BOOST_TEST(format_time_ms(-1) == "1969-12-31T23:59:59.999Z");
    BOOST_TEST(format_time_ms(-86400000) == "1969-12-31T00:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(format_day_is_the_date_part) {
    BOOST_TEST(format_day(sample_ms) == "2024-03-05");
    BOOST_TEST(format_day(-1) == "1969-12-31");
}

BOOST_AUTO_TEST_CASE(parses_what_it_formats) {
    for (std::int64_t ms :
         {std::int64_t{0}, sample_ms, std::int64_t{-1}, std::int64_t{951782400000},
          std::int64_t{4102444799999}, std::int64_t{1}}) {
        auto text = format_time_ms(ms);
        BOOST_TEST_CONTEXT(text) {
            BOOST_TEST(parsed(text) == ms);
        }
    }
}

BOOST_AUTO_TEST_CASE(formats_what_it_parses) {
    for (const char* text :
         {"2024-03-05T09:12:44.120Z", "1999-12-31T23:59:59.999Z", "2024-02-29T00:00:00.000Z"}) {
        auto ms = parse_time_ms(text);
        BOOST_TEST_REQUIRE(ms.has_value(), text);
        BOOST_TEST(format_time_ms(*ms) == text);
    }
}

BOOST_AUTO_TEST_CASE(parses_dates_and_shorter_times) {
    BOOST_TEST(parsed("2024-03-05") == std::int64_t{1709596800000});
    BOOST_TEST(parsed("2024-03-05T09:12") == std::int64_t{1709629920000});
    BOOST_TEST(parsed("2024-03-05T09:12Z") == std::int64_t{1709629920000});
    BOOST_TEST(parsed("2024-03-05T09:12:44") == std::int64_t{1709629964000});
    BOOST_TEST(parsed("2024-03-05 09:12:44z") == std::int64_t{1709629964000});
    BOOST_TEST(parsed("2024-03-05t09:12:44Z") == std::int64_t{1709629964000});
}

BOOST_AUTO_TEST_CASE(fractions_are_read_to_the_millisecond) {
    BOOST_TEST(parsed("2024-03-05T09:12:44.1Z") == sample_ms - 20);
    BOOST_TEST(parsed("2024-03-05T09:12:44.12Z") == sample_ms);
    BOOST_TEST(parsed("2024-03-05T09:12:44.120Z") == sample_ms);
    // Digits past the millisecond are dropped, not rounded.
    BOOST_TEST(parsed("2024-03-05T09:12:44.120999Z") == sample_ms);
    BOOST_TEST(parsed("2024-03-05T09:12:44,120Z") == sample_ms);
}

BOOST_AUTO_TEST_CASE(offsets_are_subtracted_to_reach_utc) {
    BOOST_TEST(parsed("2024-03-05T11:12:44.120+02:00") == sample_ms);
    BOOST_TEST(parsed("2024-03-05T11:12:44.120+0200") == sample_ms);
    BOOST_TEST(parsed("2024-03-05T03:42:44.120-05:30") == sample_ms);
    BOOST_TEST(parsed("2024-03-05T03:42:44.120-0530") == sample_ms);
    BOOST_TEST(parsed("2024-03-05T09:12:44.120+00:00") == sample_ms);
}

BOOST_AUTO_TEST_CASE(offsets_can_cross_midnight) {
    BOOST_TEST(parsed("2024-03-01T01:00:00+02:00") == parsed("2024-02-29T23:00:00Z"));
    BOOST_TEST(parsed("2023-12-31T22:00:00-05:00") == parsed("2024-01-01T03:00:00Z"));
    BOOST_TEST(parsed("2024-02-29T23:00:00Z") != rejected);
}

BOOST_AUTO_TEST_CASE(rejects_dates_that_do_not_exist) {
    BOOST_TEST(!parse_time_ms("2023-02-29").has_value());
    BOOST_TEST(!parse_time_ms("1900-02-29T00:00:00Z").has_value());
    BOOST_TEST(parse_time_ms("2000-02-29T00:00:00Z").has_value());
    BOOST_TEST(!parse_time_ms("2024-13-01").has_value());
    BOOST_TEST(!parse_time_ms("2024-00-10").has_value());
    BOOST_TEST(!parse_time_ms("2024-04-31").has_value());
    BOOST_TEST(!parse_time_ms("2024-04-00").has_value());
}

BOOST_AUTO_TEST_CASE(rejects_times_out_of_range) {
    BOOST_TEST(!parse_time_ms("2024-03-05T24:00:00Z").has_value());
    BOOST_TEST(!parse_time_ms("2024-03-05T09:60:00Z").has_value());
    BOOST_TEST(!parse_time_ms("2024-03-05T09:12:61Z").has_value());
    BOOST_TEST(!parse_time_ms("2024-03-05T09:12:44+24:00").has_value());
    BOOST_TEST(!parse_time_ms("2024-03-05T09:12:44+02:60").has_value());
}

BOOST_AUTO_TEST_CASE(rejects_trailing_junk) {
    BOOST_TEST(!parse_time_ms("2024-03-05T09:12:44Zjunk").has_value());
    BOOST_TEST(!parse_time_ms("2024-03-05T09:12:44Z ").has_value());
    BOOST_TEST(!parse_time_ms("2024-03-05x").has_value());
    BOOST_TEST(!parse_time_ms("2024-03-05T09:12:44+02:00x").has_value());
    BOOST_TEST(!parse_time_ms("2024-03-05T09:12:44+0200x").has_value());
    BOOST_TEST(!parse_time_ms("2024-03-05T09:12:44.120ms").has_value());
}

BOOST_AUTO_TEST_CASE(reads_an_offset_of_whole_hours) {
    BOOST_TEST(parse_time_ms("2024-03-05T09:12:44+02").value_or(0) ==
               parse_time_ms("2024-03-05T07:12:44Z").value_or(1));
}

BOOST_AUTO_TEST_CASE(rejects_malformed_text) {
    for (const char* text :
         {"", "2024", "2024-3-05", "2024/03/05", "24-03-05", "2024-03-05T", "2024-03-05T09",
          "2024-03-05T9:12", "2024-03-05T09:12:4", "2024-03-05T09:12:44.", "2024-03-05T09:12:44.Z",
          "2024-03-05T09:12:44+02:0", "abcd-ef-ghT00:00:00Z"}) {
        BOOST_TEST(!parse_time_ms(text).has_value(), "accepted '" << text << "'");
    }
}
