// testing.hpp: an in-memory fake host for unit tests of connectors, driving them over the C ABI.
#pragma once

/*
 * A connector's tests need a host: config, a clock, outbound HTTP, somewhere to store records.
 * fake_host implements trib_host_api in memory, and driver calls a connector through its
 * descriptor table exactly as the real host does, so the tests also exercise the C boundary.
 *
 *     #include <tributary/testing.hpp>
 *     namespace tt = tributary::testing;
 *
 *     tt::fake_host host;
 *     host.set_config({{"projectId", "5f1e2d3c4b5a697887766554"}, {"apiKey", "k"}});
 *     host.script_fetch({200, {}, R"({"data":[],"page":{"hasNextPage":false}})"});
 *
 *     tt::driver plugin(tt::descriptor_of<my_connector>(), host);   // or any entry's descriptor
 *     auto run = plugin.action("pull-historical-nps");
 *     // run.status, run.error, host.commits(), host.requests(), host.logs(), host.sleeps() ...
 *
 * Nothing here sleeps, touches the network or reads the wall clock: the clock is virtual, a
 * sleep advances it and returns at once, and fetches answer from a script. One fake_host serves
 * one call at a time; it is not thread-safe.
 */

#include <tributary/abi.h>
#include <tributary/connector.hpp>
#include <tributary/json.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tributary::testing {

namespace bj = boost::json;

using header_list = std::vector<std::pair<std::string, std::string>>;

// The first header of that name, compared without case.
inline std::optional<std::string_view> find_header(const header_list& headers,
                                                   std::string_view name) {
    for (const auto& [n, v] : headers) {
        if (iequals(n, name)) {
            return v;
        }
    }
    return std::nullopt;
}

// A scripted answer to one outbound fetch. Status 0 is a transport failure: http_fetch then
// returns TRIB_ERR_REMOTE with transport_error as the reason, as the real host does.
struct fetch_reply {
    int status = 200;
    header_list headers;
    std::string body;
    std::string transport_error;

    static fetch_reply ok(std::string body) { return {200, {}, std::move(body), {}}; }
    static fetch_reply transport_failure(std::string reason) {
        return {0, {}, {}, std::move(reason)};
    }
};

// An outbound request as the connector made it.
struct seen_request {
    std::string method;
    std::string url;
    header_list headers;
    std::string body;
    std::uint32_t timeout_ms = 0;

    std::optional<std::string_view> header(std::string_view name) const {
        return find_header(headers, name);
    }
};

// One commit_page: the checkpoint, the progress, and the records emitted since the last commit.
struct commit {
    bj::value checkpoint;
    bj::value progress;
    std::vector<bj::value> records;
    std::vector<bj::value> hook_answers;  // parallel to records, as in call_result
};

struct log_line {
    trib_log_level level = TRIB_LOG_INFO;
    std::string message;
    std::string fields_json;  // as the connector sent it; "" when it sent no fields
};

// What one call into the connector produced.
struct call_result {
    trib_status status = TRIB_OK;  // what the plugin function returned
    std::string error;             // set_error's reason, "" when none was set
    int http_status = 0;           // set_response: a webhook's answer
    std::string content_type;
    std::string body;
    std::string result;              // set_result: a hook's or describe's answer
    std::vector<bj::value> records;  // emitted during the call
    // For each record, the answers of the connector's record hooks sent with it (an object from
    // hook id to answer), or null when it was sent without.
    std::vector<bj::value> hook_answers;

    // The webhook answer's body, or else the result, parsed; null when it is not JSON.
    bj::value json() const {
        auto parsed = tributary::json::parse(body.empty() ? result : body);
        return parsed ? std::move(*parsed) : bj::value();
    }
};

// The host's side of the ABI, in memory. Set it up, run calls through a driver, then inspect.
class fake_host {
public:
    fake_host() = default;
    fake_host(const fake_host&) = delete;
    fake_host& operator=(const fake_host&) = delete;

    // ---- setting up ----

    void set_config(const bj::object& config) { config_ = bj::serialize(config); }
    void set_config_json(std::string text) { config_ = std::move(text); }
    void set_tenant(std::string tenant, std::string installation) {
        tenant_ = std::move(tenant);
        installation_ = std::move(installation);
    }

    // The virtual clock; it starts at 2024-04-01T00:00:00Z and moves only by sleeps and this.
    void set_now(std::chrono::system_clock::time_point at) {
        now_ms_ =
            std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
    }
    void set_now_ms(std::int64_t ms) { now_ms_ = ms; }

