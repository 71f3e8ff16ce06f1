/* Readable text for Victron CAN-BMS frames (victron-can-bms.md A.2/A.3). */
#include "can_text.h"

#include <stdio.h>
#include <string.h>

#include "alarms.h"
#include "victron_alarms.h"

const char *can_text_name(uint16_t id)
{
    switch (id) {
    case VCAN_ID_LIMITS:
        return "limits";
    case VCAN_ID_SOC:
        return "soc";
    case VCAN_ID_BATTERY:
        return "battery";
    case VCAN_ID_ALARMS:
        return "alarms";
    case VCAN_ID_MANUFACTURER:
        return "manufacturer";
    case VCAN_ID_IDENTITY:
        return "identity";
    case VCAN_ID_NAME_1:
        return "name-1";
    case VCAN_ID_NAME_2:
        return "name-2";
    case VCAN_ID_MODULES:
        return "modules";
    case VCAN_ID_CELLS:
        return "cells";
    case VCAN_ID_MIN_CELL_V_NAME:
        return "min-cell-id";
    case VCAN_ID_MAX_CELL_V_NAME:
        return "max-cell-id";
    case VCAN_ID_MIN_TEMP_NAME:
        return "min-temp-id";
    case VCAN_ID_MAX_TEMP_NAME:
        return "max-temp-id";
    case VCAN_ID_ENERGY:
        return "energy";
    case VCAN_ID_CAPACITY:
        return "capacity";
    case VCAN_ID_FAMILY:
        return "family";
    case VCAN_ID_KEEPALIVE:
        return "gx-keepalive";
    case VCAN_ID_HANDSHAKE:
        return "gx-handshake";
    default:
        return "unknown";
    }
}

/* Tenths with sign, e.g. -12.3 from -123. */
static void tenths(char *out, size_t cap, long v)
{
    snprintf(out, cap, "%s%ld.%ld", v < 0 ? "-" : "", (v < 0 ? -v : v) / 10, (v < 0 ? -v : v) % 10);
}

static void alarms_text(const vcan_alarms_t *a, char *buf, size_t cap)
{
    size_t used = 0;
    int supported = 0;
    buf[0] = '\0';
    for (unsigned c = 0; c < VCAN_COND_COUNT; c++) {
        supported += a->alarm[c] != VCAN_PAIR_UNSUPPORTED;
        const char *what = NULL;
        if (a->alarm[c] == VCAN_PAIR_ACTIVE) {
            what = "ALARM";
        } else if (a->warning[c] == VCAN_PAIR_ACTIVE) {
            what = "warning";
        } else if (a->alarm[c] == VCAN_PAIR_INVALID || a->warning[c] == VCAN_PAIR_INVALID) {
            what = "invalid";
        }
        if (what != NULL && used < cap) {
            int w = snprintf(buf + used, cap - used, "  %s %s", what,
                             alm_condition_name((vcan_cond_t)c));
            used += w > 0 ? (size_t)w : 0u;
        }
    }
    if (used == 0u) {
        snprintf(buf, cap, "  all %d supported conditions OK", supported);
    }
}

char *can_text_describe(const vcan_frame_t *f, char *buf, size_t cap)
{
    if (buf == NULL || cap == 0u) {
        return buf;
    }
    if (f == NULL) {
        snprintf(buf, cap, "(no frame)");
        return buf;
    }
    vcan_decoded_t d;
    vcan_err_t e = vcan_decode(f, &d);
    char a[16], b[16], c[16], x[16];
    char extra[160];
    int n = snprintf(buf, cap, "0x%03X %-13s", f->id, can_text_name(f->id));
    size_t off = n > 0 && (size_t)n < cap ? (size_t)n : cap - 1u;
    if (e != VCAN_OK) {
        char raw[32] = "";
        for (unsigned i = 0; i < f->dlc && i < 8u; i++) {
            snprintf(raw + 3 * i, sizeof raw - 3 * i, "%02X ", f->data[i]);
        }
        snprintf(buf + off, cap - off, " [%s] %s", vcan_strerror(e), raw);
        return buf;
    }
    switch (f->id) {
    case VCAN_ID_LIMITS:
        tenths(a, sizeof a, (long)d.limits.cvl_mv / 100);
        tenths(b, sizeof b, (long)d.limits.ccl_da);
        tenths(c, sizeof c, (long)d.limits.dcl_da);
        tenths(x, sizeof x, (long)d.limits.dvl_mv / 100);
        snprintf(buf + off, cap - off, " CVL %s V  CCL %s A  DCL %s A  DVL %s V", a, b, c, x);
        break;
    case VCAN_ID_SOC:
        snprintf(buf + off, cap - off, " SOC %ld %%  SOH %ld %%  SOC %ld.%02ld %% (hi-res)",
                 (long)d.soc.soc_pct, (long)d.soc.soh_pct, (long)d.soc.soc_hires_cpct / 100,
                 (long)d.soc.soc_hires_cpct % 100);
        break;
    case VCAN_ID_BATTERY:
        tenths(b, sizeof b, (long)d.battery.current_da);
        tenths(c, sizeof c, (long)d.battery.temp_dc);
        snprintf(buf + off, cap - off, " %ld.%02ld V  %s A  %s C", (long)d.battery.voltage_mv / 1000,
                 (long)(d.battery.voltage_mv % 1000) / 10, b, c);
        break;
    case VCAN_ID_ALARMS:
        alarms_text(&d.alarms, extra, sizeof extra);
        snprintf(buf + off, cap - off, "%s", extra);
        break;
    case VCAN_ID_IDENTITY:
        snprintf(buf + off, cap - off, " model 0x%04X  firmware %u.%u  capacity %ld Ah",
                 d.identity.model, d.identity.fw_major, d.identity.fw_minor,
                 (long)d.identity.capacity_ah);
        break;
    case VCAN_ID_MODULES:
        snprintf(buf + off, cap - off,
                 " online %ld  blocking charge %ld  blocking discharge %ld  offline %ld",
                 (long)d.modules.online, (long)d.modules.blocking_charge,
                 (long)d.modules.blocking_discharge, (long)d.modules.offline);
        break;
    case VCAN_ID_CELLS:
        tenths(a, sizeof a, (long)d.cells.min_temp_dc);
        tenths(b, sizeof b, (long)d.cells.max_temp_dc);
        snprintf(buf + off, cap - off, " cells %ld..%ld mV  temperatures %s..%s C",
                 (long)d.cells.min_cell_mv, (long)d.cells.max_cell_mv, a, b);
        break;
    case VCAN_ID_ENERGY:
        snprintf(buf + off, cap - off, " in %lld.%lld kWh  out %lld.%lld kWh",
                 (long long)(d.energy.charged_wh / 1000), (long long)(d.energy.charged_wh % 1000 / 100),
                 (long long)(d.energy.discharged_wh / 1000),
                 (long long)(d.energy.discharged_wh % 1000 / 100));
        break;
    case VCAN_ID_CAPACITY:
        snprintf(buf + off, cap - off, " installed %ld Ah", (long)d.capacity.capacity_ah);
        break;
    case VCAN_ID_KEEPALIVE:
        snprintf(buf + off, cap - off, " dlc %u", d.keepalive.dlc);
        break;
    case VCAN_ID_HANDSHAKE:
        snprintf(buf + off, cap - off, " %s", d.handshake.is_victron ? "VIC" : "(not VIC)");
        break;
    default:
        if (vcan_is_text_id(f->id)) {
            snprintf(buf + off, cap - off, " \"%s\"", d.text.text);
        }
        break;
    }
    return buf;
}
