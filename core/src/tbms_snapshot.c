/*
 * tbms_snapshot.c - TinyBMS register blocks to typed snapshots.
 *
 * Register layouts and scales: tinybms-uart.md section 5. The defects of the
 * system we replace (seed-system.md 1.6, 9.1) are the reason for several
 * choices here: FLOAT registers are decoded over both words, SOC over both
 * words at 1e-6 %, SOH at 0.002 %, status 0 stays "unknown", -32768 is a
 * missing sensor, and regs 102/103 are statistics, not limits.
 */
#include <string.h>

#include "tbms_snapshot.h"
#include "wire.h"

_Static_assert(TBMS_MAX_CELLS == 16u, "cell registers 0..15 (tinybms-uart.md 5.1)");
_Static_assert(TBMS_EVENTS_REG_COUNT == 2u * TBMS_EVENT_SLOTS, "two registers per event");
_Static_assert(TBMS_VERSION_REG_COUNT == 4u + TBMS_SERIAL_LEN / 2u, "500..503 + serial");
_Static_assert(TBMS_EVENT_SLOTS <= 255u, "slot index fits tbms_event_t.slot");
_Static_assert(TBMS_PACK_MV_MAX < INT32_MAX / 2 && TBMS_PACK_MA_ABS_MAX < INT32_MAX / 2 &&
                   TBMS_SPEED_M_PER_H_MAX < INT32_MAX / 2,
               "f32_bits_to_milli() bounds fit int32_t");

/* Offsets of live registers inside the 0..55 block (tinybms-uart.md 5.1). */
enum {
    LIVE_LIFETIME = 32,
    LIVE_TIME_LEFT = 34,
    LIVE_PACK_V = 36,
    LIVE_PACK_I = 38,
    LIVE_CELL_MIN = 40,
    LIVE_CELL_MAX = 41,
    LIVE_EXT_T1 = 42,
    LIVE_EXT_T2 = 43,
    LIVE_DISTANCE = 44,
    LIVE_SOH = 45,
    LIVE_SOC = 46,
    LIVE_INT_T = 48,
    LIVE_STATUS = 50,
    LIVE_BAL_NEED = 51,
    LIVE_BAL_REAL = 52,
    LIVE_CELLS = 53,
    LIVE_SPEED = 54
};

/* Register at address `addr` of a block starting at `first`. */
#define REG(regs, first, addr) ((regs)[(addr) - (first)])

static uint32_t u32_at(const uint16_t *regs, size_t off)
{
    return wire_u32_lowword_first(regs[off], regs[off + 1u]);
}

/*
 * IEEE-754 single precision (its bit pattern, as the two registers carry
 * it) times 1000, rounded half away from zero, into [min, max]. Integer
 * arithmetic only: on an FPU-less RV32IMC the soft-float routines a float
 * multiply would pull in cost ~4 KB of flash, and the exact product also
 * avoids the float multiply's own rounding. NaN, +-Inf and values outside
 * [min, max] are rejected.
 *
 *   bits: s eeeeeeee mmmmmmmmmmmmmmmmmmmmmmm   value = (-1)^s x M x 2^E
 *         normal (e != 0):    M = 1.m x 2^23, E = e - 150
 *         subnormal (e == 0): M = 0.m x 2^23, E = -149
 */
static bool f32_bits_to_milli(uint32_t bits, int32_t min, int32_t max, int32_t *out)
{
    uint32_t e = (bits >> 23) & 0xFFu;
    uint64_t m = bits & 0x7FFFFFu;
    if (e == 0xFFu) {
        return false; /* Inf or NaN */
    }
    int shift; /* value x 1000 = m x 1000 x 2^-shift */
    if (e == 0u) {
        shift = 149;
    } else {
        m |= 0x800000u;
        shift = 150 - (int)e;
    }
    uint64_t v = m * 1000u; /* < 2^34 */
    uint64_t r;
    if (v == 0u) {
        r = 0u;
    } else if (shift <= 0) {
        return false; /* |value| >= 2^23: beyond every bound used here */
    } else if (shift >= 40) {
        r = 0u; /* v / 2^shift < 2^-6: rounds to 0 */
    } else {
        r = (v + ((uint64_t)1 << (shift - 1))) >> shift;
    }
    int64_t val = (bits >> 31) ? -(int64_t)r : (int64_t)r;
    if (val < min || val > max) {
        return false;
    }
    *out = (int32_t)val;
    return true;
}

