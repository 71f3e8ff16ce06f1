/*
 * The REST API of docs/api.md. Handlers only read hub documents and post
 * requests to the hub: nothing here touches the bridge loop's state.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "can_text.h"
#include "config.h"
#include "config_store.h"
#include "http_internal.h"
#include "settings_write.h"
#include "write_request.h"
#include "http_server.h"
#include "log.h"

#define WRITE_TIMEOUT_MS 5000
/* How long POST /api/settings waits for the loop to apply a configuration.
 * The loop wakes on the hub's eventfd and applies at once (well under
 * 10 ms); 2 s is only reached when the loop is stalled or stopping. */
#define SETTINGS_APPLY_TIMEOUT_MS 2000

static int send_owned(struct mg_connection *c, int status, char *body)
{
    if (body == NULL) {
        return http_send_error(c, 500, "out of memory");
    }
    int rc = http_send_json(c, status, body, NULL);
    free(body);
    return rc;
}

static int send_cjson(struct mg_connection *c, int status, cJSON *doc)
{
    char *text = doc != NULL ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    return send_owned(c, status, text);
}

static int method_not_allowed(struct mg_connection *c, const char *allow)
{
    char h[64];
    snprintf(h, sizeof h, "Allow: %s\r\n", allow);
    return http_send_json(c, 405, "{\"success\":false,\"error\":\"method not allowed\"}", h);
}

/* Reads the whole body into a malloc'd NUL-terminated buffer. Returns 0, or
 * the status already answered (413 too large, 400 unreadable). */
static int read_body(struct mg_connection *c, char **out, size_t *len)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    *out = NULL;
    *len = 0;
    if (ri->content_length > (long long)HTTP_BODY_MAX) {
        mg_disable_connection_keep_alive(c);
        return http_send_json(c, 413,
                              "{\"success\":false,\"error\":\"request body larger than 16384 bytes\"}",
                              "Connection: close\r\n");
    }
    char *buf = malloc(HTTP_BODY_MAX + 2u);
    if (buf == NULL) {
        return http_send_error(c, 503, "out of memory");
    }
    size_t n = 0;
    for (;;) {
        int r = mg_read(c, buf + n, HTTP_BODY_MAX + 1u - n);
        if (r < 0) {
            free(buf);
            return http_send_error(c, 400, "could not read the request body");
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
        if (n > HTTP_BODY_MAX) {
            free(buf);
            mg_disable_connection_keep_alive(c);
            return http_send_json(
                c, 413, "{\"success\":false,\"error\":\"request body larger than 16384 bytes\"}",
                "Connection: close\r\n");
        }
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static int settings_error(struct mg_connection *c, int status, const char *key, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "success", false);
    cJSON_AddStringToObject(o, "key", key);
    cJSON_AddStringToObject(o, "error", msg);
    return send_cjson(c, status, o);
}

/* A settings answer after the loop was asked: says whether the posted
 * configuration runs now and whether the file holds it. */
static int settings_answer(struct mg_connection *c, int status, bool applied, bool saved,
                           const char *text)
{
    bool ok = status < 300;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "success", ok);
    cJSON_AddBoolToObject(o, "applied", applied);
    cJSON_AddBoolToObject(o, "saved", saved);
    if (ok) {
        cJSON_AddStringToObject(o, "message", text);
    } else {
        cJSON_AddStringToObject(o, "key", "");
        cJSON_AddStringToObject(o, "error", text);
    }
    return send_cjson(c, status, o);
}

static int get_settings(struct http_server *s, struct mg_connection *c)
{
    cfg_t *cfg = malloc(sizeof *cfg);
    if (cfg == NULL) {
        return http_send_error(c, 503, "out of memory");
    }
    hub_get_running_config(s->hub, cfg);
    char *json = cfg_to_json(cfg, true);
    memset(cfg, 0, sizeof *cfg);
    free(cfg);
    return send_owned(c, 200, json);
}

/*
 * Validated -> applied by the loop -> saved, in that order (docs/api.md):
 * a configuration the loop refuses never reaches the file, and a crash
 * between applying and saving leaves the previous file, which the bridge
 * ran with before (the client got no 200, so it knows the change is not
 * made). Saving first would let a refused configuration sit in the file
 * and stop the next start. Holding the config lock throughout keeps
 * read-merge-apply-save of two clients from interleaving.
 */
