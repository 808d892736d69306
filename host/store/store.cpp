// store.cpp: the group-committing writer, the read pool, and the transactions' queries.
#include "store/store.hpp"

#include "store/schema.hpp"
#include "store/wal_vfs.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <atomic>
#include <set>
#include <stdexcept>

namespace tributary::host {

namespace bj = boost::json;

const char* to_string(upsert_outcome o) {
    switch (o) {
        case upsert_outcome::inserted:
            return "inserted";
        case upsert_outcome::updated:
            return "updated";
        case upsert_outcome::unchanged:
            return "unchanged";
        case upsert_outcome::stale:
            return "stale";
    }
    return "unknown";
}

// ---- the store -------------------------------------------------------------------------------

namespace {

void configure_connection(sqlite::database& db) {
    db.exec("PRAGMA foreign_keys = ON");
    // FULL makes every commit durable in WAL mode; group commit keeps that affordable.
    db.exec("PRAGMA synchronous = FULL");
    db.exec("PRAGMA temp_store = MEMORY");
    db.exec("PRAGMA cache_size = -16000");
}

// Copies committed pages from the WAL into the database file off the writer thread. SQLite's own
// automatic checkpoint runs on the committing connection: every write queued behind it waits
// while it copies the pages and syncs the database file, which showed as the writer's longest
// stalls. Here the writer only copies the few pages committed during a background pass; then its
// next transaction starts the WAL over. Durability is unchanged: commits are synced to the WAL.
class background_checkpointer {
public:
    background_checkpointer(const store_options& options, sqlite::database& writer,
                            std::atomic<std::uint64_t>& writer_passes)
        : writer_(writer),
          db_(options.file),
          writer_passes_(writer_passes),
          wal_limit_pages_(std::max(1, options.wal_limit_pages)),
          checkpoint_pages_(std::clamp(options.checkpoint_pages, 1, wal_limit_pages_)),
          restart_pages_(std::clamp(options.restart_pages, checkpoint_pages_, wal_limit_pages_)),
          next_pass_at_(checkpoint_pages_) {
        configure_connection(db_);
        thread_ = std::thread([this] { run(); });
        sqlite3_wal_hook(writer_.handle(), &background_checkpointer::on_commit, this);
    }

    ~background_checkpointer() {
        // Hands checkpoints back to SQLite; this also removes the hook.
        sqlite3_wal_autocheckpoint(writer_.handle(), 1000);
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }

    background_checkpointer(const background_checkpointer&) = delete;
    background_checkpointer& operator=(const background_checkpointer&) = delete;

private:
    // Called by SQLite on the writer thread after each commit, with the pages now in the WAL.
    static int on_commit(void* self, sqlite3* db, const char* name, int pages) {
        static_cast<background_checkpointer*>(self)->committed(db, name, pages);
        return SQLITE_OK;
    }

    // Every checkpoint_pages: a background pass, or once the WAL holds restart_pages and a pass
    // of this WAL has ended, the writer's own. Past wal_limit_pages the writer copies what it can
    // whether or not a background pass runs; when readers keep the WAL from starting over, it
    // tries again checkpoint_pages later, not on every commit.
    void committed(sqlite3* db, const char* name, int pages) {
        bool started_over = pages < last_pages_;
        last_pages_ = pages;
        if (started_over) {
            next_pass_at_ = checkpoint_pages_;
            std::lock_guard lock(mutex_);
            passes_ = 0;  // passes over the WAL before it started over copied none of this one
        }
        if (pages < next_pass_at_) {
            return;
        }
        bool finish = false;
        {
            std::lock_guard lock(mutex_);
            bool over_limit = pages >= wal_limit_pages_;
            if (running_ && !over_limit) {
                return;  // asks again at the next commit, once the pass may have ended
            }
            finish = over_limit || (passes_ > 0 && pages >= restart_pages_);
            next_pass_at_ = pages + checkpoint_pages_;
            if (finish) {
                passes_ = 0;
            } else if (!wanted_) {
                wanted_ = true;
                cv_.notify_one();
            }
        }
        if (finish) {
            // Passive: copies what no reader still needs and never waits for one.
            sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
            writer_passes_.fetch_add(1, std::memory_order_relaxed);
        }
    }

    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            cv_.wait(lock, [this] { return wanted_ || stopping_; });
            if (stopping_) {
                return;
            }
            wanted_ = false;
            running_ = true;
            lock.unlock();
            int rc = sqlite3_wal_checkpoint_v2(db_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                               nullptr, nullptr);
            if (rc == SQLITE_OK) {
                rc = sync_database();
            }
            lock.lock();
            running_ = false;
            if (rc == SQLITE_OK) {
                ++passes_;
            } else if (rc != SQLITE_BUSY && !warned_) {
                // The writer's own copy at the WAL's limit still bounds it.
                warned_ = true;
                log::warn("background checkpoint failed; the writer checkpoints alone",
                          {{"reason", sqlite3_errstr(rc)}});
            }
        }
    }

    // A pass that ends before the end of the WAL (the writer commits meanwhile) leaves the pages
    // it copied unsynced, and SQLite syncs them in the pass that reaches the end, which is the
    // writer's: in the ingest benchmark that took 4 ms, with every write queued behind it. Synced
    // here, the writer's pass syncs only the few pages it copies itself (2 ms).
    int sync_database() {
        sqlite3_file* file = nullptr;
        int rc = sqlite3_file_control(db_.handle(), "main", SQLITE_FCNTL_FILE_POINTER, &file);
        if (rc != SQLITE_OK || file == nullptr || file->pMethods == nullptr) {
            return rc;
        }
        return file->pMethods->xSync(file, SQLITE_SYNC_NORMAL);
    }

    sqlite::database& writer_;
    sqlite::database db_;
    std::atomic<std::uint64_t>& writer_passes_;
    const int wal_limit_pages_;
    const int checkpoint_pages_;
    const int restart_pages_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool wanted_ = false;
    bool running_ = false;
    bool stopping_ = false;
    bool warned_ = false;
    int passes_ = 0;  // background passes since the writer last finished one
    int last_pages_ = 0;
    int next_pass_at_;
    std::thread thread_;
};

}  // namespace

