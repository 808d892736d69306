// page_cache_test.cpp: the page cache over SQLite's skips the truncation at the end of a commit
// when no page lies past the database's end, and passes on every one that has pages to drop.
#include "store/page_cache.hpp"
#include "store/sqlite.hpp"
#include "temp_dir.hpp"

#define BOOST_TEST_MODULE page_cache
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>

namespace fs = std::filesystem;
namespace sq = tributary::host::sqlite;

namespace {

struct fixture : tributary::test::temp_dir {
    fs::path file = dir / "data.db";

    fixture() : temp_dir("tributary-page-cache") {}

    std::unique_ptr<sq::database> open() {
        auto db = std::make_unique<sq::database>(file);
        db->exec("PRAGMA journal_mode = WAL");
        db->exec("PRAGMA cache_size = 4000");
        db->exec(
            "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT NOT "
            "NULL)");
        db->exec("CREATE INDEX IF NOT EXISTS t_k ON t(k)");
        return db;
    }
};

// Random keys, so that index pages split in the middle of the tree, as a webhook's ids do.
std::string random_key(std::mt19937_64& rng) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string k(24, '0');
    for (auto& c : k) {
        c = hex[rng() % 16];
    }
    return k;
}

void insert_rows(sq::database& db, std::mt19937_64& rng, int rows) {
    for (int i = 0; i < rows; ++i) {
        db.prepare("INSERT INTO t (k, v) VALUES (?, ?)")
            .bind(1, random_key(rng))
            .bind(2, std::string(200, 'v'))
            .run();
    }
}

std::int64_t scalar(sq::database& db, const std::string& sql) {
    auto& q = db.prepare(sql);
    BOOST_TEST_REQUIRE(q.step());
    auto v = q.int64(0);
    q.reset();
    return v;
}

std::string integrity(sq::database& db) {
    auto& q = db.prepare("PRAGMA integrity_check");
    BOOST_TEST_REQUIRE(q.step());
    auto v = q.string(0);
    q.reset();
    return v;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(installed_before_sqlite_starts, fixture) {
    auto db = open();
    BOOST_TEST(sq::install_page_cache());
}

BOOST_FIXTURE_TEST_CASE(commits_after_split_reordering_skip_the_truncation, fixture) {
    auto db = open();
    std::mt19937_64 rng(7);
    auto before = sq::page_cache_stats();
    constexpr int commits = 400;
    for (int c = 0; c < commits; ++c) {
        db->exec("BEGIN IMMEDIATE");
        insert_rows(*db, rng, 25);
        db->exec("COMMIT");
    }
    auto after = sq::page_cache_stats();

    // The workload did what makes SQLite's own cache scan itself whole: split pages reordered
    // through the lock-byte page's number, and a truncation asked at every commit.
    BOOST_TEST(after.lock_page_keys - before.lock_page_keys > 50u);
    BOOST_TEST(after.truncations_asked - before.truncations_asked >= std::uint64_t{commits});
    // None of those commits left a page past the end, so none reached SQLite's cache.
    BOOST_TEST(after.truncations_passed_on - before.truncations_passed_on == 0u);

    BOOST_TEST(integrity(*db) == "ok");
    BOOST_TEST(scalar(*db, "SELECT count(*) FROM t") == commits * 25);
}

BOOST_FIXTURE_TEST_CASE(rolled_back_growth_is_dropped_from_the_cache, fixture) {
    auto db = open();
    std::mt19937_64 rng(11);
    db->exec("BEGIN IMMEDIATE");
    insert_rows(*db, rng, 200);
    db->exec("COMMIT");
    auto pages = scalar(*db, "PRAGMA page_count");

    // A transaction that grows the file by hundreds of pages, then rolls back: the pages past the
    // old end must leave the cache.
    auto before = sq::page_cache_stats();
    db->exec("BEGIN IMMEDIATE");
    insert_rows(*db, rng, 3000);
    BOOST_TEST(scalar(*db, "PRAGMA page_count") > pages + 100);
    db->exec("ROLLBACK");
    auto after = sq::page_cache_stats();
    BOOST_TEST(after.truncations_passed_on - before.truncations_passed_on >= 1u);
    BOOST_TEST(scalar(*db, "PRAGMA page_count") == pages);

    // The same for a savepoint rolled back inside a transaction that then commits.
    before = sq::page_cache_stats();
    db->exec("BEGIN IMMEDIATE");
    insert_rows(*db, rng, 10);
    db->exec("SAVEPOINT unit");
    insert_rows(*db, rng, 3000);
    db->exec("ROLLBACK TO unit");
    db->exec("RELEASE unit");
    db->exec("COMMIT");
    after = sq::page_cache_stats();
    BOOST_TEST(after.truncations_passed_on - before.truncations_passed_on >= 1u);

    // The pages are used again and read back through the same connection and a fresh one.
    db->exec("BEGIN IMMEDIATE");
    insert_rows(*db, rng, 3000);
    db->exec("COMMIT");
    BOOST_TEST(integrity(*db) == "ok");
    BOOST_TEST(scalar(*db, "SELECT count(*) FROM t") == 200 + 10 + 3000);
    BOOST_TEST(scalar(*db, "SELECT count(*) FROM t INDEXED BY t_k WHERE k > ''") == 3210);
    sq::database fresh(file);
    BOOST_TEST(integrity(fresh) == "ok");
    BOOST_TEST(scalar(fresh, "SELECT count(*) FROM t") == 3210);
}
