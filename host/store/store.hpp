// store.hpp: durable storage of tenants, End Users, NPS responses, rollups and installations.
#pragma once

#include "store/sqlite.hpp"
#include "util/time.hpp"

#include <tributary/nps.hpp>

#include <boost/json.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tributary::host {

// ---- records ---------------------------------------------------------------------------------

struct company_input {
    std::string external_id;
    std::string name;
    std::vector<std::string> domains;
};

struct end_user_input {
    std::string email;  // normalised
    std::optional<std::string> company_external_id;
    std::optional<std::string> name;
    std::optional<std::string> external_id;
    std::optional<std::vector<std::string>> other_emails;  // normalised; given: replaces the set
};

struct upsert_counts {
    std::int64_t inserted = 0;
    std::int64_t updated = 0;
    std::int64_t unchanged = 0;
    std::int64_t matched_responses = 0;  // unmatched responses that found their End User
    std::vector<std::string> conflicts;  // other emails already owned by another End User
};

// A normalised NPS response as a connector emitted it, checked by the host.
struct nps_record {
    std::string source;     // connector id
    std::string source_id;  // the connector's stable response id
    std::optional<std::string> email;
    std::optional<std::string> external_user_id;
    std::optional<int> score;
    std::optional<std::string> comment;
    std::string state;  // completed | dismissed | pending
    std::optional<std::int64_t> created_ms;
    std::optional<std::string> campaign;
    std::optional<std::string> method;
    std::string raw_json;
};

// What the connector's rollup hook says a record contributes.
struct nps_contribution {
    bool counts = false;
    int score = 0;
};

enum class upsert_outcome { inserted, updated, unchanged, stale };
const char* to_string(upsert_outcome o);

struct installation {
    std::string id;
    std::string tenant;
    std::string connector;
    boost::json::object config;  // secrets included; never answered as is
    bool enabled = true;
    std::string key_hash;
    std::optional<std::string> old_key_hash;
    std::optional<std::int64_t> old_key_expires_ms;
    std::string created_at;
    std::string updated_at;
};

struct end_user_view {
    std::string email;
    std::optional<std::string> name;
    std::optional<std::string> external_id;
    std::optional<std::string> company_external_id;
    std::vector<std::string> other_emails;
    std::optional<int> nps_score;
    std::optional<std::string> nps_comment;
    std::optional<std::int64_t> nps_date_ms;
    std::optional<std::string> nps_response_id;
};

struct nps_view {
    nps::figures figures;
    std::optional<std::int64_t> updated_ms;
};

struct company_nps_view {
    std::string external_id;
    std::string name;
    nps_view nps;
};

struct unmatched_view {
    std::string response_id;
    std::string source;
    std::optional<std::string> email;
    std::optional<int> score;
    std::string state;
    std::int64_t created_ms = 0;
};

struct job_row {
    std::string id;
    std::string tenant;
    std::string installation_id;
    std::string connector;
    std::string action;
    std::string params;    // JSON object
    std::string state;     // queued | running | succeeded | failed | cancelled
    std::string progress;  // JSON object
    std::optional<std::string> checkpoint;
    std::optional<std::string> error;
    bool cancel_requested = false;
    std::int64_t created_ms = 0;
    std::optional<std::int64_t> started_ms;
    std::optional<std::int64_t> finished_ms;
    std::int64_t updated_ms = 0;
};

struct tenant_row {
    std::string id;
    std::string name;
    std::int64_t created_ms = 0;
};

// A token that acts for one tenant; only the SHA-256 of the token itself is kept.
struct tenant_token {
    std::string id;
    std::string tenant;
    std::string name;
    std::string token_hash;
    std::string created_by;  // the actor that created it
    std::int64_t created_ms = 0;
    std::optional<std::int64_t> revoked_ms;
};

// One change made through the admin API: who, what, when, and the state before and after with
// secrets masked and webhook keys left out.
struct audit_entry {
    std::int64_t id = 0;
    std::int64_t at_ms = 0;
    std::string actor;  // "admin" or "token:<token id>"
    std::optional<std::string> tenant;
    std::string action;  // e.g. "installation.update"
    std::string route;   // e.g. "PATCH /api/v1/tenants/acme/installations/inst_x"
    std::optional<std::string> target;
    std::optional<std::string> before;  // JSON
    std::optional<std::string> after;   // JSON
};

// A connector added to the catalog after start, kept so that it is loaded again on restart.
struct catalog_addition {
    std::string connector;
    std::optional<std::string> manifest_path;  // read from this file
    std::optional<std::string> manifest_text;  // or uploaded as this YAML text
    std::string plugin_dir;                    // relative library paths resolve against it
    std::int64_t added_ms = 0;
};

// ---- transactions ----------------------------------------------------------------------------

// Reads, on a connection that sees one consistent snapshot.
class read_txn {
public:
    explicit read_txn(sqlite::database& db) : db_(db) {}
    virtual ~read_txn() = default;
    read_txn(const read_txn&) = delete;
    read_txn& operator=(const read_txn&) = delete;

