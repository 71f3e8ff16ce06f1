/* The status document (seed README "GET /api/status" names, plus detail),
 * rendered from status_t: every number is already in the document's units
 * and rounding (status.c). */
#include "status_json.h"

#include <stdlib.h>

static void add_num(cJSON *o, const char *k, status_num_t n)
{
    if (n.known) {
        cJSON_AddNumberToObject(o, k, n.v);
    } else {
        cJSON_AddNullToObject(o, k);
    }
}

static void add_str_or_null(cJSON *o, const char *k, const char *s)
{
    if (s != NULL) {
        cJSON_AddStringToObject(o, k, s);
    } else {
        cJSON_AddNullToObject(o, k);
    }
}

static void add_sensor_list(cJSON *o, const char *k, uint8_t mask)
{
    cJSON *a = cJSON_AddArrayToObject(o, k);
    for (unsigned i = 0; i < (unsigned)PTEMP_SENSOR_COUNT; i++) {
        if (mask & PTEMP_BIT(i)) {
            cJSON_AddItemToArray(a, cJSON_CreateString(ptemp_sensor_name((ptemp_sensor_t)i)));
        }
    }
}

/* Every sensor as read, and which of them protect the pack (pack_temp.h):
 * "used" (their mean is "temperature" and 0x356), "lost" (present before,
 * missing now: warning, charging derated), "fallback" (the board sensor
 * stands in for lost external ones), "usable" (false: no charging). */
static void add_temps(cJSON *root, const status_t *st)
{
    cJSON *t = cJSON_AddObjectToObject(root, "temperatures");
    add_num(t, "external_1_c", st->temps.external_1_c);
    add_num(t, "external_2_c", st->temps.external_2_c);
    add_num(t, "internal_c", st->temps.internal_c);
    add_sensor_list(t, "used", st->temps.used_mask);
    add_sensor_list(t, "lost", st->temps.lost_mask);
    cJSON_AddBoolToObject(t, "fallback", st->temps.fallback);
    cJSON_AddBoolToObject(t, "usable", st->temps.usable);
    add_num(t, "min_c", st->temps.min_c);
    add_num(t, "max_c", st->temps.max_c);
}

static void add_cell_list(cJSON *root, const status_cell_t *list, unsigned n)
{
    cJSON *cells = cJSON_AddArrayToObject(root, "cells");
    for (unsigned i = 0; i < n && i < STATUS_CELLS_MAX; i++) {
        const status_cell_t *c = &list[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "index", c->index);
        cJSON_AddNumberToObject(o, "mv", c->mv);
        cJSON_AddBoolToObject(o, "balancing", c->balancing);
        cJSON_AddBoolToObject(o, "needs_balancing", c->needs_balancing);
        cJSON_AddItemToArray(cells, o);
    }
}

static void add_cells(cJSON *root, const status_t *st)
{
    add_cell_list(root, st->cells, st->cells_n);
}

static void add_reasons(cJSON *o, uint32_t reasons)
{
    cJSON *why = cJSON_AddArrayToObject(o, "reasons");
    for (unsigned bit = 0; bit < 32u; bit++) {
        if (reasons & (1u << bit)) {
            cJSON_AddItemToArray(why, cJSON_CreateString(chg_reason_name(1u << bit)));
        }
    }
}

cJSON *status_json_alarms(const status_t *st)
{
    if (st == NULL) {
        return NULL;
    }
    cJSON *a = cJSON_CreateObject();
    cJSON *active = cJSON_AddArrayToObject(a, "active");
    cJSON *all = cJSON_AddObjectToObject(a, "conditions");
    for (unsigned i = 0; i < st->alarms.count && i < STATUS_CONDS_MAX; i++) {
        const status_cond_t *c = &st->alarms.cond[i];
        cJSON_AddStringToObject(all, c->name, status_level_name(c->level));
        if (c->level != STATUS_LEVEL_OK) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "condition", c->name);
            cJSON_AddStringToObject(e, "level", status_level_name(c->level));
            cJSON_AddItemToArray(active, e);
        }
    }
    cJSON_AddStringToObject(a, "worst", status_level_name(st->alarms.worst));
    return a;
}

