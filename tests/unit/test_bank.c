/*
 * Black-box tests of bank.h: parallel packs as one battery. Every rule of
 * issue 12 (multi-pack.md): limits over measured shares, blocking packs,
 * silent packs with grace and near-cutoff drop, no pack online, minimum
 * packs, rejoin hold and window, reported values, bad input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "bank.h"
#include "fixture_pack.h"

#define S  1000000ull
#define T0 (100u * S)

typedef struct {
    tbms_live_t live;
    tbms_settings_t set;
    chg_limits_t lim;
    bool silent; /* its reads stopped: last_valid stays */
    uint64_t last_valid_us;
} pack_t;

static pack_t pk[BANK_MAX_PACKS + 1u];
static uint32_t timeout_us[BANK_MAX_PACKS + 1u]; /* each pack's own; 0 = the bank's */
static bank_pack_in_t in[BANK_MAX_PACKS + 1u];
static bank_config_t cfg;
static bank_t bank;
static bank_out_t out;

/* A nominal 16S pack: own limits ccl/dcl (mA), current ma (+ = charging),
 * capacity in Ah, 53.0 V, SOC 50 %. */
static void pack_set(unsigned i, int32_t ccl_ma, int32_t dcl_ma, int32_t ma, uint16_t cap_ah)
{
    pack_t *p = &pk[i];
    memset(p, 0, sizeof *p);
    fixture_live(&p->live);
    fixture_settings(&p->set);
    p->set.capacity_10mah = (uint16_t)(cap_ah * 100u);
    p->live.pack_ma = ma;
    p->live.soc_cpct = 5000;
    p->live.status = ma > 0 ? TBMS_STATUS_CHARGING : TBMS_STATUS_IDLE;
    for (unsigned c = 0; c < 16u; c++) {
        p->live.cell_100uv[c] = (uint16_t)(33000u + 10u * c);
    }
    p->lim.cvl_mv = 3450 * 16;
    p->lim.dvl_mv = 2900 * 16;
    p->lim.cvl_ceiling_mv = 3550 * 16;
    p->lim.ccl_ma = ccl_ma;
    p->lim.dcl_ma = dcl_ma;
    p->lim.cells = 16;
}

static tbms_err_t step_raw(size_t n, uint64_t now)
{
    for (size_t i = 0; i < n; i++) {
        if (!pk[i].silent) {
            pk[i].last_valid_us = now;
        }
        in[i].live = &pk[i].live;
        in[i].settings = &pk[i].set;
        in[i].limits = &pk[i].lim;
        in[i].temp = NULL;
        in[i].last_valid_us = pk[i].last_valid_us;
        in[i].timeout_us = timeout_us[i];
    }
    return bank_step(&bank, &cfg, in, n, now, &out);
}

static void step(size_t n, uint64_t now)
{
    assert_int_equal(step_raw(n, now), TBMS_OK);
}

static int setup(void **state)
{
    (void)state;
    bank_default_config(&cfg);
    cfg.max_charge_ma = 200000;
    cfg.max_discharge_ma = 400000;
    /* Targets are what these tests check; the ramp has its own test. */
    cfg.recovery_hold_us = 0;
    cfg.ramp_ma_per_s = 0;
    /* The issue's formula exactly; the guard (on by default) has its own tests. */
    cfg.incremental_guard = false;
    bank_init(&bank);
    memset(&out, 0, sizeof out);
    memset(in, 0, sizeof in);
    memset(timeout_us, 0, sizeof timeout_us);
    for (unsigned i = 0; i <= BANK_MAX_PACKS; i++) {
        pack_set(i, 40000, 80000, 20000, 100);
    }
    return 0;
}

/* The current each pack would take at the bank's CCL, by its measured
 * share of the bank current: never above its own limit. */
static void assert_no_pack_over_its_limit(size_t n)
{
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += pk[i].live.pack_ma;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t takes = (int64_t)out.limits.ccl_ma * pk[i].live.pack_ma / total;
        assert_true(takes <= pk[i].lim.ccl_ma);
    }
}

/* ---- configuration and bad input ---- */

static void test_bank_default_config_matches_the_spec(void **state)
{
    (void)state;
    bank_config_t c;
    bank_default_config(&c);
    assert_int_equal(c.min_packs, 1);
    assert_int_equal(c.rejoin_hold_us, 10u * S);
    assert_int_equal(c.max_charge_ma, 50000);
    assert_int_equal(c.max_discharge_ma, 100000);
    assert_true(c.small_current_split_pm > 1000u);
    assert_int_equal(bank_check_config(&c), TBMS_OK);
    bank_default_config(NULL); /* no crash */
    assert_int_equal(bank_check_config(NULL), TBMS_ERR_ARG);
    c.min_packs = 0;
    assert_int_equal(bank_check_config(&c), TBMS_ERR_RANGE);
    c.min_packs = BANK_MAX_PACKS + 1u;
    assert_int_equal(bank_check_config(&c), TBMS_ERR_RANGE);
    bank_default_config(&c);
    c.small_current_split_pm = 999;
    assert_int_equal(bank_check_config(&c), TBMS_ERR_RANGE);
    bank_default_config(&c);
    c.pack_timeout_us = 0;
    assert_int_equal(bank_check_config(&c), TBMS_ERR_RANGE);
    bank_default_config(&c);
    c.series_cells = 3;
    assert_int_equal(bank_check_config(&c), TBMS_ERR_RANGE);
    c.series_cells = 17;
    assert_int_equal(bank_check_config(&c), TBMS_ERR_RANGE);
    c.series_cells = 16;
    assert_int_equal(bank_check_config(&c), TBMS_OK);
}

