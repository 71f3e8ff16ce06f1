/*
 * MQTT topics and Home Assistant discovery from the typed status snapshot
 * (status.h); the alarms JSON is the status document's own "alarms" part.
 * Readable topic names replace the seed's numeric ones (seed-system.md 9,
 * item 26); alarms go out on change only (item 25).
 * Home Assistant MQTT discovery: https://www.home-assistant.io/integrations/mqtt/
 * (discovery topic <prefix>/<component>/<node_id>/<object_id>/config).
 */
#include "mqtt_topics.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status_json.h"

const char *mqtt_topics_strerror(mqtt_topics_err_t e)
{
    switch (e) {
    case MQTT_TOPICS_OK:
        return "ok";
    case MQTT_TOPICS_ERR_ARG:
        return "bad argument";
    case MQTT_TOPICS_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown error";
}

/* ---- the values ---- */

typedef enum {
    V_NUM = 0, /* a status_num_t: nothing when not known */
    V_DBL,     /* a double, always there */
    V_TEXT,    /* a const char *: nothing when NULL */
} vkind_t;

typedef struct {
    const char *sub;         /* topic below the root */
    size_t off;              /* the field in status_t (its type: kind) */
    const char *object;      /* discovery object id */
    const char *name;        /* Home Assistant entity name */
    const char *unit;        /* NULL: none */
    const char *dev_class;   /* NULL: none */
    const char *state_class; /* NULL: none */
    int precision;           /* suggested_display_precision; -1 none */
    vkind_t kind;
    bool optional;   /* discovery only when the value is present */
    bool diagnostic; /* entity_category "diagnostic" */
} value_def_t;

#define F(field) offsetof(status_t, field)
/* clang-format off */
static const value_def_t values[] = {
    {"voltage", F(voltage), "voltage", "Voltage", "V", "voltage", "measurement", 2, V_NUM, false, false},
    {"current", F(current), "current", "Current", "A", "current", "measurement", 1, V_NUM, false, false},
    {"power_w", F(power_w), "power", "Power", "W", "power", "measurement", 0, V_NUM, false, false},
    {"soc_percent", F(soc_percent), "soc", "State of charge", "%", "battery", "measurement", 1, V_NUM, false, false},
    {"soh_percent", F(soh_percent), "soh", "State of health", "%", NULL, "measurement", 1, V_NUM, true, false},
    {"temperature", F(temperature), "temperature", "Temperature", "\xC2\xB0" "C", "temperature", "measurement", 1, V_NUM, true, false},
    {"temperatures/external_1", F(temps.external_1_c), "temperature_external_1", "External temperature 1", "\xC2\xB0" "C", "temperature", "measurement", 1, V_NUM, true, false},
    {"temperatures/external_2", F(temps.external_2_c), "temperature_external_2", "External temperature 2", "\xC2\xB0" "C", "temperature", "measurement", 1, V_NUM, true, false},
    {"temperatures/internal", F(temps.internal_c), "temperature_internal", "BMS temperature", "\xC2\xB0" "C", "temperature", "measurement", 1, V_NUM, true, true},
    {"cells/count", F(cell_count), "cell_count", "Cell count", NULL, NULL, NULL, -1, V_NUM, true, true},
    {"cells/min_mv", F(min_cell_mv), "cell_min", "Lowest cell voltage", "mV", "voltage", "measurement", 0, V_NUM, false, false},
    {"cells/max_mv", F(max_cell_mv), "cell_max", "Highest cell voltage", "mV", "voltage", "measurement", 0, V_NUM, false, false},
    {"cells/imbalance_mv", F(cell_imbalance_mv), "cell_imbalance", "Cell imbalance", "mV", "voltage", "measurement", 0, V_NUM, false, false},
    {"limits/cvl_v", F(limits.cvl_v), "cvl", "Charge voltage limit", "V", "voltage", "measurement", 2, V_NUM, false, false},
    {"limits/ccl_a", F(limits.ccl_a), "ccl", "Charge current limit", "A", "current", "measurement", 1, V_NUM, false, false},
    {"limits/dcl_a", F(limits.dcl_a), "dcl", "Discharge current limit", "A", "current", "measurement", 1, V_NUM, false, false},
    {"limits/dvl_v", F(limits.dvl_v), "dvl", "Discharge voltage limit", "V", "voltage", "measurement", 2, V_NUM, false, true},
    {"cvl/state", F(cvl.state), "cvl_state", "Charge state", NULL, NULL, NULL, -1, V_TEXT, true, false},
    {"bms/status", F(online_status_name), "bms_status", "BMS status", NULL, NULL, NULL, -1, V_TEXT, false, true},
    {"energy/charged_kwh", F(energy.charged_kwh), "energy_charged", "Energy charged", "kWh", "energy", "total_increasing", 2, V_DBL, false, false},
    {"energy/discharged_kwh", F(energy.discharged_kwh), "energy_discharged", "Energy discharged", "kWh", "energy", "total_increasing", 2, V_DBL, false, false},
};
/* clang-format on */
#undef F
#define VALUE_COUNT (sizeof values / sizeof values[0])
_Static_assert(VALUE_COUNT <= 32u, "the discovery key keeps one presence bit per value");

/* ---- small helpers ---- */

void mqtt_topics_list_free(mqtt_topics_list_t *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].topic);
        free(l->items[i].payload);
    }
    free(l->items);
    l->items = NULL;
    l->count = 0;
    l->cap = 0;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1u;
    char *d = malloc(n);
    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d;
}