store::store(store_options options) : options_(std::move(options)) {
    if (options_.file.has_parent_path()) {
        std::filesystem::create_directories(options_.file.parent_path());
    }
    // The writer alone commits, with synchronous=FULL: its WAL frames can be written per commit.
    writer_db_ =
        std::make_unique<sqlite::database>(options_.file, false, sqlite::gathering_wal_vfs());
    writer_db_->exec("PRAGMA journal_mode = WAL");
    configure_connection(*writer_db_);
    {
        // The gathering VFS is safe only if SQLite syncs the WAL before it publishes a commit.
        auto& q = writer_db_->prepare("PRAGMA synchronous");
        bool full = q.step() && q.int64(0) >= 2;
        q.reset();
        if (!full) {
            throw std::logic_error("the store's writer must run with synchronous=FULL");
        }
    }
    try {
        schema_version_ = migrate_schema(*writer_db_);
    } catch (const sqlite::error& e) {
        throw sqlite::error(e.code(), options_.file.string() + ": " + e.what());
    }

    for (std::size_t i = 0; i < options_.read_connections; ++i) {
        auto db = std::make_unique<sqlite::database>(options_.file);
        configure_connection(*db);
        db->exec("PRAGMA query_only = ON");
        pool_.push_back(std::move(db));
    }
    writer_ = std::thread([this] { writer_loop(); });
}

store::~store() {
    stop();
}

void store::stop() {
    {
        std::lock_guard lock(queue_mutex_);
        if (stopping_) {
            return;
        }
        stopping_ = true;
    }
    queue_cv_.notify_all();
    if (writer_.joinable()) {
        writer_.join();
    }
}

void store::write(write_fn work, done_fn done) {
    {
        std::lock_guard lock(queue_mutex_);
        if (!stopping_) {
            queue_.push_back({std::move(work), std::move(done)});
            queue_cv_.notify_one();
            return;
        }
    }
    if (done) {
        done(std::make_exception_ptr(std::runtime_error("the store is shutting down")));
    }
}

void store::writer_loop() {
    std::optional<background_checkpointer> checkpointer;
    try {
        checkpointer.emplace(options_, *writer_db_, writer_checkpoints_);
    } catch (const std::exception& e) {
        // SQLite's automatic checkpoint on the writer stays on: slower, equally durable.
        log::warn("no background checkpointer; the writer checkpoints alone",
                  {{"reason", e.what()}});
    }
    std::vector<pending> batch;
    for (;;) {
        {
            std::unique_lock lock(queue_mutex_);
            queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty() && stopping_) {
                return;
            }
            // Everything queued while the last commit was syncing goes into this one.
            while (!queue_.empty() && batch.size() < options_.max_batch) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        commit_batch(batch);
        batch.clear();
    }
}

// Most batches commit whole, so every unit runs in one transaction without savepoints: a
// savepoint per unit makes SQLite copy each page a unit changes to a statement journal first,
// which was a sixth of the writer's instructions per webhook delivery. When a unit fails, the
// transaction is rolled back, that unit keeps its error and the batch runs again without it;
// after a second failure the rest run with a savepoint per unit, so that any number of failing
// units each undo only themselves. The units before a failure run twice (see store::write).
void store::commit_batch(std::vector<pending>& batch) {
    auto& db = *writer_db_;
    std::vector<std::exception_ptr> outcomes(batch.size());
    std::vector<bool> left_out(batch.size(), false);
    std::exception_ptr commit_error;
    bool committed = false;
    bool immediate_portfolio = false;
    int passes = 0;
    try {
        for (;; ++passes) {
            auto failed = run_units(db, batch, left_out, outcomes, passes >= max_plain_passes,
                                    immediate_portfolio);
            if (!failed) {
                committed = true;
                break;
            }
            if (*failed == portfolio_failed) {
                if (immediate_portfolio) {  // nothing is left to write at the end then
                    throw std::logic_error("the portfolio failed with its changes written at once");
                }
                immediate_portfolio = true;  // the unit that causes it fails on its own then
                continue;
            }
            left_out[*failed] = true;
            if (std::find(left_out.begin(), left_out.end(), false) == left_out.end()) {
                break;  // every unit failed: nothing left to commit
            }
        }
    } catch (...) {
        commit_error = std::current_exception();
        db.reset_busy();
        try {
            db.exec("ROLLBACK");
        } catch (...) {
            // The transaction is already gone; nothing left to undo.
        }
    }

    {
        std::lock_guard lock(stats_mutex_);
        stats_.commits += committed ? 1 : 0;
        stats_.writes += batch.size();
        stats_.replayed_batches += passes > 0 ? 1 : 0;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (batch[i].done) {
            batch[i].done(commit_error ? commit_error : outcomes[i]);
        }
    }
}

// One transaction over the units not left out; a unit's outcome is the one of its last run. With
// savepoints, a failing unit is rolled back alone, its error goes to outcomes and the rest commit.
// Without, the first failure rolls the whole transaction back: its error goes to outcomes and its
// index is returned. Returns portfolio_failed when the group's portfolio write failed, nothing
// once committed; throws when the transaction itself fails.
std::optional<std::size_t> store::run_units(sqlite::database& db, std::vector<pending>& batch,
                                            const std::vector<bool>& left_out,
                                            std::vector<std::exception_ptr>& outcomes,
                                            bool savepoints, bool immediate_portfolio) {
    auto give_up = [&db] {
        db.reset_busy();
        if (sqlite3_get_autocommit(db.handle()) == 0) {  // SQLite may have ended it
            db.prepare("ROLLBACK").run();
        }
    };
    // Prepared once and cached: these run for every batch, and parsing them each time showed in
    // the writer's profile.
    db.prepare("BEGIN IMMEDIATE").run();
    write_txn txn(db);
    txn.immediate_portfolio_ = immediate_portfolio;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (left_out[i]) {
            continue;
        }
        outcomes[i] = nullptr;
        write_txn::tenant_deltas before_unit;
        if (savepoints) {
            db.prepare("SAVEPOINT unit").run();
            before_unit = txn.tenant_deltas_;
        }
        try {
            batch[i].work(txn);
            db.reset_busy();
            if (savepoints) {
                db.prepare("RELEASE unit").run();
            }
        } catch (const write_txn::portfolio_failure&) {
            give_up();  // the unit read the portfolio, whose pending changes are not all its own
            return portfolio_failed;
        } catch (...) {
            outcomes[i] = std::current_exception();
            if (!savepoints) {
                give_up();
                return i;
            }
            db.reset_busy();
            db.prepare("ROLLBACK TO unit").run();
            db.prepare("RELEASE unit").run();
            txn.tenant_deltas_ = std::move(before_unit);
        }
    }
    try {
        txn.write_tenant_deltas();
    } catch (const write_txn::portfolio_failure&) {
        give_up();
        return portfolio_failed;
    }
    db.prepare("COMMIT").run();
    return std::nullopt;
}

