// escaping_connector.cpp: a raw C++ connector whose webhook lets an exception leave the plugin.
//
// The C ABI forbids it; the host's guard must still turn it into an error for that one request.
// Any body but "throw" is answered 200, storing nothing.
#include <tributary/abi.h>

#include <stdexcept>
#include <string_view>

namespace {

const trib_host_api* host = nullptr;

trib_str text(std::string_view s) {
    return trib_str{s.data(), s.size()};
}

int32_t create(const trib_host_api* h, void** instance) {
    host = h;
    *instance = &host;
    return TRIB_OK;
}

void destroy(void*) {}

int32_t describe(void*, trib_call* call) {
    host->set_result(call, text(R"({"webhooks":[""],"actions":[],"hooks":[]})"));
    return TRIB_OK;
}

int32_t handle_webhook(void*, trib_call* call, trib_str, const trib_http_request* request) {
    if (std::string_view(request->body.data, request->body.size) == "throw") {
        throw std::runtime_error("thrown past the C boundary");
    }
    host->set_response(call, 200, text("application/json"), text(R"({"ok":true})"));
    return TRIB_OK;
}

int32_t run_action(void*, trib_call*, trib_str, trib_str) {
    return TRIB_ERR_NOT_FOUND;
}

int32_t run_hook(void*, trib_call*, trib_str, trib_str) {
    return TRIB_ERR_NOT_FOUND;
}

const trib_connector descriptor{TRIBUTARY_ABI_MAJOR,
                                TRIBUTARY_ABI_MINOR,
                                sizeof(trib_connector),
                                "test",
                                "test-escapes",
                                "1.0.0",
                                &create,
                                &destroy,
                                &describe,
                                &handle_webhook,
                                &run_action,
                                &run_hook};

}  // namespace

extern "C" TRIBUTARY_EXPORT const trib_connector* tributary_connector_entry(void) {
    return &descriptor;
}
