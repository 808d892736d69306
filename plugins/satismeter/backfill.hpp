// backfill.hpp: "Pull historical NPS scores", paging through SatisMeter's export API.
#pragma once

#include <tributary/connector.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <functional>

namespace tributary::satismeter {

namespace bj = boost::json;

// How the backfill paces itself. The defaults are what the connector runs with.
struct backfill_options {
    int page_size = 100;
    int max_tries = 6;  // per page, counting 429s, 5xx, transport failures and unusable answers
    std::chrono::milliseconds backoff_base{250};
    std::chrono::milliseconds backoff_cap{8000};
    std::chrono::milliseconds retry_after_cap{120'000};
    std::chrono::milliseconds request_timeout{30'000};
    // Full jitter: picks a wait in [0, ceiling]. Empty means uniformly at random; tests set it to
    // return the ceiling so that waits are exact.
    std::function<std::chrono::milliseconds(std::chrono::milliseconds ceiling)> jitter;
};

// Runs the action: params `since` and `until` are optional ISO-8601 dates or times. Reads
// projectId, apiKey and baseUrl from the installation's config, emits one record per response
// and commits each page with a checkpoint, from which a rerun of the same job resumes.
// Fails by throwing tributary::error with a message meant for the person who started it.
void pull_historical_nps(action_context& ctx, const bj::object& params,
                         const backfill_options& options = {});

}  // namespace tributary::satismeter
