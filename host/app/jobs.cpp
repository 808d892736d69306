// jobs.cpp: the job runner, and the services a running action gets through the host API.
#include "app/jobs.hpp"

#include "app/records.hpp"
#include "net/http_client.hpp"
#include "util/crypto.hpp"
#include "util/log.hpp"
#include "util/time.hpp"

#include <tributary/json.hpp>

#include <atomic>

namespace tributary::host {

namespace bj = boost::json;

struct job_runner::running {
    std::string installation_id;
    std::atomic<bool> cancel{false};
    std::mutex mutex;
    std::condition_variable wake;
};

// What one running job offers its action: commits, checkpoint, progress, sleep and fetch.
class job_runner::context : public action_services {
public:
    context(job_runner& runner, const job_row& job, std::shared_ptr<const installation_entry> inst,
            std::shared_ptr<running> state)
        : runner_(runner),
          job_(job),
          inst_(std::move(inst)),
          state_(std::move(state)),
          client_(net::client_options{.ca_file = runner.options_.ca_file}),
          started_ms_(now_ms()) {
        checkpoint_ = job.checkpoint.value_or("");
        auto saved = json::parse(job.progress);
        if (saved && saved->is_object()) {
            progress_ = saved->get_object();
        }
        // Counts carry over a resume; the rate covers this run.
        totals_.inserted = json::integer_at(progress_, {"inserted"}).value_or(0);
        totals_.updated = json::integer_at(progress_, {"updated"}).value_or(0);
        totals_.unchanged = json::integer_at(progress_, {"unchanged"}).value_or(0);
        totals_.stale = json::integer_at(progress_, {"stale"}).value_or(0);
        seen_at_start_ = json::integer_at(progress_, {"responsesSeen"}).value_or(0);
    }

    ~context() override { drain(); }

    // Prepares the page on the job thread and hands it to the writer. The commit runs while the
    // action fetches the next page; at most one is in flight, so pages commit in order and a
    // failed commit is reported by the next call (or by drain).
    int32_t commit_page(std::vector<emitted_record>& records, std::string_view checkpoint,
                        std::string_view progress) override {
        trib_call hook_call = make_call();
        hook_call.records = std::move(records);
        records.clear();
        std::string error;
        auto prepared = prepare_records(*inst_->connector, hook_call, error);
        if (!prepared) {
            log::error("connector emitted an unusable record",
                       {{"job_id", job_.id}, {"connector", job_.connector}, {"reason", error}});
            return TRIB_ERR_INVALID_INPUT;
        }
        if (int32_t rc = drain(); rc != TRIB_OK) {
            return rc;
        }

        merge_progress(progress);
        auto base = with_totals();
        auto page = std::make_shared<stored_counts>();
        {
            std::lock_guard lock(commit_mutex_);
            commit_pending_ = true;
        }
        // The page's records and its checkpoint commit together, or neither does.
        runner_.store_.write(
            [page, base = std::move(base), records = std::move(*prepared), id = job_.id,
             tenant = job_.tenant, cp = std::string(checkpoint)](write_txn& txn) {
                stored_counts c;
                for (const auto& p : records) {
                    c.add(txn.upsert_response(tenant, p.record, p.contribution));
                }
                txn.save_job_progress(id, bj::serialize(add_counts(base, c)), cp);
                *page = c;
            },
            [this, page](std::exception_ptr e) { page_committed(*page, e); });
        checkpoint_ = std::string(checkpoint);
        return TRIB_OK;
    }

    // Waits for the page commit in flight; TRIB_ERR_STORAGE if it failed.
    int32_t drain() {
        std::unique_lock lock(commit_mutex_);
        commit_cv_.wait(lock, [this] { return !commit_pending_; });
        return commit_failed_ ? TRIB_ERR_STORAGE : TRIB_OK;
    }

    std::string_view checkpoint() const override { return checkpoint_; }

    bool cancelled() const override {
        if (state_->cancel.load()) {
            return true;
        }
        auto current = runner_.host_.installation_by_id(job_.installation_id);
        return !current || !current->record.enabled;
    }

