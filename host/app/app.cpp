// app.cpp: start-up, the catalog and installation registry, authentication and routing.
#include "app/app.hpp"

#include "app/jobs.hpp"
#include "app/json_io.hpp"
#include "util/crypto.hpp"
#include "util/log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tributary::host {

namespace bj = boost::json;
using http::bhttp::status;

namespace {

// Reads a file that holds one secret, or creates it with a new value, owner-only (0600).
std::string read_or_create_secret(const std::filesystem::path& file, std::size_t bytes) {
    std::error_code ec;
    if (std::filesystem::exists(file, ec)) {
        std::ifstream in(file);
        std::string value;
        std::getline(in, value);
        if (!value.empty()) {
            return value;
        }
    }
    std::string value = crypto::random_token(bytes);
    std::string tmp = file.string() + ".tmp";
    {
        // Created owner-only before a byte of the secret is written.
        int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) {
            throw std::runtime_error("cannot create " + tmp);
        }
        ::fchmod(fd, 0600);
        ::close(fd);
        std::ofstream out(tmp, std::ios::trunc);
        out << value << '\n';
        if (!out) {
            throw std::runtime_error("cannot write " + tmp);
        }
    }
    std::filesystem::rename(tmp, file);
    return value;
}

}  // namespace

app::app(app_options options) : options_(std::move(options)) {}

app::~app() {
    stop();
}

std::uint16_t app::start() {
    std::filesystem::create_directories(options_.data_dir);
    ::chmod(options_.data_dir.c_str(), 0700);

    if (options_.admin_token) {
        admin_token_ = *options_.admin_token;
        admin_token_from_env_ = true;
    } else if (const char* env = std::getenv("TRIBUTARY_ADMIN_TOKEN");
               env != nullptr && *env != '\0') {
        admin_token_ = env;
        admin_token_from_env_ = true;
    } else {
        admin_token_file_ = options_.data_dir / "admin-token";
        admin_token_ = read_or_create_secret(admin_token_file_, 32);
    }
    std::string key_text;
    if (const char* env = std::getenv("TRIBUTARY_SECRETS_KEY"); env != nullptr && *env != '\0') {
        key_text = env;
    } else {
        key_text = read_or_create_secret(options_.data_dir / "secrets.key", 32);
    }
    auto key = crypto::base64url_decode(key_text);
    if (!key || key->size() != 32) {
        throw std::runtime_error("the secrets key must be 32 bytes in URL-safe base64");
    }
    secrets_key_ = *key;

    store_ = std::make_unique<store>(store_options{options_.data_dir / "tributary.db"});
    load_catalog();
    load_installations();
    load_tokens();
    jobs_ = std::make_unique<job_runner>(
        *this, *store_, job_runner_options{options_.job_workers, options_.ca_file});
    jobs_->start();

    http::server_options so;
    so.host = options_.listen_host;
    so.port = options_.listen_port;
    so.threads = options_.threads;
    so.body_limit = options_.body_limit;
    so.max_connections = options_.max_connections;
    so.read_timeout = options_.read_timeout;
    so.error_log = [](std::string_view event, std::string_view detail) {
        log::warn("http", {{"event", event}, {"detail", detail}});
    };
    server_ = std::make_unique<http::server>(
        so, [this](request&& req, http::responder respond, const http::peer_info& peer) {
            handle(std::move(req), std::move(respond), peer);
        });
    port_ = server_->start().port();
    return port_;
}

void app::stop() {
    if (server_) {
        server_->stop();
    }
    if (jobs_) {
        jobs_->stop();
    }
    if (store_) {
        store_->stop();
    }
}

std::string app::base_url() const {
    if (!options_.public_url.empty()) {
        std::string url = options_.public_url;
        while (!url.empty() && url.back() == '/') {
            url.pop_back();
        }
        return url;
    }
    std::string host = options_.listen_host;
    if (host == "0.0.0.0" || host == "::") {
        host = "127.0.0.1";
    }
    if (host.find(':') != std::string::npos) {
        host = "[" + host + "]";
    }
    return "http://" + host + ":" + std::to_string(port_);
}

std::string app::webhook_url(const std::string& connector, const std::string& key) const {
    return base_url() + "/hooks/" + connector + "/" + key;
}

// ---- catalog ---------------------------------------------------------------------------------

void app::load_catalog() {
    catalog_report report;
    auto candidates = scan_catalog(report.errors, true);
    apply_catalog(std::move(candidates), report);
}

