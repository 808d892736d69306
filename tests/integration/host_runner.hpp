// host_runner.hpp: the real host started in-process on 127.0.0.1 port 0, for integration tests.
#pragma once

#include "app/app.hpp"
#include "util/log.hpp"

#include "http_client.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tributary::integration {

namespace fs = std::filesystem;

// The admin token every test host is started with.
inline constexpr std::string_view admin_token = "integration-admin-token-7f3a9c2e51d8b604";

// A fresh directory under the system's temporary directory, removed with its content.
class temp_dir {
public:
    explicit temp_dir(std::string_view prefix) {
        std::random_device random;
        for (int attempt = 0; attempt < 100; ++attempt) {
            auto candidate =
                fs::temp_directory_path() / (std::string(prefix) + "-" + std::to_string(random()));
            if (fs::create_directory(candidate)) {
                path_ = candidate;
                return;
            }
        }
        throw std::runtime_error("cannot create a temporary directory");
    }
    ~temp_dir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

inline std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + file.string());
    }
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

inline void write_file(const fs::path& file, std::string_view content) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) {
        throw std::runtime_error("cannot write " + file.string());
    }
}

// Options for a host on the loopback with the build tree's plugins and shipped manifests.
inline host::app_options host_options(const fs::path& data_dir) {
    host::app_options o;
    o.listen_host = "127.0.0.1";
    o.listen_port = 0;
    o.data_dir = data_dir;
    o.plugin_dir = TRIBUTARY_PLUGIN_DIR;
    o.manifest_dir = TRIBUTARY_MANIFEST_DIR;
    o.admin_token = std::string(admin_token);
    o.threads = 2;
    return o;
}

// A started host; stopped when destroyed.
class running_host {
public:
    explicit running_host(host::app_options options)
        : app_(std::make_unique<host::app>(std::move(options))) {
        port_ = app_->start();
    }
    ~running_host() { app_->stop(); }
    running_host(const running_host&) = delete;
    running_host& operator=(const running_host&) = delete;

    std::uint16_t port() const { return port_; }
    host::app& app() { return *app_; }

    // A client that sends the admin token, and one that sends none.
    http_client admin() const { return http_client(port_, std::string(admin_token)); }
    http_client anonymous() const { return http_client(port_); }

private:
    std::unique_ptr<host::app> app_;
    std::uint16_t port_ = 0;
};

// Collects every log line written while it lives, at debug level and up.
class log_capture {
public:
    log_capture() {
        host::log::configure({host::log::level::debug, false});
        host::log::set_sink(&log_capture::collect, this);
    }
    ~log_capture() {
        host::log::set_sink(nullptr, nullptr);
        host::log::configure({});
    }
    log_capture(const log_capture&) = delete;
    log_capture& operator=(const log_capture&) = delete;

    std::vector<std::string> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }

private:
    static void collect(std::string_view line, void* self) {
        auto* capture = static_cast<log_capture*>(self);
        std::lock_guard lock(capture->mutex_);
        capture->lines_.emplace_back(line);
    }

    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

}  // namespace tributary::integration
