/*
 * api.h - the REST API of docs/api.md, transport-neutral: a request
 * (method, path, query, body) in, a response (status, content type, body,
 * extra headers) out. A web server adapter (civetweb on Linux,
 * esp_http_server on the ESP32) only checks credentials, reads the body
 * (at most API_BODY_MAX bytes), calls api_handle and writes the answer.
 *
 * Everything the API reads or changes goes through the const table of
 * api_ops_t, given by the platform: published documents, the running
 * configuration and how to apply and save one, the TinyBMS write, the CAN
 * and log rings. The handler keeps no state (no file statics).
 */
#ifndef API_H
#define API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "settings_write.h"
#include "victron_can.h"

#define API_BODY_MAX                  16384u
#define API_SETTINGS_APPLY_TIMEOUT_MS 2000 /* the loop applies within ms; 2 s = stalled */
#define API_WRITE_TIMEOUT_MS          5000 /* a TinyBMS write with its read-back */

/* Documents the platform publishes (the bridge loop makes them). */
typedef enum {
    API_DOC_STATUS = 0,
    API_DOC_REGISTERS,
    API_DOC_HISTORY,
    API_DOC_DIAGNOSTICS,
    API_DOC_METRICS,
} api_doc_t;

/* Outcome of handing a configuration to the bridge loop. */
typedef enum {
    API_APPLY_APPLIED = 0, /* it runs now */
    API_APPLY_REFUSED,     /* refused; nothing changed; why says why */
    API_APPLY_PENDING,     /* no answer within the wait; it stays posted */
    API_APPLY_BUSY,        /* an earlier one has no outcome yet; nothing posted */
} api_apply_t;

/* Outcome of a TinyBMS write handed to the loop. */
typedef enum {
    API_WRITE_DONE = 0, /* *res holds the outcome */
    API_WRITE_BUSY,     /* another write is in progress */
    API_WRITE_TIMEOUT,  /* no outcome within API_WRITE_TIMEOUT_MS */
} api_write_t;

/* One CAN frame of the monitor ring. */
typedef struct {
    uint64_t seq;  /* increasing, from 1 */
    uint64_t t_ms; /* wall clock */
    bool tx;       /* sent by the bridge */
    vcan_frame_t frame;
} api_can_entry_t;

#define API_CAN_RING 256u

/* One log line of the platform's ring. */
typedef struct {
    uint64_t seq;
    uint64_t t_ms;
    const char *level; /* "ERROR", "WARNING", "INFO", "DEBUG" */
    char text[512];
} api_log_entry_t;

#define API_LOG_MAX 1000u

typedef enum { API_LOG_ERROR = 0, API_LOG_WARNING, API_LOG_INFO } api_log_level_t;

/* The web server's figures in GET /api/diagnostics ("http"). */
typedef struct {
    uint64_t requests;
    uint64_t ws_clients;
    uint64_t ws_messages_sent;
    uint64_t ws_messages_skipped;
    uint64_t ws_clients_dropped;
    uint64_t ws_status_pushes;
    uint32_t ws_fanout_p50_us, ws_fanout_p99_us, ws_fanout_max_us;
} api_server_stats_t;

typedef struct {
    /* A published document (malloc'd; the caller frees), NULL if none yet;
     * *seq (may be NULL) its publication number. pack (0-based) selects
     * the pack's document for API_DOC_REGISTERS (one per pack); the other
     * documents are asked for with 0. Required. */
    char *(*get_doc)(void *ctx, api_doc_t doc, size_t pack, uint64_t *seq);
    /* The packs the bridge reads now (1..CFG_MAX_PACKS), 0 when not known
     * yet (nothing published). May be NULL: one pack. */
    size_t (*pack_count)(void *ctx);
    /* The running configuration. Required. */
    void (*running_config)(void *ctx, cfg_t *out);
    /* Serialises read-merge-apply-save of settings changes. Required. */
    void (*config_lock)(void *ctx, bool lock);
    /* Hands c to the loop and waits up to API_SETTINGS_APPLY_TIMEOUT_MS. Required. */
    api_apply_t (*apply_config)(void *ctx, const cfg_t *c, char *why, size_t cap);
    /* Saves c where the configuration lives (atomically). Required. */
    cfg_err_t (*save_config)(void *ctx, const cfg_t *c, cfg_error_t *err);
    /* Where it lives, for messages ("/var/lib/.../config.json"). Required. */
    const char *(*config_location)(void *ctx);
    /* A TinyBMS settings write to pack (0-based, checked against
     * pack_count) through the loop (app/settings_write.h). Required. */
    api_write_t (*write_registers)(void *ctx, size_t pack, uint16_t addr, const uint16_t *values,
                                   uint16_t count, sw_result_t *res);
    /* CAN monitor frames after seq `after`, oldest first. Required. */
    size_t (*can_since)(void *ctx, uint64_t after, api_can_entry_t *out, size_t cap);
    /* Log lines after seq `after` (at most cap); *newest the newest seq. Required. */
    size_t (*logs)(void *ctx, uint64_t after, api_log_entry_t *out, size_t cap, uint64_t *newest);
    void (*clear_logs)(void *ctx);
    /* A log line from the API itself. Required. */
    void (*log)(void *ctx, api_log_level_t level, const char *line);
    /* The web server's own figures for the diagnostics ("http" object);
     * false when it has none. May be NULL. */
    bool (*server_stats)(void *ctx, api_server_stats_t *out);
    /* Version and uptime, for a diagnostics answer made before the loop
     * published one. Required. */
    const char *(*version)(void *ctx);
    uint64_t (*uptime_ms)(void *ctx);
} api_ops_t;

typedef struct {
    const char *method; /* "GET", "HEAD", "POST", "DELETE"... */
    const char *path;   /* "/api/status" (no query) */
    const char *query;  /* the part after '?', or NULL */
    const char *body;   /* NULL or body_len bytes (need not be NUL-terminated) */
    size_t body_len;
} api_request_t;

typedef struct {
    int status;
    const char *content_type; /* static string */
    char *body;               /* malloc'd NUL-terminated; the caller frees */
    char headers[96];         /* extra header lines ("Allow: GET\r\n"), "" if none */
} api_response_t;

/* True when every required entry of ops is set (check once at start). */
bool api_ops_ok(const api_ops_t *ops);

/*
 * Answers one request. Always fills *resp (a 500 with a message when
 * memory runs out); 404 for a path the API does not have.
 */
void api_handle(const api_ops_t *ops, void *ctx, const api_request_t *req, api_response_t *resp);

/* The URL-decoded value of name in query ("a=1&b=x%20y", no '?'), '+' read
 * as a space: true and out[cap] NUL-terminated; false when absent, query is
 * NULL or the value needs more than cap - 1 bytes. The adapters read the
 * WebSocket's ?token= with it. */
bool api_query_get(const char *query, const char *name, char *out, size_t cap);

/* True for the paths api_handle answers (the adapter serves files otherwise). */
bool api_is_api_path(const char *path);

/* The CAN frames as {"last_seq":N,"frames":[...]}, or as the WebSocket
 * message {"type":"can","frames":[...]}; malloc'd, NULL on no memory. */
char *api_can_json(const api_can_entry_t *e, size_t n, uint64_t last_seq, bool ws_message);

#endif /* API_H */
