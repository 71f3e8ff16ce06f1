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

/* A pack's values (status_pack_t), below <root>/packs/<n>/: the battery's
 * topic names where the pack has the same value. */
typedef struct {
    value_def_t v;
    bool measured; /* only while the pack's own data is valid (else: while the status is fresh) */
} pack_value_def_t;

#define PF(field) offsetof(status_pack_t, field)
/* clang-format off */
static const pack_value_def_t pack_values[] = {
    {{"voltage", PF(voltage), "voltage", "Voltage", "V", "voltage", "measurement", 2, V_NUM, false, false}, true},
    {{"current", PF(current), "current", "Current", "A", "current", "measurement", 1, V_NUM, false, false}, true},
    {{"power_w", PF(power_w), "power", "Power", "W", "power", "measurement", 0, V_NUM, false, false}, true},
    {{"soc_percent", PF(soc_percent), "soc", "State of charge", "%", "battery", "measurement", 1, V_NUM, false, false}, true},
    {{"soh_percent", PF(soh_percent), "soh", "State of health", "%", NULL, "measurement", 1, V_NUM, true, false}, true},
    {{"temperature", PF(temperature), "temperature", "Temperature", "\xC2\xB0" "C", "temperature", "measurement", 1, V_NUM, true, false}, true},
    {{"cells/count", PF(cell_count), "cell_count", "Cell count", NULL, NULL, NULL, -1, V_NUM, true, true}, true},
    {{"cells/min_mv", PF(min_cell_mv), "cell_min", "Lowest cell voltage", "mV", "voltage", "measurement", 0, V_NUM, false, false}, true},
    {{"cells/max_mv", PF(max_cell_mv), "cell_max", "Highest cell voltage", "mV", "voltage", "measurement", 0, V_NUM, false, false}, true},
    {{"cells/imbalance_mv", PF(cell_imbalance_mv), "cell_imbalance", "Cell imbalance", "mV", "voltage", "measurement", 0, V_NUM, false, false}, true},
    {{"limits/cvl_v", PF(limits.cvl_v), "cvl", "Own charge voltage limit", "V", "voltage", "measurement", 2, V_NUM, false, true}, true},
    {{"limits/ccl_a", PF(limits.ccl_a), "ccl", "Own charge current limit", "A", "current", "measurement", 1, V_NUM, false, false}, true},
    {{"limits/dcl_a", PF(limits.dcl_a), "dcl", "Own discharge current limit", "A", "current", "measurement", 1, V_NUM, false, false}, true},
    {{"limits/dvl_v", PF(limits.dvl_v), "dvl", "Own discharge voltage limit", "V", "voltage", "measurement", 2, V_NUM, false, true}, true},
    {{"limits/share_charge_percent", PF(limits.share_charge_pct), "share_charge", "Charge current share", "%", NULL, "measurement", 1, V_NUM, true, false}, false},
    {{"limits/share_discharge_percent", PF(limits.share_discharge_pct), "share_discharge", "Discharge current share", "%", NULL, "measurement", 1, V_NUM, true, false}, false},
    {{"bms/status", PF(online_status_name), "bms_status", "BMS status", NULL, NULL, NULL, -1, V_TEXT, false, true}, true},
    {{"capacity_ah", PF(capacity_ah), "capacity", "Capacity", "Ah", NULL, NULL, 0, V_NUM, true, true}, false},
};
/* clang-format on */
#undef PF
#define PACK_VALUE_COUNT (sizeof pack_values / sizeof pack_values[0])
_Static_assert(PACK_VALUE_COUNT <= 32u, "the discovery key keeps one presence bit per value");

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

/* The payload of value v in base (a status_t, or a status_pack_t for the pack
 * table); false when it is not known. */
