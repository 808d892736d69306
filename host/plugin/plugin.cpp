// plugin.cpp: the host API table, and loading and guarding connector libraries.
#include "plugin/plugin.hpp"

#include "util/crypto.hpp"
#include "util/log.hpp"
#include "util/time.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace tributary::host {

namespace {

std::string_view sv(trib_str s) {
    return s.data == nullptr ? std::string_view() : std::string_view(s.data, s.size);
}
trib_str ts(std::string_view s) {
    return trib_str{s.data(), s.size()};
}

// ---- the host API ----------------------------------------------------------------------------

trib_str api_tenant(const trib_call* c) {
    return ts(c->tenant);
}
trib_str api_installation(const trib_call* c) {
    return ts(c->installation);
}
trib_str api_config(const trib_call* c) {
    return ts(c->config_json);
}

void api_log(const trib_call* c, int32_t level, trib_str message, trib_str fields_json) {
    auto l = static_cast<log::level>(std::clamp<int32_t>(level, 0, 3));
    if (!log::enabled(l)) {
        return;
    }
    std::vector<log::field> fields{{"connector", c->connector}};
    if (!c->tenant.empty()) {
        fields.emplace_back("tenant", c->tenant);
    }
    if (!c->installation.empty()) {
        fields.emplace_back("installation", c->installation);
    }
    if (!c->request_id.empty()) {
        fields.emplace_back("request_id", c->request_id);
    }
    boost::system::error_code ec;
    auto extra = boost::json::parse(sv(fields_json), ec);
    if (!ec && extra.is_object()) {
        for (const auto& [k, v] : extra.get_object()) {
            fields.emplace_back(
                k, v.is_string() ? std::string(v.get_string()) : boost::json::serialize(v));
        }
    }
    log::write(l, sv(message), fields.data(), fields.size());
}

int64_t api_now_ms(const trib_call*) {
    return now_ms();
}

void api_set_response(trib_call* c, int32_t status, trib_str content_type, trib_str body) {
    c->responded = true;
    c->status = status;
    c->content_type = sv(content_type);
    c->body = sv(body);
}

void api_set_result(trib_call* c, trib_str json) {
    c->has_result = true;
    c->result = sv(json);
}

void api_set_error(trib_call* c, int32_t code, trib_str message) {
    c->error_code = code;
    c->error_message = sv(message);
}

int32_t api_emit_record_with_hooks(trib_call* c, trib_str record, trib_str hook_answers) {
    if (c->records.size() >= c->max_records) {
        return TRIB_ERR_INVALID_INPUT;
    }
    c->records.push_back({std::string(sv(record)), std::string(sv(hook_answers))});
    return TRIB_OK;
}

int32_t api_emit_record(trib_call* c, trib_str record) {
    return api_emit_record_with_hooks(c, record, ts({}));
}

int32_t api_commit_page(trib_call* c, trib_str checkpoint, trib_str progress) {
    if (c->action == nullptr) {
        return TRIB_ERR_UNSUPPORTED;
    }
    return c->action->commit_page(c->records, sv(checkpoint), sv(progress));
}

trib_str api_checkpoint(const trib_call* c) {
    return c->action == nullptr ? ts({}) : ts(c->action->checkpoint());
}

int32_t api_cancelled(const trib_call* c) {
    return c->action != nullptr && c->action->cancelled() ? 1 : 0;
}

void api_progress(trib_call* c, trib_str progress) {
    if (c->action != nullptr) {
        c->action->progress(sv(progress));
    }
}

int32_t api_sleep_ms(const trib_call* c, uint32_t ms) {
    if (c->action != nullptr) {
        return c->action->sleep_ms(ms) ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<uint32_t>(ms, 1000)));
    return 0;
}

int32_t api_http_fetch(trib_call* c, const trib_fetch_request* request,
                       trib_fetch_response* response) {
    if (c->action == nullptr || request == nullptr || response == nullptr) {
        return TRIB_ERR_UNSUPPORTED;
    }
    return c->action->fetch(*request, *response);
}

