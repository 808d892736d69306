// http_client_test.cpp: the outbound client against the SatisMeter emulator, plain and TLS.
#include "net/http_client.hpp"

#define BOOST_TEST_MODULE http_client
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "emulator/satismeter_emulator.hpp"
#include "emulator/test_ca.hpp"

#include <unistd.h>
#include <filesystem>
#include <string>

namespace net = tributary::host::net;
namespace emu = tributary::emulator;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* project = "5f1e2d3c4b5a697887766554";
constexpr const char* read_key = "read-key-for-tests";
constexpr const char* write_key = "0123456789abcdef";
constexpr std::int64_t fixed_now = 1748779200000;  // 2025-06-01T12:00:00Z
constexpr std::int64_t day_ms = 86'400'000;

emu::emulator_options make_options(std::size_t responses) {
    emu::emulator_options o;
    o.data.responses = responses;
    o.data.seed = 7;
    o.data.now_ms = fixed_now;
    o.api_key = read_key;
    o.write_key = write_key;
    return o;
}

net::header_list bearer(const std::string& key) {
    return {{"Authorization", "Bearer " + key}};
}

std::string responses_url(const emu::satismeter_emulator& e, const std::string& query) {
    return e.base_url() + "/api/v3/projects/" + project + "/responses?" + query;
}

// An emulator of 250 responses on 127.0.0.1, plain HTTP.
struct plain_emulator {
    emu::satismeter_emulator emulator{make_options(250)};
    std::string page_one;

    plain_emulator() {
        emulator.start();
        page_one = responses_url(emulator, "startDate=2000-01-01&pageSize=100");
    }

    net::fetch_result get(net::http_client& client, const std::string& url,
                          std::chrono::milliseconds timeout = {}) {
        return client.fetch("GET", url, bearer(read_key), "", timeout);
    }
};

// A fresh directory for PEM files, removed afterwards.
struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        path = std::filesystem::temp_directory_path() /
               ("tributary-net-test-" + std::to_string(::getpid()));
        std::filesystem::create_directories(path);
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
};

// An emulator serving HTTPS with the given certificate.
std::unique_ptr<emu::satismeter_emulator> tls_emulator(const std::filesystem::path& cert,
                                                       const std::filesystem::path& key) {
    auto o = make_options(20);
    o.tls_cert = cert;
    o.tls_key = key;
    auto e = std::make_unique<emu::satismeter_emulator>(o);
    e->start();
    return e;
}

