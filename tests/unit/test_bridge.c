/*
 * Black-box tests of bridge.h: a fake TinyBMS (a register image answered
 * through the real frame codec) on the UART side, frames decoded with the
 * real Victron decoders on the CAN side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "bridge.h"
#include "victron_alarms.h"
#include "wire.h"

#define MS 1000ull
#define S  1000000ull

static uint16_t regs[600];
static bool bms_alive;
static brg_t brg;
static brg_config_t cfg;
static uint64_t now;

static void put_f32(uint16_t addr, float v)
{
    uint32_t bits = wire_f32_to_bits(v);
    regs[addr] = (uint16_t)(bits & 0xFFFFu); /* low word first */
    regs[addr + 1] = (uint16_t)(bits >> 16);
}

static void put_u32(uint16_t addr, uint32_t v)
{
    regs[addr] = (uint16_t)(v & 0xFFFFu);
    regs[addr + 1] = (uint16_t)(v >> 16);
}

/* A 16S LFP pack at 3.300..3.315 V, 10.5 A charging, 55.5 % SOC, 25 C. */
static void make_pack(void)
{
    memset(regs, 0, sizeof regs);
    uint32_t sum_100uv = 0;
    for (uint16_t i = 0; i < 16; i++) {
        regs[i] = (uint16_t)(33000 + i * 10);
        sum_100uv += regs[i];
    }
    put_u32(32, 1000000);
    put_f32(36, (float)sum_100uv / 10000.0f);
    put_f32(38, 10.5f);
    regs[40] = 3300;
    regs[41] = 3315;
    regs[42] = 250;
    regs[43] = 0x8000; /* sensor 2 absent */
    regs[45] = 50000;
    put_u32(46, 55500000);
    regs[48] = 300;
    regs[50] = 0x91;
    regs[53] = 16;
    regs[300] = 3550;
    regs[301] = 2900;
    regs[303] = 3400;
    regs[304] = 1000;
    regs[306] = 28000;
    regs[307] = 16;
    regs[308] = 15;
    regs[315] = 3650;
    regs[316] = 2800;
    regs[317] = 150;
    regs[318] = 80;
    regs[319] = 60;
    regs[320] = 0;
    regs[500] = 0x0102;
    regs[501] = 0x0301;
    regs[502] = 242;
}

/* The fake BMS answers one request from the register image, latency later. */
static void answer(const tbms_poll_tx_t *tx, uint64_t latency_us)
{
    tbms_frame_t req;
    assert_int_equal(tbms_parse(TBMS_DIR_REQUEST, tx->bytes, tx->len, &req), TBMS_OK);
    uint8_t out[TBMS_FRAME_MAX];
    size_t n;
    assert_int_equal(tbms_build_read_response(&regs[req.addr], req.count, out, sizeof out, &n),
                     TBMS_OK);
    brg_uart_rx(&brg, out, n, now + latency_us);
}

/* Runs the UART side until `until`, answering every request at once. */
static void run_uart(uint64_t until)
{
    while (now <= until) {
        tbms_poll_tx_t tx;
        if (brg_uart_step(&brg, now, &tx) && bms_alive) {
            answer(&tx, 0);
        }
        uint64_t next = brg_next_us(&brg);
        now = next > now ? (next < until + 1 ? next : until + 1) : now + 1 * MS;
    }
}

