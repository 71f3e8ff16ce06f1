/*
 * WebSocket /ws: one broadcaster thread builds each message once; a few
 * sender threads write it to the clients. Every client has at most one
 * message in flight: a client still busy with the previous message skips
 * the next (it later gets the newest status, never a backlog), and one
 * stuck too long or skipping too often is dropped. A stalled client thus
 * ties up at most one sender thread for up to civetweb's write timeout
 * (request_timeout_ms) while the others keep serving everyone else.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http_auth.h"
#include "http_internal.h"
#include "log.h"
#include "samples.h"
#include "ws_subscribe.h"

#define SENDERS        6
#define CAN_PERIOD_MS  250u
#define SKIP_LIMIT     10
#define STUCK_MS       5000u

typedef struct {
    int refs;         /* guarded by ws->mu */
    int pending;      /* deliveries not finished yet (status pushes), ws->mu */
    uint64_t made_ms; /* when the broadcaster made it (monotonic) */
    bool is_status;   /* a status push (its fan-out time is measured) */
    size_t len;
    char data[];
} msg_t;

typedef struct client {
    struct mg_connection *conn;
    bool used, ready, closing, dead, busy;
    bool want_status, want_can;
    int skipped_in_row;
    uint64_t busy_since_ms;
    msg_t *job;
    bool job_counted; /* the job belongs to a status broadcast being timed */
    struct client *next_job;
} client_t;

struct http_ws {
    struct http_server *srv;
    pthread_mutex_t mu;
    pthread_cond_t job_cond;  /* senders wait for jobs */
    pthread_cond_t idle_cond; /* close handlers wait for busy == false */
    client_t *clients;
    int max_clients;
    int count;
    client_t *queue_head, *queue_tail;
    bool stop;
    pthread_t broadcaster;
    pthread_t senders[SENDERS];
    int senders_started;
    bool broadcaster_started;
    msg_t *last_status; /* for clients that just connected */
    unsigned long sent, skipped, dropped;
    samples_t fanout; /* status push: made -> written to the last client, us */
    uint32_t fanout_scratch[SAMPLES_MAX]; /* percentiles, under mu */
};

static msg_t *msg_new(const char *prefix, const char *body, const char *suffix)
{
    size_t a = strlen(prefix), b = strlen(body), c = strlen(suffix);
    msg_t *m = malloc(sizeof *m + a + b + c + 1u);
    if (m == NULL) {
        return NULL;
    }
    m->refs = 1;
    m->pending = 0;
    m->made_ms = hub_api_mono_ms();
    m->is_status = false;
    m->len = a + b + c;
    memcpy(m->data, prefix, a);
    memcpy(m->data + a, body, b);
    memcpy(m->data + a + b, suffix, c + 1u);
    return m;
}

/* ws->mu held. */
static void msg_unref(msg_t *m)
{
    if (m != NULL && --m->refs == 0) {
        free(m);
    }
}

/* Hands m to client cl (ws->mu held); true when queued. */
static bool offer(struct http_ws *ws, client_t *cl, msg_t *m, uint64_t now)
{
    if (!cl->used || !cl->ready || cl->closing || cl->dead) {
        return false;
    }
    if (cl->busy) {
        ws->skipped++;
        cl->skipped_in_row++;
        if (cl->skipped_in_row > SKIP_LIMIT || now - cl->busy_since_ms > STUCK_MS) {
            cl->dead = true;
            ws->dropped++;
            log_warn("WebSocket client dropped: it does not take its messages");
        }
        return false;
    }
    m->refs++;
    cl->job = m;
    cl->job_counted = false;
    cl->busy = true;
    cl->busy_since_ms = now;
    cl->next_job = NULL;
    if (ws->queue_tail != NULL) {
        ws->queue_tail->next_job = cl;
    } else {
        ws->queue_head = cl;
    }
    ws->queue_tail = cl;
    pthread_cond_signal(&ws->job_cond);
    return true;
}

static void broadcast(struct http_ws *ws, msg_t *m, bool status)
{
    uint64_t now = hub_api_mono_ms();
    pthread_mutex_lock(&ws->mu);
    m->is_status = status;
    for (int i = 0; i < ws->max_clients; i++) {
        client_t *cl = &ws->clients[i];
        if ((status ? cl->want_status : cl->want_can) && offer(ws, cl, m, now) && status) {
            cl->job_counted = true; /* part of this push's fan-out */
            m->pending++;
        }
    }
    if (status) {
        msg_unref(ws->last_status);
        ws->last_status = m;
    } else {
        msg_unref(m);
    }
    pthread_mutex_unlock(&ws->mu);
}

