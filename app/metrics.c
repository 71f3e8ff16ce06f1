/*
 * Prometheus text exposition, format 0.0.4:
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 * Base units (volts, amperes, seconds, bytes) in the names, as the
 * Prometheus naming guide asks; the state of charge stays in percent, the
 * unit every battery tool shows.
 */
#include "metrics.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* Go's float syntax as Prometheus reads it: integers plainly, else %g. */
static void fmt_value(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        (void)snprintf(out, cap, "NaN");
    } else if (isinf(v)) {
        (void)snprintf(out, cap, v > 0 ? "+Inf" : "-Inf");
    } else if (v > -9007199254740992.0 && v < 9007199254740992.0 &&
               v == (double)(long long)v) {
        (void)snprintf(out, cap, "%.0f", v == 0.0 ? 0.0 : v);
    } else {
        /* The shortest of 15..17 significant digits that reads back exactly. */
        for (int prec = 15; prec <= 17; prec++) {
            (void)snprintf(out, cap, "%.*g", prec, v);
            if (strtod(out, NULL) == v) {
                break;
            }
        }
    }
}

static void family(strbuf_t *sb, const char *name, const char *type, const char *help)
{
    strbuf_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* labels: NULL or the inside of {...}, already escaped. */
static void sample(strbuf_t *sb, const char *name, const char *labels, double v)
{
    char num[40];
    fmt_value(v, num, sizeof num);
    if (labels != NULL) {
        strbuf_printf(sb, "%s{%s} %s\n", name, labels, num);
    } else {
        strbuf_printf(sb, "%s %s\n", name, num);
    }
}

static void metric(strbuf_t *sb, const char *name, const char *type, const char *help, double v)
{
    family(sb, name, type, help);
    sample(sb, name, NULL, v);
}

/* Label value escaping: backslash, double quote and newline. */
static void escape_label(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in != '\0' && n + 3u < cap; in++) {
        if (*in == '\\' || *in == '"') {
            out[n++] = '\\';
            out[n++] = *in;
        } else if (*in == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else {
            out[n++] = *in;
        }
    }
    out[n] = '\0';
}

/* v times scale. Dividing by 1000 rather than multiplying by 0.001 keeps
 * 3320 mV at 3.32 V instead of 3.3200000000000003. */
static double scaled(double v, double scale)
{
    return scale < 1.0 ? v / (1.0 / scale) : v * scale;
}

/* A metric from a value of the snapshot (times scale); nothing if not known. */
static void num_metric(strbuf_t *sb, status_num_t n, const char *name, const char *type,
                       const char *help, double scale)
{
    if (n.known) {
        metric(sb, name, type, help, scaled(n.v, scale));
    }
}

static void text_label_metric(strbuf_t *sb, const char *name, const char *help, const char *label,
                              const char *value)
{
    char esc[96], labels[120];
    escape_label(value, esc, sizeof esc);
    (void)snprintf(labels, sizeof labels, "%s=\"%s\"", label, esc);
    family(sb, name, "gauge", help);
    sample(sb, name, labels, 1.0);
}

static void battery(strbuf_t *sb, const status_t *st)
{
    num_metric(sb, st->voltage, "tinybms_pack_voltage_volts", "gauge", "Battery pack voltage.",
               1.0);
    num_metric(sb, st->current, "tinybms_pack_current_amperes", "gauge",
               "Battery pack current (positive = charging).", 1.0);
    num_metric(sb, st->power_w, "tinybms_pack_power_watts", "gauge",
               "Battery pack power (positive = charging).", 1.0);
    num_metric(sb, st->soc_percent, "tinybms_state_of_charge_percent", "gauge",
               "State of charge.", 1.0);
    num_metric(sb, st->soh_percent, "tinybms_state_of_health_percent", "gauge",
               "State of health.", 1.0);

    const struct {
        const char *sensor;
        status_num_t value;
    } temps[] = {
        {"battery", st->temperature},
        {"external_1", st->temps.external_1_c},
        {"external_2", st->temps.external_2_c},
        {"internal", st->temps.internal_c},
    };
    bool header = false;
    for (size_t i = 0; i < sizeof temps / sizeof temps[0]; i++) {
        if (!temps[i].value.known) {
            continue;
        }
        if (!header) {
            family(sb, "tinybms_temperature_celsius", "gauge",
                   "Temperatures (battery = the one sent to the GX in 0x356).");
            header = true;
        }
        char labels[48];
        (void)snprintf(labels, sizeof labels, "sensor=\"%s\"", temps[i].sensor);
        sample(sb, "tinybms_temperature_celsius", labels, temps[i].value.v);
    }

    num_metric(sb, st->cell_count, "tinybms_cell_count", "gauge", "Cells in series.", 1.0);
    unsigned n = st->cells_n < STATUS_CELLS_MAX ? st->cells_n : STATUS_CELLS_MAX;
    if (n > 0u) {
        const char *const names[] = {"tinybms_cell_voltage_volts", "tinybms_cell_balancing"};
        const char *const helps[] = {"Cell voltage.", "1 while the cell is being balanced."};
        for (int pass = 0; pass < 2; pass++) {
            family(sb, names[pass], "gauge", helps[pass]);
            for (unsigned i = 0; i < n; i++) {
                const status_cell_t *c = &st->cells[i];
                char labels[32];
                (void)snprintf(labels, sizeof labels, "cell=\"%u\"", (unsigned)c->index);
                double v = pass == 0 ? c->mv / 1000.0 : (c->balancing ? 1.0 : 0.0);
                sample(sb, names[pass], labels, v);
            }
        }
    }
    num_metric(sb, st->min_cell_mv, "tinybms_cell_voltage_min_volts", "gauge",
               "Lowest cell voltage.", 0.001);
    num_metric(sb, st->max_cell_mv, "tinybms_cell_voltage_max_volts", "gauge",
               "Highest cell voltage.", 0.001);
    num_metric(sb, st->cell_imbalance_mv, "tinybms_cell_imbalance_volts", "gauge",
               "Highest minus lowest cell voltage.", 0.001);
    num_metric(sb, st->online_status, "tinybms_bms_status_code", "gauge",
               "TinyBMS online status register (0x91 charging ... 0x9B fault).", 1.0);

    num_metric(sb, st->limits.cvl_v, "tinybms_charge_voltage_limit_volts", "gauge",
               "Charge voltage limit sent to the GX (CVL, 0x351).", 1.0);
    num_metric(sb, st->limits.ccl_a, "tinybms_charge_current_limit_amperes", "gauge",
               "Charge current limit sent to the GX (CCL, 0x351).", 1.0);
    num_metric(sb, st->limits.dcl_a, "tinybms_discharge_current_limit_amperes", "gauge",
               "Discharge current limit sent to the GX (DCL, 0x351).", 1.0);
    num_metric(sb, st->limits.dvl_v, "tinybms_discharge_voltage_limit_volts", "gauge",
               "Discharge voltage limit sent to the GX (DVL, 0x351).", 1.0);
    if (st->cvl.state != NULL) {
        text_label_metric(sb, "tinybms_cvl_state", "Charge controller state (the one set to 1).",
                          "state", st->cvl.state);
    }
}

static void alarms(strbuf_t *sb, const status_t *st)
{
    unsigned n = st->alarms.count < STATUS_CONDS_MAX ? st->alarms.count : STATUS_CONDS_MAX;
    if (n > 0u) {
        family(sb, "tinybms_alarm_level", "gauge",
               "Alarm level per 0x35A condition: 0 ok, 1 warning, 2 alarm.");
        for (unsigned i = 0; i < n; i++) {
            const status_cond_t *c = &st->alarms.cond[i];
            char esc[96], labels[120];
            escape_label(c->name != NULL ? c->name : "", esc, sizeof esc);
            (void)snprintf(labels, sizeof labels, "condition=\"%s\"", esc);
            sample(sb, "tinybms_alarm_level", labels, (double)c->level);
        }
    }
    metric(sb, "tinybms_alarm_worst_level", "gauge",
           "Highest alarm level over all conditions: 0 ok, 1 warning, 2 alarm.",
           (double)st->alarms.worst);
}

typedef struct {
    const char *name;
    const char *type;
    const char *help;
    double value;
} row_t;

static void rows(strbuf_t *sb, const row_t *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        metric(sb, r[i].name, r[i].type, r[i].help, r[i].value);
    }
}

