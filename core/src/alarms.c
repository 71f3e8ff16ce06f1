/* Alarm levels with hysteresis; 0x35A mapping per victron-can-bms.md A.3. */
#include "alarms.h"

#include <string.h>

/* Hysteresis and warning margins (values below the alarm thresholds). */
#define CELL_WARN_MARGIN_MV 50
#define CELL_HYST_MV        20
#define PACK_PER_CELL_MV    25 /* pack warning margin and hysteresis, per cell */
#define TEMP_WARN_MARGIN_DC 50
#define TEMP_HYST_DC        20
#define IMBALANCE_HYST_MV   10
#define CURRENT_WARN_PCT    90
#define CURRENT_HYST_PCT    5

void alm_init(alm_state_t *st)
{
    if (st != NULL) {
        memset(st, 0, sizeof *st);
    }
}

/*
 * Level of a "too high" condition: warn at warn_at, alarm at alarm_at; a
 * level is kept until the value falls below its threshold minus hyst.
 */
static alm_level_t high_level(int64_t v, int64_t warn_at, int64_t alarm_at, int64_t hyst,
                              alm_level_t prev)
{
    if (v >= alarm_at || (prev == ALM_ALARM && v > alarm_at - hyst)) {
        return ALM_ALARM;
    }
    if (v >= warn_at || (prev >= ALM_WARNING && v > warn_at - hyst)) {
        return ALM_WARNING;
    }
    return ALM_OK;
}

static alm_level_t low_level(int64_t v, int64_t warn_at, int64_t alarm_at, int64_t hyst,
                             alm_level_t prev)
{
    return high_level(-v, -warn_at, -alarm_at, hyst, prev);
}

static alm_level_t max_level(alm_level_t a, alm_level_t b)
{
    return a > b ? a : b;
}

static void set(alm_state_t *st, vcan_cond_t c, alm_level_t l)
{
    st->supported[c] = true;
    st->level[c] = l;
}

static void evaluate(alm_state_t *st, const alm_thresholds_t *th, const tbms_live_t *live,
                     const tbms_settings_t *set_, const ptemp_t *temp);

static void queue_changes(alm_state_t *st, const alm_level_t before[VCAN_COND_COUNT],
                          const tbms_live_t *live, const ptemp_t *temp, uint64_t now_us);

static void push_event(alm_state_t *st, const alm_event_t *e)
{
    if (st->ev_count == ALM_EVENT_CAP) {
        st->ev_head = (uint8_t)((st->ev_head + 1u) % ALM_EVENT_CAP);
        st->ev_count--;
        st->ev_dropped++;
    }
    st->events[(st->ev_head + st->ev_count) % ALM_EVENT_CAP] = *e;
    st->ev_count++;
}

/* The value a condition is judged on, for the event record. */
static int32_t cond_value(const tbms_live_t *live, const ptemp_t *temp, vcan_cond_t c)
{
    switch (c) {
    case VCAN_COND_HIGH_VOLTAGE:
        return live->cell_max_mv != 0u ? live->cell_max_mv : live->pack_mv;
    case VCAN_COND_LOW_VOLTAGE:
        return live->cell_min_mv != 0u ? live->cell_min_mv : live->pack_mv;
    case VCAN_COND_HIGH_TEMP:
        return temp->usable ? temp->max_dc : 0;
    case VCAN_COND_LOW_TEMP_CHARGE:
        return temp->usable ? temp->min_dc : 0;
    case VCAN_COND_CELL_IMBALANCE:
        return (int32_t)live->cell_max_mv - live->cell_min_mv;
    case VCAN_COND_HIGH_CHARGE_CURRENT:
    case VCAN_COND_HIGH_DISCHARGE_CURRENT:
        return live->pack_ma;
    case VCAN_COND_BMS_INTERNAL:
        return live->status_raw;
    default:
        return 0;
    }
}

