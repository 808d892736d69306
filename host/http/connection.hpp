// connection.hpp: one accepted HTTP/1.1 connection and the state it shares with its server.
#pragma once

#include "http/server.hpp"

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace tributary::host::http::detail {

using clock = std::chrono::steady_clock;
using strand_type = asio::strand<asio::io_context::executor_type>;
using socket_type = asio::basic_stream_socket<asio::ip::tcp, strand_type>;
using timer_type = asio::basic_waitable_timer<clock, asio::wait_traits<clock>, strand_type>;

class connection;

// Open while the io_context lives. A responder completed on a foreign thread posts only under
// this lock, so nothing is posted to an io_context that is being destroyed.
struct gate {
    std::mutex mutex;
    bool open = true;
};

// What the server shares with its connections. It outlives them all: the server destroys its
// io_context, and with it every connection, before this.
class server_core {
public:
    server_core(server_options options, handler h);

    // Registers a new connection; false once stopping, and the caller drops it.
    bool add(const std::shared_ptr<connection>& c);
    void remove(std::uint64_t id);

    // Marks the core as stopping and hands back every connection still open.
    std::vector<std::shared_ptr<connection>> begin_stop();

    void report(std::string_view event, std::string_view detail) const;

    const server_options options;
    const handler on_request;
    const std::shared_ptr<gate> gate_ = std::make_shared<gate>();
    std::atomic<std::uint64_t> next_id{1};
    std::atomic<std::size_t> active{0};
    std::atomic<std::uint64_t> rejected{0};

private:
    std::mutex mutex_;
    bool stopping_ = false;
    std::unordered_map<std::uint64_t, std::weak_ptr<connection>> connections_;
};

// Reads a request, hands it to the handler, writes the response, repeats. Everything but
// deliver() runs on the connection's strand.
class connection : public std::enable_shared_from_this<connection> {
public:
    connection(socket_type&& socket, server_core& core);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    std::uint64_t id() const { return peer_.connection_id; }
    void start();
    void post_close();

    // The handler's answer; from any thread, at most once per request (response_slot ensures
    // it).
    static void deliver(const std::weak_ptr<connection>& weak, connection* raw, std::uint64_t id,
                        const std::shared_ptr<gate>& g, response&& res);

private:
    void begin_request();
    void parse();
    bool check_header();
    void read_more();
    void on_read(boost::system::error_code ec, std::size_t n);
    void send_continue();
    void on_continue_sent(boost::system::error_code ec, std::size_t n);
    void reject(boost::system::error_code parse_error);

    void dispatch_request();
    void invoke(request&& req);
    void on_response(response&& res);
    void send(response&& res);
    void finish_headers();
    void on_write(boost::system::error_code ec, std::size_t n);
    void log_access() const;

    void linger();
    void on_drain(boost::system::error_code ec, std::size_t n);
    void close_now();

    void arm(std::chrono::milliseconds d);
    void wait_timer();
    void on_timer(boost::system::error_code ec);

    server_core& core_;
    socket_type socket_;
    timer_type timer_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    response res_;
    const peer_info peer_;

    // Keeps the connection alive while the handler owns the request; cleared by the answer
    // or by close_now().
    std::shared_ptr<connection> self_;

    clock::time_point deadline_ = clock::time_point::max();
    clock::time_point started_;
    std::uint64_t requests_ = 0;
    unsigned version_ = 11;
    bhttp::verb method_ = bhttp::verb::unknown;
    bool keep_alive_ = false;
    bool read_deadline_set_ = false;
    bool header_checked_ = false;
    bool timer_waiting_ = false;
    bool closed_ = false;
};

}  // namespace tributary::host::http::detail
