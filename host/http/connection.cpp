// connection.cpp: the per-connection read, dispatch and write loop, its deadlines and limits.
#include "http/connection.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <limits>
#include <utility>

namespace tributary::host::http::detail {

namespace {

using boost::system::error_code;

constexpr std::string_view server_name = "tributary";
constexpr char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::size_t header_read_size = 4096;
constexpr std::size_t body_read_size = 64 * 1024;
constexpr std::chrono::milliseconds linger_limit{2000};

// The connection whose handler this thread is running, if any: a responder called from inside
// that handler answers inline instead of posting.
thread_local const connection* handling_connection = nullptr;
thread_local std::uint64_t handling_id = 0;

// Shared by every copy of one responder. The first response wins; if the last copy goes away
// without one, the destructor answers 500 so that the connection is not left waiting.
class response_slot {
public:
    response_slot(const std::shared_ptr<connection>& c, std::shared_ptr<gate> g)
        : weak_(c), raw_(c.get()), id_(c->id()), gate_(std::move(g)) {}

    ~response_slot() {
        if (answered_.exchange(true)) {
            return;
        }
        try {
            connection::deliver(weak_, raw_, id_, gate_, internal_error());
        } catch (...) {
            // Nothing can be answered now; the connection closes when the server stops.
        }
    }

    response_slot(const response_slot&) = delete;
    response_slot& operator=(const response_slot&) = delete;

    void complete(response&& res) {
        if (answered_.exchange(true)) {
            return;
        }
        connection::deliver(weak_, raw_, id_, gate_, std::move(res));
    }

    static response internal_error() {
        return make_json_response(11, true, bhttp::status::internal_server_error,
                                  R"({"error":"internal error"})");
    }

private:
    std::weak_ptr<connection> weak_;
    connection* raw_;
    std::uint64_t id_;
    std::shared_ptr<gate> gate_;
    std::atomic<bool> answered_{false};
};

std::string remote_address(const socket_type& socket) {
    error_code ec;
    auto const ep = socket.remote_endpoint(ec);
    return ec ? std::string{} : ep.address().to_string();
}

bool body_forbidden(bhttp::status s) {
    return bhttp::to_status_class(s) == bhttp::status_class::informational ||
           s == bhttp::status::no_content || s == bhttp::status::not_modified;
}

}  // namespace

// ---- server_core -------------------------------------------------------------------------

server_core::server_core(server_options o, handler h)
    : options(std::move(o)), on_request(std::move(h)) {}

bool server_core::add(const std::shared_ptr<connection>& c) {
    std::lock_guard lock(mutex_);
    if (stopping_) {
        return false;
    }
    connections_.emplace(c->id(), c);
    return true;
}

void server_core::remove(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    connections_.erase(id);
}

std::vector<std::shared_ptr<connection>> server_core::begin_stop() {
    std::vector<std::shared_ptr<connection>> open;
    std::lock_guard lock(mutex_);
    stopping_ = true;
    open.reserve(connections_.size());
    for (auto& [id, weak] : connections_) {
        if (auto c = weak.lock()) {
            open.push_back(std::move(c));
        }
    }
    return open;
}

void server_core::report(std::string_view event, std::string_view detail) const {
    if (!options.error_log) {
        return;
    }
    try {
        options.error_log(event, detail);
    } catch (...) {
        // A failing log sink must not take the io thread down.
    }
}

// ---- connection: lifetime ----------------------------------------------------------------

connection::connection(socket_type&& socket, server_core& core)
    : core_(core),
      socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      peer_{remote_address(socket_), core.next_id.fetch_add(1, std::memory_order_relaxed)} {
    core_.active.fetch_add(1, std::memory_order_relaxed);
}

connection::~connection() {
    core_.remove(id());
    core_.active.fetch_sub(1, std::memory_order_relaxed);
}

void connection::start() {
    error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    asio::dispatch(socket_.get_executor(),
                   beast::bind_front_handler(&connection::begin_request, shared_from_this()));
}

void connection::post_close() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close_now(); });
}

void connection::close_now() {
    if (closed_) {
        return;
    }
    closed_ = true;
    timer_.cancel();

    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);

    // Whoever called us holds a reference, so dropping ours cannot destroy us mid-call.
    self_.reset();
}

// ---- reading -----------------------------------------------------------------------------

