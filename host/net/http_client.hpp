// http_client.hpp: a synchronous HTTP(S) client with keep-alive, timeouts and verified TLS.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tributary::host::net {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct client_options {
    std::chrono::milliseconds connect_timeout{10000};  // resolve, connect and TLS handshake
    std::chrono::milliseconds read_timeout{30000};     // per request, whole response
    std::optional<std::filesystem::path> ca_file;      // else the system store
    std::size_t body_limit = 64u << 20;
    std::string user_agent = "tributary/0.1";
};

struct fetch_result {
    int status = 0;  // 0 = transport error, see error
    header_list headers;
    std::string body;
    std::string error;  // one line, never contains secrets or the URL query

    // The first header of that name, compared without case.
    std::optional<std::string_view> header(std::string_view name) const;
};

// One client per job thread; it is not safe to share across threads. It keeps the last
// connection open and reuses it for the next request to the same scheme, host and port.
class http_client {
public:
    explicit http_client(client_options o = {});
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    // Sends one request and reads the whole response. A timeout of zero means read_timeout.
    fetch_result fetch(std::string_view method, std::string_view url, const header_list& headers,
                       std::string_view body, std::chrono::milliseconds timeout = {});

    // How many TCP connections this client has opened so far.
    std::size_t connections_opened() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace tributary::host::net
