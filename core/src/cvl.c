/* CVL state machine: seed-system.md 3.4 with the fixes listed in cvl.h. */
#include "cvl.h"

#include <string.h>

void cvl_default_config(cvl_config_t *cfg)
{
    if (cfg == NULL) {
        return;
    }
    memset(cfg, 0, sizeof *cfg);
    /* seed-system.md 3.3, column (b). */
    cfg->enabled = true;
    cfg->bulk_soc_cpct = 9000u;
    cfg->transition_soc_cpct = 9500u;
    cfg->float_soc_cpct = 9800u;
    cfg->float_exit_soc_cpct = 9500u;
    cfg->soc_hysteresis_cpct = 100u;
    cfg->float_approach_offset_mv = 50u;
    cfg->float_offset_mv = 100u;
    cfg->float_ccl_max_ma = 5000u;
    cfg->imbalance_hold_mv = 100u;
    cfg->imbalance_release_mv = 50u;
    cfg->bulk_target_mv = 0u;
    cfg->series_cells = 0u;
    cfg->cell_max_mv = 3650u;
    cfg->cell_safety_mv = 3500u;
    cfg->cell_release_mv = 3470u;
    cfg->cell_min_float_mv = 3200u;
    cfg->protection_kp_milli = 120000u;
    cfg->nominal_current_ma = 157000u;
    cfg->max_recovery_step_mv = 400u;
    cfg->sustain_entry_cpct = 500u;
    cfg->sustain_exit_cpct = 800u;
    cfg->sustain_mv = 0u;
    cfg->sustain_cell_mv = 3125u;
    cfg->sustain_ccl_ma = 5000u;
    cfg->sustain_dcl_ma = 5000u;
    cfg->imbalance_drop_uv_per_mv = 500u;
    cfg->imbalance_drop_max_mv = 2000u;
    cfg->update_interval_us = 20000000u;
}

