/*
 * WebSocket /ws (docs/api.md "WebSocket /ws"), the firmware's twin of
 * port/linux/http_ws.c: {"type":"status","data":...} right after
 * connecting and on each new status, at most one per
 * web_server.ws_interval_ms; {"type":"can","frames":[...]} every 250 ms;
 * the client's {"type":"subscribe",...} (app/ws_subscribe.h).
 *
 * A sender task builds each message once and queues its delivery onto the
 * server task (httpd_queue_work), which writes it to every client that
 * wants it: only that task may write to a session, since it answers pings
 * and closes on the same sockets. At most one message of a kind is queued:
 * while the previous one is still being written the next is skipped (a
 * viewer gets the newest status, never a backlog). A write that fails,
 * after esp_http_server's send_wait_timeout (5 s) for a stalled viewer,
 * drops that client: its session is closed. That stall holds the server
 * task, so pages and the API wait up to 5 s once per vanished viewer.
 *
 * Credentials and the client limit are checked before the handshake
 * (CONFIG_HTTPD_WS_PRE_HANDSHAKE_CB_SUPPORT): a refused upgrade gets the
 * same 401/403/503 JSON answer as on Linux.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "esp_http_server.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

#include "api.h"
#include "hub_api.h"
#include "log.h"
#include "samples.h"
#include "web_internal.h"
#include "ws_subscribe.h"

#if !CONFIG_HTTPD_WS_SUPPORT || !CONFIG_HTTPD_WS_PRE_HANDSHAKE_CB_SUPPORT
#error "/ws needs CONFIG_HTTPD_WS_SUPPORT=y and CONFIG_HTTPD_WS_PRE_HANDSHAKE_CB_SUPPORT=y"
#endif

#define WS_CAN_PERIOD_MS 250u
#define WS_CAN_BATCH     64u /* frames per message; more wait for the next one */
#define WS_PUSH_SLACK_MS 50u /* the bridge publishes once a second, give or take */
/* The sender's deepest call is api_can_json (cJSON and can_text, under
 * 1 KB by -fstack-usage on RV32) or a log line; 6 KB leaves room. */
#define WS_TASK_STACK    6144u
#define WS_TASK_PRIORITY 4 /* below the server task: it delivers */

typedef enum {
    WS_STATUS = 0, /* a new status, to every client that wants it */
    WS_FRESH,      /* the current status, to clients that just connected */
    WS_CAN,
    WS_KINDS_
} ws_kind_t;

typedef struct {
    int fd; /* -1: free slot */
    ws_sub_t sub;
    bool fresh; /* connected, no status sent yet */
} ws_client_t;

typedef struct {
    ws_kind_t kind;
    uint64_t made_ms;
    char *text; /* malloc'd */
    size_t len;
} ws_msg_t;

static struct {
    httpd_handle_t hd;
    hub_t *hub;
    hub_api_t api;      /* for hub_api_ops.can_since */
    pthread_mutex_t mu; /* everything below; server task and sender task */
    ws_client_t clients[WEB_WS_MAX];
    unsigned count;
    bool in_flight[WS_KINDS_];
    uint64_t sent, skipped, dropped;
    samples_t *fanout; /* status push: made -> written to the last client, us */
    uint32_t *scratch; /* percentiles */
} ws;

/* ---- server task side ---- */

static ws_client_t *find_client(int fd)
{
    for (size_t i = 0; i < WEB_WS_MAX; i++) {
        if (ws.clients[i].fd == fd) {
            return &ws.clients[i];
        }
    }
    return NULL;
}

/* Before the handshake: credentials (reads: only with auth_read), then a
 * slot within web_server.ws_max_clients and WEB_WS_MAX. */