    // As if an earlier run of the job had committed this checkpoint.
    void set_checkpoint(const bj::value& checkpoint) { checkpoint_ = bj::serialize(checkpoint); }

    // Fetches take their answers from this queue in order. With the queue empty, the responder
    // answers if one is set; otherwise the fetch fails as a transport failure.
    void script_fetch(fetch_reply reply) { script_.push_back(std::move(reply)); }
    void set_responder(std::function<fetch_reply(const seen_request&)> responder) {
        responder_ = std::move(responder);
    }

    // Cancellation: at once, once n pages are committed, or during the n-th sleep.
    void cancel() { cancelled_ = true; }
    void cancel_after_commits(std::size_t n) { cancel_after_commits_ = n; }
    void cancel_during_sleep(std::size_t n) { cancel_during_sleep_ = n; }

    // Makes emit_record or commit_page fail, as a host whose storage is down does.
    void fail_emits(trib_status status) { emit_status_ = status; }
    void fail_commits(trib_status status) { commit_status_ = status; }

    // Offers only ABI 1.0's services, as an older host does: no emit_record_with_hooks.
    void speak_abi_1_0() {
        api_.abi_minor = 0;
        api_.struct_size = offsetof(trib_host_api, emit_record_with_hooks);
        api_.emit_record_with_hooks = nullptr;
    }

    // ---- inspecting ----

    const std::vector<bj::value>& emitted() const { return emitted_; }
    // Parallel to emitted(): the hook answers sent with each record, null when none were.
    const std::vector<bj::value>& emitted_hook_answers() const { return emitted_answers_; }
    const std::vector<commit>& commits() const { return commits_; }
    const std::vector<seen_request>& requests() const { return requests_; }
    const std::vector<log_line>& logs() const { return logs_; }
    const std::vector<std::chrono::milliseconds>& sleeps() const { return sleeps_; }
    const std::vector<bj::value>& progress_updates() const { return progress_updates_; }
    std::size_t unused_replies() const { return script_.size(); }
    std::int64_t now_ms() const { return now_ms_; }
    bool cancelled() const { return cancelled_; }

    // The current checkpoint, null when none was committed or set.
    bj::value checkpoint() const {
        auto parsed = tributary::json::parse(checkpoint_);
        return parsed ? std::move(*parsed) : bj::value();
    }

    // Whether text occurs in any log line or in the last call's error: for "never logs X" tests.
    bool mentions(std::string_view text) const {
        for (const auto& line : logs_) {
            if (line.message.find(text) != std::string::npos ||
                line.fields_json.find(text) != std::string::npos) {
                return true;
            }
        }
        return call_.error.find(text) != std::string::npos;
    }

    // ---- what a driver uses ----

    const trib_host_api* api() const { return &api_; }
    trib_call* call() { return reinterpret_cast<trib_call*>(this); }

    // Starts a call: forgets what the previous call answered.
    void begin_call() {
        call_ = call_result{};
        first_record_of_call_ = emitted_.size();
    }

    // Ends a call that returned status, and tells what it produced.
    call_result end_call(int32_t status) {
        call_.status = static_cast<trib_status>(status);
        auto first = static_cast<std::ptrdiff_t>(first_record_of_call_);
        call_.records.assign(emitted_.begin() + first, emitted_.end());
        call_.hook_answers.assign(emitted_answers_.begin() + first, emitted_answers_.end());
        return call_;
    }

private:
    static fake_host& self(const trib_call* call) {
        return *reinterpret_cast<fake_host*>(const_cast<trib_call*>(call));
    }

    static trib_str tenant_id(const trib_call* c) { return str(self(c).tenant_); }
    static trib_str installation_id(const trib_call* c) { return str(self(c).installation_); }
    static trib_str config_json(const trib_call* c) { return str(self(c).config_); }
    static int64_t now(const trib_call* c) { return self(c).now_ms_; }
    static trib_str checkpoint_json(const trib_call* c) { return str(self(c).checkpoint_); }

    static void log(const trib_call* c, int32_t level, trib_str message, trib_str fields) {
        self(c).logs_.push_back({static_cast<trib_log_level>(level), std::string(view(message)),
                                 std::string(view(fields))});
    }

    static void set_response(trib_call* c, int32_t status, trib_str type, trib_str body) {
        auto& out = self(c).call_;
        out.http_status = status;
        out.content_type = std::string(view(type));
        out.body = std::string(view(body));
    }