static int apply_and_save(struct http_server *s, struct mg_connection *c, const cfg_t *base,
                          const cfg_t *next, cfg_error_t *err)
{
    char why[256];
    char msg[4608];
    hub_config_outcome_t out =
        hub_apply_config(s->hub, next, SETTINGS_APPLY_TIMEOUT_MS, NULL, why, sizeof why);
    switch (out) {
    case HUB_CONFIG_BUSY:
        return settings_answer(c, 409, false, false,
                               "an earlier settings change is not applied by the bridge loop "
                               "yet; nothing changed, try again");
    case HUB_CONFIG_REFUSED:
        log_error("POST /api/settings: the bridge refused the configuration: %s", why);
        snprintf(msg, sizeof msg,
                 "the bridge refused the configuration: %s; nothing changed (%s is as it was)", why,
                 s->config_path);
        return settings_answer(c, 422, false, false, msg);
    case HUB_CONFIG_PENDING:
    case HUB_CONFIG_APPLIED:
        break;
    }
    bool applied = out == HUB_CONFIG_APPLIED;
    if (cfg_save_file(s->config_path, next, err) == CFG_OK) {
        if (applied) {
            log_info("configuration changed through the web API, applied and saved to %s",
                     s->config_path);
            snprintf(msg, sizeof msg, "configuration applied and saved to %s", s->config_path);
            return settings_answer(c, 200, true, true, msg);
        }
        /* The loop did not answer in time (it is stalled, or stopping): the
         * configuration stays posted and is saved, so it runs once the loop
         * takes it, or at the next start. */
        log_warn("configuration saved to %s; the bridge loop has not applied it within %d ms",
                 s->config_path, SETTINGS_APPLY_TIMEOUT_MS);
        snprintf(msg, sizeof msg,
                 "configuration saved to %s but not applied yet: the bridge loop did not confirm "
                 "within %d ms; it will be applied when the loop takes it (GET /api/settings "
                 "shows it once it runs)",
                 s->config_path, SETTINGS_APPLY_TIMEOUT_MS);
        return settings_answer(c, 202, false, true, msg);
    }
    log_error("POST /api/settings: %s", err->message);
    if (!applied) {
        snprintf(msg, sizeof msg,
                 "%s; the change is still queued for the bridge loop and will run once it takes "
                 "it, but only until the next start",
                 err->message);
        return settings_answer(c, 500, false, false, msg);
    }
    /* Applied but not saved (a reported save error leaves the old file in
     * place): put the previous configuration back in the loop too, so a
     * failed save changes nothing. */
    hub_config_outcome_t back =
        hub_apply_config(s->hub, base, SETTINGS_APPLY_TIMEOUT_MS, NULL, why, sizeof why);
    if (back == HUB_CONFIG_APPLIED) {
        snprintf(msg, sizeof msg, "%s; the previous configuration runs again", err->message);
        return settings_answer(c, 500, false, false, msg);
    }
    snprintf(msg, sizeof msg,
             "%s; the new configuration runs but is not saved, and putting the previous one back "
             "%s",
             err->message,
             back == HUB_CONFIG_PENDING ? "is not confirmed by the bridge loop yet" : "failed");
    return settings_answer(c, 500, true, false, msg);
}

static int post_settings(struct http_server *s, struct mg_connection *c)
{
    char *body;
    size_t len;
    int rc = read_body(c, &body, &len);
    if (rc != 0) {
        return rc;
    }
    cfg_t *base = malloc(sizeof *base);
    cfg_t *next = malloc(sizeof *next);
    cfg_error_t *err = malloc(sizeof *err);
    if (base == NULL || next == NULL || err == NULL) {
        free(base);
        free(next);
        free(err);
        free(body);
        return http_send_error(c, 503, "out of memory");
    }
    hub_config_lock(s->hub);
    hub_get_running_config(s->hub, base);
    cfg_err_t e = cfg_merge_json(base, body, len, next, err);
    if (e != CFG_OK) {
        rc = settings_error(c, 400, err->key, err->message);
    } else {
        rc = apply_and_save(s, c, base, next, err);
    }
    hub_config_unlock(s->hub);
    memset(base, 0, sizeof *base);
    memset(next, 0, sizeof *next);
    free(base);
    free(next);
    free(err);
    free(body);
    return rc;
}

