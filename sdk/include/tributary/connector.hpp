// connector.hpp: the header-only C++ layer a connector author writes against.
#pragma once

#include <tributary/abi.h>
#include <tributary/json.hpp>
#include <tributary/version.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tributary {

namespace bj = boost::json;

inline std::string_view view(trib_str s) {
    return s.data == nullptr ? std::string_view() : std::string_view(s.data, s.size);
}
inline trib_str str(std::string_view s) {
    return trib_str{s.data(), s.size()};
}

// Thrown by a handler to fail its call with a status and a one-line reason.
class error : public std::runtime_error {
public:
    error(trib_status code, const std::string& message)
        : std::runtime_error(message), code_(code) {}
    trib_status code() const { return code_; }

private:
    trib_status code_;
};

inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z') {
            x = static_cast<char>(x - 'A' + 'a');
        }
        if (y >= 'A' && y <= 'Z') {
            y = static_cast<char>(y - 'A' + 'a');
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

// A read-only view of the webhook request the host received.
class webhook_request {
public:
    explicit webhook_request(const trib_http_request& raw) : raw_(raw) {}

    std::string_view method() const { return view(raw_.method); }
    std::string_view path() const { return view(raw_.path); }
    std::string_view query() const { return view(raw_.query); }
    std::string_view body() const { return view(raw_.body); }
    std::span<const trib_header> headers() const { return {raw_.headers, raw_.header_count}; }

    // The first header of that name, compared without case.
    std::optional<std::string_view> header(std::string_view name) const {
        for (const auto& h : headers()) {
            if (iequals(view(h.name), name)) {
                return view(h.value);
            }
        }
        return std::nullopt;
    }

private:
    const trib_http_request& raw_;
};

struct webhook_response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;

    // 400 with a one-line reason, as {"error": reason}.
    static webhook_response bad_request(std::string_view reason) {
        return {400, "application/json", bj::serialize(bj::object{{"error", reason}})};
    }

    // 401 with a one-line reason, as {"error": reason}: a missing or wrong signature.
    static webhook_response unauthorized(std::string_view reason) {
        return {401, "application/json", bj::serialize(bj::object{{"error", reason}})};
    }
};

struct fetch_request {
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::milliseconds timeout{0};
};

struct fetch_response {
    int status = 0;  // 0: the transport failed, transport_error says why
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string transport_error;

    std::optional<std::string_view> header(std::string_view name) const {
        for (const auto& [n, v] : headers) {
            if (iequals(n, name)) {
                return v;
            }
        }
        return std::nullopt;
    }
};

class connector;

// The ABI minor a connector built with this layer needs: it calls a host service newer than ABI
// 1.0 only once the host's table shows it, so hosts of ABI 1.0 load it too.
inline constexpr std::uint32_t needed_abi_minor = 0;

// What every call into a connector carries: the installation and the host's services.
class context {
public:
    // owner: the connector whose record hooks emit() asks; in_hook: the call is a hook's, which
    // cannot emit records.
    context(const trib_host_api* host, trib_call* call, const connector* owner = nullptr,
            bool in_hook = false)
        : host_(host), call_(call), owner_(owner), in_hook_(in_hook) {}

    std::string_view tenant_id() const { return view(host_->tenant_id(call_)); }
    std::string_view installation_id() const { return view(host_->installation_id(call_)); }

    // The installation's configuration, secrets included; an empty object when unset.
    const bj::object& config() const {
        if (!config_) {
            auto parsed = json::parse(view(host_->config_json(call_)));
            config_ = (parsed && parsed->is_object()) ? parsed->get_object() : bj::object{};
        }
        return *config_;
    }

    std::optional<std::string> config_string(std::string_view key) const {
        auto it = config().find(key);
        if (it == config().end() || !it->value().is_string()) {
            return std::nullopt;
        }
        return std::string(it->value().get_string());
    }

    // One log line with the installation's context added by the host. Never pass secrets or
    // personal data in message or fields.
    void log(trib_log_level level, std::string_view message, const bj::object& fields = {}) const {
        std::string f = fields.empty() ? std::string() : bj::serialize(fields);
        host_->log(call_, level, str(message), str(f));
    }
    void debug(std::string_view m, const bj::object& f = {}) const { log(TRIB_LOG_DEBUG, m, f); }
    void info(std::string_view m, const bj::object& f = {}) const { log(TRIB_LOG_INFO, m, f); }
    void warn(std::string_view m, const bj::object& f = {}) const { log(TRIB_LOG_WARN, m, f); }
    void error(std::string_view m, const bj::object& f = {}) const { log(TRIB_LOG_ERROR, m, f); }

