// satismeter_emulator.hpp: a local HTTP(S) server that behaves like SatisMeter's export API.
#pragma once

#include "dataset.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tributary::emulator {

struct emulator_options {
    dataset_options data;
    std::string api_key = "emulator-read-key";
    // Shaped like SatisMeter's (16 letters and digits); refused like any other key.
    std::string write_key = "Wk3xP0aL9mQ2vR7t";
    std::string listen_address = "127.0.0.1";
    unsigned short port = 0;
    std::optional<std::filesystem::path> tls_cert;  // PEM; both set: serve HTTPS
    std::optional<std::filesystem::path> tls_key;
    std::size_t default_page_size = 50;  // when a request sends no pageSize
};

// Misbehaviour for the next requests of the responses routes. Each request takes the first
// fault in the order the fields are listed; the page fault is separate and counts its own times.
struct fault_plan {
    int rate_limit = 0;       // answers 429 with Retry-After: <retry_after_seconds>
    int rate_limit_date = 0;  // answers 429 with Retry-After: <HTTP date>
    int retry_after_seconds = 1;
    int server_error = 0;  // answers server_error_status
    int server_error_status = 500;
    int drop = 0;       // closes the connection without an answer
    int truncate = 0;   // sends half the body under the full Content-Length, then closes
    int malformed = 0;  // answers 200 with a complete body that is not JSON
    int slow = 0;       // answers after slow_delay
    std::chrono::milliseconds slow_delay{0};
    int fail_page = 0;  // 1-based page of a paged query that fails, 0: none
    int fail_page_status = 500;
    int fail_page_times = 1;
};

struct emulator_stats {
    std::uint64_t requests = 0;            // every request read, all routes
    std::uint64_t responses_requests = 0;  // requests of the responses routes
    std::uint64_t connections = 0;         // connections accepted
    std::uint64_t faults_injected = 0;
};

class api;

class satismeter_emulator {
public:
    explicit satismeter_emulator(emulator_options o = {});
    ~satismeter_emulator();
    satismeter_emulator(const satismeter_emulator&) = delete;
    satismeter_emulator& operator=(const satismeter_emulator&) = delete;

    // Binds and serves on a thread of its own; returns the port. Throws when it cannot.
    unsigned short start();
    void stop();

    unsigned short port() const { return port_; }
    bool tls() const { return options_.tls_cert.has_value(); }
    std::string base_url() const;  // e.g. http://127.0.0.1:41234
    const emulator_options& options() const { return options_; }

    const satismeter_dataset& dataset() const { return data_; }
    std::size_t dataset_size() const { return data_.size(); }
    boost::json::object response_at(std::size_t i) const { return data_.response_at(i); }
    const std::vector<pool_entry>& email_pool() const { return data_.email_pool(); }

    void set_faults(const fault_plan& faults);
    emulator_stats stats() const;

private:
    struct server;

    emulator_options options_;
    satismeter_dataset data_;
    std::unique_ptr<api> routes_;
    std::unique_ptr<server> server_;
    unsigned short port_ = 0;
};

}  // namespace tributary::emulator
