// app.hpp: the running host: catalog, installations, store, HTTP routes and jobs together.
#pragma once

#include "http/server.hpp"
#include "manifest/manifest.hpp"
#include "plugin/plugin.hpp"
#include "store/store.hpp"

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace tributary::host {

class job_runner;

struct app_options {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8080;
    std::filesystem::path data_dir = "data";
    std::filesystem::path plugin_dir;
    std::filesystem::path manifest_dir;
    std::string public_url;  // base of webhook URLs; default http://<listen address>
    std::size_t threads = 2;
    std::size_t body_limit = 1 << 20;
    std::size_t max_connections = 1024;
    std::chrono::milliseconds read_timeout{30000};
    std::chrono::seconds key_grace{86400};         // how long a rotated webhook key keeps working
    std::size_t job_workers = 2;                   // jobs that run at once, across all tenants
    std::optional<std::filesystem::path> ca_file;  // outbound TLS trust; the system store if unset
    std::optional<std::string> admin_token;        // else TRIBUTARY_ADMIN_TOKEN, else generated
};

// A connector the catalog knows: its manifest and, once loaded, its library.
struct connector_entry {
    manifest spec;
    std::shared_ptr<plugin> library;
    bool has_rollup_hook = false;
};

// Who made an admin request: the host admin, or a token that acts for one tenant only.
struct actor {
    std::string token_id;  // empty for the admin
    std::string tenant;    // the token's tenant; empty for the admin

    bool is_admin() const { return token_id.empty(); }
    // "admin" or "token:<id>", as the audit log names it.
    std::string name() const { return is_admin() ? "admin" : "token:" + token_id; }
};

// A manifest the catalog should hold, and where its library's relative path resolves.
struct catalog_candidate {
    manifest spec;
    std::filesystem::path plugin_dir;
};

// What a catalog reload did, connector ids per outcome.
struct catalog_report {
    std::vector<std::string> added, replaced, unchanged, removed, kept_in_use;
    std::vector<std::string> errors;  // one line each: refused manifests, libraries, upgrades
};

// What the webhook path needs of an installation, immutable once published.
struct installation_entry {
    installation record;
    std::string config_json;  // secrets opened, for calls into the connector
    std::shared_ptr<const connector_entry> connector;
};

class app {
public:
    explicit app(app_options options);
    ~app();

    // Opens storage, loads the catalog, starts serving; returns the bound port.
    std::uint16_t start();
    void stop();

    const std::filesystem::path& admin_token_file() const { return admin_token_file_; }
    bool admin_token_from_env() const { return admin_token_from_env_; }
    std::string base_url() const;
    std::vector<std::string> catalog_errors() const;

    store& storage() { return *store_; }

    // Exposed for the job runner and tests.
    std::shared_ptr<const connector_entry> connector(std::string_view id) const;
    std::shared_ptr<const installation_entry> installation_by_id(std::string_view id) const;
    const std::string& secrets_key() const { return secrets_key_; }

private:
    using request = http::request;
    using response = http::response;

    void handle(request&& req, http::responder respond, const http::peer_info& peer);
    void route_admin(request& req, http::responder& respond, const actor& who);
    bool route_access(request& req, http::responder& respond, const actor& who,
                      const std::vector<std::string>& parts);
    void handle_webhook(request& req, http::responder respond);

    // Catalog and installations.
    void load_catalog();
    // The manifest directory and the stored additions; at start an unreadable directory throws.
    std::vector<catalog_candidate> scan_catalog(std::vector<std::string>& errors,
                                                bool at_start) const;
    // Loads what is new, replaces what changed and may change, drops what is gone and unused.
    void apply_catalog(std::vector<catalog_candidate> candidates, catalog_report& report);
    // Why the loaded connector may not be replaced by next, or nullopt when it may.
    std::optional<std::string> upgrade_refusal(const connector_entry& current,
                                               const catalog_candidate& next) const;
    // Puts the entry in the catalog and points the installations of its id at it.
    void swap_in(std::shared_ptr<const connector_entry> entry);
    std::size_t installations_using(std::string_view connector) const;
    void load_installations();
    void publish(const installation& inst);
    void unpublish(const std::string& installation_id);
    std::string open_config(const manifest& m, const boost::json::object& stored) const;
    boost::json::object seal_config(const manifest& m, const boost::json::object& plain) const;

    // Access: the admin token and tenant tokens (access.cpp).
    std::optional<actor> authenticate(const request& req) const;
    std::optional<std::string> scope_error(const actor& who, const std::vector<std::string>& parts,
                                           http::bhttp::verb method) const;
    void load_tokens();
    response list_tenants(request& req, const actor& who);
    response get_tenant(request& req, const std::string& tenant);
    response create_token(request& req, const std::string& tenant, const actor& who);
    response list_tokens(request& req, const std::string& tenant);
    response revoke_token(request& req, const std::string& tenant, const std::string& id,
                          const actor& who);

    // Audit (audit.cpp). Entries are written in the transaction of the change they record.
    audit_entry audit_record(const request& req, const actor& who, std::string action,
                             std::optional<std::string> tenant,
                             std::optional<std::string> target) const;
    response list_audit(request& req, const actor& who);

    // Catalog changes (catalog.cpp).
    response reload_catalog(request& req, const actor& who);
    response install_connector(request& req, const actor& who);

    // Admin routes.
    response create_tenant(request& req, const actor& who);
    void upsert_companies(request& req, const std::string& tenant, http::responder respond,
                          const actor& who);
    void upsert_end_users(request& req, const std::string& tenant, http::responder respond,
                          const actor& who);
    response list_connectors(request& req);
    void create_installation(request& req, const std::string& tenant, http::responder respond,
                             const actor& who);
    response list_installations(request& req, const std::string& tenant);
    void patch_installation(request& req, const std::string& tenant, const std::string& id,
                            http::responder respond, const actor& who);
    void delete_installation(request& req, const std::string& tenant, const std::string& id,
                             http::responder respond, const actor& who);
    void rotate_key(request& req, const std::string& tenant, const std::string& id,
                    http::responder respond, const actor& who);
    response get_end_user(request& req, const std::string& tenant, const std::string& email);
    response company_nps(request& req, const std::string& tenant, const std::string& external_id);
    response portfolio_nps(request& req, const std::string& tenant);
    response unmatched(request& req, const std::string& tenant);
    void start_action(request& req, const std::string& tenant, const std::string& id,
                      const std::string& action, http::responder respond, const actor& who);
    response get_job(request& req, const std::string& id, const actor& who);
    response cancel_job(request& req, const std::string& id, const actor& who);
    response list_jobs(request& req, const std::string& tenant);

    boost::json::object installation_json(const installation& inst, const manifest* m) const;
    std::string webhook_url(const std::string& connector, const std::string& key) const;

    app_options options_;
    std::unique_ptr<store> store_;
    std::unique_ptr<http::server> server_;
    std::unique_ptr<job_runner> jobs_;
    std::uint16_t port_ = 0;

    std::string admin_token_;
    std::filesystem::path admin_token_file_;
    bool admin_token_from_env_ = false;
    std::string secrets_key_;

    mutable std::shared_mutex tokens_mutex_;
    std::unordered_map<std::string, actor> tokens_by_hash_;  // live tenant tokens by SHA-256

    std::mutex catalog_change_mutex_;  // one reload or install at a time
    mutable std::shared_mutex catalog_mutex_;
    std::map<std::string, std::shared_ptr<const connector_entry>, std::less<>> catalog_;
    std::vector<std::string> catalog_errors_;

    mutable std::shared_mutex installations_mutex_;
    std::unordered_map<std::string, std::shared_ptr<const installation_entry>> by_key_hash_;
    std::unordered_map<std::string, std::shared_ptr<const installation_entry>> by_id_;

    std::atomic<std::uint64_t> request_counter_{0};
};

}  // namespace tributary::host