static void test_bank_step_rejects_null_zero_and_too_many_packs(void **state)
{
    (void)state;
    step(2, T0);
    assert_true(out.valid);
    assert_int_equal(bank_step(NULL, &cfg, in, 2, T0, &out), TBMS_ERR_ARG);
    assert_false(out.valid);
    step(2, T0);
    assert_int_equal(bank_step(&bank, NULL, in, 2, T0, &out), TBMS_ERR_ARG);
    assert_false(out.valid);
    assert_int_equal(bank_step(&bank, &cfg, in, 2, T0, NULL), TBMS_ERR_ARG);
    assert_int_equal(bank_step(&bank, &cfg, NULL, 2, T0, &out), TBMS_ERR_ARG);
    assert_int_equal(bank_step(&bank, &cfg, in, 0, T0, &out), TBMS_ERR_ARG);
    assert_int_equal(bank_step(&bank, &cfg, NULL, 0, T0, &out), TBMS_ERR_ARG);
    assert_int_equal(step_raw(BANK_MAX_PACKS + 1u, T0), TBMS_ERR_RANGE);
    assert_false(out.valid);
    cfg.min_packs = 0;
    assert_int_equal(step_raw(2, T0), TBMS_ERR_RANGE);
    assert_false(out.valid);
    /* An error leaves the bank as it was: the next good step goes on. */
    cfg.min_packs = 1;
    step(2, T0 + 1u);
    assert_true(out.valid);
    assert_int_equal(out.pack[1].state, BANK_PACK_ONLINE);
    step(BANK_MAX_PACKS, T0 + 2u);
    assert_int_equal(out.n, BANK_MAX_PACKS);
}

static void test_bank_invalid_or_missing_inputs_make_a_pack_offline(void **state)
{
    (void)state;
    for (int k = 0; k < 8; k++) {
        setup(NULL);
        switch (k) {
        case 0:
            pk[1].live.valid = false;
            break;
        case 1:
            pk[1].set.valid = false;
            break;
        case 2:
            pk[1].lim.cells = 0;
            break;
        case 3:
            pk[1].set.series_cells = 3;
            break;
        case 4:
            pk[1].set.series_cells = 17;
            break;
        case 5:
            cfg.series_cells = 16;
            pk[1].set.series_cells = 15;
            break;
        case 6:
            pk[1].silent = true;
            pk[1].last_valid_us = T0 - 6u * S;
            break; /* stale */
        default:
            break;
        }
        if (k == 7) {
            /* NULL pointers */
            step(2, T0);
            in[1].live = NULL;
            assert_int_equal(bank_step(&bank, &cfg, in, 2, T0 + 1u, &out), TBMS_OK);
            assert_int_equal(out.pack[1].state, BANK_PACK_SILENT); /* a member: the grace */
            in[1].live = &pk[1].live;
            in[1].settings = NULL;
            assert_int_equal(bank_step(&bank, &cfg, in, 2, T0 + 2u, &out), TBMS_OK);
            assert_int_equal(out.pack[1].state, BANK_PACK_SILENT);
            in[1].settings = &pk[1].set;
            in[1].limits = NULL;
            assert_int_equal(bank_step(&bank, &cfg, in, 2, T0 + 3u, &out), TBMS_OK);
            assert_int_equal(out.pack[1].state, BANK_PACK_SILENT);
            continue;
        }
        step(2, T0);
        assert_true(out.valid);
        assert_int_equal(out.pack[0].state, BANK_PACK_ONLINE);
        assert_int_equal(out.pack[1].state, BANK_PACK_OFFLINE);
        assert_int_equal(out.modules.online, 1);
        assert_int_equal(out.modules.offline, 1);
        assert_true(out.warnings & BANK_WARN_PACK_OFFLINE);
        assert_int_equal(out.combined.ccl_ma, 40000); /* pack 1 alone */
    }
}

static void test_bank_pack_timeout_is_the_packs_own(void **state)
{
    (void)state;
    timeout_us[1] = 1u * (uint32_t)S;
    step(2, T0);
    pk[0].silent = true;
    pk[1].silent = true;
    step(2, T0 + S);
    assert_int_equal(out.pack[1].state, BANK_PACK_ONLINE);
    step(2, T0 + 2u * S);
    assert_int_equal(out.pack[0].state, BANK_PACK_ONLINE); /* 5 s of the bank's */
    assert_int_equal(out.pack[1].state, BANK_PACK_SILENT);
    /* A clock that goes back does not make a pack stale. */
    pk[0].silent = false;
    step(2, T0 + 3u * S);
    pk[0].silent = true; /* its last read stays at T0 + 3 s */
    step(2, T0 + 2u * S);
    assert_int_equal(out.pack[0].state, BANK_PACK_ONLINE);
}

static void test_bank_no_valid_pack_gives_an_invalid_bank(void **state)
{
    (void)state;
    pk[0].live.valid = false;
    pk[1].set.valid = false;
    step(2, T0);
    assert_false(out.valid);
    assert_int_equal(out.limits.ccl_ma, 0);
    assert_int_equal(out.limits.dcl_ma, 0);
    assert_int_equal(out.limits.cvl_mv, 0);
    assert_int_equal(out.modules.online, 0);
    assert_int_equal(out.modules.offline, 2);
}

/* ---- CCL / DCL ---- */