static double flag(bool b)
{
    return b ? 1.0 : 0.0;
}

static void counters(strbuf_t *sb, const status_t *st)
{
    const row_t uart[] = {
        {"tinybms_uart_polls_total", "counter", "TinyBMS requests sent.", st->uart.polls},
        {"tinybms_uart_polls_success_total", "counter", "TinyBMS requests answered correctly.",
         st->uart.success},
        {"tinybms_uart_errors_total", "counter",
         "TinyBMS failed requests, CRC errors, NACKs and malformed answers.", st->uart.errors},
        {"tinybms_uart_timeouts_total", "counter", "TinyBMS response timeouts.",
         st->uart.timeouts},
        {"tinybms_uart_crc_errors_total", "counter", "TinyBMS CRC errors.", st->uart.crc_errors},
        {"tinybms_uart_retries_total", "counter", "TinyBMS request resends.", st->uart.retries},
        {"tinybms_uart_nacks_total", "counter", "TinyBMS error frames (NACK).", st->uart.nacks},
        {"tinybms_uart_garbage_bytes_total", "counter",
         "UART bytes skipped while resynchronising.", st->uart.garbage_bytes},
        {"tinybms_uart_latency_last_seconds", "gauge", "Last TinyBMS response time.",
         scaled(st->uart.latency_last_ms, 0.001)},
        {"tinybms_uart_latency_avg_seconds", "gauge", "Mean TinyBMS response time.",
         scaled(st->uart.latency_avg_ms, 0.001)},
        {"tinybms_uart_latency_max_seconds", "gauge", "Longest TinyBMS response time.",
         scaled(st->uart.latency_max_ms, 0.001)},
        {"tinybms_uart_open", "gauge", "1 while the TinyBMS serial port is open.",
         flag(st->uart.open)},
    };
    const row_t can[] = {
        {"tinybms_can_frames_sent_total", "counter", "CAN frames sent.", st->can.tx_count},
        {"tinybms_can_frames_received_total", "counter", "CAN frames received.",
         st->can.rx_count},
        {"tinybms_can_tx_errors_total", "counter", "CAN send errors.", st->can.tx_errors},
        {"tinybms_can_tx_drops_total", "counter",
         "CAN frames dropped (interface down or queue full).", st->can.tx_drops},
        {"tinybms_can_rx_errors_total", "counter", "CAN receive errors.", st->can.rx_errors},
        {"tinybms_can_reconnects_total", "counter", "CAN interface reopenings.",
         st->can.reconnects},
        {"tinybms_can_bus_off_total", "counter", "CAN bus-off events.", st->can.bus_off_count},
        {"tinybms_can_tx_error_counter", "gauge", "CAN controller transmit error counter.",
         st->can.tx_error_counter},
        {"tinybms_can_rx_error_counter", "gauge", "CAN controller receive error counter.",
         st->can.rx_error_counter},
        {"tinybms_can_connected", "gauge", "1 while the CAN interface is up.",
         flag(st->can.connected)},
    };
    const row_t bridge[] = {
        {"tinybms_bridge_frames_total", "counter", "Victron frames handed to the CAN port.",
         st->bridge.frames},
        {"tinybms_bridge_stale_events_total", "counter",
         "Times the TinyBMS data went stale (battery frames stopped).", st->bridge.stale_events},
        {"tinybms_bridge_decode_errors_total", "counter",
         "TinyBMS register blocks rejected by a decoder.", st->bridge.decode_errors},
        {"tinybms_gx_keepalive_received_total", "counter",
         "GX keepalive frames (0x305) received.", st->bridge.keepalive_rx},
        {"tinybms_gx_keepalive_ok", "gauge", "1 while the GX keepalive (0x305) is seen.",
         flag(st->gx.keepalive_ok)},
        {"tinybms_energy_charged_watthours_total", "counter",
         "Energy into the battery since the bridge started.",
         scaled(st->energy.charged_kwh, 1000.0)},
        {"tinybms_energy_discharged_watthours_total", "counter",
         "Energy out of the battery since the bridge started.",
         scaled(st->energy.discharged_kwh, 1000.0)},
    };
    rows(sb, uart, sizeof uart / sizeof uart[0]);
    rows(sb, can, sizeof can / sizeof can[0]);
    rows(sb, bridge, sizeof bridge / sizeof bridge[0]);
}