static void *sender_main(void *arg)
{
    struct http_ws *ws = arg;
    pthread_mutex_lock(&ws->mu);
    for (;;) {
        while (!ws->stop && ws->queue_head == NULL) {
            pthread_cond_wait(&ws->job_cond, &ws->mu);
        }
        if (ws->stop) {
            break;
        }
        client_t *cl = ws->queue_head;
        ws->queue_head = cl->next_job;
        if (ws->queue_head == NULL) {
            ws->queue_tail = NULL;
        }
        msg_t *m = cl->job;
        bool skip = cl->closing || cl->dead;
        pthread_mutex_unlock(&ws->mu);
        int r = skip ? 1 : mg_websocket_write(cl->conn, MG_WEBSOCKET_OPCODE_TEXT, m->data, m->len);
        pthread_mutex_lock(&ws->mu);
        if (r <= 0 && !cl->dead) {
            cl->dead = true;
            ws->dropped++;
        } else if (!skip) {
            ws->sent++;
            cl->skipped_in_row = 0;
        }
        cl->job = NULL;
        cl->busy = false;
        if (cl->job_counted && --m->pending == 0 && m->is_status) {
            /* the whole fan-out of this status push is done */
            uint64_t d = (hub_api_mono_ms() - m->made_ms) * 1000u;
            samples_add(&ws->fanout, d > UINT32_MAX ? UINT32_MAX : (uint32_t)d);
        }
        msg_unref(m);
        pthread_cond_broadcast(&ws->idle_cond);
    }
    pthread_mutex_unlock(&ws->mu);
    return NULL;
}

static void *broadcaster_main(void *arg)
{
    struct http_ws *ws = arg;
    hub_t *hub = ws->srv->hub;
    uint64_t seen = 0, pushed = 0, can_seq = 0, last_push_ms = 0, next_can_ms = 0;
    hub_can_entry_t *frames = malloc(HUB_CAN_RING * sizeof *frames);
    /* Start with the frames still to come, not the ring's history. */
    if (frames != NULL) {
        size_t n = hub_can_since(hub, 0, frames, HUB_CAN_RING);
        can_seq = n > 0 ? frames[n - 1].seq : 0u;
    }
    for (;;) {
        pthread_mutex_lock(&ws->mu);
        bool stop = ws->stop;
        pthread_mutex_unlock(&ws->mu);
        if (stop) {
            break;
        }
        seen = hub_wait_status(hub, seen, (int)CAN_PERIOD_MS);
        uint64_t now = hub_api_mono_ms();
        cfg_t *cfg = malloc(sizeof *cfg);
        int32_t interval = 1000;
        if (cfg != NULL) {
            hub_get_running_config(hub, cfg);
            interval = cfg->web_server.ws_interval_ms;
            memset(cfg, 0, sizeof *cfg);
            free(cfg);
        }
        /* 50 ms slack: the loop publishes once a second, give or take. */
        if (seen != pushed && now + 50u >= last_push_ms + (uint64_t)interval) {
            char *doc = hub_get(hub, HUB_DOC_STATUS, NULL);
            if (doc != NULL) {
                msg_t *m = msg_new("{\"type\":\"status\",\"data\":", doc, "}");
                free(doc);
                if (m != NULL) {
                    broadcast(ws, m, true);
                }
            }
            pushed = seen;
            last_push_ms = now;
        }
        if (frames != NULL && now >= next_can_ms) {
            next_can_ms = now + CAN_PERIOD_MS;
            size_t n = hub_can_since(hub, can_seq, frames, HUB_CAN_RING);
            if (n > 0) {
                can_seq = frames[n - 1].seq;
                char *json = http_can_json(frames, n, can_seq, true);
                msg_t *m = json != NULL ? msg_new("", json, "") : NULL;
                free(json);
                if (m != NULL) {
                    broadcast(ws, m, false);
                }
            }
        }
    }
    free(frames);
    return NULL;
}

static int on_connect(const struct mg_connection *c, void *cbdata)
{
    struct http_ws *ws = cbdata;
    if (http_require_auth(ws->srv, (struct mg_connection *)(uintptr_t)c, false) != 0) {
        return 1;
    }
    pthread_mutex_lock(&ws->mu);
    client_t *cl = NULL;
    for (int i = 0; i < ws->max_clients && !ws->stop; i++) {
        if (!ws->clients[i].used) {
            cl = &ws->clients[i];
            break;
        }
    }
    if (cl != NULL) {
        memset(cl, 0, sizeof *cl);
        cl->used = true;
        cl->conn = (struct mg_connection *)(uintptr_t)c;
        cl->want_status = true;
        cl->want_can = true;
        ws->count++;
        mg_set_user_connection_data(c, cl);
    }
    pthread_mutex_unlock(&ws->mu);
    if (cl == NULL) {
        http_send_error((struct mg_connection *)(uintptr_t)c, 503,
                        "too many WebSocket clients (web_server.ws_max_clients)");
        return 1;
    }
    return 0;
}

static void on_ready(struct mg_connection *c, void *cbdata)
{
    struct http_ws *ws = cbdata;
    client_t *cl = mg_get_user_connection_data(c);
    if (cl == NULL) {
        return;
    }
    pthread_mutex_lock(&ws->mu);
    cl->ready = true;
    if (ws->last_status != NULL) {
        offer(ws, cl, ws->last_status, hub_api_mono_ms());
    }
    pthread_mutex_unlock(&ws->mu);
}

