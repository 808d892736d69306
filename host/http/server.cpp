// server.cpp: the listener, the io threads, and an orderly stop.
#include "http/server.hpp"

#include "http/connection.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace tributary::host::http {

namespace {

using asio::ip::tcp;
using boost::system::error_code;

// After a failed accept (out of descriptors, say), wait before trying again instead of spinning.
constexpr std::chrono::milliseconds accept_retry_delay{100};

tcp::endpoint resolve_listen_address(const std::string& host, std::uint16_t port) {
    error_code ec;
    auto const address = asio::ip::make_address(host, ec);
    if (!ec) {
        return {address, port};
    }

    // A name such as "localhost": take its first address.
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    auto const results = resolver.resolve(
        host, std::to_string(port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
        throw boost::system::system_error(
            ec ? ec : asio::error::host_not_found,
            "cannot listen on " + host + ":" + std::to_string(port) + ": unknown host");
    }
    return results.begin()->endpoint();
}

std::string describe(const tcp::endpoint& ep) {
    auto const address = ep.address().to_string();
    auto const port = std::to_string(ep.port());
    return ep.address().is_v6() ? "[" + address + "]:" + port : address + ":" + port;
}

}  // namespace

// Member order matters: the io_context is destroyed before the core, and with it every
// connection that still refers to the core.
struct server::impl {
    impl(server_options o, handler h)
        : core(std::move(o), std::move(h)),
          ioc(static_cast<int>(std::max<std::size_t>(core.options.threads, 1))),
          acceptor(asio::make_strand(ioc)),
          retry_timer(acceptor.get_executor()) {}

    void listen(const tcp::endpoint& ep);
    void do_accept();
    void on_accept(error_code ec, detail::socket_type socket);
    void run_thread();
    void begin_stop();
    void join_threads();

    detail::server_core core;
    asio::io_context ioc;
    tcp::acceptor acceptor;
    asio::steady_timer retry_timer;
    std::vector<std::thread> threads;
    std::mutex mutex;       // started and stopped
    std::mutex join_mutex;  // threads, while joining
    bool started = false;
    bool stopped = false;
};

void server::impl::listen(const tcp::endpoint& ep) {
    try {
        acceptor.open(ep.protocol());
        acceptor.set_option(asio::socket_base::reuse_address(true));
        acceptor.bind(ep);
        acceptor.listen(asio::socket_base::max_listen_connections);
    } catch (const boost::system::system_error& e) {
        throw boost::system::system_error(e.code(), "cannot listen on " + describe(ep));
    }
}

void server::impl::do_accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](error_code ec, detail::socket_type s) {
        on_accept(ec, std::move(s));
    });
}

void server::impl::on_accept(error_code ec, detail::socket_type socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
        return;
    }
    if (ec) {
        core.report("accept failed", ec.message());
        retry_timer.expires_after(accept_retry_delay);
        retry_timer.async_wait([this](error_code wait_ec) {
            if (!wait_ec && acceptor.is_open()) {
                do_accept();
            }
        });
        return;
    }

    // Over the cap the socket is closed at once: cheaper than queueing a client we will not
    // serve in time.
    if (core.active.load(std::memory_order_relaxed) >= core.options.max_connections) {
        core.rejected.fetch_add(1, std::memory_order_relaxed);
        error_code ignored;
        socket.close(ignored);
    } else {
        auto c = std::make_shared<detail::connection>(std::move(socket), core);
        if (core.add(c)) {
            c->start();
        }
    }
    do_accept();
}

void server::impl::run_thread() {
    // An exception escaping a completion handler must not end the thread: log and go on.
    for (;;) {
        try {
            ioc.run();
            return;
        } catch (const std::exception& e) {
            core.report("io thread caught an exception", e.what());
        } catch (...) {
            core.report("io thread caught an exception", "unknown");
        }
    }
}

void server::impl::begin_stop() {
    std::lock_guard lock(mutex);
    if (stopped) {
        return;
    }
    stopped = true;

    // Closing the acceptor and every socket ends all pending operations, so the io threads run
    // out of work and return.
    asio::post(acceptor.get_executor(), [this] {
        error_code ignored;
        acceptor.close(ignored);
        retry_timer.cancel();
    });
    for (auto& c : core.begin_stop()) {
        c->post_close();
    }
}

void server::impl::join_threads() {
    std::lock_guard lock(join_mutex);
    for (auto& t : threads) {
        if (t.joinable()) {
            t.join();
        }
    }
}

server::server(server_options options, handler h) {
    if (!h) {
        throw std::invalid_argument("http server needs a request handler");
    }
    impl_ = std::make_unique<impl>(std::move(options), std::move(h));
}

server::~server() {
    stop();

    // After this no responder posts into the io_context, which goes away with impl_.
    std::lock_guard lock(impl_->core.gate_->mutex);
    impl_->core.gate_->open = false;
}

tcp::endpoint server::start() {
    std::lock_guard lock(impl_->mutex);
    if (impl_->started || impl_->stopped) {
        throw std::logic_error("http server already started");
    }
    impl_->started = true;

    auto const& o = impl_->core.options;
    impl_->listen(resolve_listen_address(o.host, o.port));
    auto const bound = impl_->acceptor.local_endpoint();
    impl_->do_accept();

    auto const n = std::max<std::size_t>(o.threads, 1);
    impl_->threads.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        impl_->threads.emplace_back([i = impl_.get()] { i->run_thread(); });
    }
    return bound;
}

void server::stop() {
    impl_->begin_stop();

    // An io thread (a handler calling stop) cannot join itself; the destructor joins.
    if (impl_->ioc.get_executor().running_in_this_thread()) {
        return;
    }
    impl_->join_threads();
}

std::size_t server::active_connections() const {
    return impl_->core.active.load(std::memory_order_relaxed);
}

std::uint64_t server::rejected_connections() const {
    return impl_->core.rejected.load(std::memory_order_relaxed);
}

response make_json_response(unsigned version, bool keep_alive, bhttp::status status,
                            std::string body) {
    response res{status, version};
    res.set(bhttp::field::content_type, "application/json");
    res.keep_alive(keep_alive);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

}  // namespace tributary::host::http
