// nps_test.cpp: classification, O(1) counts and the rounded NPS and average.
#include <tributary/nps.hpp>

#define BOOST_TEST_MODULE nps
#include <boost/test/unit_test.hpp>

#include <cmath>

namespace nps = tributary::nps;

namespace {

// Shown when a figure is missing; no NPS or average takes this value.
constexpr double none = -999.0;

nps::figures make(int promoters, int passives, int detractors) {
    nps::figures f;
    for (int i = 0; i < promoters; ++i) {
        f.add(10);
    }
    for (int i = 0; i < passives; ++i) {
        f.add(7);
    }
    for (int i = 0; i < detractors; ++i) {
        f.add(0);
    }
    return f;
}

}  // namespace

BOOST_AUTO_TEST_CASE(classify_boundaries_are_6_7_and_8_9) {
    BOOST_TEST((nps::classify(0) == nps::category::detractor));
    BOOST_TEST((nps::classify(6) == nps::category::detractor));
    BOOST_TEST((nps::classify(7) == nps::category::passive));
    BOOST_TEST((nps::classify(8) == nps::category::passive));
    BOOST_TEST((nps::classify(9) == nps::category::promoter));
    BOOST_TEST((nps::classify(10) == nps::category::promoter));
}

BOOST_AUTO_TEST_CASE(valid_scores_are_0_to_10) {
    BOOST_TEST(nps::valid_score(0));
    BOOST_TEST(nps::valid_score(10));
    BOOST_TEST(!nps::valid_score(-1));
    BOOST_TEST(!nps::valid_score(11));
}

BOOST_AUTO_TEST_CASE(no_responses_has_no_score_and_no_average) {
    nps::figures f;
    BOOST_TEST(f.responses() == 0);
    BOOST_TEST(!f.score().has_value());
    BOOST_TEST(!f.average().has_value());
}

BOOST_AUTO_TEST_CASE(all_passives_score_zero) {
    auto f = make(0, 3, 0);
    BOOST_TEST(f.passives == 3);
    BOOST_TEST(f.score().value_or(none) == 0.0);
    BOOST_TEST(!std::signbit(f.score().value_or(none)));
    BOOST_TEST(f.average().value_or(none) == 7.0);
}

BOOST_AUTO_TEST_CASE(one_detractor_scores_minus_100) {
    nps::figures f;
    f.add(6);
    BOOST_TEST(f.detractors == 1);
    BOOST_TEST(f.score_sum == 6);
    BOOST_TEST(f.score().value_or(none) == -100.0);
    BOOST_TEST(f.average().value_or(none) == 6.0);
}

BOOST_AUTO_TEST_CASE(one_promoter_scores_100) {
    nps::figures f;
    f.add(9);
    BOOST_TEST(f.score().value_or(none) == 100.0);
}

BOOST_AUTO_TEST_CASE(score_is_rounded_to_one_decimal) {
    BOOST_TEST(make(1, 2, 0).score().value_or(none) == 33.3);   // 33.33…
    BOOST_TEST(make(2, 1, 0).score().value_or(none) == 66.7);   // 66.66…
    BOOST_TEST(make(0, 1, 2).score().value_or(none) == -66.7);  // -66.66…
    BOOST_TEST(make(1, 15, 0).score().value_or(none) == 6.3);   // 6.25 rounds half away from zero
    BOOST_TEST(make(0, 15, 1).score().value_or(none) == -6.3);  // -6.25
    BOOST_TEST(make(3, 3, 1).score().value_or(none) == 28.6);   // 28.57…
}

BOOST_AUTO_TEST_CASE(average_is_rounded_to_one_decimal) {
    nps::figures f;
    f.add(10);
    f.add(9);
    f.add(9);
    BOOST_TEST(f.average().value_or(none) == 9.3);  // 9.33…
    f.add(0);
    BOOST_TEST(f.average().value_or(none) == 7.0);
}

BOOST_AUTO_TEST_CASE(tiny_negative_rounds_to_plain_zero) {
    BOOST_TEST(!std::signbit(nps::figures::round1(-0.04)));
    BOOST_TEST(nps::figures::round1(-0.04) == 0.0);
    BOOST_TEST(!std::signbit(nps::figures::round1(-0.0)));
    BOOST_TEST(nps::figures::round1(-0.05) == -0.1);
}

BOOST_AUTO_TEST_CASE(balanced_promoters_and_detractors_score_plain_zero) {
    auto f = make(2, 0, 2);
    BOOST_TEST(f.score().value_or(none) == 0.0);
    BOOST_TEST(!std::signbit(f.score().value_or(none)));
}

BOOST_AUTO_TEST_CASE(remove_undoes_add_for_every_score) {
    for (int score = 0; score <= 10; ++score) {
        nps::figures f = make(1, 1, 1);
        nps::figures before = f;
        f.add(score);
        BOOST_TEST(f.responses() == 4);
        f.remove(score);
        BOOST_TEST(f.promoters == before.promoters);
        BOOST_TEST(f.passives == before.passives);
        BOOST_TEST(f.detractors == before.detractors);
        BOOST_TEST(f.score_sum == before.score_sum);
    }
}

BOOST_AUTO_TEST_CASE(remove_on_empty_gives_a_negative_delta) {
    // The store uses this as a delta: take 3 out, put 9 in.
    nps::figures delta;
    delta.remove(3);
    delta.add(9);
    BOOST_TEST(delta.detractors == -1);
    BOOST_TEST(delta.passives == 0);
    BOOST_TEST(delta.promoters == 1);
    BOOST_TEST(delta.score_sum == 6);
    BOOST_TEST(delta.responses() == 0);
}
