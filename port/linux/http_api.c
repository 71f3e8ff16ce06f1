/*
 * The civetweb adapter of the REST API: the API itself is transport-
 * neutral (app/api.h); this file reads the request (at most API_BODY_MAX
 * bytes of body), checks credentials, gives the API its platform side
 * (port/posix/hub_api.h: the hub, the log ring and the config file) and
 * writes the answer. Handlers only read hub documents and post requests to the
 * hub: nothing here touches the bridge loop's state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "http_internal.h"

/* ---- the web server's own figures for the diagnostics ---- */

static bool server_stats(void *ctx, api_server_stats_t *out)
{
    struct http_server *s = ctx;
    unsigned long clients = 0, sent = 0, skipped = 0, dropped = 0;
    http_ws_stats(s->ws, &clients, &sent, &skipped, &dropped);
    pthread_mutex_lock(&s->stats_mu);
    out->requests = s->requests;
    pthread_mutex_unlock(&s->stats_mu);
    out->ws_clients = clients;
    out->ws_messages_sent = sent;
    out->ws_messages_skipped = skipped;
    out->ws_clients_dropped = dropped;
    http_ws_fanout(s->ws, &out->ws_fanout_p50_us, &out->ws_fanout_p99_us,
                   &out->ws_fanout_max_us, &out->ws_status_pushes);
    return true;
}

void http_api_init(struct http_server *s)
{
    s->api = (hub_api_t){
        .hub = s->hub,
        .config_path = s->config_path,
        .version = s->version,
        .start_ms = s->start_ms,
        .server_stats = server_stats,
        .server_ctx = s,
    };
}

/* ---- transport ---- */

static int too_large(struct mg_connection *c)
{
    mg_disable_connection_keep_alive(c);
    return http_send_json(c, 413,
                          "{\"success\":false,\"error\":\"request body larger than 16384 bytes\"}",
                          "Connection: close\r\n");
}

/* Reads the whole body into a malloc'd NUL-terminated buffer. Returns 0, or
 * the status already answered (413 too large, 400 unreadable). */
static int read_body(struct mg_connection *c, char **out, size_t *len)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    *out = NULL;
    *len = 0;
    if (ri->content_length > (long long)API_BODY_MAX) {
        return too_large(c);
    }
    char *buf = malloc(API_BODY_MAX + 2u);
    if (buf == NULL) {
        return http_send_error(c, 503, "out of memory");
    }
    size_t n = 0;
    for (;;) {
        int r = mg_read(c, buf + n, API_BODY_MAX + 1u - n);
        if (r < 0) {
            free(buf);
            return http_send_error(c, 400, "could not read the request body");
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
        if (n > API_BODY_MAX) {
            free(buf);
            return too_large(c);
        }
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int http_api_handle(struct http_server *s, struct mg_connection *c)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    bool get = strcmp(ri->request_method, "GET") == 0 || strcmp(ri->request_method, "HEAD") == 0;
    int rc = http_require_auth(s, c, !get);
    if (rc != 0) {
        return rc;
    }
    api_request_t q = {
        .method = ri->request_method,
        .path = ri->local_uri,
        .query = ri->query_string,
    };
    char *body = NULL;
    if (strcmp(ri->request_method, "POST") == 0) {
        rc = read_body(c, &body, &q.body_len);
        if (rc != 0) {
            return rc;
        }
        q.body = body;
    }
    api_response_t r;
    api_handle(&hub_api_ops, &s->api, &q, &r);
    free(body);
    if (r.body == NULL) {
        return http_send_error(c, 500, "out of memory");
    }
    if (strcmp(r.content_type, "application/json") == 0) {
        rc = http_send_json(c, r.status, r.body, r.headers[0] != '\0' ? r.headers : NULL);
    } else {
        size_t len = strlen(r.body);
        mg_printf(c,
                  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                  "Cache-Control: no-store\r\n%s\r\n",
                  r.status, mg_get_response_code_text(c, r.status), r.content_type, len,
                  r.headers);
        mg_write(c, r.body, len);
        rc = r.status;
    }
    free(r.body);
    return rc;
}