/* INT16 register: reinterpret the word as two's complement without
 * implementation-defined conversion. */
static int16_t s16(uint16_t w)
{
    return (w & 0x8000u) ? (int16_t)(-(int32_t)(uint16_t)(~w) - 1) : (int16_t)w;
}

static int8_t s8(uint8_t b)
{
    return (b & 0x80u) ? (int8_t)(-(int16_t)(uint8_t)(~b) - 1) : (int8_t)b;
}

static uint8_t lo8(uint16_t w)
{
    return (uint8_t)(w & 0xFFu);
}

static uint8_t hi8(uint16_t w)
{
    return (uint8_t)(w >> 8);
}

/* ---------------------------------------------------------------- live */

tbms_status_t tbms_status_from_raw(uint16_t raw)
{
    switch (raw) {
    case TBMS_STATUS_CHARGING:
    case TBMS_STATUS_FULLY_CHARGED:
    case TBMS_STATUS_DISCHARGING:
    case TBMS_STATUS_SLEEP:
    case TBMS_STATUS_REGENERATION:
    case TBMS_STATUS_IDLE:
    case TBMS_STATUS_FAULT:
        return (tbms_status_t)raw;
    default:
        return TBMS_STATUS_UNKNOWN;
    }
}

const char *tbms_status_name(tbms_status_t status)
{
    switch (status) {
    case TBMS_STATUS_CHARGING:
        return "Charging";
    case TBMS_STATUS_FULLY_CHARGED:
        return "Fully charged";
    case TBMS_STATUS_DISCHARGING:
        return "Discharging";
    case TBMS_STATUS_SLEEP:
        return "Sleep";
    case TBMS_STATUS_REGENERATION:
        return "Regeneration";
    case TBMS_STATUS_IDLE:
        return "Idle";
    case TBMS_STATUS_FAULT:
        return "Fault";
    case TBMS_STATUS_UNKNOWN:
    default:
        return "Unknown";
    }
}

/* Clears a snapshot-type struct and stamps it; valid stays false. */
#define SNAPSHOT_RESET(out, now_ms)                                                                \
    do {                                                                                           \
        (void)memset((out), 0, sizeof(*(out)));                                                    \
        (out)->read_ms = (now_ms);                                                                 \
    } while (0)

static void decode_temp(uint16_t w, bool *present, int16_t *dc)
{
    int16_t v = s16(w);
    *present = (v != TBMS_TEMP_ABSENT_RAW);
    *dc = *present ? v : 0;
}

