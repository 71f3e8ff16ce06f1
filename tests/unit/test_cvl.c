/*
 * Black-box tests of cvl.h: every transition of the CVL state machine and
 * its edges (SOC oscillating around each threshold, imbalance hold and
 * release, sustain, disabled mode, missing inputs, the BMS cutoff, the
 * protection and the recovery ramp).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cvl.h"
#include "fixture_pack.h"

#define S 1000000ull

static cvl_config_t cfg;
static cvl_state_machine_t sm;
static tbms_live_t live;
static chg_limits_t base;
static chg_limits_t out;
static uint64_t now;

static int setup(void **state)
{
    (void)state;
    cvl_default_config(&cfg);
    cfg.update_interval_us = 0; /* evaluate on every call unless a test says otherwise */
    cvl_init(&sm);
    fixture_live(&live);
    live.ext_temp_present[0] = false; /* the CVL machine does not look at temperatures */
    live.pack_ma = 20000;
    live.soc_cpct = 5000;
    memset(&base, 0, sizeof base);
    base.cvl_mv = 55200; /* 16 x 3450 */
    base.ccl_ma = 50000;
    base.dcl_ma = 100000;
    base.dvl_mv = 46400;
    base.cvl_ceiling_mv = 56800; /* 16 x (3650 - 100) */
    base.cells = 16;
    now = 0;
    return 0;
}

static void step_soc(uint16_t soc_cpct)
{
    live.soc_cpct = soc_cpct;
    now += S;
    assert_true(cvl_step(&sm, &cfg, &live, NULL, &base, now, &out));
}

static void test_cvl_first_step_picks_the_state_without_counting_a_change(void **state)
{
    (void)state;
    step_soc(9600);
    assert_int_equal(sm.state, CVL_STATE_FLOAT_APPROACH);
    assert_int_equal(sm.changes, 0);
    assert_int_equal(out.cvl_mv, 55150);
}

static void test_cvl_bulk_uses_the_per_cell_target_not_the_alarm_threshold(void **state)
{
    (void)state;
    step_soc(5000);
    assert_int_equal(sm.state, CVL_STATE_BULK);
    assert_int_equal(out.cvl_mv, 55200);
    assert_int_equal(out.ccl_ma, 50000);
    assert_int_equal(out.dcl_ma, 100000);
    assert_string_equal(cvl_state_name(sm.state), "BULK");
}

static void test_cvl_rises_through_every_soc_state(void **state)
{
    (void)state;
    step_soc(8999);
    assert_int_equal(sm.state, CVL_STATE_BULK);
    step_soc(9000);
    assert_int_equal(sm.state, CVL_STATE_TRANSITION);
    assert_int_equal(out.cvl_mv, 55200);
    step_soc(9500);
    assert_int_equal(sm.state, CVL_STATE_FLOAT_APPROACH);
    assert_int_equal(out.cvl_mv, 55150);
    step_soc(9800);
    assert_int_equal(sm.state, CVL_STATE_FLOAT);
    assert_int_equal(out.cvl_mv, 55100);
    assert_int_equal(out.ccl_ma, 5000); /* minimum_ccl_in_float_a caps CCL */
    assert_int_equal(out.dcl_ma, 100000);
    assert_int_equal(sm.changes, 3);
    assert_int_equal(sm.prev_state, CVL_STATE_FLOAT_APPROACH);
}

static void oscillate(uint16_t below, uint16_t at, cvl_state_t expect)
{
    for (int i = 0; i < 50; i++) {
        step_soc(i % 2 ? below : at);
        assert_int_equal(sm.state, expect);
    }
}

static void test_cvl_soc_oscillating_around_bulk_threshold_changes_once(void **state)
{
    (void)state;
    step_soc(8900);
    step_soc(9000);
    uint32_t c = sm.changes;
    oscillate(8999, 9000, CVL_STATE_TRANSITION);
    assert_int_equal(sm.changes, c);
    step_soc(8901); /* within the 1 % hysteresis */
    assert_int_equal(sm.state, CVL_STATE_TRANSITION);
    step_soc(8899); /* below 90 - 1 */
    assert_int_equal(sm.state, CVL_STATE_BULK);
}

