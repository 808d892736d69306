// backfill_bench.cpp: the helper of bench/backfill/run.sh. `read` pages through the emulator's
// export as a plain client that only reads the pages; `job` runs one backfill through the host's
// admin API. Each prints one RESULT line of key=value figures.
#include "net/http_client.hpp"

#include <tributary/time.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace {

namespace bj = boost::json;
namespace net = tributary::host::net;
using steady = std::chrono::steady_clock;

constexpr const char* usage =
    "usage: bench_backfill read --emulator URL --project ID --key KEY\n"
    "       bench_backfill job --host URL --token T --emulator URL --project ID --key KEY\n"
    "                          [--users N] [--companies N] [--timeout SECONDS]\n";

// The window the connector asks for by default, and the page size it uses.
constexpr std::string_view window =
    "startDate=2000-01-01T00%3A00%3A00.000Z&endDate=2100-01-01T00%3A00%3A00.000Z&pageSize=100";

using flags = std::map<std::string, std::string, std::less<>>;

flags read_flags(int argc, char** argv) {
    flags out;
    for (int i = 2; i < argc; i += 2) {
        std::string name = argv[i];
        if (!name.starts_with("--") || i + 1 >= argc) {
            throw std::invalid_argument("expected --flag value pairs, got " + name);
        }
        out[name.substr(2)] = argv[i + 1];
    }
    return out;
}

const std::string& need(const flags& f, std::string_view name) {
    auto it = f.find(name);
    if (it == f.end()) {
        throw std::invalid_argument("--" + std::string(name) + " is required");
    }
    return it->second;
}

std::size_t number_or(const flags& f, std::string_view name, std::size_t fallback) {
    auto it = f.find(name);
    return it == f.end() ? fallback : std::stoull(it->second);
}

double seconds_since(steady::time_point start) {
    return std::chrono::duration<double>(steady::now() - start).count();
}

// The text of a JSON string field found by plain search: all a reader that only reads needs.
std::optional<std::string_view> string_field(std::string_view body, std::string_view key) {
    std::string pattern = "\"" + std::string(key) + "\":\"";
    auto at = body.find(pattern);
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    auto from = at + pattern.size();
    return body.substr(from, body.find('"', from) - from);
}

std::size_t integer_field(std::string_view body, std::string_view key) {
    std::string pattern = "\"" + std::string(key) + "\":";
    auto at = body.rfind(pattern);
    return at == std::string_view::npos
               ? 0
               : std::stoull(std::string(body.substr(at + pattern.size(), 12)));
}

// Reads every page of the export over one kept-alive connection, as the connector does.
int read_pages(const flags& f) {
    net::http_client client;
    const std::string base = need(f, "emulator") + "/api/v3/projects/" + need(f, "project") +
                             "/responses?" + std::string(window);
    const net::header_list headers{{"Authorization", "Bearer " + need(f, "key")},
                                   {"Accept", "application/json"}};
    std::size_t pages = 0;
    std::size_t responses = 0;
    std::size_t bytes = 0;
    std::string url = base;
    auto start = steady::now();
    for (;;) {
        auto page = client.fetch("GET", url, headers, {});
        if (page.status != 200) {
            throw std::runtime_error("page " + std::to_string(pages + 1) + ": HTTP " +
                                     std::to_string(page.status) + " " + page.error);
        }
        ++pages;
        bytes += page.body.size();
        responses += integer_field(page.body, "size");
        auto cursor = string_field(page.body, "nextPageCursor");
        if (!cursor) {
            break;
        }
        url = base + "&pageCursor=" + std::string(*cursor);
    }
    double seconds = seconds_since(start);
    std::printf(
        "RESULT read responses=%zu pages=%zu bytes=%zu connections=%zu seconds=%.3f "
        "rate=%.1f\n",
        responses, pages, bytes, client.connections_opened(), seconds,
        static_cast<double>(responses) / seconds);
    return 0;
}

// The host's admin API, with the admin token.
class admin_api {
public:
    admin_api(std::string url, const std::string& token)
        : url_(std::move(url)),
          headers_{{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}} {}

