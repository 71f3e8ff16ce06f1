/*
 * Black-box tests of packs in parallel on one bus (sim/tbms_sim_bus.h):
 * the Kirchhoff split of the external current, the switches (forced and
 * the BMS's own protections), the demo day of a bank, and that each pack
 * reports its own share over its UART.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "tbms_frame.h"
#include "tbms_sim.h"
#include "tbms_sim_bus.h"
#include "tbms_sim_model.h"
#include "tbms_snapshot.h"

#define T0      5000u /* wall ms at init */
#define MIN_MS  (60u * 1000u)
#define HOUR_MS (3600u * 1000u)

static tbms_sim_t packs[TBMS_SIM_BUS_MAX_PACKS];
static tbms_sim_bus_t bus;

/* A pack with 0 A unless the bus says otherwise. */
static tbms_sim_config_t pack_config(uint32_t seed, float capacity_ah, float soc_pct,
                                     float cell_mohm)
{
    tbms_sim_config_t c = tbms_sim_default_config();
    c.demo_profile = false;
    c.seed = seed;
    c.capacity_ah = capacity_ah;
    c.soc_pct = soc_pct;
    c.cell_resistance_mohm = cell_mohm;
    return c;
}

static void start_bus(const tbms_sim_config_t *cfgs, unsigned n)
{
    tbms_sim_t *p[TBMS_SIM_BUS_MAX_PACKS];
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(tbms_sim_init(&packs[i], &cfgs[i], T0), TBMS_SIM_OK);
        p[i] = &packs[i];
    }
    assert_int_equal(tbms_sim_bus_init(&bus, p, n, T0), TBMS_SIM_OK);
}

/* Three deliberately different packs. */
static void start_mismatched_three(void)
{
    const tbms_sim_config_t c[3] = {
        pack_config(1u, 280.0f, 55.0f, 0.5f),
        pack_config(2u, 224.0f, 45.0f, 0.65f),
        pack_config(3u, 300.0f, 60.0f, 0.45f),
    };
    start_bus(c, 3u);
}

static int32_t sum_ma(void)
{
    int32_t s = 0;
    for (unsigned i = 0; i < tbms_sim_bus_count(&bus); i++) {
        s += tbms_sim_bus_pack_current_ma(&bus, i);
    }
    return s;
}

static double ocv_v(unsigned i)
{
    return (double)tbms_sim_model_pack_ocv_v(tbms_sim_model(&packs[i]));
}

static double res_ohm(unsigned i)
{
    return (double)tbms_sim_model_pack_resistance_ohm(tbms_sim_model(&packs[i]));
}

/* The closed-form split of tbms_sim_bus.h for packs 0..n-1, all closed. */
static double expected_ma(unsigned n, unsigned i, double ext_ma)
{
    double g = 0.0;
    double ge = 0.0;
    for (unsigned k = 0; k < n; k++) {
        g += 1.0 / res_ohm(k);
        ge += ocv_v(k) / res_ohm(k);
    }
    double v = (ext_ma / 1000.0 + ge) / g;
    return (v - ocv_v(i)) / res_ohm(i) * 1000.0;
}

static void assert_near(double got, double want, double tol)
{
    if (!(got >= want - tol && got <= want + tol)) {
        fail_msg("%f not within %f of %f", got, tol, want);
    }
}

/* The live block read over pack i's UART, decoded as the bridge does. */
static tbms_live_t read_live(unsigned i, uint64_t now)
{
    uint8_t req[TBMS_READ_REQ_LEN];
    size_t n = 0;
    uint8_t out[TBMS_SIM_TX_CAP];
    size_t out_n = 0;
    assert_int_equal(tbms_build_read(0u, TBMS_LIVE_REG_COUNT, req, sizeof req, &n), TBMS_OK);
    assert_int_equal(tbms_sim_receive(&packs[i], req, n, now, out, sizeof out, &out_n),
                     TBMS_SIM_OK);
    tbms_frame_t f;
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, out, out_n, &f), TBMS_OK);
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    size_t got = 0;
    assert_int_equal(tbms_frame_registers(&f, regs, TBMS_LIVE_REG_COUNT, &got), TBMS_OK);
    tbms_live_t live;
    assert_int_equal(tbms_decode_live(regs, TBMS_LIVE_REG_COUNT, now, &live), TBMS_OK);
    return live;
}

/* ---- The split ---- */

static void test_bus_pack_currents_sum_exactly_to_the_external_current(void **state)
{
    (void)state;
    start_mismatched_three();
    const int32_t cases[] = {50000, -80000, 1, -7, 123457, 0};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tbms_sim_bus_set_current_ma(&bus, cases[k]);
        assert_int_equal(sum_ma(), cases[k]);
        assert_int_equal(tbms_sim_bus_delivered_ma(&bus), cases[k]);
        assert_int_equal(tbms_sim_bus_requested_ma(&bus), cases[k]);
    }
    /* Still so after an hour of charging at 60 A, sliced every second. */
    tbms_sim_bus_set_current_ma(&bus, 60000);
    tbms_sim_bus_step(&bus, T0 + HOUR_MS);
    assert_int_equal(sum_ma(), 60000);
    for (unsigned i = 0; i < 3u; i++) {
        assert_true(tbms_sim_bus_pack_current_ma(&bus, i) > 0);
        assert_int_equal(tbms_sim_bus_path(&bus, i), TBMS_SIM_BUS_CLOSED);
    }
}

