// serve.cpp: `tributary serve`, which runs the host until SIGINT or SIGTERM.
#include "cli/commands.hpp"

#include "app/app.hpp"
#include "util/log.hpp"

#include <pthread.h>
#include <csignal>
#include <iostream>

namespace tributary::host::cli {

namespace {

constexpr const char* serve_help = R"(usage: tributary serve [options]

Runs the host: admin API, webhooks, jobs.

  --listen HOST:PORT     address to serve on (default 127.0.0.1:8080; port 0 picks one)
  --data-dir DIR         SQLite database and host state, created if missing (default ./data)
  --plugin-dir DIR       connector libraries (default: next to the binary)
  --manifest-dir DIR     App Center manifests (default: the source tree's manifests/)
  --public-url URL       base of the webhook URLs handed out (default http://HOST:PORT)
  --threads N            HTTP worker threads (default 2)
  --body-limit BYTES     largest request body accepted (default 1048576)
  --ca-file FILE         CA bundle for outbound TLS (default: the system store)
  --key-grace SECONDS    how long a rotated webhook key keeps working (default 86400)
  --job-workers N        jobs (such as backfills) that run at once (default 2)
  --log-level LEVEL      debug, info, warn or error (default info)
  --log-json             log JSON lines instead of text

The admin token comes from TRIBUTARY_ADMIN_TOKEN, or is generated into DATA_DIR/admin-token.
)";

}  // namespace

int serve(const std::vector<std::string>& args) {
    app_options o;
    o.plugin_dir = default_plugin_dir();
    o.manifest_dir = default_manifest_dir();
    log::options lo;

    option_reader r(args);
    while (r.next()) {
        if (r.is("--help") || r.is("-h")) {
            std::cout << serve_help;
            return 0;
        } else if (r.is("--listen")) {
            if (!split_listen(r.value(), o.listen_host, o.listen_port)) {
                return usage_error("--listen expects HOST:PORT, like 127.0.0.1:8080");
            }
        } else if (r.is("--data-dir")) {
            o.data_dir = r.value();
        } else if (r.is("--plugin-dir")) {
            o.plugin_dir = r.value();
        } else if (r.is("--manifest-dir")) {
            o.manifest_dir = r.value();
        } else if (r.is("--public-url")) {
            o.public_url = r.value();
        } else if (r.is("--threads")) {
            o.threads = static_cast<std::size_t>(std::max(1L, std::atol(r.value().c_str())));
        } else if (r.is("--body-limit")) {
            o.body_limit = static_cast<std::size_t>(std::max(1024L, std::atol(r.value().c_str())));
        } else if (r.is("--ca-file")) {
            o.ca_file = r.value();
        } else if (r.is("--job-workers")) {
            o.job_workers = static_cast<std::size_t>(std::max(1L, std::atol(r.value().c_str())));
        } else if (r.is("--key-grace")) {
            o.key_grace = std::chrono::seconds(std::max(0L, std::atol(r.value().c_str())));
        } else if (r.is("--log-level")) {
            auto v = r.value();
            lo.min_level = v == "debug"   ? log::level::debug
                           : v == "warn"  ? log::level::warn
                           : v == "error" ? log::level::error
                                          : log::level::info;
        } else if (r.is("--log-json")) {
            lo.json = true;
        } else {
            return usage_error("serve: unknown option " + r.name() +
                               " (see tributary serve --help)");
        }
        if (r.failed()) {
            return usage_error("serve: " + r.name() + " needs a value");
        }
    }
    log::configure(lo);

    // Block the stop signals in every thread; this one waits for them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    app host(o);
    try {
        host.start();
    } catch (const std::exception& e) {
        std::cerr << "tributary: cannot start: " << e.what() << "\n";
        return 1;
    }
    for (const auto& e : host.catalog_errors()) {
        std::cerr << "tributary: connector refused: " << e << "\n";
    }
    std::cout << "listening on " << host.base_url() << std::endl;
    if (host.admin_token_from_env()) {
        std::cout << "admin token: from TRIBUTARY_ADMIN_TOKEN" << std::endl;
    } else {
        std::cout << "admin token: " << host.admin_token_file().string() << std::endl;
    }

    int sig = 0;
    sigwait(&signals, &sig);
    log::info("stopping", {{"signal", sig}});
    host.stop();
    return 0;
}

}  // namespace tributary::host::cli
