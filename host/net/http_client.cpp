// http_client.cpp: Beast over TCP or OpenSSL, driven by an io_context the calling thread runs.
#include "net/http_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cctype>
#include <exception>

namespace tributary::host::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace urls = boost::urls;
using tcp = asio::ip::tcp;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;
using request = http::request<http::string_body>;

constexpr std::size_t header_limit = 64 * 1024;

// Where a request goes, taken apart from its URL.
struct target {
    bool tls = false;
    std::string host;       // as resolved and verified: IPv6 without brackets
    std::string port;       // always numeric text
    std::string authority;  // host[:port] as written in the URL, for Host and error lines
    std::string resource;   // path and query

    bool same_origin(const target& other) const {
        return tls == other.tls && host == other.host && port == other.port;
    }
};

bool is_ip_literal(const std::string& host) {
    boost::system::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

bool has_line_break(std::string_view s) {
    return s.find_first_of("\r\n") != std::string_view::npos;
}

// Fills out from url; the error never repeats the URL, whose query may hold a key.
std::optional<std::string> parse_target(std::string_view url, target& out) {
    auto parsed = urls::parse_uri(url);
    if (!parsed) {
        return "invalid URL";
    }
    const urls::url_view& u = *parsed;
    if (u.scheme_id() != urls::scheme::http && u.scheme_id() != urls::scheme::https) {
        return "unsupported URL scheme (only http and https)";
    }
    if (u.has_userinfo()) {
        return "URL must not carry user info; send an Authorization header instead";
    }
    if (u.encoded_host().empty()) {
        return "URL has no host";
    }
    out.tls = u.scheme_id() == urls::scheme::https;
    out.host = u.host_address();
    out.port = u.has_port() ? std::string(u.port()) : (out.tls ? "443" : "80");
    out.authority = u.encoded_host_and_port();
    out.resource = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
    if (u.has_query()) {
        out.resource += "?" + std::string(u.encoded_query());
    }
    return std::nullopt;
}

fetch_result failure(std::string error) {
    fetch_result r;
    r.error = std::move(error);
    return r;
}

std::string millis(std::chrono::milliseconds d) {
    return std::to_string(d.count()) + " ms";
}

// One open connection, plain or TLS, with the read buffer that belongs to it.
struct connection {
    target origin;
    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<tls_stream> secure;
    beast::flat_buffer buffer;

    beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
};

// Where a completion handler leaves its result.
struct op_outcome {
    beast::error_code ec;
    bool done = false;
};

// What one request and response exchange produced.
struct exchange_outcome {
    fetch_result result;
    bool keep_alive = false;
    bool retryable = false;  // failed before any byte of the response on a live connection
};

}  // namespace

std::optional<std::string_view> fetch_result::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (key.size() == name.size() &&
            std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) ==
                       std::tolower(static_cast<unsigned char>(b));
            })) {
            return std::string_view(value);
        }
    }
    return std::nullopt;
}

struct http_client::impl {
    client_options options_;
    asio::io_context ioc_;
    ssl::context tls_context_{ssl::context::tls_client};
    std::string tls_setup_error_;
    std::unique_ptr<connection> conn_;
    std::size_t opened_ = 0;

    explicit impl(client_options o) : options_(std::move(o)) { setup_tls(); }

    void setup_tls();
    fetch_result fetch(std::string_view method, std::string_view url, const header_list& headers,
                       std::string_view body, std::chrono::milliseconds timeout);
    std::optional<std::string> build_request(std::string_view method, const target& t,
                                             const header_list& headers, std::string_view body,
                                             request& req) const;
    std::optional<std::string> open(const target& t);
    std::optional<std::string> resolve(const target& t, std::chrono::steady_clock::time_point by,
                                       tcp::resolver::results_type& results);
    std::optional<std::string> handshake(connection& c, std::chrono::steady_clock::time_point by);
    exchange_outcome exchange(const request& req, std::chrono::milliseconds limit);
    template <class Stream>
    exchange_outcome exchange_on(Stream& stream, const request& req,
                                 std::chrono::milliseconds limit);
    exchange_outcome read_failure(const http::response_parser<http::string_body>& parser,
                                  beast::error_code ec, std::chrono::milliseconds limit) const;

    // Starts one asynchronous operation and runs the io_context until it has completed. The
    // handler owns its result, so a late completion after a give-up never writes freed memory.
    template <class Initiate>
    beast::error_code await(Initiate&& initiate) {
        auto outcome = std::make_shared<op_outcome>();
        std::forward<Initiate>(initiate)([outcome](beast::error_code ec, auto&&...) {
            outcome->ec = ec;
            outcome->done = true;
        });
        ioc_.restart();
        while (!outcome->done && ioc_.run_one() > 0) {
        }
        return outcome->ec;
    }
};

