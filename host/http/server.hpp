// server.hpp: the host's asynchronous HTTP/1.1 server: limits, timeouts, keep-alive.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tributary::host::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace asio = boost::asio;

using request = bhttp::request<bhttp::string_body>;
using response = bhttp::response<bhttp::string_body>;

// Who sent a request. Valid for the duration of the handler call; copy what you keep.
struct peer_info {
    std::string remote_address;
    std::uint64_t connection_id;
};

// Call exactly once, from any thread; the server posts the write onto the connection's strand.
// Later calls are ignored. Destroying every copy without a call answers 500.
using responder = std::function<void(response&&)>;

// Runs on an io thread. It may answer inline or hand the responder to another thread; the
// connection reads its next request only after this response is written.
using handler = std::function<void(request&& req, responder respond, const peer_info& peer)>;

// One answered request. It deliberately carries no target: webhook paths hold secrets.
struct access_entry {
    bhttp::verb method;  // verb::unknown when the request could not be parsed
    unsigned status;
    std::size_t bytes;                   // response body bytes
    std::chrono::microseconds duration;  // request read to response written
    std::uint64_t connection_id;
};

struct server_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;                          // 0 picks a free port
    std::size_t threads = 2;                         // io threads
    std::size_t body_limit = 1 << 20;                // 413 above
    std::size_t header_limit = 16 * 1024;            // 431 above
    std::chrono::milliseconds read_timeout{30000};   // a request must arrive whole within this
    std::chrono::milliseconds idle_timeout{60000};   // keep-alive idle
    std::chrono::milliseconds write_timeout{30000};  // a response must be taken within this
    std::size_t max_connections = 1024;              // accepted beyond this: closed at once

    // Called on an io thread after each response is written; must not block.
    std::function<void(const access_entry&)> access_log;
    // Degraded modes (accept failures, a handler that threw); never given request data.
    std::function<void(std::string_view event, std::string_view detail)> error_log;
};

class server {
public:
    server(server_options options, handler h);
    ~server();  // stops and joins; do not destroy the server from one of its handlers
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds, listens and spawns the io threads; returns the bound endpoint. Throws
    // boost::system::system_error naming the address when it cannot listen.
    asio::ip::tcp::endpoint start();

    // Stops accepting, closes every connection and joins the io threads; idempotent. Responders
    // completed after this are ignored. Called from a handler it only begins the stop, and the
    // destructor joins.
    void stop();

    std::size_t active_connections() const;
    std::uint64_t rejected_connections() const;  // closed at once because of max_connections

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// A JSON response with Content-Type and Content-Length set.
response make_json_response(unsigned version, bool keep_alive, bhttp::status status,
                            std::string body);

}  // namespace tributary::host::http
