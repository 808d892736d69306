// schema.cpp: versioned schema migrations, applied in order at start.
#include "store/schema.hpp"

#include <array>

namespace tributary::host {

namespace {

// Each entry moves the schema from version i to i + 1. Never edit a released entry: append.
constexpr std::array<const char*, 3> migrations = {
    R"sql(
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE companies (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants(id),
    external_id TEXT NOT NULL,
    name TEXT NOT NULL,
    domains TEXT NOT NULL DEFAULT '[]',
    promoters INTEGER NOT NULL DEFAULT 0,
    passives INTEGER NOT NULL DEFAULT 0,
    detractors INTEGER NOT NULL DEFAULT 0,
    score_sum INTEGER NOT NULL DEFAULT 0,
    nps_updated_ms INTEGER,
    UNIQUE (tenant, external_id)
);

CREATE TABLE end_users (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants(id),
    email TEXT NOT NULL,
    name TEXT,
    external_id TEXT,
    company_id INTEGER REFERENCES companies(id),
    nps_score INTEGER,
    nps_comment TEXT,
    nps_created_ms INTEGER,
    nps_response_id TEXT,
    UNIQUE (tenant, email)
);
CREATE INDEX end_users_company ON end_users(company_id);

-- Every address an End User is matched by: the primary email and the other emails.
CREATE TABLE end_user_emails (
    tenant TEXT NOT NULL,
    email TEXT NOT NULL,
    end_user_id INTEGER NOT NULL REFERENCES end_users(id),
    PRIMARY KEY (tenant, email)
) WITHOUT ROWID;
CREATE INDEX end_user_emails_user ON end_user_emails(end_user_id);

CREATE TABLE tenant_rollups (
    tenant TEXT PRIMARY KEY REFERENCES tenants(id),
    promoters INTEGER NOT NULL DEFAULT 0,
    passives INTEGER NOT NULL DEFAULT 0,
    detractors INTEGER NOT NULL DEFAULT 0,
    score_sum INTEGER NOT NULL DEFAULT 0,
    nps_updated_ms INTEGER
);

CREATE TABLE nps_responses (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    email TEXT,
    external_user_id TEXT,
    end_user_id INTEGER REFERENCES end_users(id),
    score INTEGER,
    rollup_score INTEGER,
    comment TEXT,
    state TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    campaign TEXT,
    method TEXT,
    raw TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    UNIQUE (tenant, source, source_id)
);
CREATE INDEX nps_responses_unmatched ON nps_responses(tenant, email) WHERE end_user_id IS NULL;
CREATE INDEX nps_responses_latest ON nps_responses(end_user_id, created_ms, source_id)
    WHERE rollup_score IS NOT NULL;

CREATE TABLE company_nps_daily (
    company_id INTEGER NOT NULL REFERENCES companies(id),
    day TEXT NOT NULL,
    promoters INTEGER NOT NULL,
    passives INTEGER NOT NULL,
    detractors INTEGER NOT NULL,
    score_sum INTEGER NOT NULL,
    PRIMARY KEY (company_id, day)
) WITHOUT ROWID;

CREATE TABLE installations (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants(id),
    connector TEXT NOT NULL,
    config TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    old_key_hash TEXT,
    old_key_expires_ms INTEGER,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX installations_tenant ON installations(tenant);
)sql",
    R"sql(
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants(id),
    installation_id TEXT NOT NULL,
    connector TEXT NOT NULL,
    action TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL,
    progress TEXT NOT NULL DEFAULT '{}',
    checkpoint TEXT,
    error TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    started_ms INTEGER,
    finished_ms INTEGER,
    updated_ms INTEGER NOT NULL
);
-- At most one queued or running job of an action per installation.
CREATE UNIQUE INDEX jobs_one_active ON jobs(installation_id, action)
    WHERE state IN ('queued', 'running');
CREATE INDEX jobs_tenant ON jobs(tenant, created_ms);
)sql",
    R"sql(
CREATE TABLE tenant_tokens (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER
);
CREATE INDEX tenant_tokens_tenant ON tenant_tokens(tenant);

-- Append-only: every change made through the admin API, secrets masked.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    tenant TEXT,
    action TEXT NOT NULL,
    route TEXT NOT NULL,
    target TEXT,
    before TEXT,
    after TEXT
);
CREATE INDEX audit_log_tenant ON audit_log(tenant, id);

CREATE TABLE catalog_additions (
    connector TEXT PRIMARY KEY,
    manifest_path TEXT,
    manifest_text TEXT,
    plugin_dir TEXT NOT NULL,
    added_ms INTEGER NOT NULL
);
)sql",
};

}  // namespace

int latest_schema_version() {
    return static_cast<int>(migrations.size());
}

int migrate_schema(sqlite::database& db) {
    auto& version_query = db.prepare("PRAGMA user_version");
    version_query.step();
    int version = static_cast<int>(version_query.int64(0));
    version_query.reset();

    if (version > latest_schema_version()) {
        throw sqlite::error(0, "the database has schema version " + std::to_string(version) +
                                   ", newer than this host knows (" +
                                   std::to_string(latest_schema_version()) + ")");
    }

    for (int v = version; v < latest_schema_version(); ++v) {
        db.exec("BEGIN IMMEDIATE");
        try {
            db.exec(migrations[static_cast<std::size_t>(v)]);
            db.exec("PRAGMA user_version = " + std::to_string(v + 1));
            db.exec("COMMIT");
        } catch (...) {
            db.exec("ROLLBACK");
            throw;
        }
    }
    return latest_schema_version();
}

}  // namespace tributary::host