/* ---- the packs of the bank (docs/mqtt.md "Per pack") ----
 * Own families (tinybms_bank_pack_*) rather than a pack label on the
 * battery's: a query for tinybms_pack_voltage_volts keeps returning the one
 * series it always did (the battery: the pack itself, or the bank). */

typedef enum { PK_NUM = 0, PK_BOOL, PK_U32, PK_DBL } pk_kind_t;

typedef struct {
    const char *name;
    const char *type;
    const char *help;
    size_t off; /* the field in status_pack_t (its type: kind) */
    pk_kind_t kind;
    double scale;
    bool measured; /* only while the pack's own data is valid */
} pack_def_t;

#define P(field) offsetof(status_pack_t, field)
/* clang-format off */
static const pack_def_t pack_defs[] = {
    {"tinybms_bank_pack_member", "gauge", "1 while the pack is counted in the bank.", P(member), PK_BOOL, 1.0, false},
    {"tinybms_bank_pack_data_valid", "gauge", "1 while the pack's own last reading is within the stale limit.", P(data_valid), PK_BOOL, 1.0, false},
    {"tinybms_bank_pack_data_age_seconds", "gauge", "Age of the pack's last valid reading.", P(data_age_ms), PK_NUM, 0.001, false},
    {"tinybms_bank_pack_blocks_charge", "gauge", "1 while the pack blocks charging (0x372).", P(blocks_charge), PK_BOOL, 1.0, false},
    {"tinybms_bank_pack_blocks_discharge", "gauge", "1 while the pack blocks discharging (0x372).", P(blocks_discharge), PK_BOOL, 1.0, false},
    {"tinybms_bank_pack_bounds_charge_current_limit", "gauge", "1 while the pack's own CCL over its share bounds the bank's CCL.", P(bounds_ccl), PK_BOOL, 1.0, false},
    {"tinybms_bank_pack_bounds_discharge_current_limit", "gauge", "1 while the pack's own DCL over its share bounds the bank's DCL.", P(bounds_dcl), PK_BOOL, 1.0, false},
    {"tinybms_bank_pack_voltage_volts", "gauge", "Pack voltage.", P(voltage), PK_NUM, 1.0, true},
    {"tinybms_bank_pack_current_amperes", "gauge", "Pack current (positive = charging).", P(current), PK_NUM, 1.0, true},
    {"tinybms_bank_pack_power_watts", "gauge", "Pack power (positive = charging).", P(power_w), PK_NUM, 1.0, true},
    {"tinybms_bank_pack_state_of_charge_percent", "gauge", "Pack state of charge.", P(soc_percent), PK_NUM, 1.0, true},
    {"tinybms_bank_pack_state_of_health_percent", "gauge", "Pack state of health.", P(soh_percent), PK_NUM, 1.0, true},
    {"tinybms_bank_pack_temperature_celsius", "gauge", "Pack temperature.", P(temperature), PK_NUM, 1.0, true},
    {"tinybms_bank_pack_cell_count", "gauge", "Cells in series in the pack.", P(cell_count), PK_NUM, 1.0, true},
    {"tinybms_bank_pack_cell_voltage_min_volts", "gauge", "Lowest cell voltage of the pack.", P(min_cell_mv), PK_NUM, 0.001, true},
    {"tinybms_bank_pack_cell_voltage_max_volts", "gauge", "Highest cell voltage of the pack.", P(max_cell_mv), PK_NUM, 0.001, true},
    {"tinybms_bank_pack_cell_imbalance_volts", "gauge", "Highest minus lowest cell voltage of the pack.", P(cell_imbalance_mv), PK_NUM, 0.001, true},
    {"tinybms_bank_pack_bms_status_code", "gauge", "The pack's TinyBMS online status register (0x91 charging ... 0x9B fault).", P(online_status), PK_NUM, 1.0, true},
    {"tinybms_bank_pack_capacity_amperehours", "gauge", "Pack capacity (its TinyBMS setting).", P(capacity_ah), PK_NUM, 1.0, false},
    {"tinybms_bank_pack_charge_voltage_limit_volts", "gauge", "The pack's own charge voltage limit.", P(limits.cvl_v), PK_NUM, 1.0, true},
    {"tinybms_bank_pack_charge_current_limit_amperes", "gauge", "The pack's own charge current limit (base and derating).", P(limits.ccl_a), PK_NUM, 1.0, true},
    {"tinybms_bank_pack_discharge_current_limit_amperes", "gauge", "The pack's own discharge current limit (base and derating).", P(limits.dcl_a), PK_NUM, 1.0, true},
    {"tinybms_bank_pack_discharge_voltage_limit_volts", "gauge", "The pack's own discharge voltage limit.", P(limits.dvl_v), PK_NUM, 1.0, true},
    {"tinybms_bank_pack_charge_share_percent", "gauge", "The pack's share of the charge current, as the bank uses it.", P(limits.share_charge_pct), PK_NUM, 1.0, false},
    {"tinybms_bank_pack_discharge_share_percent", "gauge", "The pack's share of the discharge current, as the bank uses it.", P(limits.share_discharge_pct), PK_NUM, 1.0, false},
    {"tinybms_bank_pack_uart_polls_total", "counter", "Requests sent to the pack's TinyBMS.", P(uart.polls), PK_U32, 1.0, false},
    {"tinybms_bank_pack_uart_polls_success_total", "counter", "Requests the pack's TinyBMS answered correctly.", P(uart.success), PK_U32, 1.0, false},
    {"tinybms_bank_pack_uart_errors_total", "counter", "Failed requests to the pack's TinyBMS.", P(uart.errors), PK_U32, 1.0, false},
    {"tinybms_bank_pack_uart_timeouts_total", "counter", "Response timeouts of the pack's TinyBMS.", P(uart.timeouts), PK_U32, 1.0, false},
    {"tinybms_bank_pack_uart_crc_errors_total", "counter", "CRC errors on the pack's serial link.", P(uart.crc_errors), PK_U32, 1.0, false},
    {"tinybms_bank_pack_uart_latency_avg_seconds", "gauge", "Mean response time of the pack's TinyBMS.", P(uart.latency_avg_ms), PK_DBL, 0.001, false},
    {"tinybms_bank_pack_uart_open", "gauge", "1 while the pack's serial port is open.", P(uart.open), PK_BOOL, 1.0, false},
};
/* clang-format on */
#undef P

