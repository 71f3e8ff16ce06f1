/* The REST API of docs/api.md, transport-neutral (api.h). */
#include "api.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "can_text.h"
#include "write_request.h"

bool api_ops_ok(const api_ops_t *o)
{
    return o != NULL && o->get_doc != NULL && o->running_config != NULL &&
           o->config_lock != NULL && o->apply_config != NULL && o->save_config != NULL &&
           o->config_location != NULL && o->write_registers != NULL && o->can_since != NULL &&
           o->logs != NULL && o->clear_logs != NULL && o->log != NULL && o->version != NULL &&
           o->uptime_ms != NULL;
}

static void say(const api_ops_t *ops, void *ctx, api_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void say(const api_ops_t *ops, void *ctx, api_log_level_t level, const char *fmt, ...)
{
    char line[640];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ops->log(ctx, level, line);
}

/* ---- responses ---- */

static const char *const JSON = "application/json";

static void answer_owned(api_response_t *r, int status, char *body)
{
    if (body == NULL) {
        r->status = 500;
        r->body = NULL;
        return;
    }
    r->status = status;
    r->content_type = JSON;
    r->body = body;
}

static void answer_text(api_response_t *r, int status, const char *body)
{
    size_t n = strlen(body);
    char *copy = malloc(n + 1u);
    if (copy != NULL) {
        memcpy(copy, body, n + 1u);
    }
    answer_owned(r, status, copy);
}

static void answer_cjson(api_response_t *r, int status, cJSON *doc)
{
    char *text = doc != NULL ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    answer_owned(r, status, text);
}

static void answer_error(api_response_t *r, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "success", false);
    cJSON_AddStringToObject(o, "error", msg);
    answer_cjson(r, status, o);
}

/* A TinyBMS write's error: with the code of docs/api.md. */
static void write_error(api_response_t *r, int status, const char *code, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "success", false);
    cJSON_AddStringToObject(o, "code", code);
    cJSON_AddStringToObject(o, "error", msg);
    answer_cjson(r, status, o);
}

static void method_not_allowed(api_response_t *r, const char *allow)
{
    (void)snprintf(r->headers, sizeof r->headers, "Allow: %s\r\n", allow);
    answer_text(r, 405, "{\"success\":false,\"error\":\"method not allowed\"}");
}

/* ---- query strings ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool api_query_get(const char *query, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = query; p != NULL && *p != '\0';) {
        const char *end = strchr(p, '&');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t o = 0;
            for (size_t i = nl + 1u; i < len; i++) {
                char c = p[i];
                if (c == '+') {
                    c = ' ';
                } else if (c == '%' && i + 2u < len + 0u && hexval(p[i + 1u]) >= 0 &&
                           hexval(p[i + 2u]) >= 0) {
                    c = (char)(hexval(p[i + 1u]) * 16 + hexval(p[i + 2u]));
                    i += 2u;
                }
                if (o + 1u >= cap) {
                    return false;
                }
                out[o++] = c;
            }
            out[o] = '\0';
            return true;
        }
        p = end != NULL ? end + 1 : NULL;
    }
    return false;
}

/* An unsigned query parameter; false when present but not a number. */
static bool query_u64(const char *query, const char *name, uint64_t *v)
{
    char buf[32];
    if (query == NULL || !api_query_get(query, name, buf, sizeof buf)) {
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

/* ---- settings ---- */

static void settings_error(api_response_t *r, int status, const char *key, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "success", false);
    cJSON_AddStringToObject(o, "key", key);
    cJSON_AddStringToObject(o, "error", msg);
    answer_cjson(r, status, o);
}

/* A settings answer after the loop was asked: whether the posted
 * configuration runs now and whether the file holds it. */
static void settings_answer(api_response_t *r, int status, bool applied, bool saved,
                            const char *text, const cfg_warnings_t *warn)
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
    /* Keys accepted but not used here (the seed's ESP32 keys...). */
    cJSON *w = cJSON_AddArrayToObject(o, "warnings");
    for (size_t i = 0; warn != NULL && i < warn->count; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "key", warn->item[i].key);
        cJSON_AddStringToObject(x, "message", warn->item[i].message);
        cJSON_AddItemToArray(w, x);
    }
    answer_cjson(r, status, o);
}

