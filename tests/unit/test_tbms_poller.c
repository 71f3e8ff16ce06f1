/* Black-box tests of tbms_poller.h: schedule, timeout, resend, counters. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "tbms_poller.h"

#define MS 1000u

static tbms_poller_t poller;
static tbms_poller_config_t cfg;

static int setup(void **state)
{
    (void)state;
    tbms_poller_default_config(&cfg);
    assert_int_equal(tbms_poller_init(&poller, &cfg, 0), TBMS_OK);
    return 0;
}

/* The answer a BMS gives to `req`, with register r = seed + r. */
static size_t answer(const tbms_poll_tx_t *req, uint16_t seed, uint8_t *out)
{
    tbms_frame_t f;
    assert_int_equal(tbms_parse(TBMS_DIR_REQUEST, req->bytes, req->len, &f), TBMS_OK);
    uint16_t v[127];
    for (uint16_t i = 0; i < f.count; i++) {
        v[i] = (uint16_t)(seed + f.addr + i);
    }
    size_t n = 0;
    assert_int_equal(tbms_build_read_response(v, f.count, out, TBMS_FRAME_MAX, &n), TBMS_OK);
    return n;
}

static uint16_t request_addr(const tbms_poll_tx_t *tx)
{
    tbms_frame_t f;
    assert_int_equal(tbms_parse(TBMS_DIR_REQUEST, tx->bytes, tx->len, &f), TBMS_OK);
    return f.addr;
}

/* Sends, answers at now + 5 ms, and returns the result. */
static tbms_poll_result_t transact(uint64_t now_us, tbms_block_t want)
{
    tbms_poll_tx_t tx;
    tbms_poll_result_t res;
    assert_true(tbms_poller_step(&poller, now_us, &tx, &res));
    assert_true(tx.flush_rx);
    assert_int_equal(request_addr(&tx), tbms_block_first(want));
    uint8_t buf[TBMS_FRAME_MAX];
    size_t n = answer(&tx, 7, buf);
    tbms_poller_feed(&poller, buf, n, now_us + 5 * MS, &res);
    assert_true(res.done);
    assert_true(res.ok);
    assert_int_equal(res.block, want);
    return res;
}

/* The start-up pass: every block once, 6 ms apart (LIVE due at 0, sent at 12 ms). */
static void read_every_block_once(void)
{
    transact(0, TBMS_BLOCK_SETTINGS);
    transact(6 * MS, TBMS_BLOCK_VERSION);
    transact(12 * MS, TBMS_BLOCK_LIVE);
    transact(18 * MS, TBMS_BLOCK_STATS);
    transact(24 * MS, TBMS_BLOCK_EVENTS);
}

static void test_poller_reads_settings_and_version_before_live(void **state)
{
    (void)state;
    tbms_poll_result_t r = transact(0, TBMS_BLOCK_SETTINGS);
    assert_int_equal(r.first, 300);
    assert_int_equal(r.count, 44);
    assert_int_equal(r.regs[15], 7 + 315);
    r = transact(6 * MS, TBMS_BLOCK_VERSION);
    assert_int_equal(r.count, 10);
    r = transact(12 * MS, TBMS_BLOCK_LIVE);
    assert_int_equal(r.first, 0);
    assert_int_equal(r.count, 56);
    assert_int_equal(r.regs[55], 7 + 55);
    r = transact(18 * MS, TBMS_BLOCK_STATS);
    assert_int_equal(r.count, 18);
    r = transact(24 * MS, TBMS_BLOCK_EVENTS);
    assert_int_equal(r.count, 98);
}

static void test_poller_keeps_live_cadence_from_its_due_time(void **state)
{
    (void)state;
    read_every_block_once(); /* LIVE due at 0, sent at 12 ms */
    assert_int_equal(tbms_poller_next_us(&poller), 100 * MS);
    tbms_poll_tx_t tx;
    assert_false(tbms_poller_step(&poller, 99 * MS, &tx, NULL));
    for (unsigned i = 0; i < 20; i++) {
        uint64_t due = 100 * MS + i * 100 * MS;
        assert_int_equal(tbms_poller_next_us(&poller), due);
        /* sent a little late each time: the cadence must not drift */
        transact(due + 3 * MS, TBMS_BLOCK_LIVE);
    }
    tbms_poller_stats_t s = tbms_poller_stats(&poller);
    assert_int_equal(s.polls, 25);
    assert_int_equal(s.success, 25);
    assert_int_equal(s.retries + s.timeouts + s.failures, 0);
    assert_int_equal(s.latency_last_us, 5 * MS);
    assert_int_equal(s.latency_avg_us, 5 * MS);
    assert_int_equal(s.latency_max_us, 5 * MS);
}

