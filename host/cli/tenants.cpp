// tenants.cpp: `tributary tenant`, `tributary token` and `tributary audit`.
#include "app/json_io.hpp"
#include "cli/api.hpp"

#include <iostream>

namespace tributary::host::cli {

namespace bj = boost::json;

namespace {

// ---- tenant ----------------------------------------------------------------------------------

int tenant_create(const invocation& inv) {
    auto name = inv.get("--name").value_or(inv.words[0]);
    return request_and_show(inv, "POST", "/api/v1/tenants",
                            bj::value{{"id", inv.words[0]}, {"name", name}},
                            [](const bj::value& v) {
                                std::cout << "created tenant " << field_text(v, "id") << " ("
                                          << field_text(v, "name") << ")\n";
                            });
}

int tenant_list(const invocation& inv) {
    return request_and_show(inv, "GET", "/api/v1/tenants", std::nullopt, [](const bj::value& v) {
        print_table(v,
                    {member("ID", "id"), member("NAME", "name"), member("CREATED", "createdAt")});
    });
}

int tenant_get(const invocation& inv) {
    return request_and_show(inv, "GET", tenant_path(inv.words[0]), std::nullopt,
                            [](const bj::value& v) { print_object(v); });
}

// ---- token -----------------------------------------------------------------------------------

int token_create(const invocation& inv) {
    auto tenant = require_tenant(inv, "token create");
    if (!tenant) {
        return exit_usage;
    }
    bj::object body;
    if (auto name = inv.get("--name")) {
        body["name"] = *name;
    }
    return request_and_show(
        inv, "POST", tenant_path(*tenant, "/tokens"), bj::value(body), [](const bj::value& v) {
            std::cout << "created token " << field_text(v, "id") << " for tenant "
                      << field_text(v, "tenant") << " (" << field_text(v, "name") << ")\n"
                      << field_text(v, "token") << "\n"
                      << "This is the only time the token is shown.\n";
        });
}

int token_list(const invocation& inv) {
    auto tenant = require_tenant(inv, "token list");
    if (!tenant) {
        return exit_usage;
    }
    return request_and_show(
        inv, "GET", tenant_path(*tenant, "/tokens"), std::nullopt, [](const bj::value& v) {
            print_table(v,
                        {member("ID", "id"), member("NAME", "name"), member("CREATED", "createdAt"),
                         member("BY", "createdBy"), member("REVOKED", "revokedAt")});
        });
}

int token_revoke(const invocation& inv) {
    auto tenant = require_tenant(inv, "token revoke");
    if (!tenant) {
        return exit_usage;
    }
    return request_and_show(
        inv, "DELETE", tenant_path(*tenant, "/tokens/" + segment(inv.words[0])), std::nullopt,
        [](const bj::value& v) { std::cout << "revoked token " << field_text(v, "id") << "\n"; });
}

// ---- audit -----------------------------------------------------------------------------------

std::string change_text(const bj::value& entry) {
    const auto* o = entry.if_object();
    if (o == nullptr) {
        return "-";
    }
    auto before = o->if_contains("before");
    auto after = o->if_contains("after");
    bool has_before = before && !before->is_null();
    bool has_after = after && !after->is_null();
    if (has_before && has_after) {
        return to_json_text(*before) + " -> " + to_json_text(*after);
    }
    return has_after ? to_json_text(*after) : has_before ? to_json_text(*before) + " -> -" : "-";
}

int audit_list(const invocation& inv) {
    std::string query;
    if (auto tenant = inv.tenant()) {
        query += "tenant=" + segment(*tenant);
    }
    if (auto limit = inv.get("--limit")) {
        query += (query.empty() ? "" : "&") + std::string("limit=") + segment(*limit);
    }
    std::string path = "/api/v1/audit" + (query.empty() ? "" : "?" + query);
    return request_and_show(inv, "GET", path, std::nullopt, [](const bj::value& v) {
        print_table(v, {member("AT", "at"),
                        member("ACTOR", "actor"),
                        member("TENANT", "tenant"),
                        member("ACTION", "action"),
                        member("TARGET", "target"),
                        {"CHANGE", change_text}});
    });
}

}  // namespace

const area_spec& tenant_area() {
    static const area_spec area{
        "tenant",
        "Tenants of the platform: each has its own companies, End Users and installations.",
        {{"create",
          "ID",
          "Creates a tenant; ID is 1 to 63 characters of a-z, 0-9 and -.",
          {{"--name", "NAME", "display name (default: the id)"}},
          1,
          1,
          tenant_create},
         {"list", "", "Lists the tenants (a tenant token sees its own).", {}, 0, 0, tenant_list},
         {"get", "ID", "Shows one tenant.", {}, 1, 1, tenant_get}}};
    return area;
}

const area_spec& token_area() {
    static const area_spec area{
        "token",
        "Tenant tokens: bearer tokens that can manage and read one tenant only.",
        {{"create",
          "",
          "Creates a token for the tenant and prints it once; only its hash is kept.",
          {tenant_option, {"--name", "NAME", "what the token is for (default: token)"}},
          0,
          0,
          token_create},
         {"list",
          "",
          "Lists the tenant's tokens, without the tokens themselves.",
          {tenant_option},
          0,
          0,
          token_list},
         {"revoke", "TOKEN_ID", "Revokes a token at once.", {tenant_option}, 1, 1, token_revoke}}};
    return area;
}

const area_spec& audit_area() {
    static const area_spec area{
        "audit",
        "The audit log: every change made through the admin API, newest first.",
        {{"list",
          "",
          "Lists audit entries: when, who (admin or token id), what, and before -> after with "
          "secrets masked.",
          {{"--tenant", "TENANT", "only this tenant's entries (default TRIBUTARY_TENANT)"},
           {"--limit", "N", "at most N entries (default 100, at most 1000)"}},
          0,
          0,
          audit_list}}};
    return area;
}

}  // namespace tributary::host::cli
