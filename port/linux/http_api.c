/*
 * The civetweb adapter of the REST API: the API itself is transport-
 * neutral (app/api.h); this file reads the request (at most API_BODY_MAX
 * bytes of body), checks credentials, gives the API its platform side
 * (api_ops_t over the hub, the log ring and the config file) and writes
 * the answer. Handlers only read hub documents and post requests to the
 * hub: nothing here touches the bridge loop's state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config_store.h"
#include "http_internal.h"
#include "log.h"
#include "write_request.h"

/* ---- the API's platform side ---- */

static hub_doc_t hub_doc(api_doc_t d)
{
    switch (d) {
    case API_DOC_STATUS:
        return HUB_DOC_STATUS;
    case API_DOC_REGISTERS:
        return HUB_DOC_REGISTERS;
    case API_DOC_HISTORY:
        return HUB_DOC_HISTORY;
    case API_DOC_DIAGNOSTICS:
        return HUB_DOC_DIAGNOSTICS;
    case API_DOC_METRICS:
    default:
        return HUB_DOC_METRICS;
    }
}

static char *op_get_doc(void *ctx, api_doc_t doc, size_t pack, uint64_t *seq)
{
    struct http_server *s = ctx;
    hub_doc_t d = doc == API_DOC_REGISTERS ? hub_doc_registers(pack) : hub_doc(doc);
    return hub_get(s->hub, d, seq);
}

static size_t op_pack_count(void *ctx)
{
    struct http_server *s = ctx;
    return hub_pack_count(s->hub);
}

static void op_running_config(void *ctx, cfg_t *out)
{
    struct http_server *s = ctx;
    hub_get_running_config(s->hub, out);
}

static void op_config_lock(void *ctx, bool lock)
{
    struct http_server *s = ctx;
    if (lock) {
        hub_config_lock(s->hub);
    } else {
        hub_config_unlock(s->hub);
    }
}

static api_apply_t op_apply_config(void *ctx, const cfg_t *c, char *why, size_t cap)
{
    struct http_server *s = ctx;
    switch (hub_apply_config(s->hub, c, API_SETTINGS_APPLY_TIMEOUT_MS, NULL, why, cap)) {
    case HUB_CONFIG_APPLIED:
        return API_APPLY_APPLIED;
    case HUB_CONFIG_REFUSED:
        return API_APPLY_REFUSED;
    case HUB_CONFIG_PENDING:
        return API_APPLY_PENDING;
    case HUB_CONFIG_BUSY:
    default:
        return API_APPLY_BUSY;
    }
}

static cfg_err_t op_save_config(void *ctx, const cfg_t *c, cfg_error_t *err)
{
    struct http_server *s = ctx;
    return cfg_save_file(s->config_path, c, err);
}

static const char *op_config_location(void *ctx)
{
    struct http_server *s = ctx;
    return s->config_path;
}

static api_write_t op_write_registers(void *ctx, size_t pack, uint16_t addr,
                                      const uint16_t *values, uint16_t count, sw_result_t *res)
{
    struct http_server *s = ctx;
    hub_write_req_t req;
    memset(&req, 0, sizeof req);
    req.pack = (uint8_t)(pack < CFG_MAX_PACKS ? pack : CFG_MAX_PACKS); /* beyond: refused */
    _Static_assert(WREQ_MAX_WORDS <= HUB_WRITE_MAX, "write sizes disagree");
    if (count > HUB_WRITE_MAX) {
        count = HUB_WRITE_MAX;
    }
    req.addr = addr;
    req.count = count;
    memcpy(req.values, values, count * sizeof values[0]);
    hub_write_result_t out;
    if (!hub_write(s->hub, &req, API_WRITE_TIMEOUT_MS, &out)) {
        return out.status == -EBUSY ? API_WRITE_BUSY : API_WRITE_TIMEOUT;
    }
    res->status = (sw_status_t)out.status;
    _Static_assert(sizeof res->readback == sizeof out.readback, "read-back sizes differ");
    memcpy(res->readback, out.readback, sizeof res->readback);
    (void)snprintf(res->message, sizeof res->message, "%s", out.message);
    return API_WRITE_DONE;
}

static size_t op_can_since(void *ctx, uint64_t after, api_can_entry_t *out, size_t cap)
{
    struct http_server *s = ctx;
    hub_can_entry_t *e = malloc(cap * sizeof *e);
    if (e == NULL) {
        return 0u;
    }
    size_t n = hub_can_since(s->hub, after, e, cap);
    for (size_t i = 0; i < n; i++) {
        out[i] = (api_can_entry_t){.seq = e[i].seq, .t_ms = e[i].t_ms, .tx = e[i].tx,
                                   .frame = e[i].frame};
    }
    free(e);
    return n;
}

static size_t op_logs(void *ctx, uint64_t after, api_log_entry_t *out, size_t cap,
                      uint64_t *newest)
{
    (void)ctx;
    log_entry_t *e = malloc(cap * sizeof *e);
    if (e == NULL) {
        *newest = log_last_seq();
        return 0u;
    }
    size_t n = log_recent(after, e, cap);
    *newest = log_last_seq();
    for (size_t i = 0; i < n; i++) {
        out[i].seq = e[i].seq;
        out[i].t_ms = e[i].t_ms;
        out[i].level = log_level_name(e[i].level);
        (void)snprintf(out[i].text, sizeof out[i].text, "%s", e[i].text);
    }
    free(e);
    return n;
}

static void op_clear_logs(void *ctx)
{
    (void)ctx;
    log_clear_recent();
}

static void op_log(void *ctx, api_log_level_t level, const char *line)
{
    (void)ctx;
    log_msg(level == API_LOG_ERROR ? LOG_ERROR : level == API_LOG_WARNING ? LOG_WARNING : LOG_INFO,
            "%s", line);
}

static bool op_server_stats(void *ctx, api_server_stats_t *out)
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

static const char *op_version(void *ctx)
{
    struct http_server *s = ctx;
    return s->version;
}

static uint64_t op_uptime_ms(void *ctx)
{
    struct http_server *s = ctx;
    return http_mono_ms() - s->start_ms;
}

static const api_ops_t api_ops = {
    .get_doc = op_get_doc,
    .pack_count = op_pack_count,
    .running_config = op_running_config,
    .config_lock = op_config_lock,
    .apply_config = op_apply_config,
    .save_config = op_save_config,
    .config_location = op_config_location,
    .write_registers = op_write_registers,
    .can_since = op_can_since,
    .logs = op_logs,
    .clear_logs = op_clear_logs,
    .log = op_log,
    .server_stats = op_server_stats,
    .version = op_version,
    .uptime_ms = op_uptime_ms,
};

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
    api_handle(&api_ops, s, &q, &r);
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