static void test_poller_resends_identical_frame_after_timeout_for_wakeup(void **state)
{
    (void)state;
    tbms_poll_tx_t first, again;
    tbms_poll_result_t res;
    assert_true(tbms_poller_step(&poller, 0, &first, &res));
    /* A sleeping BMS ignores the first request: nothing comes back. */
    assert_false(tbms_poller_step(&poller, 249 * MS, &again, &res));
    assert_int_equal(tbms_poller_next_us(&poller), 250 * MS);
    assert_true(tbms_poller_step(&poller, 250 * MS, &again, &res));
    assert_false(res.done);
    assert_int_equal(again.len, first.len);
    assert_memory_equal(again.bytes, first.bytes, first.len);
    assert_true(again.flush_rx);
    uint8_t buf[TBMS_FRAME_MAX];
    size_t n = answer(&again, 1, buf);
    tbms_poller_feed(&poller, buf, n, 262 * MS, &res);
    assert_true(res.done && res.ok);
    tbms_poller_stats_t s = tbms_poller_stats(&poller);
    assert_int_equal(s.polls, 1);
    assert_int_equal(s.timeouts, 1);
    assert_int_equal(s.retries, 1);
    assert_int_equal(s.success, 1);
    assert_int_equal(s.latency_last_us, 12 * MS); /* from the resend */
}

static void test_poller_gives_up_after_max_attempts_and_moves_on(void **state)
{
    (void)state;
    tbms_poll_tx_t tx;
    tbms_poll_result_t res;
    assert_true(tbms_poller_step(&poller, 0, &tx, &res)); /* settings, attempt 1 */
    assert_true(tbms_poller_step(&poller, 250 * MS, &tx, &res)); /* attempt 2 */
    assert_true(tbms_poller_step(&poller, 500 * MS, &tx, &res)); /* attempt 3 */
    assert_int_equal(request_addr(&tx), 300);
    /* third timeout: abandoned, and the next due block starts at once */
    assert_true(tbms_poller_step(&poller, 750 * MS, &tx, &res));
    assert_true(res.done);
    assert_false(res.ok);
    assert_int_equal(res.block, TBMS_BLOCK_SETTINGS);
    assert_int_equal(res.last_err, TBMS_ERR_TIMEOUT);
    assert_int_equal(request_addr(&tx), 500);
    tbms_poller_stats_t s = tbms_poller_stats(&poller);
    assert_int_equal(s.failures, 1);
    assert_int_equal(s.timeouts, 3);
    assert_int_equal(s.retries, 2);
    assert_int_equal(s.polls, 2);
}

static void test_poller_resends_at_once_after_nack(void **state)
{
    (void)state;
    tbms_poll_tx_t tx;
    tbms_poll_result_t res;
    assert_true(tbms_poller_step(&poller, 0, &tx, &res));
    uint8_t nack[8];
    size_t n;
    assert_int_equal(tbms_build_nack(0x03, TBMS_NACK_CRC_ERROR, nack, sizeof nack, &n), TBMS_OK);
    tbms_poller_feed(&poller, nack, n, 3 * MS, &res);
    assert_false(res.done);
    assert_int_equal(tbms_poller_next_us(&poller), 0);
    assert_true(tbms_poller_step(&poller, 3 * MS, &tx, &res));
    assert_int_equal(request_addr(&tx), 300);
    tbms_poller_stats_t s = tbms_poller_stats(&poller);
    assert_int_equal(s.nacks, 1);
    assert_int_equal(s.retries, 1);
    assert_int_equal(s.timeouts, 0);
}

