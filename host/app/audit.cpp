// audit.cpp: the audit log's entries and the route that lists them.
#include "app/app.hpp"

#include "app/json_io.hpp"
#include "util/time.hpp"

#include <cstdlib>

namespace tributary::host {

namespace bj = boost::json;
using http::bhttp::status;

namespace {

bj::value parsed_or_null(const std::optional<std::string>& text) {
    if (!text) {
        return nullptr;
    }
    boost::system::error_code ec;
    auto v = bj::parse(*text, ec);
    return ec ? bj::value(nullptr) : v;
}

bj::object entry_json(const audit_entry& e) {
    bool admin = e.actor == "admin";
    return {{"id", e.id},
            {"at", format_time_ms(e.at_ms)},
            {"actor", e.actor},
            {"tokenId", admin ? bj::value(nullptr) : bj::value(e.actor.substr(6))},
            {"tenant", e.tenant ? bj::value(*e.tenant) : nullptr},
            {"action", e.action},
            {"route", e.route},
            {"target", e.target ? bj::value(*e.target) : nullptr},
            {"before", parsed_or_null(e.before)},
            {"after", parsed_or_null(e.after)}};
}

}  // namespace

// The route is method and path only: admin paths hold no secrets, and the query is left out.
audit_entry app::audit_record(const request& req, const actor& who, std::string action,
                              std::optional<std::string> tenant,
                              std::optional<std::string> target) const {
    std::string_view path = req.target();
    path = path.substr(0, path.find('?'));
    audit_entry e;
    e.at_ms = now_ms();
    e.actor = who.name();
    e.tenant = std::move(tenant);
    e.action = std::move(action);
    e.route = std::string(req.method_string()) + " " + std::string(path);
    e.target = std::move(target);
    return e;
}

app::response app::list_audit(request& req, const actor& who) {
    std::optional<std::string> tenant = query_param(req.target(), "tenant");
    if (tenant && tenant->empty()) {
        tenant.reset();
    }
    if (!who.is_admin()) {
        if (tenant && *tenant != who.tenant) {
            return error_response(req, status::forbidden,
                                  "this token may act only for tenant '" + who.tenant + "'");
        }
        tenant = who.tenant;
    }
    std::int64_t limit = 100;
    if (auto l = query_param(req.target(), "limit")) {
        limit = std::clamp<std::int64_t>(std::atoll(l->c_str()), 1, 1000);
    }
    std::optional<std::int64_t> before;
    if (auto b = query_param(req.target(), "before")) {
        before = std::atoll(b->c_str());
    }

    auto rows = store_->read([&](read_txn& txn) {
        return txn.audit(tenant ? std::optional<std::string_view>(*tenant) : std::nullopt, limit,
                         before);
    });
    bj::array out;
    out.reserve(rows.size());
    for (const auto& e : rows) {
        out.push_back(entry_json(e));
    }
    return json_response(req, status::ok, out);
}

}  // namespace tributary::host
