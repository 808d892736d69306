// null_server.cpp: the ingest benchmark's ceiling: reads each request whole and answers 200.
//
// Modeled on Beast's http_server_async and http_server_fast examples: one io_context, N
// threads, a strand per connection, keep-alive, the same body and header limits as the host.
// It does no work beyond HTTP, so its rate is what this machine and this load generator allow.
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr std::size_t body_limit = 1 << 20;
constexpr std::size_t header_limit = 16 * 1024;
constexpr std::string_view answer_body = R"({"stored":1})";

class session : public std::enable_shared_from_this<session> {
public:
    explicit session(tcp::socket&& socket) : stream_(std::move(socket)) {}

    void start() {
        error_code ignored;  // a peer that already left: the first read reports it
        stream_.socket().set_option(tcp::no_delay(true), ignored);
        asio::dispatch(stream_.get_executor(),
                       beast::bind_front_handler(&session::read, shared_from_this()));
    }

private:
    void read() {
        // A fresh parser per request, as the host has: the limits apply per request.
        parser_.emplace();
        parser_->body_limit(body_limit);
        parser_->header_limit(header_limit);
        bhttp::async_read(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&session::on_read, shared_from_this()));
    }

    void on_read(error_code ec, std::size_t) {
        if (ec) {
            return close();
        }
        auto const& req = parser_->get();
        res_ = {};
        res_.result(bhttp::status::ok);
        res_.version(req.version());
        res_.keep_alive(req.keep_alive());
        res_.set(bhttp::field::server, "null");
        res_.set(bhttp::field::content_type, "application/json");
        res_.body() = answer_body;
        res_.prepare_payload();
        bhttp::async_write(stream_, res_,
                           beast::bind_front_handler(&session::on_write, shared_from_this()));
    }

    void on_write(error_code ec, std::size_t) {
        if (ec || !res_.keep_alive()) {
            return close();
        }
        read();
    }

    void close() {
        error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    bhttp::response<bhttp::string_body> res_;
};

class listener {
public:
    listener(asio::io_context& ioc, const tcp::endpoint& ep) : ioc_(ioc), acceptor_(ioc) {
        acceptor_.open(ep.protocol());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind(ep);
        acceptor_.listen(asio::socket_base::max_listen_connections);
    }

    tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

    void accept() {
        acceptor_.async_accept(asio::make_strand(ioc_), [this](error_code ec, tcp::socket s) {
            if (!ec) {
                std::make_shared<session>(std::move(s))->start();
            }
            if (acceptor_.is_open()) {
                accept();
            }
        });
    }

    void close() {
        error_code ignored;
        acceptor_.close(ignored);
    }

private:
    asio::io_context& ioc_;
    tcp::acceptor acceptor_;
};

}  // namespace

// usage: bench_null_server HOST PORT THREADS; prints "listening on http://HOST:PORT".
int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: bench_null_server HOST PORT THREADS\n";
        return 2;
    }
    auto const address = asio::ip::make_address(argv[1]);
    auto const port = static_cast<unsigned short>(std::atoi(argv[2]));
    auto const threads = std::max(1, std::atoi(argv[3]));

    asio::io_context ioc(threads);
    listener l(ioc, {address, port});
    l.accept();

    // SIGINT or SIGTERM stops the io_context, and with it every session.
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](error_code, int) {
        l.close();
        ioc.stop();
    });

    auto const ep = l.local_endpoint();
    std::cout << "listening on http://" << ep.address().to_string() << ":" << ep.port()
              << std::endl;

    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) {
        pool.emplace_back([&ioc] { ioc.run(); });
    }
    ioc.run();
    for (auto& t : pool) {
        t.join();
    }
    return 0;
}