    std::chrono::system_clock::time_point now() const {
        return std::chrono::system_clock::time_point(
            std::chrono::milliseconds(host_->now_ms(call_)));
    }

    // Hands a normalised record to the host for storing (see docs/sdk.md for its fields). The
    // connector's record hooks (nps-rollup) answer for it here, and the answers go with it, so
    // that the host need not call them with the record again.
    void emit(const bj::value& record);

protected:
    const trib_host_api* host_;
    trib_call* call_;

private:
    std::string record_hook_answers(const bj::value& record) const;

    const connector* owner_;
    bool in_hook_;
    mutable std::optional<bj::object> config_;
};

// The context of an action run as a host-managed job.
class action_context : public context {
public:
    using context::context;

    bool cancelled() const { return host_->cancelled(call_) != 0; }

    // Waits, waking early on cancellation; false when the job was cancelled.
    bool sleep_for(std::chrono::milliseconds ms) const {
        auto capped = std::min<std::int64_t>(ms.count(), UINT32_MAX);
        return host_->sleep_ms(call_,
                               static_cast<std::uint32_t>(std::max<std::int64_t>(capped, 0))) == 0;
    }

    // The checkpoint of the last committed page, nullopt when the job starts fresh.
    std::optional<bj::value> checkpoint() const {
        auto text = view(host_->checkpoint(call_));
        if (text.empty()) {
            return std::nullopt;
        }
        return json::parse(text);
    }

    // Stores the records emitted since the last commit together with the checkpoint, atomically.
    void commit_page(const bj::value& checkpoint, const bj::object& progress) {
        std::string c = bj::serialize(checkpoint);
        std::string p = bj::serialize(progress);
        auto rc = static_cast<trib_status>(host_->commit_page(call_, str(c), str(p)));
        if (rc != TRIB_OK) {
            throw tributary::error(rc, "the host could not commit the page");
        }
    }

    void progress(const bj::object& fields) {
        std::string p = bj::serialize(fields);
        host_->progress(call_, str(p));
    }

    fetch_response fetch(const fetch_request& request) const {
        std::vector<trib_header> headers;
        headers.reserve(request.headers.size());
        for (const auto& [n, v] : request.headers) {
            headers.push_back({str(n), str(v)});
        }
        trib_fetch_request raw{sizeof(trib_fetch_request),
                               str(request.method),
                               str(request.url),
                               headers.data(),
                               headers.size(),
                               str(request.body),
                               static_cast<std::uint32_t>(request.timeout.count())};
        trib_fetch_response answer{};
        answer.struct_size = sizeof(trib_fetch_response);
        auto rc = host_->http_fetch(call_, &raw, &answer);

        fetch_response out;
        out.status = answer.status;
        for (std::size_t i = 0; i < answer.header_count; ++i) {
            out.headers.emplace_back(view(answer.headers[i].name), view(answer.headers[i].value));
        }
        if (rc == TRIB_OK) {
            out.body = std::string(view(answer.body));
        } else {
            out.status = 0;
            out.transport_error = std::string(view(answer.body));
        }
        return out;
    }
};

// Base class of a connector: register routes, actions and hooks in the constructor.
class connector {
public:
    using webhook_handler = std::function<webhook_response(context&, const webhook_request&)>;
    using action_handler = std::function<void(action_context&, const bj::object& params)>;
    using hook_handler = std::function<bj::value(context&, const bj::value& input)>;

    virtual ~connector() = default;

    const webhook_handler* find_webhook(std::string_view route) const {
        return find_in(webhooks_, route);
    }
    const action_handler* find_action(std::string_view id) const { return find_in(actions_, id); }
    const hook_handler* find_hook(std::string_view id) const { return find_in(hooks_, id); }

    bj::object describe() const {
        return {
            {"webhooks", names(webhooks_)}, {"actions", names(actions_)}, {"hooks", names(hooks_)}};
    }