    static void set_result(trib_call* c, trib_str json) {
        self(c).call_.result = std::string(view(json));
    }

    static void set_error(trib_call* c, int32_t, trib_str message) {
        self(c).call_.error = std::string(view(message));
    }

    static int32_t emit_record(trib_call* c, trib_str record) {
        return self(c).store_emitted(view(record), bj::value());
    }

    // As the host: no answers ("") is a plain record; answers that are not an object are refused
    // here, where the host fails the delivery when it rates the record.
    static int32_t emit_record_with_hooks(trib_call* c, trib_str record, trib_str answers) {
        if (view(answers).empty()) {
            return emit_record(c, record);
        }
        auto parsed = tributary::json::parse(view(answers));
        if (!parsed || !parsed->is_object()) {
            return TRIB_ERR_INVALID_INPUT;
        }
        return self(c).store_emitted(view(record), std::move(*parsed));
    }

    int32_t store_emitted(std::string_view record, bj::value answers) {
        auto parsed = tributary::json::parse(record);
        if (!parsed || !parsed->is_object()) {
            return TRIB_ERR_INVALID_INPUT;
        }
        if (emit_status_ != TRIB_OK) {
            return emit_status_;
        }
        emitted_.push_back(std::move(*parsed));
        emitted_answers_.push_back(std::move(answers));
        return TRIB_OK;
    }

    static int32_t commit_page(trib_call* c, trib_str checkpoint, trib_str progress) {
        auto& host = self(c);
        auto saved = tributary::json::parse(view(checkpoint));
        auto shown = tributary::json::parse(view(progress));
        if (!saved || !shown) {
            return TRIB_ERR_INVALID_INPUT;
        }
        if (host.commit_status_ != TRIB_OK) {
            return host.commit_status_;
        }
        auto first = static_cast<std::ptrdiff_t>(host.committed_records_);
        host.commits_.push_back(
            {std::move(*saved),
             std::move(*shown),
             {host.emitted_.begin() + first, host.emitted_.end()},
             {host.emitted_answers_.begin() + first, host.emitted_answers_.end()}});
        host.committed_records_ = host.emitted_.size();
        host.checkpoint_ = std::string(view(checkpoint));
        if (host.cancel_after_commits_ && host.commits_.size() >= *host.cancel_after_commits_) {
            host.cancelled_ = true;
        }
        return TRIB_OK;
    }

    static int32_t is_cancelled(const trib_call* c) { return self(c).cancelled_ ? 1 : 0; }

    static void progress(trib_call* c, trib_str fields) {
        auto parsed = tributary::json::parse(view(fields));
        self(c).progress_updates_.push_back(parsed ? std::move(*parsed) : bj::value());
    }

    static int32_t sleep_ms(const trib_call* c, uint32_t ms) {
        auto& host = self(c);
        host.sleeps_.emplace_back(ms);
        host.now_ms_ += ms;
        if (host.cancel_during_sleep_ && host.sleeps_.size() >= *host.cancel_during_sleep_) {
            host.cancelled_ = true;
        }
        return host.cancelled_ ? 1 : 0;
    }

    static int32_t http_fetch(trib_call* c, const trib_fetch_request* request,
                              trib_fetch_response* response) {
        auto& host = self(c);
        host.requests_.push_back(copy_request(*request));
        host.reply_ = host.next_reply(host.requests_.back());

        host.reply_headers_.clear();
        for (const auto& [name, value] : host.reply_.headers) {
            host.reply_headers_.push_back({str(name), str(value)});
        }
        bool failed = host.reply_.status == 0;
        response->status = host.reply_.status;
        response->headers = host.reply_headers_.data();
        response->header_count = host.reply_headers_.size();
        response->body = str(failed ? host.reply_.transport_error : host.reply_.body);
        return failed ? TRIB_ERR_REMOTE : TRIB_OK;
    }

    static seen_request copy_request(const trib_fetch_request& raw) {
        seen_request out{std::string(view(raw.method)),
                         std::string(view(raw.url)),
                         {},
                         std::string(view(raw.body)),
                         raw.timeout_ms};
        for (std::size_t i = 0; i < raw.header_count; ++i) {
            out.headers.emplace_back(view(raw.headers[i].name), view(raw.headers[i].value));
        }
        return out;
    }