cJSON *status_json_uart(const status_t *st)
{
    if (st == NULL) {
        return NULL;
    }
    cJSON *uart = cJSON_CreateObject();
    cJSON_AddNumberToObject(uart, "polls", st->uart.polls);
    cJSON_AddNumberToObject(uart, "success", st->uart.success);
    cJSON_AddNumberToObject(uart, "errors", st->uart.errors);
    cJSON_AddNumberToObject(uart, "timeouts", st->uart.timeouts);
    cJSON_AddNumberToObject(uart, "crc_errors", st->uart.crc_errors);
    cJSON_AddNumberToObject(uart, "retries", st->uart.retries);
    cJSON_AddNumberToObject(uart, "failures", st->uart.failures);
    cJSON_AddNumberToObject(uart, "nacks", st->uart.nacks);
    cJSON_AddNumberToObject(uart, "truncated", st->uart.truncated);
    cJSON_AddNumberToObject(uart, "unexpected", st->uart.unexpected);
    cJSON_AddNumberToObject(uart, "garbage_bytes", st->uart.garbage_bytes);
    cJSON_AddNumberToObject(uart, "latency_avg_ms", st->uart.latency_avg_ms);
    cJSON_AddNumberToObject(uart, "latency_last_ms", st->uart.latency_last_ms);
    cJSON_AddNumberToObject(uart, "latency_max_ms", st->uart.latency_max_ms);
    cJSON_AddBoolToObject(uart, "open", st->uart.open);
    cJSON_AddStringToObject(uart, "device", st->uart.device);
    return uart;
}

/* The item, copied, or null when there is none (or no memory for it). */
static void add_copy_or_null(cJSON *to, const char *key, const cJSON *from)
{
    cJSON *dup = from != NULL ? cJSON_Duplicate(from, true) : NULL;
    if (dup != NULL) {
        cJSON_AddItemToObject(to, key, dup);
    } else {
        cJSON_AddNullToObject(to, key);
    }
}

void status_json_add_seed_uart(cJSON *root, const cJSON *uart, uint32_t poll_interval_ms)
{
    static const struct {
        const char *seed;
        const char *ours;
    } names[] = {
        {"polls", "polls"},
        {"success", "success"},
        {"errors", "errors"},
        {"timeouts", "timeouts"},
        {"crc_errors", "crc_errors"},
        {"retry_count", "retries"},
        {"latency_avg_ms", "latency_avg_ms"},
        {"latency_last_ms", "latency_last_ms"},
        {"latency_max_ms", "latency_max_ms"},
        {"open", "open"},
        {"device", "device"},
    };
    cJSON *u = cJSON_AddObjectToObject(root, "uart");
    if (u == NULL) {
        return;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        add_copy_or_null(u, names[i].seed, cJSON_GetObjectItemCaseSensitive(uart, names[i].ours));
    }
    cJSON_AddNumberToObject(u, "interval_ms_current", poll_interval_ms);
}

cJSON *status_json_can(const status_t *st)
{
    if (st == NULL) {
        return NULL;
    }
    cJSON *can = cJSON_CreateObject();
    cJSON_AddNumberToObject(can, "tx_count", st->can.tx_count);
    cJSON_AddNumberToObject(can, "tx_errors", st->can.tx_errors);
    cJSON_AddNumberToObject(can, "tx_drops", st->can.tx_drops);
    cJSON_AddNumberToObject(can, "rx_count", st->can.rx_count);
    cJSON_AddNumberToObject(can, "rx_errors", st->can.rx_errors);
    cJSON_AddNumberToObject(can, "reconnects", st->can.reconnects);
    cJSON_AddNumberToObject(can, "bus_off_count", st->can.bus_off_count);
    cJSON_AddStringToObject(can, "bus_state", st->can.bus_state ? st->can.bus_state : "unknown");
    cJSON_AddNumberToObject(can, "tx_error_counter", st->can.tx_error_counter);
    cJSON_AddNumberToObject(can, "rx_error_counter", st->can.rx_error_counter);
    cJSON_AddBoolToObject(can, "connected", st->can.connected);
    cJSON_AddBoolToObject(can, "keepalive_ok", st->can.keepalive_ok);
    cJSON_AddStringToObject(can, "interface", st->can.interface);
    return can;
}

