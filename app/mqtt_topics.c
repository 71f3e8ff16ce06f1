/*
 * MQTT topics and Home Assistant discovery from the status document.
 * Readable topic names replace the seed's numeric ones (seed-system.md 9,
 * item 26); alarms go out on change only (item 25).
 * Home Assistant MQTT discovery: https://www.home-assistant.io/integrations/mqtt/
 * (discovery topic <prefix>/<component>/<node_id>/<object_id>/config).
 */
#include "mqtt_topics.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *mqtt_topics_strerror(mqtt_topics_err_t e)
{
    switch (e) {
    case MQTT_TOPICS_OK:
        return "ok";
    case MQTT_TOPICS_ERR_ARG:
        return "bad argument";
    case MQTT_TOPICS_ERR_JSON:
        return "status document is not a JSON object";
    case MQTT_TOPICS_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown error";
}

/* ---- the values ---- */

typedef enum { V_NUM = 0, V_TEXT } vkind_t;

typedef struct {
    const char *sub;         /* topic below the root */
    const char *path;        /* dotted path in the status document */
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

/* clang-format off */
static const value_def_t values[] = {
    {"voltage", "voltage", "voltage", "Voltage", "V", "voltage", "measurement", 2, V_NUM, false, false},
    {"current", "current", "current", "Current", "A", "current", "measurement", 1, V_NUM, false, false},
    {"power_w", "power_w", "power", "Power", "W", "power", "measurement", 0, V_NUM, false, false},
    {"soc_percent", "soc_percent", "soc", "State of charge", "%", "battery", "measurement", 1, V_NUM, false, false},
    {"soh_percent", "soh_percent", "soh", "State of health", "%", NULL, "measurement", 1, V_NUM, true, false},
    {"temperature", "temperature", "temperature", "Temperature", "\xC2\xB0" "C", "temperature", "measurement", 1, V_NUM, true, false},
    {"temperatures/external_1", "temperatures.external_1_c", "temperature_external_1", "External temperature 1", "\xC2\xB0" "C", "temperature", "measurement", 1, V_NUM, true, false},
    {"temperatures/external_2", "temperatures.external_2_c", "temperature_external_2", "External temperature 2", "\xC2\xB0" "C", "temperature", "measurement", 1, V_NUM, true, false},
    {"temperatures/internal", "temperatures.internal_c", "temperature_internal", "BMS temperature", "\xC2\xB0" "C", "temperature", "measurement", 1, V_NUM, true, true},
    {"cells/count", "cell_count", "cell_count", "Cell count", NULL, NULL, NULL, -1, V_NUM, true, true},
    {"cells/min_mv", "min_cell_mv", "cell_min", "Lowest cell voltage", "mV", "voltage", "measurement", 0, V_NUM, false, false},
    {"cells/max_mv", "max_cell_mv", "cell_max", "Highest cell voltage", "mV", "voltage", "measurement", 0, V_NUM, false, false},
    {"cells/imbalance_mv", "cell_imbalance_mv", "cell_imbalance", "Cell imbalance", "mV", "voltage", "measurement", 0, V_NUM, false, false},
    {"limits/cvl_v", "limits.cvl_v", "cvl", "Charge voltage limit", "V", "voltage", "measurement", 2, V_NUM, false, false},
    {"limits/ccl_a", "limits.ccl_a", "ccl", "Charge current limit", "A", "current", "measurement", 1, V_NUM, false, false},
    {"limits/dcl_a", "limits.dcl_a", "dcl", "Discharge current limit", "A", "current", "measurement", 1, V_NUM, false, false},
    {"limits/dvl_v", "limits.dvl_v", "dvl", "Discharge voltage limit", "V", "voltage", "measurement", 2, V_NUM, false, true},
    {"cvl/state", "stats.cvl.state", "cvl_state", "Charge state", NULL, NULL, NULL, -1, V_TEXT, true, false},
    {"bms/status", "online_status_name", "bms_status", "BMS status", NULL, NULL, NULL, -1, V_TEXT, false, true},
    {"energy/charged_kwh", "energy.charged_kwh", "energy_charged", "Energy charged", "kWh", "energy", "total_increasing", 2, V_NUM, false, false},
    {"energy/discharged_kwh", "energy.discharged_kwh", "energy_discharged", "Energy discharged", "kWh", "energy", "total_increasing", 2, V_NUM, false, false},
};
/* clang-format on */
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

/* The item at a dotted path ("limits.cvl_v"), or NULL. */
static const cJSON *at_path(const cJSON *root, const char *path)
{
    char key[64];
    const cJSON *cur = root;
    while (cur != NULL && *path != '\0') {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof key) {
            return NULL;
        }
        memcpy(key, path, n);
        key[n] = '\0';
        cur = cJSON_GetObjectItemCaseSensitive(cur, key);
        path += n + (dot ? 1u : 0u);
    }
    return cur;
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

/* The payload of a value item; false when null or of another type. */
static bool value_text(const cJSON *item, vkind_t kind, char *out, size_t cap)
{
    if (kind == V_NUM && cJSON_IsNumber(item)) {
        fmt_num(item->valuedouble, out, cap);
        return true;
    }
    if (kind == V_TEXT && cJSON_IsString(item) && item->valuestring != NULL) {
        (void)snprintf(out, cap, "%s", item->valuestring);
        return true;
    }
    return false;
}

static bool doc_bool(const cJSON *doc, const char *path)
{
    return cJSON_IsTrue(at_path(doc, path));
}

static const char *doc_str(const cJSON *doc, const char *path, const char *fallback)
{
    const cJSON *s = at_path(doc, path);
    return cJSON_IsString(s) && s->valuestring != NULL ? s->valuestring : fallback;
}

static bool cfg_ok(const mqtt_topics_cfg_t *cfg)
{
    return cfg != NULL && cfg->root != NULL && cfg->root[0] != '\0';
}

/* ---- state and values ---- */

/* A copy of doc[path] into obj[key], or null when the data is not valid. */
static void state_copy(cJSON *obj, const char *key, const cJSON *doc, const char *path, bool valid)
{
    const cJSON *src = at_path(doc, path);
    cJSON *dup = valid && src != NULL ? cJSON_Duplicate(src, true) : NULL;
    if (dup != NULL) {
        cJSON_AddItemToObject(obj, key, dup);
    } else {
        cJSON_AddNullToObject(obj, key);
    }
}

static char *state_json(const cJSON *doc, bool valid, uint64_t wall_ms)
{
    static const char *const flat[] = {
        "voltage",     "current",           "power_w",    "soc_percent",
        "soh_percent", "temperature",       "min_cell_mv", "max_cell_mv",
        "cell_imbalance_mv", "cell_count", "online_status_name",
    };
    cJSON *s = cJSON_CreateObject();
    if (s == NULL) {
        return NULL;
    }
    cJSON_AddNumberToObject(s, "ts", (double)wall_ms);
    cJSON_AddBoolToObject(s, "data_valid", valid);
    cJSON_AddStringToObject(s, "data_state", valid ? "valid" : doc_str(doc, "data_state", "stale"));
    state_copy(s, "data_age_ms", doc, "data_age_ms", true);
    state_copy(s, "uptime_ms", doc, "uptime_ms", true);
    for (size_t i = 0; i < sizeof flat / sizeof flat[0]; i++) {
        state_copy(s, flat[i], doc, flat[i], valid);
    }
    cJSON *cells = cJSON_AddArrayToObject(s, "cells");
    const cJSON *c;
    cJSON_ArrayForEach(c, at_path(doc, "cells"))
    {
        const cJSON *mv = cJSON_GetObjectItemCaseSensitive(c, "mv");
        if (valid && cJSON_IsNumber(mv)) {
            cJSON_AddItemToArray(cells, cJSON_CreateNumber(mv->valuedouble));
        }
    }
    cJSON *t = cJSON_AddObjectToObject(s, "temperatures");
    state_copy(t, "external_1_c", doc, "temperatures.external_1_c", valid);
    state_copy(t, "external_2_c", doc, "temperatures.external_2_c", valid);
    state_copy(t, "internal_c", doc, "temperatures.internal_c", valid);
    cJSON *lim = cJSON_AddObjectToObject(s, "limits");
    state_copy(lim, "cvl_v", doc, "limits.cvl_v", valid);
    state_copy(lim, "ccl_a", doc, "limits.ccl_a", valid);
    state_copy(lim, "dcl_a", doc, "limits.dcl_a", valid);
    state_copy(lim, "dvl_v", doc, "limits.dvl_v", valid);
    state_copy(s, "cvl_state", doc, "stats.cvl.state", valid);
    cJSON *en = cJSON_AddObjectToObject(s, "energy");
    state_copy(en, "charged_kwh", doc, "energy.charged_kwh", valid);
    state_copy(en, "discharged_kwh", doc, "energy.discharged_kwh", valid);
    state_copy(s, "alarm", doc, "alarms.worst", true);
    cJSON_AddBoolToObject(s, "gx_keepalive_ok", doc_bool(doc, "gx.keepalive_ok"));
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

static mqtt_topics_err_t add_values(const mqtt_topics_cfg_t *cfg, const cJSON *doc,
                                    mqtt_topics_list_t *out)
{
    char payload[128];
    mqtt_topics_err_t e = MQTT_TOPICS_OK;
    for (size_t i = 0; i < VALUE_COUNT && e == MQTT_TOPICS_OK; i++) {
        const value_def_t *v = &values[i];
        if (value_text(at_path(doc, v->path), v->kind, payload, sizeof payload)) {
            e = add_sub(cfg, out, v->sub, payload, cfg->retain, MQTT_TOPICS_PERIODIC);
        }
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, at_path(doc, "cells"))
    {
        const cJSON *idx = cJSON_GetObjectItemCaseSensitive(c, "index");
        const cJSON *mv = cJSON_GetObjectItemCaseSensitive(c, "mv");
        if (e != MQTT_TOPICS_OK || !cJSON_IsNumber(idx) || !cJSON_IsNumber(mv)) {
            continue;
        }
        char sub[32];
        (void)snprintf(sub, sizeof sub, "cells/%d", idx->valueint);
        fmt_num(mv->valuedouble, payload, sizeof payload);
        e = add_sub(cfg, out, sub, payload, cfg->retain, MQTT_TOPICS_PERIODIC);
    }
    return e;
}

static mqtt_topics_err_t add_alarms(const mqtt_topics_cfg_t *cfg, const cJSON *doc,
                                    mqtt_topics_list_t *out)
{
    const cJSON *alarms = at_path(doc, "alarms");
    if (!cJSON_IsObject(alarms)) {
        return MQTT_TOPICS_OK;
    }
    char *json = cJSON_PrintUnformatted(alarms);
    if (json == NULL) {
        return MQTT_TOPICS_ERR_NOMEM;
    }
    mqtt_topics_err_t e = add_sub(cfg, out, "alarms", json, true, MQTT_TOPICS_ON_CHANGE);
    free(json);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(alarms, "conditions"))
    {
        if (e != MQTT_TOPICS_OK || c->string == NULL || !cJSON_IsString(c)) {
            continue;
        }
        char sub[96];
        (void)snprintf(sub, sizeof sub, "alarms/%s", c->string);
        e = add_sub(cfg, out, sub, c->valuestring, true, MQTT_TOPICS_ON_CHANGE);
    }
    return e;
}

mqtt_topics_err_t mqtt_topics_from_status(const mqtt_topics_cfg_t *cfg, const char *status_json,
                                          bool status_fresh, uint64_t wall_ms,
                                          mqtt_topics_list_t *out)
{
    if (!cfg_ok(cfg) || status_json == NULL || out == NULL) {
        return MQTT_TOPICS_ERR_ARG;
    }
    cJSON *doc = cJSON_Parse(status_json);
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return MQTT_TOPICS_ERR_JSON;
    }
    bool valid = status_fresh && doc_bool(doc, "data_valid");
    mqtt_topics_err_t e = MQTT_TOPICS_ERR_NOMEM;
    char *state = state_json(doc, valid, wall_ms);
    if (state != NULL) {
        e = add_sub(cfg, out, "state", state, cfg->retain, MQTT_TOPICS_PERIODIC);
        free(state);
    }
    if (e == MQTT_TOPICS_OK) {
        e = add_sub(cfg, out, "data_valid", valid ? "true" : "false", true,
                    MQTT_TOPICS_ON_CHANGE);
    }
    if (e == MQTT_TOPICS_OK) {
        e = add_sub(cfg, out, "data_state",
                    status_fresh ? doc_str(doc, "data_state", "waiting") : "stale", true,
                    MQTT_TOPICS_ON_CHANGE);
    }
    if (e == MQTT_TOPICS_OK) {
        e = add_sub(cfg, out, "gx/keepalive_ok",
                    status_fresh && doc_bool(doc, "gx.keepalive_ok") ? "true" : "false", true,
                    MQTT_TOPICS_ON_CHANGE);
    }
    if (e == MQTT_TOPICS_OK && valid) {
        e = add_values(cfg, doc, out);
    }
    if (e == MQTT_TOPICS_OK) {
        e = add_alarms(cfg, doc, out);
    }
    cJSON_Delete(doc);
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

mqtt_topics_err_t mqtt_topics_discovery(const mqtt_topics_cfg_t *cfg, const char *status_json,
                                        mqtt_topics_list_t *out)
{
    if (!cfg_ok(cfg) || cfg->discovery_prefix == NULL || cfg->discovery_prefix[0] == '\0' ||
        status_json == NULL || out == NULL) {
        return MQTT_TOPICS_ERR_ARG;
    }
    cJSON *doc = cJSON_Parse(status_json);
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return MQTT_TOPICS_ERR_JSON;
    }
    disc_ctx_t x = {.cfg = cfg};
    sanitise_id(cfg->node_id, x.node, sizeof x.node);
    mqtt_topics_err_t e = MQTT_TOPICS_ERR_ARG;
    if (topic_of(cfg, "availability", x.avail, sizeof x.avail) &&
        topic_of(cfg, "data_valid", x.valid_topic, sizeof x.valid_topic)) {
        e = MQTT_TOPICS_OK;
    }
    x.hw = doc_str(doc, "bms.hardware", NULL);
    char payload[128];
    for (size_t i = 0; i < VALUE_COUNT && e == MQTT_TOPICS_OK; i++) {
        const value_def_t *v = &values[i];
        if (v->optional && !value_text(at_path(doc, v->path), v->kind, payload, sizeof payload)) {
            continue;
        }
        e = disc_value(&x, v, out);
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, at_path(doc, "cells"))
    {
        const cJSON *idx = cJSON_GetObjectItemCaseSensitive(c, "index");
        if (e == MQTT_TOPICS_OK && cJSON_IsNumber(idx)) {
            e = disc_cell(&x, idx->valueint, out);
        }
    }
    cJSON_ArrayForEach(c, at_path(doc, "alarms.conditions"))
    {
        if (e == MQTT_TOPICS_OK && c->string != NULL) {
            e = disc_alarm(&x, c->string, out);
        }
    }
    if (e == MQTT_TOPICS_OK) {
        e = disc_binaries(&x, out);
    }
    cJSON_Delete(doc);
    return e;
}

static uint32_t mix(uint32_t h, const char *s)
{
    for (; *s != '\0'; s++) {
        h = (h ^ (uint8_t)*s) * 16777619u;
    }
    return (h ^ 0xFFu) * 16777619u;
}

uint32_t mqtt_topics_discovery_key(const char *status_json)
{
    if (status_json == NULL) {
        return 0u;
    }
    cJSON *doc = cJSON_Parse(status_json);
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return 0u;
    }
    char payload[128];
    uint32_t present = 0;
    for (size_t i = 0; i < VALUE_COUNT; i++) {
        if (value_text(at_path(doc, values[i].path), values[i].kind, payload, sizeof payload)) {
            present |= 1u << i;
        }
    }
    (void)snprintf(payload, sizeof payload, "%u/%d", (unsigned)present,
                   cJSON_GetArraySize(at_path(doc, "cells")));
    uint32_t h = mix(2166136261u, payload);
    h = mix(h, doc_str(doc, "bms.hardware", ""));
    const cJSON *c;
    cJSON_ArrayForEach(c, at_path(doc, "alarms.conditions"))
    {
        if (c->string != NULL) {
            h = mix(h, c->string);
        }
    }
    cJSON_Delete(doc);
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