static int setup(void **state)
{
    (void)state;
    make_pack();
    bms_alive = true;
    now = 0;
    brg_default_config(&cfg);
    assert_int_equal(brg_init(&brg, &cfg, now), TBMS_OK);
    return 0;
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

static void test_bridge_transmits_nothing_before_first_valid_read(void **state)
{
    (void)state;
    vcan_frame_t f[BRG_MAX_FRAMES_PER_TICK];
    bms_alive = false;
    run_uart(3 * S);
    assert_int_equal(brg_can_tx(&brg, now, f, BRG_MAX_FRAMES_PER_TICK), 0);
    assert_int_equal(brg_data_state(&brg, now), BRG_DATA_WAITING);
}

static void test_bridge_first_burst_has_every_frame_and_351_first(void **state)
{
    (void)state;
    run_uart(50 * MS);
    vcan_frame_t f[BRG_MAX_FRAMES_PER_TICK];
    size_t n = brg_can_tx(&brg, now, f, BRG_MAX_FRAMES_PER_TICK);
    assert_int_equal(f[0].id, 0x351);
    static const uint16_t ids[] = {0x351, 0x355, 0x356, 0x35A, 0x35E, 0x35F, 0x370, 0x371, 0x382,
                                   0x372, 0x373, 0x374, 0x375, 0x376, 0x377, 0x378, 0x379};
    assert_int_equal(n, sizeof ids / sizeof ids[0]);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(f[i].id, ids[i]);
        assert_int_equal(f[i].dlc, 8);
    }
    /* the next call in the same instant sends nothing more */
    assert_int_equal(brg_can_tx(&brg, now, f, BRG_MAX_FRAMES_PER_TICK), 0);
}

static void test_bridge_frames_carry_the_bms_values(void **state)
{
    (void)state;
    run_uart(50 * MS);
    vcan_frame_t f[BRG_MAX_FRAMES_PER_TICK];
    size_t n = brg_can_tx(&brg, now, f, BRG_MAX_FRAMES_PER_TICK);
    vcan_decoded_t d;

    assert_int_equal(vcan_decode(find(f, n, 0x351), &d), VCAN_OK);
    assert_int_equal(d.limits.cvl_mv, 55200); /* 16 x 3450 mV, below 3650 - 100 */
    assert_int_equal(d.limits.ccl_da, 800);   /* capped by reg 318 = 80 A */
    assert_int_equal(d.limits.dcl_da, 1500);  /* 150 A, equal to reg 317 */
    assert_int_equal(d.limits.dvl_mv, 46400); /* 16 x 2900 mV */

    assert_int_equal(vcan_decode(find(f, n, 0x355), &d), VCAN_OK);
    assert_int_equal(d.soc.soc_pct, 56); /* 55.5 % rounds up */
    assert_int_equal(d.soc.soh_pct, 100);
    assert_int_equal(d.soc.soc_hires_cpct, 5550);

    assert_int_equal(vcan_decode(find(f, n, 0x356), &d), VCAN_OK);
    assert_int_equal(d.battery.voltage_mv, 52920); /* sum of cells 52.920 V */
    assert_int_equal(d.battery.current_da, 105);
    assert_int_equal(d.battery.temp_dc, 250); /* sensor 1 only; 2 is absent */

    assert_int_equal(vcan_decode(find(f, n, 0x373), &d), VCAN_OK);
    assert_int_equal(d.cells.min_cell_mv, 3300);
    assert_int_equal(d.cells.max_cell_mv, 3315);

    assert_int_equal(vcan_decode(find(f, n, 0x374), &d), VCAN_OK);
    assert_string_equal(d.text.text, "C1");
    assert_int_equal(vcan_decode(find(f, n, 0x375), &d), VCAN_OK);
    assert_string_equal(d.text.text, "C16");
    assert_int_equal(vcan_decode(find(f, n, 0x376), &d), VCAN_OK);
    assert_string_equal(d.text.text, "T1");

    assert_int_equal(vcan_decode(find(f, n, 0x379), &d), VCAN_OK);
    assert_int_equal(d.capacity.capacity_ah, 280);
    assert_int_equal(vcan_decode(find(f, n, 0x35E), &d), VCAN_OK);
    assert_string_equal(d.text.text, "TinyBMS");
    assert_int_equal(vcan_decode(find(f, n, 0x35F), &d), VCAN_OK);
    assert_int_equal(d.identity.fw_major, 1);
    assert_int_equal(d.identity.fw_minor, 242);

    assert_int_equal(vcan_decode(find(f, n, 0x35A), &d), VCAN_OK);
    assert_int_equal(d.alarms.alarm[VCAN_COND_HIGH_VOLTAGE], VCAN_PAIR_OK);
    assert_int_equal(d.alarms.warning[VCAN_COND_HIGH_VOLTAGE], VCAN_PAIR_OK);
    assert_int_equal(d.alarms.alarm[VCAN_COND_CONTACTOR], VCAN_PAIR_UNSUPPORTED);
}