static esp_err_t on_handshake(httpd_req_t *r)
{
    cfg_t *cfg = malloc(sizeof *cfg);
    if (cfg == NULL) {
        web_send_error(r, 503, "out of memory");
        return ESP_FAIL;
    }
    hub_get_running_config(ws.hub, cfg);
    int rc = web_check_auth(r, cfg, false);
    int32_t limit = cfg->web_server.ws_max_clients;
    memset(cfg, 0, sizeof *cfg);
    free(cfg);
    if (rc != 0) {
        return ESP_FAIL;
    }
    if (limit > WEB_WS_MAX) {
        limit = WEB_WS_MAX;
    }
    pthread_mutex_lock(&ws.mu);
    ws_client_t *c = ws.count < (unsigned)limit ? find_client(-1) : NULL;
    if (c != NULL) {
        *c = (ws_client_t){.fd = httpd_req_to_sockfd(r), .sub = {true, true}, .fresh = true};
        ws.count++;
    }
    pthread_mutex_unlock(&ws.mu);
    if (c == NULL) {
        web_send_error(r, 503,
                       "too many WebSocket clients (web_server.ws_max_clients; "
                       "this firmware allows at most 4)");
        return ESP_FAIL;
    }
    return ESP_OK;
}

/* A frame from a client (or a GET /ws without the upgrade). */
static esp_err_t on_frame(httpd_req_t *r)
{
    int fd = httpd_req_to_sockfd(r);
    if (httpd_ws_get_fd_info(r->handle, fd) != HTTPD_WS_CLIENT_WEBSOCKET) {
        return web_send_error(r, 400, "/ws is a WebSocket: send an Upgrade request");
    }
    httpd_ws_frame_t f = {0};
    if (httpd_ws_recv_frame(r, &f, 0) != ESP_OK) {
        return ESP_FAIL;
    }
    if (f.len > WS_SUBSCRIBE_MAX) {
        /* nothing we take is that long; reading it just to drop it costs RAM */
        log_debug("WebSocket client closed: it sent a %u-byte message", (unsigned)f.len);
        return ESP_FAIL;
    }
    uint8_t buf[WS_SUBSCRIBE_MAX + 1u];
    f.payload = buf;
    if (f.len > 0 && httpd_ws_recv_frame(r, &f, f.len) != ESP_OK) {
        return ESP_FAIL;
    }
    if (f.type == HTTPD_WS_TYPE_TEXT) {
        pthread_mutex_lock(&ws.mu);
        ws_client_t *c = find_client(fd);
        if (c != NULL) {
            ws_subscribe_apply((const char *)buf, f.len, &c->sub);
        }
        pthread_mutex_unlock(&ws.mu);
    }
    return ESP_OK;
}

void web_ws_closed(int fd)
{
    pthread_mutex_lock(&ws.mu);
    ws_client_t *c = fd >= 0 ? find_client(fd) : NULL;
    if (c != NULL) {
        c->fd = -1;
        ws.count--;
    }
    pthread_mutex_unlock(&ws.mu);
}

/* Which clients m goes to; a status clears their fresh mark. */
static size_t targets(const ws_msg_t *m, int *fds)
{
    size_t n = 0;
    for (size_t i = 0; i < WEB_WS_MAX; i++) {
        ws_client_t *c = &ws.clients[i];
        bool want = c->fd >= 0 && (m->kind == WS_CAN ? c->sub.can : c->sub.status) &&
                    (m->kind != WS_FRESH || c->fresh);
        if (want) {
            fds[n++] = c->fd;
            if (m->kind != WS_CAN) {
                c->fresh = false;
            }
        }
    }
    return n;
}

/* Runs on the server task (httpd_queue_work). */
static void deliver(void *arg)
{
    ws_msg_t *m = arg;
    int fds[WEB_WS_MAX];
    pthread_mutex_lock(&ws.mu);
    size_t n = targets(m, fds);
    pthread_mutex_unlock(&ws.mu);
    unsigned long sent = 0, dropped = 0;
    for (size_t i = 0; i < n; i++) {
        if (httpd_ws_get_fd_info(ws.hd, fds[i]) != HTTPD_WS_CLIENT_WEBSOCKET) {
            continue; /* closing */
        }
        httpd_ws_frame_t f = {
            .type = HTTPD_WS_TYPE_TEXT, .payload = (uint8_t *)m->text, .len = m->len};
        if (httpd_ws_send_frame_async(ws.hd, fds[i], &f) == ESP_OK) {
            sent++;
            /* pushes count as use: the LRU purge closes idle pages first */
            httpd_sess_update_lru_counter(ws.hd, fds[i]);
        } else {
            dropped++;
            httpd_sess_trigger_close(ws.hd, fds[i]);
        }
    }
    uint64_t took_us = (hub_api_mono_ms() - m->made_ms) * 1000u;
    pthread_mutex_lock(&ws.mu);
    ws.sent += sent;
    ws.dropped += dropped;
    ws.in_flight[m->kind] = false;
    if (m->kind == WS_STATUS && sent > 0 && ws.fanout != NULL) {
        samples_add(ws.fanout, took_us > UINT32_MAX ? UINT32_MAX : (uint32_t)took_us);
    }
    pthread_mutex_unlock(&ws.mu);
    if (dropped > 0) {
        log_warn("WebSocket client dropped: it does not take its messages");
    }
    free(m->text);
    free(m);
}

