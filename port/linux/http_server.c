/*
 * HTTP server: civetweb set-up, routing, authentication, static files.
 * The API is in http_api.c, the WebSocket in http_ws.c.
 */
#include "http_server.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "http_auth.h"
#include "http_internal.h"
#include "log.h"

static const http_asset_t *find_asset(const char *uri)
{
    if (strcmp(uri, "/") == 0) {
        uri = "/index.html";
    }
    for (size_t i = 0; i < http_asset_count; i++) {
        if (strcmp(http_assets[i].path, uri) == 0) {
            return &http_assets[i];
        }
    }
    return NULL;
}

static int serve_static(struct mg_connection *c, const char *method, const char *uri)
{
    const http_asset_t *a = find_asset(uri);
    if (a == NULL) {
        return http_send_error(c, 404, "not found");
    }
    bool head = strcmp(method, "HEAD") == 0;
    if (!head && strcmp(method, "GET") != 0) {
        return http_send_json(c, 405, "{\"success\":false,\"error\":\"method not allowed\"}",
                              "Allow: GET, HEAD\r\n");
    }
    const char *inm = mg_get_header(c, "If-None-Match");
    if (inm != NULL && strcmp(inm, a->etag) == 0) {
        mg_printf(c, "HTTP/1.1 304 Not Modified\r\nETag: %s\r\nCache-Control: no-cache\r\n\r\n",
                  a->etag);
        return 304;
    }
    mg_printf(c,
              "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\nETag: %s\r\n"
              "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n\r\n",
              a->content_type, a->len, a->etag);
    if (!head) {
        mg_write(c, a->data, a->len);
    }
    return 200;
}

static int on_request(struct mg_connection *c, void *cbdata)
{
    struct http_server *s = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(c);
    pthread_mutex_lock(&s->stats_mu);
    s->requests++;
    pthread_mutex_unlock(&s->stats_mu);
    const char *uri = ri->local_uri != NULL ? ri->local_uri : "/";
    if (strncmp(uri, "/api/", 5) == 0 || strcmp(uri, "/api") == 0 ||
        strcmp(uri, "/metrics") == 0) {
        return http_api_handle(s, c);
    }
    if (strcmp(uri, "/ws") == 0) {
        return http_send_error(c, 400, "/ws is a WebSocket: send an Upgrade request");
    }
    return serve_static(c, ri->request_method, uri);
}

/* civetweb's own errors (bad request line, header too large...) as JSON. */
static int on_http_error(struct mg_connection *c, int status, const char *msg)
{
    http_send_error(c, status, msg != NULL && msg[0] != '\0' ? msg : "request error");
    return 0;
}

static int on_log(const struct mg_connection *c, const char *msg)
{
    (void)c;
    log_debug("http: %s", msg);
    return 1;
}

/*
 * Threads. civetweb 1.15 starts all num_threads workers at once, and a
 * WebSocket holds its worker for as long as it is open: one worker per
 * allowed WebSocket plus HTTP_EXTRA_WORKERS for ordinary requests (a
 * browser's 6 parallel connections and a script or two; more wait in
 * civetweb's queue, for at most the 5 s keep-alive timeout).
 */
#define HTTP_EXTRA_WORKERS 8

/*
 * Stack of each server thread. Debian 12's civetweb has no run-time option
 * for it (mg_get_valid_options() lists none): its build fixes 100 KiB
 * (CMake's CIVETWEB_THREAD_STACK_SIZE), and that wins over this. A civetweb
 * built without a size takes the process default (RLIMIT_STACK, 8 MiB),
 * and so do the WebSocket broadcaster and senders; for those this default
 * applies while they are created. Measured (docs/performance.md): handlers
 * touch at most 40 KiB of stack, the WebSocket threads 12 KiB; cJSON
 * parsing a body nested to its 1000-level limit needs about 120 KiB.
 */
#define HTTP_THREAD_STACK_BYTES (256u * 1024u)

/* Sets the process's default thread stack, keeping the old default in
 * *saved for thread_stack_restore(). false (nothing changed) on failure. */
static bool thread_stack_push(pthread_attr_t *saved)
{
    pthread_attr_t small;
    if (pthread_getattr_default_np(saved) != 0) {
        return false;
    }
    if (pthread_getattr_default_np(&small) != 0) {
        pthread_attr_destroy(saved);
        return false;
    }
    bool ok = pthread_attr_setstacksize(&small, HTTP_THREAD_STACK_BYTES) == 0 &&
              pthread_setattr_default_np(&small) == 0;
    pthread_attr_destroy(&small);
    if (!ok) {
        pthread_attr_destroy(saved);
    }
    return ok;
}

static void thread_stack_restore(pthread_attr_t *saved)
{
    (void)pthread_setattr_default_np(saved);
    pthread_attr_destroy(saved);
}

