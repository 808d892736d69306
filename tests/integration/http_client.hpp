// http_client.hpp: a small blocking HTTP/1.1 client for tests that drive a server on the loopback.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tributary::integration {

namespace bhttp = boost::beast::http;

// One answer, copied out of Beast's message.
struct http_answer {
    unsigned status = 0;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;

    std::optional<std::string> header(std::string_view name) const {
        for (const auto& [n, v] : headers) {
            if (boost::beast::iequals(n, name)) {
                return v;
            }
        }
        return std::nullopt;
    }

    // The body as JSON; throws when it is not.
    boost::json::value json() const { return boost::json::parse(body); }
};

// The path and query of an absolute http:// URL: what a test sends to the server it runs.
inline std::string target_of(std::string_view url) {
    auto scheme = url.find("://");
    auto slash = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
    return slash == std::string_view::npos ? std::string("/") : std::string(url.substr(slash));
}

// One connection per request, closed after the answer, so a restarted server is never talked
// to over a stale connection. Every exchange has a deadline: a hung server fails the test
// instead of hanging it.
class http_client {
public:
    using header_list = std::vector<std::pair<std::string, std::string>>;

    explicit http_client(std::uint16_t port, std::string bearer_token = {},
                         std::string address = "127.0.0.1")
        : address_(std::move(address)), port_(port), token_(std::move(bearer_token)) {}

    http_client with_token(std::string bearer_token) const {
        return http_client(port_, std::move(bearer_token), address_);
    }

    http_answer get(std::string_view target) const { return send(bhttp::verb::get, target); }
    http_answer post(std::string_view target, std::string body) const {
        return send(bhttp::verb::post, target, std::move(body));
    }
    http_answer put(std::string_view target, std::string body) const {
        return send(bhttp::verb::put, target, std::move(body));
    }
    http_answer patch(std::string_view target, std::string body) const {
        return send(bhttp::verb::patch, target, std::move(body));
    }
    http_answer post_json(std::string_view target, const boost::json::value& body) const {
        return post(target, boost::json::serialize(body));
    }
    http_answer put_json(std::string_view target, const boost::json::value& body) const {
        return put(target, boost::json::serialize(body));
    }
    http_answer patch_json(std::string_view target, const boost::json::value& body) const {
        return patch(target, boost::json::serialize(body));
    }

    // Throws std::runtime_error naming the step when the exchange fails or runs out of time.
    http_answer send(bhttp::verb method, std::string_view target, std::string body = {},
                     const header_list& headers = {}) const {
        bhttp::request<bhttp::string_body> req{method, std::string(target), 11};
        req.set(bhttp::field::host, address_ + ":" + std::to_string(port_));
        req.set(bhttp::field::user_agent, "tributary-integration-test");
        if (!token_.empty()) {
            req.set(bhttp::field::authorization, "Bearer " + token_);
        }
        bool has_body = !body.empty() || method == bhttp::verb::post ||
                        method == bhttp::verb::put || method == bhttp::verb::patch;
        if (has_body) {
            req.set(bhttp::field::content_type, "application/json");
        }
        for (const auto& [name, value] : headers) {
            req.set(name, value);
        }
        req.keep_alive(false);
        if (has_body) {
            // A "Transfer-Encoding: chunked" header among `headers` sends the body chunked.
            req.body() = std::move(body);
            if (!req.chunked()) {
                req.prepare_payload();
            }
        }
        return exchange(req);
    }

private:
    http_answer exchange(bhttp::request<bhttp::string_body>& req) const {
        namespace asio = boost::asio;
        using boost::system::error_code;

        asio::io_context ioc;
        boost::beast::tcp_stream stream(ioc);
        boost::beast::flat_buffer buffer;
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        auto deadline = std::chrono::steady_clock::now() + timeout;
        asio::ip::tcp::endpoint endpoint(asio::ip::make_address(address_), port_);

        error_code failure;
        std::string step = "connect";
        auto on_read = [&](error_code ec, std::size_t) { failure = ec; };
        auto on_write = [&](error_code, std::size_t) {
            // A server may answer and stop reading before the whole body is sent (413): read
            // its answer whatever became of the write.
            step = "read";
            stream.expires_at(deadline);
            bhttp::async_read(stream, buffer, parser, on_read);
        };
        stream.expires_at(deadline);
        stream.async_connect(endpoint, [&](error_code ec) {
            if (ec) {
                failure = ec;
                return;
            }
            step = "write";
            stream.expires_at(deadline);
            bhttp::async_write(stream, req, on_write);
        });
        ioc.run();
        if (failure) {
            throw std::runtime_error(std::string(req.method_string()) + " " +
                                     std::string(req.target()) + ": " + step +
                                     " failed: " + failure.message());
        }

        auto& res = parser.get();
        http_answer answer;
        answer.status = res.result_int();
        answer.body = std::move(res.body());
        for (const auto& field : res) {
            answer.headers.emplace_back(std::string(field.name_string()),
                                        std::string(field.value()));
        }
        return answer;
    }

    static constexpr std::chrono::seconds timeout{20};

    std::string address_;
    std::uint16_t port_;
    std::string token_;
};

}  // namespace tributary::integration