static void get_settings(const api_ops_t *ops, void *ctx, api_response_t *r)
{
    cfg_t *cfg = malloc(sizeof *cfg);
    if (cfg == NULL) {
        answer_error(r, 503, "out of memory");
        return;
    }
    ops->running_config(ctx, cfg);
    char *json = cfg_to_json(cfg, true);
    memset(cfg, 0, sizeof *cfg);
    free(cfg);
    answer_owned(r, 200, json);
}

/*
 * Validated -> applied by the loop -> saved, in that order (docs/api.md):
 * a configuration the loop refuses never reaches the file, and a crash
 * between applying and saving leaves the previous file, which the bridge
 * ran with before (the client got no 200, so it knows the change is not
 * made). Saving first would let a refused configuration sit in the file
 * and stop the next start. The config lock, held throughout, keeps
 * read-merge-apply-save of two clients from interleaving.
 */
static void apply_and_save(const api_ops_t *ops, void *ctx, api_response_t *r,
                           const cfg_t *base, const cfg_t *next, cfg_error_t *err,
                           const cfg_warnings_t *warn)
{
    char why[256];
    char msg[4608];
    const char *where = ops->config_location(ctx);
    api_apply_t out = ops->apply_config(ctx, next, why, sizeof why);
    switch (out) {
    case API_APPLY_BUSY:
        settings_answer(r, 409, false, false,
                        "an earlier settings change is not applied by the bridge loop yet; "
                        "nothing changed, try again",
                        warn);
        return;
    case API_APPLY_REFUSED:
        say(ops, ctx, API_LOG_ERROR, "POST /api/settings: the bridge refused the configuration: %s",
            why);
        (void)snprintf(msg, sizeof msg,
                       "the bridge refused the configuration: %s; nothing changed (%s is as it "
                       "was)",
                       why, where);
        settings_answer(r, 422, false, false, msg, warn);
        return;
    case API_APPLY_PENDING:
    case API_APPLY_APPLIED:
        break;
    }
    bool applied = out == API_APPLY_APPLIED;
    if (ops->save_config(ctx, next, err) == CFG_OK) {
        if (applied) {
            say(ops, ctx, API_LOG_INFO,
                "configuration changed through the web API, applied and saved to %s", where);
            (void)snprintf(msg, sizeof msg, "configuration applied and saved to %s", where);
            settings_answer(r, 200, true, true, msg, warn);
            return;
        }
        /* The loop did not answer in time (stalled, or stopping): the
         * configuration stays posted and is saved, so it runs once the loop
         * takes it, or at the next start. */
        say(ops, ctx, API_LOG_WARNING,
            "configuration saved to %s; the bridge loop has not applied it within %d ms", where,
            API_SETTINGS_APPLY_TIMEOUT_MS);
        (void)snprintf(msg, sizeof msg,
                       "configuration saved to %s but not applied yet: the bridge loop did not "
                       "confirm within %d ms; it will be applied when the loop takes it (GET "
                       "/api/settings shows it once it runs)",
                       where, API_SETTINGS_APPLY_TIMEOUT_MS);
        settings_answer(r, 202, false, true, msg, warn);
        return;
    }
    say(ops, ctx, API_LOG_ERROR, "POST /api/settings: %s", err->message);
    if (!applied) {
        (void)snprintf(msg, sizeof msg,
                       "%s; the change is still queued for the bridge loop and will run once it "
                       "takes it, but only until the next start",
                       err->message);
        settings_answer(r, 500, false, false, msg, warn);
        return;
    }
    /* Applied but not saved (a reported save error leaves the old file in
     * place): put the previous configuration back in the loop too, so a
     * failed save changes nothing. */
    api_apply_t back = ops->apply_config(ctx, base, why, sizeof why);
    if (back == API_APPLY_APPLIED) {
        (void)snprintf(msg, sizeof msg, "%s; the previous configuration runs again",
                       err->message);
        settings_answer(r, 500, false, false, msg, warn);
        return;
    }
    (void)snprintf(msg, sizeof msg,
                   "%s; the new configuration runs but is not saved, and putting the previous "
                   "one back %s",
                   err->message,
                   back == API_APPLY_PENDING ? "is not confirmed by the bridge loop yet"
                                             : "failed");
    settings_answer(r, 500, true, false, msg, warn);
}

