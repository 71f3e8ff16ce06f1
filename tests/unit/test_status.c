/* Tests of status.h and status_json.h: the typed status snapshot built from
 * a bridge driven by a fake TinyBMS, and the document rendered from it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_config.h"
#include "config.h"
#include "fake_bms.h"
#include "status_json.h"

static uint16_t regs[FAKE_BMS_REGS];
static brg_t b;

static void start(uint64_t *now)
{
    cfg_t cfg;
    cfg_defaults(&cfg);
    brg_config_t bc;
    bridge_config_from_cfg(&cfg, &bc);
    *now = 1000u;
    assert_int_equal(brg_init(&b, &bc, *now), TBMS_OK);
}

/* A started bridge that has read a healthy 4S pack for 3 s. */
static void start_valid_4s(uint64_t *now)
{
    start(now);
    fake_bms_pack(regs, 4);
    fake_bms_run(&b, regs, true, now, *now + 3000000u);
}

static status_input_t input(uint64_t now, const char *device)
{
    return (status_input_t){
        .bridge = &b,
        .now_us = now,
        .uptime_ms = 42u,
        .time_ms = 1700000000123u,
        .uart_open = true,
        .uart_device = device,
        .can = {.tx_frames = 7, .bus_state = "active", .connected = true, .interface = "log:-"},
        .version = "0.1.0",
        .cvl_state = brg_cvl_state_name(&b),
    };
}

static void test_waiting_bridge_has_no_battery_values(void **state)
{
    (void)state;
    uint64_t now;
    start(&now);
    status_input_t in = input(2000u, "simulator");
    status_t st;
    assert_true(status_build(&in, 1, &st));
    assert_int_equal(st.seq, 1);
    assert_false(st.data_valid);
    assert_string_equal(st.data_state, "waiting");
    assert_false(st.voltage.known);
    assert_false(st.data_age_ms.known);
    assert_null(st.online_status_name);
    assert_int_equal(st.cells_n, 0);
    assert_int_equal(st.alarms.count, 0);
    assert_false(st.limits.cvl_v.known);
    assert_int_equal(st.can.tx_count, 7);
    char *doc = status_json(&st);
    assert_non_null(doc);
    assert_non_null(strstr(doc, "\"voltage\":null"));
    assert_non_null(strstr(doc, "\"cells\":[]"));
    assert_non_null(strstr(doc, "\"data_state\":\"waiting\""));
    assert_non_null(strstr(doc, "\"worst\":\"ok\""));
    free(doc);
}

static void test_valid_bridge_fills_every_group(void **state)
{
    (void)state;
    uint64_t now;
    start_valid_4s(&now);
    status_input_t in = input(now, "/dev/ttyUSB0");
    status_t st;
    assert_true(status_build(&in, 9, &st));
    assert_int_equal(st.seq, 9);
    assert_true(st.data_valid);
    assert_true(st.voltage.known);
    assert_true(st.current.known);
    assert_true(st.current.v > 10.4 && st.current.v < 10.6);
    assert_true(st.soc_percent.known);
    assert_true(st.soc_percent.v > 55.4 && st.soc_percent.v < 55.6);
    assert_int_equal(st.cells_n, 4);
    assert_int_equal(st.cells[0].index, 1);
    assert_true(st.cells[3].mv > 3302.9 && st.cells[3].mv < 3303.1);
    assert_true(st.temps.external_1_c.known);
    assert_false(st.temps.external_2_c.known);
    assert_true(st.temps.usable);
    assert_true(st.limits.cvl_v.known);
    assert_true(st.limits.sent);
    assert_true(st.alarms.count > 0);
    assert_string_equal(st.online_status_name, "charging");
    assert_true(st.bms.have_version);
    assert_string_equal(st.bms.hardware, "2.1");
    assert_true(st.bms.have_settings);
    assert_int_equal(st.bms.series_cells, 4);
    assert_string_equal(st.uart.device, "/dev/ttyUSB0");
    assert_true(st.uart.polls > 0);
    char *doc = status_json(&st);
    assert_non_null(doc);
    assert_non_null(strstr(doc, "\"online_status_name\":\"charging\""));
    assert_non_null(strstr(doc, "{\"index\":4,\"mv\":3303,"));
    assert_non_null(strstr(doc, "\"hardware\":\"2.1\""));
    assert_non_null(strstr(doc, "\"device\":\"/dev/ttyUSB0\""));
    free(doc);
}

