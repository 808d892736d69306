// server_test.cpp: the HTTP server against a synchronous Beast client on the loopback.
#include "http/server.hpp"

#define BOOST_TEST_MODULE http_server
#include <boost/test/unit_test.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/socket.h>

namespace {

namespace http = tributary::host::http;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

// ---- helpers -----------------------------------------------------------------------------

http::request make_request(bhttp::verb method, std::string target, std::string body = {}) {
    http::request req{method, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.keep_alive(true);
    if (!body.empty() || method == bhttp::verb::post) {
        req.body() = std::move(body);
        req.prepare_payload();
    }
    return req;
}

// Answers with the target, and the body after a colon when there is one.
void echo(http::request&& req, http::responder respond, const http::peer_info&) {
    http::response res{bhttp::status::ok, req.version()};
    res.keep_alive(req.keep_alive());
    res.body() = std::string(req.target());
    if (!req.body().empty()) {
        res.body() += ":" + req.body();
    }
    respond(std::move(res));
}

// A blocking client on its own io_context. A watchdog shuts the socket down after 20 s, so a
// response that never comes fails the test case instead of hanging the run.
struct client {
    asio::io_context ioc;
    tcp::socket socket{ioc};
    beast::flat_buffer buffer;
    std::mutex mutex;
    std::condition_variable done;
    bool finished = false;
    std::thread watchdog;

    explicit client(const tcp::endpoint& ep) {
        socket.connect(ep);
        watchdog = std::thread([this] {
            std::unique_lock lock(mutex);
            if (!done.wait_for(lock, 20s, [this] { return finished; })) {
                ::shutdown(socket.native_handle(), SHUT_RDWR);
            }
        });
    }

    ~client() {
        {
            std::lock_guard lock(mutex);
            finished = true;
        }
        done.notify_one();
        watchdog.join();
    }

    void send(const http::request& req) { bhttp::write(socket, req); }
    void send_raw(std::string_view bytes) { asio::write(socket, asio::buffer(bytes)); }

    http::response receive() {
        http::response res;
        bhttp::read(socket, buffer, res);
        return res;
    }

    http::response round_trip(const http::request& req) {
        send(req);
        return receive();
    }

    // True when the server closed the connection: the next read ends, and no byte arrives.
    bool closed_by_server() {
        if (buffer.size() != 0) {
            return false;
        }
        char byte = 0;
        error_code ec;
        auto const n = socket.read_some(asio::buffer(&byte, 1), ec);
        return n == 0 && (ec == asio::error::eof || ec == asio::error::connection_reset);
    }

    // True when the server closes the connection, whether or not a response came first.
    bool ends_after_any_response() {
        char chunk[512];
        error_code ec;
        while (!ec) {
            socket.read_some(asio::buffer(chunk), ec);
        }
        return ec == asio::error::eof || ec == asio::error::connection_reset;
    }
};

// Waits for something the server does after the client has its answer; false after 10 s.
bool eventually(const std::function<bool()>& condition) {
    for (int i = 0; i < 1000; ++i) {
        if (condition()) {
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    return condition();
}

// Threads a handler starts to answer later; joined when the test ends.
struct workers {
    std::mutex mutex;
    std::vector<std::thread> threads;

    void run(std::function<void()> f) {
        std::lock_guard lock(mutex);
        threads.emplace_back(std::move(f));
    }
    ~workers() {
        std::lock_guard lock(mutex);
        for (auto& t : threads) {
            t.join();
        }
    }
};

struct running_server {
    http::server server;
    tcp::endpoint endpoint;

    running_server(http::server_options options, http::handler h)
        : server(std::move(options), std::move(h)), endpoint(server.start()) {}
    explicit running_server(http::handler h)
        : running_server(http::server_options{}, std::move(h)) {}
};

}  // namespace

// ---- requests and responses --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(answers_get_with_echo) {
    running_server s(echo);
    BOOST_TEST(s.endpoint.address().to_string() == "127.0.0.1");
    BOOST_TEST(s.endpoint.port() != 0);

    client c(s.endpoint);
    auto const res = c.round_trip(make_request(bhttp::verb::get, "/hello?x=1"));

    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res.body() == "/hello?x=1");
    BOOST_TEST(res[bhttp::field::server] == "tributary");
    BOOST_TEST(res[bhttp::field::content_length] == "10");
    BOOST_TEST(res.keep_alive());
}

BOOST_AUTO_TEST_CASE(answers_post_body) {
    running_server s(echo);
    client c(s.endpoint);
    auto const res = c.round_trip(make_request(bhttp::verb::post, "/p", R"({"a":1})"));
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res.body() == R"(/p:{"a":1})");
}