static void post_settings(const api_ops_t *ops, void *ctx, const api_request_t *q,
                          api_response_t *r)
{
    cfg_t *base = malloc(sizeof *base);
    cfg_t *next = malloc(sizeof *next);
    cfg_error_t *err = malloc(sizeof *err);
    cfg_warnings_t *warn = malloc(sizeof *warn); /* ~9 KB: not on a server thread's stack */
    if (base == NULL || next == NULL || err == NULL || warn == NULL) {
        free(base);
        free(next);
        free(err);
        free(warn);
        answer_error(r, 503, "out of memory");
        return;
    }
    ops->config_lock(ctx, true);
    ops->running_config(ctx, base);
    cfg_err_t e = cfg_merge_json_warn(base, q->body != NULL ? q->body : "", q->body_len, next,
                                      warn, err);
    if (e != CFG_OK) {
        settings_error(r, 400, err->key, err->message);
    } else {
        for (size_t i = 0; i < warn->count; i++) {
            say(ops, ctx, API_LOG_WARNING, "POST /api/settings: %s", warn->item[i].message);
        }
        apply_and_save(ops, ctx, r, base, next, err, warn);
    }
    ops->config_lock(ctx, false);
    memset(base, 0, sizeof *base);
    memset(next, 0, sizeof *next);
    free(base);
    free(next);
    free(err);
    free(warn);
}

/* ---- logs, documents, diagnostics, CAN ---- */

static void get_logs(const api_ops_t *ops, void *ctx, const api_request_t *q, api_response_t *r)
{
    uint64_t after = 0;
    uint64_t limit = 200;
    if (!query_u64(q->query, "after", &after) || !query_u64(q->query, "limit", &limit) ||
        limit < 1u || limit > API_LOG_MAX) {
        answer_error(r, 400, "after must be a number, limit a number in 1..1000");
        return;
    }
    api_log_entry_t *e = malloc((size_t)limit * sizeof *e);
    if (e == NULL) {
        answer_error(r, 503, "out of memory");
        return;
    }
    uint64_t newest = 0;
    size_t n = ops->logs(ctx, after, e, (size_t)limit, &newest);
    cJSON *o = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(o, "entries");
    uint64_t last = after;
    for (size_t i = 0; i < n; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "seq", (double)e[i].seq);
        cJSON_AddNumberToObject(x, "time_ms", (double)e[i].t_ms);
        cJSON_AddStringToObject(x, "level", e[i].level);
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
    answer_cjson(r, 200, o);
}

static void get_doc(const api_ops_t *ops, void *ctx, api_response_t *r, api_doc_t doc,
                    const char *what)
{
    char *json = ops->get_doc(ctx, doc, 0u, NULL);
    if (json == NULL) {
        char msg[128];
        (void)snprintf(msg, sizeof msg, "no %s yet: the bridge has not published it", what);
        answer_error(r, 503, msg);
        return;
    }
    answer_owned(r, 200, json);
}

/* ---- packs ---- */

static size_t pack_count(const api_ops_t *ops, void *ctx)
{
    return ops->pack_count != NULL ? ops->pack_count(ctx) : 1u;
}

/*
 * Checks a requested pack (1-based) against the packs the bridge reads.
 * Pack 1 is always accepted (the document of a one-pack bridge, and what
 * no parameter asks for). Returns 0, or the status of the error already
 * answered (400 no such pack, 503 not known yet).
 */
