/* Tests of fw_diag.h: the ESP32 firmware's diagnostics document and the chip's metrics
 * families, built from plain numbers (no ESP-IDF here). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_status.h"
#include "fw_diag.h"

static void fill_input(fw_diag_input_t *in)
{
    memset(in, 0, sizeof *in);
    in->version = "0.9.0";
    in->build = "Dec  2 2026 06:00:00";
    in->target = "ESP32-C3";
    in->idf_version = "v6.0.2";
    in->uptime_ms = 61234;
    in->reset_reason = "task watchdog";
    in->heap.free_bytes = 181000;
    in->heap.free_min_bytes = 150500;
    in->heap.largest_block_bytes = 90112;
    in->tasks_n = 1;
    in->tasks[0] = (fw_diag_task_t){"bridge", 8192, 3100};
    in->loop.iterations = 6000;
    in->loop.lag_last_us = 120;
    in->loop.lag_max_us = 9870;
    in->loop.lag_sum_us = 3000;
    in->loop.lag_samples = 10;
    in->loop.busy_last_us = 450;
    in->loop.busy_max_us = 12345;
    in->watchdog.enabled = true;
    in->watchdog.subscribed = true;
    in->watchdog.timeout_ms = 5000;
    in->watchdog.since_feed_ms = 2;
    in->watchdog.max_gap_us = 101230;
    in->bridge.running = true;
    in->storage.mounted = true;
    in->storage.total_bytes = 917504;
    in->storage.used_bytes = 40960;
    in->twai.bus_errors = 3;
    in->twai.recoveries = 1;
    in->energy.saved = 12;
    in->poll_interval_ms = 100;
    in->log.level = "INFO";
    in->log.lines[0] = 2;
    in->log.lines[1] = 5;
    in->log.file_open = true;
}

static cJSON *parse(const fw_diag_input_t *in)
{
    char *text = fw_diag_json(in);
    assert_non_null(text);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    assert_non_null(doc);
    return doc;
}

static const cJSON *at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    assert_non_null(x);
    if (b != NULL) {
        x = cJSON_GetObjectItemCaseSensitive(x, b);
        assert_non_null(x);
    }
    return x;
}

static double num(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = at(o, a, b);
    assert_true(cJSON_IsNumber(x));
    return x->valuedouble;
}

static void test_null_input_gives_no_document(void **state)
{
    (void)state;
    assert_null(fw_diag_json(NULL));
    assert_null(fw_diag_metrics(NULL, NULL));
}

static void test_document_carries_the_chip_figures(void **state)
{
    (void)state;
    fw_diag_input_t in;
    fill_input(&in);
    cJSON *doc = parse(&in);
    assert_string_equal(at(doc, "version", NULL)->valuestring, "0.9.0");
    assert_string_equal(at(doc, "target", NULL)->valuestring, "ESP32-C3");
    assert_string_equal(at(doc, "idf_version", NULL)->valuestring, "v6.0.2");
    assert_string_equal(at(doc, "reset_reason", NULL)->valuestring, "task watchdog");
    assert_int_equal((int)num(doc, "uptime_ms", NULL), 61234);
    assert_int_equal((int)num(doc, "heap_free", NULL), 181000);
    assert_int_equal((int)num(doc, "heap_free_min", NULL), 150500);
    assert_int_equal((int)num(doc, "heap_largest_free_block", NULL), 90112);
    const cJSON *bridge = at(doc, "tasks", "bridge");
    assert_int_equal((int)num(bridge, "stack_bytes", NULL), 8192);
    assert_int_equal((int)num(bridge, "stack_free_min_bytes", NULL), 3100);
    assert_true(cJSON_IsTrue(at(doc, "bridge", "running")));
    assert_true(cJSON_IsNull(at(doc, "bridge", "halt_reason")));
    assert_int_equal((int)num(doc, "storage", "used_bytes"), 40960);
    assert_int_equal((int)num(doc, "twai", "bus_errors"), 3);
    assert_int_equal((int)num(doc, "twai", "bus_off_recoveries"), 1);
    assert_int_equal((int)num(doc, "energy", "saves"), 12);
    cJSON_Delete(doc);
}

static void test_loop_figures_in_milliseconds_with_the_average_lag(void **state)
{
    (void)state;
    fw_diag_input_t in;
    fill_input(&in);
    cJSON *doc = parse(&in);
    const cJSON *loop = at(doc, "loop", NULL);
    assert_int_equal((int)num(loop, "iterations", NULL), 6000);
    assert_true(num(loop, "lag_ms", "max") == 9.87);
    assert_true(num(loop, "lag_ms", "avg") == 0.3);
    assert_true(num(loop, "busy_ms", "max") == 12.34); /* 0.01 ms resolution, cut */
    cJSON_Delete(doc);
}

