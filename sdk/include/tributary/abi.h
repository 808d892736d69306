/* abi.h: the plain C boundary between the Tributary host and a connector plugin. */
#pragma once

/*
 * Rules of the boundary
 *  - Only C types cross it: integers, pointers, and strings as pointer plus length (trib_str).
 *    JSON crosses as UTF-8 text. No exception may leave a plugin function.
 *  - Whoever allocates frees. Strings the host hands to a plugin stay valid for the duration of
 *    the call that received them (or as documented on the service); the host copies everything
 *    a plugin hands to it before the service returns.
 *  - Structs begin with struct_size so either side can tell which fields the other knows.
 *    New fields and functions are only ever appended; a change that breaks a rule above bumps
 *    TRIBUTARY_ABI_MAJOR.
 *  - A plugin exports exactly one symbol, TRIBUTARY_ENTRY_SYMBOL, a trib_entry_fn.
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRIBUTARY_ABI_MAJOR 1
#define TRIBUTARY_ABI_MINOR 1
#define TRIBUTARY_ENTRY_SYMBOL "tributary_connector_entry"

#if defined(_WIN32)
#define TRIBUTARY_EXPORT __declspec(dllexport)
#else
#define TRIBUTARY_EXPORT __attribute__((visibility("default")))
#endif

/* Status codes returned by plugin functions and host services. */
typedef enum trib_status {
    TRIB_OK = 0,
    TRIB_ERR_INVALID_INPUT = 1, /* the caller's input is unusable (a webhook answers 400) */
    TRIB_ERR_NOT_FOUND = 2,     /* no such route, action or hook */
    TRIB_ERR_UNAUTHORIZED = 3,  /* a remote refused the credentials */
    TRIB_ERR_REMOTE = 4,        /* a remote failed or answered badly */
    TRIB_ERR_CANCELLED = 5,     /* the job was asked to stop */
    TRIB_ERR_INTERNAL = 6,      /* a bug or an exception inside the plugin */
    TRIB_ERR_UNSUPPORTED = 7,   /* the host does not offer this service here */
    TRIB_ERR_STORAGE = 8        /* the host could not store what was emitted */
} trib_status;

typedef enum trib_log_level {
    TRIB_LOG_DEBUG = 0,
    TRIB_LOG_INFO = 1,
    TRIB_LOG_WARN = 2,
    TRIB_LOG_ERROR = 3
} trib_log_level;

/* Bytes or UTF-8 text; not NUL-terminated. */
typedef struct trib_str {
    const char* data;
    size_t size;
} trib_str;

typedef struct trib_header {
    trib_str name;
    trib_str value;
} trib_header;

/* An inbound webhook request as the host received it. */
typedef struct trib_http_request {
    uint32_t struct_size;
    trib_str method;
    trib_str path; /* the route part after /hooks/<connector>/<key>, "" for the default route */
    trib_str query;
    const trib_header* headers;
    size_t header_count;
    trib_str body;
} trib_http_request;

/* An outbound request a plugin asks the host to make (for example an export API page). */
typedef struct trib_fetch_request {
    uint32_t struct_size;
    trib_str method;
    trib_str url; /* absolute http:// or https:// URL */
    const trib_header* headers;
    size_t header_count;
    trib_str body;
    uint32_t timeout_ms; /* 0: the host's default */
} trib_fetch_request;

/*
 * The host's answer to a fetch. Transport failures give TRIB_ERR_REMOTE from http_fetch with
 * status 0 and the reason in body. Valid until the next http_fetch on the same call, or the end
 * of the call.
 */
typedef struct trib_fetch_response {
    uint32_t struct_size;
    int32_t status;
    const trib_header* headers;
    size_t header_count;
    trib_str body;
} trib_fetch_response;

/* Opaque per-call handle: carries the tenant, installation and what the call produces. */
typedef struct trib_call trib_call;

/* Services the host offers. Every function takes the call it serves. */
typedef struct trib_host_api {
    uint32_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;

    /* Installation context. The strings live as long as the call. */
    trib_str (*tenant_id)(const trib_call* call);
    trib_str (*installation_id)(const trib_call* call);
    trib_str (*config_json)(
        const trib_call* call); /* the installation's config, secrets included */

    /* One log line; fields_json is a JSON object of extra key=value fields, or empty. */
    void (*log)(const trib_call* call, int32_t level, trib_str message, trib_str fields_json);

    /* Milliseconds since the Unix epoch, UTC. */
    int64_t (*now_ms)(const trib_call* call);

    /* The plugin's answer to a webhook or the result of a hook or describe call. */
    void (*set_response)(trib_call* call, int32_t status, trib_str content_type, trib_str body);
    void (*set_result)(trib_call* call, trib_str json);

    /* A one-line reason that goes with a non-OK status. */
    void (*set_error)(trib_call* call, int32_t code, trib_str message);

    /*
     * A normalised record (JSON object) for the host to store. In a webhook the records of one
     * delivery are stored in one transaction before the answer is sent; in an action they are
     * stored by the next commit_page.
     */
    int32_t (*emit_record)(trib_call* call, trib_str record_json);

    /* Actions: commit the emitted records together with a checkpoint and progress (JSON). */
    int32_t (*commit_page)(trib_call* call, trib_str checkpoint_json, trib_str progress_json);
    /* The last committed checkpoint of this job, "" when it starts fresh. */
    trib_str (*checkpoint)(const trib_call* call);
    /* Non-zero once the job has been asked to stop (cancel, disable, shutdown). */
    int32_t (*cancelled)(const trib_call* call);
    /* Progress that is not tied to a commit (JSON object merged into the job's progress). */
    void (*progress)(trib_call* call, trib_str progress_json);
    /* Sleeps up to ms, waking early when the job is cancelled. Non-zero if cancelled. */
    int32_t (*sleep_ms)(const trib_call* call, uint32_t ms);

    /* Outbound HTTP(S) with the host's TLS settings. */
    int32_t (*http_fetch)(trib_call* call, const trib_fetch_request* request,
                          trib_fetch_response* response);

    /*
     * ABI 1.1. emit_record, with the answers the plugin's own record hooks gave for this record
     * when it was emitted: a JSON object from hook id to answer, for example
     * {"nps-rollup":{"counts":true,"score":9}}. The host takes an answer given here instead of
     * calling run_hook with the record, and still calls run_hook for a record hook left out.
     * The only record hook today is nps-rollup.
     */
    int32_t (*emit_record_with_hooks)(trib_call* call, trib_str record_json,
                                      trib_str hook_answers_json);
} trib_host_api;

/* The table a plugin exports. */
typedef struct trib_connector {
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t struct_size;
    const char* sdk_version;
    const char* id;
    const char* version;

    /* One instance per loaded library; instances keep no per-tenant state. */
    int32_t (*create)(const trib_host_api* host, void** instance);
    void (*destroy)(void* instance);

    /* set_result with {"webhooks":[...],"actions":[...],"hooks":[...]} */
    int32_t (*describe)(void* instance, trib_call* call);

    int32_t (*handle_webhook)(void* instance, trib_call* call, trib_str route,
                              const trib_http_request* request);
    int32_t (*run_action)(void* instance, trib_call* call, trib_str action, trib_str params_json);
    /* set_result with the hook's answer (JSON). */
    int32_t (*run_hook)(void* instance, trib_call* call, trib_str hook, trib_str input_json);
} trib_connector;

typedef const trib_connector* (*trib_entry_fn)(void);

#ifdef __cplusplus
}
#endif