static void test_bank_equal_packs_get_the_sum_of_their_limits(void **state)
{
    (void)state;
    step(2, T0);
    assert_true(out.valid);
    assert_int_equal(out.combined.ccl_ma, 80000);
    assert_int_equal(out.ccl_bound, BANK_BOUND_SUM);
    assert_int_equal(out.limits.ccl_ma, 80000);
    assert_int_equal(out.pack[0].share_charge_pm, 500);
    assert_true(out.pack[0].share_charge_measured);
    /* Discharge: the bank is charging, so discharge shares are not
     * measurable: the assumed split, 1.5 x 1/2 = 750 per mille. */
    assert_int_equal(out.pack[0].share_discharge_pm, 750);
    assert_false(out.pack[0].share_discharge_measured);
    /* From -40 A (it charges), each pack takes <= 75 % of what is added. */
    assert_int_equal(out.combined.dcl_ma, -40000 + (80000 + 20000) * 1000 / 750);
    assert_int_equal(out.dcl_bound, BANK_BOUND_SHARE);
}

static void test_bank_keeps_each_pack_below_its_over_current_cutoff(void **state)
{
    (void)state;
    /* Own limits at the TinyBMS cutoffs themselves (reg 318 = 40 A, reg
     * 317 = 80 A): the bank counts 5 % less of each, as its share moves
     * between two reads. */
    for (unsigned i = 0; i < 2u; i++) {
        pk[i].set.charge_oc_a = 40;
        pk[i].set.discharge_oc_a = 80;
    }
    step(2, T0);
    assert_int_equal(out.combined.ccl_ma, 2 * 40000 * (1000 - BANK_OC_HEADROOM_PM) / 1000);
    /* A limit already below the cutoff's headroom is taken as it is. */
    pack_set(0, 30000, 60000, 20000, 100);
    pack_set(1, 30000, 60000, 20000, 100);
    for (unsigned i = 0; i < 2u; i++) {
        pk[i].set.charge_oc_a = 40;
    }
    step(2, T0 + 1000u);
    assert_int_equal(out.combined.ccl_ma, 60000);
}

static void test_bank_cap_bounds_the_bank(void **state)
{
    (void)state;
    cfg.max_charge_ma = 50000;
    step(2, T0);
    assert_int_equal(out.combined.ccl_ma, 50000);
    assert_int_equal(out.ccl_bound, BANK_BOUND_CAP);
}

static void test_bank_mismatched_packs_never_push_a_pack_over_its_limit(void **state)
{
    (void)state;
    /* multi-pack.md: 14.4 A total, one pack took 10.3 A against 7.2 A. */
    pack_set(0, 7200, 50000, 4100, 200);
    pack_set(1, 7200, 50000, 10300, 100);
    step(2, T0);
    assert_int_equal(out.ccl_bound, BANK_BOUND_SHARE);
    assert_int_equal(out.ccl_pack, 2);
    assert_int_equal(out.combined.ccl_ma, (int32_t)(7200ll * 14400 / 10300));
    assert_true(out.combined.ccl_ma < 2 * 7200); /* N x min would overload pack 2 */
    assert_no_pack_over_its_limit(2);

    /* Different capacities, limits and resistances, 2..4 packs. */
    static const int32_t lims[4][4] = {
        {80000, 40000, 20000, 60000},
        {10000, 90000, 30000, 30000},
        {50000, 50000, 5000, 70000},
        {1000, 2000, 3000, 4000},
    };
    static const int32_t cur[4][4] = {
        {30000, 30000, 10000, 5000},
        {8000, 1000, 16000, 16000},
        {20000, 5000, 9000, 900},
        {6000, 500, 2500, 1000},
    };
    for (size_t n = 2; n <= 8; n++) {
        for (unsigned k = 0; k < 4u; k++) {
            setup(NULL);
            cfg.incremental_guard = n > 4u; /* both ways */
            size_t np = n > 4u ? n - 4u : n;
            if (np < 2u) {
                continue;
            }
            for (unsigned i = 0; i < np; i++) {
                pack_set(i, lims[k][i], 100000, cur[k][i], (uint16_t)(100 + 50 * i));
            }
            step(np, T0);
            assert_true(out.combined.ccl_ma > 0);
            assert_no_pack_over_its_limit(np);
        }
    }
}

static void test_bank_small_current_assumes_an_unequal_split(void **state)
{
    (void)state;
    pack_set(0, 40000, 80000, 100, 100);
    pack_set(1, 40000, 80000, 900, 100); /* 1 A in total: below share_min_ma */
    step(2, T0);
    assert_false(out.pack[0].share_charge_measured);
    assert_int_equal(out.pack[0].share_charge_pm, 750);
    assert_int_equal(out.pack[1].share_charge_pm, 750);
    assert_int_equal(out.combined.ccl_ma, 1000 + (40000 - 900) * 1000 / 750);
    /* A stricter setting: a pack may take all of it. */
    cfg.small_current_split_pm = 2000;
    step(2, T0 + S);
    assert_int_equal(out.pack[0].share_charge_pm, 1000);
    assert_int_equal(out.combined.ccl_ma, 1000 + 40000 - 900);
    /* Nothing flowing: L / share, the issue's rule. */
    cfg.small_current_split_pm = 1500;
    pack_set(0, 40000, 80000, 0, 100);
    pack_set(1, 40000, 80000, 0, 100);
    step(2, T0 + 2u * S);
    assert_int_equal(out.combined.ccl_ma, 40000 * 1000 / 750);
    /* A pack measured at <= 0 while the bank charges is not measurable either. */
    cfg.small_current_split_pm = 1500;
    pack_set(0, 40000, 80000, -2000, 100);
    pack_set(1, 40000, 80000, 12000, 100);
    step(2, T0 + 3u * S);
    assert_false(out.pack[0].share_charge_measured);
    assert_true(out.pack[1].share_charge_measured);
    assert_int_equal(out.pack[1].share_charge_pm, 1200);
}