void cvl_init(cvl_state_machine_t *sm)
{
    if (sm == NULL) {
        return;
    }
    memset(sm, 0, sizeof *sm);
    sm->state = CVL_STATE_BULK;
    sm->prev_state = CVL_STATE_BULK;
    sm->ccl_cap_ma = -1;
    sm->dcl_cap_ma = -1;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* SOC level of the four SOC-driven states: 0 BULK .. 3 FLOAT. */
static int soc_level(const cvl_config_t *c, int64_t soc_cpct)
{
    if (soc_cpct >= c->float_soc_cpct) {
        return 3;
    }
    if (soc_cpct >= c->transition_soc_cpct) {
        return 2;
    }
    if (soc_cpct >= c->bulk_soc_cpct) {
        return 1;
    }
    return 0;
}

static int state_level(cvl_state_t s)
{
    switch (s) {
    case CVL_STATE_BULK:
        return 0;
    case CVL_STATE_TRANSITION:
        return 1;
    case CVL_STATE_FLOAT_APPROACH:
        return 2;
    case CVL_STATE_FLOAT:
        return 3;
    default:
        return -1; /* IMBALANCE_HOLD, SUSTAIN: no SOC level to hold on to */
    }
}

static cvl_state_t level_state(int level)
{
    static const cvl_state_t states[4] = {CVL_STATE_BULK, CVL_STATE_TRANSITION,
                                          CVL_STATE_FLOAT_APPROACH, CVL_STATE_FLOAT};
    return states[level < 0 ? 0 : (level > 3 ? 3 : level)];
}

/* seed-system.md 3.4 steps 3 to 5, with hysteresis on every downward step. */
static cvl_state_t next_state(const cvl_config_t *c, cvl_state_t prev, int64_t soc,
                              bool imb_known, int64_t imb_mv)
{
    bool sustain = false;
    if (c->sustain_exit_cpct > c->sustain_entry_cpct) {
        sustain = prev == CVL_STATE_SUSTAIN ? soc < c->sustain_exit_cpct
                                            : soc <= c->sustain_entry_cpct;
    }
    if (sustain) {
        return CVL_STATE_SUSTAIN;
    }
    bool hold;
    if (prev == CVL_STATE_IMBALANCE_HOLD) {
        /* An imbalance that cannot be measured does not release the hold:
         * the lower voltage is the safe side. */
        hold = !(imb_known && imb_mv <= c->imbalance_release_mv);
    } else {
        hold = imb_known && imb_mv > c->imbalance_hold_mv;
    }
    if (hold) {
        return CVL_STATE_IMBALANCE_HOLD;
    }
    int up = soc_level(c, soc);
    int p = state_level(prev);
    if (p < 0 || up >= p) {
        return level_state(up);
    }
    if (p == 3) {
        /* float_exit_soc is FLOAT's own hysteresis (seed 3.4 step 5). */
        return soc >= c->float_exit_soc_cpct ? CVL_STATE_FLOAT : level_state(up > 2 ? 2 : up);
    }
    int held = soc_level(c, soc + c->soc_hysteresis_cpct);
    return level_state(held < p ? held : p);
}

static void set_state(cvl_state_machine_t *sm, cvl_state_t s, uint64_t now_us)
{
    if (s != sm->state) {
        sm->prev_state = sm->state;
        sm->state = s;
        sm->state_since_us = now_us;
        sm->changes++;
    }
}

static int32_t clamp_i32(int64_t v)
{
    return v < 0 ? 0 : (v > INT32_MAX ? INT32_MAX : (int32_t)v);
}

/* Lowers a current limit to cap (> 0); never raises it, never makes it 0. */
static int32_t apply_cap(int32_t limit_ma, int32_t cap_ma)
{
    return (cap_ma > 0 && limit_ma > cap_ma) ? cap_ma : limit_ma;
}

bool cvl_step(cvl_state_machine_t *sm, const cvl_config_t *cfg, const tbms_live_t *live,
              const tbms_settings_t *set, const chg_limits_t *base, uint64_t now_us,
              chg_limits_t *out)
{
    if (out == NULL) {
        return false;
    }
    if (base != NULL) {
        *out = *base;
    } else {
        memset(out, 0, sizeof *out);
    }
    if (sm == NULL || cfg == NULL || live == NULL || base == NULL || !live->valid ||
        base->cells == 0u) {
        return false;
    }
    (void)set; /* the cutoffs arrive through base->cvl_ceiling_mv */
    uint32_t reasons = 0u;

    /* Cell count: the lower of the configured and the BMS's (lower CVL). */
    int64_t n = base->cells;
    if (cfg->series_cells != 0u && cfg->series_cells != base->cells) {
        reasons |= CVL_REASON_CELLS_MISMATCH;
        n = min64(n, cfg->series_cells);
    }
    int64_t ceiling = base->cvl_ceiling_mv;
    if (n != base->cells) {
        ceiling = ceiling / base->cells * n;
    }

    /* Bulk target T (seed 3.3: from the OV alarm threshold - fixed here). */
    int64_t t = (int64_t)base->cvl_mv / base->cells * n;
    if (cfg->bulk_target_mv != 0u) {
        t = cfg->bulk_target_mv;
    }
    if (t > ceiling) {
        t = ceiling;
        reasons |= cfg->bulk_target_mv != 0u ? CVL_REASON_TARGET_CAPPED : 0u;
    }
    t = max64(t, 0);
    int64_t floor_mv = (int64_t)cfg->cell_min_float_mv * n;
    bool first = !sm->started;

    if (!cfg->enabled) {
        /* seed 3.4 step 1: fixed limits. */
        if (first) {
            sm->state_since_us = now_us;
        }
        set_state(sm, CVL_STATE_BULK, now_us);
        sm->protection_active = false;
        sm->target_mv = sm->state_mv = sm->cvl_mv = clamp_i32(t);
        sm->ccl_cap_ma = sm->dcl_cap_ma = -1;
        sm->reasons = reasons;
        sm->started = true;
        out->cvl_mv = sm->cvl_mv;
        return true;
    }

    bool imb_known = live->cell_count > 1u && live->cell_max_mv >= live->cell_min_mv &&
                     live->cell_max_mv != 0u;
    int64_t imb = imb_known ? (int64_t)live->cell_max_mv - live->cell_min_mv : 0;
    bool eval = first || cfg->update_interval_us == 0u || now_us >= sm->next_eval_us;
    if (eval) {
        cvl_state_t next = next_state(cfg, sm->state, live->soc_cpct, imb_known, imb);
        if (first) {
            /* The starting state is not a change. */
            sm->state = sm->prev_state = next;
            sm->state_since_us = now_us;
        } else {
            set_state(sm, next, now_us);
        }
        sm->next_eval_us = now_us + cfg->update_interval_us;
    }

    /* State voltage V_s and the state's current caps (seed 3.4 steps 2, 7). */
    int64_t v_fa = max64(t - cfg->float_approach_offset_mv, 0);
    int64_t v_f = max64(t - cfg->float_offset_mv, 0);
    if (v_f > v_fa) {
        int64_t tmp = v_f;
        v_f = v_fa;
        v_fa = tmp;
    }
    int64_t v_s = t;
    int32_t ccl_cap = -1;
    int32_t dcl_cap = -1;
    switch (sm->state) {
    case CVL_STATE_FLOAT_APPROACH:
        v_s = v_fa;
        break;
    case CVL_STATE_FLOAT:
        v_s = v_f;
        ccl_cap = (int32_t)min64(cfg->float_ccl_max_ma, INT32_MAX);
        break;
    case CVL_STATE_IMBALANCE_HOLD: {
        int64_t over = max64(0, imb - cfg->imbalance_hold_mv);
        int64_t drop = min64(cfg->imbalance_drop_max_mv,
                             over * (int64_t)cfg->imbalance_drop_uv_per_mv / 1000);
        v_s = max64(t - drop, floor_mv);
        ccl_cap = (int32_t)min64(cfg->float_ccl_max_ma, INT32_MAX);
        break;
    }
    case CVL_STATE_SUSTAIN:
        v_s = cfg->sustain_mv != 0u ? (int64_t)cfg->sustain_mv : (int64_t)cfg->sustain_cell_mv * n;
        v_s = max64(v_s, floor_mv);
        ccl_cap = (int32_t)min64(cfg->sustain_ccl_ma, INT32_MAX);
        dcl_cap = (int32_t)min64(cfg->sustain_dcl_ma, INT32_MAX);
        break;
    default:
        break;
    }

    /* Cell protection (seed 3.4 step 8), on every call. */
    int64_t limit = min64((int64_t)cfg->cell_max_mv * n, ceiling);
    if (cfg->cell_max_mv != 0u && live->cell_max_mv != 0u) {
        int64_t vmax = live->cell_max_mv;
        if (!sm->protection_active && vmax >= cfg->cell_safety_mv) {
            sm->protection_active = true;
        } else if (sm->protection_active && vmax <= cfg->cell_release_mv) {
            sm->protection_active = false;
        }
        if (sm->protection_active) {
            int64_t delta = max64(0, vmax - cfg->cell_safety_mv);
            int64_t nominal = cfg->nominal_current_ma > 0u ? cfg->nominal_current_ma : 1;
            int64_t charge = max64(0, live->pack_ma);
            int64_t drop = delta * (int64_t)cfg->protection_kp_milli / 1000 * (nominal + charge) /
                           nominal;
            limit -= drop;
        }
    }
    limit = max64(limit, floor_mv);
    int64_t target = min64(v_s, limit);
    if (target < v_s) {
        reasons |= CVL_REASON_PROTECTION;
    }
    if (target == floor_mv && target < t) {
        reasons |= CVL_REASON_FLOOR;
    }
    /* The BMS cutoff wins over every floor. */
    target = min64(target, ceiling);

    /* Falls at once; rises by max_recovery_step_mv per evaluation. */
    int64_t cvl = target;
    if (!first && target > sm->cvl_mv) {
        cvl = sm->cvl_mv;
        if (eval) {
            cvl = cfg->max_recovery_step_mv != 0u
                      ? min64(target, (int64_t)sm->cvl_mv + cfg->max_recovery_step_mv)
                      : target;
        }
        if (cvl < target) {
            reasons |= CVL_REASON_RAMPING;
        }
    }

    sm->started = true;
    sm->target_mv = clamp_i32(t);
    sm->state_mv = clamp_i32(v_s);
    sm->cvl_mv = clamp_i32(cvl);
    sm->ccl_cap_ma = ccl_cap;
    sm->dcl_cap_ma = dcl_cap;
    sm->reasons = reasons;
    out->cvl_mv = sm->cvl_mv;
    out->ccl_ma = apply_cap(out->ccl_ma, ccl_cap);
    out->dcl_ma = apply_cap(out->dcl_ma, dcl_cap);
    return true;
}

const char *cvl_state_name(cvl_state_t s)
{
    static const char *const names[CVL_STATE_COUNT] = {
        "BULK", "TRANSITION", "FLOAT_APPROACH", "FLOAT", "IMBALANCE_HOLD", "SUSTAIN",
    };
    return (unsigned)s < (unsigned)CVL_STATE_COUNT ? names[s] : "UNKNOWN";
}