/* Appends a copy of topic and payload. */
static mqtt_topics_err_t add(mqtt_topics_list_t *l, const char *topic, const char *payload,
                             bool retain, mqtt_topics_when_t when)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2u : 32u;
        mqtt_topics_msg_t *n = realloc(l->items, cap * sizeof *n);
        if (n == NULL) {
            return MQTT_TOPICS_ERR_NOMEM;
        }
        l->items = n;
        l->cap = cap;
    }
    char *t = dup_str(topic);
    char *p = dup_str(payload);
    if (t == NULL || p == NULL) {
        free(t);
        free(p);
        return MQTT_TOPICS_ERR_NOMEM;
    }
    l->items[l->count++] = (mqtt_topics_msg_t){.topic = t, .payload = p, .retain = retain,
                                               .when = when};
    return MQTT_TOPICS_OK;
}

/* "<root>/<sub>"; false when it does not fit. */
static bool topic_of(const mqtt_topics_cfg_t *cfg, const char *sub, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", cfg->root, sub);
    return n > 0 && (size_t)n < cap;
}

bool mqtt_topics_availability(const mqtt_topics_cfg_t *cfg, char *out, size_t cap)
{
    if (cfg == NULL || cfg->root == NULL || out == NULL || cap == 0u) {
        return false;
    }
    return topic_of(cfg, "availability", out, cap);
}

/* A number as short text: 53.12, 3312, -4.5 (at most 6 decimals). */
static void fmt_num(double v, char *out, size_t cap)
{
    if (!isfinite(v)) {
        (void)snprintf(out, cap, "0");
        return;
    }
    if (v > -1e15 && v < 1e15 && v == (double)(long long)v) {
        (void)snprintf(out, cap, "%.0f", v == 0.0 ? 0.0 : v);
        return;
    }
    (void)snprintf(out, cap, "%.6f", v);
    char *dot = strchr(out, '.');
    if (dot != NULL) {
        char *end = out + strlen(out) - 1;
        while (end > dot && *end == '0') {
            *end-- = '\0';
        }
        if (end == dot) {
            *end = '\0';
        }
    }
}

/* The payload of value v in st; false when it is not known. */
static bool value_text(const status_t *st, const value_def_t *v, char *out, size_t cap)
{
    const char *field = (const char *)st + v->off;
    if (v->kind == V_NUM) {
        const status_num_t *n = (const status_num_t *)(const void *)field;
        if (!n->known) {
            return false;
        }
        fmt_num(n->v, out, cap);
        return true;
    }
    if (v->kind == V_DBL) {
        fmt_num(*(const double *)(const void *)field, out, cap);
        return true;
    }
    const char *text = *(const char *const *)(const void *)field;
    if (text == NULL) {
        return false;
    }
    (void)snprintf(out, cap, "%s", text);
    return true;
}