/* Two packs on one bus, split by Kirchhoff: I_i = (V - OCV_i) / R_i. */
static void kirchhoff(double total_a, const double ocv_v[2], const double r_ohm[2])
{
    double g = 1.0 / r_ohm[0] + 1.0 / r_ohm[1];
    double v = (total_a + ocv_v[0] / r_ohm[0] + ocv_v[1] / r_ohm[1]) / g;
    for (unsigned i = 0; i < 2u; i++) {
        pk[i].live.pack_ma = (int32_t)((v - ocv_v[i]) / r_ohm[i] * 1000.0);
        pk[i].live.pack_mv = (int32_t)(v * 1000.0);
    }
}

static void test_bank_mismatched_packs_on_one_bus_stay_under_their_limits(void **state)
{
    (void)state;
    /* Pack 1 emptier (lower open-circuit voltage) and of lower resistance:
     * at 0 A it is charged by pack 2 (10 A), then takes 2/3 of each added
     * ampere. Its own limit is 30 A. The charger always pushes the CCL. */
    const double ocv[2] = {53.0, 53.3};
    const double r[2] = {0.010, 0.020};
    pack_set(0, 30000, 80000, 0, 100);
    pack_set(1, 60000, 80000, 0, 100);
    cfg.recovery_hold_us = 30u * (uint32_t)S;
    cfg.ramp_ma_per_s = 5000;
    cfg.incremental_guard = true;
    double ccl_a = 0.0;
    for (unsigned t = 0; t < 300u; t++) {
        kirchhoff(ccl_a, ocv, r);
        step(2, T0 + t * S);
        ccl_a = out.limits.ccl_ma / 1000.0;
        kirchhoff(ccl_a, ocv, r); /* what each pack takes at that CCL */
        assert_true(pk[0].live.pack_ma <= 30000);
        assert_true(pk[1].live.pack_ma <= 60000);
    }
    /* Converged to where pack 1 is at its limit: 2/3 C + 10 A = 30 A. */
    assert_true(out.limits.ccl_ma >= 29000 && out.limits.ccl_ma <= 30000);
}

/* Pack 2 is the fuller one (higher open-circuit voltage) and derated to
 * 10 A: at 0 A it feeds pack 1 (8.3 A), and of every added ampere it takes
 * half (I_2 = 0.5 I - 8.3 A). A PV-limited charger gives 20 A for 100 s,
 * then is suddenly free (a cloud passes). Returns the largest overload of
 * pack 2, in mA. */
static int32_t pv_jump_overload(bool guard)
{
    const double ocv[2] = {53.0, 53.25};
    const double r[2] = {0.015, 0.015};
    pack_set(0, 60000, 80000, 0, 100);
    pack_set(1, 10000, 80000, 0, 100);
    cfg.recovery_hold_us = 30u * (uint32_t)S;
    cfg.ramp_ma_per_s = 5000;
    cfg.incremental_guard = guard;
    double c_a = 0.0;
    int32_t worst = 0;
    for (unsigned t = 0; t < 300u; t++) {
        kirchhoff(c_a, ocv, r);
        step(2, T0 + t * S);
        double ccl_a = out.limits.ccl_ma / 1000.0;
        double pv_a = t < 100u ? 20.0 : 1000.0;
        c_a = ccl_a < pv_a ? ccl_a : pv_a;
        kirchhoff(c_a, ocv, r);
        int32_t over = pk[1].live.pack_ma - 10000;
        worst = over > worst ? over : worst;
        assert_true(pk[0].live.pack_ma <= 60000);
    }
    return worst;
}

static void test_bank_guard_keeps_the_fullest_pack_safe_when_the_current_jumps(void **state)
{
    (void)state;
    assert_int_equal(pv_jump_overload(true), 0);
    /* Converged to where pack 2 is at its limit: 0.5 C - 8.33 A = 10 A. */
    assert_true(out.limits.ccl_ma >= 35700 && out.limits.ccl_ma <= 36700);
}

static void test_bank_without_the_guard_the_issue_rule_overloads_it(void **state)
{
    (void)state;
    /* L / share measured at 20 A (pack 2 takes 1.7 A of it) allows 120 A
     * for pack 2: when the charger is free it takes far more than 10 A. */
    assert_true(pv_jump_overload(false) > 10000);
}

static void test_bank_pack_blocking_charge_drops_ccl_in_one_call(void **state)
{
    (void)state;
    cfg.recovery_hold_us = 30u * (uint32_t)S; /* the real hold: decreases ignore it */
    cfg.ramp_ma_per_s = 5000;
    step(2, T0);
    assert_int_equal(out.limits.ccl_ma, 80000);
    /* The TinyBMS reports FAULT: its own limit is 0 and it conducts no
     * more; the other carries everything, from this call on. */
    pk[1].live.status = TBMS_STATUS_FAULT;
    pk[1].lim.ccl_ma = 0;
    step(2, T0 + S);
    assert_true(out.pack[1].blocks_charge);
    assert_false(out.pack[1].blocks_discharge); /* cause unknown: as charge.h */
    assert_int_equal(out.pack[0].share_charge_pm, 1000);
    assert_int_equal(out.limits.ccl_ma, 40000);
    assert_int_equal(out.modules.blocking_charge, 1);
    assert_true(out.warnings & BANK_WARN_PACK_BLOCKING);
    assert_int_equal(out.view.status, TBMS_STATUS_FAULT);
    /* Its own over-voltage alike. */
    setup(NULL);
    step(2, T0);
    pk[1].live.cell_max_mv = 3650;
    pk[1].lim.ccl_ma = 0;
    step(2, T0 + S);
    assert_true(out.pack[1].blocks_charge);
    assert_int_equal(out.limits.ccl_ma, 40000);
    /* Both blocking: no pack to charge. */
    pk[0].live.status = TBMS_STATUS_FAULT;
    step(2, T0 + 2u * S);
    assert_int_equal(out.limits.ccl_ma, 0);
    assert_int_equal(out.ccl_bound, BANK_BOUND_NO_PACK);
}

