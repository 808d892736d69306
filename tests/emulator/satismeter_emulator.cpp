// satismeter_emulator.cpp: the Beast server around the emulator's routes, plain or TLS.
#include "satismeter_emulator.hpp"

#include "api.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/ssl.h>

#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <type_traits>

namespace tributary::emulator {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::chrono::seconds idle_timeout{60};

// One accepted connection: reads requests one at a time and carries out the replies.
template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
public:
    session(Stream stream, api& routes)
        : stream_(std::move(stream)), timer_(stream_.get_executor()), routes_(routes) {}

    void start() {
        if constexpr (std::is_same_v<Stream, tls_stream>) {
            lowest().expires_after(idle_timeout);
            stream_.async_handshake(ssl::stream_base::server,
                                    [self = this->shared_from_this()](beast::error_code ec) {
                                        if (!ec) {
                                            self->read();
                                        }
                                    });
        } else {
            read();
        }
    }

private:
    beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

    void read() {
        request_ = {};
        lowest().expires_after(idle_timeout);
        http::async_read(stream_, buffer_, request_,
                         [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                             self->on_read(ec);
                         });
    }

    void on_read(beast::error_code ec) {
        if (ec) {
            close();
            return;
        }
        reply_ = routes_.handle(request_);
        if (reply_.how == delivery::drop) {
            close();
            return;
        }
        if (reply_.delay.count() <= 0) {
            write();
            return;
        }
        timer_.expires_after(reply_.delay);
        timer_.async_wait([self = this->shared_from_this()](beast::error_code wait_ec) {
            if (!wait_ec) {
                self->write();
            }
        });
    }

    void write() {
        lowest().expires_after(idle_timeout);
        if (reply_.how == delivery::truncate) {
            write_truncated();
            return;
        }
        http::async_write(stream_, reply_.response,
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec || !self->reply_.response.keep_alive()) {
                                  self->close();
                              } else {
                                  self->read();
                              }
                          });
    }

    // The full Content-Length goes out with half of the body; then the connection closes.
    void write_truncated() {
        std::ostringstream head;
        head << reply_.response.base();
        const auto& body = reply_.response.body();
        raw_ = head.str() + body.substr(0, body.size() / 2);
        asio::async_write(
            stream_, asio::buffer(raw_),
            [self = this->shared_from_this()](beast::error_code, std::size_t) { self->close(); });
    }

    void close() {
        beast::error_code ignored;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
        lowest().close();
    }

    Stream stream_;
    beast::flat_buffer buffer_;
    http_request request_;
    reply reply_;
    std::string raw_;
    asio::steady_timer timer_;
    api& routes_;
};

std::unique_ptr<ssl::context> make_tls_context(const emulator_options& o) {
    if (!o.tls_cert && !o.tls_key) {
        return nullptr;
    }
    if (!o.tls_cert || !o.tls_key) {
        throw std::invalid_argument("TLS needs both a certificate and a key");
    }
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    ctx->use_certificate_chain_file(o.tls_cert->string());
    ctx->use_private_key_file(o.tls_key->string(), ssl::context::pem);
    return ctx;
}

}  // namespace

struct satismeter_emulator::server {
    // Declared before the io_context: sessions that refer to these die with the io_context.
    api& routes;
    std::unique_ptr<ssl::context> tls;
    asio::io_context ioc;
    tcp::acceptor acceptor{ioc};
    std::thread thread;

    server(const emulator_options& o, api& r) : routes(r), tls(make_tls_context(o)) {}

    void accept() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec) {
                return;  // the acceptor was closed
            }
            routes.count_connection();
            if (tls) {
                std::make_shared<session<tls_stream>>(tls_stream(std::move(socket), *tls), routes)
                    ->start();
            } else {
                std::make_shared<session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)),
                                                             routes)
                    ->start();
            }
            accept();
        });
    }

    void run() {
        for (;;) {
            try {
                ioc.run();
                return;
            } catch (const std::exception& e) {
                std::cerr << "satismeter-emulator: handler failed: " << e.what() << "\n";
            }
        }
    }
};

satismeter_emulator::satismeter_emulator(emulator_options o)
    : options_(std::move(o)),
      data_(options_.data),
      routes_(std::make_unique<api>(options_, data_)) {
    if (options_.api_key.empty() || options_.api_key == options_.write_key) {
        throw std::invalid_argument("the API key must be set and differ from the write key");
    }
}

satismeter_emulator::~satismeter_emulator() {
    stop();
}

unsigned short satismeter_emulator::start() {
    if (server_) {
        return port_;
    }
    auto s = std::make_unique<server>(options_, *routes_);
    tcp::endpoint at(asio::ip::make_address(options_.listen_address), options_.port);
    s->acceptor.open(at.protocol());
    s->acceptor.set_option(asio::socket_base::reuse_address(true));
    s->acceptor.bind(at);
    s->acceptor.listen();
    port_ = s->acceptor.local_endpoint().port();

    s->accept();
    s->thread = std::thread([raw = s.get()] { raw->run(); });
    server_ = std::move(s);
    return port_;
}

void satismeter_emulator::stop() {
    if (!server_) {
        return;
    }
    server_->ioc.stop();
    server_->thread.join();
    server_.reset();
}

std::string satismeter_emulator::base_url() const {
    auto host = options_.listen_address.find(':') == std::string::npos
                    ? options_.listen_address
                    : "[" + options_.listen_address + "]";
    return (tls() ? "https://" : "http://") + host + ":" + std::to_string(port_);
}

void satismeter_emulator::set_faults(const fault_plan& faults) {
    routes_->set_faults(faults);
}

emulator_stats satismeter_emulator::stats() const {
    return routes_->stats();
}

}  // namespace tributary::emulator