static bool cfg_ok(const mqtt_topics_cfg_t *cfg)
{
    return cfg != NULL && cfg->root != NULL && cfg->root[0] != '\0';
}

/* ---- state and values ---- */

/* obj[key] = n, or null when not known or the data is not valid. */
static void state_num(cJSON *obj, const char *key, status_num_t n, bool valid)
{
    if (valid && n.known) {
        cJSON_AddNumberToObject(obj, key, n.v);
    } else {
        cJSON_AddNullToObject(obj, key);
    }
}

static void state_text(cJSON *obj, const char *key, const char *text, bool valid)
{
    if (valid && text != NULL) {
        cJSON_AddStringToObject(obj, key, text);
    } else {
        cJSON_AddNullToObject(obj, key);
    }
}

static void state_dbl(cJSON *obj, const char *key, double v, bool valid)
{
    state_num(obj, key, (status_num_t){.known = true, .v = v}, valid);
}

static char *state_json(const status_t *st, bool valid, uint64_t wall_ms)
{
    cJSON *s = cJSON_CreateObject();
    if (s == NULL) {
        return NULL;
    }
    cJSON_AddNumberToObject(s, "ts", (double)wall_ms);
    cJSON_AddBoolToObject(s, "data_valid", valid);
    cJSON_AddStringToObject(s, "data_state",
                            valid ? "valid" : (st->data_state ? st->data_state : "stale"));
    state_num(s, "data_age_ms", st->data_age_ms, true);
    state_dbl(s, "uptime_ms", (double)st->uptime_ms, true);
    state_num(s, "voltage", st->voltage, valid);
    state_num(s, "current", st->current, valid);
    state_num(s, "power_w", st->power_w, valid);
    state_num(s, "soc_percent", st->soc_percent, valid);
    state_num(s, "soh_percent", st->soh_percent, valid);
    state_num(s, "temperature", st->temperature, valid);
    state_num(s, "min_cell_mv", st->min_cell_mv, valid);
    state_num(s, "max_cell_mv", st->max_cell_mv, valid);
    state_num(s, "cell_imbalance_mv", st->cell_imbalance_mv, valid);
    state_num(s, "cell_count", st->cell_count, valid);
    state_text(s, "online_status_name", st->online_status_name, valid);
    cJSON *cells = cJSON_AddArrayToObject(s, "cells");
    for (unsigned i = 0; valid && i < st->cells_n && i < STATUS_CELLS_MAX; i++) {
        cJSON_AddItemToArray(cells, cJSON_CreateNumber(st->cells[i].mv));
    }
    cJSON *t = cJSON_AddObjectToObject(s, "temperatures");
    state_num(t, "external_1_c", st->temps.external_1_c, valid);
    state_num(t, "external_2_c", st->temps.external_2_c, valid);
    state_num(t, "internal_c", st->temps.internal_c, valid);
    cJSON *lim = cJSON_AddObjectToObject(s, "limits");
    state_num(lim, "cvl_v", st->limits.cvl_v, valid);
    state_num(lim, "ccl_a", st->limits.ccl_a, valid);
    state_num(lim, "dcl_a", st->limits.dcl_a, valid);
    state_num(lim, "dvl_v", st->limits.dvl_v, valid);
    state_text(s, "cvl_state", st->cvl.state, valid);
    cJSON *en = cJSON_AddObjectToObject(s, "energy");
    state_dbl(en, "charged_kwh", st->energy.charged_kwh, valid);
    state_dbl(en, "discharged_kwh", st->energy.discharged_kwh, valid);
    cJSON_AddStringToObject(s, "alarm", status_level_name(st->alarms.worst));
    cJSON_AddBoolToObject(s, "gx_keepalive_ok", st->gx.keepalive_ok);
    char *out = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    return out;
}

static mqtt_topics_err_t add_sub(const mqtt_topics_cfg_t *cfg, mqtt_topics_list_t *out,
                                 const char *sub, const char *payload, bool retain,
                                 mqtt_topics_when_t when)
{
    char topic[MQTT_TOPICS_TOPIC_MAX];
    if (!topic_of(cfg, sub, topic, sizeof topic)) {
        return MQTT_TOPICS_ERR_ARG;
    }
    return add(out, topic, payload, retain, when);
}