#define PACK_LABELS_MAX 160u

/* pack="N",name="..." for pack p, number n (its place in packs[], from 1). */
static void pack_labels(const status_pack_t *p, unsigned n, char *out, size_t cap)
{
    char esc[2u * STATUS_NAME_MAX + 1u];
    escape_label(p->name, esc, sizeof esc);
    (void)snprintf(out, cap, "pack=\"%u\",name=\"%s\"", n, esc);
}

/* The value of def for pack p; false when it is not there. */
static bool pack_value(const status_pack_t *p, const pack_def_t *d, double *v)
{
    const char *field = (const char *)p + d->off;
    if (d->measured && !p->data_valid) {
        return false;
    }
    switch (d->kind) {
    case PK_NUM: {
        const status_num_t *n = (const status_num_t *)(const void *)field;
        if (!n->known) {
            return false;
        }
        *v = scaled(n->v, d->scale);
        return true;
    }
    case PK_BOOL:
        *v = flag(*(const bool *)(const void *)field);
        return true;
    case PK_U32:
        *v = (double)*(const uint32_t *)(const void *)field;
        return true;
    case PK_DBL:
        *v = scaled(*(const double *)(const void *)field, d->scale);
        return true;
    }
    return false;
}

static unsigned packs_count(const status_t *st)
{
    return st->packs_n < STATUS_PACKS_MAX ? st->packs_n : STATUS_PACKS_MAX;
}

