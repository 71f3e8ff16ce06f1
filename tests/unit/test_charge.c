/*
 * Black-box tests of charge.h: base limits capped by the BMS cutoffs, the
 * only two reasons for CCL = 0 and the only one for DCL = 0, derating that
 * never reaches 0, and the hold-and-ramp recovery.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "charge.h"
#include "fixture_pack.h"

#define S 1000000ull

static chg_config_t cfg;
static tbms_live_t live;
static tbms_settings_t set;
static chg_limits_t lim;

static int setup(void **state)
{
    (void)state;
    memset(&cfg, 0, sizeof cfg);
    cfg.charge_cell_mv = 3450;
    cfg.discharge_cell_mv = 2900;
    cfg.ov_margin_mv = 100;
    cfg.max_charge_ma = 100000;
    cfg.max_discharge_ma = 150000;
    cfg.low_temp_charge_dc = 50;
    cfg.derate = true;
    fixture_live(&live);
    fixture_settings(&set);
    return 0;
}

static void base_and_derate(void)
{
    assert_true(chg_base_limits(&cfg, &live, &set, NULL, &lim));
    chg_derate(&cfg, &live, &set, NULL, &lim);
}

static void test_charge_base_limits_never_exceed_the_bms_cutoffs(void **state)
{
    (void)state;
    cfg.charge_cell_mv = 3650;
    base_and_derate();
    assert_int_equal(lim.cvl_mv, 3550 * 16);
    assert_int_equal(lim.cvl_ceiling_mv, 3550 * 16);
    assert_int_equal(lim.ccl_ma, 80000);  /* reg 318 */
    assert_int_equal(lim.dcl_ma, 120000); /* reg 317 */
    assert_true(lim.reasons & CHG_REASON_CVL_CAPPED_BY_BMS);
}

static void test_charge_ccl_zero_only_for_cold_or_cell_over_voltage(void **state)
{
    (void)state;
    live.ext_temp_dc[0] = 49; /* below the configured 5.0 degC (stricter than reg 320) */
    base_and_derate();
    assert_int_equal(lim.ccl_ma, 0);
    assert_true(lim.reasons & CHG_REASON_CCL_LOW_TEMP);
    assert_int_equal(lim.dcl_ma, 120000);
    setup(NULL);
    live.cell_max_mv = 3650;
    base_and_derate();
    assert_int_equal(lim.ccl_ma, 0);
    assert_true(lim.reasons & CHG_REASON_CCL_CELL_OV);
    setup(NULL);
    live.ext_temp_dc[0] = 700; /* above the over-heat cutoff: derated, not zero */
    live.cell_max_mv = 3640;
    base_and_derate();
    assert_true(lim.ccl_ma > 0);
    assert_true(lim.dcl_ma > 0);
}

static void test_charge_dcl_zero_only_for_cell_under_voltage(void **state)
{
    (void)state;
    live.cell_min_mv = 2801;
    base_and_derate();
    assert_true(lim.dcl_ma > 0);
    live.cell_min_mv = 2800;
    base_and_derate();
    assert_int_equal(lim.dcl_ma, 0);
    assert_true(lim.reasons & CHG_REASON_DCL_CELL_UV);
}

static void test_charge_ccl_derates_by_highest_cell(void **state)
{
    (void)state;
    live.cell_max_mv = 3450;
    base_and_derate();
    assert_int_equal(lim.ccl_ma, 80000);
    live.cell_max_mv = 3500; /* midpoint 3550: half way from 100 % to 10 % = 55 % */
    base_and_derate();
    assert_int_equal(lim.ccl_ma, 44000);
    assert_true(lim.reasons & CHG_REASON_CCL_DERATED);
    live.cell_max_mv = 3600;
    base_and_derate();
    assert_int_equal(lim.ccl_ma, 8000);
}

static void test_charge_dcl_derates_by_lowest_cell(void **state)
{
    (void)state;
    live.cell_min_mv = 3000;
    base_and_derate();
    assert_int_equal(lim.dcl_ma, 120000);
    live.cell_min_mv = 2950;
    base_and_derate();
    assert_int_equal(lim.dcl_ma, 66000);
    live.cell_min_mv = 2850;
    base_and_derate();
    assert_int_equal(lim.dcl_ma, 12000);
}

static void test_charge_derates_by_temperature(void **state)
{
    (void)state;
    live.ext_temp_dc[0] = 100; /* 5 degC above the 5 degC limit: 25 % + 75 % x 0.5 */
    base_and_derate();
    assert_int_equal(lim.ccl_ma, 50000);
    live.ext_temp_dc[0] = -100; /* discharge: 0 -> -20 degC down to 25 % */
    cfg.low_temp_charge_dc = -300;
    base_and_derate();
    assert_int_equal(lim.dcl_ma, 120000 * 625 / 1000);
    live.ext_temp_dc[0] = 525; /* 7.5 degC below 60: 100 % -> 10 % half way */
    base_and_derate();
    assert_int_equal(lim.ccl_ma, 80000 * 550 / 1000);
    assert_int_equal(lim.dcl_ma, 120000 * 550 / 1000);
}