http_server_t *http_start(const http_opts_t *o, char *err, size_t cap)
{
    struct http_server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    s->hub = o->hub;
    snprintf(s->config_path, sizeof s->config_path, "%s", o->config_path);
    snprintf(s->version, sizeof s->version, "%s", o->version);
    s->start_ms = hub_api_mono_ms();
    pthread_mutex_init(&s->stats_mu, NULL);
    http_api_init(s);

    char ports[96];
    if (strchr(o->bind_address, ':') != NULL) {
        snprintf(ports, sizeof ports, "[%s]:%d", o->bind_address, o->port);
    } else {
        snprintf(ports, sizeof ports, "%s:%d", o->bind_address, o->port);
    }
    char threads[16];
    snprintf(threads, sizeof threads, "%d", o->ws_max_clients + HTTP_EXTRA_WORKERS);
    const char *options[] = {
        "listening_ports", ports,
        "num_threads", threads,
        "request_timeout_ms", "5000",
        "websocket_timeout_ms", "30000",
        "enable_websocket_ping_pong", "yes",
        "enable_keep_alive", "yes",
        "keep_alive_timeout_ms", "5000",
        "listen_backlog", "512",
        /* Responses and WebSocket frames are small writes: without this,
         * Nagle plus the client's delayed ACK stalls each one ~40 ms. */
        "tcp_nodelay", "1",
        NULL,
    };
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.http_error = on_http_error;
    cb.log_message = on_log;
    mg_init_library(MG_FEATURES_WEBSOCKET);
    struct mg_init_data init = {.callbacks = &cb, .user_data = s, .configuration_options = options};
    struct mg_error_data ed;
    char ebuf[256] = "";
    memset(&ed, 0, sizeof ed);
    ed.text = ebuf;
    ed.text_buffer_size = sizeof ebuf;
    /* The default is process-wide: nothing else may create a thread until it is
     * restored (the daemon creates all its threads from its main thread, the
     * one in here). */
    pthread_attr_t saved_default;
    bool stack_set = thread_stack_push(&saved_default);
    s->ctx = mg_start2(&init, &ed);
    if (s->ctx == NULL) {
        if (stack_set) {
            thread_stack_restore(&saved_default);
        }
        snprintf(err, cap, "cannot listen on %s: %s", ports, ebuf[0] ? ebuf : "civetweb failed");
        pthread_mutex_destroy(&s->stats_mu);
        free(s);
        mg_exit_library();
        return NULL;
    }
    s->ws = http_ws_start(s, o->ws_max_clients);
    if (stack_set) {
        thread_stack_restore(&saved_default);
    }
    if (s->ws == NULL) {
        snprintf(err, cap, "cannot start the WebSocket broadcaster");
        mg_stop(s->ctx);
        http_ws_free(s->ws);
        pthread_mutex_destroy(&s->stats_mu);
        free(s);
        mg_exit_library();
        return NULL;
    }
    mg_set_request_handler(s->ctx, "/", on_request, s);
    return s;
}

void http_stop(http_server_t *s)
{
    if (s == NULL) {
        return;
    }
    http_ws_stop(s->ws);
    mg_stop(s->ctx);
    http_ws_free(s->ws);
    pthread_mutex_destroy(&s->stats_mu);
    free(s);
    mg_exit_library();
}

bool http_parse_spec(const char *spec, char *addr, size_t cap, int *port, bool *off)
{
    *off = strcmp(spec, "off") == 0;
    if (*off) {
        return true;
    }
    const char *colon = strrchr(spec, ':');
    if (colon == NULL || colon == spec) {
        return false;
    }
    const char *a = spec;
    size_t alen = (size_t)(colon - spec);
    if (spec[0] == '[') {
        if (alen < 3 || spec[alen - 1] != ']') {
            return false;
        }
        a = spec + 1;
        alen -= 2;
    }
    if (alen + 1 > cap) {
        return false;
    }
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || p < 1 || p > 65535) {
        return false;
    }
    memcpy(addr, a, alen);
    addr[alen] = '\0';
    *port = (int)p;
    return true;
}

http_server_t *http_start_for_daemon(const char *spec, const cfg_t *cfg, hub_t *hub,
                                     const char *config_path, const char *version)
{
    char addr[CFG_NAME_LEN];
    int port = cfg->web_server.port;
    snprintf(addr, sizeof addr, "%s", cfg->web_server.bind_address);
    if (spec != NULL) {
        bool off = false;
        if (!http_parse_spec(spec, addr, sizeof addr, &port, &off)) {
            log_error("--http %s: expected ADDR:PORT or off", spec);
            return NULL;
        }
        if (off) {
            log_info("web server disabled (--http off)");
            return NULL;
        }
    }
    http_opts_t o = {
        .bind_address = addr,
        .port = port,
        .config_path = config_path,
        .version = version,
        .ws_max_clients = cfg->web_server.ws_max_clients,
        .hub = hub,
    };
    char err[512];
    http_server_t *s = http_start(&o, err, sizeof err);
    if (s == NULL) {
        log_error("web server not started: %s (the bridge runs on without it)", err);
        return NULL;
    }
    bool creds = cfg->web_server.token[0] != '\0' ||
                 (cfg->web_server.username[0] != '\0' && cfg->web_server.password[0] != '\0');
    log_info("web UI and API on http://%s:%d/%s", strchr(addr, ':') ? "[::]" : addr, port,
             creds ? "" : " (read-only: no web_server credentials configured)");
    return s;
}
