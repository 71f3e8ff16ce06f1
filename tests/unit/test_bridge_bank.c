/*
 * Black-box tests of a bridge reading several packs (bridge.h with
 * cfg.packs > 1, the policy of bank.h): fake TinyBMS images through the
 * real frame codec on each UART, frames decoded with the real Victron
 * decoders on the CAN side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "bridge.h"
#include "fake_bms.h"
#include "victron_alarms.h"
#include "wire.h"

#define MS 1000ull
#define S  1000000ull

static uint16_t regs[BRG_MAX_PACKS][FAKE_BMS_REGS];
static const uint16_t *images[BRG_MAX_PACKS];
static bool alive[BRG_MAX_PACKS];
static brg_t brg;
static brg_config_t cfg;
static uint64_t now;
static size_t n_packs;

static void run(uint64_t until)
{
    fake_bms_run_packs(&brg, images, alive, n_packs, &now, until);
}

/* n 16S packs as fake_bms_pack (10.5 A each, 80 A charge / 150 A
 * discharge over-current), bank caps raised so that the packs' own limits
 * decide: 300 A charge, 400 A discharge. */
static void start(size_t n)
{
    n_packs = n;
    for (size_t i = 0; i < n; i++) {
        fake_bms_pack(regs[i], 16);
        images[i] = regs[i];
        alive[i] = true;
    }
    now = 0;
    brg_default_config(&cfg);
    cfg.packs = (uint8_t)n;
    cfg.charge.max_charge_ma = 300000u;
    cfg.charge.max_discharge_ma = 400000u;
    assert_int_equal(brg_init(&brg, &cfg, now), TBMS_OK);
}

static int teardown(void **state)
{
    (void)state;
    return 0;
}

/* The frames as they would go now: the bank stepped at now first. */
static size_t frames(vcan_frame_t *out, size_t cap)
{
    brg_refresh(&brg, now);
    return brg_build_all(&brg, out, cap);
}

static const vcan_frame_t *find(const vcan_frame_t *f, size_t n, uint16_t id)
{
    for (size_t i = 0; i < n; i++) {
        if (f[i].id == id) {
            return &f[i];
        }
    }
    return NULL;
}

/* The frame id of the frames as they would go now (it must be there). */
static vcan_frame_t frame(uint16_t id)
{
    vcan_frame_t f[32];
    size_t n = frames(f, 32);
    const vcan_frame_t *m = find(f, n, id);
    assert_non_null(m);
    return *m;
}

static vcan_modules_t modules(void)
{
    vcan_frame_t f = frame(VCAN_ID_MODULES);
    vcan_modules_t out;
    assert_int_equal(vcan_decode_modules(&f, &out), VCAN_OK);
    return out;
}

static vcan_limits_t limits(void)
{
    vcan_frame_t f = frame(VCAN_ID_LIMITS);
    vcan_limits_t out;
    assert_int_equal(vcan_decode_limits(&f, &out), VCAN_OK);
    return out;
}

static vcan_alarms_t alarms(void)
{
    vcan_frame_t f = frame(VCAN_ID_ALARMS);
    vcan_alarms_t out;
    assert_int_equal(vcan_decode_alarms(&f, &out), VCAN_OK);
    return out;
}

static void test_bank_config_is_checked(void **state)
{
    (void)state;
    brg_default_config(&cfg);
    cfg.packs = 0;
    assert_int_equal(brg_init(&brg, &cfg, 0), TBMS_ERR_RANGE);
    cfg.packs = BRG_MAX_PACKS + 1u;
    assert_int_equal(brg_init(&brg, &cfg, 0), TBMS_ERR_RANGE);
    cfg.packs = 2;
    cfg.bank.min_packs = 3; /* more than there are: the limits could never leave 0 */
    assert_int_equal(brg_init(&brg, &cfg, 0), TBMS_ERR_RANGE);
    cfg.bank.min_packs = 2;
    assert_int_equal(brg_init(&brg, &cfg, 0), TBMS_OK);
    /* Each pack is a UART: the count changes only at a restart. */
    brg_config_t other = cfg;
    other.packs = 3;
    other.bank.min_packs = 1;
    assert_int_equal(brg_reconfigure(&brg, &other, 0), TBMS_ERR_RANGE);
    assert_int_equal(brg.n_packs, 2);
    /* A pack beyond the count does nothing. */
    tbms_poll_tx_t tx;
    assert_false(brg_uart_step(&brg, 2, 0, &tx));
}

