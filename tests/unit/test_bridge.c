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

#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "fake_bms.h"
#include "victron_alarms.h"
#include "wire.h"

#define MS 1000ull
#define S  1000000ull

static uint16_t regs[FAKE_BMS_REGS];
static bool bms_alive;
static brg_t brg;
static brg_config_t cfg;
static uint64_t now;

static void put_f32(uint16_t addr, float v)
{
    fake_bms_f32(regs, addr, v);
}

/* A 16S LFP pack at 3.300..3.315 V, 10.5 A charging, 55.5 % SOC, 25 C. */
static void make_pack(void)
{
    fake_bms_pack(regs, 16);
}

/* Runs the UART side until `until`, answering every request at once. */
static void run_uart(uint64_t until)
{
    fake_bms_run(&brg, regs, bms_alive, &now, until);
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
    assert_int_equal(d.limits.ccl_da, 500);   /* default 50 A, below reg 318 = 80 A */
    assert_int_equal(d.limits.dcl_da, 1000);  /* default 100 A, below reg 317 = 150 A */
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

/* Deterministic pseudo-random answer time in [lo, hi]. */
static uint32_t lcg_state;
static uint64_t latency_between(uint64_t lo, uint64_t hi)
{
    lcg_state = lcg_state * 1103515245u + 12345u;
    return lo + (lcg_state >> 8) % (hi - lo + 1u);
}

#define BURSTS_MAX 400u
typedef struct {
    uint64_t t[BURSTS_MAX];   /* when each 0x351 left */
    uint64_t age[BURSTS_MAX]; /* its values' age: time since the live answer arrived */
    unsigned n;
} bursts_t;

/*
 * The whole bridge with a BMS that answers each request lat_lo..lat_hi
 * later (half-duplex: one answer pending at a time), driven the way the
 * daemon's loop is: answer bytes in, UART step, CAN frames out, then
 * sleep until the bridge's or the answer's next time.
 */
static void run_with_latency(uint64_t until, uint64_t lat_lo, uint64_t lat_hi, bursts_t *bs)
{
    uint8_t pend[TBMS_FRAME_MAX];
    size_t pend_n = 0;
    uint64_t pend_at = UINT64_MAX;
    while (now <= until) {
        if (pend_at <= now) {
            brg_uart_rx(&brg, 0u, pend, pend_n, now);
            pend_at = UINT64_MAX;
        }
        tbms_poll_tx_t tx;
        if (brg_uart_step(&brg, 0u, now, &tx) && bms_alive) {
            assert_true(fake_bms_answer(regs, &tx, pend, sizeof pend, &pend_n));
            pend_at = now + latency_between(lat_lo, lat_hi);
        }
        vcan_frame_t f[BRG_MAX_FRAMES_PER_TICK];
        size_t n = brg_can_tx(&brg, now, f, BRG_MAX_FRAMES_PER_TICK);
        if (n > 0 && f[0].id == 0x351 && bs != NULL && bs->n < BURSTS_MAX) {
            bs->t[bs->n] = now;
            bs->age[bs->n] = now - brg.last_valid_us;
            bs->n++;
        }
        uint64_t next = brg_next_us(&brg);
        next = pend_at < next ? pend_at : next;
        now = next > now ? next : now + 100u;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

static void test_bridge_fast_frames_leave_when_the_live_answer_arrives_at_any_latency(void **state)
{
    (void)state;
    static const uint64_t lat[][2] = {{200, 200}, {2 * MS, 25 * MS}, {10 * MS, 10 * MS},
                                      {40 * MS, 60 * MS}};
    for (unsigned k = 0; k < sizeof lat / sizeof lat[0]; k++) {
        setup(NULL);
        lcg_state = 7u + k;
        static bursts_t bs;
        memset(&bs, 0, sizeof bs);
        run_with_latency(120 * S, lat[k][0], lat[k][1], &bs);
        assert_true(bs.n >= 115);
        uint64_t periods[BURSTS_MAX];
        unsigned np = 0;
        for (unsigned i = 2; i < bs.n; i++) { /* after the first alignment */
            /* Frames out at the very turn their answer came in: the bridge
             * adds no age, whatever the BMS's answer time. */
            assert_int_equal(bs.age[i], 0);
            periods[np++] = bs.t[i] - bs.t[i - 1];
        }
        qsort(periods, np, sizeof periods[0], cmp_u64);
        uint64_t median = periods[np / 2];
        assert_true(median >= 800 * MS && median <= 1200 * MS);
        assert_true(periods[np - 1] <= 1500 * MS);
        /* The cadence is anchored: each burst within the answer-time
         * spread (plus one other block's read) of its slot. */
        assert_true(periods[0] >= 1 * S - 2 * lat[k][1] - 30 * MS);
        assert_true(periods[np - 1] <= 1 * S + 2 * lat[k][1] + 30 * MS);
    }
}

static void test_bridge_fast_frames_go_at_the_window_end_when_no_answer_comes(void **state)
{
    (void)state;
    run_with_latency(3 * S, 5 * MS, 5 * MS, NULL);
    uint64_t due = brg.next_fast_us;
    uint64_t last_read = brg.last_valid_us;
    bms_alive = false;
    static bursts_t bs;
    memset(&bs, 0, sizeof bs);
    run_with_latency(due + BRG_FAST_WINDOW_US + 10 * MS, 5 * MS, 5 * MS, &bs);
    assert_int_equal(bs.n, 1);
    assert_int_equal(bs.t[0], due + BRG_FAST_WINDOW_US); /* not before: waited for the answer */
    assert_int_equal(brg.last_valid_us, last_read);      /* the newest values there are */
    /* the next slot keeps the cadence */
    assert_int_equal(brg.next_fast_us, due + cfg.fast_period_us);
}

/* Every 0x35A condition the bridge judges is OK (none active). */
static void assert_no_alarm_or_warning(const vcan_frame_t *f, size_t n)
{
    vcan_decoded_t d;
    assert_int_equal(vcan_decode(find(f, n, 0x35A), &d), VCAN_OK);
    for (unsigned c = 0; c < VCAN_COND_COUNT; c++) {
        assert_int_not_equal(d.alarms.alarm[c], VCAN_PAIR_ACTIVE);
        assert_int_not_equal(d.alarms.warning[c], VCAN_PAIR_ACTIVE);
    }
}

static void test_bridge_healthy_4s_8s_16s_packs_raise_no_alarm_with_the_defaults(void **state)
{
    (void)state;
    static const uint16_t cells[] = {4, 8, 16};
    for (unsigned k = 0; k < 3u; k++) {
        fake_bms_pack(regs, cells[k]);
        now = 0;
        assert_int_equal(brg_init(&brg, &cfg, now), TBMS_OK);
        run_uart(2 * S);
        vcan_frame_t f[BRG_MAX_FRAMES_PER_TICK];
        size_t n = brg_build_all(&brg, f, BRG_MAX_FRAMES_PER_TICK);
        assert_true(n > 0);
        assert_no_alarm_or_warning(f, n);
        vcan_decoded_t d;
        assert_int_equal(vcan_decode(find(f, n, 0x35A), &d), VCAN_OK);
        /* the pack voltage is judged, against thresholds from the pack */
        assert_int_equal(d.alarms.alarm[VCAN_COND_LOW_VOLTAGE], VCAN_PAIR_OK);
        int32_t ov, uv;
        alm_pack_thresholds(&brg.cfg.thresholds, &brg.live, &brg.settings, &ov, &uv);
        assert_int_equal(ov, cells[k] * 3650);
        assert_int_equal(uv, cells[k] * 2800);
        /* and a pack below its own cutoff does alarm */
        fake_bms_f32(regs, 36, (float)cells[k] * 2.79f);
        run_uart(now + 500 * MS);
        n = brg_build_all(&brg, f, BRG_MAX_FRAMES_PER_TICK);
        assert_int_equal(vcan_decode(find(f, n, 0x35A), &d), VCAN_OK);
        assert_int_equal(d.alarms.alarm[VCAN_COND_LOW_VOLTAGE], VCAN_PAIR_ACTIVE);
    }
}

static void test_bridge_user_pack_thresholds_win_over_the_derived_ones(void **state)
{
    (void)state;
    cfg.thresholds.undervoltage_mv = 53000; /* above this 16S pack's 52.9 V */
    assert_int_equal(brg_init(&brg, &cfg, now), TBMS_OK);
    run_uart(1 * S);
    vcan_frame_t f[BRG_MAX_FRAMES_PER_TICK];
    size_t n = brg_build_all(&brg, f, BRG_MAX_FRAMES_PER_TICK);
    vcan_decoded_t d;
    assert_int_equal(vcan_decode(find(f, n, 0x35A), &d), VCAN_OK);
    assert_int_equal(d.alarms.alarm[VCAN_COND_LOW_VOLTAGE], VCAN_PAIR_ACTIVE);
}

static vcan_decoded_t decoded(uint16_t id)
{
    vcan_frame_t f[BRG_MAX_FRAMES_PER_TICK];
    size_t n = brg_build_all(&brg, f, BRG_MAX_FRAMES_PER_TICK);
    vcan_decoded_t d;
    memset(&d, 0, sizeof d);
    const vcan_frame_t *x = find(f, n, id);
    assert_non_null(x);
    assert_int_equal(vcan_decode(x, &d), VCAN_OK);
    return d;
}

static void test_bridge_lost_temperature_sensor_warns_and_derates_charge_until_it_returns(
    void **state)
{
    (void)state;
    cfg.charge.derate = false; /* the lost-sensor derate is a protection, not a derating */
    cfg.charge.recovery_hold_us = 0;
    cfg.charge.ramp_ma_per_s = 0;
    assert_int_equal(brg_init(&brg, &cfg, now), TBMS_OK);
    run_uart(1 * S);
    assert_int_equal(decoded(0x351).limits.ccl_da, 500);
    assert_int_equal(decoded(0x35A).alarms.warning[VCAN_COND_BMS_INTERNAL], VCAN_PAIR_OK);
    regs[42] = 0x8000; /* sensor 1 gone: only the board sensor is left */
    run_uart(now + 500 * MS);
    assert_true(brg.pack.temp.fallback);
    assert_int_equal(brg.pack.temp.used_mask, PTEMP_BIT(PTEMP_INTERNAL));
    assert_int_equal(decoded(0x35A).alarms.warning[VCAN_COND_BMS_INTERNAL], VCAN_PAIR_ACTIVE);
    assert_int_equal(decoded(0x351).limits.ccl_da, 500 * CHG_TEMP_LOST_PM / 1000);
    assert_true(brg.limits.reasons & CHG_REASON_CCL_TEMP_LOST);
    assert_int_equal(decoded(0x356).battery.temp_dc, 300); /* the board sensor, said so */
    regs[48] = 0x8000; /* and the board sensor too: no usable temperature */
    run_uart(now + 500 * MS);
    assert_false(brg.pack.temp.usable);
    assert_int_equal(decoded(0x351).limits.ccl_da, 0);
    assert_true(brg.limits.reasons & CHG_REASON_CCL_NO_TEMP);
    assert_int_equal(decoded(0x351).limits.dcl_da, 1000); /* discharging goes on */
    regs[42] = 250;
    regs[48] = 300; /* both back */
    run_uart(now + 500 * MS);
    assert_int_equal(decoded(0x351).limits.ccl_da, 500);
    assert_int_equal(decoded(0x35A).alarms.warning[VCAN_COND_BMS_INTERNAL], VCAN_PAIR_OK);
}

static void test_bridge_cold_pack_by_the_one_temperature_rule(void **state)
{
    (void)state;
    regs[42] = 20;  /* 2 C on the cells */
    regs[48] = 300; /* a warm board does not hide it */
    run_uart(1 * S);
    assert_int_equal(decoded(0x351).limits.ccl_da, 0);
    assert_int_equal(decoded(0x373).cells.min_temp_dc, 20);
    assert_int_equal(decoded(0x35A).alarms.alarm[VCAN_COND_LOW_TEMP_CHARGE], VCAN_PAIR_ACTIVE);
}

/* Puts one event in the image's log: slot 0, id, at BMS lifetime ts. */
static void put_event(uint8_t id, uint32_t ts)
{
    regs[200] = (uint16_t)(ts & 0xFFFFu);
    regs[201] = (uint16_t)((uint16_t)id << 8 | ((ts >> 16) & 0xFFu));
}

static void test_bridge_bms_fault_stops_charge_and_discharge_as_its_cause_requires(void **state)
{
    (void)state;
    static const struct {
        uint8_t event;
        bool stops_discharge;
    } cases[] = {
        {0x00, false}, /* cause unknown: the TinyBMS's load switch protects discharge */
        {0x03, false}, /* over-voltage: discharging helps */
        {0x06, false}, /* charging over-current */
        {0x02, true},  /* under-voltage */
        {0x04, true},  /* over-temperature */
        {0x05, true},  /* discharging over-current */
    };
    for (unsigned k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        make_pack();
        now = 0;
        assert_int_equal(brg_init(&brg, &cfg, now), TBMS_OK);
        run_uart(1 * S);
        assert_int_equal(decoded(0x351).limits.ccl_da, 500);
        if (cases[k].event != 0) {
            put_event(cases[k].event, 999990);
        }
        regs[50] = 0x9B; /* FAULT */
        run_uart(now + 1 * S); /* the bridge reads the event log at once */
        vcan_decoded_t lim = decoded(0x351);
        assert_int_equal(lim.limits.ccl_da, 0);
        assert_int_equal(lim.limits.dcl_da, cases[k].stops_discharge ? 0 : 1000);
        assert_int_equal(decoded(0x35A).alarms.alarm[VCAN_COND_BMS_INTERNAL], VCAN_PAIR_ACTIVE);
        assert_int_equal(brg.pack.fault_id, cases[k].event);
        regs[50] = 0x91; /* cleared */
        run_uart(now + 100 * S);
        assert_true(decoded(0x351).limits.ccl_da > 0);
        assert_int_equal(decoded(0x351).limits.dcl_da, 1000);
        assert_int_equal(decoded(0x35A).alarms.alarm[VCAN_COND_BMS_INTERNAL], VCAN_PAIR_OK);
    }
}

static void test_bridge_an_old_fault_in_the_log_is_not_taken_for_a_new_one(void **state)
{
    (void)state;
    put_event(0x02, 999000); /* an under-voltage fault, logged before */
    run_uart(1 * S);
    /* the log read at start shows it; a later over-voltage fault is not it */
    assert_true(brg.bms[0].events.valid);
    regs[50] = 0x9B;
    /* answer nothing but live reads until the fault is seen */
    uint8_t out[TBMS_FRAME_MAX];
    size_t n;
    tbms_poll_tx_t tx;
    while (brg.bms[0].fault_since_us == 0u) {
        if (brg_uart_step(&brg, 0u, now, &tx) && fake_bms_answer(regs, &tx, out, sizeof out, &n)) {
            brg_uart_rx(&brg, 0u, out, n, now);
        }
        now += 10 * MS;
    }
    assert_int_equal(brg.pack.fault_id, 0); /* not known until the log is read again */
    assert_int_equal(decoded(0x351).limits.dcl_da, 1000);
}

static void test_bridge_current_limits_are_rounded_down_on_the_wire(void **state)
{
    (void)state;
    cfg.charge.max_charge_ma = 12390;    /* 12.39 A: 12.3 A, never 12.4 */
    cfg.charge.max_discharge_ma = 20099; /* 20.099 A: 20.0 A */
    assert_int_equal(brg_init(&brg, &cfg, now), TBMS_OK);
    run_uart(1 * S);
    vcan_decoded_t d = decoded(0x351);
    assert_int_equal(d.limits.ccl_da, 123);
    assert_int_equal(d.limits.dcl_da, 200);
}

static void test_bridge_energy_counts_no_gap_longer_than_its_own_bound(void **state)
{
    (void)state;
    cfg.bms_timeout_us = 30u * 1000u * 1000u; /* a long stale limit does not widen it */
    assert_int_equal(brg_init(&brg, &cfg, now), TBMS_OK);
    put_f32(36, 50.0f);
    put_f32(38, 20.0f); /* 1000 W */
    run_uart(1 * S);
    uint64_t before = brg.counters.charged_mwh;
    /* silence for 20 s (within the 30 s stale limit), then one read */
    uint64_t t = now;
    fake_bms_run(&brg, regs, false, &now, t + 20 * S);
    run_uart(now + 50 * MS);
    /* 20 s at 1 kW would be 5.6 Wh; the gap counts nothing, the reads after
     * it at most what 50 ms give */
    assert_true(brg.counters.charged_mwh - before <= 1u);
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
        cmocka_unit_test_setup(
            test_bridge_fast_frames_leave_when_the_live_answer_arrives_at_any_latency, setup),
        cmocka_unit_test_setup(test_bridge_fast_frames_go_at_the_window_end_when_no_answer_comes,
                               setup),
        cmocka_unit_test_setup(test_bridge_healthy_4s_8s_16s_packs_raise_no_alarm_with_the_defaults,
                               setup),
        cmocka_unit_test_setup(test_bridge_user_pack_thresholds_win_over_the_derived_ones, setup),
        cmocka_unit_test_setup(
            test_bridge_lost_temperature_sensor_warns_and_derates_charge_until_it_returns, setup),
        cmocka_unit_test_setup(test_bridge_cold_pack_by_the_one_temperature_rule, setup),
        cmocka_unit_test_setup(
            test_bridge_bms_fault_stops_charge_and_discharge_as_its_cause_requires, setup),
        cmocka_unit_test_setup(test_bridge_an_old_fault_in_the_log_is_not_taken_for_a_new_one,
                               setup),
        cmocka_unit_test_setup(test_bridge_current_limits_are_rounded_down_on_the_wire, setup),
        cmocka_unit_test_setup(test_bridge_energy_counts_no_gap_longer_than_its_own_bound, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
