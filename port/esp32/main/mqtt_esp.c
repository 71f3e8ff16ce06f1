/*
 * mqtt_esp.c - the firmware's MQTT client: esp-mqtt carries the messages
 * that app/mqtt_session.h chooses from the hub's status snapshot, so the
 * firmware publishes the Linux daemon's topics, retain flags, QoS, last
 * will, Home Assistant discovery and cadence (docs/mqtt.md).
 *
 * Tasks: esp-mqtt runs its own task (network, keepalive) and reports
 * connects and disconnects through an event handler that only sets flags.
 * A publisher task of ours does the rest: it takes configurations handed
 * over by fw_mqtt_configure (the bridge task's call: a mutex and a copy,
 * never a wait), wakes on each new status (hub_wait_status, at most every
 * 500 ms) and publishes with esp_mqtt_client_publish, so a slow broker
 * delays nobody but this task.
 *
 * Reconnects: esp-mqtt's own fixed-delay reconnect is off; this task
 * retries after 1 s, doubling to 60 s as on Linux, and at once when the
 * station gets an address.
 *
 * TLS: mqtt.tls_ca_file names a PEM file on the flash file system (e.g.
 * /data/ca.pem); it is read into memory for each connection. A file that
 * cannot be read stops the client with an error: it never falls back to
 * plain TCP.
 */
#include "fw.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "esp_event.h"
#include "esp_netif.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "mqtt_client.h"

#include "log.h"
#include "mqtt_session.h"

#define BACKOFF_MIN_MS  1000u
#define BACKOFF_MAX_MS  60000u
#define NET_TIMEOUT_MS  10000 /* connect and network operations */
#define STATUS_CHECK_MS 500u
#define CA_FILE_MAX     8192  /* bytes of PEM; a CA bundle belongs elsewhere */
#define TASK_STACK      8192u /* TLS writes (mbedTLS) run in this task; not measured */
#define TASK_PRIORITY   4u

/* Handed over between the bridge task and the publisher (s_mu). */
static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static cfg_t s_pending;
static bool s_have_pending;
static bool s_configured;

/* Set by esp-mqtt's task and the IP event, read by the publisher. */
static atomic_bool s_connected;
static atomic_bool s_connack;   /* a CONNACK to handle */
static atomic_bool s_lost;      /* a failed attempt or a dropped link to handle */
static atomic_bool s_net_up;    /* the station just got an address */
static atomic_int s_last_error; /* esp_err_t or errno of the last failure */
static atomic_int s_refused;    /* CONNACK refusal code, 0 = none */

/* The publisher task's own state. */
static struct {
    hub_t *hub;
    char version[32];
    cfg_t cfg;
    mqtt_session_t session;
    status_t status;
    esp_mqtt_client_handle_t client;
    char *ca_pem;
    char broker[CFG_PATH_LEN + 8u];
    bool was_connected;
    bool reconnect_due;
    uint64_t reconnect_at_ms;
    uint32_t backoff_ms;
} s_w;