static void test_bridge_sends_fast_frames_every_second_and_detail_every_five(void **state)
{
    (void)state;
    vcan_frame_t f[BRG_MAX_FRAMES_PER_TICK];
    unsigned c351 = 0, c373 = 0, c35e = 0;
    uint64_t last351 = 0;
    uint64_t max_gap = 0;
    for (uint64_t t = 0; t <= 20 * S; t += 10 * MS) {
        run_uart(t);
        size_t n = brg_can_tx(&brg, t, f, BRG_MAX_FRAMES_PER_TICK);
        for (size_t i = 0; i < n; i++) {
            assert_int_not_equal(f[i].id, 0x305);
            assert_int_not_equal(f[i].id, 0x307);
            if (f[i].id == 0x351) {
                if (c351++ > 0 && t - last351 > max_gap) {
                    max_gap = t - last351;
                }
                last351 = t;
            }
            c373 += f[i].id == 0x373;
            c35e += f[i].id == 0x35E;
        }
    }
    assert_int_equal(c351, 20); /* t = 0.01 s, 1.01 s ... 19.01 s */
    assert_true(max_gap <= 1 * S);
    assert_int_equal(c373, 4); /* 0.01, 5.01, 10.01, 15.01 s */
    assert_int_equal(c35e, 2);
}

static void test_bridge_stops_all_frames_when_bms_data_goes_stale_and_resumes(void **state)
{
    (void)state;
    vcan_frame_t f[BRG_MAX_FRAMES_PER_TICK];
    run_uart(1 * S);
    assert_true(brg_can_tx(&brg, now, f, BRG_MAX_FRAMES_PER_TICK) > 0);
    uint64_t lost_at = now;
    bms_alive = false;
    uint64_t stopped_at = 0;
    for (uint64_t t = lost_at; t <= lost_at + 8 * S; t += 10 * MS) {
        run_uart(t);
        size_t n = brg_can_tx(&brg, t, f, BRG_MAX_FRAMES_PER_TICK);
        if (n == 0 && stopped_at == 0 && brg_data_state(&brg, t) == BRG_DATA_STALE) {
            stopped_at = t;
        }
        if (stopped_at != 0) {
            assert_int_equal(n, 0);
        }
    }
    assert_true(stopped_at > lost_at);
    assert_true(stopped_at - lost_at <= 5 * S + 100 * MS);
    assert_int_equal(brg.counters.stale_events, 1);
    bms_alive = true;
    run_uart(now + 500 * MS);
    assert_int_equal(brg_data_state(&brg, now), BRG_DATA_VALID);
    size_t n = brg_can_tx(&brg, now, f, BRG_MAX_FRAMES_PER_TICK);
    assert_int_equal(n, 17);
    assert_int_equal(f[0].id, 0x351);
}