tbms_err_t tbms_decode_live(const uint16_t *regs, size_t count, uint64_t now_ms, tbms_live_t *out)
{
    if (out == NULL) {
        return TBMS_ERR_ARG;
    }
    SNAPSHOT_RESET(out, now_ms);
    if (regs == NULL || count != TBMS_LIVE_REG_COUNT) {
        return TBMS_ERR_ARG;
    }

    uint16_t n = regs[LIVE_CELLS];
    if (n > TBMS_MAX_CELLS) {
        return TBMS_ERR_INVALID_DATA;
    }
    /* Top alignment (tinybms-uart.md 7.2): cell i sits in register
     * 16 - N + i and the positions below read 0. A non-zero register there
     * means the layout is not what we assume, so nothing can be trusted. */
    size_t first_cell_reg = TBMS_MAX_CELLS - n;
    for (size_t r = 0; r < first_cell_reg; r++) {
        if (regs[r] != 0u) {
            return TBMS_ERR_INVALID_DATA;
        }
    }

    int32_t pack_mv = 0;
    int32_t pack_ma = 0;
    if (!f32_bits_to_milli(u32_at(regs, LIVE_PACK_V), 0, TBMS_PACK_MV_MAX, &pack_mv) ||
        !f32_bits_to_milli(u32_at(regs, LIVE_PACK_I), -TBMS_PACK_MA_ABS_MAX, TBMS_PACK_MA_ABS_MAX,
                      &pack_ma)) {
        return TBMS_ERR_INVALID_DATA;
    }

    uint32_t soc_raw = u32_at(regs, LIVE_SOC);
    if (soc_raw > TBMS_SOC_RAW_FULL) {
        return TBMS_ERR_INVALID_DATA;
    }

    out->cell_count = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        out->cell_100uv[i] = regs[first_cell_reg + i];
    }
    out->cell_min_mv = regs[LIVE_CELL_MIN];
    out->cell_max_mv = regs[LIVE_CELL_MAX];
    out->lifetime_s = u32_at(regs, LIVE_LIFETIME);
    out->time_left_s = u32_at(regs, LIVE_TIME_LEFT);
    out->pack_mv = pack_mv;
    out->pack_ma = pack_ma;

    decode_temp(regs[LIVE_EXT_T1], &out->ext_temp_present[0], &out->ext_temp_dc[0]);
    decode_temp(regs[LIVE_EXT_T2], &out->ext_temp_present[1], &out->ext_temp_dc[1]);
    decode_temp(regs[LIVE_INT_T], &out->internal_temp_present, &out->internal_temp_dc);

    out->distance_left_km = regs[LIVE_DISTANCE];

    out->soh_raw = regs[LIVE_SOH];
    out->soh_valid = (out->soh_raw <= TBMS_SOH_RAW_FULL);
    /* 0.002 % = 0.01 % / 5 */
    out->soh_cpct = out->soh_valid ? (uint16_t)((out->soh_raw + 2u) / 5u) : 0u;

    out->soc_raw = soc_raw;
    /* 0.01 % = 10 000 x 1e-6 % */
    out->soc_cpct = (uint16_t)((soc_raw + 5000u) / 10000u);

    out->status_raw = regs[LIVE_STATUS];
    out->status = tbms_status_from_raw(out->status_raw);

    out->balance_need_raw = regs[LIVE_BAL_NEED];
    out->balance_active_raw = regs[LIVE_BAL_REAL];
    if (n == 0u) {
        out->balance_need_bits = 0u;
        out->balance_active_bits = 0u;
    } else {
        out->balance_need_bits = (uint16_t)(out->balance_need_raw >> first_cell_reg);
        out->balance_active_bits = (uint16_t)(out->balance_active_raw >> first_cell_reg);
    }

    out->speed_valid = f32_bits_to_milli(u32_at(regs, LIVE_SPEED), -TBMS_SPEED_M_PER_H_MAX,
                                    TBMS_SPEED_M_PER_H_MAX, &out->speed_m_per_h);
    if (!out->speed_valid) {
        out->speed_m_per_h = 0;
    }

    out->valid = true;
    return TBMS_OK;
}

/* ---------------------------------------------------------- statistics */

const char *tbms_reset_cause_name(tbms_reset_cause_t cause)
{
    switch (cause) {
    case TBMS_RESET_UNKNOWN:
        return "Unknown";
    case TBMS_RESET_LOW_POWER:
        return "Low-power reset";
    case TBMS_RESET_WINDOW_WATCHDOG:
        return "Window watchdog reset";
    case TBMS_RESET_INDEPENDENT_WATCHDOG:
        return "Independent watchdog reset";
    case TBMS_RESET_SOFTWARE:
        return "Software reset";
    case TBMS_RESET_POR_PDR:
        return "POR/PDR reset";
    case TBMS_RESET_PIN:
        return "PIN reset";
    case TBMS_RESET_OPTION_BYTES:
        return "Option-bytes loading reset";
    case TBMS_RESET_UNDOCUMENTED:
    default:
        return "Undocumented";
    }
}

const char *tbms_wakeup_name(tbms_wakeup_t wakeup)
{
    switch (wakeup) {
    case TBMS_WAKEUP_CHARGER:
        return "Charger connected";
    case TBMS_WAKEUP_IGNITION:
        return "Ignition";
    case TBMS_WAKEUP_DISCHARGING:
        return "Discharging detected";
    case TBMS_WAKEUP_UART:
        return "UART communication detected";
    case TBMS_WAKEUP_UNDOCUMENTED:
    default:
        return "Undocumented";
    }
}