static void test_two_equal_packs_are_one_battery(void **state)
{
    (void)state;
    start(2);
    run(3 * S);
    assert_int_equal(brg_data_state(&brg, now), BRG_DATA_VALID);
    /* Each pack allows its own 80 A, 76 A in the bank (5 % below its
     * over-current cutoff, BANK_OC_HEADROOM_PM), and the currents split
     * 50/50, so the sum and each pack over its share allow 152 A; the guard
     * assumes the next amperes may split 75/25 (1.5 x the equal share):
     * 21 A + (76 A - 10.5 A) / 0.75 = 108.33 A. */
    vcan_limits_t l = limits();
    assert_int_equal(l.ccl_da, 1083);
    assert_int_equal(brg.bank_out.ccl_bound, BANK_BOUND_SHARE);
    /* Nothing is discharged: the shares are assumed (75/25) for all of the
     * discharge to come, from the -21 A flowing now:
     * -21 A + (142.5 A + 10.5 A) / 0.75 = 183 A. */
    assert_int_equal(l.dcl_da, 1830);
    vcan_modules_t m = modules();
    assert_int_equal(m.online, 2);
    assert_int_equal(m.offline, 0);
    assert_int_equal(m.blocking_charge, 0);

    vcan_frame_t f[32];
    size_t n = frames(f, 32);
    vcan_battery_t bat;
    assert_int_equal(vcan_decode_battery(find(f, n, VCAN_ID_BATTERY), &bat), VCAN_OK);
    assert_int_equal(bat.current_da, 210); /* 10.5 A + 10.5 A */
    vcan_capacity_t cap;
    assert_int_equal(vcan_decode_capacity(find(f, n, VCAN_ID_CAPACITY), &cap), VCAN_OK);
    assert_int_equal(cap.capacity_ah, 560); /* 280 Ah each */
    vcan_text_t t;
    assert_int_equal(vcan_decode_text(find(f, n, VCAN_ID_MAX_CELL_V_NAME), &t), VCAN_OK);
    assert_string_equal(t.text, "P1C16");
}

static void test_unequal_currents_limit_the_bank_by_the_busier_pack(void **state)
{
    (void)state;
    start(2);
    /* Pack 1 takes 14 A, pack 2 6 A: pack 1 carries 70 % of any current. */
    fake_bms_f32(regs[0], 38, 14.0f);
    fake_bms_f32(regs[1], 38, 6.0f);
    run(3 * S);
    /* min(sum 152 A, 76 A / 0.7 = 108.57 A, guard 20 A + 62 A / 0.75 = 102.67 A). */
    assert_int_equal(limits().ccl_da, 1026);
    assert_int_equal(brg.bank_out.ccl_bound, BANK_BOUND_SHARE);
    assert_int_equal(brg.bank_out.ccl_pack, 1);
}

static void test_a_pack_in_fault_stops_contributing_at_once(void **state)
{
    (void)state;
    start(2);
    run(3 * S);
    assert_int_equal(limits().ccl_da, 1083);
    regs[1][50] = 0x9B; /* pack 2: FAULT */
    run(now + 300 * MS); /* a few reads, far less than one 0x351 period */
    /* Pack 2's current is left out; pack 1 alone carries the bank: 76 A. */
    assert_int_equal(limits().ccl_da, 760);
    vcan_modules_t m = modules();
    assert_int_equal(m.online, 2);
    assert_int_equal(m.blocking_charge, 1);
    vcan_alarms_t a = alarms();
    assert_int_equal(a.alarm[VCAN_COND_BMS_INTERNAL], VCAN_PAIR_ACTIVE); /* pack 2's FAULT */
}

static void test_a_silent_pack_warns_then_the_others_carry_on(void **state)
{
    (void)state;
    start(2);
    run(3 * S);
    alive[1] = false; /* pack 2's UART goes silent, the pack stays connected */
    run(now + 6 * S); /* past the 5 s stale limit, within the 10 s grace */
    assert_int_equal(brg_data_state(&brg, now), BRG_DATA_VALID);
    assert_int_equal(brg.bank_out.pack[1].state, BANK_PACK_SILENT);
    vcan_alarms_t a = alarms();
    assert_int_equal(a.warning[VCAN_COND_BMS_INTERNAL], VCAN_PAIR_ACTIVE);
    /* Within the grace its last values still count. */
    assert_int_equal(limits().ccl_da, 1083);
    run(now + 10 * S); /* the grace (from the stale limit on) is over */
    assert_int_equal(brg.bank_out.pack[1].state, BANK_PACK_OFFLINE);
    /* The others' shares: of the fresh packs alone. */
    assert_int_equal(limits().ccl_da, 760);
    vcan_modules_t m = modules();
    assert_int_equal(m.online, 1);
    assert_int_equal(m.offline, 1);
    assert_int_equal(brg_data_state(&brg, now), BRG_DATA_VALID);
}

static void test_every_pack_silent_stops_the_battery_frames(void **state)
{
    (void)state;
    start(2);
    run(3 * S);
    alive[0] = false;
    alive[1] = false;
    run(now + 6 * S);
    assert_int_equal(brg_data_state(&brg, now), BRG_DATA_STALE);
    vcan_frame_t f[BRG_MAX_FRAMES_PER_TICK];
    assert_int_equal(brg_can_tx(&brg, now, f, BRG_MAX_FRAMES_PER_TICK), 0);
    /* And they come back with the data. */
    alive[0] = true;
    alive[1] = true;
    run(now + 1 * S);
    assert_int_equal(brg_data_state(&brg, now), BRG_DATA_VALID);
}