static void test_bus_split_follows_kirchhoff_within_one_ma(void **state)
{
    (void)state;
    start_mismatched_three();
    tbms_sim_bus_set_current_ma(&bus, 42000);
    double g = 0.0;
    double ge = 0.0;
    for (unsigned i = 0; i < 3u; i++) {
        assert_near(tbms_sim_bus_pack_current_ma(&bus, i), expected_ma(3u, i, 42000.0), 1.0);
        g += 1.0 / res_ohm(i);
        ge += ocv_v(i) / res_ohm(i);
    }
    assert_near(tbms_sim_bus_voltage_v(&bus), (42.0 + ge) / g, 1e-3);
    /* Every pack's terminal voltage is the bus voltage. */
    for (unsigned i = 0; i < 3u; i++) {
        double term = ocv_v(i) + tbms_sim_bus_pack_current_ma(&bus, i) / 1000.0 * res_ohm(i);
        assert_near(term, tbms_sim_bus_voltage_v(&bus), 2e-3);
    }
}

static void test_bus_equal_packs_share_equally(void **state)
{
    (void)state;
    const tbms_sim_config_t c[4] = {
        pack_config(7u, 280.0f, 50.0f, 0.5f),
        pack_config(7u, 280.0f, 50.0f, 0.5f),
        pack_config(7u, 280.0f, 50.0f, 0.5f),
        pack_config(7u, 280.0f, 50.0f, 0.5f),
    };
    start_bus(c, 4u);
    tbms_sim_bus_set_current_ma(&bus, -100000);
    for (unsigned i = 0; i < 4u; i++) {
        assert_int_equal(tbms_sim_bus_pack_current_ma(&bus, i), -25000);
    }
    tbms_sim_bus_set_current_ma(&bus, 0);
    for (unsigned i = 0; i < 4u; i++) {
        assert_int_equal(tbms_sim_bus_pack_current_ma(&bus, i), 0);
    }
}

static void test_bus_lower_resistance_pack_takes_more_charge(void **state)
{
    (void)state;
    /* Same seed and SOC, so the same OCV; pack 1 has twice the resistance. */
    const tbms_sim_config_t c[2] = {
        pack_config(3u, 280.0f, 50.0f, 0.5f),
        pack_config(3u, 280.0f, 50.0f, 1.0f),
    };
    start_bus(c, 2u);
    tbms_sim_bus_set_current_ma(&bus, 30000);
    assert_near(tbms_sim_bus_pack_current_ma(&bus, 0), 20000.0, 1.0);
    assert_near(tbms_sim_bus_pack_current_ma(&bus, 1), 10000.0, 1.0);
    assert_int_equal(sum_ma(), 30000);
}

static void test_bus_lower_soc_pack_takes_more_charge(void **state)
{
    (void)state;
    const tbms_sim_config_t c[2] = {
        pack_config(3u, 280.0f, 70.0f, 0.5f),
        pack_config(3u, 280.0f, 30.0f, 0.5f),
    };
    start_bus(c, 2u);
    assert_true(ocv_v(1) < ocv_v(0));
    tbms_sim_bus_set_current_ma(&bus, 30000);
    int32_t full = tbms_sim_bus_pack_current_ma(&bus, 0);
    int32_t empty = tbms_sim_bus_pack_current_ma(&bus, 1);
    assert_true(empty > full);
    assert_near(empty - full, (ocv_v(0) - ocv_v(1)) / (res_ohm(0) + res_ohm(1)) * 2000.0, 2.0);
}

static void test_bus_at_rest_the_fuller_pack_discharges_into_the_other(void **state)
{
    (void)state;
    const tbms_sim_config_t c[2] = {
        pack_config(5u, 280.0f, 90.0f, 0.5f),
        pack_config(6u, 280.0f, 30.0f, 0.5f),
    };
    start_bus(c, 2u);
    tbms_sim_bus_set_current_ma(&bus, 0);
    int32_t full = tbms_sim_bus_pack_current_ma(&bus, 0);
    int32_t empty = tbms_sim_bus_pack_current_ma(&bus, 1);
    double want = (ocv_v(1) - ocv_v(0)) / (res_ohm(0) + res_ohm(1)) * 1000.0;
    assert_true(want < -1000.0); /* amperes, not noise */
    assert_near(full, want, 1.0);
    assert_int_equal(empty, -full);
    assert_int_equal(tbms_sim_bus_delivered_ma(&bus), 0);

    /* The gap closes: after an hour less current and closer SOCs. */
    float gap0 = tbms_sim_cell_soc_pct(&packs[0], 0) - tbms_sim_cell_soc_pct(&packs[1], 0);
    tbms_sim_bus_step(&bus, T0 + HOUR_MS);
    float gap1 = tbms_sim_cell_soc_pct(&packs[0], 0) - tbms_sim_cell_soc_pct(&packs[1], 0);
    assert_true(gap1 < gap0);
    assert_true(tbms_sim_bus_pack_current_ma(&bus, 0) < 0);
    assert_true(tbms_sim_bus_pack_current_ma(&bus, 0) > full);
    assert_int_equal(sum_ma(), 0);
}

