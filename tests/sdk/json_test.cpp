// json_test.cpp: lenient access to payload fields.
#include <tributary/json.hpp>

#define BOOST_TEST_MODULE json
#include <boost/test/unit_test.hpp>

#include <string>

namespace json = tributary::json;
namespace bj = boost::json;

namespace {

// Shown when no integer was found; no field of the sample holds it.
constexpr std::int64_t none = -999;

bj::value sample() {
    return bj::parse(R"({
        "id": "r1",
        "score": 9,
        "big": 18446744073709551615,
        "whole": 10.0,
        "half": 9.5,
        "huge": 1e300,
        "text": "10",
        "neg": "-42",
        "plus": "+5",
        "spaced": " 5",
        "dash": "-",
        "empty": "",
        "long": "1234567890123456789",
        "flag": true,
        "nothing": null,
        "user": {"email": "Ada@Example.com", "traits": {"plan": "pro", "seats": "12"}},
        "list": [1, 2]
    })");
}

}  // namespace

BOOST_AUTO_TEST_CASE(find_walks_nested_objects) {
    auto v = sample();
    const auto* plan = json::find(v, {"user", "traits", "plan"});
    BOOST_REQUIRE(plan != nullptr);
    BOOST_TEST(plan->as_string() == "pro");
    BOOST_TEST(json::find(v, {}) == &v);
}

BOOST_AUTO_TEST_CASE(find_gives_null_for_missing_keys_and_non_objects) {
    auto v = sample();
    BOOST_TEST(json::find(v, {"absent"}) == nullptr);
    BOOST_TEST(json::find(v, {"user", "absent"}) == nullptr);
    BOOST_TEST(json::find(v, {"id", "deeper"}) == nullptr);
    BOOST_TEST(json::find(v, {"list", "0"}) == nullptr);
    BOOST_TEST(json::find(v, {"nothing", "x"}) == nullptr);
    bj::value array = bj::array{1, 2};
    BOOST_TEST(json::find(array, {"id"}) == nullptr);
}

BOOST_AUTO_TEST_CASE(find_returns_a_present_null) {
    auto v = sample();
    const auto* n = json::find(v, {"nothing"});
    BOOST_REQUIRE(n != nullptr);
    BOOST_TEST(n->is_null());
}

BOOST_AUTO_TEST_CASE(string_at_reads_strings_only) {
    auto v = sample();
    BOOST_TEST(json::string_at(v, {"id"}).value_or("<none>") == "r1");
    BOOST_TEST(json::string_at(v, {"user", "email"}).value_or("<none>") == "Ada@Example.com");
    BOOST_TEST(json::string_at(v, {"empty"}).value_or("<none>") == "");
    BOOST_TEST(!json::string_at(v, {"score"}).has_value());
    BOOST_TEST(!json::string_at(v, {"flag"}).has_value());
    BOOST_TEST(!json::string_at(v, {"nothing"}).has_value());
    BOOST_TEST(!json::string_at(v, {"user"}).has_value());
    BOOST_TEST(!json::string_at(v, {"absent"}).has_value());
}

BOOST_AUTO_TEST_CASE(integer_at_reads_integers) {
    auto v = sample();
    BOOST_TEST(json::integer_at(v, {"score"}).value_or(none) == 9);
    BOOST_TEST(!json::integer_at(v, {"absent"}).has_value());
    BOOST_TEST(!json::integer_at(v, {"user", "absent"}).has_value());
}

BOOST_AUTO_TEST_CASE(integer_at_accepts_whole_doubles_only) {
    auto v = sample();
    BOOST_TEST(json::integer_at(v, {"whole"}).value_or(none) == 10);
    BOOST_TEST(!json::integer_at(v, {"half"}).has_value());
    BOOST_TEST(!json::integer_at(v, {"huge"}).has_value());
    BOOST_TEST(json::as_integer(bj::value(-3.0)).value_or(none) == -3);
}

BOOST_AUTO_TEST_CASE(integer_at_accepts_plain_numeric_strings) {
    auto v = sample();
    BOOST_TEST(json::integer_at(v, {"text"}).value_or(none) == 10);
    BOOST_TEST(json::integer_at(v, {"neg"}).value_or(none) == -42);
    BOOST_TEST(json::integer_at(v, {"user", "traits", "seats"}).value_or(none) == 12);
}

BOOST_AUTO_TEST_CASE(integer_at_rejects_other_strings) {
    auto v = sample();
    BOOST_TEST(!json::integer_at(v, {"id"}).has_value());
    BOOST_TEST(!json::integer_at(v, {"plus"}).has_value());
    BOOST_TEST(!json::integer_at(v, {"spaced"}).has_value());
    BOOST_TEST(!json::integer_at(v, {"dash"}).has_value());
    BOOST_TEST(!json::integer_at(v, {"empty"}).has_value());
    BOOST_TEST(!json::integer_at(v, {"long"}).has_value());  // more than 18 characters
    BOOST_TEST(!json::as_integer(bj::value("9.5")).has_value());
}

BOOST_AUTO_TEST_CASE(integer_at_rejects_other_types) {
    auto v = sample();
    BOOST_TEST(!json::integer_at(v, {"flag"}).has_value());
    BOOST_TEST(!json::integer_at(v, {"nothing"}).has_value());
    BOOST_TEST(!json::integer_at(v, {"user"}).has_value());
    BOOST_TEST(!json::integer_at(v, {"list"}).has_value());
}

BOOST_AUTO_TEST_CASE(integer_at_rejects_unsigned_beyond_int64) {
    auto v = sample();
    BOOST_TEST(!json::integer_at(v, {"big"}).has_value());
    BOOST_TEST(json::as_integer(bj::value(std::uint64_t{42})).value_or(none) == 42);
}

BOOST_AUTO_TEST_CASE(bool_at_reads_bools_only) {
    auto v = sample();
    BOOST_TEST(json::bool_at(v, {"flag"}).value_or(false));
    BOOST_TEST(!json::bool_at(v, {"score"}).has_value());
    BOOST_TEST(!json::bool_at(v, {"absent"}).has_value());
}

BOOST_AUTO_TEST_CASE(parse_reports_the_reason_for_bad_text) {
    std::string error;
    BOOST_TEST(!json::parse("{\"a\":", &error).has_value());
    BOOST_TEST(!error.empty());
    BOOST_TEST(!json::parse("nope").has_value());
    auto ok = json::parse(R"({"a":1})", &error);
    BOOST_REQUIRE(ok.has_value());
    BOOST_TEST(json::integer_at(*ok, {"a"}).value_or(none) == 1);
}
