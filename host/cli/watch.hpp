// watch.hpp: following a job from the terminal: a live progress line, Ctrl-C, a summary.
#pragma once

#include "cli/api.hpp"

#include <string>

namespace tributary::host::cli {

struct watch_options {
    bool cancel_on_interrupt = false;  // Ctrl-C cancels the job without asking
    bool json = false;                 // print the finished job as JSON instead of a summary
};

// Polls GET /api/v1/jobs/{id} until the job ends. Exit code: 0 when it succeeded, 1 when it
// failed or was cancelled, 3 when the host stops answering, 130 after Ctrl-C.
int watch_job(const api_client& api, const std::string& job_id, const watch_options& options);

// One line for a job's progress: pages, responses, rate and elapsed time, after a bar.
std::string progress_line(const boost::json::value& job, int tick);

// What a finished job did, in one sentence.
std::string job_summary(const boost::json::value& job);

}  // namespace tributary::host::cli