static void test_bus_charge_counted_by_the_packs_adds_up_to_the_bank_charge(void **state)
{
    (void)state;
    /* time_scale 100: 36 s of wall time are an hour of model time. */
    tbms_sim_config_t c[3] = {
        pack_config(1u, 280.0f, 40.0f, 0.5f),
        pack_config(2u, 224.0f, 30.0f, 0.65f),
        pack_config(3u, 300.0f, 50.0f, 0.45f),
    };
    float cap_ah[3];
    float soc0[3];
    for (unsigned i = 0; i < 3u; i++) {
        c[i].time_scale = 100.0f;
        cap_ah[i] = c[i].capacity_ah;
    }
    start_bus(c, 3u);
    for (unsigned i = 0; i < 3u; i++) {
        soc0[i] = tbms_sim_soc_pct(&packs[i]);
    }
    tbms_sim_bus_set_current_ma(&bus, 56000);
    tbms_sim_bus_step(&bus, T0 + 36000u);
    assert_int_equal(sum_ma(), 56000);
    double ah = 0.0;
    for (unsigned i = 0; i < 3u; i++) {
        double d = (double)(tbms_sim_soc_pct(&packs[i]) - soc0[i]);
        assert_true(d > 0.0);
        ah += d / 100.0 * (double)cap_ah[i];
    }
    assert_near(ah, 56.0, 0.05); /* 56 A for one model hour, counted by three BMSes */

    /* An earlier time changes nothing but the split. */
    float soc1 = tbms_sim_soc_pct(&packs[0]);
    tbms_sim_bus_step(&bus, T0);
    assert_true(tbms_sim_soc_pct(&packs[0]) == soc1);
    assert_int_equal(sum_ma(), 56000);
}

/* ---- Switches ---- */

static void test_bus_forced_open_switch_moves_all_current_to_the_others(void **state)
{
    (void)state;
    start_mismatched_three();
    tbms_sim_bus_set_current_ma(&bus, 90000);
    int32_t before = tbms_sim_bus_pack_current_ma(&bus, 1);
    assert_true(before > 0);

    tbms_sim_bus_set_switch_open(&bus, 1u, true);
    assert_int_equal(tbms_sim_bus_path(&bus, 1u), TBMS_SIM_BUS_OPEN_FORCED);
    assert_int_equal(tbms_sim_bus_pack_current_ma(&bus, 1), 0);
    assert_true(tbms_sim_current_ma(&packs[1]) == 0.0f); /* its BMS sees 0 A too */
    assert_int_equal(tbms_sim_bus_pack_current_ma(&bus, 0) + tbms_sim_bus_pack_current_ma(&bus, 2),
                     90000);
    /* The two remaining packs split as a two-pack bus would. */
    double g = 1.0 / res_ohm(0) + 1.0 / res_ohm(2);
    double v = (90.0 + ocv_v(0) / res_ohm(0) + ocv_v(2) / res_ohm(2)) / g;
    assert_near(tbms_sim_bus_pack_current_ma(&bus, 0), (v - ocv_v(0)) / res_ohm(0) * 1000.0, 1.0);

    tbms_sim_bus_set_switch_open(&bus, 1u, false);
    assert_int_equal(tbms_sim_bus_path(&bus, 1u), TBMS_SIM_BUS_CLOSED);
    assert_int_equal(tbms_sim_bus_pack_current_ma(&bus, 1), before);
}

static void test_bus_all_switches_open_nothing_flows(void **state)
{
    (void)state;
    start_mismatched_three();
    tbms_sim_bus_set_current_ma(&bus, 20000);
    for (unsigned i = 0; i < 3u; i++) {
        tbms_sim_bus_set_switch_open(&bus, i, true);
    }
    assert_int_equal(tbms_sim_bus_requested_ma(&bus), 20000);
    assert_int_equal(tbms_sim_bus_delivered_ma(&bus), 0);
    assert_true(tbms_sim_bus_voltage_v(&bus) == 0.0f);
    for (unsigned i = 0; i < 3u; i++) {
        assert_int_equal(tbms_sim_bus_pack_current_ma(&bus, i), 0);
    }
    tbms_sim_bus_step(&bus, T0 + 10u * MIN_MS);
    assert_int_equal(tbms_sim_bus_delivered_ma(&bus), 0);
}

static void test_bus_over_voltage_stops_charge_into_that_pack_only(void **state)
{
    (void)state;
    start_mismatched_three();
    tbms_sim_force_cell_mv(&packs[0], 3u, 3800u); /* above 315 = 3750 mV */
    tbms_sim_bus_set_current_ma(&bus, 40000);
    assert_true(tbms_sim_faults(&packs[0]) & TBMS_SIM_FAULT_OV);
    assert_int_equal(tbms_sim_bus_path(&bus, 0u), TBMS_SIM_BUS_DISCHARGE_ONLY);
    assert_int_equal(tbms_sim_bus_pack_current_ma(&bus, 0), 0);
    assert_int_equal(tbms_sim_bus_pack_current_ma(&bus, 1) + tbms_sim_bus_pack_current_ma(&bus, 2),
                     40000);
    assert_int_equal(tbms_sim_bus_delivered_ma(&bus), 40000);

    /* Discharging, the pack takes part again (only charging is cut). */
    tbms_sim_bus_set_current_ma(&bus, -40000);
    assert_int_equal(tbms_sim_bus_path(&bus, 0u), TBMS_SIM_BUS_DISCHARGE_ONLY);
    assert_true(tbms_sim_bus_pack_current_ma(&bus, 0) < 0);
    assert_near(tbms_sim_bus_pack_current_ma(&bus, 0), expected_ma(3u, 0u, -40000.0), 1.0);
    assert_int_equal(sum_ma(), -40000);
}

static void test_bus_under_voltage_stops_discharge_from_that_pack_only(void **state)
{
    (void)state;
    start_mismatched_three();
    tbms_sim_force_cell_mv(&packs[2], 0u, 2600u); /* below 316 = 2700 mV */
    tbms_sim_bus_set_current_ma(&bus, -30000);
    assert_true(tbms_sim_faults(&packs[2]) & TBMS_SIM_FAULT_UV);
    assert_int_equal(tbms_sim_bus_path(&bus, 2u), TBMS_SIM_BUS_CHARGE_ONLY);
    assert_int_equal(tbms_sim_bus_pack_current_ma(&bus, 2), 0);
    assert_int_equal(sum_ma(), -30000);
    /* Pack 2 is the fullest: it takes charge only once the charge current
     * outweighs what it would give the others at rest. */
    tbms_sim_bus_set_current_ma(&bus, 100000);
    assert_true(tbms_sim_bus_pack_current_ma(&bus, 2) > 0);
    assert_near(tbms_sim_bus_pack_current_ma(&bus, 2), expected_ma(3u, 2u, 100000.0), 1.0);
    assert_int_equal(sum_ma(), 100000);
}

