/*
 * The MQTT publisher thread. See mqtt.h for why it is a thread and
 * app/mqtt_topics.h for what it publishes.
 */
#include "mqtt.h"
#include "thread.h"

#include <errno.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mqtt_session.h"

#define BACKOFF_MIN_MS      1000u
#define BACKOFF_MAX_MS      60000u
#define CONNECT_TIMEOUT_MS  10000u
#define LOOP_TIMEOUT_MS     100    /* mosquitto_loop() wait; bounds the stop latency */
#define STATUS_CHECK_MS     500u
#define GOODBYE_MS          1000u

struct mqtt {
    hub_t *hub;
    char version[32];
    pthread_mutex_t mu; /* stats and the pending configuration */
    mqtt_stats_t stats;
    cfg_t pending;      /* the latest configuration handed over */
    bool have_pending;  /* ... not yet taken by the thread */
    bool configured;    /* pending holds a configuration */
    pthread_t thread;
    atomic_bool stop;
};

/* Thread-local state of one run of the client. */
typedef struct {
    mqtt_t *m;
    cfg_t cfg; /* the thread's own copy */
    struct mosquitto *mosq;
    enum { W_IDLE, W_CONNECTING, W_CONNECTED } st;
    uint64_t attempt_ms;   /* start of the current attempt */
    uint64_t next_attempt_ms;
    uint32_t backoff_ms;
    bool connack;          /* set by the callback, handled by the loop */
    int connack_rc;
    status_t status; /* the latest snapshot, copied from the hub */
    uint64_t next_check_ms;
    mqtt_session_t session; /* what is due when (app/mqtt_session.h) */
} worker_t;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* libmosquitto's text for rc; errno's text for MOSQ_ERR_ERRNO. */
static const char *rc_text(int rc)
{
    return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

static void set_error(worker_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(worker_t *w, const char *fmt, ...)
{
    char text[160];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&w->m->mu);
    (void)snprintf(w->m->stats.last_error, sizeof w->m->stats.last_error, "%s", text);
    pthread_mutex_unlock(&w->m->mu);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    worker_t *w = obj;
    w->connack = true;
    w->connack_rc = rc;
}

static void drop_client(worker_t *w)
{
    if (w->mosq != NULL) {
        mosquitto_destroy(w->mosq);
        w->mosq = NULL;
    }
    w->st = W_IDLE;
    w->connack = false;
}

/* The attempt failed or the connection broke: retry after the backoff. */
static void connection_failed(worker_t *w, const char *why)
{
    uint64_t now = mono_ms();
    bool was_connected = w->st == W_CONNECTED;
    drop_client(w);
    w->next_attempt_ms = now + w->backoff_ms;
    pthread_mutex_lock(&w->m->mu);
    w->m->stats.connected = false;
    if (was_connected) {
        w->m->stats.disconnects++;
    } else {
        w->m->stats.connect_failures++;
    }
    w->m->stats.backoff_ms = w->backoff_ms;
    pthread_mutex_unlock(&w->m->mu);
    set_error(w, "%s", why);
    /* The same text for every failed attempt, so the logger folds a long
     * outage into "repeated N times" lines; the delay is in the stats. */
    if (was_connected) {
        log_warn("MQTT: connection to %s lost: %s; reconnecting", w->m->stats.broker, why);
    } else {
        log_warn("MQTT: cannot connect to %s: %s; retrying (1 s doubling to 60 s)",
                 w->m->stats.broker, why);
    }
    w->backoff_ms = w->backoff_ms * 2u > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2u;
}

static void start_connect(worker_t *w)
{
    const cfg_t *c = &w->cfg;
    w->attempt_ms = mono_ms();
    w->mosq = mosquitto_new(c->mqtt.client_id, true, w);
    if (w->mosq == NULL) {
        connection_failed(w, errno == ENOMEM ? "out of memory" : "cannot create the client");
        return;
    }
    mosquitto_connect_callback_set(w->mosq, on_connect);
    int rc = mosquitto_int_option(w->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    if (rc == MOSQ_ERR_SUCCESS && c->mqtt.username[0] != '\0') {
        rc = mosquitto_username_pw_set(w->mosq, c->mqtt.username,
                                       c->mqtt.password[0] ? c->mqtt.password : NULL);
    }
    if (rc == MOSQ_ERR_SUCCESS) {
        rc = mosquitto_will_set(w->mosq, w->session.avail, 7, "offline", c->mqtt.qos, true);
    }
    if (rc == MOSQ_ERR_SUCCESS && c->mqtt.tls_ca_file[0] != '\0') {
        rc = mosquitto_tls_set(w->mosq, c->mqtt.tls_ca_file, NULL, NULL, NULL, NULL);
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        char why[160];
        (void)snprintf(why, sizeof why, "client setup: %s", rc_text(rc));
        connection_failed(w, why);
        return;
    }
    uint64_t t0 = mono_us();
    rc = mosquitto_connect_async(w->mosq, c->mqtt.host, (int)c->mqtt.port,
                                 (int)c->mqtt.keepalive_s);
    uint64_t took = mono_us() - t0;
    pthread_mutex_lock(&w->m->mu);
    if (took > w->m->stats.connect_call_max_us) {
        w->m->stats.connect_call_max_us = took > UINT32_MAX ? UINT32_MAX : (uint32_t)took;
    }
    pthread_mutex_unlock(&w->m->mu);
    if (rc != MOSQ_ERR_SUCCESS) {
        connection_failed(w, rc_text(rc));
        return;
    }
    w->st = W_CONNECTING;
}

static void publish(worker_t *w, const char *topic, const char *payload, bool retain)
{
    if (w->mosq == NULL) {
        return;
    }
    size_t len = strlen(payload);
    int rc = mosquitto_publish(w->mosq, NULL, topic, (int)len, payload, (int)w->cfg.mqtt.qos,
                               retain);
    pthread_mutex_lock(&w->m->mu);
    if (rc == MOSQ_ERR_SUCCESS) {
        w->m->stats.published++;
    } else {
        w->m->stats.publish_errors++;
    }
    pthread_mutex_unlock(&w->m->mu);
    if (rc == MOSQ_ERR_SUCCESS) {
        return;
    }
    /* A message the library rejects by itself is one bad message; anything
     * else (EPIPE, no connection...) means the connection is gone. */
    bool message_error = rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_PAYLOAD_SIZE ||
                         rc == MOSQ_ERR_MALFORMED_UTF8 || rc == MOSQ_ERR_OVERSIZE_PACKET ||
                         rc == MOSQ_ERR_QOS_NOT_SUPPORTED || rc == MOSQ_ERR_NOMEM;
    if (message_error) {
        log_warn("MQTT: publish to %s refused: %s", topic, rc_text(rc));
    } else {
        connection_failed(w, rc_text(rc));
    }
}

static bool session_send(void *ctx, const char *topic, const char *payload, bool retain)
{
    worker_t *w = ctx;
    publish(w, topic, payload, retain);
    return w->st == W_CONNECTED;
}

/* Copies the latest status snapshot from the hub and sends what is due. */
static void publish_status(worker_t *w, uint64_t now)
{
    uint64_t seq = 0;
    if (!hub_get_status(w->m->hub, &w->status, &seq)) {
        return; /* the loop has not published anything yet */
    }
    mqtt_session_pass_t p =
        mqtt_session_publish(&w->session, &w->status, seq, now, wall_ms(), session_send, w);
    if (p.discovery_err != MQTT_TOPICS_OK) {
        log_warn("MQTT: discovery documents: %s", mqtt_topics_strerror(p.discovery_err));
    } else if (p.discovery_checked > 0 && !p.broken) {
        log_debug("MQTT: %zu Home Assistant discovery documents checked", p.discovery_checked);
    }
    if (p.status_err != MQTT_TOPICS_OK) {
        log_warn("MQTT: status topics: %s", mqtt_topics_strerror(p.status_err));
    }
}

static void handle_connack(worker_t *w)
{
    w->connack = false;
    if (w->connack_rc != 0) {
        char why[160];
        (void)snprintf(why, sizeof why, "broker refused: %s",
                       mosquitto_connack_string(w->connack_rc));
        connection_failed(w, why);
        return;
    }
    w->st = W_CONNECTED;
    w->backoff_ms = BACKOFF_MIN_MS;
    mqtt_session_connected(&w->session);
    w->next_check_ms = 0;
    pthread_mutex_lock(&w->m->mu);
    w->m->stats.connected = true;
    w->m->stats.connects++;
    pthread_mutex_unlock(&w->m->mu);
    log_info("MQTT: connected to %s as %s, publishing under %s/", w->m->stats.broker,
             w->cfg.mqtt.client_id, w->cfg.mqtt.root_topic);
    publish(w, w->session.avail, "online", true);
}

/* Graceful end: "offline" (a clean DISCONNECT cancels the will), then a
 * short flush. */
static void goodbye(worker_t *w)
{
    if (w->st != W_CONNECTED || w->mosq == NULL) {
        drop_client(w);
        return;
    }
    publish(w, w->session.avail, "offline", true);
    if (w->mosq != NULL && mosquitto_disconnect(w->mosq) == MOSQ_ERR_SUCCESS) {
        uint64_t end = mono_ms() + GOODBYE_MS;
        while (mono_ms() < end &&
               mosquitto_loop(w->mosq, LOOP_TIMEOUT_MS, 1) == MOSQ_ERR_SUCCESS) {
        }
    }
    drop_client(w);
}

/* Takes a configuration handed over by mqtt_configure, if any: the old
 * connection says goodbye, the new settings start from scratch. */
static void take_config(worker_t *w)
{
    mqtt_t *m = w->m;
    pthread_mutex_lock(&m->mu);
    bool have = m->have_pending;
    if (have) {
        w->cfg = m->pending;
        m->have_pending = false;
    }
    pthread_mutex_unlock(&m->mu);
    if (!have) {
        return;
    }
    goodbye(w);
    const cfg_t *c = &w->cfg;
    w->backoff_ms = BACKOFF_MIN_MS;
    w->next_attempt_ms = 0;
    (void)mqtt_session_configure(&w->session, c, m->version, mono_ms());
    pthread_mutex_lock(&m->mu);
    memset(&m->stats, 0, sizeof m->stats);
    m->stats.enabled = c->mqtt.enabled;
    (void)snprintf(m->stats.broker, sizeof m->stats.broker, "%s:%d", c->mqtt.host,
                   (int)c->mqtt.port);
    pthread_mutex_unlock(&m->mu);
    if (c->mqtt.enabled) {
        log_info("MQTT: publishing to %s%s under %s/ every %d ms", m->stats.broker,
                 c->mqtt.tls_ca_file[0] ? " (TLS)" : "", c->mqtt.root_topic,
                 (int)c->mqtt.interval_ms);
    }
}

static void *worker_main(void *arg)
{
    static worker_t w; /* one client thread per process; cfg_t is large */
    memset(&w, 0, sizeof w);
    w.m = arg;
    w.backoff_ms = BACKOFF_MIN_MS;
    while (!atomic_load(&w.m->stop)) {
        take_config(&w);
        if (!w.cfg.mqtt.enabled) {
            sleep_ms(LOOP_TIMEOUT_MS);
            continue;
        }
        uint64_t now = mono_ms();
        if (w.st == W_IDLE && now >= w.next_attempt_ms) {
            start_connect(&w);
        }
        if (w.st == W_CONNECTING && now - w.attempt_ms > CONNECT_TIMEOUT_MS) {
            connection_failed(&w, "no answer from the broker within 10 s");
        }
        if (w.st == W_CONNECTED && now >= w.next_check_ms) {
            w.next_check_ms = now + STATUS_CHECK_MS;
            publish_status(&w, now);
        }
        if (w.mosq == NULL) {
            sleep_ms(LOOP_TIMEOUT_MS);
            continue;
        }
        int rc = mosquitto_loop(w.mosq, LOOP_TIMEOUT_MS, 1);
        if (w.connack) {
            handle_connack(&w);
        }
        if (rc != MOSQ_ERR_SUCCESS && w.mosq != NULL) {
            connection_failed(&w, rc_text(rc));
        }
    }
    goodbye(&w);
    mqtt_session_free(&w.session);
    return NULL;
}

mqtt_t *mqtt_create(hub_t *hub, const char *version)
{
    mqtt_t *m = calloc(1, sizeof *m);
    if (m == NULL) {
        log_error("MQTT: out of memory");
        return NULL;
    }
    if (mosquitto_lib_init() != MOSQ_ERR_SUCCESS) {
        log_error("MQTT: libmosquitto initialisation failed");
        free(m);
        return NULL;
    }
    m->hub = hub;
    (void)snprintf(m->version, sizeof m->version, "%s", version ? version : "");
    pthread_mutex_init(&m->mu, NULL);
    atomic_init(&m->stop, false);
    int e = thread_start(&m->thread, worker_main, m, THREAD_STACK_NET);
    if (e != 0) {
        log_error("MQTT: cannot start the client thread: %s", strerror(e));
        pthread_mutex_destroy(&m->mu);
        mosquitto_lib_cleanup();
        free(m);
        return NULL;
    }
    return m;
}

void mqtt_configure(mqtt_t *m, const cfg_t *cfg)
{
    if (m == NULL || cfg == NULL) {
        return;
    }
    pthread_mutex_lock(&m->mu);
    if (!m->configured || !mqtt_session_same_settings(&m->pending, cfg)) {
        m->pending = *cfg;
        m->have_pending = true;
        m->configured = true;
    }
    pthread_mutex_unlock(&m->mu);
}

void mqtt_get_stats(mqtt_t *m, mqtt_stats_t *out)
{
    pthread_mutex_lock(&m->mu);
    *out = m->stats;
    pthread_mutex_unlock(&m->mu);
}

void mqtt_destroy(mqtt_t *m)
{
    if (m == NULL) {
        return;
    }
    atomic_store(&m->stop, true);
    int e = pthread_join(m->thread, NULL);
    if (e != 0) {
        log_error("MQTT: joining the client thread: %s", strerror(e));
    }
    pthread_mutex_destroy(&m->mu);
    mosquitto_lib_cleanup();
    free(m);
}
