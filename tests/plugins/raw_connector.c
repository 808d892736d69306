/* raw_connector.c: a connector written against the C ABI alone, for the loader and host tests. */

/*
 * Compile definitions choose how it breaks the contract:
 *   TEST_CONNECTOR_ID       the id its descriptor reports (required)
 *   TEST_CONNECTOR_VERSION  the version it reports, "1.0.0" by default
 *   TEST_ABI_MAJOR          the ABI major it claims, this SDK's by default
 *   TEST_WEBHOOK_FAILS      non-zero: every delivery fails with TRIB_ERR_INTERNAL
 *   TEST_ROLLUP_HOOK        non-zero: it offers an nps-rollup hook that counts every record with
 *                           score 7, whatever the record says, and tries to emit a record
 * Otherwise it offers the default webhook route, which answers 200 and stores nothing.
 */

#include <tributary/abi.h>

#include <stdlib.h>
#include <string.h>

#ifndef TEST_CONNECTOR_ID
#error "TEST_CONNECTOR_ID must name the id the descriptor reports"
#endif
#ifndef TEST_CONNECTOR_VERSION
#define TEST_CONNECTOR_VERSION "1.0.0"
#endif
#ifndef TEST_ABI_MAJOR
#define TEST_ABI_MAJOR TRIBUTARY_ABI_MAJOR
#endif
#ifndef TEST_WEBHOOK_FAILS
#define TEST_WEBHOOK_FAILS 0
#endif
#ifndef TEST_ROLLUP_HOOK
#define TEST_ROLLUP_HOOK 0
#endif

struct raw_instance {
    const trib_host_api* host;
};

static trib_str text(const char* s) {
    trib_str t = {s, strlen(s)};
    return t;
}

static int32_t raw_create(const trib_host_api* host, void** instance) {
    struct raw_instance* self = malloc(sizeof *self);
    if (self == NULL) {
        return TRIB_ERR_INTERNAL;
    }
    self->host = host;
    *instance = self;
    return TRIB_OK;
}

static void raw_destroy(void* instance) {
    free(instance);
}

static int32_t raw_describe(void* instance, trib_call* call) {
    const struct raw_instance* self = instance;
    self->host->set_result(call, TEST_ROLLUP_HOOK
                                     ? text("{\"webhooks\":[\"\"],\"actions\":[],"
                                            "\"hooks\":[\"nps-rollup\"]}")
                                     : text("{\"webhooks\":[\"\"],\"actions\":[],\"hooks\":[]}"));
    return TRIB_OK;
}

static int32_t raw_handle_webhook(void* instance, trib_call* call, trib_str route,
                                  const trib_http_request* request) {
    const struct raw_instance* self = instance;
    (void)route;
    (void)request;
    if (TEST_WEBHOOK_FAILS) {
        self->host->set_error(call, TRIB_ERR_INTERNAL,
                              text("the raw connector fails every delivery"));
        return TRIB_ERR_INTERNAL;
    }
    self->host->set_response(call, 200, text("application/json"), text("{\"ok\":true}"));
    return TRIB_OK;
}

static int32_t raw_run_action(void* instance, trib_call* call, trib_str action, trib_str params) {
    const struct raw_instance* self = instance;
    (void)action;
    (void)params;
    self->host->set_error(call, TRIB_ERR_NOT_FOUND, text("no such action"));
    return TRIB_ERR_NOT_FOUND;
}

static int32_t raw_run_hook(void* instance, trib_call* call, trib_str hook, trib_str input) {
    const struct raw_instance* self = instance;
    (void)input;
    if (TEST_ROLLUP_HOOK && hook.size == 10 && memcmp(hook.data, "nps-rollup", 10) == 0) {
        self->host->emit_record(call, text("{\"sourceId\":\"from-the-hook\"}"));
        self->host->set_result(call, text("{\"counts\":true,\"score\":7}"));
        return TRIB_OK;
    }
    self->host->set_error(call, TRIB_ERR_NOT_FOUND, text("no such hook"));
    return TRIB_ERR_NOT_FOUND;
}

static const trib_connector raw_descriptor = {
    TEST_ABI_MAJOR,
    TRIBUTARY_ABI_MINOR,
    sizeof(trib_connector),
    "test",
    TEST_CONNECTOR_ID,
    TEST_CONNECTOR_VERSION,
    raw_create,
    raw_destroy,
    raw_describe,
    raw_handle_webhook,
    raw_run_action,
    raw_run_hook,
};

TRIBUTARY_EXPORT const trib_connector* tributary_connector_entry(void) {
    return &raw_descriptor;
}
