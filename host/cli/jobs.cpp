// jobs.cpp: `tributary job` and `tributary action`: running connector actions as jobs.
#include "app/json_io.hpp"
#include "cli/api.hpp"
#include "cli/watch.hpp"

#include <unistd.h>
#include <iostream>

namespace tributary::host::cli {

namespace bj = boost::json;

namespace {

const option_spec cancel_option = {"--cancel-on-interrupt", "",
                                   "Ctrl-C cancels the job instead of asking"};

std::string job_path(const std::string& id, std::string_view rest = {}) {
    return "/api/v1/jobs/" + segment(id) + std::string(rest);
}

int job_get(const invocation& inv) {
    return request_and_show(inv, "GET", job_path(inv.words[0]), std::nullopt,
                            [](const bj::value& v) { print_object(v); });
}

int job_cancel(const invocation& inv) {
    return request_and_show(inv, "POST", job_path(inv.words[0], "/cancel"), std::nullopt,
                            [](const bj::value& v) {
                                std::cout << "asked job " << field_text(v, "id")
                                          << " to stop (state: " << field_text(v, "state") << ")\n";
                            });
}

int job_list(const invocation& inv) {
    auto tenant = require_tenant(inv, "job list");
    if (!tenant) {
        return exit_usage;
    }
    return request_and_show(
        inv, "GET", tenant_path(*tenant, "/jobs"), std::nullopt, [](const bj::value& v) {
            print_table(v, {member("ID", "id"), member("ACTION", "action"),
                            member("STATE", "state"), member("INSTALLATION", "installation"),
                            member("CREATED", "createdAt"), member("FINISHED", "finishedAt")});
        });
}

int job_watch(const invocation& inv) {
    int code = exit_ok;
    auto api = api_client::from(inv, code);
    if (!api) {
        return code;
    }
    return watch_job(*api, inv.words[0], {inv.has("--cancel-on-interrupt"), inv.json()});
}

// The params object from --param KEY=VALUE and --param-json KEY=JSON.
std::optional<bj::object> params_from(const invocation& inv, std::string& error) {
    bj::object params;
    for (auto option : {"--param", "--param-json"}) {
        for (const auto& text : inv.all(option)) {
            auto eq = text.find('=');
            if (eq == std::string::npos || eq == 0) {
                error = std::string(option) + " needs KEY=VALUE";
                return std::nullopt;
            }
            std::string value = text.substr(eq + 1);
            if (std::string_view(option) == "--param") {
                params[text.substr(0, eq)] = value;
                continue;
            }
            boost::system::error_code ec;
            auto parsed = bj::parse(value, ec);
            if (ec) {
                error = "--param-json " + text.substr(0, eq) + ": the value is not JSON";
                return std::nullopt;
            }
            params[text.substr(0, eq)] = parsed;
        }
    }
    return params;
}

int action_run(const invocation& inv) {
    auto tenant = require_tenant(inv, "action run");
    if (!tenant) {
        return exit_usage;
    }
    std::string error;
    auto params = params_from(inv, error);
    if (!params) {
        std::cerr << "tributary: action run: " << error << "\n";
        return exit_usage;
    }
    int code = exit_ok;
    auto api = api_client::from(inv, code);
    if (!api) {
        return code;
    }

    auto path = tenant_path(
        *tenant, "/installations/" + segment(inv.words[0]) + "/actions/" + segment(inv.words[1]));
    auto answer = api->call("POST", path, bj::value{{"params", *params}});
    if (!answer.ok()) {
        return report_failure(*api, answer);
    }
    std::string job_id = field_text(answer.body, "jobId");
    bool wait = inv.has("--wait") || (!inv.has("--no-wait") && isatty(STDOUT_FILENO));
    if (!wait) {
        if (inv.json()) {
            std::cout << to_json_text(answer.body) << "\n";
        } else {
            std::cout << "started job " << job_id << "; follow it with: tributary job watch "
                      << job_id << "\n";
        }
        return exit_ok;
    }
    if (!inv.json()) {
        std::cerr << "started job " << job_id << " (Ctrl-C to cancel or detach)\n";
    }
    return watch_job(*api, job_id, {inv.has("--cancel-on-interrupt"), inv.json()});
}

}  // namespace

const area_spec& job_area() {
    static const area_spec area{
        "job",
        "Jobs: actions that run on the host, with progress, checkpoints and cancellation.",
        {{"get", "ID", "Shows a job: state, progress, error.", {}, 1, 1, job_get},
         {"cancel",
          "ID",
          "Asks a job to stop; it ends as cancelled after its current page.",
          {},
          1,
          1,
          job_cancel},
         {"list", "", "Lists the tenant's latest jobs.", {tenant_option}, 0, 0, job_list},
         {"watch",
          "ID",
          "Follows a job with a live progress line until it ends, then prints a summary.\n"
          "Exit code: 0 succeeded, 1 failed or cancelled, 130 after Ctrl-C.",
          {cancel_option},
          1,
          1,
          job_watch}}};
    return area;
}

const area_spec& action_area() {
    static const area_spec area{
        "action",
        "Actions of an installation's connector, such as pull-historical-nps.",
        {{"run",
          "INSTALLATION ACTION",
          "Starts the action as a job. On a terminal it waits and shows live progress\n"
          "(pages, responses, rate, elapsed), then a summary; Ctrl-C asks whether to cancel\n"
          "the job or detach from it.",
          {tenant_option,
           {"--param", "KEY=VALUE", "an action parameter as text (repeatable)"},
           {"--param-json", "KEY=JSON", "an action parameter as a JSON value (repeatable)"},
           {"--wait", "", "wait for the job even when not on a terminal"},
           {"--no-wait", "", "print the job id and return at once"},
           cancel_option},
          2,
          2,
          action_run}}};
    return area;
}

}  // namespace tributary::host::cli