static void test_a_pack_rejoins_after_the_hold_inside_the_window(void **state)
{
    (void)state;
    start(2);
    run(3 * S);
    alive[1] = false;
    run(now + 16 * S); /* stale after 5 s, offline after the 10 s grace */
    assert_int_equal(brg.bank_out.pack[1].state, BANK_PACK_OFFLINE);
    alive[1] = true;
    run(now + 2 * S);
    assert_int_equal(brg.bank_out.pack[1].state, BANK_PACK_JOINING);
    assert_int_equal(modules().online, 1);
    run(now + 10 * S);
    assert_int_equal(brg.bank_out.pack[1].state, BANK_PACK_ONLINE);
    assert_int_equal(modules().online, 2);
}

static void test_a_pack_far_from_the_bank_voltage_does_not_rejoin(void **state)
{
    (void)state;
    start(2);
    run(3 * S);
    alive[1] = false;
    run(now + 16 * S);
    /* It comes back 1 V (62 mV a cell) above the bank: outside 50 mV x 16. */
    float v = wire_f32_from_bits((uint32_t)regs[1][36] | ((uint32_t)regs[1][37] << 16));
    fake_bms_f32(regs[1], 36, v + 1.0f);
    alive[1] = true;
    run(now + 15 * S);
    assert_int_equal(brg.bank_out.pack[1].state, BANK_PACK_JOINING);
    assert_true(brg.bank_out.warnings & BANK_WARN_VOLTAGE_MISMATCH);
    assert_int_equal(modules().online, 1);
}

static void test_below_min_packs_the_limits_are_zero(void **state)
{
    (void)state;
    n_packs = 2;
    for (size_t i = 0; i < 2; i++) {
        fake_bms_pack(regs[i], 16);
        images[i] = regs[i];
        alive[i] = true;
    }
    now = 0;
    brg_default_config(&cfg);
    cfg.packs = 2;
    cfg.bank.min_packs = 2;
    cfg.bank.offline_grace_us = 0; /* a silent pack is dropped at once */
    assert_int_equal(brg_init(&brg, &cfg, now), TBMS_OK);
    run(3 * S);
    assert_true(limits().ccl_da > 0);
    alive[1] = false;
    run(now + 6 * S);
    vcan_limits_t l = limits();
    assert_int_equal(l.ccl_da, 0);
    assert_int_equal(l.dcl_da, 0);
    assert_int_equal(brg.bank_out.ccl_bound, BANK_BOUND_MIN_PACKS);
}

static void test_energy_counts_every_pack(void **state)
{
    (void)state;
    start(2);
    run(3 * S);
    uint64_t c0 = brg.counters.charged_mwh;
    run(now + 3600 * S); /* an hour at 2 x 10.5 A x 52.92 V */
    uint64_t wh = (brg.counters.charged_mwh - c0) / 1000u;
    /* 2 x 555.7 Wh; the first read of the hour is integrated too. */
    assert_in_range(wh, 1108, 1113);
}

static void test_one_pack_bridge_has_no_bank(void **state)
{
    (void)state;
    start(1);
    run(3 * S);
    assert_int_equal(brg.n_packs, 1);
    vcan_frame_t f[32];
    size_t n = frames(f, 32);
    vcan_text_t t;
    assert_int_equal(vcan_decode_text(find(f, n, VCAN_ID_MAX_CELL_V_NAME), &t), VCAN_OK);
    assert_string_equal(t.text, "C16"); /* no pack in the id */
    assert_false(brg.bank_out.valid);   /* the bank is never stepped */
    assert_int_equal(limits().ccl_da, 800); /* the pack's own 80 A: no bank headroom */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_bank_config_is_checked, teardown),
        cmocka_unit_test_teardown(test_two_equal_packs_are_one_battery, teardown),
        cmocka_unit_test_teardown(test_unequal_currents_limit_the_bank_by_the_busier_pack,
                                  teardown),
        cmocka_unit_test_teardown(test_a_pack_in_fault_stops_contributing_at_once, teardown),
        cmocka_unit_test_teardown(test_a_silent_pack_warns_then_the_others_carry_on, teardown),
        cmocka_unit_test_teardown(test_every_pack_silent_stops_the_battery_frames, teardown),
        cmocka_unit_test_teardown(test_a_pack_rejoins_after_the_hold_inside_the_window, teardown),
        cmocka_unit_test_teardown(test_a_pack_far_from_the_bank_voltage_does_not_rejoin,
                                  teardown),
        cmocka_unit_test_teardown(test_below_min_packs_the_limits_are_zero, teardown),
        cmocka_unit_test_teardown(test_energy_counts_every_pack, teardown),
        cmocka_unit_test_teardown(test_one_pack_bridge_has_no_bank, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
