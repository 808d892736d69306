// deliveries.cpp: the delivery generator; keep it in step with webhook.lua.
#include "deliveries.hpp"

#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace tributary::bench {

namespace {

constexpr std::array<int, 19> ratings = {0, 1, 2, 3, 4, 5,  6,  6,  7, 7,
                                         8, 8, 9, 9, 9, 10, 10, 10, 10};
constexpr std::array<const char*, 4> comments = {
    "The new reporting saves my team hours every week.",
    "Onboarding took too long, but support was great.",
    "Please add an export to CSV for the dashboards.",
    "Does what we need.",
};
constexpr std::int64_t base_time = 1709251200;  // 2024-03-01T00:00:00Z

std::string format(const char* fmt, auto... args) {
    int n = std::snprintf(nullptr, 0, fmt, args...);
    std::string out(static_cast<std::size_t>(n), '\0');
    std::snprintf(out.data(), out.size() + 1, fmt, args...);
    return out;
}

std::string iso_time(std::uint64_t k) {
    std::time_t t = static_cast<std::time_t>(base_time + static_cast<std::int64_t>(k) * 13);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
    return format("%s.%03dZ", text, static_cast<int>(k % 1000));
}

}  // namespace

delivery_mix::delivery_mix(std::uint32_t run, std::uint32_t stream)
    : run_(run), stream_(stream), random_(run * 1000ULL + stream) {}

std::uint64_t delivery_mix::mix(std::uint64_t k) const {
    return (k * 2654435761ULL + stream_ * 40503ULL + run_ * 9973ULL) % 4294967296ULL;
}

std::string delivery_mix::email_of(std::uint64_t k, std::uint64_t h) const {
    auto kind = (h / 20000) % 100;
    if (kind < 2) {
        return {};
    }
    std::string email;
    if (kind < 7) {
        email = format("visitor%u-%u-%llu@prospect.example", run_, stream_,
                       static_cast<unsigned long long>(k));
    } else {
        auto u = static_cast<unsigned>(h % 20000);
        email = format("user%u@c%03u.example", u, u % 1000);
    }
    if ((h / 7) % 5 == 0) {
        email[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(email[0])));
        email.replace(email.size() - 7, 7, "EXAMPLE");
    }
    if ((h / 11) % 7 == 0) {
        email = "  " + email + " ";
    }
    return email;
}

delivery delivery_mix::make(std::uint64_t k, int version) const {
    auto h = mix(k);
    auto user = static_cast<unsigned>(h % 20000);
    bool dismissed = (h / 13) % 100 < 7;
    std::string id = format("%08x%08x%08llx", run_, stream_, static_cast<unsigned long long>(k));

    std::string email = email_of(k, h);
    auto place = (h / 17) % 10;
    std::string user_email, trait_email, top_email;
    if (!email.empty()) {
        std::string quoted = "\"" + email + "\"";
        if (place < 7) {
            user_email = ",\"email\":" + quoted;
        } else if (place < 9) {
            trait_email = "\"email\":" + quoted;
        } else {
            top_email = "\"email\":" + quoted + ",";
        }
    }
    std::string user_part = format(
        "\"user\":{\"id\":\"5e00%020llx\",\"userId\":\"u-%u\",\"name\":\"User %u\"%s,"
        "\"deleted\":false,\"groups\":{},\"traits\":{%s}}",
        static_cast<unsigned long long>(h), user, user, user_email.c_str(), trait_email.c_str());

    std::string rating_part, answers, feedback;
    if (!dismissed) {
        int rating = ratings[h % 19];
        if (version > 0) {
            rating = ratings[(h / 3) % 19];
            const char* comment = comments[h % 4];
            feedback = format("\"feedback\":\"%s\",", comment);
            answers = format(
                ",{\"id\":\"0b6c2f5e-1111-4d2a-9c1e-000000000002\",\"label\":\"What is the main "
                "reason for your score?\",\"name\":\"SM_comment\",\"type\":\"long-text\","
                "\"value\":\"%s\"}",
                comment);
        }
        const char* category = rating >= 9 ? "promoter" : rating >= 7 ? "passive" : "detractor";
        int score = rating >= 9 ? 100 : rating >= 7 ? 0 : -100;
        rating_part =
            format("\"rating\":%d,\"category\":\"%s\",\"score\":%d,", rating, category, score);
        answers = format(
            "\"answers\":[{\"id\":\"0b6c2f5e-1111-4d2a-9c1e-000000000001\",\"label\":\"How likely "
            "are you to recommend us?\",\"name\":\"SM_rating\",\"type\":\"scale\",\"metric\":"
            "\"nps\",\"value\":%d}%s],",
            rating, answers.c_str());
    }

    std::string body = format(
        "{\"event\":\"%s\",\"campaign\":{\"id\":\"65f0a1b2c3d4e5f60718293a\",\"name\":"
        "\"Quarterly NPS\"},\"traits\":{%s\"name\":\"User %u\"},\"response\":{\"id\":\"%s\","
        "\"created\":\"%s\",%s%s\"completed\":%s,\"dismissed\":%s,\"pending\":false,\"method\":"
        "\"In-app\",\"language\":\"en\",%s%s,\"project\":\"5f1e2d3c4b5a697887766554\","
        "\"campaign\":\"65f0a1b2c3d4e5f60718293a\",\"ip\":\"192.0.2.10\",\"device\":{\"os\":"
        "\"macOS\",\"type\":\"desktop\"},\"location\":{\"country\":\"DE\",\"countryName\":"
        "\"Germany\"}}}",
        dismissed ? "dismissed" : "completed", top_email.c_str(), user, id.c_str(),
        iso_time(k).c_str(), rating_part.c_str(), feedback.c_str(), dismissed ? "false" : "true",
        dismissed ? "true" : "false", answers.c_str(), user_part.c_str());
    return {std::move(id), version, std::move(body)};
}

delivery delivery_mix::next() {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    double r = unit(random_);
    if (versions_.size() < 100 || r < 0.70) {
        versions_.push_back(0);
        return make(versions_.size(), 0);
    }
    std::uniform_int_distribution<std::size_t> pick(1, versions_.size());
    auto k = pick(random_);
    if (r >= 0.85) {
        versions_[k - 1] = 1;
    }
    return make(k, versions_[k - 1]);
}

}  // namespace tributary::bench