/* ---- sender task side ---- */

/* Queues text (malloc'd, taken) for the clients of kind; `wanted` of them
 * count as skipped when the previous message of that kind is not out. */
static void post(ws_kind_t kind, char *text, unsigned wanted)
{
    ws_msg_t *m = text != NULL ? malloc(sizeof *m) : NULL;
    if (m == NULL) {
        free(text);
        return;
    }
    *m = (ws_msg_t){.kind = kind, .made_ms = hub_api_mono_ms(), .text = text, .len = strlen(text)};
    pthread_mutex_lock(&ws.mu);
    bool busy = ws.in_flight[kind];
    ws.in_flight[kind] = true;
    pthread_mutex_unlock(&ws.mu);
    if (!busy && httpd_queue_work(ws.hd, deliver, m) == ESP_OK) {
        return; /* deliver owns m now */
    }
    pthread_mutex_lock(&ws.mu);
    if (!busy) {
        ws.in_flight[kind] = false;
    }
    if (kind != WS_FRESH) {
        ws.skipped += wanted;
    }
    pthread_mutex_unlock(&ws.mu);
    free(m->text);
    free(m);
}

static char *status_message(void)
{
    char *doc = hub_get(ws.hub, HUB_DOC_STATUS, NULL);
    if (doc == NULL) {
        return NULL;
    }
    static const char head[] = "{\"type\":\"status\",\"data\":";
    size_t dl = strlen(doc);
    char *m = malloc(sizeof head - 1u + dl + 2u);
    if (m != NULL) {
        memcpy(m, head, sizeof head - 1u);
        memcpy(m + sizeof head - 1u, doc, dl);
        memcpy(m + sizeof head - 1u + dl, "}", 2u);
    }
    free(doc);
    return m;
}

/* How many clients want status and CAN, and whether one waits for its
 * first status. */
static void wanted(unsigned *status, unsigned *can, bool *fresh)
{
    *status = *can = 0;
    *fresh = false;
    pthread_mutex_lock(&ws.mu);
    for (size_t i = 0; i < WEB_WS_MAX; i++) {
        const ws_client_t *c = &ws.clients[i];
        if (c->fd >= 0) {
            *status += c->sub.status ? 1u : 0u;
            *can += c->sub.can ? 1u : 0u;
            *fresh = *fresh || (c->fresh && c->sub.status);
        }
    }
    pthread_mutex_unlock(&ws.mu);
}

/* The newest CAN sequence number: viewers get the frames still to come. */
static uint64_t newest_can_seq(api_can_entry_t *buf)
{
    uint64_t seq = 0;
    size_t n;
    while ((n = hub_api_ops.can_since(&ws.api, seq, buf, WS_CAN_BATCH)) > 0) {
        seq = buf[n - 1u].seq;
        if (n < WS_CAN_BATCH) {
            break;
        }
    }
    return seq;
}

/* The sender's state between two rounds. */
typedef struct {
    uint64_t seen;   /* status publication number last looked at */
    uint64_t pushed; /* the one last pushed */
    uint64_t last_push_ms;
    uint64_t next_can_ms;
    uint64_t can_seq;        /* newest CAN frame handed on */
    api_can_entry_t *frames; /* WS_CAN_BATCH, NULL: no CAN messages */
} ws_sender_t;