static void test_bank_pack_that_may_not_charge_but_conducts_zeroes_ccl(void **state)
{
    (void)state;
    /* A cold pack (CCL 0 from its own limits) has its switch closed: it
     * would take its share, so the bank must not charge at all. */
    pk[1].lim.ccl_ma = 0;
    pk[1].lim.reasons = CHG_REASON_CCL_LOW_TEMP;
    step(2, T0);
    assert_false(out.pack[1].blocks_charge);
    assert_int_equal(out.limits.ccl_ma, 0);
    assert_int_equal(out.ccl_bound, BANK_BOUND_SHARE);
    assert_int_equal(out.ccl_pack, 2);
}

static void test_bank_pack_blocking_discharge_drops_dcl_in_one_call(void **state)
{
    (void)state;
    pack_set(0, 40000, 80000, -20000, 100);
    pack_set(1, 40000, 80000, -20000, 100);
    step(2, T0);
    assert_int_equal(out.combined.dcl_ma, 160000);
    assert_int_equal(out.pack[0].share_discharge_pm, 500);
    pk[1].live.cell_min_mv = 2800; /* its own under-voltage cutoff */
    pk[1].lim.dcl_ma = 0;
    step(2, T0 + S);
    assert_true(out.pack[1].blocks_discharge);
    assert_int_equal(out.limits.dcl_ma, 80000);
    assert_int_equal(out.modules.blocking_discharge, 1);
    /* A FAULT whose cause stops discharging. */
    setup(NULL);
    pack_set(0, 40000, 80000, -20000, 100);
    pack_set(1, 40000, 80000, -20000, 100);
    pk[1].live.status = TBMS_STATUS_FAULT;
    pk[1].lim.reasons = CHG_REASON_BMS_FAULT | CHG_REASON_DCL_BMS_FAULT;
    pk[1].lim.dcl_ma = 0;
    pk[1].lim.ccl_ma = 0;
    step(2, T0);
    assert_true(out.pack[1].blocks_discharge);
    assert_int_equal(out.limits.dcl_ma, 80000);
}

static void test_bank_limits_fall_at_once_and_rise_after_hold_and_ramp(void **state)
{
    (void)state;
    cfg.recovery_hold_us = 30u * (uint32_t)S;
    cfg.ramp_ma_per_s = 5000;
    step(2, T0);
    pk[1].live.status = TBMS_STATUS_FAULT;
    step(2, T0 + S);
    assert_int_equal(out.limits.ccl_ma, 40000);
    pk[1].live.status = TBMS_STATUS_CHARGING;
    step(2, T0 + 2u * S);
    assert_int_equal(out.combined.ccl_ma, 80000);
    assert_int_equal(out.limits.ccl_ma, 40000); /* hold */
    step(2, T0 + 31u * S);
    assert_int_equal(out.limits.ccl_ma, 40000); /* hold just over */
    step(2, T0 + 33u * S);
    assert_int_equal(out.limits.ccl_ma, 50000); /* 2 s x 5 A/s */
    step(2, T0 + 60u * S);
    assert_int_equal(out.limits.ccl_ma, 80000);
}

/* ---- minimum packs ---- */

static void test_bank_below_min_packs_gives_zero_limits(void **state)
{
    (void)state;
    cfg.min_packs = 2;
    pk[1].live.valid = false;
    step(2, T0);
    assert_true(out.valid);
    assert_int_equal(out.limits.ccl_ma, 0);
    assert_int_equal(out.limits.dcl_ma, 0);
    assert_int_equal(out.ccl_bound, BANK_BOUND_MIN_PACKS);
    assert_int_equal(out.dcl_bound, BANK_BOUND_MIN_PACKS);
    assert_true(out.limits.cvl_mv > 0);
    pk[1].live.valid = true;
    step(2, T0 + S); /* a running bank: it waits for the hold */
    assert_int_equal(out.pack[1].state, BANK_PACK_JOINING);
    assert_int_equal(out.limits.ccl_ma, 0);
    step(2, T0 + 11u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_ONLINE);
    assert_int_equal(out.limits.ccl_ma, 80000);
}

/* ---- silent packs ---- */

