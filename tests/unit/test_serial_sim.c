/*
 * Tests of the simulator behind the serial vtable (port/linux/serial_sim.h):
 * one pack as `--simulate` uses it, and a bank of packs on one bus, each
 * behind its own context and pipe, read through serial_sim_ops as the
 * bridge reads a UART.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "serial_sim.h"
#include "tbms_frame.h"
#include "tbms_snapshot.h"

static serial_sim_bank_t bank;

static void open_ctx(serial_sim_t *c)
{
    char err[128] = "";
    assert_int_equal(serial_sim_ops.open(c, "simulator", 115200u, err, sizeof err), 0);
    assert_true(serial_sim_ops.fd(c) >= 0);
}

/* Sends a read of the live block; returns the bytes that came back. */
static size_t ask_live(serial_sim_t *c, uint8_t *out, size_t cap)
{
    uint8_t req[TBMS_READ_REQ_LEN];
    size_t n = 0;
    assert_int_equal(tbms_build_read(0u, TBMS_LIVE_REG_COUNT, req, sizeof req, &n), TBMS_OK);
    assert_int_equal(serial_sim_ops.write(c, req, n), (ssize_t)n);
    ssize_t r = serial_sim_ops.read(c, out, cap);
    assert_true(r >= 0);
    return (size_t)r;
}

static tbms_live_t read_live(serial_sim_t *c)
{
    uint8_t out[512];
    size_t n = ask_live(c, out, sizeof out);
    tbms_frame_t f;
    assert_int_equal(tbms_parse(TBMS_DIR_RESPONSE, out, n, &f), TBMS_OK);
    uint16_t regs[TBMS_LIVE_REG_COUNT];
    size_t got = 0;
    assert_int_equal(tbms_frame_registers(&f, regs, TBMS_LIVE_REG_COUNT, &got), TBMS_OK);
    tbms_live_t live;
    assert_int_equal(tbms_decode_live(regs, TBMS_LIVE_REG_COUNT, 0u, &live), TBMS_OK);
    return live;
}

static void close_bank(void)
{
    for (unsigned i = 0; i < SERIAL_SIM_BANK_MAX; i++) {
        serial_sim_t *c = serial_sim_bank_ctx(&bank, i);
        if (c != NULL) {
            serial_sim_ops.close(c);
        }
    }
}

static void test_serial_sim_single_pack_answers_as_one_16s_pack(void **state)
{
    (void)state;
    static serial_sim_t ctx;
    serial_sim_ctx_init(&ctx);
    assert_null(ctx.bank);
    assert_int_equal(serial_sim_ops.fd(&ctx), -1);
    open_ctx(&ctx);
    tbms_live_t live = read_live(&ctx);
    assert_int_equal(live.cell_count, 16);
    assert_in_range(live.soc_cpct, 5000, 6000); /* default 55 % */
    serial_sim_ops.close(&ctx);
    assert_int_equal(serial_sim_ops.fd(&ctx), -1);
}

static void test_serial_sim_bank_pack_configs_differ_but_share_cells_and_time(void **state)
{
    (void)state;
    tbms_sim_config_t c0 = serial_sim_bank_pack_config(0u);
    tbms_sim_config_t c1 = serial_sim_bank_pack_config(1u);
    assert_true(c1.capacity_ah == 0.8f * c0.capacity_ah);
    assert_true(c1.soc_pct == c0.soc_pct - 10.0f);
    assert_true(c1.cell_resistance_mohm > 1.29f * 0.5f && c1.cell_resistance_mohm < 1.31f * 0.5f);
    for (unsigned i = 0; i < SERIAL_SIM_BANK_MAX; i++) {
        tbms_sim_config_t c = serial_sim_bank_pack_config(i);
        assert_int_equal(c.cells, c0.cells);
        assert_true(c.time_scale == c0.time_scale);
        assert_int_equal(c.demo_profile, c0.demo_profile);
        for (unsigned j = 0; j < i; j++) {
            assert_int_not_equal(serial_sim_bank_pack_config(j).seed, c.seed);
        }
    }
}