static mqtt_topics_err_t add_values(const mqtt_topics_cfg_t *cfg, const status_t *st,
                                    mqtt_topics_list_t *out)
{
    char payload[128];
    mqtt_topics_err_t e = MQTT_TOPICS_OK;
    for (size_t i = 0; i < VALUE_COUNT && e == MQTT_TOPICS_OK; i++) {
        const value_def_t *v = &values[i];
        if (value_text(st, v, payload, sizeof payload)) {
            e = add_sub(cfg, out, v->sub, payload, cfg->retain, MQTT_TOPICS_PERIODIC);
        }
    }
    for (unsigned i = 0; e == MQTT_TOPICS_OK && i < st->cells_n && i < STATUS_CELLS_MAX; i++) {
        char sub[32];
        (void)snprintf(sub, sizeof sub, "cells/%u", (unsigned)st->cells[i].index);
        fmt_num(st->cells[i].mv, payload, sizeof payload);
        e = add_sub(cfg, out, sub, payload, cfg->retain, MQTT_TOPICS_PERIODIC);
    }
    return e;
}

/* "alarms": the status document's alarms object; alarms/<condition>: its level. */
static mqtt_topics_err_t add_alarms(const mqtt_topics_cfg_t *cfg, const status_t *st,
                                    mqtt_topics_list_t *out)
{
    cJSON *alarms = status_json_alarms(st);
    char *json = alarms != NULL ? cJSON_PrintUnformatted(alarms) : NULL;
    cJSON_Delete(alarms);
    if (json == NULL) {
        return MQTT_TOPICS_ERR_NOMEM;
    }
    mqtt_topics_err_t e = add_sub(cfg, out, "alarms", json, true, MQTT_TOPICS_ON_CHANGE);
    free(json);
    for (unsigned i = 0; e == MQTT_TOPICS_OK && i < st->alarms.count && i < STATUS_CONDS_MAX;
         i++) {
        const status_cond_t *c = &st->alarms.cond[i];
        char sub[96];
        (void)snprintf(sub, sizeof sub, "alarms/%s", c->name);
        e = add_sub(cfg, out, sub, status_level_name(c->level), true, MQTT_TOPICS_ON_CHANGE);
    }
    return e;
}

mqtt_topics_err_t mqtt_topics_from_status(const mqtt_topics_cfg_t *cfg, const status_t *st,
                                          bool status_fresh, uint64_t wall_ms,
                                          mqtt_topics_list_t *out)
{
    if (!cfg_ok(cfg) || st == NULL || out == NULL) {
        return MQTT_TOPICS_ERR_ARG;
    }
    bool valid = status_fresh && st->data_valid;
    mqtt_topics_err_t e = MQTT_TOPICS_ERR_NOMEM;
    char *state = state_json(st, valid, wall_ms);
    if (state != NULL) {
        e = add_sub(cfg, out, "state", state, cfg->retain, MQTT_TOPICS_PERIODIC);
        free(state);
    }
    if (e == MQTT_TOPICS_OK) {
        e = add_sub(cfg, out, "data_valid", valid ? "true" : "false", true,
                    MQTT_TOPICS_ON_CHANGE);
    }
    if (e == MQTT_TOPICS_OK) {
        const char *ds = st->data_state != NULL ? st->data_state : "waiting";
        e = add_sub(cfg, out, "data_state", status_fresh ? ds : "stale", true,
                    MQTT_TOPICS_ON_CHANGE);
    }
    if (e == MQTT_TOPICS_OK) {
        e = add_sub(cfg, out, "gx/keepalive_ok",
                    status_fresh && st->gx.keepalive_ok ? "true" : "false", true,
                    MQTT_TOPICS_ON_CHANGE);
    }
    if (e == MQTT_TOPICS_OK && valid) {
        e = add_values(cfg, st, out);
    }
    if (e == MQTT_TOPICS_OK) {
        e = add_alarms(cfg, st, out);
    }
    return e;
}

/* ---- Home Assistant discovery ---- */

static void sanitise_id(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; in != NULL && *in != '\0' && n + 1u < cap; in++) {
        char ch = *in;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        out[n++] = ok ? ch : '_';
    }
    out[n] = '\0';
    if (n == 0u) {
        (void)snprintf(out, cap, "tinybms");
    }
}

