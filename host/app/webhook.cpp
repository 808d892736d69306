// webhook.cpp: one delivery from key lookup through the connector to the committed answer.
#include "app/app.hpp"

#include "app/json_io.hpp"
#include "app/records.hpp"
#include "util/crypto.hpp"
#include "util/log.hpp"
#include "util/time.hpp"

#include <chrono>

namespace tributary::host {

namespace bj = boost::json;
using http::bhttp::status;

namespace {

struct hook_path {
    std::string_view connector;
    std::string_view key;
    std::string_view route;  // "" for the default route
};

// /hooks/<connector>/<key>[/<route>]
std::optional<hook_path> split_hook_path(std::string_view target) {
    std::string_view path = target.substr(0, target.find('?'));
    path.remove_prefix(std::string_view("/hooks/").size());
    auto slash = path.find('/');
    if (slash == std::string_view::npos || slash == 0) {
        return std::nullopt;
    }
    hook_path p;
    p.connector = path.substr(0, slash);
    path.remove_prefix(slash + 1);
    slash = path.find('/');
    p.key = path.substr(0, slash);
    if (slash != std::string_view::npos) {
        p.route = path.substr(slash + 1);
    }
    if (p.key.empty()) {
        return std::nullopt;
    }
    return p;
}

std::string_view query_of(std::string_view target) {
    auto q = target.find('?');
    return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

http::response plugin_answer(const http::request& req, const trib_call& call) {
    http::response res{static_cast<http::bhttp::status>(call.status), req.version()};
    res.set(http::bhttp::field::content_type,
            call.content_type.empty() ? "application/json" : call.content_type);
    res.keep_alive(req.keep_alive());
    res.body() = call.body;
    res.prepare_payload();
    return res;
}

}  // namespace

void app::handle_webhook(request& req, http::responder respond) {
    auto path = split_hook_path(req.target());
    if (!path) {
        respond(error_response(req, status::not_found, "not found"));
        return;
    }

    // The key is the credential: look it up by its hash, never log it.
    std::shared_ptr<const installation_entry> inst;
    {
        std::string hash = crypto::sha256_hex(path->key);
        std::shared_lock lock(installations_mutex_);
        auto it = by_key_hash_.find(hash);
        if (it != by_key_hash_.end()) {
            inst = it->second;
            const auto& r = inst->record;
            bool expired_old_key =
                hash != r.key_hash && (!r.old_key_expires_ms || *r.old_key_expires_ms < now_ms());
            if (expired_old_key) {
                inst.reset();
            }
        }
    }
    if (!inst || !inst->record.enabled || !inst->connector ||
        inst->record.connector != path->connector) {
        respond(error_response(req, status::not_found, "not found"));
        return;
    }
    if (req.method() != http::bhttp::verb::post) {
        auto res = error_response(req, status::method_not_allowed, "webhooks take POST");
        res.set(http::bhttp::field::allow, "POST");
        respond(std::move(res));
        return;
    }
    const auto& connector = *inst->connector;
    if (!connector.spec.find_webhook(path->route)) {
        respond(error_response(req, status::not_found, "not found"));
        return;
    }

    // Call the connector with the request as it came.
    std::string request_id = std::to_string(++request_counter_);
    std::vector<trib_header> headers;
    headers.reserve(16);
    for (const auto& f : req) {
        headers.push_back({{f.name_string().data(), f.name_string().size()},
                           {f.value().data(), f.value().size()}});
    }
    auto method = req.method_string();
    auto query = query_of(req.target());
    trib_http_request raw{sizeof(trib_http_request),
                          {method.data(), method.size()},
                          {path->route.data(), path->route.size()},
                          {query.data(), query.size()},
                          headers.data(),
                          headers.size(),
                          {req.body().data(), req.body().size()}};

    auto call = std::make_shared<trib_call>();
    call->connector = connector.spec.id;
    call->tenant = inst->record.tenant;
    call->installation = inst->record.id;
    call->config_json = inst->config_json;
    call->request_id = request_id;
    call->max_records = 1000;
    int32_t rc = connector.library->webhook(*call, path->route, raw);

    if (rc != TRIB_OK) {
        if (rc == TRIB_ERR_INVALID_INPUT) {
            respond(error_response(req, status::bad_request, call->error_message));
        } else {
            log::error("connector failed a webhook", {{"connector", connector.spec.id},
                                                      {"tenant", inst->record.tenant},
                                                      {"installation", inst->record.id},
                                                      {"request_id", request_id},
                                                      {"code", rc},
                                                      {"reason", call->error_message}});
            respond(error_response(req, status::internal_server_error, "the connector failed"));
        }
        return;
    }
    if (!call->responded) {
        call->status = 200;
        call->body = R"({"stored":)" + std::to_string(call->records.size()) + "}";
    }
    if (call->status >= 300 || call->records.empty()) {
        // A refusal stores nothing, whatever was emitted before it.
        respond(plugin_answer(req, *call));
        return;
    }

    std::string error;
    auto prepared = prepare_records(connector, *call, error);
    if (!prepared) {
        log::error("connector emitted an unusable record", {{"connector", connector.spec.id},
                                                            {"installation", inst->record.id},
                                                            {"request_id", request_id},
                                                            {"reason", error}});
        respond(error_response(req, status::internal_server_error, "the connector failed"));
        return;
    }

    // Answer only once the records are committed.
    auto answer = plugin_answer(req, *call);
    auto records = std::make_shared<std::vector<prepared_record>>(std::move(*prepared));
    std::string tenant = inst->record.tenant;
    store_->write(
        [records, tenant](write_txn& txn) {
            for (const auto& p : *records) {
                txn.upsert_response(tenant, p.record, p.contribution);
            }
        },
        [respond = std::move(respond), answer = std::move(answer), inst, request_id,
         version = req.version(), keep_alive = req.keep_alive()](std::exception_ptr e) mutable {
            if (!e) {
                respond(std::move(answer));
                return;
            }
            std::string reason = "unknown";
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                reason = ex.what();
            } catch (...) {
            }
            log::error("storing a webhook delivery failed", {{"connector", inst->record.connector},
                                                             {"tenant", inst->record.tenant},
                                                             {"installation", inst->record.id},
                                                             {"request_id", request_id},
                                                             {"reason", reason}});
            respond(http::make_json_response(version, keep_alive, status::service_unavailable,
                                             R"({"error":"storage unavailable, retry later"})"));
        });
}

}  // namespace tributary::host
