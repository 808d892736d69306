// nps.hpp: Net Promoter Score arithmetic shared by connectors and the host.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>

namespace tributary::nps {

enum class category { detractor, passive, promoter };

constexpr bool valid_score(std::int64_t score) {
    return score >= 0 && score <= 10;
}

// 9-10 promote, 7-8 are passive, 0-6 detract.
constexpr category classify(int score) {
    if (score >= 9) {
        return category::promoter;
    }
    if (score >= 7) {
        return category::passive;
    }
    return category::detractor;
}

// Counts over a set of latest scores; adding and removing one score is O(1).
struct figures {
    std::int64_t promoters = 0;
    std::int64_t passives = 0;
    std::int64_t detractors = 0;
    std::int64_t score_sum = 0;

    std::int64_t responses() const { return promoters + passives + detractors; }

    void add(int score, int sign = 1) {
        switch (classify(score)) {
            case category::promoter:
                promoters += sign;
                break;
            case category::passive:
                passives += sign;
                break;
            case category::detractor:
                detractors += sign;
                break;
        }
        score_sum += sign * score;
    }
    void remove(int score) { add(score, -1); }

    // % promoters - % detractors, rounded to one decimal; none without responses.
    std::optional<double> score() const {
        auto n = responses();
        if (n == 0) {
            return std::nullopt;
        }
        double raw = 100.0 * static_cast<double>(promoters - detractors) / static_cast<double>(n);
        return round1(raw);
    }

    std::optional<double> average() const {
        auto n = responses();
        if (n == 0) {
            return std::nullopt;
        }
        return round1(static_cast<double>(score_sum) / static_cast<double>(n));
    }

    static double round1(double v) {
        double r = std::round(v * 10.0) / 10.0;
        return r == 0.0 ? 0.0 : r;  // no "-0.0" in answers
    }
};

}  // namespace tributary::nps
