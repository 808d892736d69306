// satismeter.cpp: the SatisMeter connector: webhook, historical backfill and NPS rollup hook.
#include "satismeter/backfill.hpp"
#include "satismeter/payload.hpp"

#include <tributary/connector.hpp>

#include <boost/json.hpp>

namespace tributary::satismeter {
namespace {

// Twice what a typical delivery needs (about 3.6 KiB): parsing and the record then stay off the
// heap. Larger bodies spill over into heap blocks.
constexpr std::size_t arena_bytes = 8 * 1024;

// One delivery: one record, stored by the host before it sends the 200 answered here.
webhook_response receive_response(context& ctx, const webhook_request& request) {
    alignas(std::max_align_t) unsigned char buffer[arena_bytes];
    bj::monotonic_resource arena(buffer, sizeof(buffer));

    auto result = normalize_webhook(request.body(), &arena);
    if (!result.ok()) {
        ctx.info("refused a SatisMeter delivery", {{"reason", result.reason}});
        return webhook_response::bad_request(result.reason);
    }
    ctx.emit(result.record);
    return {200, "application/json", R"({"stored":1})"};
}

class satismeter_connector : public connector {
public:
    satismeter_connector() {
        webhook("", receive_response);
        action("pull-historical-nps", [](action_context& ctx, const bj::object& params) {
            pull_historical_nps(ctx, params);
        });
        hook("nps-rollup",
             [](context&, const bj::value& record) -> bj::value { return nps_rollup(record); });
    }
};

}  // namespace
}  // namespace tributary::satismeter

TRIBUTARY_CONNECTOR(tributary::satismeter::satismeter_connector, "satismeter", "1.0.0")