cJSON *status_json_cvl(const status_t *st)
{
    if (st == NULL) {
        return NULL;
    }
    cJSON *cvl = cJSON_CreateObject();
    add_str_or_null(cvl, "state", st->cvl.state);
    add_num(cvl, "cvl_voltage_v", st->cvl.cvl_voltage_v);
    add_num(cvl, "ccl_limit_a", st->cvl.ccl_limit_a);
    add_num(cvl, "dcl_limit_a", st->cvl.dcl_limit_a);
    return cvl;
}

cJSON *status_json_bridge_stats(const status_t *st)
{
    if (st == NULL) {
        return NULL;
    }
    cJSON *br = cJSON_CreateObject();
    cJSON_AddNumberToObject(br, "frames", st->bridge.frames);
    cJSON_AddNumberToObject(br, "stale_events", st->bridge.stale_events);
    cJSON_AddNumberToObject(br, "decode_errors", st->bridge.decode_errors);
    cJSON_AddNumberToObject(br, "keepalive_rx", st->bridge.keepalive_rx);
    return br;
}

/* One pack of "packs": its own values under the battery's names. */
/* "bms": keys only for what was read (capacity_ah only where asked). */
static void add_bms(cJSON *parent, const status_bms_t *b, bool with_capacity)
{
    cJSON *bms = cJSON_AddObjectToObject(parent, "bms");
    if (b->have_version) {
        cJSON_AddStringToObject(bms, "hardware", b->hardware);
        cJSON_AddStringToObject(bms, "firmware", b->firmware);
    }
    if (b->have_settings) {
        cJSON_AddNumberToObject(bms, "series_cells", b->series_cells);
        if (with_capacity) {
            cJSON_AddNumberToObject(bms, "capacity_ah", b->capacity_ah);
        }
        cJSON_AddNumberToObject(bms, "over_voltage_cutoff_mv", b->over_voltage_cutoff_mv);
        cJSON_AddNumberToObject(bms, "under_voltage_cutoff_mv", b->under_voltage_cutoff_mv);
        cJSON_AddNumberToObject(bms, "charge_over_current_a", b->charge_over_current_a);
        cJSON_AddNumberToObject(bms, "discharge_over_current_a", b->discharge_over_current_a);
    }
}

static cJSON *pack_json(const status_pack_t *p)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    cJSON_AddNumberToObject(o, "index", p->index);
    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddStringToObject(o, "state", p->state != NULL ? p->state : "offline");
    cJSON_AddBoolToObject(o, "member", p->member);
    cJSON_AddBoolToObject(o, "blocks_charge", p->blocks_charge);
    cJSON_AddBoolToObject(o, "blocks_discharge", p->blocks_discharge);
    cJSON_AddBoolToObject(o, "bounds_ccl", p->bounds_ccl);
    cJSON_AddBoolToObject(o, "bounds_dcl", p->bounds_dcl);
    cJSON_AddBoolToObject(o, "data_valid", p->data_valid);
    add_num(o, "data_age_ms", p->data_age_ms);
    add_num(o, "voltage", p->voltage);
    add_num(o, "current", p->current);
    add_num(o, "power_w", p->power_w);
    add_num(o, "soc_percent", p->soc_percent);
    add_num(o, "soh_percent", p->soh_percent);
    add_num(o, "temperature", p->temperature);
    add_num(o, "min_cell_mv", p->min_cell_mv);
    add_num(o, "max_cell_mv", p->max_cell_mv);
    add_num(o, "cell_imbalance_mv", p->cell_imbalance_mv);
    add_num(o, "online_status", p->online_status);
    add_str_or_null(o, "online_status_name", p->online_status_name);
    add_num(o, "cell_count", p->cell_count);
    add_num(o, "capacity_ah", p->capacity_ah);
    add_cell_list(o, p->cells, p->cells_n);

    cJSON *lim = cJSON_AddObjectToObject(o, "limits");
    add_num(lim, "cvl_v", p->limits.cvl_v);
    add_num(lim, "ccl_a", p->limits.ccl_a);
    add_num(lim, "dcl_a", p->limits.dcl_a);
    add_num(lim, "dvl_v", p->limits.dvl_v);
    add_reasons(lim, p->limits.reasons);
    add_num(lim, "share_charge_percent", p->limits.share_charge_pct);
    add_num(lim, "share_discharge_percent", p->limits.share_discharge_pct);
    cJSON_AddBoolToObject(lim, "share_charge_measured", p->limits.share_charge_measured);
    cJSON_AddBoolToObject(lim, "share_discharge_measured", p->limits.share_discharge_measured);

    cJSON *u = cJSON_AddObjectToObject(o, "uart");
    cJSON_AddNumberToObject(u, "polls", p->uart.polls);
    cJSON_AddNumberToObject(u, "success", p->uart.success);
    cJSON_AddNumberToObject(u, "errors", p->uart.errors);
    cJSON_AddNumberToObject(u, "timeouts", p->uart.timeouts);
    cJSON_AddNumberToObject(u, "crc_errors", p->uart.crc_errors);
    cJSON_AddNumberToObject(u, "latency_avg_ms", p->uart.latency_avg_ms);
    cJSON_AddBoolToObject(u, "open", p->uart.open);
    cJSON_AddStringToObject(u, "device", p->uart.device);

    /* As the top-level "bms" (its capacity is the pack's capacity_ah). */
    add_bms(o, &p->bms, false);
    return o;
}