static void test_bank_silent_pack_warns_then_limits_follow_the_others(void **state)
{
    (void)state;
    pk[1].lim.cvl_mv = 3400 * 16; /* its own, lower CVL */
    step(2, T0);
    assert_int_equal(out.combined.ccl_ma, 80000);
    assert_int_equal(out.limits.cvl_mv, 3400 * 16);
    pk[1].silent = true; /* last valid read at T0 */
    step(2, T0 + 4u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_ONLINE); /* within its timeout */
    step(2, T0 + 6u * S);
    /* Silent: a warning, the others carry on with its last values. */
    assert_true(out.valid);
    assert_int_equal(out.pack[1].state, BANK_PACK_SILENT);
    assert_true(out.warnings & BANK_WARN_PACK_SILENT);
    assert_true(out.warnings & BANK_WARN_PACK_OFFLINE);
    assert_int_equal(out.modules.online, 1);
    assert_int_equal(out.modules.offline, 1);
    assert_int_equal(out.combined.ccl_ma, 80000);
    assert_int_equal(out.pack[0].share_charge_pm, 500); /* of a bank that includes it */
    step(2, T0 + 15u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_SILENT);
    step(2, T0 + 16u * S); /* grace of 10 s since it was seen silent */
    assert_int_equal(out.pack[1].state, BANK_PACK_OFFLINE);
    /* What the remaining pack allows: its share is measured over the fresh
     * packs, so it may take all of it. */
    assert_int_equal(out.pack[0].share_charge_pm, 1000);
    assert_int_equal(out.combined.ccl_ma, 40000);
    assert_int_equal(out.limits.ccl_ma, 40000);
    /* Still connected: its CVL still bounds the bank. */
    assert_int_equal(out.limits.cvl_mv, 3400 * 16);
    /* The reported values are the online pack's. */
    assert_int_equal(out.online_capacity_ah, 100);
    assert_int_equal(out.capacity_ah, 200);
}

static void test_bank_silent_pack_near_a_cutoff_is_dropped_at_once(void **state)
{
    (void)state;
    pk[1].live.cell_max_mv = 3560; /* 90 mV under its 3650 mV cutoff */
    step(2, T0);
    assert_true(out.pack[1].near_cutoff);
    assert_int_equal(out.combined.ccl_ma, 80000);
    pk[1].silent = true;
    step(2, T0 + 6u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_OFFLINE);
    assert_int_equal(out.combined.ccl_ma, 40000);
    /* Near the under-voltage cutoff alike. */
    setup(NULL);
    pk[1].live.cell_min_mv = 2890;
    step(2, T0);
    pk[1].silent = true;
    step(2, T0 + 6u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_OFFLINE);
}

static void test_bank_zero_grace_drops_a_silent_pack_at_once(void **state)
{
    (void)state;
    cfg.offline_grace_us = 0;
    step(2, T0);
    pk[1].silent = true;
    step(2, T0 + 6u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_OFFLINE);
    assert_int_equal(out.combined.ccl_ma, 40000);
}

static void test_bank_silent_pack_back_within_the_grace_stays_a_member(void **state)
{
    (void)state;
    step(2, T0);
    pk[1].silent = true;
    step(2, T0 + 6u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_SILENT);
    pk[1].silent = false;
    step(2, T0 + 7u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_ONLINE);
    assert_int_equal(out.combined.ccl_ma, 80000);
}

static void test_bank_no_pack_online_is_not_valid(void **state)
{
    (void)state;
    step(2, T0);
    pk[0].silent = true;
    pk[1].silent = true;
    step(2, T0 + 6u * S);
    assert_false(out.valid); /* silent members are not online */
    assert_int_equal(out.limits.ccl_ma, 0);
    assert_int_equal(out.modules.online, 0);
    assert_int_equal(out.modules.offline, 2);
    step(2, T0 + 30u * S);
    assert_false(out.valid);
    assert_int_equal(out.pack[0].state, BANK_PACK_OFFLINE);
    /* A pack back after a total loss: no bank to wait for, it joins at once. */
    pk[0].silent = false;
    step(2, T0 + 31u * S);
    assert_true(out.valid);
    assert_int_equal(out.pack[0].state, BANK_PACK_ONLINE);
}

/* ---- rejoin ---- */

static void drop_pack_2(void)
{
    step(2, T0);
    pk[1].silent = true;
    step(2, T0 + 6u * S);
    step(2, T0 + 16u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_OFFLINE);
    pk[1].silent = false;
}

static void test_bank_pack_rejoins_only_after_the_hold(void **state)
{
    (void)state;
    drop_pack_2();
    step(2, T0 + 20u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_JOINING);
    assert_false(out.pack[1].member);
    assert_int_equal(out.modules.online, 1);
    assert_int_equal(out.combined.ccl_ma, 40000);
    step(2, T0 + 29u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_JOINING);
    step(2, T0 + 30u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_ONLINE);
    assert_int_equal(out.combined.ccl_ma, 80000);
    assert_int_equal(out.modules.online, 2);
}

static void test_bank_joining_pack_restarts_its_hold_when_it_drops_again(void **state)
{
    (void)state;
    drop_pack_2();
    step(2, T0 + 20u * S);
    pk[1].live.valid = false;
    step(2, T0 + 25u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_OFFLINE);
    pk[1].live.valid = true;
    step(2, T0 + 26u * S);
    step(2, T0 + 30u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_JOINING);
    step(2, T0 + 36u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_ONLINE);
}

static void test_bank_pack_rejoins_only_inside_the_voltage_window(void **state)
{
    (void)state;
    drop_pack_2();
    /* Woke up emptier: 1 V below the bank, window 50 mV x 16 = 0.8 V. */
    pk[1].live.pack_mv = 52000;
    pk[1].live.soc_cpct = 2000;
    step(2, T0 + 20u * S);
    step(2, T0 + 40u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_JOINING);
    assert_true(out.warnings & BANK_WARN_VOLTAGE_MISMATCH);
    assert_int_equal(out.soc_cpct, 5000); /* not counted */
    pk[1].live.pack_mv = 52300;           /* 0.7 V: inside */
    step(2, T0 + 41u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_ONLINE);
    assert_false(out.warnings & BANK_WARN_VOLTAGE_MISMATCH);
}

