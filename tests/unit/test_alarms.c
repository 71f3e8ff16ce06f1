/*
 * Black-box tests of alarms.h: levels, hysteresis, 0x35A mapping and the
 * event stream (one raised and one cleared event per episode, no storm).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "alarms.h"
#include "fixture_pack.h"

#define S 1000000ull

static alm_state_t st;
static alm_thresholds_t th;
static tbms_live_t live;
static tbms_settings_t set;

static int setup(void **state)
{
    (void)state;
    alm_init(&st);
    th = (alm_thresholds_t){.overvoltage_mv = 58400,
                            .undervoltage_mv = 44000,
                            .overtemp_dc = 550,
                            .low_temp_charge_dc = 0,
                            .imbalance_warn_mv = 100,
                            .imbalance_alarm_mv = 200};
    fixture_live(&live);
    fixture_settings(&set);
    return 0;
}

static void update(uint64_t t)
{
    alm_update(&st, &th, &live, &set, NULL, t);
}

static unsigned drain(alm_event_t *ev, unsigned cap)
{
    unsigned n = 0;
    alm_event_t e;
    while (alm_pop_event(&st, &e)) {
        if (n < cap) {
            ev[n] = e;
        }
        n++;
    }
    return n;
}

static void test_alarms_quiet_pack_is_ok_and_makes_no_event(void **state)
{
    (void)state;
    for (uint64_t t = 0; t < 100; t++) {
        update(t * S);
    }
    assert_int_equal(alm_worst(&st), ALM_OK);
    alm_event_t ev[4];
    assert_int_equal(drain(ev, 4), 0);
    vcan_alarms_t v;
    alm_to_victron(&st, &v);
    assert_int_equal(v.alarm[VCAN_COND_HIGH_VOLTAGE], VCAN_PAIR_OK);
    assert_int_equal(v.alarm[VCAN_COND_CONTACTOR], VCAN_PAIR_UNSUPPORTED);
}

static void test_alarms_cell_over_voltage_warns_then_alarms_with_hysteresis(void **state)
{
    (void)state;
    live.cell_max_mv = 3600; /* warning from 3650 - 50 */
    update(1 * S);
    assert_int_equal(st.level[VCAN_COND_HIGH_VOLTAGE], ALM_WARNING);
    live.cell_max_mv = 3650;
    update(2 * S);
    assert_int_equal(st.level[VCAN_COND_HIGH_VOLTAGE], ALM_ALARM);
    live.cell_max_mv = 3640; /* within the 20 mV hysteresis */
    update(3 * S);
    assert_int_equal(st.level[VCAN_COND_HIGH_VOLTAGE], ALM_ALARM);
    live.cell_max_mv = 3630;
    update(4 * S);
    assert_int_equal(st.level[VCAN_COND_HIGH_VOLTAGE], ALM_WARNING);
    live.cell_max_mv = 3581;
    update(5 * S);
    assert_int_equal(st.level[VCAN_COND_HIGH_VOLTAGE], ALM_WARNING);
    live.cell_max_mv = 3580;
    update(6 * S);
    assert_int_equal(st.level[VCAN_COND_HIGH_VOLTAGE], ALM_OK);
    vcan_alarms_t v;
    alm_to_victron(&st, &v);
    assert_int_equal(v.warning[VCAN_COND_HIGH_VOLTAGE], VCAN_PAIR_OK);
}

