// rollup.cpp: incremental NPS rollups against a recount from scratch, on a large store.
//
// Fills a fresh store with 10,000 companies, their End Users and 1,000,000 responses through
// the store's own write path, then times in the same run: one incremental update (one new
// response that becomes its End User's latest score), a full recount of every Company and the
// portfolio in SQL from scratch, a recount of one Company, and the portfolio query the admin
// API answers. The recount must equal the incremental figures, or the run fails.
#include "store/store.hpp"

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

namespace th = tributary::host;
using clock_type = std::chrono::steady_clock;

struct options {
    std::size_t companies = 10000;
    std::size_t users_per_company = 20;
    std::size_t responses = 1000000;
    std::size_t batch = 10000;  // responses per transaction while filling
    std::size_t samples = 200;  // incremental updates timed
    std::filesystem::path dir;  // default: a fresh directory under the system temp dir
    bool keep = false;
};

constexpr std::string_view tenant = "bench";

double ms_since(clock_type::time_point start) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1))];
}

std::string company_id(std::size_t c) {
    char text[32];
    std::snprintf(text, sizeof(text), "c%05zu", c);
    return text;
}

std::string user_email(std::size_t u) {
    char text[64];
    std::snprintf(text, sizeof(text), "user%zu@c%05zu.example", u, u % 10000);
    return text;
}

// A response as the SatisMeter connector emits it, with a raw payload of realistic size.
th::nps_record make_response(std::uint64_t n, std::size_t user, int score, std::int64_t created) {
    char id[32];
    std::snprintf(id, sizeof(id), "66%022llx", static_cast<unsigned long long>(n));
    th::nps_record r;
    r.source = "satismeter";
    r.source_id = id;
    r.email = user_email(user);
    r.score = score;
    r.state = "completed";
    r.created_ms = created;
    r.campaign = "65f0a1b2c3d4e5f60718293a";
    r.method = "In-app";
    if (n % 3 == 0) {
        r.comment = "The new reporting saves my team hours every week.";
    }
    r.raw_json = std::string(R"({"id":")") + id + R"(","rating":)" + std::to_string(score) +
                 R"(,"completed":true,"method":"In-app","language":"en","answers":[{"id":)"
                 R"("0b6c2f5e-1111-4d2a-9c1e-000000000001","label":"How likely are you to )"
                 R"(recommend us?","name":"SM_rating","type":"scale","metric":"nps","value":)" +
                 std::to_string(score) +
                 R"(}],"user":{"id":"5e0000000000000000000a01","userId":"u-1001","name":)"
                 R"("User","email":")" +
                 *r.email +
                 R"(","deleted":false,"groups":{},"traits":{}},"project":)"
                 R"("5f1e2d3c4b5a697887766554","campaign":"65f0a1b2c3d4e5f60718293a"})";
    return r;
}

th::nps_contribution contribution(const th::nps_record& r) {
    return {r.score.has_value() && r.state != "dismissed", r.score.value_or(0)};
}

// Company figures keyed by company row id: promoters, passives, detractors, score sum.
using figures_map =
    std::map<std::int64_t, std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t>>;

// The latest rated response of each End User, counted per Company: no rollup table is read.
constexpr const char* recount_sql =
    "SELECT u.company_id, sum(r.rollup_score >= 9), sum(r.rollup_score BETWEEN 7 AND 8), "
    "sum(r.rollup_score <= 6), sum(r.rollup_score) FROM end_users u "
    "JOIN nps_responses r ON r.id = (SELECT id FROM nps_responses WHERE end_user_id = u.id AND "
    "rollup_score IS NOT NULL ORDER BY created_ms DESC, source_id DESC LIMIT 1) "
    "WHERE u.tenant = ? AND u.company_id IS NOT NULL GROUP BY u.company_id";

constexpr const char* recount_one_sql =
    "SELECT sum(r.rollup_score >= 9), sum(r.rollup_score BETWEEN 7 AND 8), "
    "sum(r.rollup_score <= 6), sum(r.rollup_score) FROM end_users u "
    "JOIN nps_responses r ON r.id = (SELECT id FROM nps_responses WHERE end_user_id = u.id AND "
    "rollup_score IS NOT NULL ORDER BY created_ms DESC, source_id DESC LIMIT 1) "
    "WHERE u.company_id = (SELECT id FROM companies WHERE tenant = ? AND external_id = ?)";

figures_map recount(th::sqlite::database& db) {
    figures_map out;
    db.exec("BEGIN");
    auto& q = db.prepare(recount_sql);
    q.bind(1, tenant);
    while (q.step()) {
        out[q.int64(0)] = {q.int64(1), q.int64(2), q.int64(3), q.int64(4)};
    }
    q.reset();
    db.exec("COMMIT");
    return out;
}

figures_map stored_figures(th::sqlite::database& db) {
    figures_map out;
    auto& q = db.prepare(
        "SELECT id, promoters, passives, detractors, score_sum FROM companies WHERE tenant = ? "
        "AND promoters + passives + detractors > 0");
    q.bind(1, tenant);
    while (q.step()) {
        out[q.int64(0)] = {q.int64(1), q.int64(2), q.int64(3), q.int64(4)};
    }
    q.reset();
    return out;
}

