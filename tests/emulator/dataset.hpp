// dataset.hpp: a deterministic SatisMeter response set of any size, generated on demand.
#pragma once

#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tributary::emulator {

struct dataset_options {
    std::size_t responses = 1000;
    std::uint64_t seed = 1;
    std::string project_id = "5f1e2d3c4b5a697887766554";
    std::int64_t now_ms = 0;   // the emulator's "now"; 0 takes the wall clock, whole seconds
    int years = 4;             // how far back from now the responses reach
    std::size_t users = 1000;  // pool emails user<N>@company<N % companies>.example
    std::size_t companies = 50;
};

// One email of the pool, in canonical form (lower case, no spaces), and its company.
struct pool_entry {
    std::string email;
    std::size_t company = 0;  // the domain is company<company>.example
};

enum class response_state { completed, dismissed, pending };

// What a test needs to know about response i to compute an expected result.
struct response_facts {
    std::size_t index = 0;
    std::string id;
    std::int64_t created_ms = 0;
    response_state state = response_state::completed;
    std::optional<int> rating;  // wherever it was sent, top level or answers[] only
    bool rating_in_answers_only = false;
    std::optional<std::string> email;       // canonical; none for anonymous responses
    std::optional<std::size_t> pool_index;  // set when the email is from the pool
    std::string email_as_sent;              // with the case and spaces the payload carries
    bool email_in_traits = false;           // user.traits.email rather than user.email
    std::string method;                     // In-app, Mobile or Email
    std::optional<std::string> feedback;
};

// Response i is a pure function of (options, i); index 0 is the newest and times never rise
// with the index, so the whole set is sorted newest-first by construction.
class satismeter_dataset {
public:
    explicit satismeter_dataset(dataset_options o);

    const dataset_options& options() const { return options_; }
    std::size_t size() const { return options_.responses; }
    std::int64_t now_ms() const { return options_.now_ms; }
    const std::vector<pool_entry>& email_pool() const { return pool_; }

    std::int64_t created_ms(std::size_t i) const;
    response_facts facts_at(std::size_t i) const;
    boost::json::object response_at(std::size_t i) const;

    // Appends response i as compact JSON text: the fast path for serving pages.
    void append_json(std::size_t i, std::string& out) const;

    // The indexes [first, last) of responses created within [from_ms, to_ms], both inclusive.
    std::pair<std::size_t, std::size_t> index_range(std::int64_t from_ms, std::int64_t to_ms) const;

private:
    dataset_options options_;
    std::vector<pool_entry> pool_;
    std::vector<std::string> campaigns_;
    std::int64_t step_ms_ = 1;
};

// ISO-8601 UTC with milliseconds, e.g. 2024-03-05T09:12:44.120Z.
std::string format_iso8601(std::int64_t ms);

// Accepts YYYY-MM-DD, optionally followed by Thh:mm[:ss[.fff]] and Z or an offset ±hh:mm.
std::optional<std::int64_t> parse_iso8601(std::string_view text);

// An IMF-fixdate as HTTP uses, e.g. Sun, 06 Nov 1994 08:49:37 GMT.
std::string format_http_date(std::int64_t ms);

}  // namespace tributary::emulator