void alm_update(alm_state_t *st, const alm_thresholds_t *th, const tbms_live_t *live,
                const tbms_settings_t *set_, const ptemp_t *temp, uint64_t now_us)
{
    if (st == NULL || th == NULL || live == NULL || !live->valid) {
        return;
    }
    ptemp_t own;
    if (temp == NULL) {
        ptemp_eval(0u, live, &own);
        temp = &own;
    }
    alm_level_t before[VCAN_COND_COUNT];
    memcpy(before, st->level, sizeof before);
    evaluate(st, th, live, set_, temp);
    queue_changes(st, before, live, temp, now_us);
}

/* One event per condition whose level changed from before[]. */
static void queue_changes(alm_state_t *st, const alm_level_t before[VCAN_COND_COUNT],
                          const tbms_live_t *live, const ptemp_t *temp, uint64_t now_us)
{
    for (unsigned c = 0; c < VCAN_COND_COUNT; c++) {
        if (c == VCAN_COND_GENERAL || st->level[c] == before[c]) {
            continue;
        }
        alm_event_t e = {
            .seq = ++st->ev_seq,
            .time_us = now_us,
            .cond = (vcan_cond_t)c,
            .kind = st->level[c] > before[c] ? ALM_EVENT_RAISED : ALM_EVENT_CLEARED,
            .from = before[c],
            .to = st->level[c],
            .value = cond_value(live, temp, (vcan_cond_t)c),
        };
        push_event(st, &e);
    }
}

void alm_merge(alm_state_t *st, const alm_state_t *const packs[], size_t n,
               bool internal_warning, const tbms_live_t *live, const ptemp_t *temp,
               uint64_t now_us)
{
    if (st == NULL || (packs == NULL && n > 0u) || live == NULL || temp == NULL) {
        return;
    }
    alm_level_t before[VCAN_COND_COUNT];
    memcpy(before, st->level, sizeof before);
    for (unsigned c = 0; c < VCAN_COND_COUNT; c++) {
        bool supported = false;
        alm_level_t level = ALM_OK;
        for (size_t i = 0; i < n; i++) {
            if (packs[i] != NULL && packs[i]->supported[c]) {
                supported = true;
                level = max_level(level, packs[i]->level[c]);
            }
        }
        st->supported[c] = supported;
        st->level[c] = supported ? level : ALM_OK;
    }
    if (internal_warning) {
        st->supported[VCAN_COND_BMS_INTERNAL] = true;
        st->level[VCAN_COND_BMS_INTERNAL] =
            max_level(st->level[VCAN_COND_BMS_INTERNAL], ALM_WARNING);
    }
    queue_changes(st, before, live, temp, now_us);
}

bool alm_pop_event(alm_state_t *st, alm_event_t *out)
{
    if (st == NULL || out == NULL || st->ev_count == 0u) {
        return false;
    }
    *out = st->events[st->ev_head];
    st->ev_head = (uint8_t)((st->ev_head + 1u) % ALM_EVENT_CAP);
    st->ev_count--;
    return true;
}

const char *alm_event_kind_name(alm_event_kind_t k)
{
    return k == ALM_EVENT_RAISED ? "raised" : (k == ALM_EVENT_CLEARED ? "cleared" : "?");
}

const char *alm_level_name(alm_level_t l)
{
    switch (l) {
    case ALM_OK:
        return "ok";
    case ALM_WARNING:
        return "warning";
    case ALM_ALARM:
        return "alarm";
    default:
        return "?";
    }
}