const trib_host_api api_table{
    sizeof(trib_host_api),
    TRIBUTARY_ABI_MAJOR,
    TRIBUTARY_ABI_MINOR,
    &api_tenant,
    &api_installation,
    &api_config,
    &api_log,
    &api_now_ms,
    &api_set_response,
    &api_set_result,
    &api_set_error,
    &api_emit_record,
    &api_commit_page,
    &api_checkpoint,
    &api_cancelled,
    &api_progress,
    &api_sleep_ms,
    &api_http_fetch,
    &api_emit_record_with_hooks,
};

// The smallest descriptor this host can use: ABI 1.0's.
constexpr std::size_t min_descriptor_size = offsetof(trib_connector, run_hook) + sizeof(void*);

std::string file_sha256(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    return crypto::sha256_hex(content.str());
}

}  // namespace

const trib_host_api& host_api() {
    return api_table;
}

// ---- loading ---------------------------------------------------------------------------------

std::shared_ptr<plugin> plugin::load(const manifest& m, const std::filesystem::path& plugin_dir) {
    std::filesystem::path file = m.library;
    if (file.is_relative()) {
        file = plugin_dir / file;
    }
    auto fail = [&](const std::string& reason) {
        return plugin_error(file.string() + ": " + reason);
    };

    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
        throw fail("library not found (manifest " + m.file.string() + ")");
    }
    if (m.checksum && file_sha256(file) != *m.checksum) {
        throw fail("SHA-256 checksum does not match the manifest");
    }

    std::shared_ptr<plugin> p(new plugin());
    p->file_ = file;
    try {
        // Local symbols: two connectors may both carry the same inline helpers.
        p->library_.load(file,
                         boost::dll::load_mode::rtld_lazy | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        throw fail(std::string("cannot be loaded: ") + e.what());
    }
    if (!p->library_.has(TRIBUTARY_ENTRY_SYMBOL)) {
        throw fail("missing the entry symbol " TRIBUTARY_ENTRY_SYMBOL);
    }
    auto entry = p->library_.get<const trib_connector*()>(TRIBUTARY_ENTRY_SYMBOL);
    p->descriptor_ = entry();
    if (p->descriptor_ == nullptr) {
        throw fail("the entry symbol returned no descriptor");
    }
    try {
        p->check_descriptor(m);
    } catch (const plugin_error& e) {
        throw fail(e.what());
    }

    if (p->descriptor_->create(&host_api(), &p->instance_) != TRIB_OK || p->instance_ == nullptr) {
        throw fail("the connector failed to create its instance");
    }
    try {
        p->check_capabilities(m);
    } catch (const plugin_error& e) {
        throw fail(e.what());
    }
    return p;
}

void plugin::check_descriptor(const manifest& m) {
    const auto& d = *descriptor_;
    if (d.abi_major != TRIBUTARY_ABI_MAJOR) {
        throw plugin_error("built for ABI " + std::to_string(d.abi_major) + "." +
                           std::to_string(d.abi_minor) + ", this host speaks ABI " +
                           std::to_string(TRIBUTARY_ABI_MAJOR) + "." +
                           std::to_string(TRIBUTARY_ABI_MINOR));
    }
    if (d.abi_minor > TRIBUTARY_ABI_MINOR) {
        throw plugin_error("needs ABI 1." + std::to_string(d.abi_minor) +
                           ", newer than this host's " + std::to_string(TRIBUTARY_ABI_MAJOR) + "." +
                           std::to_string(TRIBUTARY_ABI_MINOR));
    }
    if (d.struct_size < min_descriptor_size) {
        throw plugin_error("descriptor is too small (" + std::to_string(d.struct_size) + " bytes)");
    }
    if (d.create == nullptr || d.destroy == nullptr || d.describe == nullptr ||
        d.handle_webhook == nullptr || d.run_action == nullptr || d.run_hook == nullptr) {
        throw plugin_error("descriptor is missing a function");
    }
    id_ = d.id != nullptr ? d.id : "";
    version_ = d.version != nullptr ? d.version : "";
    sdk_version_ = d.sdk_version != nullptr ? d.sdk_version : "";
    if (id_ != m.id) {
        throw plugin_error("connector id '" + id_ + "' disagrees with manifest id '" + m.id + "'");
    }
    if (version_ != m.version) {
        throw plugin_error("connector version '" + version_ +
                           "' disagrees with manifest version '" + m.version + "'");
    }
    if (m.abi_major != TRIBUTARY_ABI_MAJOR || m.abi_minor > TRIBUTARY_ABI_MINOR) {
        throw plugin_error("manifest needs ABI " + std::to_string(m.abi_major) + "." +
                           std::to_string(m.abi_minor) + ", this host speaks ABI " +
                           std::to_string(TRIBUTARY_ABI_MAJOR) + "." +
                           std::to_string(TRIBUTARY_ABI_MINOR));
    }
}

