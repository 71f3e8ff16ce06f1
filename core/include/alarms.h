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

#include <stdint.h>

#include "tbms_snapshot.h"
#include "victron_alarms.h"

/* victron.thresholds in the configuration file (seed README names). */
typedef struct {
    int32_t overvoltage_mv;      /* pack voltage alarm */
    int32_t undervoltage_mv;     /* pack voltage alarm */
    int16_t overtemp_dc;         /* any sensor, 0.1 degC */
    int16_t low_temp_charge_dc;  /* any sensor, 0.1 degC */
    uint16_t imbalance_warn_mv;  /* max - min cell */
    uint16_t imbalance_alarm_mv; /* max - min cell */
} alm_thresholds_t;

typedef enum { ALM_OK = 0, ALM_WARNING = 1, ALM_ALARM = 2 } alm_level_t;

typedef struct {
    bool supported[VCAN_COND_COUNT];
    alm_level_t level[VCAN_COND_COUNT];
} alm_state_t;

/* Every condition unsupported, every level OK. */
void alm_init(alm_state_t *st);

/*
 * Re-evaluates every condition from live data (must be valid) and the
 * BMS settings (may be NULL or invalid: the BMS cutoff checks are then
 * skipped). Levels keep their hysteresis across calls.
 */
void alm_update(alm_state_t *st, const alm_thresholds_t *th, const tbms_live_t *live,
                const tbms_settings_t *set);

/* The 0x35A content for the current levels. */
void alm_to_victron(const alm_state_t *st, vcan_alarms_t *out);

/* Highest level of all conditions. */
alm_level_t alm_worst(const alm_state_t *st);

/* Static English name of a condition ("high_voltage"...), "?" if out of range. */
const char *alm_condition_name(vcan_cond_t c);

#endif /* ALARMS_H */