void connection::begin_request() {
    if (closed_) {
        return;
    }

    // A fresh parser per request: a parser cannot be reused, and the limits apply per request.
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
        core_.options.header_limit, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(static_cast<std::uint64_t>(core_.options.body_limit));
    parser_->eager(true);
    header_checked_ = false;

    // A large body grew the buffer; do not keep that much per idle keep-alive connection.
    if (buffer_.size() == 0 && buffer_.capacity() > body_read_size) {
        buffer_.shrink_to_fit();
    }

    // Between keep-alive requests the idle timeout applies; once a byte of the request is here
    // (or for a connection's first request) the whole request must arrive within read_timeout.
    read_deadline_set_ = requests_ == 0 || buffer_.size() != 0;
    arm(read_deadline_set_ ? core_.options.read_timeout : core_.options.idle_timeout);
    parse();
}

// Parses what is buffered and reads more when the parser needs it. Pipelined requests already
// in the buffer are parsed without touching the socket.
void connection::parse() {
    if (buffer_.size() == 0) {
        return read_more();
    }

    error_code ec;
    buffer_.consume(parser_->put(buffer_.data(), ec));
    if (ec && ec != bhttp::error::need_more) {
        return reject(ec);
    }
    if (parser_->is_done()) {
        return dispatch_request();
    }
    if (!header_checked_ && parser_->is_header_done() && !check_header()) {
        return;
    }
    read_more();
}

// Once per request, when the header is complete but the body is not. A declared body over the
// limit was refused by the parser already; a client that waits for "100 Continue" gets it.
// False when the read loop must not continue now.
bool connection::check_header() {
    header_checked_ = true;

    auto const& req = parser_->get();
    if (req.version() >= 11 && beast::iequals(req[bhttp::field::expect], "100-continue")) {
        send_continue();
        return false;
    }
    return true;
}

void connection::read_more() {
    // Small reads while the header arrives keep idle buffers small; bodies read in large ones.
    auto const want = parser_->is_header_done() ? body_read_size : header_read_size;
    auto const spare = buffer_.capacity() - buffer_.size();
    socket_.async_read_some(buffer_.prepare(std::max(want, spare)),
                            beast::bind_front_handler(&connection::on_read, shared_from_this()));
}

void connection::on_read(error_code ec, std::size_t n) {
    if (closed_) {
        return;
    }

    // End of stream, a reset, or the deadline closed the socket: there is no one to answer.
    if (ec) {
        return close_now();
    }
    buffer_.commit(n);

    if (!read_deadline_set_) {
        read_deadline_set_ = true;
        arm(core_.options.read_timeout);
    }
    parse();
}

void connection::send_continue() {
    asio::async_write(socket_, asio::buffer(continue_line, sizeof(continue_line) - 1),
                      beast::bind_front_handler(&connection::on_continue_sent, shared_from_this()));
}

void connection::on_continue_sent(error_code ec, std::size_t) {
    if (closed_) {
        return;
    }
    if (ec) {
        return close_now();
    }
    parse();
}

// Answers a request that cannot be read, then closes: what follows it on the stream cannot be
// trusted to start a new request.
void connection::reject(error_code parse_error) {
    auto status = bhttp::status::bad_request;
    std::string body = R"({"error":"bad request"})";
    if (parse_error == bhttp::error::body_limit) {
        status = bhttp::status::payload_too_large;
        body = R"({"error":"request body too large"})";
    } else if (parse_error == bhttp::error::header_limit) {
        status = bhttp::status::request_header_fields_too_large;
        body = R"({"error":"request header too large"})";
    }

    method_ = parser_->get().method();  // verb::unknown until the start line is parsed
    version_ = 11;
    keep_alive_ = false;
    if (core_.options.access_log) {
        started_ = clock::now();
    }
    send(make_json_response(version_, false, status, std::move(body)));
}

// ---- the handler -------------------------------------------------------------------------

void connection::dispatch_request() {
    // No deadline while the handler works: it may wait on a database commit.
    deadline_ = clock::time_point::max();
    ++requests_;

    request req = parser_->release();
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    method_ = req.method();
    if (core_.options.access_log) {
        started_ = clock::now();
    }
    self_ = shared_from_this();

    auto* const outer = handling_connection;
    auto const outer_id = handling_id;
    handling_connection = this;
    handling_id = id();
    invoke(std::move(req));
    handling_connection = outer;
    handling_id = outer_id;
}

