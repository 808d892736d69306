// emulator_test.cpp: the SatisMeter emulator's data set, routes, faults and executable.
#include "emulator/satismeter_emulator.hpp"

#define BOOST_TEST_MODULE emulator
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "emulator/api.hpp"
#include "emulator/test_ca.hpp"
#include "net/http_client.hpp"

#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

namespace emu = tributary::emulator;
namespace net = tributary::host::net;
namespace json = boost::json;

namespace {

constexpr const char* project = "5f1e2d3c4b5a697887766554";
constexpr const char* read_key = "read-key-for-tests";
constexpr const char* write_key = "0123456789abcdef";
constexpr const char* basic_read_key = "Basic cmVhZC1rZXktZm9yLXRlc3RzOg==";  // read key, ""
constexpr std::int64_t fixed_now = 1748779200000;  // 2025-06-01T12:00:00Z
constexpr std::int64_t day_ms = 86'400'000;

emu::dataset_options data_options(std::size_t responses, std::uint64_t seed = 7) {
    emu::dataset_options o;
    o.responses = responses;
    o.seed = seed;
    o.now_ms = fixed_now;
    return o;
}

emu::emulator_options make_options(std::size_t responses) {
    emu::emulator_options o;
    o.data = data_options(responses);
    o.api_key = read_key;
    o.write_key = write_key;
    return o;
}

std::string trim_lower(std::string s) {
    auto first = s.find_first_not_of(' ');
    auto last = s.find_last_not_of(' ');
    s = first == std::string::npos ? "" : s.substr(first, last - first + 1);
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool is_hex24(const std::string& s) {
    return s.size() == 24 && std::all_of(s.begin(), s.end(), [](char c) {
               return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
           });
}

const json::value* find_path(const json::object& o, std::initializer_list<const char*> path) {
    const json::value* at = nullptr;
    const json::object* in = &o;
    for (const char* key : path) {
        if (in == nullptr || !in->contains(key)) {
            return nullptr;
        }
        at = &in->at(key);
        in = at->if_object();
    }
    return at;
}

// The rating wherever the response carries it: top level, or an answer with metric nps.
std::optional<int> rating_of(const json::object& r) {
    if (r.contains("rating")) {
        return static_cast<int>(r.at("rating").as_int64());
    }
    if (const auto* answers = find_path(r, {"answers"})) {
        for (const auto& a : answers->as_array()) {
            if (a.as_object().contains("metric") && a.at("metric") == "nps") {
                return static_cast<int>(a.at("value").as_int64());
            }
        }
    }
    return std::nullopt;
}

std::optional<std::string> email_of(const json::object& r) {
    for (auto path : {find_path(r, {"user", "email"}), find_path(r, {"user", "traits", "email"})}) {
        if (path != nullptr) {
            return std::string(path->as_string());
        }
    }
    return std::nullopt;
}

// A forked child that is stopped with SIGTERM, at the latest when the test ends.
struct child_process {
    pid_t pid;
    explicit child_process(pid_t p) : pid(p) {}
    ~child_process() { stop(); }

    int stop() {
        int status = 0;
        if (pid > 0) {
            ::kill(pid, SIGTERM);
            ::waitpid(pid, &status, 0);
            pid = -1;
        }
        return status;
    }
};

// An emulator of 250 responses on 127.0.0.1 and a client for it.
struct running_emulator {
    emu::satismeter_emulator emulator{make_options(250)};
    net::http_client client;

    running_emulator() { emulator.start(); }

    net::fetch_result get(const std::string& path_and_query,
                          const std::string& authorization = std::string("Bearer ") + read_key) {
        net::header_list headers;
        if (!authorization.empty()) {
            headers.emplace_back("Authorization", authorization);
        }
        return client.fetch("GET", emulator.base_url() + path_and_query, headers, "");
    }

    net::fetch_result responses(const std::string& query) {
        return get(std::string("/api/v3/projects/") + project + "/responses?" + query);
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(data_set)

BOOST_AUTO_TEST_CASE(is_a_pure_function_of_seed_and_index) {
    emu::satismeter_dataset a(data_options(1000, 7));
    emu::satismeter_dataset b(data_options(1000, 7));
    emu::satismeter_dataset other(data_options(1000, 8));

    for (std::size_t i : {0u, 1u, 499u, 999u}) {
        BOOST_TEST(json::serialize(a.response_at(i)) == json::serialize(b.response_at(i)));
        BOOST_TEST(a.response_at(i).at("id") != other.response_at(i).at("id"));
    }
}

BOOST_AUTO_TEST_CASE(is_newest_first_with_unique_hex_ids) {
    emu::satismeter_dataset data(data_options(5000));
    std::set<std::string> ids;
    std::int64_t previous = fixed_now;

    for (std::size_t i = 0; i < data.size(); ++i) {
        auto r = data.response_at(i);
        auto id = std::string(r.at("id").as_string());
        auto created = emu::parse_iso8601(r.at("created").as_string());
        BOOST_TEST_REQUIRE(is_hex24(id), id);
        BOOST_TEST_REQUIRE(created.has_value());
        BOOST_TEST_REQUIRE(*created == data.created_ms(i));
        BOOST_TEST_REQUIRE(*created <= previous);
        BOOST_TEST_REQUIRE(std::string(r.at("project").as_string()) == project);
        ids.insert(id);
        previous = *created;
    }
    BOOST_TEST(ids.size() == 5000u);
}

BOOST_AUTO_TEST_CASE(spreads_over_years_with_millisecond_times) {
    emu::satismeter_dataset data(data_options(1000));
    auto newest = data.created_ms(0);
    auto oldest = data.created_ms(999);
    std::set<std::int64_t> millis;
    for (std::size_t i = 0; i < 100; ++i) {
        millis.insert(data.created_ms(i) % 1000);
    }

    BOOST_TEST(newest < fixed_now);
    BOOST_TEST(newest > fixed_now - day_ms);
    BOOST_TEST(fixed_now - oldest > 3 * 365 * day_ms);
    BOOST_TEST(millis.size() > 50u);
    BOOST_TEST(emu::format_iso8601(1709629964120) == "2024-03-05T09:12:44.120Z");
}

BOOST_AUTO_TEST_CASE(carries_the_documented_variety) {
    emu::satismeter_dataset data(data_options(2000));
    std::map<std::string, int> seen;
    for (std::size_t i = 0; i < data.size(); ++i) {
        auto r = data.response_at(i);
        auto email = email_of(r);
        seen["anonymous"] += !email;
        seen["user.email"] += find_path(r, {"user", "email"}) != nullptr;
        seen["user.traits.email"] += find_path(r, {"user", "traits", "email"}) != nullptr;
        seen["padded email"] += email && email->front() == ' ';
        seen["capitalised email"] += email && std::isupper(static_cast<unsigned char>((*email)[0]));
        seen["dismissed"] += r.at("dismissed").as_bool() && !rating_of(r);
        seen["rating in answers only"] += !r.contains("rating") && rating_of(r).has_value();
        seen["feedback"] += r.contains("feedback");
        seen["ip"] += r.contains("ip") && r.contains("device") && r.contains("location");
        seen["pending"] += r.contains("pending");
        seen[std::string(r.at("method").as_string())] += 1;
        if (auto rating = rating_of(r)) {
            seen["rating " + std::to_string(*rating)] += 1;
        }
    }

    for (const char* kind : {"anonymous", "user.email", "user.traits.email", "padded email",
                             "capitalised email", "dismissed", "rating in answers only", "feedback",
                             "ip", "pending", "In-app", "Mobile", "Email"}) {
        BOOST_TEST(seen[kind] > 10, kind << ": " << seen[kind]);
    }
    for (int rating = 0; rating <= 10; ++rating) {
        BOOST_TEST(seen["rating " + std::to_string(rating)] > 0, "rating " << rating);
    }
    BOOST_TEST(seen["ip"] < 1000);
}

BOOST_AUTO_TEST_CASE(facts_agree_with_the_json) {
    emu::satismeter_dataset data(data_options(2000));
    for (std::size_t i = 0; i < data.size(); ++i) {
        auto r = data.response_at(i);
        auto f = data.facts_at(i);
        auto email = email_of(r);

        BOOST_TEST_REQUIRE(f.id == std::string(r.at("id").as_string()));
        BOOST_TEST_REQUIRE((f.rating == rating_of(r)), "response " << i);
        BOOST_TEST_REQUIRE(f.email.has_value() == email.has_value(), "response " << i);
        if (email) {
            BOOST_TEST_REQUIRE(*f.email == trim_lower(*email));
            BOOST_TEST_REQUIRE(f.email_as_sent == *email);
        }
        if (f.pool_index) {
            BOOST_TEST_REQUIRE(*f.email == data.email_pool()[*f.pool_index].email);
        }
        BOOST_TEST_REQUIRE((f.state == emu::response_state::dismissed) ==
                           r.at("dismissed").as_bool());
    }
}

BOOST_AUTO_TEST_CASE(draws_emails_from_a_pool_of_the_configured_size) {
    auto o = data_options(500);
    o.users = 30;
    o.companies = 3;
    emu::satismeter_dataset data(o);
    std::set<std::size_t> used;
    for (std::size_t i = 0; i < data.size(); ++i) {
        if (auto k = data.facts_at(i).pool_index) {
            used.insert(*k);
        }
    }

    BOOST_TEST_REQUIRE(data.email_pool().size() == 30u);
    BOOST_TEST(data.email_pool()[7].email == "user7@company1.example");
    BOOST_TEST(data.email_pool()[7].company == 1u);
    BOOST_TEST(used.size() == 30u);
}

BOOST_AUTO_TEST_CASE(generates_any_index_of_a_million_on_demand) {
    emu::satismeter_dataset data(data_options(1'000'000));
    auto last = data.response_at(999'999);
    auto [first, end] = data.index_range(data.created_ms(999'999), data.created_ms(500'000));

    BOOST_TEST(is_hex24(std::string(last.at("id").as_string())));
    BOOST_TEST(data.created_ms(999'999) < data.created_ms(0));
    BOOST_TEST(first == 500'000u);
    BOOST_TEST(end == 1'000'000u);
}

BOOST_AUTO_TEST_CASE(parses_the_iso_8601_forms_clients_send) {
    BOOST_TEST(emu::parse_iso8601("2024-03-05").value() == 1709596800000);
    BOOST_TEST(emu::parse_iso8601("2024-03-05T09:12:44.120Z").value() == 1709629964120);
    BOOST_TEST(emu::parse_iso8601("2024-03-05T10:12:44.12+01:00").value() == 1709629964120);
    BOOST_TEST(emu::parse_iso8601("2024-03-05T09:12Z").value() == 1709629920000);
    BOOST_TEST(!emu::parse_iso8601("2024-02-30"));
    BOOST_TEST(!emu::parse_iso8601("yesterday"));
    BOOST_TEST(!emu::parse_iso8601("2024-03-05T09:12:44Zjunk"));
    BOOST_TEST(emu::format_http_date(784111777000) == "Sun, 06 Nov 1994 08:49:37 GMT");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(routes, running_emulator)

BOOST_AUTO_TEST_CASE(answers_a_page_with_the_documented_shape) {
    auto r = responses("startDate=2000-01-01&pageSize=2");
    BOOST_TEST_REQUIRE(r.status == 200);
    auto body = json::parse(r.body).as_object();
    const auto& page = body.at("page").as_object();

    BOOST_TEST(*r.header("Content-Type") == "application/json; charset=utf-8");
    BOOST_TEST(body.at("data").as_array().size() == 2u);
    BOOST_TEST(page.at("hasNextPage") == true);
    BOOST_TEST(page.at("size") == 2);
    BOOST_TEST(page.at("nextPageCursor").as_string() ==
               emu::encode_cursor(emulator.dataset().created_ms(2), 2));
}

BOOST_AUTO_TEST_CASE(uses_the_default_page_size_without_one) {
    auto r = responses("startDate=2000-01-01");

    BOOST_TEST(json::parse(r.body).at("data").as_array().size() == 50u);
}

BOOST_AUTO_TEST_CASE(serves_the_last_page_of_a_million_without_a_next_cursor) {
    auto o = make_options(1'000'000);
    emu::satismeter_emulator big(o);
    big.start();
    auto cursor = emu::encode_cursor(big.dataset().created_ms(999'950), 999'950);

    auto r = client.fetch("GET",
                          big.base_url() + "/api/v3/projects/" + project +
                              "/responses?startDate=1990-01-01&pageSize=100&pageCursor=" + cursor,
                          {{"Authorization", std::string("Bearer ") + read_key}}, "");
    BOOST_TEST_REQUIRE(r.status == 200);
    auto body = json::parse(r.body).as_object();

    BOOST_TEST(body.at("data").as_array().size() == 50u);
    BOOST_TEST(body.at("data").as_array()[49] == json::value(big.response_at(999'999)));
    BOOST_TEST(json::serialize(body.at("page")) == R"({"hasNextPage":false,"size":50})");
}

BOOST_AUTO_TEST_CASE(rejects_page_sizes_outside_1_to_100) {
    BOOST_TEST(responses("startDate=2000-01-01&pageSize=0").status == 400);
    BOOST_TEST(responses("startDate=2000-01-01&pageSize=101").status == 400);
    BOOST_TEST(responses("startDate=2000-01-01&pageSize=ten").status == 400);
    BOOST_TEST(responses("startDate=2000-01-01&pageSize=1").status == 200);
    BOOST_TEST(responses("startDate=2000-01-01&pageSize=100").status == 200);
    BOOST_TEST(responses("startDate=2000-01-01&pageSize=100").body.size() > 10000u);
}

BOOST_AUTO_TEST_CASE(rejects_cursors_it_did_not_hand_out) {
    auto garbage = responses("startDate=2000-01-01&pageCursor=%21%21");
    auto not_a_cursor = responses("startDate=2000-01-01&pageCursor=bm90LWEtY3Vyc29y");
    auto forged = responses("startDate=2000-01-01&pageCursor=" + emu::encode_cursor(1, 2));
    auto past_end = responses("startDate=2000-01-01&pageCursor=" +
                              emu::encode_cursor(emulator.dataset().created_ms(249), 250));
    auto fine = responses("startDate=2000-01-01&pageCursor=" +
                          emu::encode_cursor(emulator.dataset().created_ms(249), 249));

    BOOST_TEST(garbage.status == 400);
    BOOST_TEST(not_a_cursor.status == 400);
    BOOST_TEST(forged.status == 400);
    BOOST_TEST(forged.body == R"({"error":"invalid pageCursor"})");
    BOOST_TEST(past_end.status == 400);
    BOOST_TEST(fine.status == 200);
    BOOST_TEST(json::parse(fine.body).at("data").as_array().size() == 1u);
}

BOOST_AUTO_TEST_CASE(filters_by_date_with_both_ends_inclusive) {
    const auto& data = emulator.dataset();
    auto from = emu::format_iso8601(data.created_ms(120));
    auto to = emu::format_iso8601(data.created_ms(100));

    auto r = responses("startDate=" + from + "&endDate=" + to + "&pageSize=100");
    auto items = json::parse(r.body).at("data").as_array();

    BOOST_TEST_REQUIRE(items.size() == 21u);
    BOOST_TEST(items.front() == json::value(emulator.response_at(100)));
    BOOST_TEST(items.back() == json::value(emulator.response_at(120)));
    BOOST_TEST(responses("startDate=last-week").status == 400);
}

BOOST_AUTO_TEST_CASE(answers_only_the_last_30_days_without_start_date) {
    std::size_t expected = 0;
    while (emulator.dataset().created_ms(expected) >= fixed_now - 30 * day_ms) {
        ++expected;
    }
    auto r = responses("pageSize=100");

    BOOST_TEST(expected > 0u);
    BOOST_TEST(json::parse(r.body).at("data").as_array().size() == expected);
}

BOOST_AUTO_TEST_CASE(refuses_write_key_other_keys_and_no_key) {
    auto path = std::string("/api/v3/projects/") + project + "/responses?pageSize=1";

    BOOST_TEST(get(path, std::string("Bearer ") + write_key).status == 401);
    BOOST_TEST(get(path, "Bearer something-else").status == 401);
    BOOST_TEST(get(path, "").status == 401);
    BOOST_TEST(get(path, basic_read_key).status == 401);
    BOOST_TEST(get("/api/v3/projects/aaaaaaaaaaaaaaaaaaaaaaaa/responses").status == 404);
    BOOST_TEST(get("/api/v3/projects/aaaaaaaaaaaaaaaaaaaaaaaa/responses", "").status == 401);
}

BOOST_AUTO_TEST_CASE(serves_the_older_export_with_basic_auth) {
    const auto& data = emulator.dataset();
    auto range = "&startDate=" + emu::format_iso8601(data.created_ms(199)) +
                 "&endDate=" + emu::format_iso8601(data.created_ms(10));
    auto path = std::string("/api/responses?project=") + project + "&format=json";

    auto r = get(path + range, basic_read_key);
    BOOST_TEST_REQUIRE(r.status == 200);
    auto items = json::parse(r.body).at("responses").as_array();

    BOOST_TEST(items.size() == 190u);
    BOOST_TEST(items.front() == json::value(emulator.response_at(10)));
    BOOST_TEST(get(path, "Basic MDEyMzQ1Njc4OWFiY2RlZjo=").status == 401);  // the write key
    BOOST_TEST(get(path, std::string("Bearer ") + read_key).status == 401);
    BOOST_TEST(get("/api/responses?project=aaaaaaaaaaaaaaaaaaaaaaaa", basic_read_key).status ==
               404);
    BOOST_TEST(get(path + "&format=csv", basic_read_key).status == 400);
    BOOST_TEST(json::parse(get(path, basic_read_key).body).at("responses").as_array().size() ==
               250u);
}

BOOST_AUTO_TEST_CASE(takes_faults_and_reports_stats_over_http) {
    auto set = client.fetch("POST", emulator.base_url() + "/_emulator/faults", {},
                            R"({"rateLimit": 1, "retryAfter": 3, "serverError": 1})");
    auto limited = responses("pageSize=1");
    auto failed = responses("pageSize=1");
    auto fine = responses("pageSize=1");
    auto stats = get("/_emulator/stats", "");

    BOOST_TEST(set.status == 200);
    BOOST_TEST(limited.status == 429);
    BOOST_TEST(*limited.header("Retry-After") == "3");
    BOOST_TEST(failed.status == 500);
    BOOST_TEST(fine.status == 200);
    BOOST_TEST(stats.body ==
               R"({"requests":5,"responsesRequests":3,"connections":1,"faultsInjected":2})");
}

BOOST_AUTO_TEST_CASE(answers_a_body_that_is_not_json_when_malformed) {
    auto set =
        client.fetch("POST", emulator.base_url() + "/_emulator/faults", {}, R"({"malformed": 1})");
    auto broken = responses("pageSize=1");
    auto fine = responses("pageSize=1");

    BOOST_TEST(set.status == 200);
    BOOST_TEST(broken.status == 200);
    BOOST_TEST(broken.body == "<html><body>Bad gateway</body></html>");
    BOOST_TEST(fine.body.starts_with("{\"data\":["));
}

BOOST_AUTO_TEST_CASE(rejects_unknown_faults) {
    auto r =
        client.fetch("POST", emulator.base_url() + "/_emulator/faults", {}, R"({"explode": 1})");

    BOOST_TEST(r.status == 400);
    BOOST_TEST(r.body == R"({"error":"unknown fault explode"})");
}

BOOST_AUTO_TEST_CASE(clears_faults_with_an_empty_plan) {
    emu::fault_plan faults;
    faults.server_error = 5;
    emulator.set_faults(faults);
    client.fetch("POST", emulator.base_url() + "/_emulator/faults", {}, "{}");

    BOOST_TEST(responses("pageSize=1").status == 200);
}

BOOST_AUTO_TEST_CASE(faults_apply_to_the_responses_routes_only) {
    emu::fault_plan faults;
    faults.server_error = 1;
    emulator.set_faults(faults);

    BOOST_TEST(get("/_emulator/stats", "").status == 200);
    BOOST_TEST(get("/nothing-here").status == 404);
    BOOST_TEST(responses("pageSize=1").status == 500);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(writes_the_test_pki_as_pem_files) {
    auto dir = std::filesystem::temp_directory_path() /
               ("tributary-emulator-test-" + std::to_string(::getpid()));
    auto pki = emu::write_test_pki(dir);

    for (const auto& cert :
         {pki.ca_cert, pki.server_cert, pki.wrong_host_cert, pki.untrusted_cert}) {
        std::ifstream in(cert);
        std::string first;
        std::getline(in, first);
        BOOST_TEST(first == "-----BEGIN CERTIFICATE-----", cert);
    }
    for (const auto& key : {pki.server_key, pki.wrong_host_key, pki.untrusted_key}) {
        std::ifstream in(key);
        std::string first;
        std::getline(in, first);
        BOOST_TEST(first == "-----BEGIN PRIVATE KEY-----", key);
    }
    std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(executable_prints_its_address_and_serves) {
    int out[2];
    BOOST_TEST_REQUIRE(::pipe(out) == 0);
    std::string binary = TRIBUTARY_BINARY_DIR "/bin/satismeter-emulator";
    child_process child(::fork());
    BOOST_TEST_REQUIRE(child.pid >= 0);
    if (child.pid == 0) {
        ::dup2(out[1], STDOUT_FILENO);
        ::close(out[0]);
        ::execl(binary.c_str(), binary.c_str(), "--listen", "127.0.0.1:0", "--responses", "12",
                "--api-key", read_key, nullptr);
        ::_exit(127);
    }
    ::close(out[1]);
    FILE* from_child = ::fdopen(out[0], "r");
    char line[256] = {};
    bool got_line = std::fgets(line, sizeof line, from_child) != nullptr;
    std::fclose(from_child);
    std::string text(line, std::strcspn(line, "\n"));
    BOOST_TEST_REQUIRE(got_line);
    BOOST_TEST_REQUIRE(text.starts_with("listening on http://127.0.0.1:"), text);

    net::http_client client;
    auto base = text.substr(std::string("listening on ").size());
    auto r = client.fetch("GET",
                          base + "/api/v3/projects/" + project + "/responses?startDate=2000-01-01",
                          {{"Authorization", std::string("Bearer ") + read_key}}, "");
    int status = child.stop();

    BOOST_TEST(r.status == 200, r.error);
    BOOST_TEST(json::parse(r.body).at("data").as_array().size() == 12u);
    BOOST_TEST(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 0);
}