BOOST_AUTO_TEST_CASE(reuses_one_connection_for_keep_alive_requests) {
    std::mutex mutex;
    std::vector<std::uint64_t> ids;
    running_server s([&](http::request&& req, http::responder respond, const http::peer_info& p) {
        {
            std::lock_guard lock(mutex);
            ids.push_back(p.connection_id);
        }
        BOOST_TEST(p.remote_address == "127.0.0.1");
        echo(std::move(req), std::move(respond), p);
    });

    client c(s.endpoint);
    for (int i = 0; i < 3; ++i) {
        auto const res = c.round_trip(make_request(bhttp::verb::get, "/r" + std::to_string(i)));
        BOOST_TEST(res.body() == "/r" + std::to_string(i));
    }

    BOOST_TEST(s.server.active_connections() == 1u);
    std::lock_guard lock(mutex);
    BOOST_TEST_REQUIRE(ids.size() == 3u);
    BOOST_TEST(ids[0] == ids[1]);
    BOOST_TEST(ids[1] == ids[2]);
}

BOOST_AUTO_TEST_CASE(answers_pipelined_requests_in_order_one_at_a_time) {
    workers pool;
    std::atomic<int> in_flight{0};
    std::atomic<int> overlaps{0};
    running_server s([&](http::request&& req, http::responder respond, const http::peer_info& p) {
        if (in_flight.fetch_add(1) != 0) {
            ++overlaps;
        }
        // The first answer comes late from another thread; the second must still follow it.
        pool.run([&, req = std::move(req), respond = std::move(respond), p]() mutable {
            if (req.target() == "/first") {
                std::this_thread::sleep_for(50ms);
            }
            in_flight.fetch_sub(1);
            echo(std::move(req), std::move(respond), p);
        });
    });

    client c(s.endpoint);
    c.send_raw(
        "GET /first HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET /second HTTP/1.1\r\nHost: a\r\n\r\n");

    BOOST_TEST(c.receive().body() == "/first");
    BOOST_TEST(c.receive().body() == "/second");
    BOOST_TEST(overlaps.load() == 0);
}

BOOST_AUTO_TEST_CASE(honours_connection_close) {
    running_server s(echo);
    client c(s.endpoint);
    auto req = make_request(bhttp::verb::get, "/bye");
    req.keep_alive(false);

    auto const res = c.round_trip(req);

    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(!res.keep_alive());
    BOOST_TEST(res[bhttp::field::connection] == "close");
    BOOST_TEST(c.closed_by_server());
}

BOOST_AUTO_TEST_CASE(answers_http_1_0_in_kind_and_closes) {
    running_server s(echo);
    client c(s.endpoint);
    c.send_raw("GET /old HTTP/1.0\r\n\r\n");

    auto const res = c.receive();

    BOOST_TEST(res.version() == 10u);
    BOOST_TEST(res.body() == "/old");
    BOOST_TEST(c.closed_by_server());
}

BOOST_AUTO_TEST_CASE(answers_expect_100_continue) {
    running_server s(echo);
    client c(s.endpoint);
    c.send_raw("POST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");

    std::string interim;
    auto const n = asio::read_until(c.socket, asio::dynamic_buffer(interim), "\r\n\r\n");
    BOOST_TEST(interim.substr(0, n) == "HTTP/1.1 100 Continue\r\n\r\n");

    c.send_raw("hello");
    auto const res = c.receive();
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res.body() == "/c:hello");
}

BOOST_AUTO_TEST_CASE(sends_no_body_for_head) {
    running_server s(echo);
    client c(s.endpoint);
    c.send(make_request(bhttp::verb::head, "/abc"));

    bhttp::response_parser<bhttp::string_body> parser;
    parser.skip(true);
    bhttp::read(c.socket, c.buffer, parser);

    BOOST_TEST(parser.get().result_int() == 200);
    BOOST_TEST(parser.get()[bhttp::field::content_length] == "4");
    // The next response starts right after the header: no body bytes were sent.
    BOOST_TEST(c.round_trip(make_request(bhttp::verb::get, "/next")).body() == "/next");
}