static void pack_info(strbuf_t *sb, const status_t *st, unsigned n)
{
    family(sb, "tinybms_bank_pack_info", "gauge",
           "1 per pack, with its name, serial device and TinyBMS firmware.");
    for (unsigned i = 0; i < n; i++) {
        const status_pack_t *p = &st->packs[i];
        char base[PACK_LABELS_MAX], dev[2u * STATUS_PATH_MAX + 1u], fw[2u * sizeof p->bms.firmware + 1u];
        char labels[PACK_LABELS_MAX + sizeof dev + sizeof fw + 32u];
        pack_labels(p, i + 1u, base, sizeof base);
        escape_label(p->uart.device, dev, sizeof dev);
        escape_label(p->bms.have_version ? p->bms.firmware : "", fw, sizeof fw);
        (void)snprintf(labels, sizeof labels, "%s,device=\"%s\",firmware=\"%s\"", base, dev, fw);
        sample(sb, "tinybms_bank_pack_info", labels, 1.0);
    }
}

static void pack_states(strbuf_t *sb, const status_t *st, unsigned n)
{
    static const char *const states[] = {"online", "joining", "silent", "offline"};
    bool header = false;
    for (unsigned i = 0; i < n; i++) {
        const status_pack_t *p = &st->packs[i];
        if (p->state == NULL) {
            continue;
        }
        if (!header) {
            family(sb, "tinybms_bank_pack_state", "gauge",
                   "1 for the pack's state in the bank (online, joining, silent, offline), 0 "
                   "for the others.");
            header = true;
        }
        char base[PACK_LABELS_MAX], labels[PACK_LABELS_MAX + 32u];
        pack_labels(p, i + 1u, base, sizeof base);
        for (size_t k = 0; k < sizeof states / sizeof states[0]; k++) {
            (void)snprintf(labels, sizeof labels, "%s,state=\"%s\"", base, states[k]);
            sample(sb, "tinybms_bank_pack_state", labels, flag(strcmp(p->state, states[k]) == 0));
        }
    }
}