static void test_alarms_one_raised_and_one_cleared_per_episode(void **state)
{
    (void)state;
    live.cell_max_mv = 3430;
    live.cell_min_mv = 3300; /* imbalance 130: warning */
    update(10 * S);
    for (uint64_t t = 11; t < 500; t++) {
        /* a value sitting on the threshold +-5 mV: no storm */
        live.cell_max_mv = (uint16_t)(t % 2 ? 3395 : 3405);
        update(t * S);
    }
    live.cell_max_mv = 3380; /* below 100 - 10 */
    update(600 * S);
    alm_event_t ev[8];
    unsigned n = drain(ev, 8);
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].cond, VCAN_COND_CELL_IMBALANCE);
    assert_int_equal(ev[0].kind, ALM_EVENT_RAISED);
    assert_int_equal(ev[0].from, ALM_OK);
    assert_int_equal(ev[0].to, ALM_WARNING);
    assert_int_equal(ev[0].value, 130);
    assert_int_equal(ev[0].time_us, 10 * S);
    assert_int_equal(ev[1].kind, ALM_EVENT_CLEARED);
    assert_int_equal(ev[1].to, ALM_OK);
    assert_int_equal(ev[1].time_us, 600 * S);
    assert_int_equal(ev[1].seq, ev[0].seq + 1);
    assert_string_equal(alm_event_kind_name(ev[1].kind), "cleared");
    assert_string_equal(alm_level_name(ev[0].to), "warning");
}

static void test_alarms_bms_fault_raises_internal_and_general_alarm(void **state)
{
    (void)state;
    live.status = TBMS_STATUS_FAULT;
    live.status_raw = 0x9B;
    update(1 * S);
    assert_int_equal(st.level[VCAN_COND_BMS_INTERNAL], ALM_ALARM);
    assert_int_equal(st.level[VCAN_COND_GENERAL], ALM_ALARM);
    alm_event_t ev[4];
    unsigned n = drain(ev, 4);
    assert_int_equal(n, 1); /* the general summary makes no event of its own */
    assert_int_equal(ev[0].cond, VCAN_COND_BMS_INTERNAL);
    assert_int_equal(ev[0].value, 0x9B);
}

static void test_alarms_temperatures_and_low_temp_charge(void **state)
{
    (void)state;
    live.ext_temp_dc[0] = 560; /* above the configured 55.0 degC */
    update(1 * S);
    assert_int_equal(st.level[VCAN_COND_HIGH_TEMP], ALM_ALARM);
    live.ext_temp_dc[0] = -10;
    update(2 * S);
    assert_int_equal(st.level[VCAN_COND_HIGH_TEMP], ALM_OK);
    assert_int_equal(st.level[VCAN_COND_LOW_TEMP_CHARGE], ALM_ALARM);
    live.ext_temp_present[0] = false; /* no sensor: unsupported, never a false OK */
    update(3 * S);
    vcan_alarms_t v;
    alm_to_victron(&st, &v);
    assert_int_equal(v.alarm[VCAN_COND_HIGH_TEMP], VCAN_PAIR_UNSUPPORTED);
}

static void test_alarms_event_ring_drops_the_oldest_when_full(void **state)
{
    (void)state;
    for (unsigned i = 0; i < ALM_EVENT_CAP + 8u; i++) {
        live.cell_max_mv = (uint16_t)(i % 2 ? 3320 : 3700);
        live.cell_min_mv = 3300;
        update(i * S);
    }
    assert_true(st.ev_dropped > 0);
    alm_event_t e;
    assert_true(alm_pop_event(&st, &e));
    assert_true(e.seq > 1);
    assert_false(alm_pop_event(NULL, &e));
    assert_false(alm_pop_event(&st, NULL));
}

static void test_alarms_ignore_invalid_input(void **state)
{
    (void)state;
    live.valid = false;
    live.cell_max_mv = 3700;
    update(1 * S);
    assert_int_equal(alm_worst(&st), ALM_OK);
    alm_update(NULL, &th, &live, &set, NULL, 0);
    assert_string_equal(alm_condition_name((vcan_cond_t)99), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_alarms_quiet_pack_is_ok_and_makes_no_event, setup),
        cmocka_unit_test_setup(test_alarms_cell_over_voltage_warns_then_alarms_with_hysteresis,
                               setup),
        cmocka_unit_test_setup(test_alarms_one_raised_and_one_cleared_per_episode, setup),
        cmocka_unit_test_setup(test_alarms_bms_fault_raises_internal_and_general_alarm, setup),
        cmocka_unit_test_setup(test_alarms_temperatures_and_low_temp_charge, setup),
        cmocka_unit_test_setup(test_alarms_event_ring_drops_the_oldest_when_full, setup),
        cmocka_unit_test_setup(test_alarms_ignore_invalid_input, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