tbms_err_t tbms_decode_stats(const uint16_t *regs, size_t count, uint64_t now_ms, tbms_stats_t *out)
{
    if (out == NULL) {
        return TBMS_ERR_ARG;
    }
    SNAPSHOT_RESET(out, now_ms);
    if (regs == NULL || count != TBMS_STATS_REG_COUNT) {
        return TBMS_ERR_ARG;
    }
    const size_t f = TBMS_STATS_FIRST_REG;

    out->total_distance_10m = u32_at(regs, 100u - f);
    /* 102/103: 100 mA/LSB (tinybms-uart.md 5.2); lifetime maxima. */
    out->lifetime_max_discharge_ma = (uint32_t)REG(regs, f, 102u) * 100u;
    out->lifetime_max_charge_ma = (uint32_t)REG(regs, f, 103u) * 100u;
    out->max_cell_diff_100uv = REG(regs, f, 104u);
    out->uv_protection_count = REG(regs, f, 105u);
    out->ov_protection_count = REG(regs, f, 106u);
    out->discharge_oc_protection_count = REG(regs, f, 107u);
    out->charge_oc_protection_count = REG(regs, f, 108u);
    out->overheat_protection_count = REG(regs, f, 109u);
    out->charging_count = REG(regs, f, 111u);
    out->full_charge_count = REG(regs, f, 112u);

    uint16_t t = REG(regs, f, 113u);
    out->pack_temp_min_c = s8(lo8(t));
    out->pack_temp_max_c = s8(hi8(t));

    uint16_t rw = REG(regs, f, 114u);
    out->reset_cause_raw = lo8(rw);
    out->reset_cause = (out->reset_cause_raw <= (uint8_t)TBMS_RESET_OPTION_BYTES)
                           ? (tbms_reset_cause_t)out->reset_cause_raw
                           : TBMS_RESET_UNDOCUMENTED;
    out->wakeup_raw = hi8(rw);
    out->wakeup = (out->wakeup_raw <= (uint8_t)TBMS_WAKEUP_UART) ? (tbms_wakeup_t)out->wakeup_raw
                                                                 : TBMS_WAKEUP_UNDOCUMENTED;

    out->stats_cleared_s = u32_at(regs, 116u - f);
    out->valid = true;
    return TBMS_OK;
}

/* -------------------------------------------------------------- events */

#define EVENT_TS_MASK 0xFFFFFFu /* 24-bit timestamps (tinybms-uart.md 5.3) */

uint32_t tbms_event_age_s(uint32_t timestamp_s, uint32_t lifetime_s)
{
    return (lifetime_s - timestamp_s) & EVENT_TS_MASK;
}

/* True when a must come before b in "newest first" order: by raw timestamp
 * (larger = newer) or, with by_age, by age against the lifetime counter
 * (smaller = newer). Ties: the higher slot is taken as written later. */
static bool newer(const tbms_event_t *a, const tbms_event_t *b, bool by_age, uint32_t lifetime_s)
{
    if (by_age) {
        uint32_t age_a = tbms_event_age_s(a->timestamp_s, lifetime_s);
        uint32_t age_b = tbms_event_age_s(b->timestamp_s, lifetime_s);
        if (age_a != age_b) {
            return age_a < age_b;
        }
    } else if (a->timestamp_s != b->timestamp_s) {
        return a->timestamp_s > b->timestamp_s;
    }
    return a->slot > b->slot;
}

/* Insertion sort: at most 49 entries, no recursion, no heap. */
static void sort_events(tbms_event_t *e, size_t n, bool by_age, uint32_t lifetime_s)
{
    for (size_t i = 1; i < n; i++) {
        tbms_event_t cur = e[i];
        size_t j = i;
        while (j > 0u && newer(&cur, &e[j - 1u], by_age, lifetime_s)) {
            e[j] = e[j - 1u];
            j--;
        }
        e[j] = cur;
    }
}

tbms_err_t tbms_decode_events(const uint16_t *regs, size_t count, uint64_t now_ms,
                              tbms_events_t *out)
{
    if (out == NULL) {
        return TBMS_ERR_ARG;
    }
    SNAPSHOT_RESET(out, now_ms);
    if (regs == NULL || count != TBMS_EVENTS_REG_COUNT) {
        return TBMS_ERR_ARG;
    }
    size_t n = 0;
    for (size_t k = 0; k < TBMS_EVENT_SLOTS; k++) {
        uint16_t lo = regs[2u * k];
        uint16_t hi = regs[2u * k + 1u];
        if (lo == 0u && hi == 0u) {
            continue; /* empty slot */
        }
        out->entry[n].timestamp_s = (uint32_t)lo | ((uint32_t)lo8(hi) << 16);
        out->entry[n].id = hi8(hi);
        out->entry[n].slot = (uint8_t)k;
        n++;
    }
    sort_events(out->entry, n, false, 0u);
    out->count = (uint8_t)n;
    out->valid = true;
    return TBMS_OK;
}