    void progress(std::string_view progress_json) override {
        // After the page in flight, or its counts would go back in the job's progress.
        drain();
        merge_progress(progress_json);
        std::string text = bj::serialize(with_totals());
        runner_.store_.write(
            [id = job_.id, text](write_txn& txn) { txn.save_job_progress(id, text, std::nullopt); },
            nullptr);
    }

    bool sleep_ms(std::uint32_t ms) override {
        std::unique_lock lock(state_->mutex);
        state_->wake.wait_for(lock, std::chrono::milliseconds(ms),
                              [this] { return state_->cancel.load(); });
        return !cancelled();
    }

    int32_t fetch(const trib_fetch_request& request, trib_fetch_response& response) override {
        net::header_list headers;
        for (std::size_t i = 0; i < request.header_count; ++i) {
            headers.emplace_back(
                std::string(request.headers[i].name.data, request.headers[i].name.size),
                std::string(request.headers[i].value.data, request.headers[i].value.size));
        }
        last_ = client_.fetch({request.method.data, request.method.size},
                              {request.url.data, request.url.size}, headers,
                              {request.body.data, request.body.size},
                              std::chrono::milliseconds(request.timeout_ms));
        last_headers_.clear();
        for (const auto& [n, v] : last_.headers) {
            last_headers_.push_back({{n.data(), n.size()}, {v.data(), v.size()}});
        }
        response.status = last_.status;
        response.headers = last_headers_.data();
        response.header_count = last_headers_.size();
        const std::string& body = last_.status == 0 ? last_.error : last_.body;
        response.body = {body.data(), body.size()};
        return last_.status == 0 ? TRIB_ERR_REMOTE : TRIB_OK;
    }

    trib_call make_call() const {
        trib_call call;
        call.connector = job_.connector;
        call.tenant = job_.tenant;
        call.installation = job_.installation_id;
        call.config_json = inst_->config_json;
        call.request_id = job_.id;
        return call;
    }

private:
    void merge_progress(std::string_view text) {
        auto parsed = json::parse(text);
        if (!parsed || !parsed->is_object()) {
            return;
        }
        std::lock_guard lock(progress_mutex_);
        for (const auto& [k, v] : parsed->get_object()) {
            progress_[k] = v;
        }
    }

    // Runs on the writer thread, after the commit or its failure.
    void page_committed(const stored_counts& page, const std::exception_ptr& failure) {
        if (failure) {
            try {
                std::rethrow_exception(failure);
            } catch (const std::exception& e) {
                log::error("committing a job page failed",
                           {{"job_id", job_.id}, {"reason", e.what()}});
            } catch (...) {
                log::error("committing a job page failed", {{"job_id", job_.id}});
            }
        } else {
            std::lock_guard lock(progress_mutex_);
            totals_.inserted += page.inserted;
            totals_.updated += page.updated;
            totals_.unchanged += page.unchanged;
            totals_.stale += page.stale;
        }
        std::lock_guard lock(commit_mutex_);
        commit_failed_ = commit_failed_ || failure != nullptr;
        commit_pending_ = false;
        commit_cv_.notify_all();
    }

    // The progress with the counts of a page added to those committed before it.
    static bj::object add_counts(bj::object progress, const stored_counts& page) {
        for (auto [key, n] :
             {std::pair{"inserted", page.inserted}, std::pair{"updated", page.updated},
              std::pair{"unchanged", page.unchanged}, std::pair{"stale", page.stale}}) {
            progress[key] = json::integer_at(progress, {key}).value_or(0) + n;
        }
        return progress;
    }

    // The progress with the counts committed so far, the elapsed time and the rate.
    bj::object with_totals() {
        std::lock_guard lock(progress_mutex_);
        bj::object out = progress_;
        out["inserted"] = totals_.inserted;
        out["updated"] = totals_.updated;
        out["unchanged"] = totals_.unchanged;
        out["stale"] = totals_.stale;
        double elapsed = static_cast<double>(now_ms() - started_ms_) / 1000.0;
        auto seen = json::integer_at(progress_, {"responsesSeen"}).value_or(0) - seen_at_start_;
        out["elapsedSeconds"] = std::round(elapsed * 10.0) / 10.0;
        out["ratePerSecond"] =
            elapsed > 0 ? std::round(static_cast<double>(seen) / elapsed * 10.0) / 10.0 : 0.0;
        return out;
    }