static int on_data(struct mg_connection *c, int bits, char *data, size_t len, void *cbdata)
{
    struct http_ws *ws = cbdata;
    int opcode = bits & 0x0F;
    if (opcode == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE) {
        return 0;
    }
    client_t *cl = mg_get_user_connection_data(c);
    if (opcode != MG_WEBSOCKET_OPCODE_TEXT || cl == NULL) {
        return 1;
    }
    /* {"type":"subscribe","can":false,"status":true} (app/ws_subscribe.h) */
    pthread_mutex_lock(&ws->mu);
    ws_sub_t sub = {.status = cl->want_status, .can = cl->want_can};
    if (ws_subscribe_apply(data, len, &sub)) {
        cl->want_status = sub.status;
        cl->want_can = sub.can;
    }
    pthread_mutex_unlock(&ws->mu);
    return 1;
}

static void on_close(const struct mg_connection *c, void *cbdata)
{
    struct http_ws *ws = cbdata;
    client_t *cl = mg_get_user_connection_data(c);
    if (cl == NULL) {
        return;
    }
    pthread_mutex_lock(&ws->mu);
    cl->closing = true;
    while (cl->busy) {
        pthread_cond_wait(&ws->idle_cond, &ws->mu);
    }
    cl->used = false;
    cl->conn = NULL;
    ws->count--;
    pthread_mutex_unlock(&ws->mu);
}

http_ws_t *http_ws_start(struct http_server *s, int max_clients)
{
    struct http_ws *ws = calloc(1, sizeof *ws);
    if (ws == NULL) {
        return NULL;
    }
    ws->clients = calloc((size_t)max_clients, sizeof *ws->clients);
    if (ws->clients == NULL) {
        free(ws);
        return NULL;
    }
    ws->srv = s;
    ws->max_clients = max_clients;
    pthread_mutex_init(&ws->mu, NULL);
    pthread_cond_init(&ws->job_cond, NULL);
    pthread_cond_init(&ws->idle_cond, NULL);
    for (int i = 0; i < SENDERS; i++) {
        if (pthread_create(&ws->senders[i], NULL, sender_main, ws) != 0) {
            http_ws_stop(ws);
            return NULL;
        }
        ws->senders_started++;
    }
    if (pthread_create(&ws->broadcaster, NULL, broadcaster_main, ws) != 0) {
        http_ws_stop(ws);
        return NULL;
    }
    ws->broadcaster_started = true;
    mg_set_websocket_handler(s->ctx, "/ws", on_connect, on_ready, on_data, on_close, ws);
    return ws;
}

void http_ws_stop(http_ws_t *ws)
{
    if (ws == NULL) {
        return;
    }
    pthread_mutex_lock(&ws->mu);
    ws->stop = true;
    /* Connections still open will close with the server: let their close
     * handlers through without waiting for a sender. */
    for (int i = 0; i < ws->max_clients; i++) {
        ws->clients[i].dead = true;
    }
    pthread_cond_broadcast(&ws->job_cond);
    pthread_mutex_unlock(&ws->mu);
    if (ws->broadcaster_started) {
        pthread_join(ws->broadcaster, NULL);
    }
    for (int i = 0; i < ws->senders_started; i++) {
        pthread_join(ws->senders[i], NULL);
    }
    pthread_mutex_lock(&ws->mu);
    /* Jobs never taken: release them so close handlers do not wait. */
    for (client_t *cl = ws->queue_head; cl != NULL; cl = cl->next_job) {
        msg_unref(cl->job);
        cl->job = NULL;
        cl->busy = false;
    }
    ws->queue_head = ws->queue_tail = NULL;
    msg_unref(ws->last_status);
    ws->last_status = NULL;
    pthread_cond_broadcast(&ws->idle_cond);
    pthread_mutex_unlock(&ws->mu);
}

void http_ws_free(http_ws_t *ws)
{
    if (ws == NULL) {
        return;
    }
    pthread_mutex_destroy(&ws->mu);
    pthread_cond_destroy(&ws->job_cond);
    pthread_cond_destroy(&ws->idle_cond);
    free(ws->clients);
    free(ws);
}

void http_ws_stats(http_ws_t *ws, unsigned long *clients, unsigned long *sent,
                   unsigned long *skipped, unsigned long *dropped)
{
    pthread_mutex_lock(&ws->mu);
    *clients = (unsigned long)ws->count;
    *sent = ws->sent;
    *skipped = ws->skipped;
    *dropped = ws->dropped;
    pthread_mutex_unlock(&ws->mu);
}

void http_ws_fanout(http_ws_t *ws, uint32_t *p50_us, uint32_t *p99_us, uint32_t *max_us,
                    uint64_t *pushes)
{
    pthread_mutex_lock(&ws->mu);
    *p50_us = samples_percentile(&ws->fanout, 50, ws->fanout_scratch);
    *p99_us = samples_percentile(&ws->fanout, 99, ws->fanout_scratch);
    *max_us = samples_max(&ws->fanout);
    *pushes = ws->fanout.total;
    pthread_mutex_unlock(&ws->mu);
}