std::vector<std::string> app::catalog_errors() const {
    std::shared_lock lock(catalog_mutex_);
    return catalog_errors_;
}

std::shared_ptr<const connector_entry> app::connector(std::string_view id) const {
    std::shared_lock lock(catalog_mutex_);
    auto it = catalog_.find(id);
    return it == catalog_.end() ? nullptr : it->second;
}

// ---- installations ---------------------------------------------------------------------------

std::string app::open_config(const manifest& m, const bj::object& stored) const {
    bj::object plain = stored;
    for (const auto& f : m.config) {
        auto it = plain.find(f.key);
        if (!f.secret || it == plain.end() || !it->value().is_string()) {
            continue;
        }
        auto opened = crypto::open(secrets_key_, it->value().get_string());
        if (opened) {
            it->value() = *opened;
        } else {
            log::warn("a stored secret cannot be opened with this host's key",
                      {{"connector", m.id}, {"field", f.key}});
            plain.erase(it);
        }
    }
    return bj::serialize(plain);
}

bj::object app::seal_config(const manifest& m, const bj::object& plain) const {
    bj::object sealed = plain;
    for (const auto& f : m.config) {
        auto it = sealed.find(f.key);
        if (f.secret && it != sealed.end() && it->value().is_string()) {
            it->value() = crypto::seal(secrets_key_, it->value().get_string());
        }
    }
    return sealed;
}

void app::load_installations() {
    auto all = store_->read([](read_txn& txn) { return txn.installations(); });
    for (const auto& inst : all) {
        publish(inst);
    }
    log::info("installations loaded", {{"count", static_cast<std::int64_t>(all.size())}});
}

// Makes the installation's current state the one webhooks and jobs see.
void app::publish(const installation& inst) {
    auto entry = std::make_shared<installation_entry>();
    entry->record = inst;
    entry->connector = connector(inst.connector);
    if (entry->connector) {
        entry->config_json = open_config(entry->connector->spec, inst.config);
    }

    std::unique_lock lock(installations_mutex_);
    if (auto old = by_id_.find(inst.id); old != by_id_.end()) {
        by_key_hash_.erase(old->second->record.key_hash);
        if (old->second->record.old_key_hash) {
            by_key_hash_.erase(*old->second->record.old_key_hash);
        }
    }
    by_key_hash_[inst.key_hash] = entry;
    if (inst.old_key_hash) {
        by_key_hash_[*inst.old_key_hash] = entry;
    }
    by_id_[inst.id] = entry;
}

void app::unpublish(const std::string& installation_id) {
    std::unique_lock lock(installations_mutex_);
    auto it = by_id_.find(installation_id);
    if (it == by_id_.end()) {
        return;
    }
    by_key_hash_.erase(it->second->record.key_hash);
    if (it->second->record.old_key_hash) {
        by_key_hash_.erase(*it->second->record.old_key_hash);
    }
    by_id_.erase(it);
}

std::shared_ptr<const installation_entry> app::installation_by_id(std::string_view id) const {
    std::shared_lock lock(installations_mutex_);
    auto it = by_id_.find(std::string(id));
    return it == by_id_.end() ? nullptr : it->second;
}

// ---- routing ---------------------------------------------------------------------------------

void app::handle(request&& req, http::responder respond, const http::peer_info&) {
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));

    if (path.starts_with("/hooks/")) {
        handle_webhook(req, std::move(respond));
        return;
    }
    if (path == "/healthz" && req.method() == http::bhttp::verb::get) {
        respond(json_response(req, status::ok, bj::object{{"status", "ok"}}));
        return;
    }
    if (path == "/readyz" && req.method() == http::bhttp::verb::get) {
        bool storage = store_->ping();
        bool plugins = catalog_errors().empty();
        bj::object body{{"storage", storage},
                        {"plugins", plugins},
                        {"status", storage && plugins ? "ready" : "not ready"}};
        respond(json_response(req, storage && plugins ? status::ok : status::service_unavailable,
                              body));
        return;
    }
    if (path == "/api/v1" || path.starts_with("/api/v1/")) {
        auto who = authenticate(req);
        if (!who) {
            auto res = error_response(req, status::unauthorized, "missing or wrong bearer token");
            res.set(http::bhttp::field::www_authenticate, "Bearer");
            respond(std::move(res));
            return;
        }
        route_admin(req, respond, *who);
        return;
    }
    respond(error_response(req, status::not_found, "not found"));
}

}  // namespace tributary::host
