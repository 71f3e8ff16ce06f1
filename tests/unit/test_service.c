/*
 * Black-box tests of service.h: the bridge's decisions above the core,
 * driven with a fake TinyBMS and fake platform operations (log, storage,
 * publish) that record what the service asked for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_bms.h"
#include "service.h"
#include "status_json.h"

#define MS 1000ull
#define S  1000000ull

typedef struct {
    unsigned lines;
    char last[8][384];
    unsigned saves;
    bool save_ok;
    uint64_t saved_charged;
    unsigned publishes;
} fake_platform_t;

static void fake_log(void *ctx, svc_log_level_t level, const char *line)
{
    fake_platform_t *p = ctx;
    (void)level;
    snprintf(p->last[p->lines % 8u], sizeof p->last[0], "%s", line);
    p->lines++;
}

static bool fake_save(void *ctx, uint64_t charged, uint64_t discharged)
{
    fake_platform_t *p = ctx;
    (void)discharged;
    p->saves++;
    p->saved_charged = charged;
    return p->save_ok;
}

static void fake_publish(void *ctx, const status_t *st)
{
    fake_platform_t *p = ctx;
    assert_non_null(st);
    char *json = status_json(st);
    assert_non_null(json);
    free(json);
    p->publishes++;
    assert_int_equal(st->seq, p->publishes); /* numbered from 1, one per publication */
}

static const svc_ops_t ops = {.log = fake_log, .save_energy = fake_save, .publish_status = fake_publish};

static uint16_t regs[FAKE_BMS_REGS];
static svc_t svc;
static fake_platform_t plat;
static uint64_t now;

static bool logged(const char *part)
{
    unsigned n = plat.lines < 8u ? plat.lines : 8u;
    for (unsigned i = 0; i < n; i++) {
        if (strstr(plat.last[i], part) != NULL) {
            return true;
        }
    }
    return false;
}

/* The port's loop: UART, CAN out (all sent), tick, sleep to the next time. */
static void run(uint64_t until, bool alive)
{
    while (now <= until) {
        tbms_poll_tx_t tx;
        uint8_t out[TBMS_FRAME_MAX];
        size_t n;
        if (svc_uart_step(&svc, 0u, now, &tx) && alive &&
            fake_bms_answer(regs, &tx, out, sizeof out, &n)) {
            svc_uart_rx(&svc, 0u, out, n, now);
        }
        vcan_frame_t f[BRG_MAX_FRAMES_PER_TICK];
        size_t k = svc_can_tx(&svc, now, f, BRG_MAX_FRAMES_PER_TICK);
        for (size_t i = 0; i < k; i++) {
            svc_frame_sent(&svc, &f[i], true, now);
        }
        svc_io_t io = {.uart_open = {true}, .uart_device = {"fake"}, .can = {.connected = true}};
        svc_tick(&svc, now, &io);
        uint64_t next = svc_next_us(&svc);
        now = next > now ? (next < until + 1u ? next : until + 1u) : now + 1 * MS;
    }
}

static int setup(void **state)
{
    (void)state;
    fake_bms_pack(regs, 16);
    memset(&plat, 0, sizeof plat);
    plat.save_ok = true;
    now = 0;
    cfg_t c;
    cfg_defaults(&c);
    assert_int_equal(svc_init(&svc, &c, &ops, &plat, "test", now), TBMS_OK);
    return 0;
}

static void test_service_init_refuses_missing_required_ops(void **state)
{
    (void)state;
    cfg_t c;
    cfg_defaults(&c);
    svc_ops_t none = {.publish_status = fake_publish};
    assert_int_equal(svc_init(&svc, &c, &none, &plat, "x", 0), TBMS_ERR_ARG);
    svc_ops_t no_save = {.log = fake_log};
    assert_int_equal(svc_init(&svc, &c, &no_save, &plat, "x", 0), TBMS_ERR_ARG);
    assert_int_equal(svc_init(NULL, &c, &ops, &plat, "x", 0), TBMS_ERR_ARG);
}

static void test_service_publishes_status_once_a_second(void **state)
{
    (void)state;
    run(10 * S, true);
    assert_true(plat.publishes >= 10 && plat.publishes <= 11);
    assert_true(logged("TinyBMS data valid"));
}