static bool value_text(const void *base, const value_def_t *v, char *out, size_t cap)
{
    const char *field = (const char *)base + v->off;
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

/* ---- the packs: <root>/packs/<n>/... and <root>/bank ---- */

static unsigned packs_count(const status_t *st)
{
    return st->packs_n < STATUS_PACKS_MAX ? st->packs_n : STATUS_PACKS_MAX;
}

static const char *true_false(bool b)
{
    return b ? "true" : "false";
}

/* "packs/<n>/<sub>" into out; false when it does not fit. */
static bool pack_sub(unsigned n, const char *sub, char *out, size_t cap)
{
    int len = snprintf(out, cap, "packs/%u/%s", n, sub);
    return len > 0 && (size_t)len < cap;
}

static mqtt_topics_err_t add_pack_sub(const mqtt_topics_cfg_t *cfg, mqtt_topics_list_t *out,
                                      unsigned n, const char *sub, const char *payload,
                                      bool retain, mqtt_topics_when_t when)
{
    char full[MQTT_TOPICS_TOPIC_MAX];
    if (!pack_sub(n, sub, full, sizeof full)) {
        return MQTT_TOPICS_ERR_ARG;
    }
    return add_sub(cfg, out, full, payload, retain, when);
}

/* obj[key] = b, or null when the status is old. */
static void state_bool(cJSON *obj, const char *key, bool b, bool fresh)
{
    if (fresh) {
        cJSON_AddBoolToObject(obj, key, b);
    } else {
        cJSON_AddNullToObject(obj, key);
    }
}

/* The pack's state in the bank; "stale" when the status itself is old. */
static const char *pack_state_name(const status_pack_t *p, bool fresh)
{
    return fresh ? p->state : "stale";
}

/* The pack's JSON summary: the key names of the status document's packs[]. */
static char *pack_state_json(const status_pack_t *p, unsigned n, bool fresh, uint64_t wall_ms)
{
    bool valid = fresh && p->data_valid;
    cJSON *s = cJSON_CreateObject();
    if (s == NULL) {
        return NULL;
    }
    cJSON_AddNumberToObject(s, "ts", (double)wall_ms);
    cJSON_AddNumberToObject(s, "index", n);
    cJSON_AddStringToObject(s, "name", p->name);
    state_text(s, "state", pack_state_name(p, fresh), true);
    state_bool(s, "member", p->member, fresh);
    state_bool(s, "blocks_charge", p->blocks_charge, fresh);
    state_bool(s, "blocks_discharge", p->blocks_discharge, fresh);
    state_bool(s, "bounds_ccl", p->bounds_ccl, fresh);
    state_bool(s, "bounds_dcl", p->bounds_dcl, fresh);
    cJSON_AddBoolToObject(s, "data_valid", valid);
    state_num(s, "data_age_ms", p->data_age_ms, true);
    state_num(s, "voltage", p->voltage, valid);
    state_num(s, "current", p->current, valid);
    state_num(s, "power_w", p->power_w, valid);
    state_num(s, "soc_percent", p->soc_percent, valid);
    state_num(s, "soh_percent", p->soh_percent, valid);
    state_num(s, "temperature", p->temperature, valid);
    state_num(s, "min_cell_mv", p->min_cell_mv, valid);
    state_num(s, "max_cell_mv", p->max_cell_mv, valid);
    state_num(s, "cell_imbalance_mv", p->cell_imbalance_mv, valid);
    state_num(s, "cell_count", p->cell_count, valid);
    state_num(s, "capacity_ah", p->capacity_ah, true);
    state_text(s, "online_status_name", p->online_status_name, valid);
    cJSON *cells = cJSON_AddArrayToObject(s, "cells");
    for (unsigned i = 0; valid && cells != NULL && i < p->cells_n && i < STATUS_CELLS_MAX; i++) {
        cJSON_AddItemToArray(cells, cJSON_CreateNumber(p->cells[i].mv));
    }
    cJSON *lim = cJSON_AddObjectToObject(s, "limits");
    state_num(lim, "cvl_v", p->limits.cvl_v, valid);
    state_num(lim, "ccl_a", p->limits.ccl_a, valid);
    state_num(lim, "dcl_a", p->limits.dcl_a, valid);
    state_num(lim, "dvl_v", p->limits.dvl_v, valid);
    state_num(lim, "share_charge_percent", p->limits.share_charge_pct, fresh);
    state_num(lim, "share_discharge_percent", p->limits.share_discharge_pct, fresh);
    char *json = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    return json;
}

static mqtt_topics_err_t add_pack(const mqtt_topics_cfg_t *cfg, const status_pack_t *p,
                                  unsigned n, bool fresh, uint64_t wall_ms,
                                  mqtt_topics_list_t *out)
{
    bool valid = fresh && p->data_valid;
    mqtt_topics_err_t e = MQTT_TOPICS_ERR_NOMEM;
    char *state = pack_state_json(p, n, fresh, wall_ms);
    if (state != NULL) {
        e = add_pack_sub(cfg, out, n, "state", state, cfg->retain, MQTT_TOPICS_PERIODIC);
        free(state);
    }
    if (e == MQTT_TOPICS_OK) {
        e = add_pack_sub(cfg, out, n, "name", p->name, true, MQTT_TOPICS_ON_CHANGE);
    }
    if (e == MQTT_TOPICS_OK) {
        e = add_pack_sub(cfg, out, n, "data_valid", true_false(valid), true,
                         MQTT_TOPICS_ON_CHANGE);
    }
    const char *bs = pack_state_name(p, fresh);
    if (e == MQTT_TOPICS_OK && bs != NULL) {
        e = add_pack_sub(cfg, out, n, "bank_state", bs, true, MQTT_TOPICS_ON_CHANGE);
    }
    if (fresh) {
        const struct {
            const char *sub;
            bool value;
        } flags[] = {
            {"member", p->member},
            {"blocks_charge", p->blocks_charge},
            {"blocks_discharge", p->blocks_discharge},
            {"bounds_ccl", p->bounds_ccl},
            {"bounds_dcl", p->bounds_dcl},
        };
        for (size_t i = 0; i < sizeof flags / sizeof flags[0] && e == MQTT_TOPICS_OK; i++) {
            e = add_pack_sub(cfg, out, n, flags[i].sub, true_false(flags[i].value), true,
                             MQTT_TOPICS_ON_CHANGE);
        }
    }
    char payload[128];
    for (size_t i = 0; i < PACK_VALUE_COUNT && e == MQTT_TOPICS_OK; i++) {
        const pack_value_def_t *v = &pack_values[i];
        if ((v->measured ? valid : fresh) && value_text(p, &v->v, payload, sizeof payload)) {
            e = add_pack_sub(cfg, out, n, v->v.sub, payload, cfg->retain, MQTT_TOPICS_PERIODIC);
        }
    }
    for (unsigned i = 0; valid && e == MQTT_TOPICS_OK && i < p->cells_n && i < STATUS_CELLS_MAX;
         i++) {
        char sub[32];
        (void)snprintf(sub, sizeof sub, "cells/%u", (unsigned)p->cells[i].index);
        fmt_num(p->cells[i].mv, payload, sizeof payload);
        e = add_pack_sub(cfg, out, n, sub, payload, cfg->retain, MQTT_TOPICS_PERIODIC);
    }
    return e;
}

/* <root>/bank: how the bank combines its packs (the status document's "bank"). */
static mqtt_topics_err_t add_bank(const mqtt_topics_cfg_t *cfg, const status_t *st,
                                  mqtt_topics_list_t *out)
{
    cJSON *bank = status_json_bank(st);
    char *json = bank != NULL ? cJSON_PrintUnformatted(bank) : NULL;
    cJSON_Delete(bank);
    if (json == NULL) {
        return MQTT_TOPICS_ERR_NOMEM;
    }
    mqtt_topics_err_t e = add_sub(cfg, out, "bank", json, true, MQTT_TOPICS_ON_CHANGE);
    free(json);
    return e;
}

static mqtt_topics_err_t add_packs(const mqtt_topics_cfg_t *cfg, const status_t *st,
                                   bool fresh, uint64_t wall_ms, mqtt_topics_list_t *out)
{
    unsigned n = packs_count(st);
    mqtt_topics_err_t e = MQTT_TOPICS_OK;
    for (unsigned i = 0; i < n && e == MQTT_TOPICS_OK; i++) {
        e = add_pack(cfg, &st->packs[i], i + 1u, fresh, wall_ms, out);
    }
    if (e == MQTT_TOPICS_OK && n > 1u && fresh) {
        e = add_bank(cfg, st, out);
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
    if (e == MQTT_TOPICS_OK) {
        e = add_packs(cfg, st, status_fresh, wall_ms, out);
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
    unsigned pack;          /* 1-based: the entities of that pack's device; 0: the bridge's */
    const status_pack_t *p; /* that pack (pack != 0) */
} disc_ctx_t;

static const char *device_name(const disc_ctx_t *x)
{
    return x->cfg->device_name && x->cfg->device_name[0] ? x->cfg->device_name
                                                          : "TinyBMS battery";
}

/* The bridge's device, or with several packs one device per pack, linked to it. */
static void add_device(cJSON *o, const disc_ctx_t *x)
{
    cJSON *dev = cJSON_AddObjectToObject(o, "device");
    cJSON *ids = cJSON_AddArrayToObject(dev, "identifiers");
    char ident[96], pack_ident[112];
    (void)snprintf(ident, sizeof ident, "tinybms_victron_bridge_%s", x->node);
    if (x->pack == 0u) {
        cJSON_AddItemToArray(ids, cJSON_CreateString(ident));
        cJSON_AddStringToObject(dev, "name", device_name(x));
        cJSON_AddStringToObject(dev, "manufacturer", "tinybms-victron-bridge");
        cJSON_AddStringToObject(dev, "model", "TinyBMS (Victron CAN-BMS bridge)");
        cJSON_AddStringToObject(dev, "sw_version",
                                x->cfg->sw_version ? x->cfg->sw_version : "");
    } else {
        char name[160];
        (void)snprintf(pack_ident, sizeof pack_ident, "%s_pack%u", ident, x->pack);
        (void)snprintf(name, sizeof name, "%s %s", device_name(x), x->p->name);
        cJSON_AddItemToArray(ids, cJSON_CreateString(pack_ident));
        cJSON_AddStringToObject(dev, "name", name);
        cJSON_AddStringToObject(dev, "manufacturer", "tinybms-victron-bridge");
        cJSON_AddStringToObject(dev, "model", "TinyBMS (one pack of the bank)");
        cJSON_AddStringToObject(dev, "sw_version", x->p->bms.have_version
                                                       ? x->p->bms.firmware
                                                       : (x->cfg->sw_version ? x->cfg->sw_version
                                                                             : ""));
        cJSON_AddStringToObject(dev, "via_device", ident);
    }
    const char *hw = x->pack == 0u ? x->hw : (x->p->bms.have_version ? x->p->bms.hardware : NULL);
    if (hw != NULL) {
        cJSON_AddStringToObject(dev, "hw_version", hw);
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

/* v's sensor as object, reading state_sub (the pack's ids and topics for a pack). */
static mqtt_topics_err_t disc_value(const disc_ctx_t *x, const value_def_t *v, const char *object,
                                    const char *state_sub, mqtt_topics_list_t *out)
{
    cJSON *o = disc_base(x, object, v->name, state_sub, true);
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
    return disc_emit(x, "sensor", object, o, out);
}

/* For a pack: "pack<n>_<object>" and "packs/<n>/<sub>"; for the bridge as they are. */
static bool disc_ids(const disc_ctx_t *x, const char *object, const char *sub, char *obj_out,
                     size_t obj_cap, char *sub_out, size_t sub_cap)
{
    int a, b;
    if (x->pack == 0u) {
        a = snprintf(obj_out, obj_cap, "%s", object);
        b = snprintf(sub_out, sub_cap, "%s", sub);
    } else {
        a = snprintf(obj_out, obj_cap, "pack%u_%s", x->pack, object);
        b = snprintf(sub_out, sub_cap, "packs/%u/%s", x->pack, sub);
    }
    return a > 0 && (size_t)a < obj_cap && b > 0 && (size_t)b < sub_cap;
}

static mqtt_topics_err_t disc_cell(const disc_ctx_t *x, int index, mqtt_topics_list_t *out)
{
    char cell_obj[32], cell_sub[32], object[48], name[48], sub[64];
    (void)snprintf(cell_obj, sizeof cell_obj, "cell_%d", index);
    (void)snprintf(name, sizeof name, "Cell %d voltage", index);
    (void)snprintf(cell_sub, sizeof cell_sub, "cells/%d", index);
    if (!disc_ids(x, cell_obj, cell_sub, object, sizeof object, sub, sizeof sub)) {
        return MQTT_TOPICS_ERR_ARG;
    }
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

/* The entities of one pack of a bank, on that pack's own device. */
static mqtt_topics_err_t disc_pack(const disc_ctx_t *bridge, const status_pack_t *p, unsigned n,
                                   mqtt_topics_list_t *out)
{
    disc_ctx_t x = *bridge;
    x.pack = n;
    x.p = p;
    x.hw = NULL;
    char sub[64], object[64], payload[128];
    if (!pack_sub(n, "data_valid", sub, sizeof sub) ||
        !topic_of(x.cfg, sub, x.valid_topic, sizeof x.valid_topic)) {
        return MQTT_TOPICS_ERR_ARG;
    }
    mqtt_topics_err_t e = MQTT_TOPICS_OK;
    for (size_t i = 0; i < PACK_VALUE_COUNT && e == MQTT_TOPICS_OK; i++) {
        const value_def_t *v = &pack_values[i].v;
        if (v->optional && !value_text(p, v, payload, sizeof payload)) {
            continue;
        }
        e = disc_ids(&x, v->object, v->sub, object, sizeof object, sub, sizeof sub)
                ? disc_value(&x, v, object, sub, out)
                : MQTT_TOPICS_ERR_ARG;
    }
    for (unsigned i = 0; e == MQTT_TOPICS_OK && i < p->cells_n && i < STATUS_CELLS_MAX; i++) {
        e = disc_cell(&x, p->cells[i].index, out);
    }
    if (e == MQTT_TOPICS_OK) {
        /* Its state in the bank: readable while the bridge is online, whatever the data. */
        (void)disc_ids(&x, "bank_state", "bank_state", object, sizeof object, sub, sizeof sub);
        cJSON *o = disc_base(&x, object, "Bank state", sub, false);
        if (o != NULL) {
            static const char *const states[] = {"online", "joining", "silent", "offline",
                                                 "stale"};
            cJSON_AddStringToObject(o, "device_class", "enum");
            cJSON *opts = cJSON_AddArrayToObject(o, "options");
            for (size_t i = 0; opts != NULL && i < sizeof states / sizeof states[0]; i++) {
                cJSON_AddItemToArray(opts, cJSON_CreateString(states[i]));
            }
        }
        e = disc_emit(&x, "sensor", object, o, out);
    }
    static const struct {
        const char *object, *name, *dev_class;
        bool diagnostic;
    } flags[] = {
        {"data_valid", "BMS data", "connectivity", true},
        {"blocks_charge", "Blocks charge", "problem", false},
        {"blocks_discharge", "Blocks discharge", "problem", false},
        {"bounds_ccl", "Bounds bank charge current", NULL, true},
        {"bounds_dcl", "Bounds bank discharge current", NULL, true},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0] && e == MQTT_TOPICS_OK; i++) {
        (void)disc_ids(&x, flags[i].object, flags[i].object, object, sizeof object, sub,
                       sizeof sub);
        cJSON *b = disc_base(&x, object, flags[i].name, sub, false);
        if (b != NULL) {
            if (flags[i].dev_class != NULL) {
                cJSON_AddStringToObject(b, "device_class", flags[i].dev_class);
            }
            cJSON_AddStringToObject(b, "payload_on", "true");
            cJSON_AddStringToObject(b, "payload_off", "false");
            if (flags[i].diagnostic) {
                cJSON_AddStringToObject(b, "entity_category", "diagnostic");
            }
        }
        e = disc_emit(&x, "binary_sensor", object, b, out);
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
        e = disc_value(&x, v, v->object, v->sub, out);
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
    /* One pack: the bridge's entities are that pack's, so no second copy of them. */
    unsigned n = packs_count(st);
    for (unsigned i = 0; n > 1u && i < n && e == MQTT_TOPICS_OK; i++) {
        e = disc_pack(&x, &st->packs[i], i + 1u, out);
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
    unsigned n = packs_count(st);
    for (unsigned i = 0; n > 1u && i < n; i++) {
        const status_pack_t *p = &st->packs[i];
        uint32_t pack_present = 0;
        for (size_t k = 0; k < PACK_VALUE_COUNT; k++) {
            if (pack_values[k].v.optional &&
                value_text(p, &pack_values[k].v, payload, sizeof payload)) {
                pack_present |= 1u << k;
            }
        }
        (void)snprintf(payload, sizeof payload, "pack%u/%u/%u", i + 1u, (unsigned)pack_present,
                       (unsigned)p->cells_n);
        h = mix(h, payload);
        h = mix(h, p->name);
        h = mix(h, p->bms.have_version ? p->bms.firmware : "");
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