static void test_charge_no_usable_temperature_means_no_charge_current(void **state)
{
    (void)state;
    live.ext_temp_present[0] = false;
    live.internal_temp_present = false;
    base_and_derate();
    /* LFP must not be charged below 0 degC and nothing can tell: no charging;
     * discharging is not temperature-critical in the same way and goes on. */
    assert_int_equal(lim.ccl_ma, 0);
    assert_true(lim.reasons & CHG_REASON_CCL_NO_TEMP);
    assert_int_equal(lim.dcl_ma, 120000);
}

static void test_charge_derating_disabled_or_bad_input_changes_nothing(void **state)
{
    (void)state;
    live.cell_max_mv = 3600;
    cfg.derate = false;
    base_and_derate();
    assert_int_equal(lim.ccl_ma, 80000);
    cfg.derate = true;
    chg_derate(NULL, &live, &set, NULL, &lim);
    chg_derate(&cfg, &live, &set, NULL, NULL);
    live.valid = false;
    chg_derate(&cfg, &live, &set, NULL, &lim);
    assert_int_equal(lim.ccl_ma, 80000);
    assert_false(chg_base_limits(&cfg, &live, &set, NULL, &lim));
}

static void test_charge_derating_never_reaches_zero(void **state)
{
    (void)state;
    chg_limits_t l = {.ccl_ma = 500, .dcl_ma = 3000, .cells = 16};
    live.cell_max_mv = 3640;
    live.cell_min_mv = 2810;
    chg_derate(&cfg, &live, &set, NULL, &l);
    assert_int_equal(l.ccl_ma, 500); /* 10 % of 0.5 A < 1 A floor: keeps 0.5 A */
    assert_int_equal(l.dcl_ma, 1000);
}

static void test_charge_ramp_falls_at_once_holds_then_ramps(void **state)
{
    (void)state;
    chg_ramp_t r;
    chg_ramp_init(&r);
    assert_int_equal(chg_ramp_step(&r, 50000, 0, 30 * S, 5000), 50000);
    assert_int_equal(chg_ramp_step(&r, 10000, 1 * S, 30 * S, 5000), 10000);
    assert_int_equal(chg_ramp_step(&r, 50000, 2 * S, 30 * S, 5000), 10000);
    assert_int_equal(chg_ramp_step(&r, 50000, 30 * S, 30 * S, 5000), 10000);
    assert_int_equal(chg_ramp_step(&r, 50000, 31 * S, 30 * S, 5000), 10000);
    assert_int_equal(chg_ramp_step(&r, 50000, 32 * S, 30 * S, 5000), 15000);
    assert_int_equal(chg_ramp_step(&r, 50000, 34 * S, 30 * S, 5000), 25000);
    /* another fall restarts the hold */
    assert_int_equal(chg_ramp_step(&r, 20000, 35 * S, 30 * S, 5000), 20000);
    assert_int_equal(chg_ramp_step(&r, 50000, 60 * S, 30 * S, 5000), 20000);
    assert_int_equal(chg_ramp_step(&r, 50000, 100 * S, 30 * S, 5000), 50000);
    assert_int_equal(chg_ramp_step(NULL, 7, 0, 0, 0), 7);
}

static void test_charge_ramp_small_steps_accumulate(void **state)
{
    (void)state;
    chg_ramp_t r;
    chg_ramp_init(&r);
    chg_ramp_step(&r, 0, 0, 0, 100); /* 0.1 A/s, called every 1 ms */
    int32_t v = 0;
    for (uint64_t t = 1000; t <= 10 * S; t += 1000) {
        v = chg_ramp_step(&r, 5000, t, 0, 100);
    }
    assert_true(v >= 900 && v <= 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_charge_base_limits_never_exceed_the_bms_cutoffs, setup),
        cmocka_unit_test_setup(test_charge_ccl_zero_only_for_cold_or_cell_over_voltage, setup),
        cmocka_unit_test_setup(test_charge_dcl_zero_only_for_cell_under_voltage, setup),
        cmocka_unit_test_setup(test_charge_ccl_derates_by_highest_cell, setup),
        cmocka_unit_test_setup(test_charge_dcl_derates_by_lowest_cell, setup),
        cmocka_unit_test_setup(test_charge_derates_by_temperature, setup),
        cmocka_unit_test_setup(test_charge_no_usable_temperature_means_no_charge_current,
                               setup),
        cmocka_unit_test_setup(test_charge_derating_disabled_or_bad_input_changes_nothing, setup),
        cmocka_unit_test_setup(test_charge_derating_never_reaches_zero, setup),
        cmocka_unit_test_setup(test_charge_ramp_falls_at_once_holds_then_ramps, setup),
        cmocka_unit_test_setup(test_charge_ramp_small_steps_accumulate, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
