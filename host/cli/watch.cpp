// watch.cpp: a live progress line for a job, Ctrl-C handling (cancel or detach), a summary.
#include "cli/watch.hpp"
#include "app/json_io.hpp"

#include "util/time.hpp"

#include <unistd.h>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

namespace tributary::host::cli {

namespace bj = boost::json;

namespace {

constexpr int bar_width = 24;
constexpr auto poll_every = std::chrono::milliseconds(500);
constexpr int unreachable_polls = 20;  // ten seconds without an answer

std::atomic<bool> interrupted{false};

extern "C" void on_interrupt(int) {
    interrupted = true;
}

// Catches SIGINT while it lives. Without SA_RESTART, so that a prompt's read is interrupted too.
class interrupt_guard {
public:
    interrupt_guard() {
        interrupted = false;
        struct sigaction action {};
        action.sa_handler = on_interrupt;
        sigemptyset(&action.sa_mask);
        sigaction(SIGINT, &action, &previous_);
    }
    ~interrupt_guard() { sigaction(SIGINT, &previous_, nullptr); }
    interrupt_guard(const interrupt_guard&) = delete;
    interrupt_guard& operator=(const interrupt_guard&) = delete;

private:
    struct sigaction previous_ {};
};

bool finished(std::string_view state) {
    return state == "succeeded" || state == "failed" || state == "cancelled";
}

const bj::object& progress_of(const bj::value& job) {
    static const bj::object none;
    const auto* o = job.if_object();
    const auto* p = o ? o->if_contains("progress") : nullptr;
    return p && p->is_object() ? p->get_object() : none;
}

double number_at(const bj::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_number() ? v->to_number<double>() : 0.0;
}

std::string count(double v) {
    return std::to_string(static_cast<std::int64_t>(v));
}

std::string clock_text(double seconds) {
    auto s = static_cast<std::int64_t>(std::max(0.0, seconds));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
    return buf;
}

// Seconds the job has run: from its start to its end (or now), else what progress says.
double elapsed_seconds(const bj::value& job) {
    auto started = parse_time_ms(field_text(job, "startedAt"));
    if (!started) {
        return number_at(progress_of(job), "elapsedSeconds");
    }
    auto end = parse_time_ms(field_text(job, "finishedAt")).value_or(now_ms());
    return static_cast<double>(end - *started) / 1000.0;
}

// The total is not known in advance, so the bar shows motion, then fills when done.
std::string bar(std::string_view state, int tick) {
    if (state == "succeeded") {
        return "[" + std::string(bar_width, '=') + "]";
    }
    std::string cells(bar_width, ' ');
    constexpr int block = 6;
    int span = bar_width - block;
    int at = tick % (2 * span);
    at = at < span ? at : 2 * span - at;
    for (int i = 0; i < block; ++i) {
        cells[static_cast<std::size_t>(at + i)] = '=';
    }
    return "[" + cells + "]";
}

enum class choice { cancel, detach };

choice ask(const std::string& job_id) {
    if (!isatty(STDIN_FILENO)) {
        return choice::detach;
    }
    interrupted = false;
    std::cerr << "\nInterrupted. Cancel job " << job_id
              << " (c), or detach and leave it running (d)? [d] " << std::flush;
    std::string line;
    if (!std::getline(std::cin, line) || interrupted) {
        return choice::detach;
    }
    return !line.empty() && (line[0] == 'c' || line[0] == 'C' || line[0] == 'y' || line[0] == 'Y')
               ? choice::cancel
               : choice::detach;
}

void sleep_unless_interrupted(std::chrono::milliseconds total) {
    auto until = std::chrono::steady_clock::now() + total;
    while (!interrupted && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

int detach(const std::string& job_id) {
    std::cerr << "\ndetached: job " << job_id << " keeps running; follow it with: tributary job "
              << "watch " << job_id << "\n";
    return exit_interrupted;
}

// Shows the line: rewritten in place on a terminal, else a new line now and then.
class progress_display {
public:
    progress_display() : terminal_(isatty(STDERR_FILENO)) {}

    void show(const bj::value& job, int tick) {
        std::string state = field_text(job, "state");
        auto now = std::chrono::steady_clock::now();
        if (terminal_) {
            std::cerr << "\r\033[K" << progress_line(job, tick) << std::flush;
            shown_ = true;
        } else if (state != last_state_ || now - last_ >= std::chrono::seconds(10)) {
            std::cerr << progress_line(job, tick) << "\n";
            last_ = now;
        }
        last_state_ = state;
    }

    void clear() {
        if (terminal_ && shown_) {
            std::cerr << "\r\033[K" << std::flush;
        }
        shown_ = false;
    }

private:
    bool terminal_;
    bool shown_ = false;
    std::string last_state_;
    std::chrono::steady_clock::time_point last_{};
};

int finish(const bj::value& job, const watch_options& options, bool interrupted_by_user) {
    if (options.json) {
        std::cout << to_json_text(job) << "\n";
    } else {
        std::cout << job_summary(job) << "\n";
    }
    if (interrupted_by_user) {
        return exit_interrupted;
    }
    return field_text(job, "state") == "succeeded" ? exit_ok : exit_refused;
}

}  // namespace

std::string progress_line(const bj::value& job, int tick) {
    const auto& p = progress_of(job);
    std::string state = field_text(job, "state");
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.1f/s", number_at(p, "ratePerSecond"));
    return bar(state, tick) + " " + state + "  " + count(number_at(p, "pages")) + " pages  " +
           count(number_at(p, "responsesSeen")) + " responses  " + rate + "  " +
           clock_text(elapsed_seconds(job));
}

std::string job_summary(const bj::value& job) {
    const auto& p = progress_of(job);
    std::string state = field_text(job, "state");
    std::string text =
        "job " + field_text(job, "id") + " " + state + (state == "succeeded" ? " in " : " after ") +
        clock_text(elapsed_seconds(job)) + ": " + count(number_at(p, "pages")) + " pages, " +
        count(number_at(p, "responsesSeen")) + " responses (inserted " +
        count(number_at(p, "inserted")) + ", updated " + count(number_at(p, "updated")) +
        ", unchanged " + count(number_at(p, "unchanged")) + ", stale " +
        count(number_at(p, "stale")) + ")";
    if (auto error = field_text(job, "error"); error != "-") {
        text += "\nerror: " + error;
    }
    return text;
}

int watch_job(const api_client& api, const std::string& job_id, const watch_options& options) {
    interrupt_guard guard;
    progress_display display;
    std::string path = "/api/v1/jobs/" + segment(job_id);
    bool cancelling = false;
    int failures = 0;
    for (int tick = 0;; ++tick) {
        if (interrupted) {
            display.clear();
            if (cancelling) {
                return detach(job_id);
            }
            if (!options.cancel_on_interrupt && ask(job_id) == choice::detach) {
                return detach(job_id);
            }
            auto answer = api.call("POST", path + "/cancel");
            if (!answer.ok() && answer.status != 409) {
                return report_failure(api, answer);
            }
            std::cerr << "cancelling job " << job_id << "...\n";
            cancelling = true;
            interrupted = false;
        }

        auto answer = api.call("GET", path);
        if (answer.status == 0 && ++failures < unreachable_polls) {
            sleep_unless_interrupted(poll_every);
            continue;
        }
        if (!answer.ok()) {
            display.clear();
            return report_failure(api, answer);
        }
        failures = 0;
        if (finished(field_text(answer.body, "state"))) {
            display.clear();
            return finish(answer.body, options, cancelling);
        }
        display.show(answer.body, tick);
        sleep_unless_interrupted(poll_every);
    }
}

}  // namespace tributary::host::cli