void connection::invoke(request&& req) {
    auto slot = std::make_shared<response_slot>(self_, core_.gate_);
    try {
        core_.on_request(
            std::move(req), [slot](response&& res) { slot->complete(std::move(res)); }, peer_);
    } catch (...) {
        core_.report("request handler threw", "status=500 connection=" + std::to_string(id()));
        slot->complete(response_slot::internal_error());
    }
}

void connection::deliver(const std::weak_ptr<connection>& weak, connection* raw, std::uint64_t id,
                         const std::shared_ptr<gate>& g, response&& res) {
    // Called from inside this connection's own handler: we are on its strand already.
    if (handling_connection == raw && handling_id == id) {
        return raw->on_response(std::move(res));
    }

    std::lock_guard lock(g->mutex);
    if (!g->open) {
        return;
    }
    auto c = weak.lock();
    if (!c) {
        return;
    }
    auto const ex = c->socket_.get_executor();
    asio::post(
        ex, [c = std::move(c), res = std::move(res)]() mutable { c->on_response(std::move(res)); });
}

void connection::on_response(response&& res) {
    // Closed by stop() while the handler worked: nobody waits for this answer.
    if (closed_ || !self_) {
        return;
    }
    auto const self = std::move(self_);
    send(std::move(res));
}

// ---- writing -----------------------------------------------------------------------------

void connection::send(response&& res) {
    res_ = std::move(res);
    finish_headers();
    arm(core_.options.write_timeout);
    bhttp::async_write(socket_, res_,
                       beast::bind_front_handler(&connection::on_write, shared_from_this()));
}

// The connection, not the handler, decides the version, the keep-alive and the framing.
void connection::finish_headers() {
    keep_alive_ = keep_alive_ && res_.keep_alive();
    res_.version(version_);
    res_.keep_alive(keep_alive_);
    res_.set(bhttp::field::server, server_name);

    if (body_forbidden(res_.result())) {
        res_.body().clear();
        res_.erase(bhttp::field::content_length);
        return;
    }
    res_.prepare_payload();
    if (method_ == bhttp::verb::head) {
        res_.body().clear();
    }
}

void connection::on_write(error_code ec, std::size_t) {
    if (closed_) {
        return;
    }
    if (ec) {
        return close_now();
    }
    log_access();
    res_ = {};

    if (!keep_alive_) {
        return linger();
    }
    begin_request();
}

void connection::log_access() const {
    if (!core_.options.access_log) {
        return;
    }
    auto const elapsed = clock::now() - started_;
    access_entry const entry{method_, res_.result_int(), res_.body().size(),
                             std::chrono::duration_cast<std::chrono::microseconds>(elapsed), id()};
    try {
        core_.options.access_log(entry);
    } catch (...) {
        core_.report("access log threw", "");
    }
}

// ---- closing -----------------------------------------------------------------------------

// Half-closes and drains what the client still sends, so that its unread bytes do not turn our
// close into a reset that can destroy the response before the client reads it.
void connection::linger() {
    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    arm(std::min(core_.options.read_timeout, linger_limit));
    buffer_.clear();
    socket_.async_read_some(buffer_.prepare(header_read_size),
                            beast::bind_front_handler(&connection::on_drain, shared_from_this()));
}

void connection::on_drain(error_code ec, std::size_t) {
    if (closed_) {
        return;
    }
    if (ec) {
        return close_now();
    }
    socket_.async_read_some(buffer_.prepare(header_read_size),
                            beast::bind_front_handler(&connection::on_drain, shared_from_this()));
}

// ---- deadlines ---------------------------------------------------------------------------

// One timer per connection, woken lazily: moving the deadline later is a store, so a busy
// keep-alive connection does not touch the timer queue on every read and write.
void connection::arm(std::chrono::milliseconds d) {
    deadline_ = clock::now() + d;
    if (!timer_waiting_ || deadline_ < timer_.expiry()) {
        wait_timer();
    }
}

void connection::wait_timer() {
    timer_waiting_ = true;
    timer_.expires_at(deadline_);
    timer_.async_wait(beast::bind_front_handler(&connection::on_timer, shared_from_this()));
}

void connection::on_timer(error_code ec) {
    // Aborted: re-armed earlier, or closed.
    if (ec == asio::error::operation_aborted || closed_) {
        return;
    }
    timer_waiting_ = false;
    if (deadline_ == clock::time_point::max()) {
        return;
    }
    if (clock::now() < deadline_) {
        return wait_timer();
    }
    close_now();
}

}  // namespace tributary::host::http::detail
