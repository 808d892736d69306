// hmac_test.cpp: HMAC-SHA256 against RFC 4231, encodings, and timestamped signature headers.
#include <tributary/hmac.hpp>

#define BOOST_TEST_MODULE hmac
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <ostream>
#include <string>

namespace tributary::hmac {

// For Boost.Test's messages.
std::ostream& operator<<(std::ostream& out, outcome o) {
    constexpr const char* names[] = {"valid", "missing", "malformed", "stale", "mismatch"};
    return out << names[static_cast<int>(o)];
}

}  // namespace tributary::hmac

namespace hmac = tributary::hmac;
using namespace std::chrono_literals;

namespace {

std::string repeat(char c, std::size_t n) {
    return std::string(n, c);
}

std::string bytes_1_to_25() {
    std::string out;
    for (int i = 1; i <= 25; ++i) {
        out.push_back(static_cast<char>(i));
    }
    return out;
}

const std::string long_key = repeat('\xaa', 131);

std::chrono::system_clock::time_point at(std::int64_t seconds) {
    return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}

std::string signed_header(std::string_view secret, std::string_view body, std::int64_t t) {
    auto stamp = std::to_string(t);
    return "t=" + stamp + ",v1=" + hmac::sha256_hex(secret, stamp + "." + std::string(body));
}

}  // namespace