tbms_err_t tbms_events_sort_by_age(tbms_events_t *ev, uint32_t lifetime_s)
{
    if (ev == NULL || ev->count > TBMS_EVENT_SLOTS) {
        return TBMS_ERR_ARG;
    }
    sort_events(ev->entry, ev->count, true, lifetime_s);
    return TBMS_OK;
}

tbms_event_kind_t tbms_event_kind(uint8_t id)
{
    /* ID ranges: tinybms-uart.md 6 / DOC-D chapter 4. */
    if (id >= 0x01u && id <= 0x30u) {
        return TBMS_EVENT_KIND_FAULT;
    }
    if (id >= 0x31u && id <= 0x60u) {
        return TBMS_EVENT_KIND_WARNING;
    }
    if (id >= 0x61u && id <= 0x90u) {
        return TBMS_EVENT_KIND_INFO;
    }
    return TBMS_EVENT_KIND_UNKNOWN;
}

const char *tbms_event_name(uint8_t id)
{
    switch (id) {
    /* Faults */
    case 0x02:
        return "Under-voltage cutoff";
    case 0x03:
        return "Over-voltage cutoff";
    case 0x04:
        return "Over-temperature cutoff";
    case 0x05:
        return "Discharging over-current cutoff";
    case 0x06:
        return "Charging over-current cutoff";
    case 0x07:
        return "Regeneration over-current cutoff";
    case 0x0A:
        return "Low-temperature cutoff";
    case 0x0B:
        return "Charger switch error";
    case 0x0C:
        return "Load switch error";
    case 0x0D:
        return "Single-port switch error";
    case 0x0E:
        return "External current sensor disconnected (restart required)";
    case 0x0F:
        return "External current sensor connected (restart required)";
    /* Warnings */
    case 0x31:
        return "Fully-discharged cutoff";
    case 0x37:
        return "Low-temperature charging cutoff";
    case 0x38:
        return "Charging done (charger voltage too high)";
    case 0x39:
        return "Charging done (charger voltage too low)";
    /* Info */
    case 0x61:
        return "System started";
    case 0x62:
        return "Charging started";
    case 0x63:
        return "Charging done";
    case 0x64:
        return "Charger connected";
    case 0x65:
        return "Charger disconnected";
    case 0x66:
        return "Dual-port mode activated";
    case 0x67:
        return "Single-port mode activated";
    case 0x73:
        return "Recovered from over-temperature fault";
    case 0x74:
        return "Recovered from low-temperature warning";
    case 0x75:
        return "Recovered from low-temperature fault";
    case 0x76:
        return "Recovered from charging over-current fault";
    case 0x77:
        return "Recovered from discharging over-current fault";
    case 0x78:
        return "Recovered from regeneration over-current fault";
    case 0x79:
        return "Recovered from over-voltage fault";
    case 0x7A:
        return "Recovered from fully-discharged warning";
    case 0x7B:
        return "Recovered from under-voltage fault";
    case 0x7C:
        return "External current sensor connected";
    case 0x7D:
        return "External current sensor disconnected";
    default:
        return "unknown";
    }
}

/* ------------------------------------------------------------ settings */

static bool in_range_u16(uint16_t v, uint16_t lo, uint16_t hi)
{
    return v >= lo && v <= hi;
}