store::lease::lease(store& s) : owner(s) {
    std::lock_guard lock(s.pool_mutex_);
    if (!s.pool_.empty()) {
        db = std::move(s.pool_.back());
        s.pool_.pop_back();
        return;
    }
    // More readers than pooled connections: open one more; it joins the pool afterwards.
    db = std::make_unique<sqlite::database>(s.options_.file);
    configure_connection(*db);
    db->exec("PRAGMA query_only = ON");
}

store::lease::~lease() {
    std::lock_guard lock(owner.pool_mutex_);
    owner.pool_.push_back(std::move(db));
}

void store::finish_read(sqlite::database& db) {
    db.reset_busy();
    db.exec("COMMIT");
}

bool store::ping() {
    try {
        return read([](read_txn& txn) {
            txn.tenant_exists("");
            return true;
        });
    } catch (const std::exception&) {
        return false;
    }
}

store_stats store::stats() const {
    std::lock_guard lock(stats_mutex_);
    auto s = stats_;
    s.writer_checkpoints = writer_checkpoints_.load(std::memory_order_relaxed);
    return s;
}

// ---- reads -----------------------------------------------------------------------------------

bool read_txn::tenant_exists(std::string_view tenant) {
    auto& q = db_.prepare("SELECT 1 FROM tenants WHERE id = ?");
    q.bind(1, tenant);
    return q.step();
}

std::optional<end_user_view> read_txn::end_user(std::string_view tenant, std::string_view email) {
    auto& q = db_.prepare(
        "SELECT u.id, u.email, u.name, u.external_id, c.external_id, u.nps_score, u.nps_comment, "
        "u.nps_created_ms, u.nps_response_id FROM end_user_emails e "
        "JOIN end_users u ON u.id = e.end_user_id "
        "LEFT JOIN companies c ON c.id = u.company_id WHERE e.tenant = ? AND e.email = ?");
    q.bind(1, tenant).bind(2, email);
    if (!q.step()) {
        return std::nullopt;
    }
    end_user_view v;
    std::int64_t id = q.int64(0);
    v.email = q.string(1);
    v.name = q.opt_string(2);
    v.external_id = q.opt_string(3);
    v.company_external_id = q.opt_string(4);
    if (auto s = q.opt_int64(5)) {
        v.nps_score = static_cast<int>(*s);
    }
    v.nps_comment = q.opt_string(6);
    v.nps_date_ms = q.opt_int64(7);
    v.nps_response_id = q.opt_string(8);
    q.reset();

    auto& others = db_.prepare(
        "SELECT email FROM end_user_emails WHERE end_user_id = ? AND email <> ? ORDER BY email");
    others.bind(1, id).bind(2, v.email);
    while (others.step()) {
        v.other_emails.push_back(others.string(0));
    }
    return v;
}

namespace {

nps_view figures_from(sqlite::statement& q, int first) {
    nps_view v;
    v.figures.promoters = q.int64(first);
    v.figures.passives = q.int64(first + 1);
    v.figures.detractors = q.int64(first + 2);
    v.figures.score_sum = q.int64(first + 3);
    v.updated_ms = q.opt_int64(first + 4);
    return v;
}

}  // namespace

std::optional<company_nps_view> read_txn::company_nps(std::string_view tenant,
                                                      std::string_view external_id) {
    auto& q = db_.prepare(
        "SELECT external_id, name, promoters, passives, detractors, score_sum, nps_updated_ms "
        "FROM companies WHERE tenant = ? AND external_id = ?");
    q.bind(1, tenant).bind(2, external_id);
    if (!q.step()) {
        return std::nullopt;
    }
    return company_nps_view{q.string(0), q.string(1), figures_from(q, 2)};
}

nps_view read_txn::tenant_nps(std::string_view tenant) {
    auto& q = db_.prepare(
        "SELECT promoters, passives, detractors, score_sum, nps_updated_ms FROM tenant_rollups "
        "WHERE tenant = ?");
    q.bind(1, tenant);
    if (!q.step()) {
        return {};
    }
    return figures_from(q, 0);
}

std::vector<company_nps_view> read_txn::companies_nps(std::string_view tenant) {
    auto& q = db_.prepare(
        "SELECT external_id, name, promoters, passives, detractors, score_sum, nps_updated_ms "
        "FROM companies WHERE tenant = ? ORDER BY external_id");
    q.bind(1, tenant);
    std::vector<company_nps_view> out;
    while (q.step()) {
        out.push_back({q.string(0), q.string(1), figures_from(q, 2)});
    }
    return out;
}

std::vector<unmatched_view> read_txn::unmatched(std::string_view tenant, std::int64_t limit,
                                                std::int64_t offset) {
    auto& q = db_.prepare(
        "SELECT source_id, source, email, score, state, created_ms FROM nps_responses "
        "WHERE tenant = ? AND end_user_id IS NULL ORDER BY created_ms DESC, source_id DESC "
        "LIMIT ? OFFSET ?");
    q.bind(1, tenant).bind(2, limit).bind(3, offset);
    std::vector<unmatched_view> out;
    while (q.step()) {
        unmatched_view v;
        v.response_id = q.string(0);
        v.source = q.string(1);
        v.email = q.opt_string(2);
        if (auto s = q.opt_int64(3)) {
            v.score = static_cast<int>(*s);
        }
        v.state = q.string(4);
        v.created_ms = q.int64(5);
        out.push_back(std::move(v));
    }
    return out;
}

