// access.cpp: who may call the admin API: the admin token, tenant tokens and their scopes.
#include "app/app.hpp"

#include "app/json_io.hpp"
#include "util/crypto.hpp"
#include "util/log.hpp"
#include "util/time.hpp"

namespace tributary::host {

namespace bj = boost::json;
using http::bhttp::status;
using http::bhttp::verb;

namespace {

constexpr std::string_view admin_only = "this route needs the admin token";
constexpr std::string_view token_prefix = "trt_";

std::string other_tenant(const actor& who) {
    return "this token may act only for tenant '" + who.tenant + "'";
}

bj::object tenant_json(const tenant_row& t) {
    return {{"id", t.id}, {"name", t.name}, {"createdAt", format_time_ms(t.created_ms)}};
}

bj::object token_json(const tenant_token& t) {
    return {{"id", t.id},
            {"tenant", t.tenant},
            {"name", t.name},
            {"createdAt", format_time_ms(t.created_ms)},
            {"createdBy", t.created_by},
            {"revoked", t.revoked_ms.has_value()},
            {"revokedAt", t.revoked_ms ? bj::value(format_time_ms(*t.revoked_ms)) : nullptr}};
}

}  // namespace

// ---- authentication --------------------------------------------------------------------------

std::optional<actor> app::authenticate(const request& req) const {
    auto header = req[http::bhttp::field::authorization];
    constexpr std::string_view scheme = "Bearer ";
    if (header.size() <= scheme.size() || !iequals_prefix(header, scheme)) {
        return std::nullopt;
    }
    std::string_view token = header.substr(scheme.size());
    if (crypto::constant_time_equal(token, admin_token_)) {
        return actor{};
    }
    if (!token.starts_with(token_prefix)) {
        return std::nullopt;
    }

    // Tenant tokens are 256 random bits: looking one up by its hash reveals nothing useful.
    std::string hash = crypto::sha256_hex(token);
    std::shared_lock lock(tokens_mutex_);
    auto it = tokens_by_hash_.find(hash);
    if (it == tokens_by_hash_.end()) {
        return std::nullopt;
    }
    return it->second;
}

void app::load_tokens() {
    auto all = store_->read([](read_txn& txn) { return txn.tenant_tokens(); });
    std::unique_lock lock(tokens_mutex_);
    tokens_by_hash_.clear();
    for (const auto& t : all) {
        if (!t.revoked_ms) {
            tokens_by_hash_[t.token_hash] = actor{t.id, t.tenant};
        }
    }
}

// Why a tenant token may not use this route, or nullopt when it may. The admin may use all. Job
// and audit routes carry no tenant in their path; their handlers check the tenant.
std::optional<std::string> app::scope_error(const actor& who, const std::vector<std::string>& p,
                                            verb method) const {
    if (who.is_admin()) {
        return std::nullopt;
    }
    auto n = p.size();
    if (p[2] == "connectors") {
        return n == 3 && method == verb::get ? std::nullopt
                                             : std::optional<std::string>(admin_only);
    }
    if (p[2] != "tenants") {
        return std::nullopt;
    }
    if (n == 3) {
        return method == verb::get ? std::nullopt : std::optional<std::string>(admin_only);
    }
    if (p[3] != who.tenant) {
        return other_tenant(who);
    }
    if (n >= 5 && p[4] == "tokens") {
        return std::string(admin_only);
    }
    return std::nullopt;
}

// ---- routes ----------------------------------------------------------------------------------

// Refuses what the caller's scope does not cover, and serves the routes of tenants, tokens,
// audit and catalog changes. true when it answered.
bool app::route_access(request& req, http::responder& respond, const actor& who,
                       const std::vector<std::string>& p) {
    auto m = req.method();
    if (auto refusal = scope_error(who, p, m)) {
        log::warn("admin request refused", {{"actor", who.name()}, {"reason", *refusal}});
        respond(error_response(req, status::forbidden, *refusal));
        return true;
    }

    auto n = p.size();
    auto is = [&](std::size_t i, std::string_view s) { return n > i && p[i] == s; };
    if (n == 3 && is(2, "tenants") && m == verb::get) {
        respond(list_tenants(req, who));
    } else if (n == 3 && is(2, "audit") && m == verb::get) {
        respond(list_audit(req, who));
    } else if (n == 3 && is(2, "connectors") && m == verb::post) {
        respond(install_connector(req, who));
    } else if (n == 4 && is(2, "connectors") && is(3, "reload") && m == verb::post) {
        respond(reload_catalog(req, who));
    } else if (n >= 4 && n <= 6 && is(2, "tenants") && (n == 4 || is(4, "tokens"))) {
        const std::string& tenant = p[3];
        bool known = store_->read([&](read_txn& txn) { return txn.tenant_exists(tenant); });
        if (!known) {
            respond(error_response(req, status::not_found, "no such tenant"));
        } else if (n == 4 && m == verb::get) {
            respond(get_tenant(req, tenant));
        } else if (n == 5 && m == verb::post) {
            respond(create_token(req, tenant, who));
        } else if (n == 5 && m == verb::get) {
            respond(list_tokens(req, tenant));
        } else if (n == 6 && m == verb::delete_) {
            respond(revoke_token(req, tenant, p[5], who));
        } else {
            respond(error_response(req, status::not_found, "not found"));
        }
    } else {
        return false;
    }
    return true;
}

app::response app::list_tenants(request& req, const actor& who) {
    auto all = store_->read([](read_txn& txn) { return txn.tenants(); });
    bj::array out;
    for (const auto& t : all) {
        if (who.is_admin() || t.id == who.tenant) {
            out.push_back(tenant_json(t));
        }
    }
    return json_response(req, status::ok, out);
}

app::response app::get_tenant(request& req, const std::string& tenant) {
    auto row = store_->read([&](read_txn& txn) { return txn.tenant(tenant); });
    if (!row) {
        return error_response(req, status::not_found, "no such tenant");
    }
    return json_response(req, status::ok, tenant_json(*row));
}

app::response app::create_token(request& req, const std::string& tenant, const actor& who) {
    std::string name = "token";
    if (!req.body().empty()) {
        std::string error;
        auto body = parse_body(req, error);
        if (!body || !body->is_object()) {
            return error_response(req, status::bad_request,
                                  body ? "expected a JSON object" : error);
        }
        if (auto it = body->get_object().find("name"); it != body->get_object().end()) {
            if (!it->value().is_string() || it->value().get_string().empty() ||
                it->value().get_string().size() > 100) {
                return error_response(req, status::bad_request,
                                      "name must be a string of 1 to 100 characters");
            }
            name = it->value().get_string();
        }
    }

    std::string token = std::string(token_prefix) + crypto::random_token(32);
    tenant_token row;
    row.id = "tok_" + crypto::random_token(12);
    row.tenant = tenant;
    row.name = name;
    row.token_hash = crypto::sha256_hex(token);
    row.created_by = who.name();
    row.created_ms = now_ms();
    auto entry = audit_record(req, who, "token.create", tenant, row.id);
    entry.after = to_json_text(token_json(row));
    store_->write_sync<bool>([&](write_txn& txn) {
        txn.insert_tenant_token(row);
        txn.insert_audit(entry);
        return true;
    });
    {
        std::unique_lock lock(tokens_mutex_);
        tokens_by_hash_[row.token_hash] = actor{row.id, row.tenant};
    }
    log::info("tenant token created", {{"tenant", tenant}, {"token_id", row.id}});

    auto body = token_json(row);
    body["token"] = token;  // shown in this answer only
    return json_response(req, status::created, body);
}

app::response app::list_tokens(request& req, const std::string& tenant) {
    auto all = store_->read([&](read_txn& txn) { return txn.tenant_tokens(tenant); });
    bj::array out;
    for (const auto& t : all) {
        out.push_back(token_json(t));
    }
    return json_response(req, status::ok, out);
}

app::response app::revoke_token(request& req, const std::string& tenant, const std::string& id,
                                const actor& who) {
    auto entry = audit_record(req, who, "token.revoke", tenant, id);
    auto revoked = store_->write_sync<std::optional<tenant_token>>(
        [&](write_txn& txn) -> std::optional<tenant_token> {
            auto find = [&]() -> std::optional<tenant_token> {
                for (auto& t : txn.tenant_tokens(tenant)) {
                    if (t.id == id) {
                        return t;
                    }
                }
                return std::nullopt;
            };
            auto before = find();
            if (!before || !txn.revoke_tenant_token(tenant, id)) {
                return std::nullopt;
            }
            auto after = find();
            entry.before = to_json_text(token_json(*before));
            entry.after = to_json_text(token_json(*after));
            txn.insert_audit(entry);
            return after;
        });
    if (!revoked) {
        return error_response(req, status::not_found, "no such token, or it is already revoked");
    }
    {
        std::unique_lock lock(tokens_mutex_);
        tokens_by_hash_.erase(revoked->token_hash);
    }
    log::info("tenant token revoked", {{"tenant", tenant}, {"token_id", id}});
    return json_response(req, status::ok, token_json(*revoked));
}

}  // namespace tributary::host