static void test_watchdog_uses_the_seed_names(void **state)
{
    (void)state;
    fw_diag_input_t in;
    fill_input(&in);
    cJSON *doc = parse(&in);
    const cJSON *wd = at(doc, "watchdog", NULL);
    assert_true(cJSON_IsTrue(at(wd, "enabled", NULL)));
    assert_int_equal((int)num(wd, "timeout_ms", NULL), 5000);
    assert_int_equal((int)num(wd, "time_since_last_feed_ms", NULL), 2);
    assert_int_equal((int)num(wd, "time_until_timeout_ms", NULL), 4998);
    assert_int_equal((int)num(wd, "feed_count", NULL), 6000);
    assert_true(num(wd, "max_feed_gap_ms", NULL) == 101.23);
    assert_true(cJSON_IsTrue(at(wd, "health_ok", NULL)));
    assert_true(cJSON_IsTrue(at(wd, "restarts_on_stall", NULL)));
    cJSON_Delete(doc);
}

static void test_watchdog_disabled_or_overdue(void **state)
{
    (void)state;
    fw_diag_input_t in;
    fill_input(&in);
    in.watchdog.enabled = false;
    in.watchdog.since_feed_ms = 7000;
    cJSON *doc = parse(&in);
    const cJSON *wd = at(doc, "watchdog", NULL);
    assert_int_equal((int)num(wd, "time_until_timeout_ms", NULL), 0);
    assert_true(cJSON_IsFalse(at(wd, "health_ok", NULL)));
    assert_true(cJSON_IsFalse(at(wd, "restarts_on_stall", NULL)));
    cJSON_Delete(doc);
}

static void test_without_status_the_battery_parts_are_null(void **state)
{
    (void)state;
    fw_diag_input_t in;
    fill_input(&in);
    in.bridge.running = false;
    in.bridge.halt_reason = "hardware.can.tx_pin: GPIO 34 is input-only on the ESP32";
    cJSON *doc = parse(&in);
    assert_true(cJSON_IsNull(at(doc, "data", "data_valid")));
    assert_true(cJSON_IsNull(at(doc, "data", "data_age_ms")));
    assert_true(cJSON_IsNull(at(doc, "modules", "uart")));
    assert_true(cJSON_IsNull(at(doc, "modules", "can")));
    assert_true(cJSON_IsNull(at(doc, "uart", "polls")));
    assert_int_equal((int)num(doc, "uart", "interval_ms_current"), 100);
    assert_string_equal(at(doc, "bridge", "halt_reason")->valuestring,
                        "hardware.can.tx_pin: GPIO 34 is input-only on the ESP32");
    assert_true(cJSON_IsFalse(at(doc, "bridge", "running")));
    cJSON_Delete(doc);
}

static void test_with_status_the_seed_uart_and_modules_follow_it(void **state)
{
    (void)state;
    static const status_cell_t cells[] = {{1, 3300, false, false}};
    status_t st;
    fixture_status(&st, cells, 1);
    st.uart.polls = 120;
    st.uart.success = 118;
    st.uart.retries = 4;
    st.uart.open = true;
    snprintf(st.uart.device, sizeof st.uart.device, "UART1 (GPIO6/7)");
    st.can.bus_state = "active";
    fw_diag_input_t in;
    fill_input(&in);
    in.status = &st;
    cJSON *doc = parse(&in);
    assert_true(cJSON_IsTrue(at(doc, "data", "data_valid")));
    assert_int_equal((int)num(doc, "data", "data_age_ms"), 93);
    assert_int_equal((int)num(doc, "uart", "polls"), 120);
    assert_int_equal((int)num(doc, "uart", "retry_count"), 4);
    assert_string_equal(at(doc, "uart", "device")->valuestring, "UART1 (GPIO6/7)");
    assert_true(cJSON_IsObject(at(doc, "modules", "uart")));
    cJSON_Delete(doc);
}

static void test_last_errors_newest_first_and_at_most_ten(void **state)
{
    (void)state;
    fw_diag_input_t in;
    fill_input(&in);
    char texts[12][16];
    in.problems_n = 12; /* more than FW_DIAG_PROBLEMS_MAX: the first ten count */
    for (size_t i = 0; i < FW_DIAG_PROBLEMS_MAX; i++) {
        snprintf(texts[i], sizeof texts[i], "line %zu", i);
        in.problems[i] = (fw_diag_line_t){1000u + i, i % 2u ? "WARNING" : "ERROR", texts[i]};
    }
    cJSON *doc = parse(&in);
    const cJSON *arr = at(doc, "last_errors", NULL);
    assert_int_equal(cJSON_GetArraySize(arr), 10);
    const cJSON *first = cJSON_GetArrayItem(arr, 0);
    assert_string_equal(at(first, "text", NULL)->valuestring, "line 9");
    assert_string_equal(at(first, "level", NULL)->valuestring, "WARNING");
    assert_int_equal((int)num(first, "t_ms", NULL), 1009);
    assert_string_equal(at(cJSON_GetArrayItem(arr, 9), "text", NULL)->valuestring, "line 0");
    cJSON_Delete(doc);
}