static void add_pack_or_null(cJSON *o, const char *k, uint8_t pack)
{
    if (pack > 0u) {
        cJSON_AddNumberToObject(o, k, pack);
    } else {
        cJSON_AddNullToObject(o, k);
    }
}

cJSON *status_json_packs(const status_t *st)
{
    if (st == NULL) {
        return NULL;
    }
    cJSON *a = cJSON_CreateArray();
    for (unsigned i = 0; a != NULL && i < st->packs_n && i < STATUS_PACKS_MAX; i++) {
        cJSON *p = pack_json(&st->packs[i]);
        if (p != NULL) {
            cJSON_AddItemToArray(a, p);
        }
    }
    return a;
}

cJSON *status_json_bank(const status_t *st)
{
    if (st == NULL) {
        return NULL;
    }
    cJSON *k = cJSON_CreateObject();
    if (k == NULL) {
        return NULL;
    }
    add_str_or_null(k, "ccl_bound", st->bank.ccl_bound);
    add_str_or_null(k, "dcl_bound", st->bank.dcl_bound);
    add_pack_or_null(k, "ccl_pack", st->bank.ccl_pack);
    add_pack_or_null(k, "dcl_pack", st->bank.dcl_pack);
    cJSON *w = cJSON_AddArrayToObject(k, "warnings");
    for (unsigned bit = 0; bit < 32u; bit++) {
        const char *name = status_bank_warning_name(1u << bit);
        if ((st->bank.warnings & (1u << bit)) != 0u && name != NULL) {
            cJSON_AddItemToArray(w, cJSON_CreateString(name));
        }
    }
    cJSON *m = cJSON_AddObjectToObject(k, "modules");
    cJSON_AddNumberToObject(m, "online", st->bank.online);
    cJSON_AddNumberToObject(m, "blocking_charge", st->bank.blocking_charge);
    cJSON_AddNumberToObject(m, "blocking_discharge", st->bank.blocking_discharge);
    cJSON_AddNumberToObject(m, "offline", st->bank.offline);
    cJSON_AddNumberToObject(k, "capacity_ah", st->bank.capacity_ah);
    cJSON_AddNumberToObject(k, "online_capacity_ah", st->bank.online_capacity_ah);
    return k;
}

static void add_item(cJSON *o, const char *k, cJSON *item)
{
    if (item != NULL) {
        cJSON_AddItemToObject(o, k, item);
    }
}

