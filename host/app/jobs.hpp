// jobs.hpp: runs connector actions as durable, resumable, cancellable jobs.
#pragma once

#include "app/app.hpp"
#include "store/store.hpp"

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tributary::host {

struct job_start {
    std::optional<std::string> job_id;       // the new job
    std::optional<std::string> conflict_id;  // the job of the same action already queued/running
};

struct job_runner_options {
    std::size_t workers = 1;
    std::optional<std::filesystem::path> ca_file;  // outbound TLS trust; the system store if unset
};

class job_runner {
public:
    job_runner(app& host, store& s, job_runner_options options);
    ~job_runner();

    // Requeues what a previous run left queued or running, then starts the workers.
    void start();
    void stop();

    job_start submit(const std::string& tenant, const std::string& installation_id,
                     const std::string& connector, const std::string& action,
                     const std::string& params_json);
    // false when the job is unknown or finished.
    bool cancel(const std::string& job_id);
    // Wakes and stops every running job of an installation (it was disabled or removed).
    void cancel_installation(const std::string& installation_id);

private:
    struct running;
    class context;

    void worker_loop();
    void run(const std::string& job_id);
    bool cancel_requested(const std::string& job_id);

    app& host_;
    store& store_;
    job_runner_options options_;

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::string> queue_;
    std::map<std::string, std::shared_ptr<running>> running_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace tributary::host