void http_client::impl::setup_tls() {
    SSL_CTX_set_min_proto_version(tls_context_.native_handle(), TLS1_2_VERSION);
    tls_context_.set_verify_mode(ssl::verify_peer);
    try {
        if (options_.ca_file) {
            tls_context_.load_verify_file(options_.ca_file->string());
        } else {
            tls_context_.set_default_verify_paths();
        }
    } catch (const std::exception& e) {
        tls_setup_error_ = "cannot load the trusted certificates: " + std::string(e.what());
    }
}

fetch_result http_client::impl::fetch(std::string_view method, std::string_view url,
                                      const header_list& headers, std::string_view body,
                                      std::chrono::milliseconds timeout) {
    target t;
    if (auto err = parse_target(url, t)) {
        return failure(*err);
    }
    request req;
    if (auto err = build_request(method, t, headers, body, req)) {
        return failure(*err);
    }
    auto limit = timeout.count() > 0 ? timeout : options_.read_timeout;

    bool reused = conn_ && conn_->origin.same_origin(t);
    if (!reused) {
        if (auto err = open(t)) {
            return failure(*err);
        }
    }
    auto outcome = exchange(req, limit);

    // A kept-alive connection the server has closed meanwhile fails before any byte: once more.
    if (reused && outcome.retryable) {
        if (auto err = open(t)) {
            return failure(*err);
        }
        outcome = exchange(req, limit);
    }
    if (!outcome.keep_alive) {
        conn_.reset();
    }
    return std::move(outcome.result);
}

std::optional<std::string> http_client::impl::build_request(std::string_view method,
                                                            const target& t,
                                                            const header_list& headers,
                                                            std::string_view body,
                                                            request& req) const {
    if (method.empty() || has_line_break(method) || method.find(' ') != std::string_view::npos) {
        return "invalid HTTP method";
    }
    auto verb = http::string_to_verb(method);
    if (verb == http::verb::unknown) {
        req.method_string(method);
    } else {
        req.method(verb);
    }
    req.version(11);
    req.target(t.resource);
    for (const auto& [name, value] : headers) {
        if (name.empty() || has_line_break(name) || has_line_break(value)) {
            return "invalid request header";
        }
        req.insert(name, value);
    }
    if (req.find(http::field::host) == req.end()) {
        req.set(http::field::host, t.authority);
    }
    if (req.find(http::field::user_agent) == req.end()) {
        req.set(http::field::user_agent, options_.user_agent);
    }
    req.body() = std::string(body);
    req.prepare_payload();
    return std::nullopt;
}

std::optional<std::string> http_client::impl::open(const target& t) {
    conn_.reset();
    if (t.tls && !tls_setup_error_.empty()) {
        return tls_setup_error_;
    }
    auto by = std::chrono::steady_clock::now() + options_.connect_timeout;
    tcp::resolver::results_type endpoints;
    if (auto err = resolve(t, by, endpoints)) {
        return err;
    }

    auto c = std::make_unique<connection>();
    c->origin = t;
    if (t.tls) {
        c->secure = std::make_unique<tls_stream>(ioc_, tls_context_);
    } else {
        c->plain = std::make_unique<beast::tcp_stream>(ioc_);
    }
    c->lowest().expires_at(by);
    auto ec = await([&](auto handler) { c->lowest().async_connect(endpoints, handler); });
    if (ec == beast::error::timeout) {
        return "timed out after " + millis(options_.connect_timeout) + " connecting to " +
               t.authority;
    }
    if (ec) {
        return "cannot connect to " + t.authority + ": " + ec.message();
    }
    ++opened_;

    if (t.tls) {
        if (auto err = handshake(*c, by)) {
            return err;
        }
    }
    c->lowest().expires_never();
    conn_ = std::move(c);
    return std::nullopt;
}

std::optional<std::string> http_client::impl::resolve(const target& t,
                                                      std::chrono::steady_clock::time_point by,
                                                      tcp::resolver::results_type& results) {
    // getaddrinfo cannot be interrupted: past the deadline the lookup is abandoned, and its late
    // completion lands in state it shares with its handler.
    struct lookup {
        beast::error_code ec;
        tcp::resolver::results_type results;
        bool done = false;
        bool timed_out = false;
    };
    auto state = std::make_shared<lookup>();
    tcp::resolver resolver(ioc_);
    asio::steady_timer timer(ioc_, by);
    resolver.async_resolve(t.host, t.port, [state](beast::error_code ec, auto found) {
        state->ec = ec;
        state->results = std::move(found);
        state->done = true;
    });
    timer.async_wait([state](beast::error_code ec) { state->timed_out = !ec; });
    ioc_.restart();
    while (!state->done && !state->timed_out && ioc_.run_one() > 0) {
    }
    timer.cancel();
    resolver.cancel();

    if (!state->done) {
        return "timed out after " + millis(options_.connect_timeout) + " resolving " + t.host;
    }
    if (state->ec) {
        return "cannot resolve " + t.host + ": " + state->ec.message();
    }
    results = std::move(state->results);
    return std::nullopt;
}