    // The hooks the host asks about each stored record.
    static constexpr std::string_view record_hooks[] = {"nps-rollup"};

protected:
    // route "" is the default route, /hooks/<connector>/<key>.
    void webhook(std::string route, webhook_handler h) {
        webhooks_[std::move(route)] = std::move(h);
    }
    void action(std::string id, action_handler h) { actions_[std::move(id)] = std::move(h); }
    void hook(std::string id, hook_handler h) { hooks_[std::move(id)] = std::move(h); }

private:
    template <class Map>
    static const typename Map::mapped_type* find_in(const Map& map, std::string_view key) {
        auto it = map.find(key);
        return it == map.end() ? nullptr : &it->second;
    }
    template <class Map>
    static bj::array names(const Map& map) {
        bj::array out;
        for (const auto& entry : map) {
            out.emplace_back(entry.first);
        }
        return out;
    }

    std::map<std::string, webhook_handler, std::less<>> webhooks_;
    std::map<std::string, action_handler, std::less<>> actions_;
    std::map<std::string, hook_handler, std::less<>> hooks_;
};

// Whether the host takes records with hook answers: ABI 1.1 on, by its table's minor and size.
inline bool offers_hook_answers(const trib_host_api& host) {
    return host.abi_minor >= 1 &&
           host.struct_size >= offsetof(trib_host_api, emit_record_with_hooks) + sizeof(void*) &&
           host.emit_record_with_hooks != nullptr;
}

// Whether v reads back the same from its JSON text, as the host and a hook it calls read it: an
// unsigned integer that fits a signed one reads back signed, a double that is not finite as
// something else, and some finite doubles as a neighbour. A hook asked about a record that does
// not is left to the host to call.
inline bool reads_back_the_same(const bj::value& v, int depth = 0) {
    if (depth > 64) {
        return false;
    }
    switch (v.kind()) {
        case bj::kind::uint64:
            return v.get_uint64() > static_cast<std::uint64_t>(INT64_MAX);
        case bj::kind::double_: {
            // Boost.JSON's default parser rounds some doubles to a neighbour.
            boost::system::error_code ec;
            auto back = bj::parse(bj::serialize(v), ec);
            return !ec && back.is_double() && back.get_double() == v.get_double();
        }
        case bj::kind::array:
            for (const auto& e : v.get_array()) {
                if (!reads_back_the_same(e, depth + 1)) {
                    return false;
                }
            }
            return true;
        case bj::kind::object:
            for (const auto& kv : v.get_object()) {
                if (!reads_back_the_same(kv.value(), depth + 1)) {
                    return false;
                }
            }
            return true;
        default:
            return true;
    }
}

// What the connector's record hooks answer for one record, as a JSON object from hook id to
// answer; "" when it registers none, or when the record would read back otherwise. A hook that
// throws is left out: the host then calls it with the record and reports its failure as it
// always did.
inline std::string context::record_hook_answers(const bj::value& record) const {
    bool any = std::any_of(std::begin(connector::record_hooks), std::end(connector::record_hooks),
                           [&](std::string_view id) { return owner_->find_hook(id) != nullptr; });
    if (!any || !reads_back_the_same(record)) {
        return {};
    }
    context hook_ctx(host_, call_, nullptr, true);
    bj::object answers;
    for (std::string_view id : connector::record_hooks) {
        const auto* handler = owner_->find_hook(id);
        if (handler == nullptr) {
            continue;
        }
        bj::value answer;
        try {
            answer = (*handler)(hook_ctx, record);
        } catch (...) {
            continue;
        }
        answers[id] = std::move(answer);
    }
    return answers.empty() ? std::string() : bj::serialize(answers);
}

inline void context::emit(const bj::value& record) {
    if (in_hook_) {
        throw tributary::error(TRIB_ERR_INTERNAL, "a hook cannot emit records");
    }
    std::string text = bj::serialize(record);
    std::string answers;
    if (owner_ != nullptr && offers_hook_answers(*host_)) {
        answers = record_hook_answers(record);
    }
    auto rc = static_cast<trib_status>(
        answers.empty() ? host_->emit_record(call_, str(text))
                        : host_->emit_record_with_hooks(call_, str(text), str(answers)));
    if (rc != TRIB_OK) {
        throw tributary::error(rc, "the host refused a record");
    }
}