namespace {

constexpr const char* installation_columns =
    "SELECT id, tenant, connector, config, enabled, key_hash, old_key_hash, old_key_expires_ms, "
    "created_ms, updated_ms FROM installations ";

installation installation_from(sqlite::statement& q) {
    installation i;
    i.id = q.string(0);
    i.tenant = q.string(1);
    i.connector = q.string(2);
    boost::system::error_code ec;
    auto config = bj::parse(q.text(3), ec);
    if (!ec && config.is_object()) {
        i.config = std::move(config.get_object());
    }
    i.enabled = q.int64(4) != 0;
    i.key_hash = q.string(5);
    i.old_key_hash = q.opt_string(6);
    i.old_key_expires_ms = q.opt_int64(7);
    i.created_at = format_time_ms(q.int64(8));
    i.updated_at = format_time_ms(q.int64(9));
    return i;
}

}  // namespace

std::vector<installation> read_txn::installations(std::optional<std::string_view> tenant) {
    std::string sql = installation_columns;
    sql += tenant ? "WHERE tenant = ? ORDER BY created_ms, id" : "ORDER BY created_ms, id";
    auto& q = db_.prepare(sql);
    if (tenant) {
        q.bind(1, *tenant);
    }
    std::vector<installation> out;
    while (q.step()) {
        out.push_back(installation_from(q));
    }
    return out;
}

std::optional<installation> read_txn::find_installation(std::string_view tenant,
                                                        std::string_view id) {
    auto& q = db_.prepare(std::string(installation_columns) + "WHERE tenant = ? AND id = ?");
    q.bind(1, tenant).bind(2, id);
    if (!q.step()) {
        return std::nullopt;
    }
    return installation_from(q);
}

std::int64_t read_txn::count_responses(std::string_view tenant) {
    auto& q = db_.prepare("SELECT count(*) FROM nps_responses WHERE tenant = ?");
    q.bind(1, tenant);
    q.step();
    return q.int64(0);
}

// ---- writes: tenants, companies, End Users ---------------------------------------------------

namespace {

constexpr const char* company_sql =
    "UPDATE companies SET promoters = promoters + ?, passives = passives + ?, "
    "detractors = detractors + ?, score_sum = score_sum + ?, nps_updated_ms = ? WHERE id = ?";

}  // namespace

bool write_txn::create_tenant(std::string_view id, std::string_view name) {
    auto& q = db_.prepare("INSERT OR IGNORE INTO tenants (id, name, created_ms) VALUES (?, ?, ?)");
    q.bind(1, id).bind(2, name).bind(3, now_ms()).run();
    if (db_.changes() == 0) {
        return false;
    }
    db_.prepare("INSERT INTO tenant_rollups (tenant) VALUES (?)").bind(1, id).run();
    return true;
}

upsert_counts write_txn::upsert_companies(std::string_view tenant,
                                          const std::vector<company_input>& rows) {
    upsert_counts counts;
    for (const auto& row : rows) {
        bj::array domains;
        for (const auto& d : row.domains) {
            domains.emplace_back(d);
        }
        std::string domains_json = bj::serialize(domains);

        auto& find =
            db_.prepare("SELECT name, domains FROM companies WHERE tenant = ? AND external_id = ?");
        find.bind(1, tenant).bind(2, row.external_id);
        if (!find.step()) {
            find.reset();
            db_.prepare(
                   "INSERT INTO companies (tenant, external_id, name, domains) VALUES (?,?,?,?)")
                .bind(1, tenant)
                .bind(2, row.external_id)
                .bind(3, row.name)
                .bind(4, domains_json)
                .run();
            ++counts.inserted;
            continue;
        }
        bool same = find.text(0) == row.name && find.text(1) == domains_json;
        find.reset();
        if (same) {
            ++counts.unchanged;
            continue;
        }
        db_.prepare(
               "UPDATE companies SET name = ?, domains = ? WHERE tenant = ? AND external_id = ?")
            .bind(1, row.name)
            .bind(2, domains_json)
            .bind(3, tenant)
            .bind(4, row.external_id)
            .run();
        ++counts.updated;
    }
    return counts;
}

namespace {

std::vector<std::string> other_emails_of(sqlite::database& db, std::int64_t user_id,
                                         std::string_view email) {
    auto& q = db.prepare(
        "SELECT email FROM end_user_emails WHERE end_user_id = ? AND email <> ? ORDER BY email");
    q.bind(1, user_id).bind(2, email);
    std::vector<std::string> out;
    while (q.step()) {
        out.push_back(q.string(0));
    }
    return out;
}

}  // namespace

upsert_counts write_txn::upsert_end_users(std::string_view tenant,
                                          const std::vector<end_user_input>& rows) {
    upsert_counts counts;
    for (const auto& row : rows) {
        std::optional<std::int64_t> company_id;
        if (row.company_external_id) {
            auto& q = db_.prepare("SELECT id FROM companies WHERE tenant = ? AND external_id = ?");
            q.bind(1, tenant).bind(2, *row.company_external_id);
            if (!q.step()) {
                throw invalid_input("companyExternalId '" + *row.company_external_id +
                                    "' is not a known company");
            }
            company_id = q.int64(0);
            q.reset();
        }

        std::int64_t unchanged_before = counts.unchanged;
        std::int64_t user_id = upsert_end_user_row(tenant, row, company_id, counts);
        auto others_before = other_emails_of(db_, user_id, row.email);

        // The set of addresses this End User is matched by.
        std::vector<std::string> emails{row.email};
        if (row.other_emails) {
            release_emails(tenant, user_id, others_before, *row.other_emails);
            db_.prepare("DELETE FROM end_user_emails WHERE end_user_id = ? AND email <> ?")
                .bind(1, user_id)
                .bind(2, row.email)
                .run();
            emails.insert(emails.end(), row.other_emails->begin(), row.other_emails->end());
        }
        for (const auto& email : emails) {
            auto& owner = db_.prepare(
                "SELECT end_user_id FROM end_user_emails WHERE tenant = ? AND email = ?");
            owner.bind(1, tenant).bind(2, email);
            if (owner.step()) {
                bool mine = owner.int64(0) == user_id;
                owner.reset();
                if (!mine) {
                    counts.conflicts.push_back(email);
                }
                continue;
            }
            owner.reset();
            db_.prepare("INSERT INTO end_user_emails (tenant, email, end_user_id) VALUES (?,?,?)")
                .bind(1, tenant)
                .bind(2, email)
                .bind(3, user_id)
                .run();
            claim_unmatched(tenant, user_id, email, counts);
        }

        // A new set of other emails is an update even when the End User's row is as it was.
        if (counts.unchanged > unchanged_before &&
            other_emails_of(db_, user_id, row.email) != others_before) {
            --counts.unchanged;
            ++counts.updated;
        }
    }
    return counts;
}