std::size_t in_last_30_days(const emu::satismeter_emulator& e) {
    std::size_t n = 0;
    while (n < e.dataset_size() && e.dataset().created_ms(n) >= fixed_now - 30 * day_ms) {
        ++n;
    }
    return n;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(plain, plain_emulator)

BOOST_AUTO_TEST_CASE(pages_through_the_whole_data_set_in_order) {
    net::http_client client;
    std::vector<json::value> seen;
    std::string url = page_one;
    for (int page = 0; page < 10; ++page) {
        auto r = get(client, url);
        BOOST_TEST_REQUIRE(r.status == 200);
        auto body = json::parse(r.body).as_object();
        for (const auto& item : body.at("data").as_array()) {
            seen.push_back(item);
        }
        const auto& meta = body.at("page").as_object();
        BOOST_TEST(meta.at("size").as_int64() ==
                   static_cast<std::int64_t>(body.at("data").as_array().size()));
        if (!meta.at("hasNextPage").as_bool()) {
            BOOST_TEST(!meta.contains("nextPageCursor"));
            break;
        }
        url = page_one + "&pageCursor=" + json::value_to<std::string>(meta.at("nextPageCursor"));
    }

    BOOST_TEST_REQUIRE(seen.size() == 250u);
    for (std::size_t i = 0; i < seen.size(); ++i) {
        BOOST_TEST(seen[i] == json::value(emulator.response_at(i)), "response " << i);
    }
}

BOOST_AUTO_TEST_CASE(keeps_one_connection_alive_across_pages) {
    net::http_client client;
    auto first = get(client, page_one);
    auto cursor = json::parse(first.body).at("page").at("nextPageCursor").as_string();
    auto second = get(client, page_one + "&pageCursor=" + std::string(cursor));

    BOOST_TEST(first.status == 200);
    BOOST_TEST(second.status == 200);
    BOOST_TEST(client.connections_opened() == 1u);
    BOOST_TEST(emulator.stats().connections == 1u);
}

BOOST_AUTO_TEST_CASE(write_key_and_missing_key_get_401) {
    net::http_client client;
    auto with_write_key = client.fetch("GET", page_one, bearer(write_key), "");
    auto without_key = client.fetch("GET", page_one, {}, "");

    BOOST_TEST(with_write_key.status == 401);
    BOOST_TEST(without_key.status == 401);
}

BOOST_AUTO_TEST_CASE(unknown_project_gets_404) {
    net::http_client client;
    auto r = get(client, emulator.base_url() +
                             "/api/v3/projects/000000000000000000000000/responses?pageSize=10");

    BOOST_TEST(r.status == 404);
}

BOOST_AUTO_TEST_CASE(without_start_date_only_the_last_30_days_come_back) {
    net::http_client client;
    auto r = get(client, responses_url(emulator, "pageSize=100"));
    BOOST_TEST_REQUIRE(r.status == 200);
    auto data = json::parse(r.body).at("data").as_array();

    auto expected = in_last_30_days(emulator);
    BOOST_TEST_REQUIRE(expected > 0u);
    BOOST_TEST_REQUIRE(expected < 100u);
    BOOST_TEST(data.size() == expected);
    for (std::size_t i = 0; i < data.size(); ++i) {
        BOOST_TEST(data[i] == json::value(emulator.response_at(i)));
    }
}

BOOST_AUTO_TEST_CASE(passes_429_and_retry_after_seconds_through) {
    emu::fault_plan faults;
    faults.rate_limit = 1;
    faults.retry_after_seconds = 7;
    emulator.set_faults(faults);
    net::http_client client;

    auto limited = get(client, page_one);
    auto after = get(client, page_one);

    BOOST_TEST(limited.status == 429);
    BOOST_TEST_REQUIRE(limited.header("retry-after").has_value());
    BOOST_TEST(*limited.header("Retry-After") == "7");
    BOOST_TEST(after.status == 200);
}

BOOST_AUTO_TEST_CASE(passes_429_with_an_http_date_through) {
    emu::fault_plan faults;
    faults.rate_limit_date = 1;
    faults.retry_after_seconds = 2;
    emulator.set_faults(faults);
    net::http_client client;

    auto limited = get(client, page_one);

    BOOST_TEST(limited.status == 429);
    auto value = std::string(limited.header("Retry-After").value_or(""));
    BOOST_TEST(value.size() == 29u);
    BOOST_TEST(value.ends_with(" GMT"));
    BOOST_TEST(value[3] == ',');
}

BOOST_AUTO_TEST_CASE(reports_server_errors_by_status) {
    emu::fault_plan faults;
    faults.server_error = 1;
    emulator.set_faults(faults);
    net::http_client client;
    auto internal = get(client, page_one);
    faults.server_error_status = 503;
    emulator.set_faults(faults);
    auto unavailable = get(client, page_one);

    BOOST_TEST(internal.status == 500);
    BOOST_TEST(unavailable.status == 503);
    BOOST_TEST(internal.error.empty());
}

BOOST_AUTO_TEST_CASE(reports_a_dropped_connection_as_a_transport_error) {
    emu::fault_plan faults;
    faults.drop = 1;
    emulator.set_faults(faults);
    net::http_client client;

    auto r = get(client, page_one);

    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.error.starts_with("connection closed before any response"), r.error);
    BOOST_TEST(client.connections_opened() == 1u);
}

BOOST_AUTO_TEST_CASE(retries_once_when_a_kept_connection_was_dropped) {
    net::http_client client;
    BOOST_TEST_REQUIRE(get(client, page_one).status == 200);
    emu::fault_plan faults;
    faults.drop = 1;
    emulator.set_faults(faults);

    auto r = get(client, page_one);

    BOOST_TEST(r.status == 200);
    BOOST_TEST(client.connections_opened() == 2u);
    BOOST_TEST(emulator.stats().faults_injected == 1u);
}

BOOST_AUTO_TEST_CASE(does_not_retry_a_second_drop) {
    net::http_client client;
    BOOST_TEST_REQUIRE(get(client, page_one).status == 200);
    emu::fault_plan faults;
    faults.drop = 2;
    emulator.set_faults(faults);

    auto r = get(client, page_one);

    BOOST_TEST(r.status == 0);
    BOOST_TEST(client.connections_opened() == 2u);
    BOOST_TEST(emulator.stats().responses_requests == 3u);
}

BOOST_AUTO_TEST_CASE(reports_a_truncated_body_as_a_transport_error) {
    emu::fault_plan faults;
    faults.truncate = 1;
    emulator.set_faults(faults);
    net::http_client client;

    auto r = get(client, page_one);
    auto next = get(client, page_one);

    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.body.empty());
    BOOST_TEST(r.error.starts_with("connection closed before the whole response body arrived"),
               r.error);
    BOOST_TEST(next.status == 200);
    BOOST_TEST(client.connections_opened() == 2u);
}