static int check_pack(const api_ops_t *ops, void *ctx, api_response_t *r, uint64_t pack,
                      bool is_write)
{
    char msg[160];
    size_t n = pack_count(ops, ctx);
    if (pack == 1u) {
        return 0;
    }
    int status = 400;
    if (n == 0u && pack >= 1u && pack <= CFG_MAX_PACKS) {
        status = 503;
        (void)snprintf(msg, sizeof msg,
                       "pack %u: the bridge has not published how many packs it reads yet",
                       (unsigned)pack);
    } else if (n == 0u) {
        (void)snprintf(msg, sizeof msg, "pack must be a number in 1..%u", (unsigned)CFG_MAX_PACKS);
    } else if (n == 1u) {
        (void)snprintf(msg, sizeof msg, "pack must be 1: the bridge reads one pack");
    } else if (pack < 1u || pack > n) {
        (void)snprintf(msg, sizeof msg,
                       "pack must be a number in 1..%zu (the bridge reads %zu packs)", n, n);
    } else {
        return 0;
    }
    if (is_write) {
        write_error(r, status, status == 503 ? "not_ready" : "bad_request", msg);
    } else {
        answer_error(r, status, msg);
    }
    return status;
}

/* GET /api/tinybms/registers?pack=N: pack N's register document. */
static void get_registers(const api_ops_t *ops, void *ctx, const api_request_t *q,
                          api_response_t *r)
{
    uint64_t pack = 1u;
    if (!query_u64(q->query, "pack", &pack)) {
        answer_error(r, 400, "pack must be a pack number (1 = the first pack)");
        return;
    }
    if (check_pack(ops, ctx, r, pack, false) != 0) {
        return;
    }
    char *json = ops->get_doc(ctx, API_DOC_REGISTERS, (size_t)(pack - 1u), NULL);
    if (json == NULL) {
        char msg[128];
        if (pack == 1u) {
            (void)snprintf(msg, sizeof msg,
                           "no register document yet: the bridge has not published it");
        } else {
            (void)snprintf(msg, sizeof msg,
                           "no register document for pack %u yet: the bridge has not published it",
                           (unsigned)pack);
        }
        answer_error(r, 503, msg);
        return;
    }
    answer_owned(r, 200, json);
}

static void get_diagnostics(const api_ops_t *ops, void *ctx, api_response_t *r)
{
    char *json = ops->get_doc(ctx, API_DOC_DIAGNOSTICS, 0u, NULL);
    cJSON *o = json != NULL ? cJSON_Parse(json) : NULL;
    free(json);
    if (o == NULL || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "version", ops->version(ctx));
        cJSON_AddNumberToObject(o, "uptime_ms", (double)ops->uptime_ms(ctx));
        cJSON *d = cJSON_AddObjectToObject(o, "documents");
        static const struct {
            api_doc_t doc;
            const char *name;
        } docs[] = {{API_DOC_STATUS, "status_seq"},
                    {API_DOC_REGISTERS, "registers_seq"},
                    {API_DOC_HISTORY, "history_seq"}};
        for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
            uint64_t seq = 0;
            free(ops->get_doc(ctx, docs[i].doc, 0u, &seq));
            cJSON_AddNumberToObject(d, docs[i].name, (double)seq);
        }
    }
    cJSON_DeleteItemFromObject(o, "http");
    api_server_stats_t st;
    if (ops->server_stats != NULL && ops->server_stats(ctx, &st)) {
        cJSON *h = cJSON_AddObjectToObject(o, "http");
        cJSON_AddNumberToObject(h, "requests", (double)st.requests);
        cJSON_AddNumberToObject(h, "ws_clients", (double)st.ws_clients);
        cJSON_AddNumberToObject(h, "ws_messages_sent", (double)st.ws_messages_sent);
        cJSON_AddNumberToObject(h, "ws_messages_skipped", (double)st.ws_messages_skipped);
        cJSON_AddNumberToObject(h, "ws_clients_dropped", (double)st.ws_clients_dropped);
        cJSON_AddNumberToObject(h, "ws_status_pushes", (double)st.ws_status_pushes);
        cJSON_AddNumberToObject(h, "ws_fanout_p50_ms", st.ws_fanout_p50_us / 1000.0);
        cJSON_AddNumberToObject(h, "ws_fanout_p99_ms", st.ws_fanout_p99_us / 1000.0);
        cJSON_AddNumberToObject(h, "ws_fanout_max_ms", st.ws_fanout_max_us / 1000.0);
    }
    answer_cjson(r, 200, o);
}