std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t> tenant_figures(
    th::sqlite::database& db) {
    auto& q = db.prepare(
        "SELECT promoters, passives, detractors, score_sum FROM tenant_rollups WHERE tenant = ?");
    q.bind(1, tenant);
    q.step();
    std::tuple t{q.int64(0), q.int64(1), q.int64(2), q.int64(3)};
    q.reset();
    return t;
}

// Every End User here belongs to a Company, so the portfolio is the sum of the Companies.
std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t> total_of(
    const figures_map& companies) {
    std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t> t{0, 0, 0, 0};
    for (const auto& [id, f] : companies) {
        std::get<0>(t) += std::get<0>(f);
        std::get<1>(t) += std::get<1>(f);
        std::get<2>(t) += std::get<2>(f);
        std::get<3>(t) += std::get<3>(f);
    }
    return t;
}

// One unit per response, as webhook deliveries arrive: the writer groups queued units into
// transactions of up to 512 with a savepoint each. Returns when all are committed.
void write_units(th::store& store, const std::vector<th::nps_record>& rows) {
    std::mutex mutex;
    std::condition_variable cv;
    std::size_t left = rows.size();
    std::exception_ptr error;
    for (const auto& r : rows) {
        store.write([&r](th::write_txn& txn) { txn.upsert_response(tenant, r, contribution(r)); },
                    [&](std::exception_ptr e) {
                        std::lock_guard lock(mutex);
                        if (e) {
                            error = e;
                        }
                        if (--left == 0) {
                            cv.notify_one();
                        }
                    });
    }
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return left == 0; });
    if (error) {
        std::rethrow_exception(error);
    }
}

void fill(th::store& store, const options& o, std::mt19937_64& random) {
    auto start = clock_type::now();
    store.write_sync<bool>([](th::write_txn& txn) { return txn.create_tenant(tenant, "Bench"); });
    std::vector<th::company_input> companies;
    for (std::size_t c = 0; c < o.companies; ++c) {
        companies.push_back({company_id(c), "Company " + std::to_string(c), {}});
    }
    store.write_sync<th::upsert_counts>(
        [&](th::write_txn& txn) { return txn.upsert_companies(tenant, companies); });

    std::size_t users = o.companies * o.users_per_company;
    for (std::size_t first = 0; first < users; first += o.batch) {
        std::vector<th::end_user_input> rows;
        for (std::size_t u = first; u < std::min(users, first + o.batch); ++u) {
            rows.push_back({user_email(u), company_id(u % o.companies), {}, {}, {}});
        }
        store.write_sync<th::upsert_counts>(
            [&](th::write_txn& txn) { return txn.upsert_end_users(tenant, rows); });
    }
    std::printf("filled %zu companies and %zu End Users in %.1f s\n", o.companies, users,
                ms_since(start) / 1000);

    start = clock_type::now();
    auto cpu_start = std::clock();
    std::uniform_int_distribution<std::size_t> pick_user(0, users - 1);
    std::uniform_int_distribution<int> pick_score(0, 10);
    const std::int64_t base = 1704067200000;  // 2024-01-01
    for (std::size_t first = 0; first < o.responses; first += o.batch) {
        std::vector<th::nps_record> rows;
        for (std::size_t n = first; n < std::min(o.responses, first + o.batch); ++n) {
            auto created = base + static_cast<std::int64_t>(n) * 15000;
            rows.push_back(make_response(n, pick_user(random), pick_score(random), created));
        }
        write_units(store, rows);
        if ((first / o.batch) % 20 == 19) {
            std::printf("  %zu responses, %.0f per second\n", first + o.batch,
                        static_cast<double>(first + o.batch) / (ms_since(start) / 1000));
            std::fflush(stdout);
        }
    }
    double cpu_us = static_cast<double>(std::clock() - cpu_start) * 1e6 / CLOCKS_PER_SEC;
    std::printf(
        "filled %zu responses in %.1f s (%.0f per second, one unit each, queued %zu at a time; "
        "%.1f us of CPU each)\n",
        o.responses, ms_since(start) / 1000,
        static_cast<double>(o.responses) / (ms_since(start) / 1000), o.batch,
        cpu_us / static_cast<double>(o.responses));
}