    job_runner& runner_;
    job_row job_;
    std::shared_ptr<const installation_entry> inst_;
    std::shared_ptr<running> state_;
    net::http_client client_;
    std::int64_t started_ms_;
    std::int64_t seen_at_start_ = 0;
    std::string checkpoint_;
    std::mutex progress_mutex_;
    bj::object progress_;
    stored_counts totals_;  // committed so far

    std::mutex commit_mutex_;
    std::condition_variable commit_cv_;
    bool commit_pending_ = false;
    bool commit_failed_ = false;
    net::fetch_result last_;
    std::vector<trib_header> last_headers_;
};

namespace {

// A rerun with the same parameters continues a job that failed or was cancelled from its last
// committed page; after a success a rerun starts afresh, to pick up what came since.
bool continues(const job_row& last, const job_row& next) {
    return (last.state == "failed" || last.state == "cancelled") && last.checkpoint &&
           last.params == next.params;
}

// The counts so far carry over; the rate and elapsed time belong to each run.
std::string continued_progress(const job_row& last) {
    auto saved = json::parse(last.progress);
    bj::object progress = saved && saved->is_object() ? saved->get_object() : bj::object{};
    progress.erase("elapsedSeconds");
    progress.erase("ratePerSecond");
    progress["continuesJob"] = last.id;
    return bj::serialize(progress);
}

}  // namespace

job_runner::job_runner(app& host, store& s, job_runner_options options)
    : host_(host), store_(s), options_(std::move(options)) {}

job_runner::~job_runner() {
    stop();
}

void job_runner::start() {
    auto unfinished = store_.read([](read_txn& txn) { return txn.unfinished_jobs(); });
    {
        std::lock_guard lock(mutex_);
        for (const auto& j : unfinished) {
            queue_.push_back(j.id);
        }
    }
    if (!unfinished.empty()) {
        log::info("jobs resumed", {{"count", static_cast<std::int64_t>(unfinished.size())}});
    }
    for (std::size_t i = 0; i < std::max<std::size_t>(options_.workers, 1); ++i) {
        workers_.emplace_back([this] { worker_loop(); });
    }
}

void job_runner::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            return;
        }
        stopping_ = true;
        // Running jobs stop between pages and stay resumable: they are not cancelled.
        for (auto& [id, r] : running_) {
            r->cancel = true;
            r->wake.notify_all();
        }
    }
    cv_.notify_all();
    for (auto& w : workers_) {
        if (w.joinable()) {
            w.join();
        }
    }
}

job_start job_runner::submit(const std::string& tenant, const std::string& installation_id,
                             const std::string& connector, const std::string& action,
                             const std::string& params_json) {
    job_row job;
    job.id = "job_" + crypto::random_token(12);
    job.tenant = tenant;
    job.installation_id = installation_id;
    job.connector = connector;
    job.action = action;
    job.params = params_json;
    job.state = "queued";
    job.progress = "{}";
    job.created_ms = now_ms();

    auto result = store_.write_sync<job_start>([&](write_txn& txn) {
        if (auto active = txn.active_job(installation_id, action)) {
            return job_start{std::nullopt, active};
        }
        if (auto last = txn.last_job(installation_id, action); last && continues(*last, job)) {
            job.checkpoint = last->checkpoint;
            job.progress = continued_progress(*last);
        }
        txn.insert_job(job);
        return job_start{job.id, std::nullopt};
    });
    if (result.job_id) {
        std::lock_guard lock(mutex_);
        queue_.push_back(*result.job_id);
        cv_.notify_one();
        log::info("job queued", {{"job_id", job.id},
                                 {"tenant", tenant},
                                 {"installation", installation_id},
                                 {"action", action},
                                 {"continues", job.checkpoint ? "true" : "false"}});
    }
    return result;
}