static void test_bank_joining_pack_still_bounds_the_limit(void **state)
{
    (void)state;
    drop_pack_2();
    /* Not counted, but connected and measured: it takes 90 % of the current. */
    pack_set(0, 40000, 80000, 2000, 100);
    pack_set(1, 10000, 80000, 18000, 100);
    step(2, T0 + 20u * S);
    assert_int_equal(out.pack[1].state, BANK_PACK_JOINING);
    assert_int_equal(out.ccl_bound, BANK_BOUND_SHARE);
    assert_int_equal(out.ccl_pack, 2);
    assert_int_equal(out.combined.ccl_ma, 10000 * 20000 / 18000);
}

static void test_bank_packs_at_start_up_join_at_once(void **state)
{
    (void)state;
    step(3, T0);
    assert_int_equal(out.pack[0].state, BANK_PACK_ONLINE);
    assert_int_equal(out.pack[1].state, BANK_PACK_ONLINE);
    assert_int_equal(out.pack[2].state, BANK_PACK_ONLINE);
    assert_int_equal(out.warnings, 0);
    /* Unless one disagrees with the middle one. */
    setup(NULL);
    pk[2].live.pack_mv = 55000;
    step(3, T0);
    assert_int_equal(out.pack[2].state, BANK_PACK_JOINING);
    assert_int_equal(out.modules.online, 2);
}

/* ---- reported values ---- */

static void test_bank_reported_values_combine_the_members(void **state)
{
    (void)state;
    pack_set(0, 40000, 80000, 10000, 100);
    pack_set(1, 40000, 80000, 20000, 200);
    pack_set(2, 40000, 80000, -5000, 100);
    pk[0].live.pack_mv = 53000;
    pk[1].live.pack_mv = 53300;
    pk[2].live.pack_mv = 52800;
    pk[0].live.soc_cpct = 5000;
    pk[1].live.soc_cpct = 8000;
    pk[2].live.soc_cpct = 2000;
    pk[0].live.soh_valid = true;
    pk[0].live.soh_cpct = 9000;
    pk[1].live.soh_valid = true;
    pk[1].live.soh_cpct = 10000;
    /* Pack 2 cell 13 highest, pack 3 cell 1 lowest. */
    pk[1].live.cell_max_mv = 3390;
    pk[1].live.cell_100uv[12] = 33900;
    pk[2].live.cell_min_mv = 3210;
    pk[2].live.cell_100uv[0] = 32100;
    /* Pack 1 T2 hottest, pack 3's board sensor coldest. */
    pk[0].live.ext_temp_present[1] = true;
    pk[0].live.ext_temp_dc[1] = 310;
    pk[2].live.ext_temp_present[0] = false;
    pk[2].live.internal_temp_present = true;
    pk[2].live.internal_temp_dc = 120;
    in[0].charged_mwh = 1000;
    in[1].charged_mwh = 2000;
    in[2].discharged_mwh = 500;
    step(3, T0);
    assert_true(out.valid);
    assert_int_equal(out.voltage_mv, 53000); /* median */
    assert_int_equal(out.current_ma, 25000); /* sum */
    /* (50 x 100 + 80 x 200 + 20 x 100) / 400 = 57.5 % */
    assert_int_equal(out.soc_cpct, 5750);
    /* SOH over the packs that report one: (90 x 100 + 100 x 200) / 300 */
    assert_true(out.soh_valid);
    assert_int_equal(out.soh_cpct, 9667);
    assert_true(out.cells_known);
    assert_int_equal(out.cell_max_mv, 3390);
    assert_string_equal(out.cell_max_id, "P2C13");
    assert_int_equal(out.cell_min_mv, 3210);
    assert_string_equal(out.cell_min_id, "P3C1");
    assert_true(out.temp_usable);
    assert_int_equal(out.temp_max_dc, 310);
    assert_string_equal(out.temp_max_id, "P1T2");
    assert_int_equal(out.temp_min_dc, 120);
    assert_string_equal(out.temp_min_id, "P3INT");
    assert_int_equal(out.temp_dc, 310);
    assert_int_equal(out.capacity_ah, 400);
    assert_int_equal(out.online_capacity_ah, 400);
    assert_int_equal(out.charged_mwh, 3000);
    assert_int_equal(out.discharged_mwh, 500);
    assert_int_equal(out.modules.online, 3);
    assert_int_equal(out.modules.offline, 0);
    /* The view: the bank as one pack. */
    assert_true(out.view.valid);
    assert_int_equal(out.view.pack_mv, 53000);
    assert_int_equal(out.view.pack_ma, 25000);
    assert_int_equal(out.view.cell_max_mv, 3390);
    assert_int_equal(out.view.cell_min_mv, 3210);
    assert_int_equal(out.view.cell_count, 16);
    assert_int_equal(out.view_settings.series_cells, 16);
    assert_int_equal(out.view_settings.over_voltage_mv, 3650);
    /* Even count: the mean of the middle two. */
    step(2, T0 + S);
    assert_int_equal(out.voltage_mv, 53150);
    assert_int_equal(out.soc_cpct, 7000); /* (50 x 100 + 80 x 200) / 300 */
}

static void test_bank_soc_is_a_plain_mean_without_capacities(void **state)
{
    (void)state;
    pack_set(0, 40000, 80000, 10000, 0);
    pack_set(1, 40000, 80000, 10000, 0);
    pk[0].live.soc_cpct = 4000;
    pk[1].live.soc_cpct = 6000;
    step(2, T0);
    assert_int_equal(out.soc_cpct, 5000);
    assert_false(out.soh_valid);
}

static void test_bank_module_counts_online_blocking_offline(void **state)
{
    (void)state;
    pk[1].live.status = TBMS_STATUS_FAULT;
    pk[2].live.cell_min_mv = 2700;
    pk[3].live.valid = false;
    step(4, T0);
    assert_int_equal(out.modules.online, 3);
    assert_int_equal(out.modules.blocking_charge, 1);
    assert_int_equal(out.modules.blocking_discharge, 1);
    assert_int_equal(out.modules.offline, 1);
    assert_string_equal(bank_pack_state_name(out.pack[3].state), "offline");
}