char *api_can_json(const api_can_entry_t *e, size_t n, uint64_t last_seq, bool ws_message)
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
        (void)snprintf(idh, sizeof idh, "0x%03X", (unsigned)f->id);
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

static void get_can(const api_ops_t *ops, void *ctx, const api_request_t *q, api_response_t *r)
{
    uint64_t after = 0;
    if (!query_u64(q->query, "after", &after)) {
        answer_error(r, 400, "after must be a number");
        return;
    }
    api_can_entry_t *e = malloc(API_CAN_RING * sizeof *e);
    if (e == NULL) {
        answer_error(r, 503, "out of memory");
        return;
    }
    size_t n = ops->can_since(ctx, after, e, API_CAN_RING);
    char *json = api_can_json(e, n, after, false);
    free(e);
    answer_owned(r, 200, json);
}

/* ---- TinyBMS writes ---- */

static const char *write_code(sw_status_t status)
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

static int write_http_status(sw_status_t status)
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

/* The optional "pack" of a write body (1-based; absent = 1). The body is
 * already known to be a JSON object of sane depth (wreq_parse). */
static bool write_pack(const api_request_t *q, uint64_t *pack, char *msg, size_t cap)
{
    cJSON *o = cJSON_ParseWithLength(q->body != NULL ? q->body : "", q->body_len);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "pack");
    bool ok = true;
    if (p != NULL) {
        double d = cJSON_IsNumber(p) ? p->valuedouble : -1.0;
        ok = d >= 1.0 && d <= 255.0 && d == (double)(int)d;
        if (ok) {
            *pack = (uint64_t)d;
        } else {
            (void)snprintf(msg, cap, "pack must be a pack number (1 = the first pack)");
        }
    }
    cJSON_Delete(o);
    return ok;
}

static void post_write(const api_ops_t *ops, void *ctx, const api_request_t *q, api_response_t *r)
{
    wreq_t w;
    char msg[160];
    wreq_err_t e = wreq_parse(q->body != NULL ? q->body : "", q->body_len, &w, msg, sizeof msg);
    if (e != WREQ_OK) {
        write_error(r, 400, e == WREQ_READ_ONLY ? "read_only" : "bad_request", msg);
        return;
    }
    uint64_t pack = 1u;
    if (!write_pack(q, &pack, msg, sizeof msg)) {
        write_error(r, 400, "bad_request", msg);
        return;
    }
    if (check_pack(ops, ctx, r, pack, true) != 0) {
        return;
    }
    sw_result_t res;
    memset(&res, 0, sizeof res);
    api_write_t out =
        ops->write_registers(ctx, (size_t)(pack - 1u), w.addr, w.values, w.count, &res);
    if (out != API_WRITE_DONE) {
        bool busy = out == API_WRITE_BUSY;
        write_error(r, busy ? 409 : 504, busy ? "busy" : "timeout",
                    busy ? "another TinyBMS write is in progress"
                         : "the TinyBMS did not confirm the write in time");
        return;
    }
    int status = write_http_status(res.status);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "success", status == 200);
    if (status != 200) {
        cJSON_AddStringToObject(o, "code", write_code(res.status));
    }
    cJSON_AddBoolToObject(o, "verified", res.status == SW_OK);
    cJSON_AddNumberToObject(o, "pack", (double)pack);
    cJSON_AddNumberToObject(o, "address", w.addr);
    cJSON *wa = cJSON_AddArrayToObject(o, "written");
    for (unsigned i = 0; i < w.count; i++) {
        cJSON_AddItemToArray(wa, cJSON_CreateNumber(w.values[i]));
    }
    if (res.status == SW_OK || res.status == SW_UNVERIFIABLE || res.status == SW_MISMATCH) {
        cJSON *rb = cJSON_AddArrayToObject(o, "readback");
        for (unsigned i = 0; i < w.count; i++) {
            cJSON_AddItemToArray(rb, cJSON_CreateNumber(res.readback[i]));
        }
    }
    cJSON_AddStringToObject(o, status == 200 ? "message" : "error", res.message);
    answer_cjson(r, status, o);
}