static void pack_cells(strbuf_t *sb, const status_t *st, unsigned n)
{
    const char *const names[] = {"tinybms_bank_pack_cell_voltage_volts",
                                 "tinybms_bank_pack_cell_balancing"};
    const char *const helps[] = {"Cell voltage, per pack.",
                                 "1 while the cell is being balanced, per pack."};
    for (int pass = 0; pass < 2; pass++) {
        bool header = false;
        for (unsigned i = 0; i < n; i++) {
            const status_pack_t *p = &st->packs[i];
            unsigned cells = p->cells_n < STATUS_CELLS_MAX ? p->cells_n : STATUS_CELLS_MAX;
            if (!p->data_valid || cells == 0u) {
                continue;
            }
            if (!header) {
                family(sb, names[pass], "gauge", helps[pass]);
                header = true;
            }
            char base[PACK_LABELS_MAX], labels[PACK_LABELS_MAX + 32u];
            pack_labels(p, i + 1u, base, sizeof base);
            for (unsigned c = 0; c < cells; c++) {
                const status_cell_t *cell = &p->cells[c];
                (void)snprintf(labels, sizeof labels, "%s,cell=\"%u\"", base,
                               (unsigned)cell->index);
                sample(sb, names[pass], labels,
                       pass == 0 ? cell->mv / 1000.0 : flag(cell->balancing));
            }
        }
    }
}

static void packs(strbuf_t *sb, const status_t *st)
{
    unsigned n = packs_count(st);
    if (n == 0u) {
        return;
    }
    metric(sb, "tinybms_bank_packs", "gauge", "TinyBMS packs the bridge reads.", (double)n);
    pack_info(sb, st, n);
    pack_states(sb, st, n);
    for (size_t d = 0; d < sizeof pack_defs / sizeof pack_defs[0]; d++) {
        bool header = false;
        for (unsigned i = 0; i < n; i++) {
            double v = 0.0;
            if (!pack_value(&st->packs[i], &pack_defs[d], &v)) {
                continue;
            }
            if (!header) {
                family(sb, pack_defs[d].name, pack_defs[d].type, pack_defs[d].help);
                header = true;
            }
            char labels[PACK_LABELS_MAX];
            pack_labels(&st->packs[i], i + 1u, labels, sizeof labels);
            sample(sb, pack_defs[d].name, labels, v);
        }
    }
    pack_cells(sb, st, n);
}