static uint64_t mono_ms(void)
{
    return (uint64_t)esp_timer_get_time() / 1000u;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* esp-mqtt's task: record, never block. */
static void on_mqtt_event(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg;
    (void)base;
    const esp_mqtt_event_t *ev = data;
    switch ((esp_mqtt_event_id_t)id) {
    case MQTT_EVENT_CONNECTED:
        atomic_store(&s_connected, true);
        atomic_store(&s_connack, true);
        break;
    case MQTT_EVENT_DISCONNECTED:
        atomic_store(&s_connected, false);
        atomic_store(&s_lost, true);
        break;
    case MQTT_EVENT_ERROR:
        if (ev != NULL && ev->error_handle != NULL) {
            const esp_mqtt_error_codes_t *e = ev->error_handle;
            if (e->error_type == MQTT_ERROR_TYPE_CONNECTION_REFUSED) {
                atomic_store(&s_refused, (int)e->connect_return_code);
            } else if (e->esp_transport_sock_errno != 0) {
                atomic_store(&s_last_error, -e->esp_transport_sock_errno);
            } else if (e->esp_tls_last_esp_err != ESP_OK) {
                atomic_store(&s_last_error, (int)e->esp_tls_last_esp_err);
            }
        }
        break;
    default:
        break;
    }
}

static void on_got_ip(void *arg, esp_event_base_t base, int32_t id, void *data)
{
    (void)arg;
    (void)base;
    (void)id;
    (void)data;
    atomic_store(&s_net_up, true);
}

static const char *refusal_text(int code)
{
    switch (code) {
    case MQTT_CONNECTION_REFUSE_PROTOCOL:
        return "broker refused: unacceptable protocol version";
    case MQTT_CONNECTION_REFUSE_ID_REJECTED:
        return "broker refused: client id rejected";
    case MQTT_CONNECTION_REFUSE_SERVER_UNAVAILABLE:
        return "broker refused: server unavailable";
    case MQTT_CONNECTION_REFUSE_BAD_USERNAME:
        return "broker refused: bad user name or password";
    case MQTT_CONNECTION_REFUSE_NOT_AUTHORIZED:
        return "broker refused: not authorised";
    default:
        return "broker refused the connection";
    }
}

/* The reason for the last failure in plain words, consumed. */
static void failure_text(char *out, size_t size)
{
    int refused = atomic_exchange(&s_refused, 0);
    int err = atomic_exchange(&s_last_error, 0);
    if (refused != 0) {
        (void)snprintf(out, size, "%s", refusal_text(refused));
    } else if (err < 0) {
        (void)snprintf(out, size, "%s", strerror(-err));
    } else if (err != 0) {
        (void)snprintf(out, size, "%s", esp_err_to_name(err));
    } else {
        (void)snprintf(out, size, "no connection");
    }
}

/* ---- the client ---- */

static bool read_ca(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        log_error("MQTT: cannot read mqtt.tls_ca_file %s: %s; not connecting", path,
                  strerror(errno));
        return false;
    }
    char *buf = malloc((size_t)CA_FILE_MAX + 1u);
    size_t n = buf != NULL ? fread(buf, 1, (size_t)CA_FILE_MAX + 1u, f) : 0u;
    bool err = ferror(f) != 0;
    (void)fclose(f);
    if (buf == NULL || err || n == 0 || n > (size_t)CA_FILE_MAX) {
        log_error("MQTT: mqtt.tls_ca_file %s: %s; not connecting", path,
                  buf == NULL ? "out of memory"
                  : err       ? "read error"
                  : n == 0    ? "empty"
                              : "larger than 8 KiB");
        free(buf);
        return false;
    }
    buf[n] = '\0'; /* PEM with its length 0: esp-tls takes it NUL-terminated */
    s_w.ca_pem = buf;
    return true;
}

static void drop_client(void)
{
    if (s_w.client != NULL) {
        (void)esp_mqtt_client_stop(s_w.client);
        (void)esp_mqtt_client_destroy(s_w.client);
        s_w.client = NULL;
    }
    free(s_w.ca_pem);
    s_w.ca_pem = NULL;
    atomic_store(&s_connected, false);
    atomic_store(&s_connack, false);
    atomic_store(&s_lost, false);
    s_w.reconnect_due = false;
    s_w.was_connected = false;
}