std::int64_t write_txn::upsert_end_user_row(std::string_view tenant, const end_user_input& row,
                                            std::optional<std::int64_t> company_id,
                                            upsert_counts& counts) {
    auto& owner = db_.prepare(
        "SELECT u.id, u.email FROM end_user_emails e JOIN end_users u ON u.id = e.end_user_id "
        "WHERE e.tenant = ? AND e.email = ?");
    owner.bind(1, tenant).bind(2, row.email);
    if (owner.step() && owner.text(1) != row.email) {
        throw invalid_input("email '" + row.email + "' is already an other email of End User '" +
                            owner.string(1) + "'");
    }
    owner.reset();

    auto& find = db_.prepare(
        "SELECT id, company_id, name, external_id FROM end_users WHERE tenant = ? AND email = ?");
    find.bind(1, tenant).bind(2, row.email);
    if (!find.step()) {
        find.reset();
        db_.prepare(
               "INSERT INTO end_users (tenant, email, name, external_id, company_id) "
               "VALUES (?,?,?,?,?)")
            .bind(1, tenant)
            .bind(2, row.email)
            .bind(3, row.name)
            .bind(4, row.external_id)
            .bind(5, company_id)
            .run();
        ++counts.inserted;
        return db_.last_insert_rowid();
    }

    std::int64_t id = find.int64(0);
    auto old_company = find.opt_int64(1);
    auto old_name = find.opt_string(2);
    auto old_external = find.opt_string(3);
    find.reset();

    auto name = row.name ? row.name : old_name;
    auto external = row.external_id ? row.external_id : old_external;
    if (old_company == company_id && old_name == name && old_external == external) {
        ++counts.unchanged;
        return id;
    }
    db_.prepare("UPDATE end_users SET name = ?, external_id = ?, company_id = ? WHERE id = ?")
        .bind(1, name)
        .bind(2, external)
        .bind(3, company_id)
        .bind(4, id)
        .run();
    if (old_company != company_id) {
        move_user_company(id, old_company, company_id);
    }
    ++counts.updated;
    return id;
}

void write_txn::move_user_company(std::int64_t user_id, std::optional<std::int64_t> from,
                                  std::optional<std::int64_t> to) {
    auto& q = db_.prepare("SELECT nps_score FROM end_users WHERE id = ?");
    q.bind(1, user_id);
    if (!q.step() || q.is_null(0)) {
        return;
    }
    int score = static_cast<int>(q.int64(0));
    q.reset();

    // The portfolio keeps the score; only the companies' counts move.
    bump_rollup(company_sql, from, score, std::nullopt);
    bump_rollup(company_sql, to, std::nullopt, score);
}

// Responses matched through an address the End User no longer has go back to the unmatched
// queue, where the address's next owner claims them.
void write_txn::release_emails(std::string_view tenant, std::int64_t user_id,
                               const std::vector<std::string>& before,
                               const std::vector<std::string>& kept) {
    bool released = false;
    for (const auto& email : before) {
        if (std::find(kept.begin(), kept.end(), email) != kept.end()) {
            continue;
        }
        db_.prepare(
               "UPDATE nps_responses SET end_user_id = NULL "
               "WHERE tenant = ? AND end_user_id = ? AND email = ?")
            .bind(1, tenant)
            .bind(2, user_id)
            .bind(3, email)
            .run();
        released = released || db_.changes() > 0;
    }
    if (released) {
        recompute_user(user_id);
    }
}

void write_txn::claim_unmatched(std::string_view tenant, std::int64_t user_id,
                                std::string_view email, upsert_counts& counts) {
    auto& q = db_.prepare(
        "SELECT id, rollup_score FROM nps_responses "
        "WHERE tenant = ? AND email = ? AND end_user_id IS NULL");
    q.bind(1, tenant).bind(2, email);
    std::vector<std::pair<std::int64_t, bool>> rows;
    while (q.step()) {
        rows.emplace_back(q.int64(0), !q.is_null(1));
    }
    q.reset();

    for (auto [row, counts_for_nps] : rows) {
        db_.prepare("UPDATE nps_responses SET end_user_id = ? WHERE id = ?")
            .bind(1, user_id)
            .bind(2, row)
            .run();
        if (counts_for_nps) {
            offer_response(user_id, row);
        }
        ++counts.matched_responses;
    }
}

// ---- writes: responses and rollups -----------------------------------------------------------

namespace {

int state_rank(std::string_view state) {
    if (state == "completed") {
        return 2;
    }
    if (state == "dismissed") {
        return 1;
    }
    return 0;  // pending
}

struct stored_response {
    std::int64_t id;
    std::optional<std::int64_t> end_user_id;
    std::string state;
    std::int64_t created_ms;
    std::optional<int> score;
    std::optional<std::string> comment;
    std::optional<std::string> email;
    std::optional<std::string> external_user_id;
    std::optional<std::string> campaign;
    std::optional<std::string> method;
    std::string raw;
};

// The End User's latest score: the response it comes from, or none.
void write_user_score(sqlite::database& db, std::int64_t user_id, std::optional<int> score,
                      const std::optional<std::string>& comment,
                      std::optional<std::int64_t> created,
                      std::optional<std::string_view> source_id) {
    db.prepare(
          "UPDATE end_users SET nps_score = ?, nps_comment = ?, nps_created_ms = ?, "
          "nps_response_id = ? WHERE id = ?")
        .bind(1, score)
        .bind(2, comment)
        .bind(3, created)
        .bind(4, source_id)
        .bind(5, user_id)
        .run();
}

// Versions order by state, then the response's own time, then how much was answered.
std::tuple<int, std::int64_t, int> version_of(std::string_view state, std::int64_t created_ms,
                                              const std::optional<int>& score,
                                              const std::optional<std::string>& comment) {
    int answered = (score ? 1 : 0) + (comment && !comment->empty() ? 1 : 0);
    return {state_rank(state), created_ms, answered};
}

}  // namespace

