/*
 * Tests of port/linux/diag.c: the loop-stall watchdog driven by
 * advanced.enable_watchdog / advanced.watchdog_timeout_s (a stall is
 * detected after the timeout; enabled, it stops the systemd watchdog pings;
 * disabled, the pings go on), and the seed's fields of the diagnostics
 * document (.uart, .heap_free, .watchdog).
 *
 * The watchdog thread runs on the real monotonic clock, so these tests
 * sleep (about 6 s in all). The systemd part needs a build with libsystemd
 * (the document's watchdog.systemd_support says so); WATCHDOG_USEC in the
 * environment makes sd_watchdog_enabled() ask for pings, and without
 * NOTIFY_SOCKET sd_notify() sends nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "diag.h"
#include "hub.h"

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

typedef struct {
    hub_t *hub;
    diag_t *diag;
    uint64_t fake_us; /* diag_tick's clock: 3 s further at each document */
} fx_t;

static void fx_start(fx_t *fx, bool enabled, int timeout_s)
{
    setenv("WATCHDOG_USEC", "200000", 1); /* pings every 100 ms (at the 250 ms checks) */
    unsetenv("WATCHDOG_PID");
    unsetenv("NOTIFY_SOCKET");
    fx->hub = hub_create();
    assert_non_null(fx->hub);
    uint64_t now = mono_us();
    fx->diag = diag_create("test", now);
    assert_non_null(fx->diag);
    fx->fake_us = now;
    cfg_t c;
    cfg_defaults(&c);
    c.advanced.enable_watchdog = enabled;
    c.advanced.watchdog_timeout_s = timeout_s;
    c.tinybms.poll_interval_ms = 250;
    diag_configure(fx->diag, &c);
}

static void fx_stop(fx_t *fx)
{
    diag_destroy(fx->diag);
    hub_destroy(fx->hub);
    unsetenv("WATCHDOG_USEC");
}

/* A few turns of a healthy loop. */
static void turns(fx_t *fx, int n)
{
    for (int i = 0; i < n; i++) {
        uint64_t t = mono_us();
        diag_before_wait(fx->diag, t, t + 10000u);
        sleep_ms(10);
        diag_after_wait(fx->diag, mono_us(), true);
    }
}

/* The diagnostics document as diag_tick publishes it (caller deletes). */
static cJSON *document(fx_t *fx)
{
    fx->fake_us += 3000000u;
    diag_tick(fx->diag, fx->fake_us, fx->hub, NULL);
    char *text = hub_get(fx->hub, HUB_DOC_DIAGNOSTICS, NULL);
    assert_non_null(text);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    assert_non_null(doc);
    return doc;
}

static double num(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b != NULL) {
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    }
    assert_true(cJSON_IsNumber(x));
    return x->valuedouble;
}

static bool flag(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, a), b);
    assert_true(cJSON_IsBool(x));
    return cJSON_IsTrue(x) != 0;
}

static void test_stall_after_the_configured_timeout_stops_the_systemd_pings(void **state)
{
    (void)state;
    fx_t fx;
    fx_start(&fx, true, 1);
    turns(&fx, 5);
    sleep_ms(600);
    cJSON *doc = document(&fx);
    assert_true(flag(doc, "watchdog", "enabled"));
    assert_int_equal((int)num(doc, "watchdog", "timeout_ms"), 1000);
    assert_false(flag(doc, "watchdog", "stalled")); /* 0.6 s: below the 1 s timeout */
    assert_true(flag(doc, "watchdog", "health_ok"));
    assert_int_equal((int)num(doc, "watchdog", "stalls"), 0);
    bool systemd = flag(doc, "watchdog", "systemd_support");
    assert_int_equal(flag(doc, "watchdog", "restarts_on_stall"), systemd);
    cJSON_Delete(doc);

    sleep_ms(900); /* 1.5 s without a turn: a stall */
    doc = document(&fx);
    assert_true(flag(doc, "watchdog", "stalled"));
    assert_false(flag(doc, "watchdog", "health_ok"));
    assert_int_equal((int)num(doc, "watchdog", "stalls"), 1);
    double pings = num(doc, "watchdog", "systemd_pings");
    if (systemd) {
        assert_true(pings >= 2); /* while the loop turned */
    }
    cJSON_Delete(doc);
    sleep_ms(1000);
    doc = document(&fx);
    assert_true(num(doc, "watchdog", "systemd_pings") == pings); /* stopped: systemd restarts */
    cJSON_Delete(doc);

    turns(&fx, 3);
    sleep_ms(400); /* the next checks see the loop again */
    doc = document(&fx);
    assert_false(flag(doc, "watchdog", "stalled"));
    assert_int_equal((int)num(doc, "watchdog", "stalls"), 1);
    assert_true(num(doc, "watchdog", "longest_stall_ms") >= 1000);
    assert_true(num(doc, "watchdog", "max_feed_gap_ms") >= 2500);
    if (systemd) {
        assert_true(num(doc, "watchdog", "systemd_pings") > pings); /* pinging again */
    }
    cJSON_Delete(doc);
    fx_stop(&fx);
}