static void test_bank_cvl_is_the_lowest_with_protection_from_the_highest_cell(void **state)
{
    (void)state;
    pk[0].lim.cvl_mv = 3450 * 16;
    pk[1].lim.cvl_mv = 3420 * 16;
    step(2, T0);
    assert_int_equal(out.combined.cvl_mv, 3420 * 16);
    assert_int_equal(out.limits.cvl_mv, 3420 * 16);
    assert_int_equal(out.combined.dvl_mv, 2900 * 16);
    /* One cell of pack 1 above the protection threshold (cvl.h). */
    pk[0].live.cell_max_mv = 3560;
    step(2, T0 + S);
    assert_true(out.limits.cvl_mv < 3420 * 16);
    assert_true(bank.cvl.protection_active);
}

static void test_bank_cell_count_mismatch_warns(void **state)
{
    (void)state;
    pk[1].set.series_cells = 15;
    step(2, T0);
    assert_true(out.warnings & BANK_WARN_CELLS_MISMATCH);
    assert_int_equal(out.view.cell_count, 16);
}

static void test_bank_names(void **state)
{
    (void)state;
    assert_string_equal(bank_pack_state_name(BANK_PACK_ONLINE), "online");
    assert_string_equal(bank_pack_state_name(BANK_PACK_JOINING), "joining");
    assert_string_equal(bank_pack_state_name(BANK_PACK_SILENT), "silent");
    assert_string_equal(bank_pack_state_name((bank_pack_state_t)99), "?");
    assert_string_equal(bank_bound_name(BANK_BOUND_SHARE), "share");
    assert_string_equal(bank_bound_name(BANK_BOUND_MIN_PACKS), "min_packs");
    assert_string_equal(bank_bound_name((bank_bound_t)99), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_bank_default_config_matches_the_spec, setup),
        cmocka_unit_test_setup(test_bank_step_rejects_null_zero_and_too_many_packs, setup),
        cmocka_unit_test_setup(test_bank_invalid_or_missing_inputs_make_a_pack_offline, setup),
        cmocka_unit_test_setup(test_bank_pack_timeout_is_the_packs_own, setup),
        cmocka_unit_test_setup(test_bank_no_valid_pack_gives_an_invalid_bank, setup),
        cmocka_unit_test_setup(test_bank_equal_packs_get_the_sum_of_their_limits, setup),
        cmocka_unit_test_setup(test_bank_keeps_each_pack_below_its_over_current_cutoff, setup),
        cmocka_unit_test_setup(test_bank_cap_bounds_the_bank, setup),
        cmocka_unit_test_setup(test_bank_mismatched_packs_never_push_a_pack_over_its_limit, setup),
        cmocka_unit_test_setup(test_bank_small_current_assumes_an_unequal_split, setup),
        cmocka_unit_test_setup(test_bank_mismatched_packs_on_one_bus_stay_under_their_limits,
                               setup),
        cmocka_unit_test_setup(test_bank_guard_keeps_the_fullest_pack_safe_when_the_current_jumps,
                               setup),
        cmocka_unit_test_setup(test_bank_without_the_guard_the_issue_rule_overloads_it, setup),
        cmocka_unit_test_setup(test_bank_pack_blocking_charge_drops_ccl_in_one_call, setup),
        cmocka_unit_test_setup(test_bank_pack_that_may_not_charge_but_conducts_zeroes_ccl, setup),
        cmocka_unit_test_setup(test_bank_pack_blocking_discharge_drops_dcl_in_one_call, setup),
        cmocka_unit_test_setup(test_bank_limits_fall_at_once_and_rise_after_hold_and_ramp, setup),
        cmocka_unit_test_setup(test_bank_below_min_packs_gives_zero_limits, setup),
        cmocka_unit_test_setup(test_bank_silent_pack_warns_then_limits_follow_the_others, setup),
        cmocka_unit_test_setup(test_bank_silent_pack_near_a_cutoff_is_dropped_at_once, setup),
        cmocka_unit_test_setup(test_bank_zero_grace_drops_a_silent_pack_at_once, setup),
        cmocka_unit_test_setup(test_bank_silent_pack_back_within_the_grace_stays_a_member, setup),
        cmocka_unit_test_setup(test_bank_no_pack_online_is_not_valid, setup),
        cmocka_unit_test_setup(test_bank_pack_rejoins_only_after_the_hold, setup),
        cmocka_unit_test_setup(test_bank_joining_pack_restarts_its_hold_when_it_drops_again, setup),
        cmocka_unit_test_setup(test_bank_pack_rejoins_only_inside_the_voltage_window, setup),
        cmocka_unit_test_setup(test_bank_joining_pack_still_bounds_the_limit, setup),
        cmocka_unit_test_setup(test_bank_packs_at_start_up_join_at_once, setup),
        cmocka_unit_test_setup(test_bank_reported_values_combine_the_members, setup),
        cmocka_unit_test_setup(test_bank_soc_is_a_plain_mean_without_capacities, setup),
        cmocka_unit_test_setup(test_bank_module_counts_online_blocking_offline, setup),
        cmocka_unit_test_setup(test_bank_cvl_is_the_lowest_with_protection_from_the_highest_cell,
                               setup),
        cmocka_unit_test_setup(test_bank_cell_count_mismatch_warns, setup),
        cmocka_unit_test_setup(test_bank_names, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