static void test_bridge_keepalive_follows_gx_0x305(void **state)
{
    (void)state;
    vcan_frame_t k = {.id = 0x305, .dlc = 8, .data = {0}};
    assert_false(brg_keepalive_ok(&brg, 0));
    brg_can_rx(&brg, &k, 1 * S);
    assert_true(brg_keepalive_ok(&brg, 2 * S));
    assert_true(brg_keepalive_ok(&brg, 11 * S));
    assert_false(brg_keepalive_ok(&brg, 11 * S + 1));
    vcan_frame_t h = {.id = 0x307, .dlc = 8, .data = {0x12, 0x34, 0x56, 0x78, 'V', 'I', 'C', 0}};
    brg_can_rx(&brg, &h, 2 * S);
    assert_true(brg.handshake_victron);
    vcan_frame_t other = {.id = 0x123, .dlc = 0};
    brg_can_rx(&brg, &other, 2 * S);
    assert_int_equal(brg.counters.keepalive_rx, 1);
    assert_int_equal(brg.counters.handshake_rx, 1);
    assert_int_equal(brg.counters.rx_other, 1);
}

static void test_bridge_cell_over_voltage_raises_alarm_and_blocks_charge(void **state)
{
    (void)state;
    regs[15] = 36600;
    regs[41] = 3660; /* above the 3650 mV cutoff */
    regs[50] = 0x9B;
    run_uart(50 * MS);
    vcan_frame_t f[BRG_MAX_FRAMES_PER_TICK];
    size_t n = brg_can_tx(&brg, now, f, BRG_MAX_FRAMES_PER_TICK);
    vcan_decoded_t d;
    assert_int_equal(vcan_decode(find(f, n, 0x35A), &d), VCAN_OK);
    assert_int_equal(d.alarms.alarm[VCAN_COND_HIGH_VOLTAGE], VCAN_PAIR_ACTIVE);
    assert_int_equal(d.alarms.alarm[VCAN_COND_BMS_INTERNAL], VCAN_PAIR_ACTIVE);
    assert_int_equal(find(f, n, 0x35A)->data[0] & 0x0C, 0x04); /* bits 2-3 = 0b01 */
    assert_int_equal(vcan_decode(find(f, n, 0x351), &d), VCAN_OK);
    assert_int_equal(d.limits.ccl_da, 0);
    /* The CVL controller's cell protection lowers CVL to its floor
     * (16 x 3200 mV): Victron stops charging on CVL (victron-can-bms.md A.8). */
    assert_int_equal(d.limits.cvl_mv, 51200);
    assert_int_equal(vcan_decode(find(f, n, 0x372), &d), VCAN_OK);
    assert_int_equal(d.modules.blocking_charge, 1);
}

static void test_bridge_integrates_energy_for_0x378(void **state)
{
    (void)state;
    put_f32(36, 50.0f);
    put_f32(38, 20.0f); /* 1000 W charging */
    run_uart(3600 * S);
    assert_true(brg.counters.charged_mwh >= 999000 && brg.counters.charged_mwh <= 1000000);
    assert_int_equal(brg.counters.discharged_mwh, 0);
    vcan_frame_t f[BRG_MAX_FRAMES_PER_TICK];
    size_t n = brg_build_all(&brg, f, BRG_MAX_FRAMES_PER_TICK);
    vcan_decoded_t d;
    assert_int_equal(vcan_decode(find(f, n, 0x378), &d), VCAN_OK);
    assert_int_equal(d.energy.charged_wh, 1000);
}

static void test_bridge_rejects_bad_config(void **state)
{
    (void)state;
    brg_config_t c;
    brg_default_config(&c);
    c.fast_period_us = 0;
    assert_int_equal(brg_init(&brg, &c, 0), TBMS_ERR_RANGE);
    brg_default_config(&c);
    c.poll.max_attempts = 0;
    assert_int_equal(brg_init(&brg, &c, 0), TBMS_ERR_RANGE);
    assert_int_equal(brg_init(NULL, &c, 0), TBMS_ERR_ARG);
    assert_string_equal(brg_data_state_name(BRG_DATA_STALE), "stale");
}

static void test_bridge_settings_rejected_means_no_frames(void **state)
{
    (void)state;
    regs[307] = 40; /* impossible cell count: settings decode fails */
    run_uart(2 * S);
    vcan_frame_t f[BRG_MAX_FRAMES_PER_TICK];
    assert_int_equal(brg_can_tx(&brg, now, f, BRG_MAX_FRAMES_PER_TICK), 0);
    assert_true(brg.counters.decode_errors > 0);
}