namespace detail {

struct instance {
    const trib_host_api* host;
    std::unique_ptr<connector> impl;
};

// Runs f and turns anything it throws into a status and a reason for the host.
template <class F>
int32_t guarded(const trib_host_api* host, trib_call* call, F&& f) noexcept {
    try {
        return f();
    } catch (const tributary::error& e) {
        host->set_error(call, e.code(), str(e.what()));
        return e.code();
    } catch (const std::exception& e) {
        host->set_error(call, TRIB_ERR_INTERNAL, str(e.what()));
        return TRIB_ERR_INTERNAL;
    } catch (...) {
        host->set_error(call, TRIB_ERR_INTERNAL, str("unknown exception"));
        return TRIB_ERR_INTERNAL;
    }
}

template <class T>
struct shim {
    static int32_t create(const trib_host_api* host, void** out) noexcept {
        try {
            *out = new instance{host, std::make_unique<T>()};
            return TRIB_OK;
        } catch (...) {
            return TRIB_ERR_INTERNAL;
        }
    }

    static void destroy(void* p) noexcept { delete static_cast<instance*>(p); }

    static int32_t describe(void* p, trib_call* call) noexcept {
        auto* self = static_cast<instance*>(p);
        return guarded(self->host, call, [&] {
            std::string text = bj::serialize(self->impl->describe());
            self->host->set_result(call, str(text));
            return TRIB_OK;
        });
    }

    static int32_t handle_webhook(void* p, trib_call* call, trib_str route,
                                  const trib_http_request* request) noexcept {
        auto* self = static_cast<instance*>(p);
        return guarded(self->host, call, [&]() -> int32_t {
            const auto* handler = self->impl->find_webhook(view(route));
            if (handler == nullptr) {
                throw tributary::error(TRIB_ERR_NOT_FOUND, "no such webhook route");
            }
            context ctx(self->host, call, self->impl.get());
            webhook_response answer = (*handler)(ctx, webhook_request(*request));
            self->host->set_response(call, answer.status, str(answer.content_type),
                                     str(answer.body));
            return TRIB_OK;
        });
    }

    static int32_t run_action(void* p, trib_call* call, trib_str action,
                              trib_str params_json) noexcept {
        auto* self = static_cast<instance*>(p);
        return guarded(self->host, call, [&]() -> int32_t {
            const auto* handler = self->impl->find_action(view(action));
            if (handler == nullptr) {
                throw tributary::error(TRIB_ERR_NOT_FOUND, "no such action");
            }
            auto parsed = json::parse(view(params_json));
            bj::object params =
                (parsed && parsed->is_object()) ? parsed->get_object() : bj::object{};
            action_context ctx(self->host, call, self->impl.get());
            (*handler)(ctx, params);
            return TRIB_OK;
        });
    }

    static int32_t run_hook(void* p, trib_call* call, trib_str hook, trib_str input_json) noexcept {
        auto* self = static_cast<instance*>(p);
        return guarded(self->host, call, [&]() -> int32_t {
            const auto* handler = self->impl->find_hook(view(hook));
            if (handler == nullptr) {
                throw tributary::error(TRIB_ERR_NOT_FOUND, "no such hook");
            }
            auto input = json::parse(view(input_json));
            if (!input) {
                throw tributary::error(TRIB_ERR_INVALID_INPUT, "hook input is not JSON");
            }
            context ctx(self->host, call, nullptr, true);
            std::string text = bj::serialize((*handler)(ctx, *input));
            self->host->set_result(call, str(text));
            return TRIB_OK;
        });
    }

    static const trib_connector* descriptor(const char* id, const char* version) noexcept {
        static const trib_connector d{TRIBUTARY_ABI_MAJOR,
                                      needed_abi_minor,
                                      sizeof(trib_connector),
                                      TRIBUTARY_SDK_VERSION,
                                      id,
                                      version,
                                      &create,
                                      &destroy,
                                      &describe,
                                      &handle_webhook,
                                      &run_action,
                                      &run_hook};
        return &d;
    }
};

}  // namespace detail
}  // namespace tributary

// Exports the entry symbol for connector class `type`. Use once, in one source file.
#define TRIBUTARY_CONNECTOR(type, id, version)                                          \
    extern "C" TRIBUTARY_EXPORT const trib_connector* tributary_connector_entry(void) { \
        return ::tributary::detail::shim<type>::descriptor(id, version);                \
    }