static void test_serial_sim_bank_packs_report_shares_summing_to_the_bank_current(void **state)
{
    (void)state;
    assert_int_equal(serial_sim_bank_init(&bank, 4u, NULL), 0);
    for (unsigned i = 0; i < 4u; i++) {
        open_ctx(serial_sim_bank_ctx(&bank, i));
    }
    tbms_sim_bus_set_current_ma(serial_sim_bank_bus(&bank), 60000);
    int32_t total = 0;
    int32_t lo = INT32_MAX;
    int32_t hi = INT32_MIN;
    for (unsigned i = 0; i < 4u; i++) {
        tbms_live_t live = read_live(serial_sim_bank_ctx(&bank, i));
        assert_int_equal(live.cell_count, 16);
        total += live.pack_ma;
        lo = live.pack_ma < lo ? live.pack_ma : lo;
        hi = live.pack_ma > hi ? live.pack_ma : hi;
    }
    /* Read a few ms apart while the bus keeps stepping: within a few mA. */
    assert_in_range(total, 60000 - 8, 60000 + 8);
    assert_true(hi - lo > 1000); /* mismatched packs do not share equally */
    close_bank();
}

static void test_serial_sim_bank_open_switch_pack_reports_zero_amps(void **state)
{
    (void)state;
    assert_int_equal(serial_sim_bank_init(&bank, 3u, NULL), 0);
    for (unsigned i = 0; i < 3u; i++) {
        open_ctx(serial_sim_bank_ctx(&bank, i));
    }
    tbms_sim_bus_t *bus = serial_sim_bank_bus(&bank);
    tbms_sim_bus_set_current_ma(bus, -50000);
    serial_sim_bank_set_switch_open(&bank, 1u, true);
    assert_int_equal(tbms_sim_bus_path(bus, 1u), TBMS_SIM_BUS_OPEN_FORCED);
    assert_int_equal(read_live(serial_sim_bank_ctx(&bank, 1u)).pack_ma, 0);
    int32_t others = read_live(serial_sim_bank_ctx(&bank, 0u)).pack_ma +
                     read_live(serial_sim_bank_ctx(&bank, 2u)).pack_ma;
    assert_in_range(others, -50000 - 8, -50000 + 8);
    serial_sim_bank_set_switch_open(&bank, 1u, false);
    assert_true(read_live(serial_sim_bank_ctx(&bank, 1u)).pack_ma < 0);
    close_bank();
}

static void test_serial_sim_bank_muted_pack_answers_nothing_and_others_do(void **state)
{
    (void)state;
    assert_int_equal(serial_sim_bank_init(&bank, 2u, NULL), 0);
    open_ctx(serial_sim_bank_ctx(&bank, 0u));
    open_ctx(serial_sim_bank_ctx(&bank, 1u));
    tbms_sim_bus_set_current_ma(serial_sim_bank_bus(&bank), 20000);
    serial_sim_bank_set_muted(&bank, 0u, true);
    uint8_t out[512];
    assert_int_equal(ask_live(serial_sim_bank_ctx(&bank, 0u), out, sizeof out), 0);
    assert_true(tbms_sim_bus_pack_current_ma(serial_sim_bank_bus(&bank), 0u) != 0);
    tbms_live_t live = read_live(serial_sim_bank_ctx(&bank, 1u));
    assert_in_range(live.pack_ma + tbms_sim_bus_pack_current_ma(serial_sim_bank_bus(&bank), 0u),
                    20000 - 8, 20000 + 8);
    serial_sim_bank_set_muted(&bank, 0u, false);
    assert_true(ask_live(serial_sim_bank_ctx(&bank, 0u), out, sizeof out) > 0);
    close_bank();
}

static void test_serial_sim_bank_reopen_keeps_the_pack_state(void **state)
{
    (void)state;
    assert_int_equal(serial_sim_bank_init(&bank, 2u, NULL), 0);
    serial_sim_t *c = serial_sim_bank_ctx(&bank, 1u);
    open_ctx(c);
    tbms_sim_write_settings(&c->sim, 328u, (const uint16_t[]){30000u}, 1u); /* SOC 60 % */
    serial_sim_ops.close(c);
    open_ctx(c);
    assert_in_range(read_live(c).soc_cpct, 5990, 6010); /* not back to 45 % */
    close_bank();
}

static void test_serial_sim_dvcc_limits_cap_the_single_pack_demo_current(void **state)
{
    (void)state;
    static serial_sim_t ctx;
    serial_sim_ctx_init(&ctx);
    /* The simulator exists from open() on. */
    assert_int_equal(serial_sim_set_dvcc_limits(&ctx, 10000, 10000, 56000, 48000), -EINVAL);
    open_ctx(&ctx);
    assert_true(read_live(&ctx).pack_ma > 50000); /* the demo day charges 0.2 C = 56 A */
    assert_int_equal(serial_sim_set_dvcc_limits(&ctx, 10000, 10000, 56000, 48000), 0);
    tbms_live_t live = read_live(&ctx);
    assert_in_range(live.pack_ma, 9990, 10000);
    assert_int_equal(serial_sim_set_dvcc_limits(&ctx, -1, 10000, 56000, 48000), -EINVAL);
    assert_int_equal(serial_sim_set_dvcc_limits(NULL, 1, 1, 1, 1), -EINVAL);
    assert_in_range(read_live(&ctx).pack_ma, 9990, 10000); /* unchanged */
    serial_sim_ops.close(&ctx);
}