static void test_poller_reports_nack_code_when_every_attempt_is_refused(void **state)
{
    (void)state;
    tbms_poll_tx_t tx;
    tbms_poll_result_t res;
    uint8_t nack[8];
    size_t n;
    assert_int_equal(tbms_build_nack(0x03, TBMS_NACK_CMD_ERROR, nack, sizeof nack, &n), TBMS_OK);
    assert_true(tbms_poller_step(&poller, 0, &tx, &res));
    for (unsigned i = 0; i < 3; i++) {
        tbms_poller_feed(&poller, nack, n, i * MS + 1, &res);
        tbms_poller_step(&poller, i * MS + 2, &tx, &res);
    }
    assert_true(res.done);
    assert_false(res.ok);
    assert_int_equal(res.last_err, TBMS_ERR_NACK);
    assert_int_equal(res.nack_code, TBMS_NACK_CMD_ERROR);
}

static void test_poller_resends_at_once_after_crc_error(void **state)
{
    (void)state;
    tbms_poll_tx_t tx;
    tbms_poll_result_t res;
    assert_true(tbms_poller_step(&poller, 0, &tx, &res));
    uint8_t buf[TBMS_FRAME_MAX];
    size_t n = answer(&tx, 3, buf);
    buf[10] ^= 0x40;
    tbms_poller_feed(&poller, buf, n, 4 * MS, &res);
    assert_false(res.done);
    assert_true(tbms_poller_step(&poller, 4 * MS, &tx, &res));
    n = answer(&tx, 3, buf);
    tbms_poller_feed(&poller, buf, n, 8 * MS, &res);
    assert_true(res.done && res.ok);
    tbms_poller_stats_t s = tbms_poller_stats(&poller);
    assert_int_equal(s.crc_errors, 1);
    assert_int_equal(s.retries, 1);
    assert_int_equal(s.success, 1);
}

static void test_poller_counts_truncated_answer_at_timeout(void **state)
{
    (void)state;
    tbms_poll_tx_t tx;
    tbms_poll_result_t res;
    assert_true(tbms_poller_step(&poller, 0, &tx, &res));
    uint8_t buf[TBMS_FRAME_MAX];
    size_t n = answer(&tx, 3, buf);
    tbms_poller_feed(&poller, buf, n / 2, 4 * MS, &res);
    assert_true(tbms_poller_step(&poller, 250 * MS, &tx, &res));
    tbms_poller_stats_t s = tbms_poller_stats(&poller);
    assert_int_equal(s.truncated, 1);
    assert_int_equal(s.timeouts, 1);
    assert_int_equal(poller.last_err, TBMS_OK); /* reset for the new attempt */
}

static void test_poller_ignores_frames_that_do_not_answer(void **state)
{
    (void)state;
    tbms_poll_tx_t tx;
    tbms_poll_result_t res;
    assert_true(tbms_poller_step(&poller, 0, &tx, &res)); /* settings: 44 registers */
    uint16_t v[10] = {0};
    uint8_t buf[TBMS_FRAME_MAX];
    size_t n;
    assert_int_equal(tbms_build_read_response(v, 10, buf, sizeof buf, &n), TBMS_OK);
    tbms_poller_feed(&poller, buf, n, 2 * MS, &res); /* a late 10-register answer */
    assert_false(res.done);
    const char junk[] = "BPV:53.1\r\n";
    tbms_poller_feed(&poller, (const uint8_t *)junk, sizeof junk - 1, 3 * MS, &res);
    n = answer(&tx, 0, buf);
    tbms_poller_feed(&poller, buf, n, 4 * MS, &res);
    assert_true(res.done && res.ok);
    tbms_poller_stats_t s = tbms_poller_stats(&poller);
    assert_int_equal(s.unexpected, 1);
    assert_int_equal(s.garbage_bytes, sizeof junk - 1);
    /* a frame when nothing is in flight is unexpected too */
    tbms_poller_feed(&poller, buf, n, 5 * MS, &res);
    assert_false(res.done);
    assert_int_equal(tbms_poller_stats(&poller).unexpected, 2);
}

static void test_poller_answer_in_single_bytes(void **state)
{
    (void)state;
    tbms_poll_tx_t tx;
    tbms_poll_result_t res;
    assert_true(tbms_poller_step(&poller, 0, &tx, &res));
    uint8_t buf[TBMS_FRAME_MAX];
    size_t n = answer(&tx, 9, buf);
    for (size_t i = 0; i < n; i++) {
        tbms_poller_feed(&poller, buf + i, 1, 1 + i, &res);
        assert_int_equal(res.done, i == n - 1);
    }
    assert_true(res.ok);
}