/* Steps 1 ms at a time; answers (after 1 ms) only when told to. */
static void run_uart_quiet(uint64_t until, bool reply)
{
    while (now <= until) {
        tbms_poll_tx_t tx;
        if (brg_uart_step(&brg, now, &tx) && reply) {
            answer(&tx, 1 * MS);
        }
        now += 1 * MS;
    }
}

static void test_bridge_values_in_0x351_are_fresh_when_sent(void **state)
{
    (void)state;
    vcan_frame_t f[BRG_MAX_FRAMES_PER_TICK];
    uint64_t worst = 0;
    unsigned sent = 0;
    for (uint64_t t = 0; t <= 20 * S; t += 1 * MS) {
        run_uart_quiet(t, true);
        size_t n = brg_can_tx(&brg, t, f, BRG_MAX_FRAMES_PER_TICK);
        if (n > 0 && f[0].id == 0x351) {
            uint64_t age = t - brg.last_valid_us;
            if (sent++ > 1 && age > worst) { /* after the first alignment */
                worst = age;
            }
        }
    }
    assert_true(sent >= 20);
    /* the live read is started ahead of each 0x351: values a few ms old,
     * not up to a poll interval (100 ms) */
    assert_true(worst <= 10 * MS);
}

static void test_bridge_0x351_waits_briefly_for_a_live_read_on_the_wire(void **state)
{
    (void)state;
    vcan_frame_t f[BRG_MAX_FRAMES_PER_TICK];
    run_uart(50 * MS);
    assert_true(brg_can_tx(&brg, now, f, BRG_MAX_FRAMES_PER_TICK) > 0);
    uint64_t due = brg.next_fast_us;
    /* the next live read goes out just before 0x351 is due, but its answer
     * is late: the frames wait for it, at most BRG_FAST_DEFER_MAX_US */
    run_uart_quiet(due - 1 * MS, false);
    assert_true(tbms_poller_live_in_flight(&brg.poller));
    assert_int_equal(brg_can_tx(&brg, due, f, BRG_MAX_FRAMES_PER_TICK), 0);
    assert_true(brg_next_us(&brg) > due); /* no busy loop while waiting */
    size_t n = brg_can_tx(&brg, due + BRG_FAST_DEFER_MAX_US, f, BRG_MAX_FRAMES_PER_TICK);
    assert_true(n > 0);
    assert_int_equal(f[0].id, 0x351); /* sent anyway once the wait is over */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_bridge_transmits_nothing_before_first_valid_read, setup),
        cmocka_unit_test_setup(test_bridge_first_burst_has_every_frame_and_351_first, setup),
        cmocka_unit_test_setup(test_bridge_frames_carry_the_bms_values, setup),
        cmocka_unit_test_setup(test_bridge_sends_fast_frames_every_second_and_detail_every_five,
                               setup),
        cmocka_unit_test_setup(test_bridge_stops_all_frames_when_bms_data_goes_stale_and_resumes,
                               setup),
        cmocka_unit_test_setup(test_bridge_keepalive_follows_gx_0x305, setup),
        cmocka_unit_test_setup(test_bridge_cell_over_voltage_raises_alarm_and_blocks_charge, setup),
        cmocka_unit_test_setup(test_bridge_integrates_energy_for_0x378, setup),
        cmocka_unit_test_setup(test_bridge_rejects_bad_config, setup),
        cmocka_unit_test_setup(test_bridge_settings_rejected_means_no_frames, setup),
        cmocka_unit_test_setup(test_bridge_values_in_0x351_are_fresh_when_sent, setup),
        cmocka_unit_test_setup(test_bridge_0x351_waits_briefly_for_a_live_read_on_the_wire,
                               setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