static void test_service_saves_energy_every_five_minutes_and_at_stop(void **state)
{
    (void)state;
    run(601 * S, true);
    assert_int_equal(plat.saves, 2); /* 300 s and 600 s */
    svc_stop(&svc, now);
    assert_int_equal(plat.saves, 3);
    assert_int_equal(plat.saved_charged, svc_bridge(&svc)->counters.charged_mwh);
}

static void test_service_failed_energy_save_is_logged_and_retried(void **state)
{
    (void)state;
    plat.save_ok = false;
    run(301 * S, true);
    assert_int_equal(plat.saves, 1);
    assert_true(logged("energy counters could not be saved"));
    plat.save_ok = true;
    run(601 * S, true);
    assert_int_equal(plat.saves, 2);
}

static void test_service_reports_stale_data_and_alarm_events(void **state)
{
    (void)state;
    run(2 * S, true);
    regs[41] = 3660; /* a cell above the 3650 mV cutoff */
    run(3 * S, true);
    assert_true(logged("high_voltage alarm raised"));
    run(10 * S, false);
    assert_true(logged("battery frames STOPPED"));
}

static void test_service_refused_configuration_changes_nothing(void **state)
{
    (void)state;
    run(1 * S, true);
    cfg_t bad = *svc_config(&svc);
    bad.victron.fast_interval_ms = 0; /* the bridge refuses a zero period */
    char why[128] = "";
    assert_int_not_equal(svc_apply_config(&svc, &bad, now, why, sizeof why), TBMS_OK);
    assert_non_null(strstr(why, "refused"));
    assert_int_equal(svc_config(&svc)->victron.fast_interval_ms, 1000);
    cfg_t good = *svc_config(&svc);
    good.victron.max_discharge_current_da = 300;
    assert_int_equal(svc_apply_config(&svc, &good, now, why, sizeof why), TBMS_OK);
    run(now + 1 * S, true);
    assert_int_equal(svc_bridge(&svc)->limits.dcl_ma, 30000);
}

static void test_service_measures_the_0x351_timing(void **state)
{
    (void)state;
    run(20 * S, true);
    svc_timing_t t;
    svc_timing(&svc, &t);
    assert_true(t.count >= 19);
    assert_int_equal(t.age_max_us, 0); /* answered at once, sent in the same turn */
    assert_int_equal(t.period_p50_us, 1000000);
    assert_true(t.period_max_us <= 1000000 + 1000);
}

static void test_service_refuses_settings_writes_that_fail_a_check(void **state)
{
    (void)state;
    sw_result_t r;
    uint16_t v = 3600;
    /* before the settings are read: refused, nothing queued */
    assert_true(svc_write_start(&svc, 0u, 315, &v, 1, now, &r));
    assert_int_equal(r.status, SW_NO_SETTINGS);
    run(2 * S, true);
    uint16_t ro = 1;
    assert_true(svc_write_start(&svc, 0u, 40, &ro, 1, now, &r));
    assert_int_equal(r.status, SW_READ_ONLY);
    uint16_t ov = 3300; /* below reg 300 (3550 + 10 mV): breaks the interlock */
    assert_true(svc_write_start(&svc, 0u, 315, &ov, 1, now, &r));
    assert_int_equal(r.status, SW_INTERLOCK);
    assert_true(logged("TinyBMS write refused"));
    assert_false(svc_write_busy(&svc));
    /* a valid one is queued, not finished at once */
    uint16_t ok = 3700;
    assert_false(svc_write_start(&svc, 0u, 315, &ok, 1, now, &r));
    assert_true(svc_write_busy(&svc));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_service_init_refuses_missing_required_ops, setup),
        cmocka_unit_test_setup(test_service_publishes_status_once_a_second, setup),
        cmocka_unit_test_setup(test_service_saves_energy_every_five_minutes_and_at_stop, setup),
        cmocka_unit_test_setup(test_service_failed_energy_save_is_logged_and_retried, setup),
        cmocka_unit_test_setup(test_service_reports_stale_data_and_alarm_events, setup),
        cmocka_unit_test_setup(test_service_refused_configuration_changes_nothing, setup),
        cmocka_unit_test_setup(test_service_measures_the_0x351_timing, setup),
        cmocka_unit_test_setup(test_service_refuses_settings_writes_that_fail_a_check, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