static void test_poller_request_makes_block_due_now(void **state)
{
    (void)state;
    read_every_block_once();
    tbms_poller_request(&poller, TBMS_BLOCK_SETTINGS, 40 * MS);
    transact(40 * MS, TBMS_BLOCK_SETTINGS);
}

static void test_poller_rejects_bad_config_and_arguments(void **state)
{
    (void)state;
    tbms_poller_config_t c;
    tbms_poller_default_config(&c);
    assert_int_equal(tbms_poller_check_config(&c), TBMS_OK);
    c.poll_interval_us = 19999;
    assert_int_equal(tbms_poller_check_config(&c), TBMS_ERR_RANGE);
    tbms_poller_default_config(&c);
    c.max_attempts = 0;
    assert_int_equal(tbms_poller_init(&poller, &c, 0), TBMS_ERR_RANGE);
    c.max_attempts = 11;
    assert_int_equal(tbms_poller_check_config(&c), TBMS_ERR_RANGE);
    tbms_poller_default_config(&c);
    c.response_timeout_us = 1000;
    assert_int_equal(tbms_poller_check_config(&c), TBMS_ERR_RANGE);
    assert_int_equal(tbms_poller_check_config(NULL), TBMS_ERR_ARG);
    assert_int_equal(tbms_poller_init(NULL, &c, 0), TBMS_ERR_ARG);
    tbms_poll_tx_t tx;
    assert_false(tbms_poller_step(NULL, 0, &tx, NULL));
    tbms_poller_feed(NULL, NULL, 0, 0, NULL);
    assert_int_equal(tbms_poller_next_us(NULL), UINT64_MAX);
    assert_string_equal(tbms_block_name(TBMS_BLOCK_LIVE), "live");
    assert_string_equal(tbms_block_name(TBMS_BLOCK_COUNT_), "?");
    assert_int_equal(tbms_block_count(TBMS_BLOCK_COUNT_), 0);
}

static void test_poller_without_stats_and_events_reads_only_live_after_start(void **state)
{
    (void)state;
    tbms_poller_config_t c;
    tbms_poller_default_config(&c);
    c.stats_period_us = 0;
    c.events_period_us = 0;
    assert_int_equal(tbms_poller_init(&poller, &c, 0), TBMS_OK);
    transact(0, TBMS_BLOCK_SETTINGS);
    transact(6 * MS, TBMS_BLOCK_VERSION);
    transact(12 * MS, TBMS_BLOCK_LIVE);
    assert_int_equal(tbms_poller_next_us(&poller), 100 * MS);
}

static void test_poller_live_after_a_stall_skips_missed_slots(void **state)
{
    (void)state;
    read_every_block_once(); /* LIVE due at 0 and sent at 12 ms */
    /* the loop stalls until 1.05 s: one live read, then back on the grid */
    transact(1050 * MS, TBMS_BLOCK_LIVE);
    assert_int_equal(tbms_poller_next_us(&poller), 1100 * MS);
}

static void test_poller_align_live_moves_the_cadence_to_the_target(void **state)
{
    (void)state;
    read_every_block_once(); /* LIVE due at 0 and sent at 12 ms */
    assert_int_equal(tbms_poller_next_us(&poller), 100 * MS);
    /* 0x351 goes out at 1.030 s: a read must start at 1.027 s */
    tbms_poller_align_live(&poller, 1027 * MS, 30 * MS);
    assert_int_equal(tbms_poller_next_us(&poller), 127 * MS);
    tbms_poller_align_live(&poller, 1070 * MS, 30 * MS); /* the smaller shift: +43 ms */
    assert_int_equal(tbms_poller_next_us(&poller), 170 * MS);
    tbms_poller_align_live(&poller, 1080 * MS, 30 * MS); /* the smaller shift: -90 -> +10 */
    assert_int_equal(tbms_poller_next_us(&poller), 180 * MS);
    tbms_poller_align_live(&poller, 1130 * MS, 30 * MS); /* exactly half: forward */
    assert_int_equal(tbms_poller_next_us(&poller), 230 * MS);
    tbms_poller_align_live(&poller, 20 * MS, 30 * MS); /* past target: ignored */
    assert_int_equal(tbms_poller_next_us(&poller), 230 * MS);
    for (unsigned i = 0; i < 9; i++) {
        transact(230 * MS + i * 100 * MS, TBMS_BLOCK_LIVE);
    }
    assert_int_equal(tbms_poller_next_us(&poller), 1130 * MS);
}

