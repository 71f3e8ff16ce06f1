/*
 * alarms.h - alarm and warning levels from live data, thresholds and the
 * TinyBMS settings, mapped to the 0x35A pairs (victron-can-bms.md A.3).
 *
 * Each supported condition has a level: 0 OK, 1 warning, 2 alarm. A level
 * rises as soon as its threshold is crossed and falls only once the value
 * is back past the threshold by the hysteresis, so a value sitting on a
 * threshold does not make the GX flicker.
 *
 * On the wire: alarm pair ACTIVE at level 2, warning pair ACTIVE at level
 * 1, both OK otherwise; conditions the bridge cannot judge are sent as
 * unsupported (0b00), never as a false OK.
 */
#ifndef ALARMS_H
#define ALARMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pack_temp.h"
#include "tbms_snapshot.h"
#include "victron_alarms.h"

/* victron.thresholds in the configuration file (seed README names). */
typedef struct {
    int32_t overvoltage_mv;      /* pack voltage alarm; 0 = series cells x reg 315 */
    int32_t undervoltage_mv;     /* pack voltage alarm; 0 = series cells x reg 316 */
    int16_t overtemp_dc;         /* any sensor, 0.1 degC */
    int16_t low_temp_charge_dc;  /* any sensor, 0.1 degC */
    uint16_t imbalance_warn_mv;  /* max - min cell */
    uint16_t imbalance_alarm_mv; /* max - min cell */
} alm_thresholds_t;

typedef enum { ALM_OK = 0, ALM_WARNING = 1, ALM_ALARM = 2 } alm_level_t;

/*
 * Events: one per level change of a condition (the general one excepted,
 * it only summarises the others). OK -> WARNING and WARNING -> ALARM are
 * "raised", the way down "cleared"; a condition that holds produces no
 * further event, and the hysteresis keeps a value sitting on a threshold
 * from producing a pair every read. So one episode gives one raised and
 * one cleared event (two of each if it passes through both levels).
 */
typedef enum { ALM_EVENT_RAISED = 0, ALM_EVENT_CLEARED = 1 } alm_event_kind_t;

typedef struct {
    uint32_t seq;       /* 1, 2, 3... per alm_state_t; gaps = events dropped */
    uint64_t time_us;   /* caller's time of the alm_update that saw it */
    vcan_cond_t cond;
    alm_event_kind_t kind;
    alm_level_t from;   /* level before */
    alm_level_t to;     /* level after */
    int32_t value;      /* the value judged, in the condition's unit (mV, 0.1 degC, mA) */
} alm_event_t;

/* Events kept until the caller drains them; the oldest is dropped first. */
#define ALM_EVENT_CAP 32u

typedef struct {
    bool supported[VCAN_COND_COUNT];
    alm_level_t level[VCAN_COND_COUNT];
    alm_event_t events[ALM_EVENT_CAP]; /* ring; use alm_pop_event */
    uint8_t ev_head;                   /* oldest */
    uint8_t ev_count;
    uint32_t ev_seq;     /* last sequence number given */
    uint32_t ev_dropped; /* events lost because the ring was full */
} alm_state_t;

/* Every condition unsupported, every level OK, no events. */
void alm_init(alm_state_t *st);

/*
 * Re-evaluates every condition from live data (must be valid), the BMS
 * settings (may be NULL or invalid: the BMS cutoff checks, and pack
 * thresholds left at 0, are then skipped) and the pack's temperatures
 * (pack_temp.h; NULL: judged from this read alone) at the caller's time
 * now_us. Levels keep their hysteresis across calls; each level change
 * queues one event.
 *
 * BMS internal (0x35A byte 2/6 bits 6-7): alarm while the TinyBMS reports
 * FAULT; warning while a temperature sensor that was present is missing
 * or no temperature is usable.
 */
void alm_update(alm_state_t *st, const alm_thresholds_t *th, const tbms_live_t *live,
                const tbms_settings_t *set, const ptemp_t *temp, uint64_t now_us);

/*
 * The pack-level voltage thresholds in force: th's values, or for a value
 * of 0, series cells (reg 307, else reg 53) x the TinyBMS cutoff (reg 315
 * over, reg 316 under). 0 when it cannot be derived (no valid settings).
 */
void alm_pack_thresholds(const alm_thresholds_t *th, const tbms_live_t *live,
                         const tbms_settings_t *set, int32_t *ov_mv, int32_t *uv_mv);

/*
 * The battery of several packs (bank.h): every condition at the worst
 * level of packs[0..n) (NULL entries skipped), supported when one of them
 * supports it; BMS internal at least a warning when internal_warning (a
 * pack offline, silent or blocking, packs that disagree). Events as
 * alm_update, their values judged from live and temp (the bank as one
 * pack). Does nothing when st, live or temp is NULL.
 */
void alm_merge(alm_state_t *st, const alm_state_t *const packs[], size_t n,
               bool internal_warning, const tbms_live_t *live, const ptemp_t *temp,
               uint64_t now_us);

/* Takes the oldest queued event into *out; false when none is queued. */
bool alm_pop_event(alm_state_t *st, alm_event_t *out);

/* "raised" / "cleared"; "?" for anything else. */
const char *alm_event_kind_name(alm_event_kind_t k);

/* "ok" / "warning" / "alarm"; "?" for anything else. */
const char *alm_level_name(alm_level_t l);

/* The 0x35A content for the current levels. */
void alm_to_victron(const alm_state_t *st, vcan_alarms_t *out);

/* Highest level of all conditions. */
alm_level_t alm_worst(const alm_state_t *st);

/* Static English name of a condition ("high_voltage"...), "?" if out of range. */
const char *alm_condition_name(vcan_cond_t c);

#endif /* ALARMS_H */