// ---- limits ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(rejects_body_over_limit) {
    std::atomic<int> calls{0};
    http::server_options o;
    o.body_limit = 1024;
    running_server s(o, [&](http::request&& req, http::responder r, const http::peer_info& p) {
        ++calls;
        echo(std::move(req), std::move(r), p);
    });

    client c(s.endpoint);
    auto const res = c.round_trip(make_request(bhttp::verb::post, "/big", std::string(2048, 'x')));

    BOOST_TEST(res.result_int() == 413);
    BOOST_TEST(res.body() == R"({"error":"request body too large"})");
    BOOST_TEST(res[bhttp::field::content_type] == "application/json");
    BOOST_TEST(!res.keep_alive());
    BOOST_TEST(c.closed_by_server());
    BOOST_TEST(calls.load() == 0);

    // At the limit is fine.
    client ok(s.endpoint);
    auto const at_limit = std::string(1024, 'y');
    BOOST_TEST(ok.round_trip(make_request(bhttp::verb::post, "/b", at_limit)).result_int() == 200);
}

BOOST_AUTO_TEST_CASE(rejects_declared_body_over_limit_before_continue) {
    http::server_options o;
    o.body_limit = 1024;
    running_server s(o, echo);

    client c(s.endpoint);
    c.send_raw(
        "POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 4096\r\nExpect: 100-continue\r\n\r\n");
    auto const res = c.receive();

    BOOST_TEST(res.result_int() == 413);
    BOOST_TEST(res.body() == R"({"error":"request body too large"})");
    BOOST_TEST(c.closed_by_server());
}

BOOST_AUTO_TEST_CASE(rejects_chunked_body_over_limit) {
    http::server_options o;
    o.body_limit = 16;
    running_server s(o, echo);

    client c(s.endpoint);
    c.send_raw(
        "POST /chunks HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n");
    auto const res = c.receive();

    BOOST_TEST(res.result_int() == 413);
    BOOST_TEST(res.body() == R"({"error":"request body too large"})");
    BOOST_TEST(c.closed_by_server());
}

BOOST_AUTO_TEST_CASE(rejects_header_over_limit) {
    running_server s(echo);  // 16 KiB by default
    client c(s.endpoint);
    auto req = make_request(bhttp::verb::get, "/h");
    req.set("X-Filler", std::string(20 * 1024, 'h'));

    auto const res = c.round_trip(req);

    BOOST_TEST(res.result_int() == 431);
    BOOST_TEST(res.body() == R"({"error":"request header too large"})");
    BOOST_TEST(c.closed_by_server());
}

BOOST_AUTO_TEST_CASE(rejects_malformed_request) {
    running_server s(echo);
    client c(s.endpoint);
    c.send_raw("GET /x HTTP/1.1\r\nBad Header\r\n\r\n");

    auto const res = c.receive();

    BOOST_TEST(res.result_int() == 400);
    BOOST_TEST(res.body() == R"({"error":"bad request"})");
    BOOST_TEST(c.closed_by_server());
}

// ---- timeouts ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(closes_slow_client_after_read_timeout) {
    std::atomic<int> calls{0};
    http::server_options o;
    o.read_timeout = 200ms;
    running_server s(o, [&](http::request&& req, http::responder r, const http::peer_info& p) {
        ++calls;
        echo(std::move(req), std::move(r), p);
    });

    client c(s.endpoint);
    c.send_raw("GET /slow HTTP/1.1\r\nHost: a\r\n");  // the blank line never comes

    BOOST_TEST(c.closed_by_server());
    BOOST_TEST(calls.load() == 0);
    BOOST_TEST(eventually([&] { return s.server.active_connections() == 0; }));
}

BOOST_AUTO_TEST_CASE(closes_silent_connection_after_read_timeout) {
    http::server_options o;
    o.read_timeout = 200ms;
    running_server s(o, echo);

    client c(s.endpoint);
    BOOST_TEST(c.closed_by_server());
}

BOOST_AUTO_TEST_CASE(closes_idle_keep_alive_connection) {
    http::server_options o;
    o.idle_timeout = 200ms;
    running_server s(o, echo);

    client c(s.endpoint);
    BOOST_TEST(c.round_trip(make_request(bhttp::verb::get, "/once")).result_int() == 200);
    BOOST_TEST(c.closed_by_server());
}

