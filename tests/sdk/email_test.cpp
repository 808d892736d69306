// email_test.cpp: the one email normalisation matching relies on, and the plausibility check.
#include <tributary/email.hpp>

#define BOOST_TEST_MODULE email
#include <boost/test/unit_test.hpp>

#include <string>

using tributary::normalize_email;
using tributary::plausible_email;

BOOST_AUTO_TEST_CASE(trims_ascii_white_space_on_both_ends) {
    BOOST_TEST(normalize_email("  ada@example.com\t\r\n") == "ada@example.com");
    BOOST_TEST(normalize_email("\f\vada@example.com\v") == "ada@example.com");
}

BOOST_AUTO_TEST_CASE(keeps_inner_white_space) {
    BOOST_TEST(normalize_email(" a da@example.com ") == "a da@example.com");
}

BOOST_AUTO_TEST_CASE(folds_ascii_letters_to_lower_case) {
    BOOST_TEST(normalize_email("Ada.Lovelace@Example.COM") == "ada.lovelace@example.com");
    BOOST_TEST(normalize_email("X+Tag_1@EX-AMPLE.org") == "x+tag_1@ex-ample.org");
}

BOOST_AUTO_TEST_CASE(leaves_non_ascii_bytes_alone) {
    // UTF-8 for "É" stays as it is: only ASCII letters are folded.
    BOOST_TEST(normalize_email("\xC3\x89mile@Example.com") == "\xC3\x89mile@example.com");
}

BOOST_AUTO_TEST_CASE(all_white_space_becomes_empty) {
    BOOST_TEST(normalize_email(" \t\n ").empty());
    BOOST_TEST(normalize_email("").empty());
}

BOOST_AUTO_TEST_CASE(normalising_twice_changes_nothing) {
    std::string once = normalize_email(" Ada@Example.com ");
    BOOST_TEST(normalize_email(once) == once);
}

BOOST_AUTO_TEST_CASE(plausible_email_needs_one_at_with_text_on_both_sides) {
    BOOST_TEST(plausible_email("ada@example.com"));
    BOOST_TEST(plausible_email("a@b"));
    BOOST_TEST(!plausible_email(""));
    BOOST_TEST(!plausible_email("ada.example.com"));
    BOOST_TEST(!plausible_email("@example.com"));
    BOOST_TEST(!plausible_email("ada@"));
    BOOST_TEST(!plausible_email("ada@@example.com"));
    BOOST_TEST(!plausible_email("ada@example@com"));
}

BOOST_AUTO_TEST_CASE(plausible_email_rejects_white_space) {
    BOOST_TEST(!plausible_email("ada @example.com"));
    BOOST_TEST(!plausible_email("ada@example.com "));
    BOOST_TEST(!plausible_email("ada@exa\tmple.com"));
    BOOST_TEST(!plausible_email("ada@example.com\n"));
    BOOST_TEST(!plausible_email("\rada@example.com"));
}