    bool tenant_exists(std::string_view tenant);
    std::optional<end_user_view> end_user(std::string_view tenant, std::string_view email);
    std::optional<company_nps_view> company_nps(std::string_view tenant,
                                                std::string_view external_id);
    // Inside a write transaction, as the transaction leaves it so far.
    virtual nps_view tenant_nps(std::string_view tenant);
    std::vector<company_nps_view> companies_nps(std::string_view tenant);
    std::vector<unmatched_view> unmatched(std::string_view tenant, std::int64_t limit,
                                          std::int64_t offset);
    std::vector<installation> installations(std::optional<std::string_view> tenant = {});
    std::optional<installation> find_installation(std::string_view tenant, std::string_view id);
    std::int64_t count_responses(std::string_view tenant);

    std::optional<job_row> job(std::string_view id);
    std::vector<job_row> jobs(std::string_view tenant, std::int64_t limit);
    // The queued or running job of this action for the installation.
    std::optional<std::string> active_job(std::string_view installation, std::string_view action);
    // The newest job of this action for the installation, whatever its state.
    std::optional<job_row> last_job(std::string_view installation, std::string_view action);
    std::vector<job_row> unfinished_jobs();

    // Administration (admin_store.cpp).
    std::vector<tenant_row> tenants();
    std::optional<tenant_row> tenant(std::string_view id);
    std::vector<tenant_token> tenant_tokens(std::optional<std::string_view> tenant = {});
    // Newest first; before_id pages back.
    std::vector<audit_entry> audit(std::optional<std::string_view> tenant, std::int64_t limit,
                                   std::optional<std::int64_t> before_id = {});
    std::vector<catalog_addition> catalog_additions();

protected:
    sqlite::database& db_;
};

// Writes; runs on the writer thread inside a transaction shared with other writes.
class write_txn : public read_txn {
public:
    using read_txn::read_txn;

    // false when the tenant already exists.
    bool create_tenant(std::string_view id, std::string_view name);
    upsert_counts upsert_companies(std::string_view tenant, const std::vector<company_input>& rows);
    // Throws invalid_input naming the first unknown company.
    upsert_counts upsert_end_users(std::string_view tenant,
                                   const std::vector<end_user_input>& rows);
    upsert_outcome upsert_response(std::string_view tenant, const nps_record& record,
                                   const nps_contribution& contribution);

    nps_view tenant_nps(std::string_view tenant) override;

    void insert_installation(const installation& inst);
    void update_installation(const installation& inst);
    bool delete_installation(std::string_view tenant, std::string_view id);

    void insert_job(const job_row& job);
    void set_job_state(std::string_view id, std::string_view state,
                       const std::optional<std::string>& error = std::nullopt);
    void save_job_progress(std::string_view id, std::string_view progress,
                           const std::optional<std::string>& checkpoint);
    // false when the job is unknown or already finished.
    bool request_job_cancel(std::string_view id);

    // Administration (admin_store.cpp).
    void insert_tenant_token(const tenant_token& token);
    // false when the tenant has no such token or it is already revoked.
    bool revoke_tenant_token(std::string_view tenant, std::string_view id);
    std::int64_t insert_audit(const audit_entry& entry);
    void upsert_catalog_addition(const catalog_addition& addition);

private:
    friend class store;

    // Portfolio changes are summed per tenant and written once, before the commit: every
    // delivery of a group changes the same row. When that write fails, no unit can be blamed: it
    // throws portfolio_failure, and the group runs again with each change written at once
    // (immediate_portfolio_), so that the failure lands on the unit that causes it.
    using tenant_deltas = std::map<std::string, nps::figures, std::less<>>;
    struct portfolio_failure {
        std::exception_ptr error;
    };
    void write_tenant_deltas();
    tenant_deltas tenant_deltas_;
    bool immediate_portfolio_ = false;

    struct user_score {
        std::int64_t user_id;
        std::optional<std::int64_t> company_id;
        std::optional<int> score;
        std::optional<std::int64_t> created_ms;
        std::optional<std::string> response_id;
    };

    std::optional<std::int64_t> match_email(std::string_view tenant,
                                            const std::optional<std::string>& email);
    std::optional<user_score> load_user_score(std::int64_t user_id);
    void offer_response(std::int64_t user_id, std::int64_t response_row);
    void recompute_user(std::int64_t user_id);
    void set_user_score(const user_score& before, std::optional<std::int64_t> response_row);
    void apply_to_rollups(std::string_view tenant, std::optional<std::int64_t> company_id,
                          std::optional<int> old_score, std::optional<int> new_score);
    template <class Key>
    void bump_rollup(const char* sql, const std::optional<Key>& key, std::optional<int> old_score,
                     std::optional<int> new_score);
    void close_company_day(std::int64_t company_id, std::int64_t now);
    void claim_unmatched(std::string_view tenant, std::int64_t user_id, std::string_view email,
                         upsert_counts& counts);
    void release_emails(std::string_view tenant, std::int64_t user_id,
                        const std::vector<std::string>& before,
                        const std::vector<std::string>& kept);
    std::int64_t upsert_end_user_row(std::string_view tenant, const end_user_input& row,
                                     std::optional<std::int64_t> company_id, upsert_counts& counts);
    void move_user_company(std::int64_t user_id, std::optional<std::int64_t> from,
                           std::optional<std::int64_t> to);
};