/* Runs the start-up reads (settings, version, live) so the poller is idle. */
static void start_up(void)
{
    transact(0, TBMS_BLOCK_SETTINGS);
    transact(10 * MS, TBMS_BLOCK_VERSION);
    transact(20 * MS, TBMS_BLOCK_LIVE);
}

static void test_poller_write_sends_0x10_then_reads_back_and_reports(void **state)
{
    (void)state;
    start_up();
    uint16_t vals[2] = {3650, 3600};
    assert_int_equal(tbms_poller_write(&poller, 315, vals, 2, 30 * MS), TBMS_OK);
    assert_true(tbms_poller_write_pending(&poller));
    assert_int_equal(tbms_poller_next_us(&poller), 0);
    tbms_poll_tx_t tx;
    tbms_poll_result_t res;
    assert_true(tbms_poller_step(&poller, 30 * MS, &tx, &res));
    tbms_frame_t f;
    assert_int_equal(tbms_parse(TBMS_DIR_REQUEST, tx.bytes, tx.len, &f), TBMS_OK);
    assert_int_equal(f.cmd, TBMS_CMD_MODBUS_WRITE);
    assert_int_equal(f.addr, 315);
    assert_int_equal(f.count, 2);
    uint8_t buf[TBMS_FRAME_MAX];
    size_t n = 0;
    assert_int_equal(tbms_build_write_response(315, 2, buf, sizeof buf, &n), TBMS_OK);
    tbms_poller_feed(&poller, buf, n, 32 * MS, &res);
    assert_false(res.done); /* a write is not a block result */
    /* The read-back goes out next, before anything else. */
    assert_true(tbms_poller_step(&poller, 33 * MS, &tx, &res));
    assert_int_equal(tbms_parse(TBMS_DIR_REQUEST, tx.bytes, tx.len, &f), TBMS_OK);
    assert_int_equal(f.cmd, TBMS_CMD_MODBUS_READ);
    assert_int_equal(f.addr, 315);
    assert_int_equal(f.count, 2);
    assert_int_equal(tbms_build_read_response(vals, 2, buf, sizeof buf, &n), TBMS_OK);
    tbms_poll_write_result_t w;
    assert_false(tbms_poller_take_write_result(&poller, &w));
    tbms_poller_feed(&poller, buf, n, 35 * MS, &res);
    assert_true(tbms_poller_take_write_result(&poller, &w));
    assert_int_equal(w.err, TBMS_OK);
    assert_true(w.written);
    assert_int_equal(w.readback[0], 3650);
    assert_int_equal(w.readback[1], 3600);
    assert_false(tbms_poller_take_write_result(&poller, &w)); /* once */
    assert_false(tbms_poller_write_pending(&poller));
    /* The settings block is due again so the snapshot follows. */
    transact(36 * MS, TBMS_BLOCK_SETTINGS);
}

static void test_poller_write_resends_on_timeout_and_gives_up(void **state)
{
    (void)state;
    start_up();
    uint16_t v = 3650;
    assert_int_equal(tbms_poller_write(&poller, 315, &v, 1, 30 * MS), TBMS_OK);
    tbms_poll_tx_t first, again;
    tbms_poll_result_t res;
    assert_true(tbms_poller_step(&poller, 30 * MS, &first, &res));
    uint64_t t = 30 * MS;
    for (unsigned i = 1; i < cfg.max_attempts; i++) {
        t += cfg.response_timeout_us;
        assert_true(tbms_poller_step(&poller, t, &again, &res));
        assert_int_equal(again.len, first.len);
        assert_memory_equal(again.bytes, first.bytes, first.len);
    }
    t += cfg.response_timeout_us;
    (void)tbms_poller_step(&poller, t, &again, &res);
    tbms_poll_write_result_t w;
    assert_true(tbms_poller_take_write_result(&poller, &w));
    assert_int_equal(w.err, TBMS_ERR_TIMEOUT);
    assert_false(w.written);
}