// ---- responders --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(accepts_response_from_another_thread) {
    workers pool;
    running_server s([&](http::request&& req, http::responder respond, const http::peer_info& p) {
        pool.run([req = std::move(req), respond = std::move(respond), p]() mutable {
            echo(std::move(req), std::move(respond), p);
        });
    });

    client c(s.endpoint);
    for (int i = 0; i < 5; ++i) {
        auto const res = c.round_trip(make_request(bhttp::verb::get, "/t" + std::to_string(i)));
        BOOST_TEST(res.result_int() == 200);
        BOOST_TEST(res.body() == "/t" + std::to_string(i));
    }
}

BOOST_AUTO_TEST_CASE(answers_500_when_handler_throws_and_keeps_serving) {
    running_server s([](http::request&& req, http::responder r, const http::peer_info& p) {
        if (req.target() == "/throw") {
            throw std::runtime_error("handler failed");
        }
        echo(std::move(req), std::move(r), p);
    });

    client c(s.endpoint);
    auto const failed = c.round_trip(make_request(bhttp::verb::get, "/throw"));
    BOOST_TEST(failed.result_int() == 500);
    BOOST_TEST(failed.body() == R"({"error":"internal error"})");
    BOOST_TEST(failed[bhttp::field::server] == "tributary");

    auto const next = c.round_trip(make_request(bhttp::verb::get, "/after"));
    BOOST_TEST(next.result_int() == 200);
    BOOST_TEST(next.body() == "/after");
}

BOOST_AUTO_TEST_CASE(answers_500_when_responder_is_dropped) {
    workers pool;
    running_server s([&](http::request&& req, http::responder r, const http::peer_info& p) {
        if (req.target() == "/drop") {
            return;  // r goes away unanswered
        }
        if (req.target() == "/drop-later") {
            pool.run([r = std::move(r)] {});
            return;
        }
        echo(std::move(req), std::move(r), p);
    });

    client c(s.endpoint);
    for (auto const* target : {"/drop", "/drop-later"}) {
        auto const res = c.round_trip(make_request(bhttp::verb::get, target));
        BOOST_TEST(res.result_int() == 500);
        BOOST_TEST(res.body() == R"({"error":"internal error"})");
    }
    BOOST_TEST(c.round_trip(make_request(bhttp::verb::get, "/ok")).body() == "/ok");
}

BOOST_AUTO_TEST_CASE(ignores_second_response) {
    running_server s([](http::request&& req, http::responder r, const http::peer_info&) {
        http::response first{bhttp::status::ok, 11};
        first.body() = "first:" + std::string(req.target());
        http::response second{bhttp::status::ok, 11};
        second.body() = "second";
        auto copy = r;
        r(std::move(first));
        copy(std::move(second));
    });

    client c(s.endpoint);
    BOOST_TEST(c.round_trip(make_request(bhttp::verb::get, "/a")).body() == "first:/a");
    BOOST_TEST(c.round_trip(make_request(bhttp::verb::get, "/b")).body() == "first:/b");
}

BOOST_AUTO_TEST_CASE(reports_access_entries) {
    std::mutex mutex;
    std::vector<http::access_entry> entries;
    http::server_options o;
    o.body_limit = 8;
    o.access_log = [&](const http::access_entry& e) {
        std::lock_guard lock(mutex);
        entries.push_back(e);
    };
    running_server s(o, echo);

    client c(s.endpoint);
    BOOST_TEST(c.round_trip(make_request(bhttp::verb::get, "/four")).result_int() == 200);
    BOOST_TEST(c.round_trip(make_request(bhttp::verb::post, "/p", "too long body")).result_int() ==
               413);

    BOOST_TEST(eventually([&] {
        std::lock_guard lock(mutex);
        return entries.size() == 2;
    }));
    std::lock_guard lock(mutex);
    BOOST_TEST_REQUIRE(entries.size() == 2u);
    BOOST_TEST((entries[0].method == bhttp::verb::get));
    BOOST_TEST(entries[0].status == 200u);
    BOOST_TEST(entries[0].bytes == 5u);
    BOOST_TEST((entries[1].method == bhttp::verb::post));
    BOOST_TEST(entries[1].status == 413u);
    BOOST_TEST(entries[1].connection_id == entries[0].connection_id);
}