typedef struct {
    const mqtt_topics_cfg_t *cfg;
    char node[64];
    char avail[MQTT_TOPICS_TOPIC_MAX];
    char valid_topic[MQTT_TOPICS_TOPIC_MAX];
    const char *hw; /* TinyBMS hardware version, NULL when unknown */
} disc_ctx_t;

static void add_device(cJSON *o, const disc_ctx_t *x)
{
    cJSON *dev = cJSON_AddObjectToObject(o, "device");
    cJSON *ids = cJSON_AddArrayToObject(dev, "identifiers");
    char ident[96];
    (void)snprintf(ident, sizeof ident, "tinybms_victron_bridge_%s", x->node);
    cJSON_AddItemToArray(ids, cJSON_CreateString(ident));
    cJSON_AddStringToObject(dev, "name",
                            x->cfg->device_name && x->cfg->device_name[0] ? x->cfg->device_name
                                                                           : "TinyBMS battery");
    cJSON_AddStringToObject(dev, "manufacturer", "tinybms-victron-bridge");
    cJSON_AddStringToObject(dev, "model", "TinyBMS (Victron CAN-BMS bridge)");
    cJSON_AddStringToObject(dev, "sw_version", x->cfg->sw_version ? x->cfg->sw_version : "");
    if (x->hw != NULL) {
        cJSON_AddStringToObject(dev, "hw_version", x->hw);
    }
    cJSON *origin = cJSON_AddObjectToObject(o, "origin");
    cJSON_AddStringToObject(origin, "name", "tinybms-victron-bridge");
    cJSON_AddStringToObject(origin, "sw_version", x->cfg->sw_version ? x->cfg->sw_version : "");
}

/* Availability: the bridge is online, and (gated) its battery data valid. */
static void add_availability(cJSON *o, const disc_ctx_t *x, bool gated)
{
    cJSON *av = cJSON_AddArrayToObject(o, "availability");
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "topic", x->avail);
    cJSON_AddStringToObject(a, "payload_available", "online");
    cJSON_AddStringToObject(a, "payload_not_available", "offline");
    cJSON_AddItemToArray(av, a);
    if (gated) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "topic", x->valid_topic);
        cJSON_AddStringToObject(b, "payload_available", "true");
        cJSON_AddStringToObject(b, "payload_not_available", "false");
        cJSON_AddItemToArray(av, b);
    }
    cJSON_AddStringToObject(o, "availability_mode", "all");
}

/* A new discovery object with the keys every entity has. */
static cJSON *disc_base(const disc_ctx_t *x, const char *object, const char *name,
                        const char *state_sub, bool gated)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    char uid[160], topic[MQTT_TOPICS_TOPIC_MAX];
    (void)snprintf(uid, sizeof uid, "%s_%s", x->node, object);
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddBoolToObject(o, "has_entity_name", true);
    cJSON_AddStringToObject(o, "unique_id", uid);
    if (topic_of(x->cfg, state_sub, topic, sizeof topic)) {
        cJSON_AddStringToObject(o, "state_topic", topic);
    }
    add_availability(o, x, gated);
    add_device(o, x);
    return o;
}

/* Prints o (taking it) as the retained config of component/object. */
static mqtt_topics_err_t disc_emit(const disc_ctx_t *x, const char *component, const char *object,
                                   cJSON *o, mqtt_topics_list_t *out)
{
    if (o == NULL) {
        return MQTT_TOPICS_ERR_NOMEM;
    }
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (json == NULL) {
        return MQTT_TOPICS_ERR_NOMEM;
    }
    char topic[MQTT_TOPICS_TOPIC_MAX];
    int n = snprintf(topic, sizeof topic, "%s/%s/%s/%s/config", x->cfg->discovery_prefix,
                     component, x->node, object);
    mqtt_topics_err_t e = n > 0 && (size_t)n < sizeof topic
                              ? add(out, topic, json, true, MQTT_TOPICS_ON_CHANGE)
                              : MQTT_TOPICS_ERR_ARG;
    free(json);
    return e;
}