/* Reads an unsigned query parameter; false when present but not a number. */
static bool query_u64(const struct mg_request_info *ri, const char *name, uint64_t *v)
{
    char buf[32];
    if (ri->query_string == NULL ||
        mg_get_var(ri->query_string, strlen(ri->query_string), name, buf, sizeof buf) < 0) {
        return true; /* absent: keep the default */
    }
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(buf, &end, 10);
    if (buf[0] == '\0' || buf[0] == '-' || end == buf || *end != '\0' || errno != 0) {
        return false;
    }
    *v = x;
    return true;
}

static int get_logs(struct mg_connection *c)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    uint64_t after = 0;
    uint64_t limit = 200;
    if (!query_u64(ri, "after", &after) || !query_u64(ri, "limit", &limit) || limit < 1u ||
        limit > LOG_RING_LINES) {
        return http_send_error(c, 400, "after must be a number, limit a number in 1..1000");
    }
    log_entry_t *e = malloc((size_t)limit * sizeof *e);
    if (e == NULL) {
        return http_send_error(c, 503, "out of memory");
    }
    size_t n = log_recent(after, e, (size_t)limit);
    uint64_t newest = log_last_seq();
    cJSON *o = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(o, "entries");
    uint64_t last = after;
    for (size_t i = 0; i < n; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "seq", (double)e[i].seq);
        cJSON_AddNumberToObject(x, "time_ms", (double)e[i].t_ms);
        cJSON_AddStringToObject(x, "level", log_level_name(e[i].level));
        cJSON_AddStringToObject(x, "message", e[i].text);
        cJSON_AddItemToArray(list, x);
        last = e[i].seq;
    }
    free(e);
    if (newest < last) {
        newest = last;
    }
    cJSON_AddNumberToObject(o, "last_seq", (double)last);
    cJSON_AddNumberToObject(o, "newest_seq", (double)newest);
    cJSON_AddBoolToObject(o, "more", newest > last);
    return send_cjson(c, 200, o);
}

static int get_doc(struct http_server *s, struct mg_connection *c, hub_doc_t doc, const char *what)
{
    char *json = hub_get(s->hub, doc, NULL);
    if (json == NULL) {
        char msg[128];
        snprintf(msg, sizeof msg, "no %s yet: the bridge has not published it", what);
        return http_send_error(c, 503, msg);
    }
    return send_owned(c, 200, json);
}

static cJSON *http_stats_json(struct http_server *s)
{
    unsigned long clients = 0, sent = 0, skipped = 0, dropped = 0;
    http_ws_stats(s->ws, &clients, &sent, &skipped, &dropped);
    pthread_mutex_lock(&s->stats_mu);
    unsigned long requests = s->requests;
    pthread_mutex_unlock(&s->stats_mu);
    cJSON *h = cJSON_CreateObject();
    cJSON_AddNumberToObject(h, "requests", (double)requests);
    cJSON_AddNumberToObject(h, "ws_clients", (double)clients);
    cJSON_AddNumberToObject(h, "ws_messages_sent", (double)sent);
    cJSON_AddNumberToObject(h, "ws_messages_skipped", (double)skipped);
    cJSON_AddNumberToObject(h, "ws_clients_dropped", (double)dropped);
    uint32_t p50 = 0, p99 = 0, mx = 0;
    uint64_t pushes = 0;
    http_ws_fanout(s->ws, &p50, &p99, &mx, &pushes);
    cJSON_AddNumberToObject(h, "ws_status_pushes", (double)pushes);
    cJSON_AddNumberToObject(h, "ws_fanout_p50_ms", p50 / 1000.0);
    cJSON_AddNumberToObject(h, "ws_fanout_p99_ms", p99 / 1000.0);
    cJSON_AddNumberToObject(h, "ws_fanout_max_ms", mx / 1000.0);
    return h;
}

static int get_diagnostics(struct http_server *s, struct mg_connection *c)
{
    char *json = hub_get(s->hub, HUB_DOC_DIAGNOSTICS, NULL);
    cJSON *o = json != NULL ? cJSON_Parse(json) : NULL;
    free(json);
    if (o == NULL || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "version", s->version);
        cJSON_AddNumberToObject(o, "uptime_ms", (double)(http_mono_ms() - s->start_ms));
        cJSON *d = cJSON_AddObjectToObject(o, "documents");
        uint64_t seq = 0;
        static const struct {
            hub_doc_t doc;
            const char *name;
        } docs[] = {{HUB_DOC_STATUS, "status_seq"},
                    {HUB_DOC_REGISTERS, "registers_seq"},
                    {HUB_DOC_HISTORY, "history_seq"}};
        for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
            seq = 0;
            free(hub_get(s->hub, docs[i].doc, &seq));
            cJSON_AddNumberToObject(d, docs[i].name, (double)seq);
        }
    }
    cJSON_DeleteItemFromObject(o, "http");
    cJSON_AddItemToObject(o, "http", http_stats_json(s));
    return send_cjson(c, 200, o);
}