static void test_bus_charge_into_only_blocked_packs_cannot_flow(void **state)
{
    (void)state;
    const tbms_sim_config_t c[2] = {
        pack_config(1u, 280.0f, 60.0f, 0.5f),
        pack_config(2u, 280.0f, 50.0f, 0.5f),
    };
    start_bus(c, 2u);
    tbms_sim_force_cell_mv(&packs[0], 0u, 3800u);
    tbms_sim_force_cell_mv(&packs[1], 0u, 3800u);
    tbms_sim_bus_set_current_ma(&bus, 10000);
    assert_int_equal(tbms_sim_bus_requested_ma(&bus), 10000);
    assert_int_equal(tbms_sim_bus_delivered_ma(&bus), 0);
    assert_int_equal(tbms_sim_bus_pack_current_ma(&bus, 0), 0);
    assert_int_equal(tbms_sim_bus_pack_current_ma(&bus, 1), 0);
    /* Nothing flows between them either: the emptier one cannot charge. */
    assert_near(tbms_sim_bus_voltage_v(&bus), ocv_v(0) > ocv_v(1) ? ocv_v(0) : ocv_v(1), 1e-3);
}

static void test_bus_share_over_the_charge_over_current_cutoff_moves_to_the_others(void **state)
{
    (void)state;
    /* Pack 0 has half the resistance: 2:1:1:1 of 400 A = 160 A > 318 = 140 A. */
    const tbms_sim_config_t c[4] = {
        pack_config(9u, 280.0f, 50.0f, 0.25f),
        pack_config(9u, 280.0f, 50.0f, 0.5f),
        pack_config(9u, 280.0f, 50.0f, 0.5f),
        pack_config(9u, 280.0f, 50.0f, 0.5f),
    };
    start_bus(c, 4u);
    tbms_sim_bus_set_current_ma(&bus, 400000);
    assert_true(tbms_sim_faults(&packs[0]) & TBMS_SIM_FAULT_COC);
    assert_int_equal(tbms_sim_bus_path(&bus, 0u), TBMS_SIM_BUS_DISCHARGE_ONLY);
    assert_int_equal(tbms_sim_bus_pack_current_ma(&bus, 0), 0);
    for (unsigned i = 1; i < 4u; i++) {
        assert_near(tbms_sim_bus_pack_current_ma(&bus, i), 400000.0 / 3.0, 1.0);
        assert_false(tbms_sim_faults(&packs[i]) & TBMS_SIM_FAULT_COC);
    }
    assert_int_equal(tbms_sim_bus_delivered_ma(&bus), 400000);
}

/* ---- UART ---- */

static void test_bus_each_pack_reports_its_own_share_over_its_uart(void **state)
{
    (void)state;
    start_mismatched_three();
    tbms_sim_bus_set_current_ma(&bus, 55000);
    uint64_t now = T0 + MIN_MS;
    tbms_sim_bus_step(&bus, now);
    int32_t total = 0;
    for (unsigned i = 0; i < 3u; i++) {
        tbms_live_t live = read_live(i, now);
        assert_int_equal(live.pack_ma, tbms_sim_bus_pack_current_ma(&bus, i));
        /* Sum of 16 measured cells (0.1 mV each) is the bus voltage. */
        assert_near(live.pack_mv, tbms_sim_bus_voltage_v(&bus) * 1000.0, 3.0);
        total += live.pack_ma;
    }
    assert_int_equal(total, 55000);
}

static void test_bus_muted_pack_answers_nothing_but_still_carries_current(void **state)
{
    (void)state;
    start_mismatched_three();
    /* Pack 1 is the emptiest; at -100 A it discharges too. */
    tbms_sim_bus_set_current_ma(&bus, -100000);
    int32_t before = tbms_sim_bus_pack_current_ma(&bus, 1);
    tbms_sim_set_muted(tbms_sim_bus_pack(&bus, 1u), true);
    uint64_t now = T0 + MIN_MS;
    tbms_sim_bus_step(&bus, now);

    uint8_t req[TBMS_READ_REQ_LEN];
    size_t n = 0;
    uint8_t out[TBMS_SIM_TX_CAP];
    size_t out_n = 1;
    assert_int_equal(tbms_build_read(0u, TBMS_LIVE_REG_COUNT, req, sizeof req, &n), TBMS_OK);
    assert_int_equal(tbms_sim_receive(&packs[1], req, n, now, out, sizeof out, &out_n),
                     TBMS_SIM_OK);
    assert_int_equal(out_n, 0);
    assert_int_equal(tbms_sim_bus_path(&bus, 1u), TBMS_SIM_BUS_CLOSED);
    assert_true(tbms_sim_bus_pack_current_ma(&bus, 1) < 0);
    assert_near(tbms_sim_bus_pack_current_ma(&bus, 1), before, 1000.0); /* SOCs moved a little */
    assert_near(tbms_sim_bus_pack_current_ma(&bus, 1), expected_ma(3u, 1u, -100000.0), 1.0);
    assert_int_equal(sum_ma(), -100000);
    (void)read_live(0u, now); /* the others still answer */
}