static void test_watchdog_disabled_counts_the_stall_but_keeps_pinging(void **state)
{
    (void)state;
    fx_t fx;
    fx_start(&fx, false, 1);
    turns(&fx, 3);
    sleep_ms(1500);
    cJSON *doc = document(&fx);
    assert_false(flag(doc, "watchdog", "enabled"));
    assert_false(flag(doc, "watchdog", "restarts_on_stall"));
    assert_true(flag(doc, "watchdog", "stalled"));
    assert_int_equal((int)num(doc, "watchdog", "stalls"), 1);
    bool systemd = flag(doc, "watchdog", "systemd_support");
    double pings = num(doc, "watchdog", "systemd_pings");
    cJSON_Delete(doc);
    sleep_ms(1000);
    doc = document(&fx);
    if (systemd) {
        assert_true(num(doc, "watchdog", "systemd_pings") > pings); /* no restart */
    }
    cJSON_Delete(doc);
    fx_stop(&fx);
}

/* A longer timeout from the configuration: 1.5 s silence is no stall. */
static void test_timeout_comes_from_the_configuration(void **state)
{
    (void)state;
    fx_t fx;
    fx_start(&fx, true, 3);
    turns(&fx, 2);
    sleep_ms(1500);
    cJSON *doc = document(&fx);
    assert_int_equal((int)num(doc, "watchdog", "timeout_ms"), 3000);
    assert_int_equal((int)num(doc, "watchdog", "stall_limit_ms"), 3000);
    assert_false(flag(doc, "watchdog", "stalled"));
    assert_int_equal((int)num(doc, "watchdog", "stalls"), 0);
    cJSON_Delete(doc);
    fx_stop(&fx);
}

/* The seed's .uart (from the status document's stats.uart), .heap_free and
 * the watchdog's seed names. */
static void test_document_has_the_seed_uart_heap_and_watchdog_fields(void **state)
{
    (void)state;
    fx_t fx;
    fx_start(&fx, true, 5);
    status_t st;
    memset(&st, 0, sizeof st);
    st.seq = 1;
    st.data_valid = true;
    st.data_state = "valid";
    st.uart.polls = 120;
    st.uart.success = 117;
    st.uart.errors = 3;
    st.uart.timeouts = 2;
    st.uart.crc_errors = 1;
    st.uart.retries = 4;
    st.uart.latency_avg_ms = 8.5;
    st.uart.latency_last_ms = 7.25;
    st.uart.latency_max_ms = 30;
    st.uart.open = true;
    snprintf(st.uart.device, sizeof st.uart.device, "/dev/ttyUSB0");
    hub_publish_status(fx.hub, &st, strdup("{}"));
    turns(&fx, 2);
    cJSON *doc = document(&fx);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(doc, "uart");
    assert_true(cJSON_IsObject(u));
    assert_int_equal((int)num(u, "polls", NULL), 120);
    assert_int_equal((int)num(u, "success", NULL), 117);
    assert_int_equal((int)num(u, "errors", NULL), 3);
    assert_int_equal((int)num(u, "timeouts", NULL), 2);
    assert_int_equal((int)num(u, "crc_errors", NULL), 1);
    assert_int_equal((int)num(u, "retry_count", NULL), 4);
    assert_true(num(u, "latency_avg_ms", NULL) == 8.5);
    assert_true(num(u, "latency_last_ms", NULL) == 7.25);
    assert_int_equal((int)num(u, "latency_max_ms", NULL), 30);
    assert_int_equal((int)num(u, "interval_ms_current", NULL), 250);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(u, "device")->valuestring,
                        "/dev/ttyUSB0");
    /* MemAvailable: some memory is available on the machine running this. */
    assert_true(num(doc, "heap_free", NULL) > 1e6);
    assert_true(num(doc, "heap_free_min", NULL) <= num(doc, "heap_free", NULL));
    assert_true(num(doc, "watchdog", "feed_count") >= 2);
    assert_true(num(doc, "watchdog", "time_until_timeout_ms") <= 5000);
    /* Still there for the existing clients. */
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(doc, "modules"), "uart")));
    cJSON_Delete(doc);
    fx_stop(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stall_after_the_configured_timeout_stops_the_systemd_pings),
        cmocka_unit_test(test_watchdog_disabled_counts_the_stall_but_keeps_pinging),
        cmocka_unit_test(test_timeout_comes_from_the_configuration),
        cmocka_unit_test(test_document_has_the_seed_uart_heap_and_watchdog_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
