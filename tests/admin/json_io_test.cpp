// json_io_test.cpp: percent-decoding of route paths and query parameters.
#include "app/json_io.hpp"

#include <boost/test/unit_test.hpp>

#include <optional>
#include <string>
#include <vector>

namespace th = tributary::host;

BOOST_AUTO_TEST_SUITE(json_io)

BOOST_AUTO_TEST_CASE(path_segments_are_percent_decoded) {
    auto parts = th::split_path("/api/v1/tenants/acme%20co/endusers/ada%40example.com/");
    BOOST_REQUIRE(parts);
    BOOST_TEST((*parts == std::vector<std::string>{"api", "v1", "tenants", "acme co", "endusers",
                                                   "ada@example.com"}));
    // A plus is a plus in a path; an encoded slash stays inside its segment.
    parts = th::split_path("/a+b/c%2Fd");
    BOOST_REQUIRE(parts);
    BOOST_TEST((*parts == std::vector<std::string>{"a+b", "c/d"}));
}

BOOST_AUTO_TEST_CASE(bad_escapes_make_the_path_invalid) {
    BOOST_TEST(!th::split_path("/tenants/%zz"));
    BOOST_TEST(!th::split_path("/tenants/100%"));
    BOOST_TEST(!th::split_path("/tenants/%4"));
}

BOOST_AUTO_TEST_CASE(query_values_decode_plus_as_space) {
    BOOST_TEST(th::query_param("/x?since=2023-01-01&q=ada+lovelace%21", "q").value() ==
               "ada lovelace!");
    BOOST_TEST(th::query_param("/x?since=2023-01-01", "since").value() == "2023-01-01");
    BOOST_TEST(th::query_param("/x?flag", "flag").value() == "");
    BOOST_TEST(!th::query_param("/x?since=2023", "until"));
    BOOST_TEST(!th::query_param("/x", "since"));
    BOOST_TEST(!th::query_param("/x?q=%G1", "q"));
}

BOOST_AUTO_TEST_SUITE_END()