class invalid_input : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// ---- the store -------------------------------------------------------------------------------

struct store_options {
    std::filesystem::path file;
    std::size_t read_connections = 4;
    std::size_t max_batch = 512;  // writes committed together at most
    // A thread of its own copies the WAL into the database file each time this many pages have
    // been added to it, and syncs the file. A copy writes only the last version of each page, so
    // larger copies write less; but the commits that sync meanwhile wait for the disk behind
    // them. In the ingest benchmark (docs/performance.md), 1,000 pages gave p99 6-7 ms at half
    // the peak rate and 2,000 pages 12-13 ms with about 7% more peak rate; 8,000 pages, 25 ms.
    int checkpoint_pages = 2000;  // 8 MiB of 4 KiB pages
    // Once the WAL holds this many pages, the writer copies what the last background pass left
    // and its next transaction starts the WAL over; each such pass holds up every queued write
    // for 1-2 ms.
    int restart_pages = 8000;
    // Past this the writer copies what it can on its own every checkpoint_pages, so that the WAL
    // stays bounded whatever happens to the background copy.
    int wal_limit_pages = 32000;
};

struct store_stats {
    std::uint64_t commits = 0;
    std::uint64_t writes = 0;
    std::uint64_t replayed_batches = 0;    // run again, without the failing units, after a failure
    std::uint64_t writer_checkpoints = 0;  // checkpoint passes the writer ran itself
};

// One writer thread commits queued writes in groups (one fsync for many requests); reads run
// on the caller's thread with a pooled connection.
class store {
public:
    using write_fn = std::function<void(write_txn&)>;
    using done_fn = std::function<void(std::exception_ptr)>;

    explicit store(store_options options);
    ~store();
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    int schema_version() const { return schema_version_; }

    // Queues work; done runs on the writer thread after the commit (or with the error). Queued
    // units commit together; when one of them fails, the others run again in a new transaction
    // without it, so work may run more than once and only its last run counts: it must assign
    // what it reports outside the transaction, never add to it.
    void write(write_fn work, done_fn done);

    // Queues work and waits for its commit; rethrows what the work threw.
    template <class R>
    R write_sync(std::function<R(write_txn&)> work) {
        auto result = std::make_shared<std::optional<R>>();
        std::promise<void> committed;
        auto future = committed.get_future();
        write([&, result](write_txn& txn) { *result = work(txn); },
              [&committed](std::exception_ptr e) {
                  if (e) {
                      committed.set_exception(e);
                  } else {
                      committed.set_value();
                  }
              });
        future.get();
        return std::move(**result);
    }

    template <class F>
    auto read(F&& f) {
        lease l(*this);
        read_txn txn(*l.db);
        l.db->exec("BEGIN");
        try {
            auto r = f(txn);
            finish_read(*l.db);
            return r;
        } catch (...) {
            finish_read(*l.db);
            throw;
        }
    }

    bool ping();
    store_stats stats() const;
    void stop();

private:
    struct pending {
        write_fn work;
        done_fn done;
    };
    struct lease {
        explicit lease(store& s);
        ~lease();
        store& owner;
        std::unique_ptr<sqlite::database> db;
    };

    void migrate(sqlite::database& db);
    void writer_loop();
    void commit_batch(std::vector<pending>& batch);
    // Passes without savepoints before the rest of a batch runs with one per unit.
    static constexpr int max_plain_passes = 2;
    // What run_units answers when the portfolio write failed and no unit is to blame.
    static constexpr std::size_t portfolio_failed = static_cast<std::size_t>(-1);
    static std::optional<std::size_t> run_units(sqlite::database& db, std::vector<pending>& batch,
                                                const std::vector<bool>& left_out,
                                                std::vector<std::exception_ptr>& outcomes,
                                                bool savepoints, bool immediate_portfolio);
    static void finish_read(sqlite::database& db);

    store_options options_;
    int schema_version_ = 0;
    std::unique_ptr<sqlite::database> writer_db_;

    std::mutex queue_mutex_;
    std::condition_variable queue_cv_;
    std::deque<pending> queue_;
    bool stopping_ = false;
    std::thread writer_;

    std::mutex pool_mutex_;
    std::vector<std::unique_ptr<sqlite::database>> pool_;

    mutable std::mutex stats_mutex_;
    store_stats stats_;
    std::atomic<std::uint64_t> writer_checkpoints_{0};
};

}  // namespace tributary::host