static void test_cvl_soc_oscillating_around_transition_threshold_changes_once(void **state)
{
    (void)state;
    step_soc(9400);
    step_soc(9500);
    uint32_t c = sm.changes;
    oscillate(9499, 9500, CVL_STATE_FLOAT_APPROACH);
    assert_int_equal(sm.changes, c);
    step_soc(9399);
    assert_int_equal(sm.state, CVL_STATE_TRANSITION);
}

static void test_cvl_float_is_kept_down_to_float_exit_soc(void **state)
{
    (void)state;
    step_soc(9700);
    step_soc(9800);
    uint32_t c = sm.changes;
    oscillate(9799, 9800, CVL_STATE_FLOAT);
    step_soc(9500);
    assert_int_equal(sm.state, CVL_STATE_FLOAT);
    assert_int_equal(sm.changes, c);
    step_soc(9499); /* below float_exit_soc: back by thresholds (seed 3.4 step 5) */
    assert_int_equal(sm.state, CVL_STATE_TRANSITION);
    assert_int_equal(out.cvl_mv, 55200);
}

static void test_cvl_without_hysteresis_makes_the_seed_decision(void **state)
{
    (void)state;
    cfg.soc_hysteresis_cpct = 0;
    step_soc(9500);
    assert_int_equal(sm.state, CVL_STATE_FLOAT_APPROACH);
    step_soc(9499);
    assert_int_equal(sm.state, CVL_STATE_TRANSITION);
    step_soc(8999);
    assert_int_equal(sm.state, CVL_STATE_BULK);
}

static void test_cvl_imbalance_hold_enters_above_threshold_strictly(void **state)
{
    (void)state;
    step_soc(9000);
    live.cell_max_mv = (uint16_t)(live.cell_min_mv + 100);
    step_soc(9000);
    assert_int_equal(sm.state, CVL_STATE_TRANSITION);
    live.cell_max_mv = (uint16_t)(live.cell_min_mv + 150);
    step_soc(9000);
    assert_int_equal(sm.state, CVL_STATE_IMBALANCE_HOLD);
    /* drop = (150 - 100) mV x 0.5 mV/mV = 25 mV */
    assert_int_equal(out.cvl_mv, 55175);
    assert_int_equal(out.ccl_ma, 5000);
}

static void test_cvl_imbalance_hold_releases_at_release_threshold(void **state)
{
    (void)state;
    live.cell_max_mv = (uint16_t)(live.cell_min_mv + 120);
    step_soc(5000);
    assert_int_equal(sm.state, CVL_STATE_IMBALANCE_HOLD);
    live.cell_max_mv = (uint16_t)(live.cell_min_mv + 51);
    step_soc(5000);
    assert_int_equal(sm.state, CVL_STATE_IMBALANCE_HOLD);
    assert_int_equal(out.cvl_mv, 55200); /* no drop below the hold threshold, CCL still capped */
    assert_int_equal(out.ccl_ma, 5000);
    live.cell_max_mv = (uint16_t)(live.cell_min_mv + 50);
    step_soc(5000);
    assert_int_equal(sm.state, CVL_STATE_BULK);
    assert_int_equal(out.ccl_ma, 50000);
}

static void test_cvl_imbalance_drop_is_capped_and_floored(void **state)
{
    (void)state;
    cfg.imbalance_drop_uv_per_mv = 100000; /* 0.1 V per mV */
    cfg.imbalance_drop_max_mv = 2000;
    live.cell_min_mv = 3000; /* highest cell stays below the protection */
    live.cell_max_mv = (uint16_t)(live.cell_min_mv + 110);
    step_soc(5000);
    assert_int_equal(out.cvl_mv, 55200 - 1000);
    live.cell_max_mv = (uint16_t)(live.cell_min_mv + 400);
    step_soc(5000);
    assert_int_equal(out.cvl_mv, 55200 - 2000);
    cfg.imbalance_drop_max_mv = 10000;
    step_soc(5000);
    assert_int_equal(out.cvl_mv, 51200); /* cell_min_float 3200 x 16 */
}