/* ---- Demo day and determinism ---- */

static void start_demo_bank(float soc_pct)
{
    tbms_sim_config_t c[3] = {
        pack_config(11u, 280.0f, soc_pct, 0.5f),
        pack_config(12u, 224.0f, soc_pct - 10.0f, 0.65f),
        pack_config(13u, 300.0f, soc_pct + 3.0f, 0.45f),
    };
    for (unsigned i = 0; i < 3u; i++) {
        c[i].demo_profile = true;
    }
    start_bus(c, 3u);
}

static void test_bus_demo_day_scales_to_the_bank_and_charges_first(void **state)
{
    (void)state;
    start_demo_bank(50.0f);
    /* Charging at 0.2 C of the installed 804 Ah, +-2 % ripple. */
    tbms_sim_bus_step(&bus, T0 + MIN_MS);
    assert_in_range(tbms_sim_bus_requested_ma(&bus), 157000, 164000);
    assert_int_equal(tbms_sim_bus_delivered_ma(&bus), tbms_sim_bus_requested_ma(&bus));
    for (unsigned i = 0; i < 3u; i++) {
        assert_true(tbms_sim_bus_pack_current_ma(&bus, i) > 0);
    }
    /* Discharging phase (20..50 min): the bank sources the load. */
    tbms_sim_bus_step(&bus, T0 + 30u * MIN_MS);
    assert_true(tbms_sim_bus_requested_ma(&bus) < -40000);
    assert_int_equal(sum_ma(), tbms_sim_bus_requested_ma(&bus));
    /* Back to the set current and off the demo. */
    tbms_sim_bus_set_current_ma(&bus, 1234);
    assert_int_equal(sum_ma(), 1234);
    tbms_sim_bus_clear_current(&bus);
    assert_true(tbms_sim_bus_requested_ma(&bus) < -40000);
}

static void test_bus_demo_charge_keeps_every_cell_near_full_plus_10mv(void **state)
{
    (void)state;
    start_demo_bank(96.0f);
    float highest = 0.0f;
    for (uint64_t t = T0 + 10000u; t < T0 + 15u * MIN_MS; t += 10000u) {
        tbms_sim_bus_step(&bus, t);
        for (unsigned p = 0; p < 3u; p++) {
            for (unsigned i = 0; i < 16u; i++) {
                float mv = tbms_sim_cell_mv(&packs[p], i);
                highest = mv > highest ? mv : highest;
            }
        }
    }
    /* Regulated on 3550 + 10 mV; a 1 s slice may overshoot a little. */
    assert_true(highest > 3500.0f);
    assert_true(highest < 3575.0f);
    for (unsigned p = 0; p < 3u; p++) {
        assert_false(tbms_sim_faults(&packs[p]) & TBMS_SIM_FAULT_OV);
    }
}

typedef struct {
    int32_t ma[3];
    float v;
    float soc[3];
    uint16_t status[3];
} snap_t;

static snap_t run_demo_for_90_minutes(void)
{
    start_demo_bank(55.0f);
    tbms_sim_bus_step(&bus, T0 + 90u * MIN_MS);
    snap_t s;
    memset(&s, 0, sizeof s);
    for (unsigned i = 0; i < 3u; i++) {
        s.ma[i] = tbms_sim_bus_pack_current_ma(&bus, i);
        s.soc[i] = tbms_sim_soc_pct(&packs[i]);
        s.status[i] = tbms_sim_status(&packs[i]);
    }
    s.v = tbms_sim_bus_voltage_v(&bus);
    return s;
}

static void test_bus_is_deterministic_for_its_seeds(void **state)
{
    (void)state;
    snap_t a = run_demo_for_90_minutes();
    snap_t b = run_demo_for_90_minutes();
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(a.ma[0] + a.ma[1] + a.ma[2], tbms_sim_bus_requested_ma(&bus));
}

static void test_bus_mismatched_config_varies_packs_around_the_base(void **state)
{
    (void)state;
    tbms_sim_config_t base = tbms_sim_default_config();
    base.cells = 8u;
    base.soc_pct = 5.0f;
    base.seed = 40u;
    tbms_sim_config_t c0 = tbms_sim_bus_mismatched_config(&base, 0u);
    assert_memory_equal(&c0, &base, sizeof base);
    tbms_sim_config_t c1 = tbms_sim_bus_mismatched_config(&base, 1u);
    assert_true(c1.capacity_ah == base.capacity_ah * 0.8f);
    assert_near(c1.cell_resistance_mohm, 1.3 * 140.0 / 280.0, 1e-5);
    assert_true(c1.soc_pct == 0.0f); /* 5 - 10, clamped */
    tbms_sim_config_t c3 = tbms_sim_bus_mismatched_config(&base, 3u);
    assert_true(c3.soc_pct == 2.0f);
    for (unsigned i = 0; i < TBMS_SIM_BUS_MAX_PACKS; i++) {
        tbms_sim_config_t c = tbms_sim_bus_mismatched_config(&base, i);
        assert_int_equal(c.cells, 8);
        assert_int_equal(c.seed, 40u + i);
        assert_true(c.time_scale == base.time_scale);
        assert_int_equal(tbms_sim_init(&packs[i], &c, T0), TBMS_SIM_OK);
    }
    tbms_sim_config_t d = tbms_sim_bus_mismatched_config(NULL, 9u);
    tbms_sim_config_t def = tbms_sim_default_config();
    assert_memory_equal(&d, &def, sizeof d);
}

/* ---- DVCC: the bank's demo day keeps to the limits of 0x351 ---- */