static mqtt_topics_err_t disc_value(const disc_ctx_t *x, const value_def_t *v,
                                    mqtt_topics_list_t *out)
{
    cJSON *o = disc_base(x, v->object, v->name, v->sub, true);
    if (o == NULL) {
        return MQTT_TOPICS_ERR_NOMEM;
    }
    if (v->unit != NULL) {
        cJSON_AddStringToObject(o, "unit_of_measurement", v->unit);
    }
    if (v->dev_class != NULL) {
        cJSON_AddStringToObject(o, "device_class", v->dev_class);
    }
    if (v->state_class != NULL) {
        cJSON_AddStringToObject(o, "state_class", v->state_class);
    }
    if (v->precision >= 0) {
        cJSON_AddNumberToObject(o, "suggested_display_precision", v->precision);
    }
    if (v->diagnostic) {
        cJSON_AddStringToObject(o, "entity_category", "diagnostic");
    }
    return disc_emit(x, "sensor", v->object, o, out);
}

static mqtt_topics_err_t disc_cell(const disc_ctx_t *x, int index, mqtt_topics_list_t *out)
{
    char object[32], name[48], sub[32];
    (void)snprintf(object, sizeof object, "cell_%d", index);
    (void)snprintf(name, sizeof name, "Cell %d voltage", index);
    (void)snprintf(sub, sizeof sub, "cells/%d", index);
    cJSON *o = disc_base(x, object, name, sub, true);
    if (o == NULL) {
        return MQTT_TOPICS_ERR_NOMEM;
    }
    cJSON_AddStringToObject(o, "unit_of_measurement", "mV");
    cJSON_AddStringToObject(o, "device_class", "voltage");
    cJSON_AddStringToObject(o, "state_class", "measurement");
    cJSON_AddNumberToObject(o, "suggested_display_precision", 0);
    return disc_emit(x, "sensor", object, o, out);
}

/* "high_voltage" -> "High voltage alarm". */
static void condition_title(const char *cond, char *out, size_t cap)
{
    (void)snprintf(out, cap, "%s alarm", cond);
    for (char *p = out; *p != '\0'; p++) {
        if (*p == '_') {
            *p = ' ';
        }
    }
    if (out[0] >= 'a' && out[0] <= 'z') {
        out[0] = (char)(out[0] - 'a' + 'A');
    }
}

static mqtt_topics_err_t disc_alarm(const disc_ctx_t *x, const char *cond,
                                    mqtt_topics_list_t *out)
{
    char object[96], name[96], sub[96];
    (void)snprintf(object, sizeof object, "alarm_%s", cond);
    condition_title(cond, name, sizeof name);
    (void)snprintf(sub, sizeof sub, "alarms/%s", cond);
    cJSON *o = disc_base(x, object, name, sub, true);
    if (o == NULL) {
        return MQTT_TOPICS_ERR_NOMEM;
    }
    cJSON_AddStringToObject(o, "device_class", "problem");
    cJSON_AddStringToObject(o, "value_template", "{{ 'OFF' if value == 'ok' else 'ON' }}");
    return disc_emit(x, "binary_sensor", object, o, out);
}

static mqtt_topics_err_t disc_binaries(const disc_ctx_t *x, mqtt_topics_list_t *out)
{
    cJSON *o = disc_base(x, "alarm", "Alarm", "alarms", true);
    if (o != NULL) {
        cJSON_AddStringToObject(o, "device_class", "problem");
        cJSON_AddStringToObject(o, "value_template",
                                "{{ 'OFF' if value_json.worst == 'ok' else 'ON' }}");
        cJSON_AddStringToObject(o, "json_attributes_topic", cJSON_GetStringValue(
                                                                cJSON_GetObjectItem(o, "state_topic")));
    }
    mqtt_topics_err_t e = disc_emit(x, "binary_sensor", "alarm", o, out);
    static const struct {
        const char *object, *name, *sub;
    } links[] = {
        {"data_valid", "BMS data", "data_valid"},
        {"gx_link", "GX link", "gx/keepalive_ok"},
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0] && e == MQTT_TOPICS_OK; i++) {
        cJSON *b = disc_base(x, links[i].object, links[i].name, links[i].sub, false);
        if (b != NULL) {
            cJSON_AddStringToObject(b, "device_class", "connectivity");
            cJSON_AddStringToObject(b, "payload_on", "true");
            cJSON_AddStringToObject(b, "payload_off", "false");
            cJSON_AddStringToObject(b, "entity_category", "diagnostic");
        }
        e = disc_emit(x, "binary_sensor", links[i].object, b, out);
    }
    return e;
}