static void test_cvl_imbalance_unknown_neither_enters_nor_releases(void **state)
{
    (void)state;
    live.cell_count = 1; /* no difference can be measured */
    live.cell_max_mv = 3500;
    step_soc(5000);
    assert_int_equal(sm.state, CVL_STATE_BULK);
    live.cell_count = 16;
    step_soc(5000);
    assert_int_equal(sm.state, CVL_STATE_IMBALANCE_HOLD);
    live.cell_count = 0;
    live.cell_max_mv = 3320;
    step_soc(5000);
    assert_int_equal(sm.state, CVL_STATE_IMBALANCE_HOLD);
}

static void test_cvl_sustain_entry_and_exit_with_hysteresis(void **state)
{
    (void)state;
    step_soc(501);
    assert_int_equal(sm.state, CVL_STATE_BULK);
    step_soc(500);
    assert_int_equal(sm.state, CVL_STATE_SUSTAIN);
    /* max(3125 x 16, 3200 x 16): the seed's floor wins (kept, see docs) */
    assert_int_equal(out.cvl_mv, 51200);
    assert_int_equal(out.ccl_ma, 5000);
    assert_int_equal(out.dcl_ma, 5000);
    oscillate(500, 799, CVL_STATE_SUSTAIN);
    step_soc(800);
    assert_int_equal(sm.state, CVL_STATE_BULK);
    assert_int_equal(out.dcl_ma, 100000);
}

static void test_cvl_sustain_wins_over_imbalance_and_needs_exit_above_entry(void **state)
{
    (void)state;
    live.cell_max_mv = (uint16_t)(live.cell_min_mv + 300);
    step_soc(300);
    assert_int_equal(sm.state, CVL_STATE_SUSTAIN);
    cvl_init(&sm);
    cfg.sustain_exit_cpct = cfg.sustain_entry_cpct; /* unsupported: never SUSTAIN */
    live.cell_max_mv = 3320;
    step_soc(100);
    assert_int_equal(sm.state, CVL_STATE_BULK);
}

static void test_cvl_zero_caps_never_make_a_current_zero(void **state)
{
    (void)state;
    cfg.sustain_ccl_ma = 0;
    cfg.sustain_dcl_ma = 0;
    step_soc(100);
    assert_int_equal(sm.state, CVL_STATE_SUSTAIN);
    assert_int_equal(out.ccl_ma, 50000);
    assert_int_equal(out.dcl_ma, 100000);
    cfg.float_ccl_max_ma = 0;
    step_soc(9900);
    assert_int_equal(sm.state, CVL_STATE_FLOAT);
    assert_int_equal(out.ccl_ma, 50000);
}

static void test_cvl_disabled_sends_the_target_without_caps(void **state)
{
    (void)state;
    cfg.enabled = false;
    live.cell_max_mv = 3600;
    step_soc(9900);
    assert_int_equal(sm.state, CVL_STATE_BULK);
    assert_int_equal(out.cvl_mv, 55200);
    assert_int_equal(out.ccl_ma, 50000);
    step_soc(100);
    assert_int_equal(sm.state, CVL_STATE_BULK);
    assert_int_equal(out.dcl_ma, 100000);
    assert_false(sm.protection_active);
}

static void test_cvl_rejects_missing_or_invalid_inputs(void **state)
{
    (void)state;
    live.valid = false;
    assert_false(cvl_step(&sm, &cfg, &live, NULL, &base, 0, &out));
    assert_int_equal(out.cvl_mv, base.cvl_mv); /* out = base */
    live.valid = true;
    assert_false(cvl_step(NULL, &cfg, &live, NULL, &base, 0, &out));
    assert_false(cvl_step(&sm, NULL, &live, NULL, &base, 0, &out));
    assert_false(cvl_step(&sm, &cfg, &live, NULL, NULL, 0, &out));
    assert_false(cvl_step(&sm, &cfg, &live, NULL, &base, 0, NULL));
    base.cells = 0;
    assert_false(cvl_step(&sm, &cfg, &live, NULL, &base, 0, &out));
    assert_false(sm.started);
    assert_string_equal(cvl_state_name((cvl_state_t)42), "UNKNOWN");
    assert_string_equal(cvl_state_name(CVL_STATE_SUSTAIN), "SUSTAIN");
}