char *status_json(const status_t *st)
{
    if (st == NULL) {
        return NULL;
    }
    cJSON *root = cJSON_CreateObject();
    if (root == NULL) {
        return NULL;
    }
    add_num(root, "voltage", st->voltage);
    add_num(root, "current", st->current);
    add_num(root, "power_w", st->power_w);
    add_num(root, "soc_percent", st->soc_percent);
    add_num(root, "soh_percent", st->soh_percent);
    add_num(root, "temperature", st->temperature);
    add_num(root, "min_cell_mv", st->min_cell_mv);
    add_num(root, "max_cell_mv", st->max_cell_mv);
    add_num(root, "cell_imbalance_mv", st->cell_imbalance_mv);
    add_num(root, "online_status", st->online_status);
    add_str_or_null(root, "online_status_name", st->online_status_name);
    cJSON_AddNumberToObject(root, "uptime_ms", (double)st->uptime_ms);
    cJSON_AddNumberToObject(root, "time_ms", (double)st->time_ms);
    cJSON_AddBoolToObject(root, "data_valid", st->data_valid);
    cJSON_AddStringToObject(root, "data_state", st->data_state ? st->data_state : "waiting");
    add_num(root, "data_age_ms", st->data_age_ms);
    add_num(root, "cell_count", st->cell_count);
    add_cells(root, st);
    add_temps(root, st);

    cJSON *lim = cJSON_AddObjectToObject(root, "limits");
    add_num(lim, "cvl_v", st->limits.cvl_v);
    add_num(lim, "ccl_a", st->limits.ccl_a);
    add_num(lim, "dcl_a", st->limits.dcl_a);
    add_num(lim, "dvl_v", st->limits.dvl_v);
    cJSON_AddBoolToObject(lim, "sent", st->limits.sent);
    add_reasons(lim, st->limits.reasons);

    add_item(root, "alarms", status_json_alarms(st));

    cJSON *gx = cJSON_AddObjectToObject(root, "gx");
    cJSON_AddBoolToObject(gx, "keepalive_ok", st->gx.keepalive_ok);
    add_num(gx, "keepalive_age_ms", st->gx.keepalive_age_ms);
    cJSON_AddBoolToObject(gx, "victron_handshake", st->gx.victron_handshake);

    cJSON *en = cJSON_AddObjectToObject(root, "energy");
    cJSON_AddNumberToObject(en, "charged_kwh", st->energy.charged_kwh);
    cJSON_AddNumberToObject(en, "discharged_kwh", st->energy.discharged_kwh);

    cJSON *stats = cJSON_AddObjectToObject(root, "stats");
    add_item(stats, "uart", status_json_uart(st));
    add_item(stats, "can", status_json_can(st));
    add_item(stats, "cvl", status_json_cvl(st));
    add_item(stats, "bridge", status_json_bridge_stats(st));
    /* The seed README's health indicators, flat, as its troubleshooting
     * section names them (the same counters as stats.uart / stats.can). */
    cJSON_AddNumberToObject(stats, "uart_success_count", st->uart.success);
    cJSON_AddNumberToObject(stats, "uart_errors", st->uart.errors);
    cJSON_AddNumberToObject(stats, "can_tx_count", st->can.tx_count);
    cJSON_AddNumberToObject(stats, "can_tx_errors", st->can.tx_errors);
    cJSON_AddBoolToObject(stats, "victron_keepalive_ok", st->can.keepalive_ok);

    add_bms(root, &st->bms, true);
    /* Several packs: each pack and the bank. One pack: the document as it
     * always was (the top level is that pack). */
    if (st->packs_n > 1u) {
        add_item(root, "packs", status_json_packs(st));
        add_item(root, "bank", status_json_bank(st));
    }
    if (st->version != NULL) {
        cJSON_AddStringToObject(root, "version", st->version);
    }
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* item into to[key], or null when there is none (no status yet). */
static void put_item(cJSON *to, const char *key, cJSON *item)
{
    if (item != NULL) {
        cJSON_AddItemToObject(to, key, item);
    } else {
        cJSON_AddNullToObject(to, key);
    }
}

cJSON *status_json_add_diagnostics(cJSON *root, const status_t *st, uint32_t poll_interval_ms)
{
    cJSON *data = cJSON_AddObjectToObject(root, "data");
    if (data != NULL) {
        put_item(data, "data_valid", st != NULL ? cJSON_CreateBool(st->data_valid) : NULL);
        put_item(data, "data_state",
                 st != NULL && st->data_state != NULL ? cJSON_CreateString(st->data_state)
                                                      : NULL);
        put_item(data, "data_age_ms", st != NULL && st->data_age_ms.known
                                          ? cJSON_CreateNumber(st->data_age_ms.v)
                                          : NULL);
    }
    cJSON *mods = cJSON_AddObjectToObject(root, "modules");
    cJSON *uart = status_json_uart(st);
    status_json_add_seed_uart(root, uart, poll_interval_ms);
    if (mods == NULL) {
        cJSON_Delete(uart);
        return NULL;
    }
    put_item(mods, "uart", uart);
    put_item(mods, "can", status_json_can(st));
    put_item(mods, "bridge", status_json_bridge_stats(st));
    put_item(mods, "cvl", status_json_cvl(st));
    return mods;
}