/* The bank as a whole: only with several packs (with one, the battery is the pack). */
static void bank(strbuf_t *sb, const status_t *st)
{
    if (packs_count(st) < 2u) {
        return;
    }
    const row_t counts[] = {
        {"tinybms_bank_modules_online", "gauge", "Packs online (0x372).", st->bank.online},
        {"tinybms_bank_modules_offline", "gauge", "Packs offline (0x372).", st->bank.offline},
        {"tinybms_bank_modules_blocking_charge", "gauge", "Packs blocking charge (0x372).",
         st->bank.blocking_charge},
        {"tinybms_bank_modules_blocking_discharge", "gauge", "Packs blocking discharge (0x372).",
         st->bank.blocking_discharge},
        {"tinybms_bank_capacity_amperehours", "gauge", "Installed capacity: sum of the packs.",
         st->bank.capacity_ah},
        {"tinybms_bank_online_capacity_amperehours", "gauge",
         "Capacity of the packs online.", st->bank.online_capacity_ah},
    };
    rows(sb, counts, sizeof counts / sizeof counts[0]);

    family(sb, "tinybms_bank_warning", "gauge",
           "1 while the bank raises this warning (on 0x35A BMS internal).");
    for (unsigned bit = 0; bit < 32u; bit++) {
        const char *name = status_bank_warning_name(1u << bit);
        if (name == NULL) {
            continue;
        }
        char labels[64];
        (void)snprintf(labels, sizeof labels, "warning=\"%s\"", name);
        sample(sb, "tinybms_bank_warning", labels, flag((st->bank.warnings & (1u << bit)) != 0u));
    }

    const struct {
        const char *limit, *bound;
        uint8_t pack;
    } limits[] = {
        {"charge", st->bank.ccl_bound, st->bank.ccl_pack},
        {"discharge", st->bank.dcl_bound, st->bank.dcl_pack},
    };
    bool header = false;
    for (size_t i = 0; i < 2u; i++) {
        if (limits[i].bound == NULL) {
            continue;
        }
        if (!header) {
            family(sb, "tinybms_bank_current_limit_bound", "gauge",
                   "What bounds the bank's current limit (cap, sum, share, min_packs, no_pack): "
                   "the one set to 1.");
            header = true;
        }
        char esc[64], labels[96];
        escape_label(limits[i].bound, esc, sizeof esc);
        (void)snprintf(labels, sizeof labels, "limit=\"%s\",bound=\"%s\"", limits[i].limit, esc);
        sample(sb, "tinybms_bank_current_limit_bound", labels, 1.0);
    }
    family(sb, "tinybms_bank_current_limit_pack", "gauge",
           "The pack (1-based) whose limit over its share bounds the bank's limit; 0 none.");
    for (size_t i = 0; i < 2u; i++) {
        char labels[32];
        (void)snprintf(labels, sizeof labels, "limit=\"%s\"", limits[i].limit);
        sample(sb, "tinybms_bank_current_limit_pack", labels, (double)limits[i].pack);
    }
}

static void from_status(strbuf_t *sb, const status_t *st)
{
    if (st->version != NULL) {
        text_label_metric(sb, "tinybms_build_info", "Bridge version (always 1).", "version",
                          st->version);
    }
    metric(sb, "tinybms_uptime_seconds", "gauge", "Time since the bridge started.",
           scaled((double)st->uptime_ms, 0.001));
    metric(sb, "tinybms_data_valid", "gauge",
           "1 while TinyBMS data is fresh and battery frames are sent.", flag(st->data_valid));
    num_metric(sb, st->data_age_ms, "tinybms_data_age_seconds", "gauge",
               "Age of the last valid TinyBMS reading.", 0.001);
    if (st->data_valid) {
        battery(sb, st);
    }
    alarms(sb, st);
    counters(sb, st);
    packs(sb, st);
    bank(sb, st);
}