static void test_poller_write_reports_nack(void **state)
{
    (void)state;
    start_up();
    uint16_t v = 9000;
    assert_int_equal(tbms_poller_write(&poller, 315, &v, 1, 30 * MS), TBMS_OK);
    tbms_poll_tx_t tx;
    tbms_poll_result_t res;
    uint64_t t = 30 * MS;
    uint8_t buf[16];
    size_t n = 0;
    assert_int_equal(tbms_build_nack(TBMS_CMD_MODBUS_WRITE, 3, buf, sizeof buf, &n), TBMS_OK);
    for (unsigned i = 0; i < cfg.max_attempts; i++) {
        assert_true(tbms_poller_step(&poller, t, &tx, &res));
        tbms_poller_feed(&poller, buf, n, t + MS, &res);
        t += 2 * MS;
    }
    (void)tbms_poller_step(&poller, t, &tx, &res);
    tbms_poll_write_result_t w;
    assert_true(tbms_poller_take_write_result(&poller, &w));
    assert_int_equal(w.err, TBMS_ERR_NACK);
    assert_int_equal(w.nack_code, 3);
}

static void test_poller_write_rejects_second_write_and_bad_arguments(void **state)
{
    (void)state;
    uint16_t v[TBMS_POLL_WRITE_MAX + 1u] = {0};
    assert_int_equal(tbms_poller_write(NULL, 300, v, 1, 0), TBMS_ERR_ARG);
    assert_int_equal(tbms_poller_write(&poller, 300, NULL, 1, 0), TBMS_ERR_ARG);
    assert_int_equal(tbms_poller_write(&poller, 300, v, 0, 0), TBMS_ERR_ARG);
    assert_int_equal(tbms_poller_write(&poller, 300, v, TBMS_POLL_WRITE_MAX + 1u, 0),
                     TBMS_ERR_ARG);
    assert_int_equal(tbms_poller_write(&poller, 300, v, TBMS_POLL_WRITE_MAX, 0), TBMS_OK);
    assert_int_equal(tbms_poller_write(&poller, 300, v, 1, 0), TBMS_ERR_UNEXPECTED);
}

static void test_poller_keeps_last_block_words(void **state)
{
    (void)state;
    uint64_t at = 0;
    assert_null(tbms_poller_words(&poller, TBMS_BLOCK_SETTINGS, &at));
    transact(0, TBMS_BLOCK_SETTINGS);
    const uint16_t *w = tbms_poller_words(&poller, TBMS_BLOCK_SETTINGS, &at);
    assert_non_null(w);
    assert_int_equal(w[0], 7 + 300);
    assert_int_equal(w[43], 7 + 343);
    assert_int_equal(at, 5 * MS);
    assert_null(tbms_poller_words(&poller, TBMS_BLOCK_LIVE, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_poller_write_sends_0x10_then_reads_back_and_reports, setup),
        cmocka_unit_test_setup(test_poller_write_resends_on_timeout_and_gives_up, setup),
        cmocka_unit_test_setup(test_poller_write_reports_nack, setup),
        cmocka_unit_test_setup(test_poller_write_rejects_second_write_and_bad_arguments, setup),
        cmocka_unit_test_setup(test_poller_keeps_last_block_words, setup),
        cmocka_unit_test_setup(test_poller_reads_settings_and_version_before_live, setup),
        cmocka_unit_test_setup(test_poller_keeps_live_cadence_from_its_due_time, setup),
        cmocka_unit_test_setup(test_poller_resends_identical_frame_after_timeout_for_wakeup, setup),
        cmocka_unit_test_setup(test_poller_gives_up_after_max_attempts_and_moves_on, setup),
        cmocka_unit_test_setup(test_poller_resends_at_once_after_nack, setup),
        cmocka_unit_test_setup(test_poller_reports_nack_code_when_every_attempt_is_refused, setup),
        cmocka_unit_test_setup(test_poller_resends_at_once_after_crc_error, setup),
        cmocka_unit_test_setup(test_poller_counts_truncated_answer_at_timeout, setup),
        cmocka_unit_test_setup(test_poller_ignores_frames_that_do_not_answer, setup),
        cmocka_unit_test_setup(test_poller_answer_in_single_bytes, setup),
        cmocka_unit_test_setup(test_poller_request_makes_block_due_now, setup),
        cmocka_unit_test_setup(test_poller_rejects_bad_config_and_arguments, setup),
        cmocka_unit_test_setup(test_poller_without_stats_and_events_reads_only_live_after_start,
                               setup),
        cmocka_unit_test_setup(test_poller_live_after_a_stall_skips_missed_slots, setup),
        cmocka_unit_test_setup(test_poller_align_live_moves_the_cadence_to_the_target, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