    fetch_reply next_reply(const seen_request& request) {
        if (!script_.empty()) {
            fetch_reply next = std::move(script_.front());
            script_.pop_front();
            return next;
        }
        if (responder_) {
            return responder_(request);
        }
        return fetch_reply::transport_failure("the fake host has no scripted reply left");
    }

    trib_host_api api_{sizeof(trib_host_api),
                       TRIBUTARY_ABI_MAJOR,
                       TRIBUTARY_ABI_MINOR,
                       &tenant_id,
                       &installation_id,
                       &config_json,
                       &log,
                       &now,
                       &set_response,
                       &set_result,
                       &set_error,
                       &emit_record,
                       &commit_page,
                       &checkpoint_json,
                       &is_cancelled,
                       &progress,
                       &sleep_ms,
                       &http_fetch,
                       &emit_record_with_hooks};

    std::string tenant_ = "tenant-test";
    std::string installation_ = "installation-test";
    std::string config_ = "{}";
    std::int64_t now_ms_ = 1'711'929'600'000;  // 2024-04-01T00:00:00Z
    std::string checkpoint_;

    std::deque<fetch_reply> script_;
    std::function<fetch_reply(const seen_request&)> responder_;
    fetch_reply reply_;  // the last answer; the ABI keeps it valid until the next fetch
    std::vector<trib_header> reply_headers_;

    bool cancelled_ = false;
    std::optional<std::size_t> cancel_after_commits_;
    std::optional<std::size_t> cancel_during_sleep_;
    trib_status emit_status_ = TRIB_OK;
    trib_status commit_status_ = TRIB_OK;

    std::vector<bj::value> emitted_;
    std::vector<bj::value> emitted_answers_;
    std::size_t committed_records_ = 0;
    std::size_t first_record_of_call_ = 0;
    std::vector<commit> commits_;
    std::vector<seen_request> requests_;
    std::vector<log_line> logs_;
    std::vector<std::chrono::milliseconds> sleeps_;
    std::vector<bj::value> progress_updates_;
    call_result call_;
};

// The descriptor of a connector class compiled into the test, as TRIBUTARY_CONNECTOR exports it.
template <class Connector>
const trib_connector* descriptor_of(const char* id = "test", const char* version = "0.0.0") {
    return detail::shim<Connector>::descriptor(id, version);
}

// Calls a connector through its descriptor table, as the host does, with a fake_host behind it.
class driver {
public:
    // Creates one instance of the connector; throws std::runtime_error when that fails.
    driver(const trib_connector* descriptor, fake_host& host) : d_(*descriptor), host_(host) {
        if (d_.abi_major != TRIBUTARY_ABI_MAJOR) {
            throw std::runtime_error("the connector was built for another ABI major version");
        }
        if (d_.create(host_.api(), &instance_) != TRIB_OK) {
            throw std::runtime_error("the connector's create() failed");
        }
    }
    ~driver() { d_.destroy(instance_); }
    driver(const driver&) = delete;
    driver& operator=(const driver&) = delete;

    const trib_connector& descriptor() const { return d_; }

    call_result describe() {
        host_.begin_call();
        return host_.end_call(d_.describe(instance_, host_.call()));
    }

    // A POST to the connector's webhook route ("" is the default route).
    call_result webhook(std::string_view body, std::string_view route = "",
                        const header_list& headers = {{"Content-Type", "application/json"}},
                        std::string_view method = "POST") {
        std::vector<trib_header> raw_headers;
        for (const auto& [name, value] : headers) {
            raw_headers.push_back({str(name), str(value)});
        }
        trib_http_request request{
            sizeof(trib_http_request), str(method),        str(route), str(""),
            raw_headers.data(),        raw_headers.size(), str(body)};
        host_.begin_call();
        return host_.end_call(d_.handle_webhook(instance_, host_.call(), str(route), &request));
    }

    call_result action(std::string_view id, const bj::object& params = {}) {
        return action_json(id, bj::serialize(params));
    }

    call_result action_json(std::string_view id, const std::string& params_json) {
        host_.begin_call();
        return host_.end_call(d_.run_action(instance_, host_.call(), str(id), str(params_json)));
    }

    call_result hook(std::string_view id, const bj::value& input) {
        return hook_json(id, bj::serialize(input));
    }

    call_result hook_json(std::string_view id, const std::string& input_json) {
        host_.begin_call();
        return host_.end_call(d_.run_hook(instance_, host_.call(), str(id), str(input_json)));
    }

private:
    const trib_connector& d_;
    fake_host& host_;
    void* instance_ = nullptr;
};

}  // namespace tributary::testing