char *http_can_json(const hub_can_entry_t *e, size_t n, uint64_t last_seq, bool ws_message)
{
    cJSON *o = cJSON_CreateObject();
    if (ws_message) {
        cJSON_AddStringToObject(o, "type", "can");
    } else {
        cJSON_AddNumberToObject(o, "last_seq", (double)(n > 0 ? e[n - 1].seq : last_seq));
    }
    cJSON *list = cJSON_AddArrayToObject(o, "frames");
    for (size_t i = 0; i < n; i++) {
        const vcan_frame_t *f = &e[i].frame;
        cJSON *x = cJSON_CreateObject();
        char hex[3u * 8u + 1u] = "";
        char idh[12];
        char text[192];
        size_t off = 0;
        for (unsigned k = 0; k < f->dlc && k < 8u; k++) {
            off += (size_t)snprintf(hex + off, sizeof hex - off, k ? " %02X" : "%02X", f->data[k]);
        }
        snprintf(idh, sizeof idh, "0x%03X", (unsigned)f->id);
        can_text_describe(f, text, sizeof text);
        cJSON_AddNumberToObject(x, "seq", (double)e[i].seq);
        cJSON_AddNumberToObject(x, "t_ms", (double)e[i].t_ms);
        cJSON_AddStringToObject(x, "dir", e[i].tx ? "tx" : "rx");
        cJSON_AddNumberToObject(x, "id", f->id);
        cJSON_AddStringToObject(x, "id_hex", idh);
        cJSON_AddNumberToObject(x, "dlc", f->dlc);
        cJSON_AddStringToObject(x, "data", hex);
        cJSON_AddStringToObject(x, "name", can_text_name((uint16_t)f->id));
        cJSON_AddStringToObject(x, "text", text);
        cJSON_AddItemToArray(list, x);
    }
    char *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

static int get_can(struct http_server *s, struct mg_connection *c)
{
    uint64_t after = 0;
    if (!query_u64(mg_get_request_info(c), "after", &after)) {
        return http_send_error(c, 400, "after must be a number");
    }
    hub_can_entry_t *e = malloc(HUB_CAN_RING * sizeof *e);
    if (e == NULL) {
        return http_send_error(c, 503, "out of memory");
    }
    size_t n = hub_can_since(s->hub, after, e, HUB_CAN_RING);
    char *json = http_can_json(e, n, after, false);
    free(e);
    return send_owned(c, 200, json);
}

static const char *write_code(int status)
{
    switch (status) {
    case SW_OK:
    case SW_UNVERIFIABLE:
        return "ok";
    case SW_RANGE:
        return "range";
    case SW_READ_ONLY:
        return "read_only";
    case SW_INTERLOCK:
        return "interlock";
    case SW_NO_SETTINGS:
        return "no_settings";
    case SW_NACK:
        return "nack";
    case SW_MISMATCH:
        return "mismatch";
    default:
        return "timeout";
    }
}

static int write_http_status(int status)
{
    switch (status) {
    case SW_OK:
    case SW_UNVERIFIABLE:
        return 200;
    case SW_RANGE:
    case SW_READ_ONLY:
    case SW_INTERLOCK:
        return 400;
    case SW_NO_SETTINGS:
        return 409;
    case SW_NACK:
    case SW_MISMATCH:
        return 502;
    default:
        return 504;
    }
}

static int write_error(struct mg_connection *c, int status, const char *code, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "success", false);
    cJSON_AddStringToObject(o, "code", code);
    cJSON_AddStringToObject(o, "error", msg);
    return send_cjson(c, status, o);
}

/* The body's shape (app/write_request.c), into the hub's request. */
static int parse_write(struct mg_connection *c, const char *body, size_t len, hub_write_req_t *req)
{
    wreq_t w;
    char msg[160];
    wreq_err_t e = wreq_parse(body, len, &w, msg, sizeof msg);
    if (e != WREQ_OK) {
        return write_error(c, 400, e == WREQ_READ_ONLY ? "read_only" : "bad_request", msg);
    }
    _Static_assert(WREQ_MAX_WORDS <= HUB_WRITE_MAX, "write sizes disagree");
    req->addr = w.addr;
    req->count = w.count;
    memcpy(req->values, w.values, w.count * sizeof w.values[0]);
    return 0;
}