bool job_runner::cancel(const std::string& job_id) {
    bool requested =
        store_.write_sync<bool>([&](write_txn& txn) { return txn.request_job_cancel(job_id); });
    bool running = false;
    {
        std::lock_guard lock(mutex_);
        if (auto it = running_.find(job_id); it != running_.end()) {
            it->second->cancel = true;
            it->second->wake.notify_all();
            running = true;
        }
    }
    // A job still waiting for a worker ends now, so that the action can be started again at
    // once. A worker that took it meanwhile sees the request and ends it the same way.
    if (requested && !running) {
        bool ended = store_.write_sync<bool>([&](write_txn& txn) {
            auto job = txn.job(job_id);
            if (!job || job->state != "queued") {
                return false;
            }
            txn.set_job_state(job_id, "cancelled");
            return true;
        });
        if (ended) {
            log::info("job finished", {{"job_id", job_id}, {"state", "cancelled"}});
        }
    }
    return requested;
}

// Touches no storage: it may run on the writer thread, after the change committed. Queued jobs
// see the disabled installation when they come up and end as cancelled.
void job_runner::cancel_installation(const std::string& installation_id) {
    std::lock_guard lock(mutex_);
    for (auto& [id, r] : running_) {
        if (r->installation_id == installation_id) {
            r->cancel = true;
            r->wake.notify_all();
        }
    }
}

void job_runner::worker_loop() {
    for (;;) {
        std::string id;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) {
                return;
            }
            id = std::move(queue_.front());
            queue_.pop_front();
        }
        run(id);
    }
}

void job_runner::run(const std::string& job_id) {
    auto job = store_.read([&](read_txn& txn) { return txn.job(job_id); });
    if (!job || (job->state != "queued" && job->state != "running")) {
        return;
    }
    auto finish = [&](std::string_view state, const std::optional<std::string>& error) {
        store_.write_sync<bool>([&](write_txn& txn) {
            txn.set_job_state(job_id, state, error);
            return true;
        });
        log::info("job finished", {{"job_id", job_id}, {"state", state}});
    };
    if (job->cancel_requested) {
        finish("cancelled", std::nullopt);
        return;
    }
    auto inst = host_.installation_by_id(job->installation_id);
    if (!inst || !inst->connector || !inst->connector->library) {
        finish("failed", std::string("the installation or its connector is no longer available"));
        return;
    }
    if (!inst->record.enabled) {
        finish("cancelled", std::string("the installation is disabled"));
        return;
    }

    auto state = std::make_shared<running>();
    state->installation_id = job->installation_id;
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            return;
        }
        running_[job_id] = state;
    }
    store_.write_sync<bool>([&](write_txn& txn) {
        txn.set_job_state(job_id, "running");
        return true;
    });
    // A cancel that came between the read above and the registration found nothing to wake.
    if (cancel_requested(job_id)) {
        state->cancel = true;
    }
    log::info("job started", {{"job_id", job_id},
                              {"tenant", job->tenant},
                              {"installation", job->installation_id},
                              {"action", job->action},
                              {"resumed", job->checkpoint ? "true" : "false"}});

    context ctx(*this, *job, inst, state);
    trib_call call = ctx.make_call();
    call.action = &ctx;
    int32_t rc = inst->connector->library->action(call, job->action, job->params);
    // The last page's commit lands before the job ends, whatever the outcome.
    if (ctx.drain() != TRIB_OK && rc == TRIB_OK) {
        rc = TRIB_ERR_STORAGE;
        call.error_message = "the host could not commit the page";
    }

    bool shutting_down = false;
    {
        std::lock_guard lock(mutex_);
        running_.erase(job_id);
        shutting_down = stopping_;
    }
    if (rc == TRIB_OK) {
        finish("succeeded", std::nullopt);
    } else if (shutting_down && !cancel_requested(job_id)) {
        // Left running with its checkpoint: the next start resumes it.
        log::info("job paused for shutdown", {{"job_id", job_id}});
    } else if (rc == TRIB_ERR_CANCELLED || ctx.cancelled()) {
        finish("cancelled", std::nullopt);
    } else {
        std::string reason = call.error_message.empty() ? "the action failed" : call.error_message;
        log::warn("job failed", {{"job_id", job_id}, {"code", rc}, {"reason", reason}});
        finish("failed", reason);
    }
}

bool job_runner::cancel_requested(const std::string& job_id) {
    auto job = store_.read([&](read_txn& txn) { return txn.job(job_id); });
    return job && job->cancel_requested;
}

}  // namespace tributary::host
