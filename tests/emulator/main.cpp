// main.cpp: satismeter-emulator, the SatisMeter export API emulator as a process of its own.
#include "satismeter_emulator.hpp"

#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>
#include <string>

namespace {

using tributary::emulator::emulator_options;

constexpr const char* usage =
    "usage: satismeter-emulator --listen HOST:PORT [--responses N] [--seed S] [--project ID]\n"
    "       [--api-key K] [--write-key W] [--now ISO-8601] [--years N] [--users N]\n"
    "       [--companies N] [--page-size N] [--tls-cert FILE --tls-key FILE]\n";

std::map<std::string, std::string> read_flags(int argc, char** argv) {
    std::map<std::string, std::string> flags;
    for (int i = 1; i < argc; i += 2) {
        std::string name = argv[i];
        if (!name.starts_with("--") || i + 1 >= argc) {
            throw std::invalid_argument("expected --flag value pairs, got " + name);
        }
        flags[name.substr(2)] = argv[i + 1];
    }
    return flags;
}

// Splits HOST:PORT, where an IPv6 host is written in brackets.
void read_listen(const std::string& text, emulator_options& o) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) {
        throw std::invalid_argument("--listen wants HOST:PORT");
    }
    auto host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    o.listen_address = host;
    o.port = static_cast<unsigned short>(std::stoul(text.substr(colon + 1)));
}

emulator_options read_options(const std::map<std::string, std::string>& flags) {
    emulator_options o;
    if (!flags.contains("listen")) {
        throw std::invalid_argument("--listen is required");
    }
    for (const auto& [name, value] : flags) {
        if (name == "listen") {
            read_listen(value, o);
        } else if (name == "responses") {
            o.data.responses = std::stoull(value);
        } else if (name == "seed") {
            o.data.seed = std::stoull(value);
        } else if (name == "project") {
            o.data.project_id = value;
        } else if (name == "api-key") {
            o.api_key = value;
        } else if (name == "write-key") {
            o.write_key = value;
        } else if (name == "now") {
            auto ms = tributary::emulator::parse_iso8601(value);
            if (!ms) {
                throw std::invalid_argument("--now wants an ISO-8601 time");
            }
            o.data.now_ms = *ms;
        } else if (name == "years") {
            o.data.years = std::stoi(value);
        } else if (name == "users") {
            o.data.users = std::stoull(value);
        } else if (name == "companies") {
            o.data.companies = std::stoull(value);
        } else if (name == "page-size") {
            o.default_page_size = std::stoull(value);
        } else if (name == "tls-cert") {
            o.tls_cert = value;
        } else if (name == "tls-key") {
            o.tls_key = value;
        } else {
            throw std::invalid_argument("unknown flag --" + name);
        }
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    // Block the stop signals before the server thread starts, so that only sigwait sees them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    try {
        tributary::emulator::satismeter_emulator emulator(read_options(read_flags(argc, argv)));
        emulator.start();
        std::cout << "listening on " << emulator.base_url() << std::endl;

        int received = 0;
        sigwait(&stop_signals, &received);
        emulator.stop();
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "satismeter-emulator: " << e.what() << "\n" << usage;
        return 2;
    }
}