typedef struct {
    int32_t ccl_ma, dcl_ma, cvl_mv, dvl_mv;
} lim_t;

typedef struct {
    int32_t max_ma, min_ma; /* requested (= delivered) bank current */
    float max_v, min_v;     /* bus voltage */
    int32_t max_rise_ma;    /* largest rise from one second to the next */
    bool sums_ok;           /* delivered == requested == sum of the packs, every second */
} bus_seen_t;

/* Limits that never bind: 3000 A, 60 V, no floor. */
static const lim_t bus_loose = {3000000, 3000000, 60000, 0};

/* From wall time `from` to `to`, gives the limits every second as the
 * bridge's 0x351 does, recording the bank after each. */
static void bus_run_obeying(uint64_t from, uint64_t to, const lim_t *l, bus_seen_t *s)
{
    s->max_ma = INT32_MIN;
    s->min_ma = INT32_MAX;
    s->max_v = 0.0f;
    s->min_v = 1e9f;
    s->max_rise_ma = INT32_MIN;
    s->sums_ok = true;
    int32_t prev = tbms_sim_bus_requested_ma(&bus);
    for (uint64_t t = from + 1000u; t <= to; t += 1000u) {
        assert_int_equal(
            tbms_sim_bus_set_dvcc_limits(&bus, l->ccl_ma, l->dcl_ma, l->cvl_mv, l->dvl_mv, t),
            TBMS_SIM_OK);
        int32_t ma = tbms_sim_bus_requested_ma(&bus);
        float v = tbms_sim_bus_voltage_v(&bus);
        s->max_ma = ma > s->max_ma ? ma : s->max_ma;
        s->min_ma = ma < s->min_ma ? ma : s->min_ma;
        s->max_v = v > s->max_v ? v : s->max_v;
        s->min_v = v < s->min_v ? v : s->min_v;
        s->max_rise_ma = ma - prev > s->max_rise_ma ? ma - prev : s->max_rise_ma;
        s->sums_ok = s->sums_ok && tbms_sim_bus_delivered_ma(&bus) == ma && sum_ma() == ma;
        prev = ma;
    }
}

static void test_bus_dvcc_demo_charge_keeps_to_the_ccl(void **state)
{
    (void)state;
    start_demo_bank(50.0f);
    assert_true(tbms_sim_bus_requested_ma(&bus) > 150000); /* 0.2 C of 804 Ah */
    const lim_t l = {50000, 3000000, 60000, 0};
    bus_seen_t s;
    bus_run_obeying(T0, T0 + 14u * MIN_MS, &l, &s);
    /* 50 A exactly, every second, split over the packs. */
    assert_int_equal(s.max_ma, 50000);
    assert_int_equal(s.min_ma, 50000);
    assert_true(s.sums_ok);
    for (unsigned i = 0; i < 3u; i++) {
        assert_true(tbms_sim_bus_pack_current_ma(&bus, i) > 0);
    }
    /* An imposed current stays as imposed. */
    tbms_sim_bus_set_current_ma(&bus, 80000);
    assert_int_equal(sum_ma(), 80000);
    tbms_sim_bus_clear_current(&bus);
    assert_int_equal(sum_ma(), 50000);
}

static void test_bus_dvcc_demo_charge_tapers_to_zero_at_the_cvl_without_oscillating(void **state)
{
    (void)state;
    start_demo_bank(95.0f);                       /* packs at 95, 85 and 98 % */
    const lim_t l = {3000000, 3000000, 54400, 0}; /* 3.40 V a cell */
    int32_t start = tbms_sim_bus_requested_ma(&bus);
    bus_seen_t s;
    bus_run_obeying(T0, T0 + 14u * MIN_MS, &l, &s);
    assert_true(s.max_v <= 54.4f + 0.005f);
    assert_true(s.max_v >= 54.4f - 0.005f); /* it got there */
    assert_true(s.min_ma >= 0);
    /* Slower than one pack: the 85 % pack still takes ~70 A at 3.40 V a
     * cell after 14 min (and while the 98 % one evens out into the others
     * the bank may take a little more for a while: no swing, though). */
    assert_true(tbms_sim_bus_requested_ma(&bus) < start / 2);
    assert_true(s.max_rise_ma < start / 30); /* the demo's own 2 % ripple at most */
    assert_true(s.sums_ok);

    /* Already above CVL: the bank takes no charge (its packs may still
     * even out among themselves). */
    start_demo_bank(95.0f);
    const lim_t low = {3000000, 3000000, 52000, 0};
    bus_run_obeying(T0, T0 + 10u * MIN_MS, &low, &s);
    assert_int_equal(s.max_ma, 0);
    assert_int_equal(s.min_ma, 0);
    assert_true(s.sums_ok);
}

