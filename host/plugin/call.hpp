// call.hpp: the host-side state of one call into a plugin, seen by the plugin as trib_call.
#pragma once

#include <tributary/abi.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::host {

// A record as a plugin emitted it, with the answers its record hooks sent along (ABI 1.1), a JSON
// object from hook id to answer, or "" when none were sent.
struct emitted_record {
    std::string json;
    std::string hook_answers;
};

// What a job offers a plugin's action through the host API; implemented by the job runner.
class action_services {
public:
    virtual ~action_services() = default;
    virtual int32_t commit_page(std::vector<emitted_record>& records, std::string_view checkpoint,
                                std::string_view progress) = 0;
    virtual std::string_view checkpoint() const = 0;
    virtual bool cancelled() const = 0;
    virtual void progress(std::string_view progress_json) = 0;
    virtual bool sleep_ms(std::uint32_t ms) = 0;  // false when cancelled
    virtual int32_t fetch(const trib_fetch_request& request, trib_fetch_response& response) = 0;
};

}  // namespace tributary::host

// Global, to match the C declaration in abi.h.
struct trib_call {
    std::string_view connector;
    std::string_view tenant;
    std::string_view installation;
    std::string config_json;
    std::string_view request_id;

    // Webhook answer.
    bool responded = false;
    int32_t status = 0;
    std::string content_type;
    std::string body;

    // Hook and describe result.
    bool has_result = false;
    std::string result;

    // Failure reason.
    int32_t error_code = TRIB_OK;
    std::string error_message;

    // Records emitted since the call began (webhook) or since the last commit (action).
    std::vector<tributary::host::emitted_record> records;
    std::size_t max_records = 10000;

    tributary::host::action_services* action = nullptr;
};