static int post_write(struct http_server *s, struct mg_connection *c)
{
    char *body;
    size_t len;
    int rc = read_body(c, &body, &len);
    if (rc != 0) {
        return rc;
    }
    hub_write_req_t req;
    memset(&req, 0, sizeof req);
    rc = parse_write(c, body, len, &req);
    free(body);
    if (rc != 0) {
        return rc;
    }
    hub_write_result_t res;
    if (!hub_write(s->hub, &req, WRITE_TIMEOUT_MS, &res)) {
        bool busy = res.status == -EBUSY;
        return write_error(c, busy ? 409 : 504, busy ? "busy" : "timeout", res.message);
    }
    int status = write_http_status(res.status);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "success", status == 200);
    if (status != 200) {
        cJSON_AddStringToObject(o, "code", write_code(res.status));
    }
    cJSON_AddBoolToObject(o, "verified", res.status == SW_OK);
    cJSON_AddNumberToObject(o, "address", req.addr);
    cJSON *w = cJSON_AddArrayToObject(o, "written");
    for (unsigned i = 0; i < req.count; i++) {
        cJSON_AddItemToArray(w, cJSON_CreateNumber(req.values[i]));
    }
    if (res.status == SW_OK || res.status == SW_UNVERIFIABLE ||
        res.status == SW_MISMATCH) {
        cJSON *r = cJSON_AddArrayToObject(o, "readback");
        for (unsigned i = 0; i < req.count; i++) {
            cJSON_AddItemToArray(r, cJSON_CreateNumber(res.readback[i]));
        }
    }
    cJSON_AddStringToObject(o, status == 200 ? "message" : "error", res.message);
    return send_cjson(c, status, o);
}

/* Prometheus text exposition format 0.0.4, published by the metrics module. */
static int get_metrics(struct http_server *s, struct mg_connection *c)
{
    char *text = hub_get(s->hub, HUB_DOC_METRICS, NULL);
    if (text == NULL) {
        return http_send_error(c, 404, "no metrics published (yet)");
    }
    size_t len = strlen(text);
    mg_printf(c,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
              "Content-Length: %zu\r\nCache-Control: no-store\r\n\r\n",
              len);
    mg_write(c, text, len);
    free(text);
    return 200;
}

int http_api_handle(struct http_server *s, struct mg_connection *c)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *m = ri->request_method;
    const char *uri = ri->local_uri;
    bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    bool post = strcmp(m, "POST") == 0;
    bool del = strcmp(m, "DELETE") == 0;
    int rc = http_require_auth(s, c, !get);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(uri, "/api/status") == 0) {
        return get ? get_doc(s, c, HUB_DOC_STATUS, "status") : method_not_allowed(c, "GET");
    }
    if (strcmp(uri, "/api/settings") == 0) {
        if (get) {
            return get_settings(s, c);
        }
        return post ? post_settings(s, c) : method_not_allowed(c, "GET, POST");
    }
    if (strcmp(uri, "/api/logs") == 0) {
        if (get) {
            return get_logs(c);
        }
        if (del) {
            log_clear_recent();
            log_info("log cleared through the web API");
            return http_send_json(c, 200, "{\"success\":true,\"message\":\"log cleared\"}", NULL);
        }
        return method_not_allowed(c, "GET, DELETE");
    }
    if (strcmp(uri, "/api/diagnostics") == 0) {
        return get ? get_diagnostics(s, c) : method_not_allowed(c, "GET");
    }
    if (strcmp(uri, "/api/tinybms/registers") == 0) {
        return get ? get_doc(s, c, HUB_DOC_REGISTERS, "register document")
                   : method_not_allowed(c, "GET");
    }
    if (strcmp(uri, "/api/tinybms/write") == 0) {
        return post ? post_write(s, c) : method_not_allowed(c, "POST");
    }
    if (strcmp(uri, "/api/history") == 0) {
        return get ? get_doc(s, c, HUB_DOC_HISTORY, "history") : method_not_allowed(c, "GET");
    }
    if (strcmp(uri, "/api/can") == 0) {
        return get ? get_can(s, c) : method_not_allowed(c, "GET");
    }
    if (strcmp(uri, "/metrics") == 0) {
        return get ? get_metrics(s, c) : method_not_allowed(c, "GET");
    }
    return http_send_error(c, 404, "no such API endpoint (see docs/api.md)");
}