upsert_outcome write_txn::upsert_response(std::string_view tenant, const nps_record& r,
                                          const nps_contribution& contribution) {
    auto& find = db_.prepare(
        "SELECT id, end_user_id, state, created_ms, score, comment, email, external_user_id, "
        "campaign, method, raw FROM nps_responses WHERE tenant = ? AND source = ? AND source_id = "
        "?");
    find.bind(1, tenant).bind(2, r.source).bind(3, r.source_id);
    std::optional<stored_response> old;
    if (find.step()) {
        old = stored_response{find.int64(0),
                              find.opt_int64(1),
                              find.string(2),
                              find.int64(3),
                              find.opt_int64(4) ? std::optional<int>(find.int64(4)) : std::nullopt,
                              find.opt_string(5),
                              find.opt_string(6),
                              find.opt_string(7),
                              find.opt_string(8),
                              find.opt_string(9),
                              find.string(10)};
    }
    find.reset();

    std::int64_t now = now_ms();
    std::int64_t created = r.created_ms ? *r.created_ms : (old ? old->created_ms : now);
    std::optional<int> rollup_score;
    if (contribution.counts) {
        rollup_score = contribution.score;
    }

    if (old) {
        auto incoming = version_of(r.state, created, r.score, r.comment);
        auto stored = version_of(old->state, old->created_ms, old->score, old->comment);
        if (incoming < stored) {
            return upsert_outcome::stale;
        }
        if (incoming == stored) {
            bool same = old->score == r.score && old->comment == r.comment &&
                        old->email == r.email && old->external_user_id == r.external_user_id &&
                        old->campaign == r.campaign && old->method == r.method &&
                        old->raw == r.raw_json;
            // Equal versions that differ: the first one stored stands.
            return same ? upsert_outcome::unchanged : upsert_outcome::stale;
        }
    }

    auto user = match_email(tenant, r.email);
    if (!old) {
        db_.prepare(
               "INSERT INTO nps_responses (tenant, source, source_id, email, external_user_id, "
               "end_user_id, score, rollup_score, comment, state, created_ms, campaign, method, "
               "raw, "
               "received_ms, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
            .bind(1, tenant)
            .bind(2, r.source)
            .bind(3, r.source_id)
            .bind(4, r.email)
            .bind(5, r.external_user_id)
            .bind(6, user)
            .bind(7, r.score)
            .bind(8, rollup_score)
            .bind(9, r.comment)
            .bind(10, r.state)
            .bind(11, created)
            .bind(12, r.campaign)
            .bind(13, r.method)
            .bind(14, r.raw_json)
            .bind(15, now)
            .bind(16, now)
            .run();
        // What offer_response does, with the values at hand instead of read back from the row
        // just written: the common path of every new delivery.
        if (user && rollup_score) {
            auto current = load_user_score(*user);
            bool older = current && current->created_ms && current->response_id &&
                         std::pair<std::int64_t, std::string_view>(created, r.source_id) <
                             std::pair<std::int64_t, std::string_view>(*current->created_ms,
                                                                       *current->response_id);
            if (current && !older) {
                write_user_score(db_, *user, rollup_score, r.comment, created, r.source_id);
                apply_to_rollups(tenant, current->company_id, current->score, rollup_score);
            }
        }
        return upsert_outcome::inserted;
    }

    db_.prepare(
           "UPDATE nps_responses SET email = ?, external_user_id = ?, end_user_id = ?, score = ?, "
           "rollup_score = ?, comment = ?, state = ?, created_ms = ?, campaign = ?, method = ?, "
           "raw = ?, updated_ms = ? WHERE id = ?")
        .bind(1, r.email)
        .bind(2, r.external_user_id)
        .bind(3, user)
        .bind(4, r.score)
        .bind(5, rollup_score)
        .bind(6, r.comment)
        .bind(7, r.state)
        .bind(8, created)
        .bind(9, r.campaign)
        .bind(10, r.method)
        .bind(11, r.raw_json)
        .bind(12, now)
        .bind(13, old->id)
        .run();

    // The End Users this response was and is attached to may each have a new latest score.
    std::set<std::int64_t> affected;
    if (old->end_user_id) {
        affected.insert(*old->end_user_id);
    }
    if (user) {
        affected.insert(*user);
    }
    for (auto u : affected) {
        auto current = load_user_score(u);
        if (current && current->response_id == r.source_id) {
            recompute_user(u);
        } else if (user == u && rollup_score) {
            offer_response(u, old->id);
        }
    }
    return upsert_outcome::updated;
}

std::optional<std::int64_t> write_txn::match_email(std::string_view tenant,
                                                   const std::optional<std::string>& email) {
    if (!email) {
        return std::nullopt;
    }
    auto& q = db_.prepare("SELECT end_user_id FROM end_user_emails WHERE tenant = ? AND email = ?");
    q.bind(1, tenant).bind(2, *email);
    if (!q.step()) {
        return std::nullopt;
    }
    return q.int64(0);
}

std::optional<write_txn::user_score> write_txn::load_user_score(std::int64_t user_id) {
    auto& q = db_.prepare(
        "SELECT company_id, nps_score, nps_created_ms, nps_response_id FROM end_users "
        "WHERE id = ?");
    q.bind(1, user_id);
    if (!q.step()) {
        return std::nullopt;
    }
    user_score s{user_id, q.opt_int64(0), std::nullopt, q.opt_int64(2), q.opt_string(3)};
    if (auto v = q.opt_int64(1)) {
        s.score = static_cast<int>(*v);
    }
    return s;
}

// Makes the response the End User's score when it is at least as recent as the current one.
void write_txn::offer_response(std::int64_t user_id, std::int64_t response_row) {
    auto current = load_user_score(user_id);
    if (!current) {
        return;
    }
    auto& q = db_.prepare("SELECT created_ms, source_id FROM nps_responses WHERE id = ?");
    q.bind(1, response_row);
    if (!q.step()) {
        return;
    }
    auto candidate = std::make_pair(q.int64(0), q.string(1));
    q.reset();

    if (current->created_ms && current->response_id &&
        candidate < std::make_pair(*current->created_ms, *current->response_id)) {
        return;
    }
    set_user_score(*current, response_row);
}

void write_txn::recompute_user(std::int64_t user_id) {
    auto current = load_user_score(user_id);
    if (!current) {
        return;
    }
    auto& q = db_.prepare(
        "SELECT id FROM nps_responses WHERE end_user_id = ? AND rollup_score IS NOT NULL "
        "ORDER BY created_ms DESC, source_id DESC LIMIT 1");
    q.bind(1, user_id);
    std::optional<std::int64_t> latest;
    if (q.step()) {
        latest = q.int64(0);
    }
    q.reset();
    set_user_score(*current, latest);
}

void write_txn::set_user_score(const user_score& before, std::optional<std::int64_t> response_row) {
    std::optional<int> score;
    std::optional<std::string> comment;
    std::optional<std::int64_t> created;
    std::optional<std::string> source_id;
    std::string tenant;
    if (response_row) {
        auto& q = db_.prepare(
            "SELECT rollup_score, comment, created_ms, source_id, tenant FROM nps_responses "
            "WHERE id = ?");
        q.bind(1, *response_row);
        if (q.step()) {
            score = static_cast<int>(q.int64(0));
            comment = q.opt_string(1);
            created = q.int64(2);
            source_id = q.string(3);
            tenant = q.string(4);
        }
        q.reset();
    }
    if (tenant.empty()) {
        auto& t = db_.prepare("SELECT tenant FROM end_users WHERE id = ?");
        t.bind(1, before.user_id);
        t.step();
        tenant = t.string(0);
        t.reset();
    }

    write_user_score(db_, before.user_id, score, comment, created, source_id);
    apply_to_rollups(tenant, before.company_id, before.score, score);
}

namespace {

constexpr const char* tenant_sql =
    "UPDATE tenant_rollups SET promoters = promoters + ?, passives = passives + ?, "
    "detractors = detractors + ?, score_sum = score_sum + ?, nps_updated_ms = ? WHERE tenant = ?";

// Adds delta to the rollup row that sql (tenant_sql or company_sql) updates for key.
template <class Key>
void add_to_rollup(sqlite::database& db, const char* sql, const nps::figures& delta, const Key& key,
                   std::int64_t now) {
    db.prepare(sql)
        .bind(1, delta.promoters)
        .bind(2, delta.passives)
        .bind(3, delta.detractors)
        .bind(4, delta.score_sum)
        .bind(5, now)
        .bind(6, key)
        .run();
}

}  // namespace

// O(1): takes the End User's old score out of the counts and puts the new one in.
void write_txn::apply_to_rollups(std::string_view tenant, std::optional<std::int64_t> company_id,
                                 std::optional<int> old_score, std::optional<int> new_score) {
    if (immediate_portfolio_) {
        bump_rollup(tenant_sql, std::optional<std::string_view>(tenant), old_score, new_score);
    } else if (old_score != new_score) {
        auto it = tenant_deltas_.find(tenant);
        if (it == tenant_deltas_.end()) {
            it = tenant_deltas_.emplace(std::string(tenant), nps::figures{}).first;
        }
        if (old_score) {
            it->second.remove(*old_score);
        }
        if (new_score) {
            it->second.add(*new_score);
        }
    }
    bump_rollup(company_sql, company_id, old_score, new_score);
}

void write_txn::write_tenant_deltas() {
    try {
        for (const auto& [tenant, delta] : tenant_deltas_) {
            add_to_rollup(db_, tenant_sql, delta, std::string_view(tenant), now_ms());
        }
    } catch (...) {
        throw portfolio_failure{std::current_exception()};
    }
    tenant_deltas_.clear();
}

nps_view write_txn::tenant_nps(std::string_view tenant) {
    write_tenant_deltas();
    return read_txn::tenant_nps(tenant);
}

template <class Key>
void write_txn::bump_rollup(const char* sql, const std::optional<Key>& key,
                            std::optional<int> old_score, std::optional<int> new_score) {
    if (!key || old_score == new_score) {
        return;
    }
    nps::figures delta;
    if (old_score) {
        delta.remove(*old_score);
    }
    if (new_score) {
        delta.add(*new_score);
    }
    // One reading of the clock for both: a midnight between them would skip the day's close.
    std::int64_t now = now_ms();
    if constexpr (std::is_same_v<Key, std::int64_t>) {
        close_company_day(*key, now);
    }
    add_to_rollup(db_, sql, delta, *key, now);
}

// History, before a Company's figures change: when they last changed on an earlier (UTC) day,
// they are that day's closing figures and go to company_nps_daily. Today's figures are the
// Company's own row, so a change writes no history row except the first one of a day: the daily
// row of every change was a page written at a random place for each delivery. A row that is
// there already (one written on every change before this scheme) takes the closing figures.
void write_txn::close_company_day(std::int64_t company_id, std::int64_t now) {
    constexpr std::int64_t day_ms = 86'400'000;
    db_.prepare(
           "INSERT INTO company_nps_daily (company_id, day, promoters, passives, detractors, "
           "score_sum) SELECT id, strftime('%Y-%m-%d', nps_updated_ms / 1000.0, 'unixepoch'), "
           "promoters, passives, detractors, score_sum FROM companies "
           "WHERE id = ?1 AND nps_updated_ms < ?2 "
           "ON CONFLICT (company_id, day) DO UPDATE SET promoters = excluded.promoters, "
           "passives = excluded.passives, detractors = excluded.detractors, "
           "score_sum = excluded.score_sum")
        .bind(1, company_id)
        .bind(2, now - ((now % day_ms) + day_ms) % day_ms)
        .run();
}

// ---- writes: installations -------------------------------------------------------------------

void write_txn::insert_installation(const installation& i) {
    std::int64_t now = now_ms();
    db_.prepare(
           "INSERT INTO installations (id, tenant, connector, config, enabled, key_hash, "
           "old_key_hash, old_key_expires_ms, created_ms, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?)")
        .bind(1, i.id)
        .bind(2, i.tenant)
        .bind(3, i.connector)
        .bind(4, bj::serialize(i.config))
        .bind(5, i.enabled ? 1 : 0)
        .bind(6, i.key_hash)
        .bind(7, i.old_key_hash)
        .bind(8, i.old_key_expires_ms)
        .bind(9, now)
        .bind(10, now)
        .run();
}

void write_txn::update_installation(const installation& i) {
    db_.prepare(
           "UPDATE installations SET config = ?, enabled = ?, key_hash = ?, old_key_hash = ?, "
           "old_key_expires_ms = ?, updated_ms = ? WHERE tenant = ? AND id = ?")
        .bind(1, bj::serialize(i.config))
        .bind(2, i.enabled ? 1 : 0)
        .bind(3, i.key_hash)
        .bind(4, i.old_key_hash)
        .bind(5, i.old_key_expires_ms)
        .bind(6, now_ms())
        .bind(7, i.tenant)
        .bind(8, i.id)
        .run();
}

bool write_txn::delete_installation(std::string_view tenant, std::string_view id) {
    db_.prepare("DELETE FROM installations WHERE tenant = ? AND id = ?")
        .bind(1, tenant)
        .bind(2, id)
        .run();
    return db_.changes() > 0;
}

// ---- jobs ------------------------------------------------------------------------------------

namespace {

constexpr const char* job_columns =
    "SELECT id, tenant, installation_id, connector, action, params, state, progress, checkpoint, "
    "error, cancel_requested, created_ms, started_ms, finished_ms, updated_ms FROM jobs ";

job_row job_from(sqlite::statement& q) {
    job_row j;
    j.id = q.string(0);
    j.tenant = q.string(1);
    j.installation_id = q.string(2);
    j.connector = q.string(3);
    j.action = q.string(4);
    j.params = q.string(5);
    j.state = q.string(6);
    j.progress = q.string(7);
    j.checkpoint = q.opt_string(8);
    j.error = q.opt_string(9);
    j.cancel_requested = q.int64(10) != 0;
    j.created_ms = q.int64(11);
    j.started_ms = q.opt_int64(12);
    j.finished_ms = q.opt_int64(13);
    j.updated_ms = q.int64(14);
    return j;
}

}  // namespace

std::optional<job_row> read_txn::job(std::string_view id) {
    auto& q = db_.prepare(std::string(job_columns) + "WHERE id = ?");
    q.bind(1, id);
    if (!q.step()) {
        return std::nullopt;
    }
    return job_from(q);
}

std::vector<job_row> read_txn::jobs(std::string_view tenant, std::int64_t limit) {
    auto& q = db_.prepare(std::string(job_columns) +
                          "WHERE tenant = ? ORDER BY created_ms DESC, id LIMIT ?");
    q.bind(1, tenant).bind(2, limit);
    std::vector<job_row> out;
    while (q.step()) {
        out.push_back(job_from(q));
    }
    return out;
}

std::optional<std::string> read_txn::active_job(std::string_view installation,
                                                std::string_view action) {
    auto& q = db_.prepare(
        "SELECT id FROM jobs WHERE installation_id = ? AND action = ? "
        "AND state IN ('queued', 'running')");
    q.bind(1, installation).bind(2, action);
    if (!q.step()) {
        return std::nullopt;
    }
    return q.string(0);
}

std::optional<job_row> read_txn::last_job(std::string_view installation, std::string_view action) {
    auto& q = db_.prepare(std::string(job_columns) +
                          "WHERE installation_id = ? AND action = ? "
                          "ORDER BY created_ms DESC, rowid DESC LIMIT 1");
    q.bind(1, installation).bind(2, action);
    if (!q.step()) {
        return std::nullopt;
    }
    return job_from(q);
}

std::vector<job_row> read_txn::unfinished_jobs() {
    auto& q = db_.prepare(std::string(job_columns) +
                          "WHERE state IN ('queued', 'running') ORDER BY created_ms, id");
    std::vector<job_row> out;
    while (q.step()) {
        out.push_back(job_from(q));
    }
    return out;
}

void write_txn::insert_job(const job_row& j) {
    db_.prepare(
           "INSERT INTO jobs (id, tenant, installation_id, connector, action, params, state, "
           "progress, checkpoint, created_ms, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?)")
        .bind(1, j.id)
        .bind(2, j.tenant)
        .bind(3, j.installation_id)
        .bind(4, j.connector)
        .bind(5, j.action)
        .bind(6, j.params)
        .bind(7, j.state)
        .bind(8, j.progress)
        .bind(9, j.checkpoint)
        .bind(10, j.created_ms)
        .bind(11, j.created_ms)
        .run();
}

void write_txn::set_job_state(std::string_view id, std::string_view state,
                              const std::optional<std::string>& error) {
    std::int64_t now = now_ms();
    bool finished = state == "succeeded" || state == "failed" || state == "cancelled";
    db_.prepare(
           "UPDATE jobs SET state = ?, error = ?, updated_ms = ?, "
           "started_ms = CASE WHEN ? = 'running' AND started_ms IS NULL THEN ? ELSE started_ms "
           "END, "
           "finished_ms = CASE WHEN ? THEN ? ELSE NULL END WHERE id = ?")
        .bind(1, state)
        .bind(2, error)
        .bind(3, now)
        .bind(4, state)
        .bind(5, now)
        .bind(6, finished ? 1 : 0)
        .bind(7, now)
        .bind(8, id)
        .run();
}

void write_txn::save_job_progress(std::string_view id, std::string_view progress,
                                  const std::optional<std::string>& checkpoint) {
    if (checkpoint) {
        db_.prepare("UPDATE jobs SET progress = ?, checkpoint = ?, updated_ms = ? WHERE id = ?")
            .bind(1, progress)
            .bind(2, *checkpoint)
            .bind(3, now_ms())
            .bind(4, id)
            .run();
        return;
    }
    db_.prepare("UPDATE jobs SET progress = ?, updated_ms = ? WHERE id = ?")
        .bind(1, progress)
        .bind(2, now_ms())
        .bind(3, id)
        .run();
}

bool write_txn::request_job_cancel(std::string_view id) {
    db_.prepare(
           "UPDATE jobs SET cancel_requested = 1, updated_ms = ? "
           "WHERE id = ? AND state IN ('queued', 'running')")
        .bind(1, now_ms())
        .bind(2, id)
        .run();
    return db_.changes() > 0;
}

}  // namespace tributary::host