static void test_bus_dvcc_demo_discharge_keeps_to_the_dcl_and_stops_at_the_dvl(void **state)
{
    (void)state;
    start_demo_bank(55.0f);
    bus_seen_t s;
    bus_run_obeying(T0, T0 + 21u * MIN_MS, &bus_loose, &s); /* charge, standby */
    /* Discharging about 0.1 C of 804 Ah = 80 A +-40 %: DCL 30 A binds. */
    const lim_t l = {3000000, 30000, 60000, 0};
    bus_run_obeying(T0 + 21u * MIN_MS, T0 + 49u * MIN_MS, &l, &s);
    assert_int_equal(s.min_ma, -30000);
    assert_int_equal(s.max_ma, -30000);
    assert_true(s.sums_ok);

    /* DVL above the bus voltage at rest: no discharge, standby included. */
    start_demo_bank(55.0f);
    bus_run_obeying(T0, T0 + 20u * MIN_MS, &bus_loose, &s);
    tbms_sim_bus_set_current_ma(&bus, 0);
    int32_t rest_mv = (int32_t)(tbms_sim_bus_voltage_v(&bus) * 1000.0f);
    tbms_sim_bus_clear_current(&bus);
    const lim_t above = {3000000, 3000000, 60000, rest_mv + 50};
    bus_run_obeying(T0 + 20u * MIN_MS, T0 + 50u * MIN_MS, &above, &s);
    assert_int_equal(s.min_ma, 0);
    assert_int_equal(s.max_ma, 0);

    /* DVL just below: the bank gives only what keeps the bus at DVL. */
    const lim_t below = {3000000, 3000000, 60000, rest_mv - 30};
    bus_run_obeying(T0 + 80u * MIN_MS, T0 + 110u * MIN_MS, &below, &s);
    assert_true(s.min_ma < -1000);
    assert_true(s.min_v >= (float)(rest_mv - 30) / 1000.0f - 0.005f);
    assert_true(s.min_v <= (float)(rest_mv - 30) / 1000.0f + 0.005f);
    assert_true(s.sums_ok);
}

static void test_bus_dvcc_limits_not_renewed_for_5s_stop_charge_and_discharge(void **state)
{
    (void)state;
    start_demo_bank(55.0f);
    assert_int_equal(tbms_sim_bus_set_dvcc_limits(&bus, bus_loose.ccl_ma, bus_loose.dcl_ma,
                                                  bus_loose.cvl_mv, bus_loose.dvl_mv, T0),
                     TBMS_SIM_OK);
    tbms_sim_bus_step(&bus, T0 + TBMS_SIM_DVCC_TIMEOUT_MS);
    assert_true(tbms_sim_bus_requested_ma(&bus) > 150000);
    for (uint64_t t = T0 + TBMS_SIM_DVCC_TIMEOUT_MS + 1000u; t < T0 + MIN_MS; t += 1000u) {
        tbms_sim_bus_step(&bus, t);
        assert_int_equal(tbms_sim_bus_requested_ma(&bus), 0);
        assert_int_equal(tbms_sim_bus_delivered_ma(&bus), 0);
    }
    assert_int_equal(tbms_sim_bus_set_dvcc_limits(&bus, bus_loose.ccl_ma, bus_loose.dcl_ma,
                                                  bus_loose.cvl_mv, bus_loose.dvl_mv, T0 + MIN_MS),
                     TBMS_SIM_OK);
    assert_true(tbms_sim_bus_requested_ma(&bus) > 150000);
    bus_seen_t s;
    bus_run_obeying(T0 + MIN_MS, T0 + 25u * MIN_MS, &bus_loose, &s);
    assert_true(tbms_sim_bus_requested_ma(&bus) < -40000);
    tbms_sim_bus_step(&bus, T0 + 25u * MIN_MS + TBMS_SIM_DVCC_TIMEOUT_MS + 1000u);
    assert_int_equal(tbms_sim_bus_requested_ma(&bus), 0);
    assert_int_equal(sum_ma(), 0);
}

static snap_t snap_now(void)
{
    snap_t s;
    memset(&s, 0, sizeof s);
    for (unsigned i = 0; i < 3u; i++) {
        s.ma[i] = tbms_sim_bus_pack_current_ma(&bus, i);
        s.soc[i] = tbms_sim_soc_pct(&packs[i]);
        s.status[i] = tbms_sim_status(&packs[i]);
    }
    s.v = tbms_sim_bus_voltage_v(&bus);
    return s;
}

static void test_bus_dvcc_never_set_or_cleared_runs_the_demo_day_unchanged(void **state)
{
    (void)state;
    snap_t plain = run_demo_for_90_minutes();
    /* Set and cleared at once: nothing stays, not even their age. */
    start_demo_bank(55.0f);
    assert_int_equal(tbms_sim_bus_set_dvcc_limits(&bus, 1000, 1000, 50000, 53000, T0), TBMS_SIM_OK);
    tbms_sim_bus_clear_dvcc_limits(&bus);
    tbms_sim_bus_step(&bus, T0 + 90u * MIN_MS);
    snap_t cleared = snap_now();
    assert_memory_equal(&cleared, &plain, sizeof plain);

    /* Limits that never bind, renewed every second: the same as a run
     * stepped every second without them. */
    start_demo_bank(55.0f);
    for (uint64_t t = T0 + 1000u; t <= T0 + 90u * MIN_MS; t += 1000u) {
        tbms_sim_bus_step(&bus, t);
    }
    snap_t stepped = snap_now();
    start_demo_bank(55.0f);
    bus_seen_t s;
    bus_run_obeying(T0, T0 + 90u * MIN_MS, &bus_loose, &s);
    snap_t loose_run = snap_now();
    assert_memory_equal(&loose_run, &stepped, sizeof stepped);
}

