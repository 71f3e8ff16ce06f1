/*
 * http_server.h - the HTTP + WebSocket server (civetweb): the REST API of
 * docs/api.md, the WebSocket /ws and the embedded web UI.
 *
 * architecture.md: the server's threads never touch the bridge's live
 * state; they read documents the loop published in the hub and hand
 * requests (settings, TinyBMS writes) to the loop through the hub. The
 * loop-side half of a TinyBMS write is http_write_step() (http_write.h);
 * nothing of the bridge's state is visible from here.
 */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "hub.h"

typedef struct {
    const char *bind_address; /* IPv4/IPv6 literal */
    int port;
    const char *config_path;  /* where POST /api/settings saves */
    const char *version;
    int ws_max_clients;       /* WebSocket connections at once (threads) */
    hub_t *hub;
} http_opts_t;

typedef struct http_server http_server_t;

/* Starts listening and the server threads. NULL on failure with the
 * reason in err[cap] (e.g. the port is in use). */
http_server_t *http_start(const http_opts_t *opts, char *err, size_t cap);

/*
 * Parses a --http argument: "ADDR:PORT", "[IPv6]:PORT" or "off". Returns
 * false when malformed; *off tells "off" apart. addr gets the address.
 */
bool http_parse_spec(const char *spec, char *addr, size_t cap, int *port, bool *off);

/*
 * For the daemon: starts the server on spec (a --http argument, or NULL
 * for web_server.bind_address/port of cfg). Returns NULL when disabled or
 * when it cannot start (logged: the bridge runs on without a web server).
 */
http_server_t *http_start_for_daemon(const char *spec, const cfg_t *cfg, hub_t *hub,
                                     const char *config_path, const char *version);

/* Closes every connection and joins the threads; NULL is allowed. */
void http_stop(http_server_t *s);



#endif /* HTTP_SERVER_H */