tbms_err_t tbms_decode_settings(const uint16_t *regs, size_t count, uint64_t now_ms,
                                tbms_settings_t *out)
{
    if (out == NULL) {
        return TBMS_ERR_ARG;
    }
    SNAPSHOT_RESET(out, now_ms);
    if (regs == NULL || count != TBMS_SETTINGS_REG_COUNT) {
        return TBMS_ERR_ARG;
    }
    const size_t f = TBMS_SETTINGS_FIRST_REG;

    /* Ranges: tinybms-uart.md 5.4 (DOC-D 3.4). */
    if (!in_range_u16(REG(regs, f, 300u), 1200u, 4500u) ||
        !in_range_u16(REG(regs, f, 301u), 1000u, 3500u) ||
        !in_range_u16(REG(regs, f, 307u), 4u, 16u) ||
        !in_range_u16(REG(regs, f, 315u), 1200u, 4500u) ||
        !in_range_u16(REG(regs, f, 316u), 800u, 3500u)) {
        return TBMS_ERR_INVALID_DATA;
    }

    out->fully_charged_mv = REG(regs, f, 300u);
    out->fully_discharged_mv = REG(regs, f, 301u);
    out->early_balancing_mv = REG(regs, f, 303u);
    out->charge_finished_ma = REG(regs, f, 304u);
    out->peak_discharge_a = REG(regs, f, 305u);
    out->capacity_10mah = REG(regs, f, 306u);
    out->series_cells = REG(regs, f, 307u);
    out->allowed_disbalance_mv = REG(regs, f, 308u);
    out->charger_startup_delay_s = REG(regs, f, 310u);
    out->charger_disable_delay_s = REG(regs, f, 311u);
    out->pulses_per_unit = u32_at(regs, 312u - f);
    out->distance_unit = REG(regs, f, 314u);
    out->over_voltage_mv = REG(regs, f, 315u);
    out->under_voltage_mv = REG(regs, f, 316u);
    out->discharge_oc_a = REG(regs, f, 317u);
    out->charge_oc_a = REG(regs, f, 318u);
    out->over_heat_c = s16(REG(regs, f, 319u));
    out->low_temp_charge_c = s16(REG(regs, f, 320u));
    out->charge_restart_pct = REG(regs, f, 321u);
    out->max_cycles = REG(regs, f, 322u);
    out->soh_set_raw = REG(regs, f, 323u);
    out->soc_set_raw = REG(regs, f, 328u);
    out->option_bits = REG(regs, f, 329u);
    out->charger_type = lo8(REG(regs, f, 330u));
    out->doc_timeout_s = hi8(REG(regs, f, 330u));
    out->load_switch_type = lo8(REG(regs, f, 331u));
    out->auto_recovery_s = lo8(REG(regs, f, 332u));
    out->charger_switch_type = lo8(REG(regs, f, 333u));
    out->ignition = lo8(REG(regs, f, 334u));
    out->charger_detection = lo8(REG(regs, f, 335u));
    out->speed_sensor_input = lo8(REG(regs, f, 336u));
    out->precharge_pin = lo8(REG(regs, f, 337u));
    out->precharge_duration = lo8(REG(regs, f, 338u));
    out->temp_sensor_type = lo8(REG(regs, f, 339u));
    out->operation_mode = lo8(REG(regs, f, 340u));
    out->single_port_switch_type = lo8(REG(regs, f, 341u));
    out->broadcast_time = lo8(REG(regs, f, 342u));
    out->broadcast_protocol = lo8(REG(regs, f, 343u));
    out->valid = true;
    return TBMS_OK;
}

static uint16_t u16_of_s16(int16_t v)
{
    return (uint16_t)((uint32_t)(int32_t)v & 0xFFFFu);
}

static uint16_t bytes2(uint8_t lo, uint8_t hi)
{
    return (uint16_t)((uint16_t)lo | ((uint16_t)hi << 8));
}

