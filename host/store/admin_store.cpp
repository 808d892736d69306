// admin_store.cpp: the queries behind administration: tenants, tenant tokens, audit, catalog.
#include "store/store.hpp"

namespace tributary::host {

// ---- tenants ---------------------------------------------------------------------------------

std::vector<tenant_row> read_txn::tenants() {
    auto& q = db_.prepare("SELECT id, name, created_ms FROM tenants ORDER BY id");
    std::vector<tenant_row> out;
    while (q.step()) {
        out.push_back({q.string(0), q.string(1), q.int64(2)});
    }
    return out;
}

std::optional<tenant_row> read_txn::tenant(std::string_view id) {
    auto& q = db_.prepare("SELECT id, name, created_ms FROM tenants WHERE id = ?");
    q.bind(1, id);
    if (!q.step()) {
        return std::nullopt;
    }
    return tenant_row{q.string(0), q.string(1), q.int64(2)};
}

// ---- tenant tokens ---------------------------------------------------------------------------

std::vector<tenant_token> read_txn::tenant_tokens(std::optional<std::string_view> tenant) {
    std::string sql =
        "SELECT id, tenant, name, token_hash, created_by, created_ms, revoked_ms "
        "FROM tenant_tokens ";
    sql += tenant ? "WHERE tenant = ? ORDER BY created_ms, id" : "ORDER BY created_ms, id";
    auto& q = db_.prepare(sql);
    if (tenant) {
        q.bind(1, *tenant);
    }
    std::vector<tenant_token> out;
    while (q.step()) {
        tenant_token t;
        t.id = q.string(0);
        t.tenant = q.string(1);
        t.name = q.string(2);
        t.token_hash = q.string(3);
        t.created_by = q.string(4);
        t.created_ms = q.int64(5);
        t.revoked_ms = q.opt_int64(6);
        out.push_back(std::move(t));
    }
    return out;
}

void write_txn::insert_tenant_token(const tenant_token& t) {
    db_.prepare(
           "INSERT INTO tenant_tokens (id, tenant, name, token_hash, created_by, created_ms) "
           "VALUES (?,?,?,?,?,?)")
        .bind(1, t.id)
        .bind(2, t.tenant)
        .bind(3, t.name)
        .bind(4, t.token_hash)
        .bind(5, t.created_by)
        .bind(6, t.created_ms)
        .run();
}

bool write_txn::revoke_tenant_token(std::string_view tenant, std::string_view id) {
    db_.prepare(
           "UPDATE tenant_tokens SET revoked_ms = ? "
           "WHERE tenant = ? AND id = ? AND revoked_ms IS NULL")
        .bind(1, now_ms())
        .bind(2, tenant)
        .bind(3, id)
        .run();
    return db_.changes() > 0;
}

// ---- audit -----------------------------------------------------------------------------------

std::vector<audit_entry> read_txn::audit(std::optional<std::string_view> tenant, std::int64_t limit,
                                         std::optional<std::int64_t> before_id) {
    std::string sql =
        "SELECT id, at_ms, actor, tenant, action, route, target, before, after FROM audit_log "
        "WHERE (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3";
    auto& q = db_.prepare(sql);
    q.bind(1, tenant ? std::optional<std::string>(*tenant) : std::nullopt);
    q.bind(2, before_id);
    q.bind(3, limit);
    std::vector<audit_entry> out;
    while (q.step()) {
        audit_entry e;
        e.id = q.int64(0);
        e.at_ms = q.int64(1);
        e.actor = q.string(2);
        e.tenant = q.opt_string(3);
        e.action = q.string(4);
        e.route = q.string(5);
        e.target = q.opt_string(6);
        e.before = q.opt_string(7);
        e.after = q.opt_string(8);
        out.push_back(std::move(e));
    }
    return out;
}

std::int64_t write_txn::insert_audit(const audit_entry& e) {
    db_.prepare(
           "INSERT INTO audit_log (at_ms, actor, tenant, action, route, target, before, after) "
           "VALUES (?,?,?,?,?,?,?,?)")
        .bind(1, e.at_ms != 0 ? e.at_ms : now_ms())
        .bind(2, e.actor)
        .bind(3, e.tenant)
        .bind(4, e.action)
        .bind(5, e.route)
        .bind(6, e.target)
        .bind(7, e.before)
        .bind(8, e.after)
        .run();
    return db_.last_insert_rowid();
}

// ---- catalog additions -----------------------------------------------------------------------

std::vector<catalog_addition> read_txn::catalog_additions() {
    auto& q = db_.prepare(
        "SELECT connector, manifest_path, manifest_text, plugin_dir, added_ms "
        "FROM catalog_additions ORDER BY added_ms, connector");
    std::vector<catalog_addition> out;
    while (q.step()) {
        out.push_back({q.string(0), q.opt_string(1), q.opt_string(2), q.string(3), q.int64(4)});
    }
    return out;
}

void write_txn::upsert_catalog_addition(const catalog_addition& a) {
    db_.prepare(
           "INSERT INTO catalog_additions (connector, manifest_path, manifest_text, plugin_dir, "
           "added_ms) VALUES (?,?,?,?,?) ON CONFLICT (connector) DO UPDATE SET "
           "manifest_path = excluded.manifest_path, manifest_text = excluded.manifest_text, "
           "plugin_dir = excluded.plugin_dir, added_ms = excluded.added_ms")
        .bind(1, a.connector)
        .bind(2, a.manifest_path)
        .bind(3, a.manifest_text)
        .bind(4, a.plugin_dir)
        .bind(5, a.added_ms != 0 ? a.added_ms : now_ms())
        .run();
}

}  // namespace tributary::host