BOOST_AUTO_TEST_CASE(times_out_on_a_slow_answer) {
    emu::fault_plan faults;
    faults.slow = 1;
    faults.slow_delay = 2000ms;
    emulator.set_faults(faults);
    net::client_options options;
    options.read_timeout = 300ms;
    net::http_client client(options);

    auto r = get(client, page_one);
    auto next = get(client, page_one);

    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.error == "timed out after 300 ms waiting for the response");
    BOOST_TEST(next.status == 200);
}

BOOST_AUTO_TEST_CASE(waits_for_a_slow_answer_within_the_timeout) {
    emu::fault_plan faults;
    faults.slow = 1;
    faults.slow_delay = 100ms;
    emulator.set_faults(faults);
    net::http_client client;

    auto r = get(client, page_one, 5000ms);

    BOOST_TEST(r.status == 200);
}

BOOST_AUTO_TEST_CASE(fails_the_chosen_page_only) {
    emu::fault_plan faults;
    faults.fail_page = 2;
    faults.fail_page_status = 502;
    emulator.set_faults(faults);
    net::http_client client;

    auto first = get(client, page_one);
    auto cursor = std::string(json::parse(first.body).at("page").at("nextPageCursor").as_string());
    auto second = get(client, page_one + "&pageCursor=" + cursor);
    auto again = get(client, page_one + "&pageCursor=" + cursor);

    BOOST_TEST(first.status == 200);
    BOOST_TEST(second.status == 502);
    BOOST_TEST(again.status == 200);
}

BOOST_AUTO_TEST_CASE(opens_a_new_connection_after_connection_close) {
    net::http_client client;
    auto headers = bearer(read_key);
    headers.emplace_back("Connection", "close");

    auto first = client.fetch("GET", page_one, headers, "");
    auto second = client.fetch("GET", page_one, headers, "");

    BOOST_TEST(first.status == 200);
    BOOST_TEST(second.status == 200);
    BOOST_TEST(client.connections_opened() == 2u);
}

BOOST_AUTO_TEST_CASE(refuses_a_body_over_the_limit) {
    net::client_options options;
    options.body_limit = 1000;
    net::http_client client(options);

    auto r = get(client, page_one);

    BOOST_TEST(r.status == 0, r.body);
    BOOST_TEST(r.error == "response body exceeds the limit of 1000 bytes");
}

BOOST_AUTO_TEST_CASE(posts_a_body) {
    net::http_client client;
    auto r = client.fetch("POST", emulator.base_url() + "/_emulator/faults",
                          {{"Content-Type", "application/json"}}, R"({"serverError": 1})");
    auto failed = get(client, page_one);

    BOOST_TEST(r.status == 200);
    BOOST_TEST(failed.status == 500);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(rejects_schemes_other_than_http_and_https) {
    net::http_client client;
    auto r = client.fetch("GET", "ftp://127.0.0.1/file?key=secret", {}, "");

    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.error == "unsupported URL scheme (only http and https)");
}

BOOST_AUTO_TEST_CASE(rejects_a_line_break_in_a_header) {
    net::http_client client;
    auto r = client.fetch("GET", "http://127.0.0.1:9/", {{"X-Test", "a\r\nInjected: 1"}}, "");

    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.error == "invalid request header");
}

BOOST_AUTO_TEST_CASE(error_never_repeats_the_url_query) {
    // A port that was free a moment ago: the connection is refused.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor probe(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    auto port = probe.local_endpoint().port();
    probe.close();
    net::http_client client;

    auto r = client.fetch("GET",
                          "http://127.0.0.1:" + std::to_string(port) +
                              "/api/responses?project=p&apiKey=hunter2-secret",
                          {}, "");

    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.error.starts_with("cannot connect to 127.0.0.1:" + std::to_string(port)), r.error);
    BOOST_TEST(r.error.find("hunter2") == std::string::npos);
    BOOST_TEST(r.error.find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(times_out_connecting_when_the_listen_queue_is_full) {
    // Once the accept queue of a listener that never accepts is full, the kernel drops SYNs.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor listener(ioc);
    boost::asio::ip::tcp::endpoint at(boost::asio::ip::make_address("127.0.0.1"), 0);
    listener.open(at.protocol());
    listener.bind(at);
    listener.listen(0);
    // Connections started but never driven: their SYNs fill the queue and then wait.
    std::vector<boost::asio::ip::tcp::socket> fillers;
    for (int i = 0; i < 4; ++i) {
        fillers.emplace_back(ioc);
        fillers.back().async_connect(listener.local_endpoint(), [](boost::system::error_code) {});
    }
    net::client_options options;
    options.connect_timeout = 300ms;
    net::http_client client(options);

    auto port = std::to_string(listener.local_endpoint().port());
    auto r = client.fetch("GET", "http://127.0.0.1:" + port + "/", {}, "");

    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.error == "timed out after 300 ms connecting to 127.0.0.1:" + port);
}