bool parse(int argc, char** argv, options& o) {
    for (int i = 1; i < argc; ++i) {
        std::string name = argv[i];
        if (name == "--keep") {
            o.keep = true;
            continue;
        }
        if (i + 1 >= argc) {
            return false;
        }
        std::string value = argv[++i];
        if (name == "--responses") {
            o.responses = std::strtoull(value.c_str(), nullptr, 10);
        } else if (name == "--companies") {
            o.companies = std::strtoull(value.c_str(), nullptr, 10);
        } else if (name == "--users-per-company") {
            o.users_per_company = std::strtoull(value.c_str(), nullptr, 10);
        } else if (name == "--samples") {
            o.samples = std::strtoull(value.c_str(), nullptr, 10);
        } else if (name == "--dir") {
            o.dir = value;
        } else {
            return false;
        }
    }
    return o.companies > 0 && o.users_per_company > 0 && o.responses > 0 && o.samples > 0;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    if (!parse(argc, argv, o)) {
        std::fprintf(stderr,
                     "usage: bench_rollup [--responses N] [--companies N] "
                     "[--users-per-company N] [--samples N] [--dir DIR] [--keep]\n");
        return 2;
    }
    if (o.dir.empty()) {
        o.dir = std::filesystem::temp_directory_path() /
                ("tributary-rollup-" + std::to_string(::getpid()));
    }
    std::filesystem::remove_all(o.dir);
    auto file = o.dir / "tributary.db";
    std::mt19937_64 random(20240301);
    int status = 0;
    {
        th::store store(th::store_options{file});
        fill(store, o, random);

        // One incremental update: a new response that becomes its End User's latest score moves
        // the End User, the Company and the portfolio figures. Timed with and without the
        // commit, whose fsync dominates.
        std::size_t users = o.companies * o.users_per_company;
        std::uniform_int_distribution<std::size_t> pick_user(0, users - 1);
        std::vector<double> with_commit, in_txn;
        for (std::size_t i = 0; i < o.samples; ++i) {
            auto n = o.responses + i;
            auto r = make_response(n, pick_user(random), static_cast<int>(i % 11),
                                   1704067200000 + static_cast<std::int64_t>(n) * 15000);
            double inside = 0;
            auto start = clock_type::now();
            store.write_sync<bool>([&](th::write_txn& txn) {
                auto t = clock_type::now();
                txn.upsert_response(tenant, r, contribution(r));
                inside = ms_since(t);
                return true;
            });
            with_commit.push_back(ms_since(start));
            in_txn.push_back(inside);
        }

        // Portfolio: what GET /api/v1/tenants/{t}/nps reads.
        std::vector<double> portfolio, company;
        for (int i = 0; i < 20; ++i) {
            auto start = clock_type::now();
            auto n = store.read([](th::read_txn& txn) {
                auto total = txn.tenant_nps(tenant);
                return txn.companies_nps(tenant).size() + (total.figures.responses() > 0 ? 1 : 0);
            });
            portfolio.push_back(ms_since(start));
            if (n == 0) {
                status = 1;
            }
            start = clock_type::now();
            store.read([&](th::read_txn& txn) {
                return txn.company_nps(tenant, company_id(static_cast<std::size_t>(i)));
            });
            company.push_back(ms_since(start));
        }
        store.stop();

        // From scratch, on a connection of its own, after the writer has stopped.
        th::sqlite::database db(file);
        std::vector<double> full, one;
        figures_map counted;
        for (int i = 0; i < 3; ++i) {
            auto start = clock_type::now();
            counted = recount(db);
            full.push_back(ms_since(start));
        }
        for (int i = 0; i < 20; ++i) {
            auto start = clock_type::now();
            auto& q = db.prepare(recount_one_sql);
            q.bind(1, tenant).bind(2, company_id(static_cast<std::size_t>(i) * 7));
            q.step();
            q.reset();
            one.push_back(ms_since(start));
        }
        auto stored = stored_figures(db);
        bool equal = counted == stored && tenant_figures(db) == total_of(counted);
        std::size_t in_store = 0;
        {
            auto& q = db.prepare("SELECT count(*) FROM nps_responses");
            q.step();
            in_store = static_cast<std::size_t>(q.int64(0));
            q.reset();
        }

        std::printf("\nresponses in the store: %zu; companies with figures: %zu\n", in_store,
                    stored.size());
        std::printf("| measurement | median ms | p99 ms |\n| --- | ---: | ---: |\n");
        std::printf("| one incremental update, inside the transaction | %.3f | %.3f |\n",
                    percentile(in_txn, 50), percentile(in_txn, 99));
        std::printf("| one incremental update, with its own commit | %.3f | %.3f |\n",
                    percentile(with_commit, 50), percentile(with_commit, 99));
        std::printf("| full recount from scratch (%zu companies) | %.1f | - |\n", counted.size(),
                    percentile(full, 50));
        std::printf("| recount of one company from scratch | %.3f | %.3f |\n", percentile(one, 50),
                    percentile(one, 99));
        std::printf("| portfolio query (tenant + %zu companies) | %.3f | %.3f |\n", o.companies,
                    percentile(portfolio, 50), percentile(portfolio, 99));
        std::printf("| one company's figures | %.3f | %.3f |\n", percentile(company, 50),
                    percentile(company, 99));
        std::printf("full recount / incremental update (inside the transaction): %.0fx\n",
                    percentile(full, 50) / percentile(in_txn, 50));
        std::printf("recount equals the incremental figures: %s\n", equal ? "yes" : "NO");
        if (!equal) {
            status = 1;
        }
    }
    if (!o.keep) {
        std::filesystem::remove_all(o.dir);
    }
    return status;
}