static void start_client(void)
{
    const cfg_t *c = &s_w.cfg;
    bool tls = c->mqtt.tls_ca_file[0] != '\0';
    if (tls && !read_ca(c->mqtt.tls_ca_file)) {
        return;
    }
    esp_mqtt_client_config_t mc = {0};
    mc.broker.address.hostname = c->mqtt.host;
    mc.broker.address.port = (uint32_t)c->mqtt.port;
    mc.broker.address.transport = tls ? MQTT_TRANSPORT_OVER_SSL : MQTT_TRANSPORT_OVER_TCP;
    mc.broker.verification.certificate = s_w.ca_pem;
    mc.credentials.client_id = c->mqtt.client_id;
    mc.credentials.username = c->mqtt.username[0] != '\0' ? c->mqtt.username : NULL;
    mc.credentials.authentication.password = c->mqtt.password[0] != '\0' ? c->mqtt.password : NULL;
    mc.session.protocol_ver = MQTT_PROTOCOL_V_3_1_1;
    mc.session.keepalive = (int)c->mqtt.keepalive_s;
    mc.session.last_will.topic = s_w.session.avail;
    mc.session.last_will.msg = "offline";
    mc.session.last_will.qos = (int)c->mqtt.qos;
    mc.session.last_will.retain = 1;
    mc.network.timeout_ms = NET_TIMEOUT_MS;
    mc.network.disable_auto_reconnect = true; /* our backoff, see the header comment */
    s_w.client = esp_mqtt_client_init(&mc);
    esp_err_t e = s_w.client != NULL ? esp_mqtt_client_register_event(s_w.client, MQTT_EVENT_ANY,
                                                                      on_mqtt_event, NULL)
                                     : ESP_ERR_NO_MEM;
    if (e == ESP_OK) {
        e = esp_mqtt_client_start(s_w.client);
    }
    if (e != ESP_OK) {
        log_error("MQTT: cannot start the client: %s", esp_err_to_name(e));
        drop_client();
    }
}

/* Publish one message; false when the connection cannot take more. */
static bool send_msg(void *ctx, const char *topic, const char *payload, bool retain)
{
    (void)ctx;
    if (s_w.client == NULL || !atomic_load(&s_connected)) {
        return false;
    }
    int id = esp_mqtt_client_publish(s_w.client, topic, payload, (int)strlen(payload),
                                     (int)s_w.cfg.mqtt.qos, retain ? 1 : 0);
    if (id == -2) {
        log_warn("MQTT: the outbox is full; the rest of this round waits");
        return false;
    }
    return id >= 0;
}

/* Graceful end: "offline" first (the clean DISCONNECT that
 * esp_mqtt_client_stop sends cancels the will). */
static void goodbye(void)
{
    if (s_w.client != NULL && atomic_load(&s_connected)) {
        (void)send_msg(NULL, s_w.session.avail, "offline", true);
    }
    drop_client();
}

/* ---- the publisher task ---- */

static void take_config(void)
{
    pthread_mutex_lock(&s_mu);
    bool have = s_have_pending;
    if (have) {
        s_w.cfg = s_pending;
        s_have_pending = false;
    }
    pthread_mutex_unlock(&s_mu);
    if (!have) {
        return;
    }
    goodbye();
    const cfg_t *c = &s_w.cfg;
    s_w.backoff_ms = BACKOFF_MIN_MS;
    (void)snprintf(s_w.broker, sizeof s_w.broker, "%s:%d", c->mqtt.host, (int)c->mqtt.port);
    if (!mqtt_session_configure(&s_w.session, c, s_w.version, mono_ms())) {
        log_error("MQTT: mqtt.root_topic too long for its availability topic; not connecting");
        return;
    }
    if (!c->mqtt.enabled) {
        return;
    }
    log_info("MQTT: publishing to %s%s under %s/ every %d ms", s_w.broker,
             c->mqtt.tls_ca_file[0] ? " (TLS)" : "", c->mqtt.root_topic, (int)c->mqtt.interval_ms);
    start_client();
}

static void handle_connack(void)
{
    s_w.was_connected = true;
    s_w.reconnect_due = false;
    s_w.backoff_ms = BACKOFF_MIN_MS;
    mqtt_session_connected(&s_w.session);
    log_info("MQTT: connected to %s as %s, publishing under %s/", s_w.broker,
             s_w.cfg.mqtt.client_id, s_w.cfg.mqtt.root_topic);
    (void)send_msg(NULL, s_w.session.avail, "online", true);
}

/* A failed attempt or a lost link: the next attempt after the backoff.
 * The same text for every failed attempt, so the logger folds a long
 * outage into "repeated N times" lines. */
