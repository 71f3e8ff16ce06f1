/*
 * cvl.h - the charge voltage limit (CVL) state machine: the seed's six
 * states (seed-system.md 3.1) and its decisions (3.4), with the flaws of
 * seed-system.md 9 (items 6 and 12) fixed. It works on top of the base
 * limits of charge.h and only ever LOWERS them:
 *
 *   base limits (charge.h) -> cvl_step (state, CVL, state caps on CCL/DCL)
 *                          -> chg_derate + chg_ramp (charge.h) -> 0x351
 *
 * States and their charge voltage (T = bulk target, N = series cells):
 *
 *   BULK            T                       SOC < bulk_soc
 *   TRANSITION      T                       bulk_soc <= SOC < transition_soc
 *   FLOAT_APPROACH  T - float_approach_offset  transition_soc <= SOC < float_soc
 *   FLOAT           T - float_offset, CCL capped   SOC >= float_soc, kept down to float_exit_soc
 *   IMBALANCE_HOLD  T - drop(imbalance), CCL capped  imbalance > hold, until <= release
 *   SUSTAIN         sustain voltage, CCL/DCL capped  SOC <= entry, until >= exit
 *
 * Fixes against the seed (seed-system.md 9):
 *   - T is the configured pack voltage or N x the per-cell charge voltage
 *     (the base CVL), never the over-voltage alarm threshold, and never
 *     above (reg 315 - margin) x N: the base limits already apply that cap
 *     and cvl_step applies it again to a configured T;
 *   - every SOC-driven change downwards needs the SOC to fall
 *     soc_hysteresis_cpct below the threshold it crossed going up (the
 *     seed's FLOAT_APPROACH exit hysteresis was dead code);
 *   - the cell protection reduces CVL only; it never scales CCL or DCL;
 *   - CVL falls at once and rises by at most max_recovery_step_mv per
 *     update interval, whatever raised it (the seed jumped back up one
 *     cycle after the protection released);
 *   - a 0 sustain or float cap means "no cap": a cap never makes CCL or
 *     DCL 0 (victron-can-bms.md A.8: DCL = 0 shuts an off-grid Multi down,
 *     charging is stopped with CVL, not CCL = 0).
 *
 * Time: microseconds, monotonic, from the caller. The state machine is
 * evaluated at most once per update_interval_us (the seed's 20 s CVL
 * period); the cell protection and every decrease act on every call.
 *
 * Pure: no heap, no I/O, integers only. Caller owns cvl_state_t.
 */
#ifndef CVL_H
#define CVL_H

#include <stdbool.h>
#include <stdint.h>

#include "charge.h"
#include "tbms_snapshot.h"

/* Values are the seed's state numbers (seed-system.md 3.1). */
typedef enum {
    CVL_STATE_BULK = 0,
    CVL_STATE_TRANSITION = 1,
    CVL_STATE_FLOAT_APPROACH = 2,
    CVL_STATE_FLOAT = 3,
    CVL_STATE_IMBALANCE_HOLD = 4,
    CVL_STATE_SUSTAIN = 5,
    CVL_STATE_COUNT = 6
} cvl_state_t;

/* The cvl section of the configuration (seed-system.md 3.3), in integer
 * units. SOC in 0.01 %, voltages in mV (pack unless named cell_), currents
 * in mA. */
