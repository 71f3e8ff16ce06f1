/*
 * http_internal.h - shared between the files of the HTTP server only
 * (http_server.c, http_ws.c, http_api.c, http_util.c). Not for other
 * modules. Who calls whom, without a circle: http_server.c starts the API
 * adapter (http_api.c) and the WebSocket (http_ws.c); both use only the
 * helpers of http_util.c (clock, JSON answers, credentials, CAN document),
 * and the API adapter reads the WebSocket's figures.
 */
#ifndef HTTP_INTERNAL_H
#define HTTP_INTERNAL_H

#include <civetweb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "hub_api.h"
#include "web_assets.h" /* embedded static files (generated web_assets.c) */

#define HTTP_BODY_MAX 16384u

typedef struct http_ws http_ws_t;

struct http_server {
    struct mg_context *ctx;
    hub_t *hub;
    char config_path[4096];
    char version[32];
    uint64_t start_ms; /* monotonic */
    http_ws_t *ws;
    unsigned long requests; /* guarded by stats_mu */
    pthread_mutex_t stats_mu;
    hub_api_t api; /* the REST API's platform side (http_api_init) */
};

/* Sends a complete response with a JSON body (Content-Length, no-store). */
int http_send_json(struct mg_connection *c, int status, const char *body, const char *headers);
/* {"success":false,"error":msg} with status. */
int http_send_error(struct mg_connection *c, int status, const char *msg);

/* The CAN frames as {"last_seq":N,"frames":[...]} (or {"type":"can","frames":[...]} with
 * ws_message); malloc'd. */
char *http_can_json(const hub_can_entry_t *e, size_t n, uint64_t last_seq, bool ws_message);

/* Credentials check for a request; returns 0 when allowed, else the
 * status code it has already answered (401/403). */
int http_require_auth(struct http_server *s, struct mg_connection *c, bool write);

/* WebSocket side (http_ws.c). */
http_ws_t *http_ws_start(struct http_server *s, int max_clients);
/* Stops the threads; connections stay until civetweb stops. */
void http_ws_stop(http_ws_t *ws);
/* After mg_stop (no handler can run any more). */
void http_ws_free(http_ws_t *ws);
/* WebSocket status fan-out: from the push being made to the write to its
 * last client finishing (the server's side of the lag), over the last
 * pushes; milliseconds resolution, reported in microseconds. */
void http_ws_fanout(http_ws_t *ws, uint32_t *p50_us, uint32_t *p99_us, uint32_t *max_us,
                    uint64_t *pushes);
void http_ws_stats(http_ws_t *ws, unsigned long *clients, unsigned long *sent,
                   unsigned long *skipped, unsigned long *dropped);

/* The API (http_api.c): http_api_init once the server's fields are set,
 * then http_api_handle answers /api/... and /metrics. */
void http_api_init(struct http_server *s);
int http_api_handle(struct http_server *s, struct mg_connection *c);

#endif /* HTTP_INTERNAL_H */