static void from_extra(strbuf_t *sb, const metrics_extra_t *x)
{
    if (x->have_process) {
        metric(sb, "process_resident_memory_bytes", "gauge", "Resident memory size.",
               (double)x->rss_bytes);
        metric(sb, "process_open_fds", "gauge", "Open file descriptors.", (double)x->open_fds);
        metric(sb, "process_start_time_seconds", "gauge",
               "Start time of the process since the epoch.", x->start_time_s);
    }
    if (x->have_loop) {
        metric(sb, "tinybms_loop_iterations_total", "counter", "Event loop iterations.",
               (double)x->loop_iterations);
        metric(sb, "tinybms_loop_lag_last_seconds", "gauge",
               "How late the event loop last woke against its planned deadline.",
               x->loop_lag_last_s);
        metric(sb, "tinybms_loop_lag_max_seconds", "gauge", "Largest event loop wake-up lag.",
               x->loop_lag_max_s);
        metric(sb, "tinybms_loop_lag_avg_seconds", "gauge", "Mean event loop wake-up lag.",
               x->loop_lag_avg_s);
        metric(sb, "tinybms_loop_busy_max_seconds", "gauge",
               "Longest event loop iteration (work between two waits).", x->loop_busy_max_s);
        metric(sb, "tinybms_loop_stalls_total", "counter",
               "Times the watchdog saw the event loop stopped for too long.",
               (double)x->loop_stalls);
    }
    if (x->have_mqtt) {
        metric(sb, "tinybms_mqtt_connected", "gauge", "1 while connected to the MQTT broker.",
               x->mqtt_connected ? 1.0 : 0.0);
        metric(sb, "tinybms_mqtt_messages_published_total", "counter",
               "MQTT messages handed to the client library.", (double)x->mqtt_published);
        metric(sb, "tinybms_mqtt_publish_errors_total", "counter",
               "MQTT messages the client library refused.", (double)x->mqtt_publish_errors);
        metric(sb, "tinybms_mqtt_connects_total", "counter", "Successful MQTT connections.",
               (double)x->mqtt_connects);
        metric(sb, "tinybms_mqtt_connect_failures_total", "counter",
               "MQTT connection attempts that failed.", (double)x->mqtt_connect_failures);
        metric(sb, "tinybms_mqtt_disconnects_total", "counter", "MQTT connections lost.",
               (double)x->mqtt_disconnects);
    }
    if (x->have_ws) {
        metric(sb, "tinybms_websocket_clients", "gauge", "Connected WebSocket clients.",
               (double)x->ws_clients);
        metric(sb, "tinybms_websocket_messages_sent_total", "counter",
               "WebSocket messages sent.", (double)x->ws_sent);
        metric(sb, "tinybms_websocket_messages_dropped_total", "counter",
               "WebSocket messages dropped (slow clients).", (double)x->ws_dropped);
    }
    if (x->have_log) {
        static const char *const levels[] = {"error", "warning", "info", "debug"};
        family(sb, "tinybms_log_lines_total", "counter", "Log lines written, per level.");
        for (size_t i = 0; i < 4u; i++) {
            char labels[32];
            (void)snprintf(labels, sizeof labels, "level=\"%s\"", levels[i]);
            sample(sb, "tinybms_log_lines_total", labels, (double)x->log_lines[i]);
        }
        metric(sb, "tinybms_log_suppressed_total", "counter",
               "Repeated log lines not written (storm guard).", (double)x->log_suppressed);
    }
}

char *metrics_text(const status_t *st, const metrics_extra_t *extra)
{
    strbuf_t sb = STRBUF_INIT;
    strbuf_reserve(&sb, 8192u); /* room for a usual scrape: few regrowths */
    metric(&sb, "tinybms_up", "gauge", "1 while the bridge runs.", 1.0);
    if (st != NULL) {
        from_status(&sb, st);
    }
    if (extra != NULL) {
        from_extra(&sb, extra);
    }
    return strbuf_take(&sb);
}