void alm_pack_thresholds(const alm_thresholds_t *th, const tbms_live_t *live,
                         const tbms_settings_t *set_, int32_t *ov_mv, int32_t *uv_mv)
{
    const tbms_settings_t *bms = (set_ != NULL && set_->valid) ? set_ : NULL;
    int64_t cells = live != NULL ? (int64_t)tbms_series_cells(live, bms) : 0;
    int32_t ov = th != NULL ? th->overvoltage_mv : 0;
    int32_t uv = th != NULL ? th->undervoltage_mv : 0;
    if (ov == 0 && bms != NULL && cells > 0) {
        ov = (int32_t)(cells * bms->over_voltage_mv);
    }
    if (uv == 0 && bms != NULL && cells > 0) {
        uv = (int32_t)(cells * bms->under_voltage_mv);
    }
    if (ov_mv != NULL) {
        *ov_mv = ov;
    }
    if (uv_mv != NULL) {
        *uv_mv = uv;
    }
}

static void evaluate(alm_state_t *st, const alm_thresholds_t *th, const tbms_live_t *live,
                     const tbms_settings_t *set_, const ptemp_t *temp)
{
    const tbms_settings_t *bms = (set_ != NULL && set_->valid) ? set_ : NULL;
    int64_t cells = (int64_t)tbms_series_cells(live, bms);
    int64_t pack_margin = PACK_PER_CELL_MV * (cells > 0 ? cells : 1);
    alm_level_t *lv = st->level;

    /* Pack thresholds the user left at 0 follow the pack: series cells x
     * the TinyBMS's own cell cutoffs (regs 315, 316). */
    int32_t ov_mv, uv_mv;
    alm_pack_thresholds(th, live, set_, &ov_mv, &uv_mv);
    bool judged_hv = false, judged_uv = false;
    alm_level_t hv = ALM_OK, uv = ALM_OK;
    if (ov_mv > 0) {
        hv = high_level(live->pack_mv, ov_mv - pack_margin, ov_mv, pack_margin,
                        lv[VCAN_COND_HIGH_VOLTAGE]);
        judged_hv = true;
    }
    if (uv_mv > 0) {
        uv = low_level(live->pack_mv, uv_mv + pack_margin, uv_mv, pack_margin,
                       lv[VCAN_COND_LOW_VOLTAGE]);
        judged_uv = true;
    }
    if (bms != NULL && live->cell_count > 0u) {
        hv = max_level(hv, high_level(live->cell_max_mv,
                                      (int64_t)bms->over_voltage_mv - CELL_WARN_MARGIN_MV,
                                      bms->over_voltage_mv, CELL_HYST_MV,
                                      lv[VCAN_COND_HIGH_VOLTAGE]));
        uv = max_level(uv, low_level(live->cell_min_mv,
                                     (int64_t)bms->under_voltage_mv + CELL_WARN_MARGIN_MV,
                                     bms->under_voltage_mv, CELL_HYST_MV,
                                     lv[VCAN_COND_LOW_VOLTAGE]));
        judged_hv = judged_uv = true;
    }
    if (judged_hv) {
        set(st, VCAN_COND_HIGH_VOLTAGE, hv);
    }
    if (judged_uv) {
        set(st, VCAN_COND_LOW_VOLTAGE, uv);
    }

    if (temp->usable) {
        int64_t ot = th->overtemp_dc;
        if (bms != NULL && (int64_t)bms->over_heat_c * 10 < ot) {
            ot = (int64_t)bms->over_heat_c * 10;
        }
        set(st, VCAN_COND_HIGH_TEMP,
            high_level(temp->max_dc, ot - TEMP_WARN_MARGIN_DC, ot, TEMP_HYST_DC,
                       lv[VCAN_COND_HIGH_TEMP]));
        int64_t lt = th->low_temp_charge_dc;
        if (bms != NULL && (int64_t)bms->low_temp_charge_c * 10 > lt) {
            lt = (int64_t)bms->low_temp_charge_c * 10;
        }
        set(st, VCAN_COND_LOW_TEMP_CHARGE,
            low_level(temp->min_dc, lt + TEMP_WARN_MARGIN_DC, lt, TEMP_HYST_DC,
                      lv[VCAN_COND_LOW_TEMP_CHARGE]));
    } else {
        st->supported[VCAN_COND_HIGH_TEMP] = false;
        st->supported[VCAN_COND_LOW_TEMP_CHARGE] = false;
    }

    if (live->cell_count > 1u) {
        int64_t diff = (int64_t)live->cell_max_mv - live->cell_min_mv;
        set(st, VCAN_COND_CELL_IMBALANCE,
            high_level(diff, th->imbalance_warn_mv, th->imbalance_alarm_mv, IMBALANCE_HYST_MV,
                       lv[VCAN_COND_CELL_IMBALANCE]));
    }

    if (bms != NULL) {
        int64_t chg_max = (int64_t)bms->charge_oc_a * 1000;
        int64_t dis_max = (int64_t)bms->discharge_oc_a * 1000;
        int64_t i = live->pack_ma;
        set(st, VCAN_COND_HIGH_CHARGE_CURRENT,
            high_level(i, chg_max * CURRENT_WARN_PCT / 100, chg_max,
                       chg_max * CURRENT_HYST_PCT / 100, lv[VCAN_COND_HIGH_CHARGE_CURRENT]));
        set(st, VCAN_COND_HIGH_DISCHARGE_CURRENT,
            high_level(-i, dis_max * CURRENT_WARN_PCT / 100, dis_max,
                       dis_max * CURRENT_HYST_PCT / 100, lv[VCAN_COND_HIGH_DISCHARGE_CURRENT]));
    }

    /* 0x9B is the TinyBMS's only fault indication (tinybms-uart.md section 6):
     * an alarm. A temperature sensor that was present and is missing, or no
     * usable temperature at all, is a warning (charging is derated or
     * stopped meanwhile, charge.h). */
    alm_level_t fault = live->status == TBMS_STATUS_FAULT ? ALM_ALARM : ALM_OK;
    alm_level_t internal = fault;
    if (internal == ALM_OK && (ptemp_degraded(temp) || !temp->usable)) {
        internal = ALM_WARNING;
    }
    set(st, VCAN_COND_BMS_INTERNAL, internal);
    set(st, VCAN_COND_GENERAL, max_level(fault, alm_worst(st) == ALM_ALARM ? ALM_ALARM : ALM_OK));
}