mqtt_topics_err_t mqtt_topics_discovery(const mqtt_topics_cfg_t *cfg, const status_t *st,
                                        mqtt_topics_list_t *out)
{
    if (!cfg_ok(cfg) || cfg->discovery_prefix == NULL || cfg->discovery_prefix[0] == '\0' ||
        st == NULL || out == NULL) {
        return MQTT_TOPICS_ERR_ARG;
    }
    disc_ctx_t x = {.cfg = cfg};
    sanitise_id(cfg->node_id, x.node, sizeof x.node);
    mqtt_topics_err_t e = MQTT_TOPICS_ERR_ARG;
    if (topic_of(cfg, "availability", x.avail, sizeof x.avail) &&
        topic_of(cfg, "data_valid", x.valid_topic, sizeof x.valid_topic)) {
        e = MQTT_TOPICS_OK;
    }
    x.hw = st->bms.have_version ? st->bms.hardware : NULL;
    char payload[128];
    for (size_t i = 0; i < VALUE_COUNT && e == MQTT_TOPICS_OK; i++) {
        const value_def_t *v = &values[i];
        if (v->optional && !value_text(st, v, payload, sizeof payload)) {
            continue;
        }
        e = disc_value(&x, v, out);
    }
    for (unsigned i = 0; e == MQTT_TOPICS_OK && i < st->cells_n && i < STATUS_CELLS_MAX; i++) {
        e = disc_cell(&x, st->cells[i].index, out);
    }
    for (unsigned i = 0; e == MQTT_TOPICS_OK && i < st->alarms.count && i < STATUS_CONDS_MAX;
         i++) {
        e = disc_alarm(&x, st->alarms.cond[i].name, out);
    }
    if (e == MQTT_TOPICS_OK) {
        e = disc_binaries(&x, out);
    }
    return e;
}

static uint32_t mix(uint32_t h, const char *s)
{
    for (; *s != '\0'; s++) {
        h = (h ^ (uint8_t)*s) * 16777619u;
    }
    return (h ^ 0xFFu) * 16777619u;
}

uint32_t mqtt_topics_discovery_key(const status_t *st)
{
    if (st == NULL) {
        return 0u;
    }
    char payload[128];
    uint32_t present = 0;
    for (size_t i = 0; i < VALUE_COUNT; i++) {
        if (value_text(st, &values[i], payload, sizeof payload)) {
            present |= 1u << i;
        }
    }
    (void)snprintf(payload, sizeof payload, "%u/%u", (unsigned)present, (unsigned)st->cells_n);
    uint32_t h = mix(2166136261u, payload);
    h = mix(h, st->bms.have_version ? st->bms.hardware : "");
    for (unsigned i = 0; i < st->alarms.count && i < STATUS_CONDS_MAX; i++) {
        h = mix(h, st->alarms.cond[i].name);
    }
    return h == 0u ? 1u : h;
}

/* ---- on-change cache ---- */

bool mqtt_topics_cache_changed(mqtt_topics_cache_t *c, const char *topic, const char *payload)
{
    if (c == NULL || topic == NULL || payload == NULL) {
        return true;
    }
    mqtt_topics_list_t *l = &c->sent;
    for (size_t i = 0; i < l->count; i++) {
        if (strcmp(l->items[i].topic, topic) != 0) {
            continue;
        }
        if (strcmp(l->items[i].payload, payload) == 0) {
            return false;
        }
        char *p = dup_str(payload);
        if (p != NULL) {
            free(l->items[i].payload);
            l->items[i].payload = p;
        }
        return true;
    }
    (void)add(l, topic, payload, false, MQTT_TOPICS_ON_CHANGE);
    return true;
}

void mqtt_topics_cache_clear(mqtt_topics_cache_t *c)
{
    if (c != NULL) {
        mqtt_topics_list_free(&c->sent);
    }
}