    bj::value call(std::string_view method, const std::string& path, const bj::value& body,
                   int expect) {
        auto text = body.is_null() ? std::string() : bj::serialize(body);
        auto a = client_.fetch(method, url_ + "/api/v1" + path, headers_, text);
        if (a.status != expect) {
            throw std::runtime_error(std::string(method) + " " + path + ": HTTP " +
                                     std::to_string(a.status) + " " + a.error + a.body);
        }
        return bj::parse(a.body);
    }

private:
    std::string url_;
    net::header_list headers_;
    net::http_client client_;
};

// A tenant with the emulator's companies, two of every three of its users as End Users, and a
// SatisMeter installation that reads from the emulator. Answers the installation's id.
std::string provision(admin_api& api, const flags& f) {
    auto users = number_or(f, "users", 1000);
    auto companies = number_or(f, "companies", 50);
    api.call("POST", "/tenants", bj::object{{"id", "bench"}, {"name", "Bench"}}, 201);
    bj::array company_rows;
    for (std::size_t c = 0; c < companies; ++c) {
        auto id = "company" + std::to_string(c);
        company_rows.push_back(
            bj::object{{"externalId", id}, {"name", id}, {"domains", bj::array{id + ".example"}}});
    }
    api.call("PUT", "/tenants/bench/companies", company_rows, 200);
    bj::array user_rows;
    for (std::size_t k = 0; k < users; ++k) {
        if (k % 3 != 2) {
            auto company = "company" + std::to_string(k % companies);
            user_rows.push_back(
                bj::object{{"email", "user" + std::to_string(k) + "@" + company + ".example"},
                           {"companyExternalId", company}});
        }
    }
    api.call("PUT", "/tenants/bench/endusers", user_rows, 200);
    auto inst = api.call("POST", "/tenants/bench/installations",
                         bj::object{{"connector", "satismeter"},
                                    {"config",
                                     {{"projectId", need(f, "project")},
                                      {"apiKey", need(f, "key")},
                                      {"baseUrl", need(f, "emulator")}}}},
                         201);
    return std::string(inst.at("id").as_string());
}

std::int64_t time_ms(const bj::value& text) {
    auto at = tributary::time::parse_iso8601(text.as_string());
    return at ? at->ms : 0;
}

// Starts the backfill, polls the job until it ends, and prints its figures.
int run_job(const flags& f) {
    admin_api api(need(f, "host"), need(f, "token"));
    auto inst = provision(api, f);
    auto limit = std::chrono::seconds(number_or(f, "timeout", 600));

    auto start = steady::now();
    auto started =
        api.call("POST", "/tenants/bench/installations/" + inst + "/actions/pull-historical-nps",
                 bj::object{{"params", bj::object{}}}, 202);
    std::string id(started.at("jobId").as_string());
    bj::object job;
    for (;;) {
        job = api.call("GET", "/jobs/" + id, nullptr, 200).as_object();
        auto state = job.at("state").as_string();
        if (state != "queued" && state != "running") {
            break;
        }
        if (steady::now() - start > limit) {
            throw std::runtime_error("the job did not end within the time limit");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    double wall = seconds_since(start);

    const auto& p = job.at("progress").as_object();
    auto seen = p.at("responsesSeen").to_number<std::int64_t>();
    double seconds =
        static_cast<double>(time_ms(job.at("finishedAt")) - time_ms(job.at("startedAt"))) / 1000.0;
    std::printf(
        "RESULT job state=%s responses=%lld pages=%lld inserted=%lld unchanged=%lld "
        "seconds=%.3f wall=%.3f rate=%.1f\n",
        std::string(job.at("state").as_string()).c_str(), static_cast<long long>(seen),
        static_cast<long long>(p.at("pages").to_number<std::int64_t>()),
        static_cast<long long>(p.at("inserted").to_number<std::int64_t>()),
        static_cast<long long>(p.at("unchanged").to_number<std::int64_t>()), seconds, wall,
        static_cast<double>(seen) / seconds);
    return job.at("state") == "succeeded" ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        std::string command = argc > 1 ? argv[1] : "";
        if (command == "read") {
            return read_pages(read_flags(argc, argv));
        }
        if (command == "job") {
            return run_job(read_flags(argc, argv));
        }
        std::cerr << usage;
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "bench_backfill: " << e.what() << "\n";
        return 1;
    }
}