BOOST_AUTO_TEST_CASE(times_out_when_the_tls_handshake_stalls) {
    // A listener whose queue takes the connection but nobody ever speaks TLS on it.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor listener(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    net::client_options options;
    options.connect_timeout = 300ms;
    net::http_client client(options);

    auto port = std::to_string(listener.local_endpoint().port());
    auto r = client.fetch("GET", "https://127.0.0.1:" + port + "/", {}, "");

    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.error ==
               "TLS handshake with 127.0.0.1:" + port + " failed: timed out after 300 ms");
    BOOST_TEST(client.connections_opened() == 1u);
}

BOOST_AUTO_TEST_SUITE(tls)

BOOST_AUTO_TEST_CASE(verifies_a_server_signed_by_the_given_ca) {
    temp_dir dir;
    auto pki = emu::write_test_pki(dir.path);
    auto server = tls_emulator(pki.server_cert, pki.server_key);
    net::client_options options;
    options.ca_file = pki.ca_cert;
    net::http_client client(options);

    auto first =
        client.fetch("GET", responses_url(*server, "startDate=2000-01-01"), bearer(read_key), "");
    auto second = client.fetch("GET", responses_url(*server, "startDate=2000-01-01&pageSize=3"),
                               bearer(read_key), "");

    BOOST_TEST(server->base_url().starts_with("https://127.0.0.1:"));
    BOOST_TEST_REQUIRE(first.status == 200, first.error);
    BOOST_TEST(json::parse(first.body).at("data").as_array().size() == 20u);
    BOOST_TEST(second.status == 200);
    BOOST_TEST(client.connections_opened() == 1u);
}

BOOST_AUTO_TEST_CASE(verifies_the_dns_name_localhost) {
    temp_dir dir;
    auto pki = emu::write_test_pki(dir.path);
    auto server = tls_emulator(pki.server_cert, pki.server_key);
    net::client_options options;
    options.ca_file = pki.ca_cert;
    net::http_client client(options);

    auto r = client.fetch("GET",
                          "https://localhost:" + std::to_string(server->port()) +
                              "/api/v3/projects/" + project + "/responses?pageSize=1",
                          bearer(read_key), "");

    BOOST_TEST(r.status == 200, r.error);
}

BOOST_AUTO_TEST_CASE(refuses_an_untrusted_certificate) {
    temp_dir dir;
    auto pki = emu::write_test_pki(dir.path);
    auto server = tls_emulator(pki.untrusted_cert, pki.untrusted_key);
    net::client_options options;
    options.ca_file = pki.ca_cert;
    net::http_client client(options);

    auto r = client.fetch("GET", responses_url(*server, "pageSize=1"), bearer(read_key), "");

    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.error == "TLS handshake with 127.0.0.1:" + std::to_string(server->port()) +
                              " failed: certificate verify failed: self-signed certificate");
    BOOST_TEST(server->stats().requests == 0u);
}

BOOST_AUTO_TEST_CASE(refuses_the_test_ca_with_the_system_store) {
    temp_dir dir;
    auto pki = emu::write_test_pki(dir.path);
    auto server = tls_emulator(pki.server_cert, pki.server_key);
    net::http_client client;

    auto r = client.fetch("GET", responses_url(*server, "pageSize=1"), bearer(read_key), "");

    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.error.find("certificate verify failed") != std::string::npos, r.error);
}

BOOST_AUTO_TEST_CASE(refuses_a_certificate_for_another_host) {
    temp_dir dir;
    auto pki = emu::write_test_pki(dir.path);
    auto server = tls_emulator(pki.wrong_host_cert, pki.wrong_host_key);
    net::client_options options;
    options.ca_file = pki.ca_cert;
    net::http_client client(options);

    auto r = client.fetch("GET", responses_url(*server, "pageSize=1"), bearer(read_key), "");

    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.error == "TLS handshake with 127.0.0.1:" + std::to_string(server->port()) +
                              " failed: certificate verify failed: hostname mismatch");
    BOOST_TEST(server->stats().requests == 0u);
}

BOOST_AUTO_TEST_CASE(reports_a_missing_ca_file) {
    net::client_options options;
    options.ca_file = "/nonexistent/tributary-ca.pem";
    net::http_client client(options);

    auto r = client.fetch("GET", "https://127.0.0.1:9/", {}, "");

    BOOST_TEST(r.status == 0);
    BOOST_TEST(r.error.starts_with("cannot load the trusted certificates: "), r.error);
}

BOOST_AUTO_TEST_SUITE_END()