static void test_serial_sim_dvcc_limits_cap_the_bank_demo_current(void **state)
{
    (void)state;
    assert_int_equal(serial_sim_bank_init(&bank, 3u, NULL), 0);
    for (unsigned i = 0; i < 3u; i++) {
        open_ctx(serial_sim_bank_ctx(&bank, i));
    }
    /* Without limits: 0.2 C of 784 Ah. */
    assert_true(tbms_sim_bus_requested_ma(serial_sim_bank_bus(&bank)) > 150000);
    assert_int_equal(serial_sim_bank_set_dvcc_limits(&bank, 50000, 100000, 56000, 48000), 0);
    assert_int_equal(tbms_sim_bus_requested_ma(serial_sim_bank_bus(&bank)), 50000);
    int32_t total = 0;
    for (unsigned i = 0; i < 3u; i++) {
        total += read_live(serial_sim_bank_ctx(&bank, i)).pack_ma;
    }
    /* Read a few ms apart while the bus keeps stepping: within a few mA. */
    assert_in_range(total, 50000 - 8, 50000 + 8);
    /* A bank pack takes the bank's limits, not its own. */
    assert_int_equal(serial_sim_set_dvcc_limits(serial_sim_bank_ctx(&bank, 0u), 1, 1, 1, 1),
                     -EINVAL);
    assert_int_equal(serial_sim_bank_set_dvcc_limits(&bank, 1, 1, 1, -1), -EINVAL);
    assert_int_equal(serial_sim_bank_set_dvcc_limits(NULL, 1, 1, 1, 1), -EINVAL);
    assert_int_equal(tbms_sim_bus_requested_ma(serial_sim_bank_bus(&bank)), 50000);
    close_bank();
}

static void test_serial_sim_bank_init_rejects_bad_arguments(void **state)
{
    (void)state;
    assert_int_equal(serial_sim_bank_init(NULL, 2u, NULL), -EINVAL);
    assert_int_equal(serial_sim_bank_init(&bank, 0u, NULL), -EINVAL);
    assert_int_equal(serial_sim_bank_init(&bank, SERIAL_SIM_BANK_MAX + 1u, NULL), -EINVAL);
    tbms_sim_config_t cfgs[2] = {serial_sim_bank_pack_config(0u), serial_sim_bank_pack_config(1u)};
    cfgs[1].time_scale = 60.0f;
    assert_int_equal(serial_sim_bank_init(&bank, 2u, cfgs), -EINVAL);
    cfgs[1].time_scale = cfgs[0].time_scale;
    cfgs[1].cells = 2u;
    assert_int_equal(serial_sim_bank_init(&bank, 2u, cfgs), -EINVAL);
    assert_null(serial_sim_bank_ctx(&bank, 0u));
    assert_int_equal(serial_sim_bank_init(&bank, 1u, NULL), 0);
    assert_non_null(serial_sim_bank_ctx(&bank, 0u));
    assert_null(serial_sim_bank_ctx(&bank, 1u));
    serial_sim_bank_set_switch_open(&bank, 7u, true); /* ignored */
    serial_sim_bank_set_muted(&bank, 7u, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serial_sim_single_pack_answers_as_one_16s_pack),
        cmocka_unit_test(test_serial_sim_bank_pack_configs_differ_but_share_cells_and_time),
        cmocka_unit_test(test_serial_sim_bank_packs_report_shares_summing_to_the_bank_current),
        cmocka_unit_test(test_serial_sim_bank_open_switch_pack_reports_zero_amps),
        cmocka_unit_test(test_serial_sim_bank_muted_pack_answers_nothing_and_others_do),
        cmocka_unit_test(test_serial_sim_bank_reopen_keeps_the_pack_state),
        cmocka_unit_test(test_serial_sim_dvcc_limits_cap_the_single_pack_demo_current),
        cmocka_unit_test(test_serial_sim_dvcc_limits_cap_the_bank_demo_current),
        cmocka_unit_test(test_serial_sim_bank_init_rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