/* Prometheus text exposition format 0.0.4, published by the platform. */
static void get_metrics(const api_ops_t *ops, void *ctx, api_response_t *r)
{
    char *text = ops->get_doc(ctx, API_DOC_METRICS, 0u, NULL);
    if (text == NULL) {
        answer_error(r, 404, "no metrics published (yet)");
        return;
    }
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    r->body = text;
}

/* ---- routing ---- */

bool api_is_api_path(const char *path)
{
    return path != NULL && (strncmp(path, "/api/", 5) == 0 || strcmp(path, "/metrics") == 0);
}

void api_handle(const api_ops_t *ops, void *ctx, const api_request_t *q, api_response_t *r)
{
    memset(r, 0, sizeof *r);
    r->content_type = JSON;
    if (!api_ops_ok(ops) || q == NULL || q->method == NULL || q->path == NULL) {
        answer_text(r, 500, "{\"success\":false,\"error\":\"the API is not set up\"}");
        return;
    }
    const char *m = q->method;
    const char *uri = q->path;
    bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    bool post = strcmp(m, "POST") == 0;
    bool del = strcmp(m, "DELETE") == 0;
    if (strcmp(uri, "/api/status") == 0) {
        get ? get_doc(ops, ctx, r, API_DOC_STATUS, "status") : method_not_allowed(r, "GET");
    } else if (strcmp(uri, "/api/settings") == 0) {
        if (get) {
            get_settings(ops, ctx, r);
        } else if (post) {
            post_settings(ops, ctx, q, r);
        } else {
            method_not_allowed(r, "GET, POST");
        }
    } else if (strcmp(uri, "/api/logs") == 0) {
        if (get) {
            get_logs(ops, ctx, q, r);
        } else if (del) {
            ops->clear_logs(ctx);
            ops->log(ctx, API_LOG_INFO, "log cleared through the web API");
            answer_text(r, 200, "{\"success\":true,\"message\":\"log cleared\"}");
        } else {
            method_not_allowed(r, "GET, DELETE");
        }
    } else if (strcmp(uri, "/api/diagnostics") == 0) {
        get ? get_diagnostics(ops, ctx, r) : method_not_allowed(r, "GET");
    } else if (strcmp(uri, "/api/tinybms/registers") == 0) {
        get ? get_registers(ops, ctx, q, r) : method_not_allowed(r, "GET");
    } else if (strcmp(uri, "/api/tinybms/write") == 0) {
        post ? post_write(ops, ctx, q, r) : method_not_allowed(r, "POST");
    } else if (strcmp(uri, "/api/history") == 0) {
        get ? get_doc(ops, ctx, r, API_DOC_HISTORY, "history") : method_not_allowed(r, "GET");
    } else if (strcmp(uri, "/api/can") == 0) {
        get ? get_can(ops, ctx, q, r) : method_not_allowed(r, "GET");
    } else if (strcmp(uri, "/metrics") == 0) {
        get ? get_metrics(ops, ctx, r) : method_not_allowed(r, "GET");
    } else {
        answer_error(r, 404, "no such API endpoint (see docs/api.md)");
    }
    if (r->body == NULL) {
        /* out of memory on the way */
        r->status = 500;
        r->content_type = JSON;
    }
}
