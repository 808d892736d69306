// jobs_api.cpp: the admin routes that start, read and cancel jobs.
#include "app/app.hpp"

#include "app/jobs.hpp"
#include "app/json_io.hpp"
#include "util/time.hpp"

#include <tributary/json.hpp>

namespace tributary::host {

namespace bj = boost::json;
using http::bhttp::status;

namespace {

bj::object job_json(const job_row& j) {
    auto progress = json::parse(j.progress);
    auto time = [](const std::optional<std::int64_t>& ms) {
        return ms ? bj::value(format_time_ms(*ms)) : bj::value(nullptr);
    };
    bj::object o{{"id", j.id},
                 {"tenant", j.tenant},
                 {"installation", j.installation_id},
                 {"connector", j.connector},
                 {"action", j.action},
                 {"state", j.state},
                 {"progress", progress && progress->is_object() ? *progress : bj::object{}},
                 {"cancelRequested", j.cancel_requested},
                 {"createdAt", format_time_ms(j.created_ms)},
                 {"startedAt", time(j.started_ms)},
                 {"finishedAt", time(j.finished_ms)}};
    auto params = json::parse(j.params);
    o["params"] = params ? *params : bj::object{};
    if (j.error) {
        o["error"] = *j.error;
    }
    return o;
}

}  // namespace

void app::start_action(request& req, const std::string& tenant, const std::string& id,
                       const std::string& action, http::responder respond, const actor& who) {
    auto inst = installation_by_id(id);
    if (!inst || inst->record.tenant != tenant) {
        respond(error_response(req, status::not_found, "no such installation"));
        return;
    }
    if (!inst->connector) {
        respond(error_response(req, status::conflict, "the connector is not loaded"));
        return;
    }
    const auto* spec = inst->connector->spec.find_action(action);
    if (spec == nullptr) {
        respond(error_response(req, status::not_found, "the connector has no such action"));
        return;
    }
    if (!inst->record.enabled) {
        respond(error_response(req, status::conflict, "the installation is disabled"));
        return;
    }

    // The body is {"params": {...}} or the parameters alone; empty means none.
    bj::object params;
    if (!req.body().empty()) {
        std::string error;
        auto body = parse_body(req, error);
        if (!body || !body->is_object()) {
            respond(
                error_response(req, status::bad_request, body ? "expected a JSON object" : error));
            return;
        }
        if (auto p = body->get_object().find("params"); p != body->get_object().end()) {
            if (!p->value().is_object()) {
                respond(error_response(req, status::bad_request, "params must be a JSON object"));
                return;
            }
            params = p->value().get_object();
        } else {
            // The parameters given bare, {"since": ...}: validated the same way.
            params = body->get_object();
        }
    }
    auto checked = validate_config(spec->params, params);
    if (!checked.ok()) {
        bj::array fields;
        for (const auto& e : checked.errors) {
            fields.push_back(bj::object{{"field", e.field}, {"message", e.message}});
        }
        respond(field_errors_response(req, "invalid params", fields));
        return;
    }

    auto started =
        jobs_->submit(tenant, id, inst->record.connector, action, bj::serialize(checked.config));
    if (started.conflict_id) {
        respond(json_response(req, status::conflict,
                              bj::object{{"error", "a job of this action is already running"},
                                         {"jobId", *started.conflict_id}}));
        return;
    }
    auto audit = audit_record(req, who, "action.run", tenant, *started.job_id);
    audit.after = to_json_text(bj::object{{"jobId", *started.job_id},
                                          {"installation", id},
                                          {"action", action},
                                          {"params", checked.config}});
    store_->write_sync<bool>([&](write_txn& txn) {
        txn.insert_audit(audit);
        return true;
    });
    respond(json_response(req, status::accepted, bj::object{{"jobId", *started.job_id}}));
}

app::response app::get_job(request& req, const std::string& id, const actor& who) {
    auto job = store_->read([&](read_txn& txn) { return txn.job(id); });
    if (!job) {
        return error_response(req, status::not_found, "no such job");
    }
    if (!who.is_admin() && job->tenant != who.tenant) {
        return error_response(req, status::forbidden,
                              "this token may act only for tenant '" + who.tenant + "'");
    }
    return json_response(req, status::ok, job_json(*job));
}

app::response app::cancel_job(request& req, const std::string& id, const actor& who) {
    auto job = store_->read([&](read_txn& txn) { return txn.job(id); });
    if (!job) {
        return error_response(req, status::not_found, "no such job");
    }
    if (!who.is_admin() && job->tenant != who.tenant) {
        return error_response(req, status::forbidden,
                              "this token may act only for tenant '" + who.tenant + "'");
    }
    if (!jobs_->cancel(id)) {
        return error_response(req, status::conflict, "the job has already finished");
    }
    auto audit = audit_record(req, who, "job.cancel", job->tenant, id);
    audit.before = to_json_text(bj::object{{"state", job->state}});
    job = store_->read([&](read_txn& txn) { return txn.job(id); });
    audit.after = to_json_text(bj::object{{"state", job->state}, {"cancelRequested", true}});
    store_->write_sync<bool>([&](write_txn& txn) {
        txn.insert_audit(audit);
        return true;
    });
    return json_response(req, status::accepted, job_json(*job));
}

app::response app::list_jobs(request& req, const std::string& tenant) {
    auto jobs = store_->read([&](read_txn& txn) { return txn.jobs(tenant, 100); });
    bj::array out;
    for (const auto& j : jobs) {
        out.push_back(job_json(j));
    }
    return json_response(req, status::ok, out);
}

}  // namespace tributary::host
