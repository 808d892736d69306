// wal_vfs_test.cpp: the VFS that gathers WAL frames must leave every commit in the WAL file by
// the time the commit returns, whatever the size of the transaction.
#include "store/wal_vfs.hpp"
#include "store/sqlite.hpp"
#include "temp_dir.hpp"

#define BOOST_TEST_MODULE wal_vfs
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace fs = std::filesystem;
namespace sq = tributary::host::sqlite;

namespace {

struct fixture : tributary::test::temp_dir {
    fs::path file = dir / "data.db";

    fixture() : temp_dir("tributary-wal-vfs") {}

    // The writer as the store opens it: gathering VFS, WAL, synchronous=FULL. No automatic
    // checkpoint, so committed rows live only in the WAL file unless a test copies them over.
    std::unique_ptr<sq::database> open_writer(int cache_pages = 2000) {
        const char* vfs = sq::gathering_wal_vfs();
        BOOST_TEST_REQUIRE(vfs != nullptr);
        auto db = std::make_unique<sq::database>(file, false, vfs);
        db->exec("PRAGMA journal_mode = WAL");
        db->exec("PRAGMA synchronous = FULL");
        db->exec("PRAGMA wal_autocheckpoint = 0");
        db->exec("PRAGMA cache_size = " + std::to_string(cache_pages));
        db->exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
        return db;
    }

    // What a crash right now would leave: the database and WAL files as they are on disk, opened
    // by a fresh process (SQLite rebuilds the WAL index from the WAL file alone).
    std::int64_t rows_after_crash(std::int64_t* sum = nullptr) {
        auto copy = dir / "crash";
        fs::remove_all(copy);
        fs::create_directories(copy);
        fs::copy_file(file, copy / "data.db");
        auto wal = fs::path(file.string() + "-wal");
        if (fs::exists(wal)) {
            fs::copy_file(wal, copy / "data.db-wal");
        }
        sq::database db(copy / "data.db");
        auto& check = db.prepare("PRAGMA integrity_check");
        BOOST_TEST_REQUIRE(check.step());
        BOOST_TEST(check.string(0) == "ok");
        check.reset();
        auto& q = db.prepare("SELECT count(*), coalesce(sum(length(v)), 0) FROM t");
        BOOST_TEST_REQUIRE(q.step());
        std::int64_t n = q.int64(0);
        if (sum != nullptr) {
            *sum = q.int64(1);
        }
        q.reset();
        return n;
    }

    static std::int64_t count(sq::database& db) {
        auto& q = db.prepare("SELECT count(*) FROM t");
        BOOST_TEST_REQUIRE(q.step());
        auto n = q.int64(0);
        q.reset();
        return n;
    }