/* One round: a new status (publication `seen`) at most once per
 * interval_ms, the current one for new clients, the CAN frames every
 * WS_CAN_PERIOD_MS. */
static void sender_step(ws_sender_t *s, uint64_t seen, uint64_t now, uint64_t interval_ms)
{
    unsigned n_status, n_can;
    bool fresh;
    wanted(&n_status, &n_can, &fresh);
    s->seen = seen;
    if (seen != s->pushed && now + WS_PUSH_SLACK_MS >= s->last_push_ms + interval_ms) {
        if (n_status > 0) {
            post(WS_STATUS, status_message(), n_status);
        }
        s->pushed = seen;
        s->last_push_ms = now;
    } else if (fresh) {
        post(WS_FRESH, status_message(), 0);
    }
    if (s->frames != NULL && now >= s->next_can_ms) {
        s->next_can_ms = now + WS_CAN_PERIOD_MS;
        size_t n = hub_api_ops.can_since(&ws.api, s->can_seq, s->frames, WS_CAN_BATCH);
        if (n > 0) {
            s->can_seq = s->frames[n - 1u].seq;
            if (n_can > 0) {
                post(WS_CAN, api_can_json(s->frames, n, s->can_seq, true), n_can);
            }
        }
    }
}

static void sender_task(void *arg)
{
    (void)arg;
    static cfg_t cfg; /* this task's copy, for ws_interval_ms (too big for its stack) */
    ws_sender_t s = {.frames = malloc(WS_CAN_BATCH * sizeof *s.frames)};
    s.can_seq = s.frames != NULL ? newest_can_seq(s.frames) : 0u;
    for (;;) {
        uint64_t seen = hub_wait_status(ws.hub, s.seen, (int)WS_CAN_PERIOD_MS);
        hub_get_running_config(ws.hub, &cfg);
        sender_step(&s, seen, hub_api_mono_ms(), (uint64_t)cfg.web_server.ws_interval_ms);
    }
}

void web_ws_stats(api_server_stats_t *out)
{
    pthread_mutex_lock(&ws.mu);
    out->ws_clients = ws.count;
    out->ws_messages_sent = ws.sent;
    out->ws_messages_skipped = ws.skipped;
    out->ws_clients_dropped = ws.dropped;
    if (ws.fanout != NULL && ws.scratch != NULL) {
        out->ws_fanout_p50_us = samples_percentile(ws.fanout, 50, ws.scratch);
        out->ws_fanout_p99_us = samples_percentile(ws.fanout, 99, ws.scratch);
        out->ws_fanout_max_us = samples_max(ws.fanout);
        out->ws_status_pushes = ws.fanout->total;
    }
    pthread_mutex_unlock(&ws.mu);
}

esp_err_t web_ws_start(httpd_handle_t hd, hub_t *hub)
{
    ws.hd = hd;
    ws.hub = hub;
    ws.api = (hub_api_t){.hub = hub};
    for (size_t i = 0; i < WEB_WS_MAX; i++) {
        ws.clients[i].fd = -1;
    }
    if (pthread_mutex_init(&ws.mu, NULL) != 0) {
        return ESP_ERR_NO_MEM;
    }
    /* The fan-out figures are optional: without the memory, none. */
    ws.fanout = calloc(1, sizeof *ws.fanout);
    ws.scratch = ws.fanout != NULL ? malloc(SAMPLES_MAX * sizeof *ws.scratch) : NULL;
    const httpd_uri_t uri = {
        .uri = "/ws",
        .method = HTTP_GET,
        .handler = on_frame,
        .is_websocket = true,
        .ws_pre_handshake_cb = on_handshake,
    };
    esp_err_t e = httpd_register_uri_handler(hd, &uri);
    if (e != ESP_OK) {
        return e;
    }
    if (xTaskCreate(sender_task, "web_ws", WS_TASK_STACK, NULL, WS_TASK_PRIORITY, NULL) != pdPASS) {
        log_error("WebSocket sender task not started: out of memory");
        return ESP_ERR_NO_MEM;
    }
    return ESP_OK;
}