static void test_cvl_configured_target_never_exceeds_the_bms_cutoff(void **state)
{
    (void)state;
    cfg.bulk_target_mv = 58400; /* the seed's: the over-voltage alarm threshold */
    step_soc(5000);
    assert_int_equal(out.cvl_mv, 56800);
    assert_true(sm.reasons & CVL_REASON_TARGET_CAPPED);
    cvl_init(&sm);
    cfg.bulk_target_mv = 54400;
    step_soc(5000);
    assert_int_equal(out.cvl_mv, 54400);
    assert_false(sm.reasons & CVL_REASON_TARGET_CAPPED);
}

static void test_cvl_never_above_the_ceiling_even_at_the_floor(void **state)
{
    (void)state;
    base.cvl_ceiling_mv = 50000; /* a BMS cutoff below cell_min_float x N */
    base.cvl_mv = 50000;
    step_soc(100); /* SUSTAIN would ask 51200 */
    assert_int_equal(out.cvl_mv, 50000);
    live.cell_max_mv = 3600;
    step_soc(5000);
    assert_true(out.cvl_mv <= 50000);
}

static void test_cvl_cell_mismatch_takes_the_lower_cell_count(void **state)
{
    (void)state;
    cfg.series_cells = 15;
    step_soc(5000);
    assert_int_equal(out.cvl_mv, 3450 * 15);
    assert_true(sm.reasons & CVL_REASON_CELLS_MISMATCH);
}

static void test_cvl_protection_engages_lowers_and_releases_with_hysteresis(void **state)
{
    (void)state;
    live.pack_ma = 0;
    live.cell_min_mv = 3460; /* balanced: no imbalance hold */
    live.cell_max_mv = 3499;
    step_soc(5000);
    assert_false(sm.protection_active);
    live.cell_max_mv = 3500;
    step_soc(5000);
    assert_true(sm.protection_active);
    assert_int_equal(out.cvl_mv, 55200); /* delta 0: no drop yet */
    live.cell_max_mv = 3530; /* 56800 - 30 x 120 = 53200 */
    step_soc(5000);
    assert_int_equal(out.cvl_mv, 53200);
    assert_true(sm.reasons & CVL_REASON_PROTECTION);
    live.pack_ma = -50000; /* discharging: no current factor */
    step_soc(5000);
    assert_int_equal(out.cvl_mv, 53200);
    live.pack_ma = 157000; /* nominal: gain doubled, 56800 - 7200 */
    step_soc(5000);
    assert_int_equal(out.cvl_mv, 49600 > 51200 ? 49600 : 51200);
    live.cell_max_mv = 3471;
    step_soc(5000);
    assert_true(sm.protection_active);
    live.cell_max_mv = 3470;
    step_soc(5000);
    assert_false(sm.protection_active);
}

static void test_cvl_falls_at_once_and_rises_by_the_recovery_step(void **state)
{
    (void)state;
    cfg.update_interval_us = 20 * S;
    live.pack_ma = 0;
    live.cell_min_mv = 3500;
    live.cell_max_mv = 3540; /* 56800 - 40 x 120 = 52000 */
    assert_true(cvl_step(&sm, &cfg, &live, NULL, &base, 0, &out));
    assert_int_equal(out.cvl_mv, 52000);
    live.cell_max_mv = 3545; /* falls at once, between evaluations */
    assert_true(cvl_step(&sm, &cfg, &live, NULL, &base, 1 * S, &out));
    assert_int_equal(out.cvl_mv, 51400);
    live.cell_min_mv = 3380;
    live.cell_max_mv = 3400; /* released; target back to 55200 */
    assert_true(cvl_step(&sm, &cfg, &live, NULL, &base, 2 * S, &out));
    assert_int_equal(out.cvl_mv, 51400); /* no rise before the next evaluation */
    assert_true(cvl_step(&sm, &cfg, &live, NULL, &base, 20 * S, &out));
    assert_int_equal(out.cvl_mv, 51800);
    assert_true(sm.reasons & CVL_REASON_RAMPING);
    assert_true(cvl_step(&sm, &cfg, &live, NULL, &base, 30 * S, &out));
    assert_int_equal(out.cvl_mv, 51800);
    uint64_t t = 40 * S;
    for (int i = 0; i < 20; i++, t += 20 * S) {
        assert_true(cvl_step(&sm, &cfg, &live, NULL, &base, t, &out));
    }
    assert_int_equal(out.cvl_mv, 55200);
    assert_false(sm.reasons & CVL_REASON_RAMPING);
}