tbms_err_t tbms_encode_settings(const tbms_settings_t *s, uint16_t *words, size_t count)
{
    if (s == NULL || words == NULL) {
        return TBMS_ERR_ARG;
    }
    if (count < TBMS_SETTINGS_REG_COUNT) {
        return TBMS_ERR_BUF_SMALL;
    }
    const size_t f = TBMS_SETTINGS_FIRST_REG;
    (void)memset(words, 0, TBMS_SETTINGS_REG_COUNT * sizeof(words[0]));

    REG(words, f, 300u) = s->fully_charged_mv;
    REG(words, f, 301u) = s->fully_discharged_mv;
    REG(words, f, 303u) = s->early_balancing_mv;
    REG(words, f, 304u) = s->charge_finished_ma;
    REG(words, f, 305u) = s->peak_discharge_a;
    REG(words, f, 306u) = s->capacity_10mah;
    REG(words, f, 307u) = s->series_cells;
    REG(words, f, 308u) = s->allowed_disbalance_mv;
    REG(words, f, 310u) = s->charger_startup_delay_s;
    REG(words, f, 311u) = s->charger_disable_delay_s;
    REG(words, f, 312u) = (uint16_t)(s->pulses_per_unit & 0xFFFFu); /* low word first */
    REG(words, f, 313u) = (uint16_t)(s->pulses_per_unit >> 16);
    REG(words, f, 314u) = s->distance_unit;
    REG(words, f, 315u) = s->over_voltage_mv;
    REG(words, f, 316u) = s->under_voltage_mv;
    REG(words, f, 317u) = s->discharge_oc_a;
    REG(words, f, 318u) = s->charge_oc_a;
    REG(words, f, 319u) = u16_of_s16(s->over_heat_c);
    REG(words, f, 320u) = u16_of_s16(s->low_temp_charge_c);
    REG(words, f, 321u) = s->charge_restart_pct;
    REG(words, f, 322u) = s->max_cycles;
    REG(words, f, 323u) = s->soh_set_raw;
    REG(words, f, 328u) = s->soc_set_raw;
    REG(words, f, 329u) = s->option_bits;
    REG(words, f, 330u) = bytes2(s->charger_type, s->doc_timeout_s);
    REG(words, f, 331u) = s->load_switch_type;
    REG(words, f, 332u) = s->auto_recovery_s;
    REG(words, f, 333u) = s->charger_switch_type;
    REG(words, f, 334u) = s->ignition;
    REG(words, f, 335u) = s->charger_detection;
    REG(words, f, 336u) = s->speed_sensor_input;
    REG(words, f, 337u) = s->precharge_pin;
    REG(words, f, 338u) = s->precharge_duration;
    REG(words, f, 339u) = s->temp_sensor_type;
    REG(words, f, 340u) = s->operation_mode;
    REG(words, f, 341u) = s->single_port_switch_type;
    REG(words, f, 342u) = s->broadcast_time;
    REG(words, f, 343u) = s->broadcast_protocol;
    return TBMS_OK;
}

/* ------------------------------------------------------------- version */

tbms_err_t tbms_decode_version(const uint16_t *regs, size_t count, uint64_t now_ms,
                               tbms_version_t *out)
{
    if (out == NULL) {
        return TBMS_ERR_ARG;
    }
    SNAPSHOT_RESET(out, now_ms);
    if (regs == NULL || count != TBMS_VERSION_REG_COUNT) {
        return TBMS_ERR_ARG;
    }
    const size_t f = TBMS_VERSION_FIRST_REG;

    out->hw_version = lo8(REG(regs, f, 500u));
    out->hw_changes = hi8(REG(regs, f, 500u));

    /* 501: bits 0-7 public FW, bit 8 BPT, bits 9-10 BCS (DOC-D 3.5). */
    uint16_t w = REG(regs, f, 501u);
    out->fw_public = lo8(w);
    out->power_type = ((w >> 8) & 1u) ? TBMS_POWER_HIGH : TBMS_POWER_LOW;
    switch ((w >> 9) & 3u) {
    case 0u:
        out->current_sensor = TBMS_SENSOR_INTERNAL_RESISTOR;
        break;
    case 1u:
        out->current_sensor = TBMS_SENSOR_INTERNAL_HALL;
        break;
    case 2u:
        out->current_sensor = TBMS_SENSOR_EXTERNAL;
        break;
    default:
        out->current_sensor = TBMS_SENSOR_UNDOCUMENTED;
        break;
    }

    out->fw_internal = REG(regs, f, 502u);
    out->bootloader = lo8(REG(regs, f, 503u));
    out->profile = hi8(REG(regs, f, 503u));

    for (size_t i = 0; i < TBMS_SERIAL_LEN / 2u; i++) {
        uint16_t sw = REG(regs, f, 504u + i);
        out->serial[2u * i] = lo8(sw);
        out->serial[2u * i + 1u] = hi8(sw);
    }
    out->valid = true;
    return TBMS_OK;
}

uint8_t tbms_series_cells(const tbms_live_t *live, const tbms_settings_t *set)
{
    if (set != NULL && set->valid && set->series_cells >= 4u &&
        set->series_cells <= TBMS_MAX_CELLS) {
        return (uint8_t)set->series_cells;
    }
    if (live != NULL && live->cell_count >= 4u && live->cell_count <= TBMS_MAX_CELLS) {
        return live->cell_count;
    }
    return 0u;
}
