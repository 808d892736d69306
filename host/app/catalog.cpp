// catalog.cpp: the connector catalog: loading at start, reloading, and installing a manifest.
#include "app/app.hpp"

#include "app/json_io.hpp"
#include "util/log.hpp"

#include <set>

namespace tributary::host {

namespace bj = boost::json;
namespace fs = std::filesystem;
using http::bhttp::status;

namespace {

fs::path library_file(const catalog_candidate& c) {
    fs::path file = c.spec.library;
    return file.is_relative() ? c.plugin_dir / file : file;
}

// The same manifest version from the same library file: nothing to load.
bool same_connector(const connector_entry& current, const catalog_candidate& next) {
    std::error_code ec;
    return current.spec.version == next.spec.version &&
           fs::weakly_canonical(current.library->file(), ec) ==
               fs::weakly_canonical(library_file(next), ec);
}

// Throws plugin_error with the loader's one line.
std::shared_ptr<connector_entry> load_entry(catalog_candidate c) {
    auto entry = std::make_shared<connector_entry>();
    entry->library = plugin::load(c.spec, c.plugin_dir);
    entry->spec = std::move(c.spec);
    for (const auto& h : entry->spec.hooks) {
        entry->has_rollup_hook = entry->has_rollup_hook || h == "nps-rollup";
    }
    return entry;
}

bj::array strings_json(const std::vector<std::string>& v) {
    bj::array out;
    for (const auto& s : v) {
        out.emplace_back(s);
    }
    return out;
}

bj::object report_json(const catalog_report& r) {
    return {{"added", strings_json(r.added)},           {"replaced", strings_json(r.replaced)},
            {"unchanged", strings_json(r.unchanged)},   {"removed", strings_json(r.removed)},
            {"keptInUse", strings_json(r.kept_in_use)}, {"errors", strings_json(r.errors)}};
}

}  // namespace

// ---- what the catalog should hold ------------------------------------------------------------

std::vector<catalog_candidate> app::scan_catalog(std::vector<std::string>& errors,
                                                 bool at_start) const {
    std::map<std::string, catalog_candidate> by_id;
    try {
        auto loaded = load_manifest_dir(options_.manifest_dir);
        errors.insert(errors.end(), loaded.errors.begin(), loaded.errors.end());
        for (auto& m : loaded.manifests) {
            std::string id = m.id;
            by_id[id] = catalog_candidate{std::move(m), options_.plugin_dir};
        }
    } catch (const manifest_error& e) {
        if (at_start) {
            throw;
        }
        errors.emplace_back(e.what());
    }

    // Connectors installed through the API come after the directory: they were added on purpose.
    auto additions = store_->read([](read_txn& txn) { return txn.catalog_additions(); });
    for (const auto& a : additions) {
        try {
            manifest m = a.manifest_path ? load_manifest(*a.manifest_path)
                                         : parse_manifest(a.manifest_text.value_or(""),
                                                          "uploaded manifest of " + a.connector);
            if (m.id != a.connector) {
                errors.push_back(m.file.string() + ": field 'id': expected '" + a.connector +
                                 "', the connector installed from it, got '" + m.id + "'");
                continue;
            }
            by_id[a.connector] = catalog_candidate{std::move(m), a.plugin_dir};
        } catch (const manifest_error& e) {
            errors.emplace_back(e.what());
        }
    }

    std::vector<catalog_candidate> out;
    for (auto& [id, c] : by_id) {
        out.push_back(std::move(c));
    }
    return out;
}

std::size_t app::installations_using(std::string_view connector_id) const {
    std::shared_lock lock(installations_mutex_);
    std::size_t n = 0;
    for (const auto& [id, e] : by_id_) {
        n += e->record.connector == connector_id ? 1 : 0;
    }
    return n;
}

// Upgrades are restarts while anything uses the loaded library: its installations, and the
// dynamic loader, which hands back the loaded copy for a path it already has open.
std::optional<std::string> app::upgrade_refusal(const connector_entry& current,
                                                const catalog_candidate& next) const {
    std::string what = "connector '" + current.spec.id + "' " + current.spec.version;
    if (auto n = installations_using(current.spec.id); n > 0) {
        return what + " is used by " + std::to_string(n) + " installation" + (n == 1 ? "" : "s") +
               "; replacing it with " + next.spec.version + " needs a restart";
    }
    std::error_code ec;
    if (fs::weakly_canonical(current.library->file(), ec) ==
        fs::weakly_canonical(library_file(next), ec)) {
        return what + " is loaded from " + current.library->file().string() +
               "; replacing that library needs a restart";
    }
    return std::nullopt;
}

void app::swap_in(std::shared_ptr<const connector_entry> entry) {
    {
        std::unique_lock lock(catalog_mutex_);
        catalog_[entry->spec.id] = entry;
    }

    // Installations published while their connector was missing start working now.
    std::unique_lock lock(installations_mutex_);
    for (auto& [id, e] : by_id_) {
        if (e->record.connector != entry->spec.id) {
            continue;
        }
        auto fresh = std::make_shared<installation_entry>(*e);
        fresh->connector = entry;
        fresh->config_json = open_config(entry->spec, e->record.config);
        e = fresh;
        by_key_hash_[fresh->record.key_hash] = fresh;
        if (fresh->record.old_key_hash) {
            by_key_hash_[*fresh->record.old_key_hash] = fresh;
        }
    }
}

void app::apply_catalog(std::vector<catalog_candidate> candidates, catalog_report& report) {
    std::lock_guard change(catalog_change_mutex_);
    std::vector<std::string> broken = report.errors;
    for (const auto& e : report.errors) {
        log::error("manifest refused", {{"reason", e}});
    }

    std::set<std::string> seen;
    for (auto& c : candidates) {
        std::string id = c.spec.id;
        seen.insert(id);
        auto current = connector(id);
        if (current && same_connector(*current, c)) {
            report.unchanged.push_back(id);
            continue;
        }
        if (current) {
            if (auto refusal = upgrade_refusal(*current, c)) {
                log::warn("connector upgrade refused", {{"connector", id}, {"reason", *refusal}});
                report.errors.push_back(*refusal);
                continue;
            }
        }
        try {
            auto entry = load_entry(std::move(c));
            log::info("connector loaded", {{"connector", id},
                                           {"version", entry->spec.version},
                                           {"sdk", entry->library->sdk_version()}});
            swap_in(std::move(entry));
            (current ? report.replaced : report.added).push_back(id);
        } catch (const plugin_error& e) {
            log::error("plugin refused", {{"connector", id}, {"reason", e.what()}});
            report.errors.emplace_back(e.what());
            broken.emplace_back(e.what());
        }
    }

    // Gone from disk: dropped unless installations still use it.
    std::vector<std::string> gone;
    {
        std::shared_lock lock(catalog_mutex_);
        for (const auto& [id, e] : catalog_) {
            if (!seen.count(id)) {
                gone.push_back(id);
            }
        }
    }
    for (const auto& id : gone) {
        bool used = installations_using(id) > 0;
        (used ? report.kept_in_use : report.removed).push_back(id);
        if (!used) {
            std::unique_lock lock(catalog_mutex_);
            catalog_.erase(id);
        }
    }

    std::unique_lock lock(catalog_mutex_);
    catalog_errors_ = std::move(broken);
}

// ---- routes ----------------------------------------------------------------------------------

app::response app::reload_catalog(request& req, const actor& who) {
    catalog_report report;
    std::vector<catalog_candidate> candidates;
    try {
        candidates = scan_catalog(report.errors, false);
    } catch (const std::exception& e) {
        log::error("catalog reload failed", {{"reason", e.what()}});
        return error_response(req, status::service_unavailable, "storage unavailable");
    }
    apply_catalog(std::move(candidates), report);
    auto body = report_json(report);

    auto entry = audit_record(req, who, "catalog.reload", std::nullopt, std::nullopt);
    entry.after = to_json_text(body);
    store_->write_sync<bool>([&](write_txn& txn) {
        txn.insert_audit(entry);
        return true;
    });
    log::info("catalog reloaded", {{"added", static_cast<std::int64_t>(report.added.size())},
                                   {"replaced", static_cast<std::int64_t>(report.replaced.size())},
                                   {"removed", static_cast<std::int64_t>(report.removed.size())},
                                   {"errors", static_cast<std::int64_t>(report.errors.size())}});
    return json_response(req, status::ok, body);
}

app::response app::install_connector(request& req, const actor& who) {
    std::string error;
    auto body = parse_body(req, error);
    if (!body || !body->is_object()) {
        return error_response(req, status::bad_request, body ? "expected a JSON object" : error);
    }
    const auto& o = body->get_object();
    const auto* path = o.if_contains("manifestPath");
    const auto* text = o.if_contains("manifest");
    if ((path == nullptr) == (text == nullptr) || (path && !path->is_string()) ||
        (text && !text->is_string())) {
        return error_response(req, status::bad_request,
                              "give either manifestPath or manifest (the YAML text) as a string");
    }

    // Read and check the manifest; a library named relative to it is looked for beside it.
    catalog_candidate c;
    catalog_addition addition;
    try {
        if (path) {
            fs::path file = fs::absolute(std::string(path->get_string()));
            c.spec = load_manifest(file);
            bool beside = fs::path(c.spec.library).is_relative() &&
                          fs::exists(file.parent_path() / c.spec.library);
            c.plugin_dir = beside ? file.parent_path() : options_.plugin_dir;
            addition.manifest_path = file.string();
        } else {
            c.spec = parse_manifest(text->get_string(), "uploaded manifest");
            c.plugin_dir = options_.plugin_dir;
            addition.manifest_text = std::string(text->get_string());
        }
    } catch (const manifest_error& e) {
        return error_response(req, status::bad_request, e.what());
    }
    addition.connector = c.spec.id;
    addition.plugin_dir = c.plugin_dir.string();

    std::lock_guard change(catalog_change_mutex_);
    auto current = connector(c.spec.id);
    if (current && same_connector(*current, c)) {
        return error_response(
            req, status::conflict,
            "connector '" + c.spec.id + "' " + c.spec.version + " is already in the catalog");
    }
    if (current) {
        if (auto refusal = upgrade_refusal(*current, c)) {
            return error_response(req, status::conflict, *refusal);
        }
    }
    std::shared_ptr<connector_entry> entry;
    try {
        entry = load_entry(std::move(c));
    } catch (const plugin_error& e) {
        log::warn("connector install refused",
                  {{"connector", addition.connector}, {"reason", e.what()}});
        return error_response(req, status::bad_request, e.what());
    }

    // Kept, with its audit entry, so that a restart loads it again; only then is it served.
    auto audit = audit_record(req, who, "connector.install", std::nullopt, entry->spec.id);
    if (current) {
        audit.before = to_json_text(current->spec.to_json());
    }
    audit.after = to_json_text(entry->spec.to_json());
    try {
        store_->write_sync<bool>([&](write_txn& txn) {
            txn.upsert_catalog_addition(addition);
            txn.insert_audit(audit);
            return true;
        });
    } catch (const std::exception& e) {
        log::error("connector install failed", {{"reason", e.what()}});
        return error_response(req, status::service_unavailable, "storage unavailable");
    }
    auto answer = entry->spec.to_json();
    log::info("connector installed", {{"connector", entry->spec.id},
                                      {"version", entry->spec.version},
                                      {"sdk", entry->library->sdk_version()}});
    swap_in(std::move(entry));
    return json_response(req, current ? status::ok : status::created, answer);
}

}  // namespace tributary::host