// ---- RFC 4231, section 4 ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(rfc4231_case_1) {
    BOOST_TEST(hmac::sha256_hex(repeat('\x0b', 20), "Hi There") ==
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

BOOST_AUTO_TEST_CASE(rfc4231_case_2_key_shorter_than_output) {
    BOOST_TEST(hmac::sha256_hex("Jefe", "what do ya want for nothing?") ==
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

BOOST_AUTO_TEST_CASE(rfc4231_case_3_combined_length_above_block_size) {
    BOOST_TEST(hmac::sha256_hex(repeat('\xaa', 20), repeat('\xdd', 50)) ==
               "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}

BOOST_AUTO_TEST_CASE(rfc4231_case_4_combined_length_above_block_size) {
    BOOST_TEST(hmac::sha256_hex(bytes_1_to_25(), repeat('\xcd', 50)) ==
               "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
}

BOOST_AUTO_TEST_CASE(rfc4231_case_5_truncated_to_128_bits) {
    BOOST_TEST(hmac::sha256_hex(repeat('\x0c', 20), "Test With Truncation").substr(0, 32) ==
               "a3b6167473100ee06e0c796c2955552b");
}

BOOST_AUTO_TEST_CASE(rfc4231_case_6_key_larger_than_block_size) {
    BOOST_TEST(
        hmac::sha256_hex(long_key, "Test Using Larger Than Block-Size Key - Hash Key First") ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

BOOST_AUTO_TEST_CASE(rfc4231_case_7_key_and_data_larger_than_block_size) {
    BOOST_TEST(hmac::sha256_hex(long_key,
                                "This is a test using a larger than block-size key and a larger "
                                "than block-size data. The key needs to be hashed before being "
                                "used by the HMAC algorithm.") ==
               "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

BOOST_AUTO_TEST_CASE(empty_key_and_message_are_allowed) {
    BOOST_TEST(hmac::sha256_hex("", "") ==
               "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

// ---- encodings --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(base64_of_rfc4231_case_2) {
    BOOST_TEST(hmac::sha256_base64("Jefe", "what do ya want for nothing?") ==
               "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
}

BOOST_AUTO_TEST_CASE(base64_pads_to_whole_quads) {
    BOOST_TEST(hmac::to_base64("") == "");
    BOOST_TEST(hmac::to_base64("f") == "Zg==");
    BOOST_TEST(hmac::to_base64("fo") == "Zm8=");
    BOOST_TEST(hmac::to_base64("foo") == "Zm9v");
    BOOST_TEST(hmac::to_base64("\xfb\xff") == "+/8=");
}

BOOST_AUTO_TEST_CASE(base64_decodes_both_alphabets_with_or_without_padding) {
    BOOST_TEST(*hmac::from_base64("Zm8=") == "fo");
    BOOST_TEST(*hmac::from_base64("Zm8") == "fo");
    BOOST_TEST(*hmac::from_base64("+/8=") == "\xfb\xff");
    BOOST_TEST(*hmac::from_base64("-_8") == "\xfb\xff");
    BOOST_TEST(!hmac::from_base64("Zm8*"));
    BOOST_TEST(!hmac::from_base64("Z"));
}

BOOST_AUTO_TEST_CASE(hex_decodes_either_case_and_refuses_odd_or_foreign_digits) {
    BOOST_TEST(*hmac::from_hex("00aBfF") == std::string("\x00\xab\xff", 3));
    BOOST_TEST(!hmac::from_hex("abc"));
    BOOST_TEST(!hmac::from_hex("zz"));
}

BOOST_AUTO_TEST_CASE(constant_time_equal_compares_contents_and_sizes) {
    BOOST_TEST(hmac::constant_time_equal("", ""));
    BOOST_TEST(hmac::constant_time_equal("abc", "abc"));
    BOOST_TEST(!hmac::constant_time_equal("abc", "abd"));
    BOOST_TEST(!hmac::constant_time_equal("abc", "abcd"));
    BOOST_TEST(!hmac::constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

// ---- plain signatures ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(verify_accepts_hex_in_either_case_and_base64) {
    std::string data = "what do ya want for nothing?";
    std::string hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    std::string upper = "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843";
    BOOST_TEST(hmac::verify("Jefe", data, hex, hmac::encoding::hex));
    BOOST_TEST(hmac::verify("Jefe", data, upper, hmac::encoding::hex));
    BOOST_TEST(hmac::verify(
        "Jefe", data, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=", hmac::encoding::base64));
}

BOOST_AUTO_TEST_CASE(verify_refuses_wrong_truncated_or_garbled_signatures) {
    std::string data = "what do ya want for nothing?";
    std::string hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    BOOST_TEST(!hmac::verify("jefe", data, hex, hmac::encoding::hex));
    BOOST_TEST(!hmac::verify("Jefe", data + " ", hex, hmac::encoding::hex));
    BOOST_TEST(!hmac::verify("Jefe", data, hex.substr(0, 32), hmac::encoding::hex));
    BOOST_TEST(!hmac::verify("Jefe", data, hex + "00", hmac::encoding::hex));
    BOOST_TEST(!hmac::verify("Jefe", data, "", hmac::encoding::hex));
    BOOST_TEST(!hmac::verify("Jefe", data, "not hex at all", hmac::encoding::hex));
    BOOST_TEST(!hmac::verify("Jefe", data, hex, hmac::encoding::base64));
}

// ---- timestamped headers ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(parses_timestamp_and_every_signature_ignoring_unknown_keys) {
    auto parts = hmac::parse_signature_header(" t=1700000000, v1=abc,v0=old ,v1=def,junk");
    BOOST_REQUIRE(parts.timestamp);
    BOOST_TEST(*parts.timestamp == "1700000000");
    BOOST_REQUIRE_EQUAL(parts.signatures.size(), 2u);
    BOOST_TEST(parts.signatures[0] == "abc");
    BOOST_TEST(parts.signatures[1] == "def");
}

BOOST_AUTO_TEST_CASE(accepts_a_fresh_signed_delivery) {
    std::string body = R"({"score":9})";
    auto header = signed_header("s3cret", body, 1'700'000'000);
    auto v = hmac::verify_timestamped(header, body, "s3cret", at(1'700'000'010));
    BOOST_TEST(v.ok());
    BOOST_TEST(v.reason == "");
}

BOOST_AUTO_TEST_CASE(accepts_when_any_one_of_several_signatures_matches) {
    std::string body = R"({"score":9})";
    auto good = signed_header("new", body, 1'700'000'000);
    auto old = signed_header("old", body, 1'700'000'000);
    auto header = old + "," + good.substr(good.find("v1="));
    BOOST_TEST(hmac::verify_timestamped(header, body, "new", at(1'700'000'000)).ok());
    BOOST_TEST(hmac::verify_timestamped(header, body, "old", at(1'700'000'000)).ok());
    BOOST_TEST(!hmac::verify_timestamped(header, body, "other", at(1'700'000'000)).ok());
}

BOOST_AUTO_TEST_CASE(refuses_a_missing_header) {
    auto v = hmac::verify_timestamped(std::nullopt, "{}", "s", at(0));
    BOOST_TEST(v.result == hmac::outcome::missing);
    BOOST_TEST(v.reason == "missing Signature header");
    BOOST_TEST(hmac::verify_timestamped("", "{}", "s", at(0)).result == hmac::outcome::missing);
}

BOOST_AUTO_TEST_CASE(refuses_malformed_headers_with_their_reason) {
    hmac::timestamped_scheme scheme;
    scheme.header_name = "Pulse-Signature";
    auto check = [&](std::string_view header) {
        return hmac::verify_timestamped(header, "{}", "s", at(1'700'000'000), scheme);
    };
    BOOST_TEST(check("v1=abc").reason == "Pulse-Signature header has no t= timestamp");
    BOOST_TEST(check("t=soon,v1=abc").reason ==
               "Pulse-Signature header timestamp is not a Unix time in seconds");
    BOOST_TEST(check("t=1700000000").reason == "Pulse-Signature header has no v1= signature");
    BOOST_TEST(check("t=1700000000,v1=").result == hmac::outcome::malformed);
}

BOOST_AUTO_TEST_CASE(refuses_timestamps_outside_the_tolerance_either_way) {
    std::string body = "{}";
    auto header = signed_header("s", body, 1'700'000'000);
    auto check = [&](std::int64_t now) {
        return hmac::verify_timestamped(header, body, "s", at(now));
    };
    BOOST_TEST(check(1'700'000'300).ok());
    BOOST_TEST(check(1'699'999'700).ok());
    BOOST_TEST(check(1'700'000'301).result == hmac::outcome::stale);
    BOOST_TEST(check(1'699'999'699).result == hmac::outcome::stale);
    BOOST_TEST(check(1'700'000'301).reason ==
               "Signature timestamp is more than 300 seconds away from the current time");
}

BOOST_AUTO_TEST_CASE(checks_no_timestamp_age_without_a_tolerance) {
    std::string body = "{}";
    auto header = signed_header("s", body, 1'000);
    hmac::timestamped_scheme scheme;
    scheme.tolerance = std::nullopt;
    BOOST_TEST(hmac::verify_timestamped(header, body, "s", at(1'700'000'000), scheme).ok());
}

BOOST_AUTO_TEST_CASE(refuses_a_changed_body_or_timestamp) {
    std::string body = R"({"score":9})";
    auto header = signed_header("s", body, 1'700'000'000);
    auto v = hmac::verify_timestamped(header, R"({"score":0})", "s", at(1'700'000'000));
    BOOST_TEST(v.result == hmac::outcome::mismatch);
    BOOST_TEST(v.reason == "no signature in the Signature header matches the body");

    auto moved = "t=1700000001" + header.substr(header.find(','));
    BOOST_TEST(hmac::verify_timestamped(moved, body, "s", at(1'700'000'000)).result ==
               hmac::outcome::mismatch);
}

BOOST_AUTO_TEST_CASE(follows_a_scheme_with_other_keys_encoding_and_separator) {
    hmac::timestamped_scheme scheme;
    scheme.timestamp_key = "ts";
    scheme.signature_key = "sig";
    scheme.signature_encoding = hmac::encoding::base64;
    scheme.separator = ":";
    std::string body = "payload";
    auto header = "ts=42,sig=" + hmac::sha256_base64("k", "42:payload");
    scheme.tolerance = std::nullopt;
    BOOST_TEST(hmac::verify_timestamped(header, body, "k", at(0), scheme).ok());
}

BOOST_AUTO_TEST_CASE(reasons_never_carry_the_secret_or_the_expected_signature) {
    std::string body = "{}";
    auto expected = hmac::sha256_hex("topsecret", "1700000000.{}");
    auto v = hmac::verify_timestamped("t=1700000000,v1=00", body, "topsecret", at(1'700'000'000));
    BOOST_TEST(!v.ok());
    BOOST_TEST(v.reason.find("topsecret") == std::string::npos);
    BOOST_TEST(v.reason.find(expected) == std::string::npos);
}