    static void insert(sq::database& db, int rows, int bytes) {
        db.exec("BEGIN IMMEDIATE");
        for (int i = 0; i < rows; ++i) {
            db.prepare("INSERT INTO t (v) VALUES (zeroblob(?))").bind(1, bytes).run();
        }
        db.exec("COMMIT");
    }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(each_commit_is_in_the_wal_file_when_it_returns, fixture) {
    auto writer = open_writer();
    sq::database reader(file);
    std::int64_t expected = 0;
    // One small row; a commit of a few pages; one past a write call (64 KiB); one past the
    // gathering limit (1 MiB), which is written out in the middle of the transaction.
    for (auto [rows, bytes] : {std::pair{1, 10}, std::pair{20, 500}, std::pair{40, 3000},
                               std::pair{600, 3000}, std::pair{1, 10}}) {
        insert(*writer, rows, bytes);
        expected += rows;
        BOOST_TEST(rows_after_crash() == expected);
        BOOST_TEST(count(reader) == expected);
    }
}

BOOST_FIXTURE_TEST_CASE(a_transaction_larger_than_the_cache_reads_back_its_own_frames, fixture) {
    // With 20 pages of cache the transaction spills pages into the WAL, reads them back and
    // writes some of them again before it commits.
    auto writer = open_writer(20);
    insert(*writer, 200, 1000);
    writer->exec("BEGIN IMMEDIATE");
    for (int pass = 0; pass < 5; ++pass) {
        writer->prepare("UPDATE t SET v = zeroblob(?) WHERE id % 5 = ?")
            .bind(1, 900 + pass)
            .bind(2, pass)
            .run();
        writer->exec("INSERT INTO t (v) SELECT zeroblob(700) FROM t WHERE id <= 100");
    }
    writer->exec("COMMIT");
    std::int64_t sum = 0;
    BOOST_TEST(rows_after_crash(&sum) == 700);
    auto& q = writer->prepare("SELECT coalesce(sum(length(v)), 0) FROM t");
    BOOST_TEST_REQUIRE(q.step());
    BOOST_TEST(sum == q.int64(0));
    q.reset();
}

// Rows of 1,000 bytes in a transaction that rolls back: with a small cache its frames spill into
// the WAL before the rollback.
void insert_and_roll_back(sq::database& db, int rows) {
    db.exec("BEGIN IMMEDIATE");
    db.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
            std::to_string(rows) + ") INSERT INTO t (v) SELECT zeroblob(1000) FROM n");
    db.exec("ROLLBACK");
}

BOOST_FIXTURE_TEST_CASE(a_rolled_back_transaction_leaves_nothing, fixture) {
    auto writer = open_writer(20);
    insert(*writer, 50, 100);
    insert_and_roll_back(*writer, 2000);
    insert(*writer, 1, 10);
    BOOST_TEST(rows_after_crash() == 51);
    BOOST_TEST(count(*writer) == 51);
}

BOOST_FIXTURE_TEST_CASE(frames_of_a_rolled_back_transaction_never_reach_the_file, fixture) {
    // The writer spills frames of a transaction it then rolls back; another connection commits
    // at the same WAL offsets; nothing the writer does afterwards may write the dropped frames
    // over that commit.
    auto writer = open_writer(20);
    insert(*writer, 1, 100);
    insert_and_roll_back(*writer, 500);
    {
        sq::database other(file);
        insert(other, 1, 1000);
        BOOST_TEST(count(other) == 2);
    }
    BOOST_TEST(count(*writer) == 2);
    insert(*writer, 1, 10);
    writer.reset();
    BOOST_TEST(rows_after_crash() == 3);
    sq::database reopened(file);
    BOOST_TEST(count(reopened) == 3);
}

BOOST_FIXTURE_TEST_CASE(the_wal_restarts_after_a_checkpoint, fixture) {
    auto writer = open_writer();
    sq::database checkpointer(file);
    std::int64_t expected = 0;
    for (int round = 0; round < 4; ++round) {
        insert(*writer, 300, 2000);
        expected += 300;
        int log = -1;
        int copied = -1;
        BOOST_TEST(sqlite3_wal_checkpoint_v2(checkpointer.handle(), nullptr,
                                             SQLITE_CHECKPOINT_PASSIVE, &log,
                                             &copied) == SQLITE_OK);
        BOOST_TEST(log == copied);
        // The next commit starts the WAL over from its first frame.
        insert(*writer, 7, 10);
        expected += 7;
        BOOST_TEST(rows_after_crash() == expected);
    }
    BOOST_TEST(count(checkpointer) == expected);
}

BOOST_AUTO_TEST_CASE(the_vfs_is_registered_once_under_one_name) {
    const char* first = sq::gathering_wal_vfs();
    BOOST_TEST_REQUIRE(first != nullptr);
    BOOST_TEST(std::string(first) == sq::gathering_wal_vfs());
    BOOST_TEST(sqlite3_vfs_find(first) != nullptr);
    // Not the default: connections other than the writer keep SQLite's own VFS.
    BOOST_TEST(sqlite3_vfs_find(nullptr) != sqlite3_vfs_find(first));
}