std::optional<std::string> http_client::impl::handshake(connection& c,
                                                        std::chrono::steady_clock::time_point by) {
    const std::string& host = c.origin.host;
    SSL* native = c.secure->native_handle();

    // SNI carries names only; an IP literal is checked against the certificate's IP entries.
    if (!is_ip_literal(host)) {
        SSL_set_tlsext_host_name(native, host.c_str());
    }
    c.secure->set_verify_callback([verify = ssl::host_name_verification(host)](
                                      bool preverified, ssl::verify_context& ctx) mutable {
        bool ok = verify(preverified, ctx);
        if (preverified && !ok) {
            X509_STORE_CTX_set_error(ctx.native_handle(), X509_V_ERR_HOSTNAME_MISMATCH);
        }
        return ok;
    });

    c.lowest().expires_at(by);
    auto ec =
        await([&](auto handler) { c.secure->async_handshake(ssl::stream_base::client, handler); });
    if (!ec) {
        return std::nullopt;
    }
    std::string prefix = "TLS handshake with " + c.origin.authority + " failed: ";
    if (ec == beast::error::timeout) {
        return prefix + "timed out after " + millis(options_.connect_timeout);
    }
    long verdict = SSL_get_verify_result(native);
    if (verdict != X509_V_OK) {
        return prefix + "certificate verify failed: " + X509_verify_cert_error_string(verdict);
    }
    return prefix + ec.message();
}

exchange_outcome http_client::impl::exchange(const request& req, std::chrono::milliseconds limit) {
    if (conn_->secure) {
        return exchange_on(*conn_->secure, req, limit);
    }
    return exchange_on(*conn_->plain, req, limit);
}

template <class Stream>
exchange_outcome http_client::impl::exchange_on(Stream& stream, const request& req,
                                                std::chrono::milliseconds limit) {
    conn_->lowest().expires_after(limit);
    auto ec = await([&](auto handler) { http::async_write(stream, req, handler); });
    if (ec) {
        if (ec == beast::error::timeout) {
            return {failure("timed out after " + millis(limit) + " sending the request"), false,
                    false};
        }
        return {failure("sending the request failed: " + ec.message()), false, true};
    }

    http::response_parser<http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(options_.body_limit);
    parser.skip(req.method() == http::verb::head);
    ec = await([&](auto handler) { http::async_read(stream, conn_->buffer, parser, handler); });
    conn_->lowest().expires_never();
    if (ec) {
        return read_failure(parser, ec, limit);
    }

    exchange_outcome out;
    auto& res = parser.get();
    out.result.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
        out.result.headers.emplace_back(std::string(field.name_string()),
                                        std::string(field.value()));
    }
    out.keep_alive = res.keep_alive() && req.keep_alive() && !parser.need_eof();
    out.result.body = std::move(res.body());
    return out;
}

exchange_outcome http_client::impl::read_failure(
    const http::response_parser<http::string_body>& parser, beast::error_code ec,
    std::chrono::milliseconds limit) const {
    exchange_outcome out;
    bool nothing_yet = !parser.got_some() && conn_->buffer.size() == 0;
    if (ec == beast::error::timeout) {
        out.result.error = "timed out after " + millis(limit) + " waiting for the response";
    } else if (ec == http::error::body_limit) {
        out.result.error =
            "response body exceeds the limit of " + std::to_string(options_.body_limit) + " bytes";
    } else if (nothing_yet) {
        out.result.error = "connection closed before any response: " + ec.message();
        out.retryable = true;
    } else if (parser.is_header_done()) {
        out.result.error =
            "connection closed before the whole response body arrived: " + ec.message();
    } else {
        out.result.error = "reading the response failed: " + ec.message();
    }
    return out;
}

http_client::http_client(client_options o) : impl_(std::make_unique<impl>(std::move(o))) {}

http_client::~http_client() = default;

fetch_result http_client::fetch(std::string_view method, std::string_view url,
                                const header_list& headers, std::string_view body,
                                std::chrono::milliseconds timeout) {
    // Errors are values here; only allocation can still throw underneath.
    try {
        return impl_->fetch(method, url, headers, body, timeout);
    } catch (const std::exception& e) {
        impl_->conn_.reset();
        return failure(std::string("request failed: ") + e.what());
    }
}

std::size_t http_client::connections_opened() const {
    return impl_->opened_;
}

}  // namespace tributary::host::net