static void handle_lost(uint64_t now)
{
    char why[96];
    failure_text(why, sizeof why);
    if (s_w.was_connected) {
        log_warn("MQTT: connection to %s lost: %s; reconnecting", s_w.broker, why);
    } else {
        log_warn("MQTT: cannot connect to %s: %s; retrying (1 s doubling to 60 s)", s_w.broker,
                 why);
    }
    s_w.was_connected = false;
    s_w.reconnect_due = true;
    s_w.reconnect_at_ms = now + s_w.backoff_ms;
    s_w.backoff_ms = s_w.backoff_ms * 2u > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s_w.backoff_ms * 2u;
}

static void maybe_reconnect(uint64_t now)
{
    if (atomic_exchange(&s_net_up, false) && s_w.reconnect_due) {
        s_w.backoff_ms = BACKOFF_MIN_MS; /* the network just came (back): try now */
        s_w.reconnect_at_ms = now;
    }
    /* ESP_FAIL: the client is not waiting yet (still tearing down): next round. */
    if (s_w.reconnect_due && now >= s_w.reconnect_at_ms &&
        esp_mqtt_client_reconnect(s_w.client) == ESP_OK) {
        s_w.reconnect_due = false;
    }
}

static void publish_status(uint64_t now)
{
    uint64_t seq = 0;
    if (!hub_get_status(s_w.hub, &s_w.status, &seq)) {
        return; /* the bridge has not published anything yet */
    }
    mqtt_session_pass_t p =
        mqtt_session_publish(&s_w.session, &s_w.status, seq, now, wall_ms(), send_msg, NULL);
    if (p.discovery_err != MQTT_TOPICS_OK) {
        log_warn("MQTT: discovery documents: %s", mqtt_topics_strerror(p.discovery_err));
    }
    if (p.status_err != MQTT_TOPICS_OK) {
        log_warn("MQTT: status topics: %s", mqtt_topics_strerror(p.status_err));
    }
}

static void publisher_task(void *arg)
{
    (void)arg;
    uint64_t seen = 0;
    for (;;) {
        take_config();
        uint64_t now = mono_ms();
        if (s_w.client == NULL) {
            vTaskDelay(pdMS_TO_TICKS(STATUS_CHECK_MS));
            continue;
        }
        if (atomic_exchange(&s_connack, false)) {
            handle_connack();
        }
        if (atomic_exchange(&s_lost, false)) {
            handle_lost(now);
        }
        maybe_reconnect(now);
        if (atomic_load(&s_connected)) {
            publish_status(now);
        }
        /* Wake on the next status, but run at most every STATUS_CHECK_MS. */
        uint64_t next = now + STATUS_CHECK_MS;
        seen = hub_wait_status(s_w.hub, seen, (int)STATUS_CHECK_MS);
        now = mono_ms();
        if (now < next) {
            vTaskDelay(pdMS_TO_TICKS((uint32_t)(next - now)));
        }
    }
}

esp_err_t fw_mqtt_start(fw_t *fw)
{
    if (fw == NULL || fw->hub == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    s_w.hub = fw->hub;
    (void)snprintf(s_w.version, sizeof s_w.version, "%s", fw->version ? fw->version : "");
    s_w.backoff_ms = BACKOFF_MIN_MS;
    esp_err_t e =
        esp_event_handler_instance_register(IP_EVENT, IP_EVENT_STA_GOT_IP, on_got_ip, NULL, NULL);
    if (e != ESP_OK) {
        log_warn("MQTT: no reconnect on a new address: %s", esp_err_to_name(e));
    }
    fw_mqtt_configure(&fw->cfg);
    if (xTaskCreate(publisher_task, "mqtt_pub", TASK_STACK, NULL, TASK_PRIORITY, NULL) != pdPASS) {
        log_error("MQTT: cannot start the publisher task: out of memory");
        return ESP_ERR_NO_MEM;
    }
    return ESP_OK;
}

void fw_mqtt_configure(const cfg_t *cfg)
{
    if (cfg == NULL) {
        return;
    }
    pthread_mutex_lock(&s_mu);
    if (!s_configured || !mqtt_session_same_settings(&s_pending, cfg)) {
        s_pending = *cfg;
        s_have_pending = true;
        s_configured = true;
    }
    pthread_mutex_unlock(&s_mu);
}