// ---- connections and lifetime ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(closes_connections_over_the_cap) {
    http::server_options o;
    o.max_connections = 2;
    running_server s(o, echo);

    auto a = std::make_unique<client>(s.endpoint);
    client b(s.endpoint);
    BOOST_TEST(a->round_trip(make_request(bhttp::verb::get, "/a")).result_int() == 200);
    BOOST_TEST(b.round_trip(make_request(bhttp::verb::get, "/b")).result_int() == 200);
    BOOST_TEST(s.server.active_connections() == 2u);

    client over(s.endpoint);
    BOOST_TEST(over.closed_by_server());
    BOOST_TEST(s.server.rejected_connections() == 1u);

    a.reset();
    BOOST_TEST(eventually([&] { return s.server.active_connections() == 1; }));
    client d(s.endpoint);
    BOOST_TEST(d.round_trip(make_request(bhttp::verb::get, "/d")).body() == "/d");
    BOOST_TEST(s.server.rejected_connections() == 1u);
}

BOOST_AUTO_TEST_CASE(stop_is_idempotent) {
    running_server s(echo);
    client c(s.endpoint);
    BOOST_TEST(c.round_trip(make_request(bhttp::verb::get, "/x")).result_int() == 200);

    s.server.stop();
    s.server.stop();

    BOOST_TEST(s.server.active_connections() == 0u);
    BOOST_TEST(c.closed_by_server());
    BOOST_CHECK_THROW(s.server.start(), std::logic_error);
}

BOOST_AUTO_TEST_CASE(stops_from_inside_a_handler) {
    std::atomic<http::server*> self{nullptr};
    running_server s(
        [&](http::request&&, http::responder, const http::peer_info&) { self.load()->stop(); });
    self = &s.server;

    client c(s.endpoint);
    c.send(make_request(bhttp::verb::get, "/stop"));
    BOOST_TEST(c.ends_after_any_response());
    s.server.stop();
    BOOST_TEST(s.server.active_connections() == 0u);
}

BOOST_AUTO_TEST_CASE(ignores_responder_completed_after_stop) {
    std::promise<http::responder> held;
    auto got = held.get_future();
    http::responder kept;
    {
        running_server s([&](http::request&&, http::responder r, const http::peer_info&) {
            held.set_value(std::move(r));
        });
        client c(s.endpoint);
        c.send(make_request(bhttp::verb::get, "/wait"));
        kept = got.get();

        s.server.stop();
        BOOST_TEST(c.closed_by_server());
        BOOST_TEST(s.server.active_connections() == 0u);
        kept(http::response{bhttp::status::ok, 11});  // ignored: the connection is gone
    }
    // The server is gone too; completing or dropping the responder must not touch it.
    kept(http::response{bhttp::status::ok, 11});
    kept = nullptr;
}

BOOST_AUTO_TEST_CASE(destroys_server_with_responder_outstanding) {
    std::promise<http::responder> held;
    auto got = held.get_future();
    http::responder kept;
    {
        running_server s([&](http::request&&, http::responder r, const http::peer_info&) {
            held.set_value(std::move(r));
        });
        client c(s.endpoint);
        c.send(make_request(bhttp::verb::get, "/wait"));
        kept = got.get();
    }
    kept = nullptr;  // its 500 has nowhere to go
}

BOOST_AUTO_TEST_CASE(listens_on_ipv6_loopback) {
    {
        asio::io_context probe;
        tcp::acceptor a(probe);
        error_code ec;
        a.open(tcp::v6(), ec);
        if (!ec) {
            a.bind({asio::ip::make_address("::1"), 0}, ec);
        }
        if (ec) {
            BOOST_TEST_MESSAGE("skipped: this machine has no IPv6 loopback");
            return;
        }
    }

    http::server_options o;
    o.host = "::1";
    running_server s(o, echo);
    BOOST_TEST(s.endpoint.address().to_string() == "::1");

    client c(s.endpoint);
    BOOST_TEST(c.round_trip(make_request(bhttp::verb::get, "/six")).body() == "/six");
}

BOOST_AUTO_TEST_CASE(refuses_port_in_use) {
    running_server taken(echo);
    http::server_options o;
    o.port = taken.endpoint.port();
    http::server s(o, echo);
    BOOST_CHECK_THROW(s.start(), boost::system::system_error);
}