static void test_cvl_state_changes_only_at_the_update_interval(void **state)
{
    (void)state;
    cfg.update_interval_us = 20 * S;
    live.soc_cpct = 8000;
    assert_true(cvl_step(&sm, &cfg, &live, NULL, &base, 0, &out));
    live.soc_cpct = 9900;
    assert_true(cvl_step(&sm, &cfg, &live, NULL, &base, 19 * S, &out));
    assert_int_equal(sm.state, CVL_STATE_BULK);
    assert_true(cvl_step(&sm, &cfg, &live, NULL, &base, 20 * S, &out));
    assert_int_equal(sm.state, CVL_STATE_FLOAT);
    assert_int_equal(out.cvl_mv, 55100); /* a fall: at once */
    assert_int_equal(sm.state_since_us, 20 * S);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_cvl_first_step_picks_the_state_without_counting_a_change,
                               setup),
        cmocka_unit_test_setup(test_cvl_bulk_uses_the_per_cell_target_not_the_alarm_threshold,
                               setup),
        cmocka_unit_test_setup(test_cvl_rises_through_every_soc_state, setup),
        cmocka_unit_test_setup(test_cvl_soc_oscillating_around_bulk_threshold_changes_once, setup),
        cmocka_unit_test_setup(test_cvl_soc_oscillating_around_transition_threshold_changes_once,
                               setup),
        cmocka_unit_test_setup(test_cvl_float_is_kept_down_to_float_exit_soc, setup),
        cmocka_unit_test_setup(test_cvl_without_hysteresis_makes_the_seed_decision, setup),
        cmocka_unit_test_setup(test_cvl_imbalance_hold_enters_above_threshold_strictly, setup),
        cmocka_unit_test_setup(test_cvl_imbalance_hold_releases_at_release_threshold, setup),
        cmocka_unit_test_setup(test_cvl_imbalance_drop_is_capped_and_floored, setup),
        cmocka_unit_test_setup(test_cvl_imbalance_unknown_neither_enters_nor_releases, setup),
        cmocka_unit_test_setup(test_cvl_sustain_entry_and_exit_with_hysteresis, setup),
        cmocka_unit_test_setup(test_cvl_sustain_wins_over_imbalance_and_needs_exit_above_entry,
                               setup),
        cmocka_unit_test_setup(test_cvl_zero_caps_never_make_a_current_zero, setup),
        cmocka_unit_test_setup(test_cvl_disabled_sends_the_target_without_caps, setup),
        cmocka_unit_test_setup(test_cvl_rejects_missing_or_invalid_inputs, setup),
        cmocka_unit_test_setup(test_cvl_configured_target_never_exceeds_the_bms_cutoff, setup),
        cmocka_unit_test_setup(test_cvl_never_above_the_ceiling_even_at_the_floor, setup),
        cmocka_unit_test_setup(test_cvl_cell_mismatch_takes_the_lower_cell_count, setup),
        cmocka_unit_test_setup(test_cvl_protection_engages_lowers_and_releases_with_hysteresis,
                               setup),
        cmocka_unit_test_setup(test_cvl_falls_at_once_and_rises_by_the_recovery_step, setup),
        cmocka_unit_test_setup(test_cvl_state_changes_only_at_the_update_interval, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