static void test_log_counters_in_modules(void **state)
{
    (void)state;
    fw_diag_input_t in;
    fill_input(&in);
    cJSON *doc = parse(&in);
    const cJSON *log = at(doc, "modules", "log");
    assert_string_equal(at(log, "level", NULL)->valuestring, "INFO");
    assert_int_equal((int)num(log, "errors", NULL), 2);
    assert_int_equal((int)num(log, "warnings", NULL), 5);
    assert_true(cJSON_IsTrue(at(log, "file_open", NULL)));
    cJSON_Delete(doc);
}

/* Lines of name's family: exactly one HELP and one TYPE, before its samples. */
static void assert_one_family(const char *text, const char *name, const char *type)
{
    char help[128], typ[128];
    snprintf(help, sizeof help, "# HELP %s ", name);
    snprintf(typ, sizeof typ, "# TYPE %s %s\n", name, type);
    const char *h = strstr(text, help);
    assert_non_null(h);
    assert_null(strstr(h + 1, help));
    const char *t = strstr(text, typ);
    assert_non_null(t);
    assert_null(strstr(t + 1, typ));
    assert_true(h < t);
}

static void test_metrics_append_the_chip_families(void **state)
{
    (void)state;
    fw_diag_input_t in;
    fill_input(&in);
    char *text = fw_diag_metrics(&in, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "tinybms_up 1\n")); /* metrics_text's part first */
    assert_one_family(text, "tinybms_heap_free_bytes", "gauge");
    assert_non_null(strstr(text, "\ntinybms_heap_free_bytes 181000\n"));
    assert_non_null(strstr(text, "\ntinybms_heap_free_min_bytes 150500\n"));
    assert_non_null(strstr(text, "\ntinybms_heap_largest_free_block_bytes 90112\n"));
    assert_one_family(text, "tinybms_task_stack_free_min_bytes", "gauge");
    assert_non_null(strstr(text, "\ntinybms_task_stack_free_min_bytes{task=\"bridge\"} 3100\n"));
    assert_non_null(strstr(text, "\ntinybms_task_stack_bytes{task=\"bridge\"} 8192\n"));
    assert_non_null(strstr(text, "\ntinybms_reset_reason_info{reason=\"task watchdog\"} 1\n"));
    assert_one_family(text, "tinybms_twai_bus_errors_total", "counter");
    assert_non_null(strstr(text, "\ntinybms_twai_bus_errors_total 3\n"));
    assert_non_null(strstr(text, "\ntinybms_twai_bus_off_recoveries_total 1\n"));
    assert_non_null(strstr(text, "\ntinybms_storage_used_bytes 40960\n"));
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
}

static void test_metrics_leave_out_storage_when_not_mounted_and_escape_labels(void **state)
{
    (void)state;
    fw_diag_input_t in;
    fill_input(&in);
    in.storage.mounted = false;
    in.reset_reason = "odd \"name\"\\";
    in.tasks_n = 0;
    char *text = fw_diag_metrics(&in, NULL);
    assert_non_null(text);
    assert_null(strstr(text, "tinybms_storage_"));
    assert_null(strstr(text, "tinybms_task_stack"));
    assert_non_null(strstr(text, "tinybms_reset_reason_info{reason=\"odd \\\"name\\\"\\\\\"} 1\n"));
    free(text);
}

static void test_metrics_with_status_keep_the_battery_families(void **state)
{
    (void)state;
    static const status_cell_t cells[] = {{1, 3300, false, false}};
    status_t st;
    fixture_status(&st, cells, 1);
    fw_diag_input_t in;
    fill_input(&in);
    in.status = &st;
    char *text = fw_diag_metrics(&in, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "tinybms_data_valid 1\n"));
    assert_non_null(strstr(text, "\ntinybms_heap_free_bytes 181000\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_input_gives_no_document),
        cmocka_unit_test(test_document_carries_the_chip_figures),
        cmocka_unit_test(test_loop_figures_in_milliseconds_with_the_average_lag),
        cmocka_unit_test(test_watchdog_uses_the_seed_names),
        cmocka_unit_test(test_watchdog_disabled_or_overdue),
        cmocka_unit_test(test_without_status_the_battery_parts_are_null),
        cmocka_unit_test(test_with_status_the_seed_uart_and_modules_follow_it),
        cmocka_unit_test(test_last_errors_newest_first_and_at_most_ten),
        cmocka_unit_test(test_log_counters_in_modules),
        cmocka_unit_test(test_metrics_append_the_chip_families),
        cmocka_unit_test(test_metrics_leave_out_storage_when_not_mounted_and_escape_labels),
        cmocka_unit_test(test_metrics_with_status_keep_the_battery_families),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