void alm_to_victron(const alm_state_t *st, vcan_alarms_t *out)
{
    if (out == NULL) {
        return;
    }
    for (unsigned c = 0; c < VCAN_COND_COUNT; c++) {
        if (st == NULL || !st->supported[c]) {
            out->alarm[c] = VCAN_PAIR_UNSUPPORTED;
            out->warning[c] = VCAN_PAIR_UNSUPPORTED;
            continue;
        }
        out->alarm[c] = st->level[c] == ALM_ALARM ? VCAN_PAIR_ACTIVE : VCAN_PAIR_OK;
        out->warning[c] = st->level[c] == ALM_WARNING ? VCAN_PAIR_ACTIVE : VCAN_PAIR_OK;
    }
}

alm_level_t alm_worst(const alm_state_t *st)
{
    alm_level_t w = ALM_OK;
    if (st == NULL) {
        return w;
    }
    for (unsigned c = 0; c < VCAN_COND_COUNT; c++) {
        if (st->supported[c] && c != VCAN_COND_GENERAL) {
            w = max_level(w, st->level[c]);
        }
    }
    return w;
}

const char *alm_condition_name(vcan_cond_t c)
{
    static const char *const names[VCAN_COND_COUNT] = {
        "general",
        "high_voltage",
        "low_voltage",
        "high_temperature",
        "low_temperature",
        "high_temperature_charge",
        "low_temperature_charge",
        "high_discharge_current",
        "high_charge_current",
        "contactor",
        "short_circuit",
        "bms_internal",
        "cell_imbalance",
        "reserved_13",
        "reserved_14",
        "reserved_15",
    };
    return (unsigned)c < VCAN_COND_COUNT ? names[c] : "?";
}