/* The whole document of a 4-cell pack, byte for byte: the text the renderer
 * produced before the typed snapshot existed (key names, order, rounding,
 * nulls), so a change to status_t or status_json shows here. */
static const char golden_4_cells[] =
    "{\"voltage\":13.206,\"current\":10.5,\"power_w\":138.7,\"soc_percent\":55.5,\"soh_percen"
    "t\":100,\"temperature\":25,\"min_cell_mv\":3300,\"max_cell_mv\":3303,\"cell_imbalance_mv"
    "\":3,\"online_status\":145,\"online_status_name\":\"charging\",\"uptime_ms\":42,\"time_m"
    "s\":1700000000123,\"data_valid\":true,\"data_state\":\"valid\",\"data_age_ms\":1,\"cell_"
    "count\":4,\"cells\":[{\"index\":1,\"mv\":3300,\"balancing\":false,\"needs_balancing\":fa"
    "lse},{\"index\":2,\"mv\":3301,\"balancing\":false,\"needs_balancing\":false},{\"index\":"
    "3,\"mv\":3302,\"balancing\":false,\"needs_balancing\":false},{\"index\":4,\"mv\":3303,\""
    "balancing\":false,\"needs_balancing\":false}],\"temperatures\":{\"external_1_c\":25,\"ex"
    "ternal_2_c\":null,\"internal_c\":30,\"used\":[\"external_1\"],\"lost\":[],\"fallback\":f"
    "alse,\"usable\":true,\"min_c\":25,\"max_c\":25},\"limits\":{\"cvl_v\":13.8,\"ccl_a\":50,"
    "\"dcl_a\":100,\"dvl_v\":11.6,\"sent\":true,\"reasons\":[]},\"alarms\":{\"active\":[],\"c"
    "onditions\":{\"general\":\"ok\",\"high_voltage\":\"ok\",\"low_voltage\":\"ok\",\"high_te"
    "mperature\":\"ok\",\"low_temperature_charge\":\"ok\",\"high_discharge_current\":\"ok\",\""
    "high_charge_current\":\"ok\",\"bms_internal\":\"ok\",\"cell_imbalance\":\"ok\"},\"worst\""
    ":\"ok\"},\"gx\":{\"keepalive_ok\":false,\"keepalive_age_ms\":null,\"victron_handshake\":"
    "false},\"energy\":{\"charged_kwh\":0,\"discharged_kwh\":0},\"stats\":{\"uart\":{\"polls\""
    ":35,\"success\":35,\"errors\":0,\"timeouts\":0,\"crc_errors\":0,\"retries\":0,\"failures"
    "\":0,\"nacks\":0,\"truncated\":0,\"unexpected\":0,\"garbage_bytes\":0,\"latency_avg_ms\""
    ":0,\"latency_last_ms\":0,\"latency_max_ms\":0,\"open\":true,\"device\":\"/dev/ttyUSB0\"}"
    ",\"can\":{\"tx_count\":7,\"tx_errors\":0,\"tx_drops\":0,\"rx_count\":0,\"rx_errors\":0,\""
    "reconnects\":0,\"bus_off_count\":0,\"bus_state\":\"active\",\"tx_error_counter\":0,\"rx_"
    "error_counter\":0,\"connected\":true,\"keepalive_ok\":false,\"interface\":\"log:-\"},\"c"
    "vl\":{\"state\":\"BULK\",\"cvl_voltage_v\":13.8,\"ccl_limit_a\":50,\"dcl_limit_a\":100},"
    "\"bridge\":{\"frames\":0,\"stale_events\":0,\"decode_errors\":0,\"keepalive_rx\":0},"
    "\"uart_success_count\":35,\"uart_errors\":0,\"can_tx_count\":7,\"can_tx_errors\":0,"
    "\"victron_keepalive_ok\":false},\"b"
    "ms\":{\"hardware\":\"2.1\",\"firmware\":\"1 (internal 242)\",\"series_cells\":4,\"capaci"
    "ty_ah\":280,\"over_voltage_cutoff_mv\":3650,\"under_voltage_cutoff_mv\":2800,\"charge_ov"
    "er_current_a\":80,\"discharge_over_current_a\":150},\"version\":\"0.1.0\"}";

