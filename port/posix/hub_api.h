/*
 * hub_api.h - the REST API's platform side (app/api.h api_ops_t) for the
 * ports whose servers run on threads beside the bridge loop and meet it
 * only through the hub: Linux (civetweb) and the ESP32 (esp_http_server).
 * Documents, configuration hand-over and TinyBMS writes go through the
 * hub, log lines through log.h's ring, saves through config_store.h.
 *
 * A web server adapter fills one hub_api_t at start and passes it as the
 * ctx of api_handle(&hub_api_ops, ctx, ...).
 */
#ifndef HUB_API_H
#define HUB_API_H

#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "hub.h"

typedef struct {
    hub_t *hub;
    const char *config_path; /* the configuration file (saves, messages) */
    const char *version;     /* static string */
    uint64_t start_ms;       /* hub_api_mono_ms() when the server started */
    /* The web server's own figures (requests, WebSocket) for the
     * diagnostics; may be NULL. Called with server_ctx. */
    bool (*server_stats)(void *server_ctx, api_server_stats_t *out);
    void *server_ctx;
} hub_api_t;

/* Every entry set; ctx is a hub_api_t *. */
extern const api_ops_t hub_api_ops;

/* Milliseconds on the monotonic clock. */
uint64_t hub_api_mono_ms(void);

#endif /* HUB_API_H */
