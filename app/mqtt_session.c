/*
 * The MQTT publishing policy shared by the ports; see mqtt_session.h.
 */
#include "mqtt_session.h"

#include <string.h>

bool mqtt_session_configure(mqtt_session_t *s, const cfg_t *cfg, const char *version,
                            uint64_t now_ms)
{
    if (s == NULL) {
        return false;
    }
    mqtt_session_free(s);
    memset(s, 0, sizeof *s);
    if (cfg == NULL || version == NULL) {
        return false;
    }
    s->topics = (mqtt_topics_cfg_t){
        .root = cfg->mqtt.root_topic,
        .discovery_prefix = cfg->mqtt.discovery_prefix,
        .node_id = cfg->mqtt.client_id,
        .device_name = cfg->victron.battery_name,
        .sw_version = version,
        .retain = cfg->mqtt.retain,
    };
    s->discovery = cfg->mqtt.discovery;
    s->interval_ms = cfg->mqtt.interval_ms > 0 ? (uint32_t)cfg->mqtt.interval_ms : 0u;
    s->status_changed_ms = now_ms;
    return mqtt_topics_availability(&s->topics, s->avail, sizeof s->avail);
}

void mqtt_session_connected(mqtt_session_t *s)
{
    mqtt_topics_cache_clear(&s->cache);
    s->disc_key = 0;
    s->next_periodic_ms = 0;
}

void mqtt_session_free(mqtt_session_t *s)
{
    if (s != NULL) {
        mqtt_topics_cache_clear(&s->cache);
    }
}

typedef struct {
    mqtt_session_t *s;
    mqtt_session_send_fn send;
    void *ctx;
    mqtt_session_pass_t *pass;
} sender_t;

/* Sends the list: on-change items when they changed, periodic items when
 * `periodic`; *valid_changed (may be NULL) is set when data_valid changed.
 * Returns false when the connection broke on the way. */
static bool send_list(sender_t *x, const mqtt_topics_list_t *l, bool periodic, bool *valid_changed)
{
    for (size_t i = 0; i < l->count; i++) {
        const mqtt_topics_msg_t *msg = &l->items[i];
        bool go = msg->when == MQTT_TOPICS_PERIODIC
                      ? periodic
                      : mqtt_topics_cache_changed(&x->s->cache, msg->topic, msg->payload);
        if (!go) {
            continue;
        }
        if (valid_changed != NULL && msg->when == MQTT_TOPICS_ON_CHANGE &&
            strstr(msg->topic, "/data_valid") != NULL) {
            *valid_changed = true;
        }
        x->pass->sent++;
        if (!x->send(x->ctx, msg->topic, msg->payload, msg->retain)) {
            x->pass->broken = true;
            return false;
        }
    }
    return true;
}

/* The discovery documents when the entity set differs from the one last
 * sent; the key is kept only once every document went out. */
static bool send_discovery(sender_t *x, const status_t *st)
{
    mqtt_session_t *s = x->s;
    if (!s->discovery) {
        return true;
    }
    uint32_t key = mqtt_topics_discovery_key(st);
    if (key == s->disc_key) {
        return true;
    }
    mqtt_topics_list_t l = {0};
    x->pass->discovery_err = mqtt_topics_discovery(&s->topics, st, &l);
    bool ok = true;
    if (x->pass->discovery_err == MQTT_TOPICS_OK) {
        x->pass->discovery_checked = l.count;
        ok = send_list(x, &l, false, NULL);
        if (ok) {
            s->disc_key = key;
        }
    }
    mqtt_topics_list_free(&l);
    return ok;
}

mqtt_session_pass_t mqtt_session_publish(mqtt_session_t *s, const status_t *st, uint64_t seq,
                                         uint64_t now_ms, uint64_t wall_ms,
                                         mqtt_session_send_fn send, void *ctx)
{
    mqtt_session_pass_t pass = {0};
    if (s == NULL || st == NULL || send == NULL) {
        pass.status_err = MQTT_TOPICS_ERR_ARG;
        return pass;
    }
    sender_t x = {.s = s, .send = send, .ctx = ctx, .pass = &pass};
    if (seq != s->status_seq) {
        s->status_seq = seq;
        s->status_changed_ms = now_ms;
    }
    bool fresh = now_ms - s->status_changed_ms < MQTT_SESSION_STATUS_OLD_MS;
    if (!send_discovery(&x, st)) {
        return pass;
    }
    mqtt_topics_list_t l = {0};
    pass.status_err = mqtt_topics_from_status(&s->topics, st, fresh, wall_ms, &l);
    if (pass.status_err == MQTT_TOPICS_OK) {
        bool periodic = now_ms >= s->next_periodic_ms;
        bool valid_changed = false;
        /* The on-change pass first: when the data just became valid the
         * values follow at once instead of at the next interval. */
        if (send_list(&x, &l, periodic, &valid_changed) && valid_changed && !periodic) {
            periodic = true;
            (void)send_list(&x, &l, true, NULL);
        }
        if (periodic) {
            s->next_periodic_ms = now_ms + s->interval_ms;
        }
    }
    mqtt_topics_list_free(&l);
    return pass;
}

bool mqtt_session_same_settings(const cfg_t *a, const cfg_t *b)
{
    return a->mqtt.enabled == b->mqtt.enabled && strcmp(a->mqtt.host, b->mqtt.host) == 0 &&
           a->mqtt.port == b->mqtt.port && strcmp(a->mqtt.username, b->mqtt.username) == 0 &&
           strcmp(a->mqtt.password, b->mqtt.password) == 0 &&
           strcmp(a->mqtt.client_id, b->mqtt.client_id) == 0 &&
           strcmp(a->mqtt.root_topic, b->mqtt.root_topic) == 0 && a->mqtt.qos == b->mqtt.qos &&
           a->mqtt.retain == b->mqtt.retain && a->mqtt.keepalive_s == b->mqtt.keepalive_s &&
           strcmp(a->mqtt.tls_ca_file, b->mqtt.tls_ca_file) == 0 &&
           a->mqtt.interval_ms == b->mqtt.interval_ms && a->mqtt.discovery == b->mqtt.discovery &&
           strcmp(a->mqtt.discovery_prefix, b->mqtt.discovery_prefix) == 0 &&
           strcmp(a->victron.battery_name, b->victron.battery_name) == 0;
}
