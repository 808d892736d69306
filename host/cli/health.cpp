// health.cpp: `tributary health`: is the host up, and ready (storage reachable, plugins loaded).
#include "app/json_io.hpp"
#include "cli/api.hpp"

#include <iostream>

namespace tributary::host::cli {

namespace bj = boost::json;

namespace {

int health(const invocation& inv) {
    api_client api(inv.url(), "");
    auto up = api.call("GET", "/healthz");
    if (up.status == 0) {
        return report_failure(api, up);
    }
    auto ready = api.call("GET", "/readyz");
    if (inv.json()) {
        std::cout << to_json_text(bj::object{{"healthz", up.body}, {"readyz", ready.body}}) << "\n";
    } else {
        std::cout << "up: " << (up.ok() ? "yes" : "no") << "\n"
                  << "ready: " << (ready.ok() ? "yes" : "no") << " (storage "
                  << field_text(ready.body, "storage") << ", plugins "
                  << field_text(ready.body, "plugins") << ")\n";
    }
    return up.ok() && ready.ok() ? exit_ok : exit_refused;
}

}  // namespace

const area_spec& health_area() {
    static const area_spec area{
        "health",
        "Whether the host is up and ready; needs no token.",
        {{"",
          "",
          "Asks /healthz and /readyz. Exit code 0 when ready, 1 when not, 3 when the "
          "host does not answer.",
          {},
          0,
          0,
          health}}};
    return area;
}

}  // namespace tributary::host::cli
