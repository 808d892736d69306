// api.hpp: the emulator's routes and faults, apart from how requests reach them.
#pragma once

#include "dataset.hpp"
#include "satismeter_emulator.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/object.hpp>
#include <boost/url/params_view.hpp>

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>

namespace tributary::emulator {

namespace http = boost::beast::http;

using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

enum class delivery { answer, drop, truncate };

// What the server does with a request: answer (maybe late), or misbehave.
struct reply {
    http_response response;
    delivery how = delivery::answer;
    std::chrono::milliseconds delay{0};
};

// Reads a fault plan from the JSON the faults route takes; an error names the bad field.
std::string fault_plan_from_json(const boost::json::object& in, fault_plan& out);

// The page cursor: base64url of [created ms, index], opaque to clients.
std::string encode_cursor(std::int64_t created_ms, std::size_t index);

class api {
public:
    api(const emulator_options& options, const satismeter_dataset& data);

    // Thread-safe: the server thread handles requests while a test changes faults.
    reply handle(const http_request& req);
    void set_faults(const fault_plan& faults);
    emulator_stats stats() const;
    void count_connection();

private:
    enum class fault_kind {
        none,
        rate_limit,
        rate_limit_date,
        server_error,
        drop,
        truncate,
        malformed,
        slow
    };

    reply serve_responses(const http_request& req, bool v3, std::string_view path,
                          boost::urls::params_view query);
    reply responses_v3(const http_request& req, std::string_view project,
                       boost::urls::params_view query);
    reply responses_legacy(const http_request& req, boost::urls::params_view query);
    reply post_faults(const http_request& req);
    reply get_stats(const http_request& req);
    fault_kind take_fault(fault_plan& now);
    reply apply_fault(fault_kind kind, const fault_plan& plan, const http_request& req,
                      reply normal);
    bool take_page_fault(std::size_t page, int& status);

    const emulator_options& options_;
    const satismeter_dataset& data_;
    mutable std::mutex mutex_;
    fault_plan faults_;
    emulator_stats stats_;
};

}  // namespace tributary::emulator