static void test_bus_dvcc_bad_limits_are_refused_and_change_nothing(void **state)
{
    (void)state;
    start_demo_bank(50.0f);
    assert_int_equal(tbms_sim_bus_set_dvcc_limits(&bus, 40000, 40000, 56000, 48000, T0),
                     TBMS_SIM_OK);
    assert_int_equal(tbms_sim_bus_requested_ma(&bus), 40000);
    assert_int_equal(tbms_sim_bus_set_dvcc_limits(NULL, 1, 1, 1, 1, T0), TBMS_SIM_ERR_ARG);
    assert_int_equal(tbms_sim_bus_set_dvcc_limits(&bus, -1, 1, 1, 1, T0), TBMS_SIM_ERR_ARG);
    assert_int_equal(tbms_sim_bus_set_dvcc_limits(&bus, 1, -1, 1, 1, T0), TBMS_SIM_ERR_ARG);
    assert_int_equal(tbms_sim_bus_set_dvcc_limits(&bus, 1, 1, -1, 1, T0), TBMS_SIM_ERR_ARG);
    assert_int_equal(tbms_sim_bus_set_dvcc_limits(&bus, 1, 1, 1, -1, T0), TBMS_SIM_ERR_ARG);
    assert_int_equal(tbms_sim_bus_requested_ma(&bus), 40000);
    tbms_sim_bus_clear_dvcc_limits(NULL); /* ignored */
    static tbms_sim_bus_t empty;
    memset(&empty, 0, sizeof empty);
    assert_int_equal(tbms_sim_bus_set_dvcc_limits(&empty, 1, 1, 1, 1, T0), TBMS_SIM_ERR_ARG);
}

/* ---- Arguments ---- */

static void test_bus_init_rejects_bad_arguments(void **state)
{
    (void)state;
    tbms_sim_config_t c = pack_config(1u, 280.0f, 50.0f, 0.5f);
    assert_int_equal(tbms_sim_init(&packs[0], &c, T0), TBMS_SIM_OK);
    assert_int_equal(tbms_sim_init(&packs[1], &c, T0), TBMS_SIM_OK);
    tbms_sim_t *p[5] = {&packs[0], &packs[1], &packs[0], NULL, &packs[1]};
    assert_int_equal(tbms_sim_bus_init(NULL, p, 2u, T0), TBMS_SIM_ERR_ARG);
    assert_int_equal(tbms_sim_bus_init(&bus, NULL, 2u, T0), TBMS_SIM_ERR_ARG);
    assert_int_equal(tbms_sim_bus_init(&bus, p, 0u, T0), TBMS_SIM_ERR_ARG);
    assert_int_equal(tbms_sim_bus_init(&bus, p, 5u, T0), TBMS_SIM_ERR_ARG);
    assert_int_equal(tbms_sim_bus_init(&bus, p, 3u, T0), TBMS_SIM_ERR_ARG);     /* pack 0 twice */
    assert_int_equal(tbms_sim_bus_init(&bus, &p[2], 2u, T0), TBMS_SIM_ERR_ARG); /* NULL */
    c.time_scale = 10.0f;
    assert_int_equal(tbms_sim_init(&packs[1], &c, T0), TBMS_SIM_OK);
    assert_int_equal(tbms_sim_bus_init(&bus, p, 2u, T0), TBMS_SIM_ERR_ARG);
    assert_int_equal(tbms_sim_bus_init(&bus, p, 1u, T0), TBMS_SIM_OK); /* one pack is a bus */
    tbms_sim_bus_set_current_ma(&bus, 5000);
    assert_int_equal(tbms_sim_bus_pack_current_ma(&bus, 0), 5000);
    assert_null(tbms_sim_bus_pack(&bus, 1u));
    assert_int_equal(tbms_sim_bus_pack_current_ma(&bus, 1u), 0);
    assert_int_equal(tbms_sim_bus_path(&bus, 1u), TBMS_SIM_BUS_OPEN_FORCED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bus_pack_currents_sum_exactly_to_the_external_current),
        cmocka_unit_test(test_bus_split_follows_kirchhoff_within_one_ma),
        cmocka_unit_test(test_bus_equal_packs_share_equally),
        cmocka_unit_test(test_bus_lower_resistance_pack_takes_more_charge),
        cmocka_unit_test(test_bus_lower_soc_pack_takes_more_charge),
        cmocka_unit_test(test_bus_at_rest_the_fuller_pack_discharges_into_the_other),
        cmocka_unit_test(test_bus_charge_counted_by_the_packs_adds_up_to_the_bank_charge),
        cmocka_unit_test(test_bus_forced_open_switch_moves_all_current_to_the_others),
        cmocka_unit_test(test_bus_all_switches_open_nothing_flows),
        cmocka_unit_test(test_bus_over_voltage_stops_charge_into_that_pack_only),
        cmocka_unit_test(test_bus_under_voltage_stops_discharge_from_that_pack_only),
        cmocka_unit_test(test_bus_charge_into_only_blocked_packs_cannot_flow),
        cmocka_unit_test(test_bus_share_over_the_charge_over_current_cutoff_moves_to_the_others),
        cmocka_unit_test(test_bus_each_pack_reports_its_own_share_over_its_uart),
        cmocka_unit_test(test_bus_muted_pack_answers_nothing_but_still_carries_current),
        cmocka_unit_test(test_bus_demo_day_scales_to_the_bank_and_charges_first),
        cmocka_unit_test(test_bus_demo_charge_keeps_every_cell_near_full_plus_10mv),
        cmocka_unit_test(test_bus_is_deterministic_for_its_seeds),
        cmocka_unit_test(test_bus_dvcc_demo_charge_keeps_to_the_ccl),
        cmocka_unit_test(test_bus_dvcc_demo_charge_tapers_to_zero_at_the_cvl_without_oscillating),
        cmocka_unit_test(test_bus_dvcc_demo_discharge_keeps_to_the_dcl_and_stops_at_the_dvl),
        cmocka_unit_test(test_bus_dvcc_limits_not_renewed_for_5s_stop_charge_and_discharge),
        cmocka_unit_test(test_bus_dvcc_never_set_or_cleared_runs_the_demo_day_unchanged),
        cmocka_unit_test(test_bus_dvcc_bad_limits_are_refused_and_change_nothing),
        cmocka_unit_test(test_bus_mismatched_config_varies_packs_around_the_base),
        cmocka_unit_test(test_bus_init_rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