// The routes, actions and hooks the library registers must be exactly those the manifest names.
void plugin::check_capabilities(const manifest& m) {
    trib_call call;
    call.connector = id_;
    if (descriptor_->describe(instance_, &call) != TRIB_OK || !call.has_result) {
        throw plugin_error("the connector could not describe itself");
    }
    boost::system::error_code ec;
    auto described = boost::json::parse(call.result, ec);
    if (ec || !described.is_object()) {
        throw plugin_error("the connector described itself with invalid JSON");
    }

    auto names = [&](std::string_view key) {
        std::set<std::string> out;
        if (const auto* arr = described.get_object().if_contains(key); arr && arr->is_array()) {
            for (const auto& v : arr->get_array()) {
                if (v.is_string()) {
                    out.emplace(v.get_string());
                }
            }
        }
        return out;
    };
    auto compare = [&](std::string_view what, const std::set<std::string>& declared,
                       const std::set<std::string>& provided) {
        for (const auto& n : declared) {
            if (!provided.count(n)) {
                throw plugin_error("manifest declares " + std::string(what) + " '" + n +
                                   "' that the library does not provide");
            }
        }
        for (const auto& n : provided) {
            if (!declared.count(n)) {
                throw plugin_error("library provides " + std::string(what) + " '" + n +
                                   "' that the manifest does not declare");
            }
        }
    };

    std::set<std::string> routes;
    for (const auto& w : m.webhooks) {
        routes.insert(w.route);
    }
    std::set<std::string> actions;
    for (const auto& a : m.actions) {
        actions.insert(a.id);
    }
    std::set<std::string> hooks(m.hooks.begin(), m.hooks.end());
    compare("webhook route", routes, names("webhooks"));
    compare("action", actions, names("actions"));
    compare("hook", hooks, names("hooks"));
}

plugin::~plugin() {
    if (instance_ != nullptr && descriptor_ != nullptr) {
        descriptor_->destroy(instance_);
    }
}

// ---- guarded calls ---------------------------------------------------------------------------

namespace {

template <class F>
int32_t guard(trib_call& call, F&& f) {
    try {
        return f();
    } catch (const std::exception& e) {
        call.error_code = TRIB_ERR_INTERNAL;
        call.error_message = std::string("exception escaped the connector: ") + e.what();
    } catch (...) {
        call.error_code = TRIB_ERR_INTERNAL;
        call.error_message = "unknown exception escaped the connector";
    }
    return TRIB_ERR_INTERNAL;
}

}  // namespace

int32_t plugin::webhook(trib_call& call, std::string_view route, const trib_http_request& request) {
    return guard(
        call, [&] { return descriptor_->handle_webhook(instance_, &call, ts(route), &request); });
}

int32_t plugin::action(trib_call& call, std::string_view action, std::string_view params_json) {
    return guard(call, [&] {
        return descriptor_->run_action(instance_, &call, ts(action), ts(params_json));
    });
}

int32_t plugin::hook(trib_call& call, std::string_view hook, std::string_view input_json) {
    return guard(call,
                 [&] { return descriptor_->run_hook(instance_, &call, ts(hook), ts(input_json)); });
}

}  // namespace tributary::host