typedef struct {
    bool enabled;                      /* false: BULK at T always, no caps */
    uint16_t bulk_soc_cpct;            /* BULK -> TRANSITION */
    uint16_t transition_soc_cpct;      /* TRANSITION -> FLOAT_APPROACH */
    uint16_t float_soc_cpct;           /* FLOAT_APPROACH -> FLOAT */
    uint16_t float_exit_soc_cpct;      /* FLOAT kept while SOC >= this */
    uint16_t soc_hysteresis_cpct;      /* downward changes need SOC this far below */
    uint16_t float_approach_offset_mv; /* pack */
    uint16_t float_offset_mv;          /* pack */
    uint32_t float_ccl_max_ma;         /* CCL cap in FLOAT / IMBALANCE_HOLD; 0 = none */
    uint16_t imbalance_hold_mv;        /* enter IMBALANCE_HOLD above (strict) */
    uint16_t imbalance_release_mv;     /* leave at or below */
    uint32_t bulk_target_mv;           /* pack T; 0 = the base CVL */
    uint8_t series_cells;              /* 0 = from the BMS; else the lower of the two */
    uint16_t cell_max_mv;              /* protection ceiling per cell */
    uint16_t cell_safety_mv;           /* protection engages at/above (highest cell) */
    uint16_t cell_release_mv;          /* protection releases at/below */
    uint16_t cell_min_float_mv;        /* floor of every reduced CVL, per cell */
    uint32_t protection_kp_milli;      /* pack mV per cell mV above safety, x1000 */
    uint32_t nominal_current_ma;       /* charge current that doubles the gain */
    uint32_t max_recovery_step_mv;     /* largest CVL rise per update; 0 = no limit */
    uint16_t sustain_entry_cpct;       /* SUSTAIN at or below; needs exit > entry */
    uint16_t sustain_exit_cpct;        /* leave SUSTAIN at or above */
    uint32_t sustain_mv;               /* pack; 0 = sustain_cell_mv x N */
    uint16_t sustain_cell_mv;
    uint32_t sustain_ccl_ma; /* CCL cap in SUSTAIN; 0 = none */
    uint32_t sustain_dcl_ma; /* DCL cap in SUSTAIN; 0 = none */
    uint32_t imbalance_drop_uv_per_mv; /* CVL drop per mV above the hold threshold */
    uint32_t imbalance_drop_max_mv;
    uint32_t update_interval_us; /* state machine period; 0 = every call */
} cvl_config_t;

/* The seed's defaults (seed-system.md 3.3 column (b)), except T = 0 (from
 * the per-cell charge voltage) and soc_hysteresis_cpct = 100 (1 %). */
void cvl_default_config(cvl_config_t *cfg);

/* Why the CVL is what it is (bits of cvl_state_t.reasons). */
enum {
    CVL_REASON_TARGET_CAPPED = 1u << 0, /* configured T above (reg 315 - margin) x N */
    CVL_REASON_PROTECTION = 1u << 1,    /* cell protection lowered the CVL */
    CVL_REASON_RAMPING = 1u << 2,       /* CVL rising by max_recovery_step_mv */
    CVL_REASON_CELLS_MISMATCH = 1u << 3, /* configured cell count differs from the BMS */
    CVL_REASON_FLOOR = 1u << 4,          /* held up at cell_min_float x N */
};

typedef struct {
    bool started;              /* first step done */
    cvl_state_t state;
    cvl_state_t prev_state;    /* state before the last change */
    uint64_t state_since_us;   /* time of the last change (or of the first step) */
    uint32_t changes;          /* state changes since init */
    uint64_t next_eval_us;     /* next state machine evaluation */
    bool protection_active;
    int32_t target_mv;         /* T used by the last step */
    int32_t state_mv;          /* the state's voltage V_s */
    int32_t cvl_mv;            /* the CVL handed out (after protection and ramp) */
    int32_t ccl_cap_ma;        /* -1 = no cap from the state */
    int32_t dcl_cap_ma;        /* -1 = no cap from the state */
    uint32_t reasons;          /* CVL_REASON_* */
} cvl_state_machine_t;

/* Starts in BULK, nothing computed yet. */
void cvl_init(cvl_state_machine_t *sm);

/*
 * One step at now_us on a valid live read.
 *   base: the limits of chg_base_limits (must have succeeded); its cvl_mv
 *         is the default T, its cells the BMS cell count.
 *   set:  the BMS settings (reg 315 for the target cap); may be NULL.
 *   out:  base with cvl_mv replaced and ccl_ma/dcl_ma lowered by the
 *         state caps (never raised, never made 0 by a cap).
 * Returns false (out = base, state unchanged) for NULL arguments or an
 * invalid live snapshot. Cost: a few dozen integer operations.
 */
bool cvl_step(cvl_state_machine_t *sm, const cvl_config_t *cfg, const tbms_live_t *live,
              const tbms_settings_t *set, const chg_limits_t *base, uint64_t now_us,
              chg_limits_t *out);

/* Upper-case seed name of a state ("BULK", ..., "SUSTAIN"); "UNKNOWN" for
 * anything else. Static, never NULL. */
const char *cvl_state_name(cvl_state_t s);

#endif /* CVL_H */