static void test_document_is_byte_identical_to_the_golden_text(void **state)
{
    (void)state;
    uint64_t now;
    start_valid_4s(&now);
    status_input_t in = input(now, "/dev/ttyUSB0");
    status_t st;
    assert_true(status_build(&in, 1, &st));
    char *doc = status_json(&st);
    assert_non_null(doc);
    assert_string_equal(doc, golden_4_cells);
    free(doc);
}

static void test_a_copy_is_independent_of_the_inputs(void **state)
{
    (void)state;
    uint64_t now;
    start_valid_4s(&now);
    char device[32] = "/dev/ttyUSB0";
    char iface[32] = "slcan:/dev/ttyACM0";
    status_input_t in = input(now, device);
    in.can.interface = iface;
    status_t st;
    assert_true(status_build(&in, 1, &st));
    status_t copy = st;
    char *before = status_json(&copy);
    /* The bridge moves on and the caller's strings change: the copy does not. */
    snprintf(device, sizeof device, "changed");
    snprintf(iface, sizeof iface, "changed");
    fake_bms_run(&b, regs, false, &now, now + 8000000u);
    char *after = status_json(&copy);
    assert_string_equal(before, after);
    assert_string_equal(copy.can.interface, "slcan:/dev/ttyACM0");
    free(before);
    free(after);
}

static void test_stale_data_keeps_values_but_says_so(void **state)
{
    (void)state;
    uint64_t now;
    start_valid_4s(&now);
    fake_bms_run(&b, regs, false, &now, now + 8000000u);
    status_input_t in = input(now, "simulator");
    status_t st;
    assert_true(status_build(&in, 2, &st));
    assert_false(st.data_valid);
    assert_string_equal(st.data_state, "stale");
    assert_false(st.limits.sent);
    assert_true(st.voltage.known);
    assert_true(st.data_age_ms.known);
    assert_true(st.data_age_ms.v >= 5000.0);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    status_t st;
    memset(&st, 0x5A, sizeof st);
    status_input_t in = {.bridge = NULL};
    assert_false(status_build(NULL, 1, &st));
    assert_false(status_build(&in, 1, &st));
    in.bridge = &b;
    assert_false(status_build(&in, 1, NULL));
    assert_null(status_json(NULL));
    assert_null(status_json_alarms(NULL));
    assert_null(status_json_uart(NULL));
    assert_string_equal(status_level_name(STATUS_LEVEL_ALARM), "alarm");
    assert_string_equal(status_level_name(STATUS_LEVEL_OK), "ok");
    assert_string_equal(status_bms_state_name(0x9B), "fault");
    assert_string_equal(status_bms_state_name(0x12), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waiting_bridge_has_no_battery_values),
        cmocka_unit_test(test_valid_bridge_fills_every_group),
        cmocka_unit_test(test_document_is_byte_identical_to_the_golden_text),
        cmocka_unit_test(test_a_copy_is_independent_of_the_inputs),
        cmocka_unit_test(test_stale_data_keeps_values_but_says_so),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
