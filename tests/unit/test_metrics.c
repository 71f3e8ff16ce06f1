/* Tests of metrics.h: the Prometheus text exposition format 0.0.4, checked line by line, and
 * the values it carries from the typed status snapshot and the platform figures. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_config.h"
#include "config.h"
#include "fake_bms.h"
#include "fixture_bank.h"
#include "fixture_status.h"
#include "metrics.h"
#include "status_json.h"

/* The simulator's status as the bridge publishes it (3 cells, a warning and an alarm). */
static status_t fixture;

static const status_t *valid_status(void)
{
    static const status_cell_t cells[] = {
        {1, 3323.7, false, false}, {2, 3326, true, true}, {3, 3320.5, false, false}};
    fixture_status(&fixture, cells, 3);
    fixture.min_cell_mv = known(3320);
    fixture.cell_imbalance_mv = known(6);
    fixture.alarms.cond[2] = (status_cond_t){"low_voltage", STATUS_LEVEL_ALARM};
    fixture.alarms.worst = STATUS_LEVEL_ALARM;
    fixture.uart.polls = 120;
    fixture.uart.success = 118;
    fixture.uart.errors = 1;
    fixture.uart.timeouts = 1;
    fixture.uart.crc_errors = 1;
    fixture.uart.retries = 1;
    fixture.uart.garbage_bytes = 3;
    fixture.uart.latency_avg_ms = 0.5;
    fixture.uart.latency_last_ms = 0.25;
    fixture.uart.latency_max_ms = 2;
    fixture.uart.open = true;
    snprintf(fixture.uart.device, sizeof fixture.uart.device, "simulator");
    fixture.can.tx_count = 300;
    fixture.can.tx_drops = 2;
    fixture.can.rx_count = 40;
    fixture.can.bus_state = "active";
    fixture.can.connected = true;
    fixture.can.keepalive_ok = true;
    fixture.cvl.state = "FLOAT";
    fixture.cvl.cvl_voltage_v = known(55.2);
    fixture.bridge.frames = 300;
    fixture.bridge.stale_events = 1;
    fixture.bridge.keepalive_rx = 40;
    fixture.version = "0.1.0";
    return &fixture;
}

/* ---- a checker of the text format ---- */

#define MAX_FAMILIES 200

typedef struct {
    char help[MAX_FAMILIES][96];
    size_t n_help;
    char type[MAX_FAMILIES][96];
    char kind[MAX_FAMILIES][16];
    size_t n_type;
    char sampled[MAX_FAMILIES][96];
    size_t n_sampled;
    size_t samples;
} expo_t;

static bool in(char list[][96], size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* Reads a metric name at *p; false when there is none. */
static bool read_name(const char **p, char *out, size_t cap, bool metric)
{
    const char *s = *p;
    size_t n = 0;
    if (!(isalpha((unsigned char)*s) || *s == '_' || (metric && *s == ':'))) {
        return false;
    }
    while (isalnum((unsigned char)*s) || *s == '_' || (metric && *s == ':')) {
        if (n + 1 >= cap) {
            return false;
        }
        out[n++] = *s++;
    }
    out[n] = '\0';
    *p = s;
    return true;
}

static bool read_labels(const char **p)
{
    const char *s = *p;
    if (*s != '{') {
        return true;
    }
    s++;
    for (;;) {
        char label[64];
        if (!read_name(&s, label, sizeof label, false) || *s++ != '=' || *s++ != '"') {
            return false;
        }
        while (*s != '"') {
            if (*s == '\0' || *s == '\n') {
                return false;
            }
            if (*s == '\\') {
                s++;
                if (*s != '\\' && *s != '"' && *s != 'n') {
                    return false;
                }
            }
            s++;
        }
        s++;
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s++ != '}') {
            return false;
        }
        *p = s;
        return true;
    }
}

static bool read_value(const char *s)
{
    if (strcmp(s, "NaN") == 0 || strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0) {
        return true;
    }
    char *end = NULL;
    (void)strtod(s, &end);
    return end != s && *end == '\0';
}

/* Fails the test on the first line that breaks the format. */
static void check_exposition(const char *text, expo_t *e)
{
    memset(e, 0, sizeof *e);
    size_t len = strlen(text);
    assert_true(len > 0 && text[len - 1] == '\n');
    const char *line = text;
    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        char buf[512];
        size_t n = (size_t)(nl - line);
        assert_true(n < sizeof buf);
        memcpy(buf, line, n);
        buf[n] = '\0';
        line = nl + 1;
        char name[96];
        if (strncmp(buf, "# HELP ", 7) == 0) {
            const char *p = buf + 7;
            assert_true(read_name(&p, name, sizeof name, true));
            assert_true(*p == ' ' && p[1] != '\0');
            if (in(e->help, e->n_help, name)) {
                fail_msg("second HELP for %s", name);
            }
            snprintf(e->help[e->n_help++], 96, "%s", name);
        } else if (strncmp(buf, "# TYPE ", 7) == 0) {
            const char *p = buf + 7;
            assert_true(read_name(&p, name, sizeof name, true));
            assert_true(*p++ == ' ');
            if (strcmp(p, "gauge") != 0 && strcmp(p, "counter") != 0) {
                fail_msg("TYPE %s: kind '%s'", name, p);
            }
            if (in(e->type, e->n_type, name) || in(e->sampled, e->n_sampled, name)) {
                fail_msg("TYPE for %s repeated or after its samples", name);
            }
            snprintf(e->kind[e->n_type], 16, "%s", p);
            snprintf(e->type[e->n_type++], 96, "%s", name);
        } else {
            const char *p = buf;
            if (!read_name(&p, name, sizeof name, true) || !read_labels(&p) || *p++ != ' ' ||
                !read_value(p)) {
                fail_msg("not a sample line: '%s'", buf);
            }
            if (!in(e->type, e->n_type, name) || !in(e->help, e->n_help, name)) {
                fail_msg("sample without HELP/TYPE: '%s'", buf);
            }
            for (size_t i = 0; i < e->n_type; i++) {
                size_t nl_ = strlen(name);
                if (strcmp(e->type[i], name) == 0 && strcmp(e->kind[i], "counter") == 0 &&
                    (nl_ < 6 || strcmp(name + nl_ - 6, "_total") != 0)) {
                    fail_msg("counter %s does not end in _total", name);
                }
            }
            if (!in(e->sampled, e->n_sampled, name)) {
                snprintf(e->sampled[e->n_sampled++], 96, "%s", name);
            }
            e->samples++;
        }
    }
}

/* True when text holds this exact line. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = strstr(text, line); p != NULL; p = strstr(p + 1, line)) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n') {
            return true;
        }
    }
    return false;
}

static void test_valid_status_is_well_formed_with_units_in_names(void **state)
{
    (void)state;
    char *t = metrics_text(valid_status(), NULL);
    assert_non_null(t);
    expo_t e;
    check_exposition(t, &e);
    static const char *const lines[] = {
        "tinybms_up 1",
        "tinybms_build_info{version=\"0.1.0\"} 1",
        "tinybms_data_valid 1",
        "tinybms_data_age_seconds 0.093",
        "tinybms_pack_voltage_volts 53.176",
        "tinybms_pack_current_amperes -12.5",
        "tinybms_pack_power_watts -664.7",
        "tinybms_state_of_charge_percent 55.01",
        "tinybms_temperature_celsius{sensor=\"battery\"} 21.9",
        "tinybms_temperature_celsius{sensor=\"external_1\"} 22",
        "tinybms_temperature_celsius{sensor=\"internal\"} 26",
        "tinybms_cell_voltage_volts{cell=\"3\"} 3.3205",
        "tinybms_cell_voltage_volts{cell=\"2\"} 3.326",
        "tinybms_cell_balancing{cell=\"2\"} 1",
        "tinybms_cell_balancing{cell=\"1\"} 0",
        "tinybms_cell_voltage_min_volts 3.32",
        "tinybms_cell_imbalance_volts 0.006",
        "tinybms_charge_voltage_limit_volts 55.2",
        "tinybms_charge_current_limit_amperes 50",
        "tinybms_discharge_current_limit_amperes 100",
        "tinybms_discharge_voltage_limit_volts 46.4",
        "tinybms_cvl_state{state=\"FLOAT\"} 1",
        "tinybms_alarm_level{condition=\"general\"} 0",
        "tinybms_alarm_level{condition=\"high_voltage\"} 1",
        "tinybms_alarm_level{condition=\"low_voltage\"} 2",
        "tinybms_alarm_worst_level 2",
        "tinybms_uart_polls_total 120",
        "tinybms_uart_timeouts_total 1",
        "tinybms_uart_latency_max_seconds 0.002",
        "tinybms_uart_open 1",
        "tinybms_can_frames_sent_total 300",
        "tinybms_can_tx_drops_total 2",
        "tinybms_can_connected 1",
        "tinybms_bridge_stale_events_total 1",
        "tinybms_gx_keepalive_received_total 40",
        "tinybms_gx_keepalive_ok 1",
        "tinybms_energy_charged_watthours_total 1250",
        "tinybms_energy_discharged_watthours_total 500",
        "# TYPE tinybms_uart_polls_total counter",
        "# TYPE tinybms_pack_voltage_volts gauge",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        if (!has_line(t, lines[i])) {
            fail_msg("missing line '%s' in:\n%s", lines[i], t);
        }
    }
    /* Absent values are absent, not zero. */
    assert_null(strstr(t, "external_2"));
    assert_null(strstr(t, "process_"));
    free(t);
}

static void test_stale_data_exposes_no_battery_values(void **state)
{
    (void)state;
    status_t stale = *valid_status();
    stale.data_valid = false;
    stale.data_state = "stale";
    char *t = metrics_text(&stale, NULL);
    assert_non_null(t);
    expo_t e;
    check_exposition(t, &e);
    assert_true(has_line(t, "tinybms_data_valid 0"));
    assert_null(strstr(t, "tinybms_pack_voltage_volts"));
    assert_null(strstr(t, "tinybms_cell_voltage_volts"));
    assert_null(strstr(t, "tinybms_charge_voltage_limit_volts"));
    assert_true(has_line(t, "tinybms_uart_polls_total 120")); /* counters stay */
    assert_true(has_line(t, "tinybms_alarm_worst_level 2"));
    free(t);
}

static void test_platform_figures(void **state)
{
    (void)state;
    metrics_extra_t x = {
        .have_process = true,
        .rss_bytes = 12345678,
        .open_fds = 9,
        .start_time_s = 1700000000.5,
        .have_loop = true,
        .loop_iterations = 4242,
        .loop_lag_last_s = 0.00025,
        .loop_lag_max_s = 0.004,
        .loop_lag_avg_s = 0.0003,
        .loop_busy_max_s = 0.0015,
        .loop_stalls = 0,
        .have_mqtt = true,
        .mqtt_connected = true,
        .mqtt_published = 1000,
        .mqtt_publish_errors = 1,
        .mqtt_connects = 2,
        .mqtt_connect_failures = 3,
        .mqtt_disconnects = 1,
        .have_ws = true,
        .ws_clients = 2,
        .ws_sent = 77,
        .ws_dropped = 1,
        .have_log = true,
        .log_lines = {1, 2, 30, 0},
        .log_suppressed = 5,
    };
    char *t = metrics_text(valid_status(), &x);
    assert_non_null(t);
    expo_t e;
    check_exposition(t, &e);
    static const char *const lines[] = {
        "process_resident_memory_bytes 12345678",
        "process_open_fds 9",
        "process_start_time_seconds 1700000000.5",
        "tinybms_loop_iterations_total 4242",
        "tinybms_loop_lag_last_seconds 0.00025",
        "tinybms_loop_lag_max_seconds 0.004",
        "tinybms_loop_busy_max_seconds 0.0015",
        "tinybms_loop_stalls_total 0",
        "tinybms_mqtt_connected 1",
        "tinybms_mqtt_messages_published_total 1000",
        "tinybms_mqtt_connect_failures_total 3",
        "tinybms_websocket_clients 2",
        "tinybms_websocket_messages_sent_total 77",
        "tinybms_log_lines_total{level=\"error\"} 1",
        "tinybms_log_lines_total{level=\"info\"} 30",
        "tinybms_log_suppressed_total 5",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        if (!has_line(t, lines[i])) {
            fail_msg("missing line '%s'", lines[i]);
        }
    }
    free(t);

    /* Without a status snapshot: the platform figures alone, still well formed. */
    t = metrics_text(NULL, &x);
    assert_non_null(t);
    check_exposition(t, &e);
    assert_true(has_line(t, "tinybms_up 1"));
    assert_null(strstr(t, "tinybms_data_valid"));
    free(t);
}

static void test_label_values_are_escaped(void **state)
{
    (void)state;
    status_t st;
    memset(&st, 0, sizeof st);
    st.version = "1.0 \"x\" \\ \n";
    st.cvl.state = "A\"B";
    st.data_valid = true;
    char *t = metrics_text(&st, NULL);
    assert_non_null(t);
    expo_t e;
    check_exposition(t, &e);
    assert_true(has_line(t, "tinybms_build_info{version=\"1.0 \\\"x\\\" \\\\ \\n\"} 1"));
    assert_true(has_line(t, "tinybms_cvl_state{state=\"A\\\"B\"} 1"));
    assert_null(strstr(t, "tinybms_pack_voltage_volts")); /* not known: absent */
    free(t);
}

static void test_an_empty_snapshot_is_well_formed(void **state)
{
    (void)state;
    status_t st;
    memset(&st, 0, sizeof st);
    char *t = metrics_text(&st, NULL);
    assert_non_null(t);
    expo_t e;
    check_exposition(t, &e);
    assert_true(has_line(t, "tinybms_data_valid 0"));
    assert_true(has_line(t, "tinybms_alarm_worst_level 0"));
    assert_null(strstr(t, "tinybms_data_age_seconds"));   /* not known: absent */
    assert_null(strstr(t, "tinybms_alarm_level{"));       /* no conditions yet */
    assert_null(strstr(t, "tinybms_build_info"));         /* no version given */
    free(t);
}

/* The real document of a bridge still waiting for data. */
static void test_real_status_document_while_waiting(void **state)
{
    (void)state;
    cfg_t cfg;
    cfg_defaults(&cfg);
    brg_config_t bc;
    bridge_config_from_cfg(&cfg, &bc);
    static brg_t b;
    assert_int_equal(brg_init(&b, &bc, 1000u), TBMS_OK);
    status_input_t in = {.bridge = &b, .now_us = 2000u, .version = "0.1.0",
                         .can = {.connected = true, .tx_frames = 7}};
    status_t st;
    assert_true(status_build(&in, 1, &st));
    char *t = metrics_text(&st, NULL);
    assert_non_null(t);
    expo_t e;
    check_exposition(t, &e);
    assert_true(has_line(t, "tinybms_data_valid 0"));
    assert_true(has_line(t, "tinybms_can_frames_sent_total 7"));
    assert_true(has_line(t, "tinybms_uart_polls_total 0"));
    assert_null(strstr(t, "tinybms_pack_voltage_volts"));
    free(t);
}

/* ---- the packs of a bank (status_t.packs[], status_t.bank) ---- */


/* valid_status() as a bank of two: pack 1 online and bounding the CCL, pack 2 ("Garage")
 * offline with its data stale. */
static const status_t *two_packs(void)
{
    status_t *st = (status_t *)valid_status();
    st->packs_n = 2;
    fixture_status_pack(&st->packs[0], 1, "Pack 1", "online", true);
    st->packs[0].bounds_ccl = true;
    fixture_status_pack(&st->packs[1], 2, "Garage", "offline", false);
    st->packs[1].blocks_charge = true;
    st->packs[1].blocks_discharge = true;
    st->packs[1].uart.open = false;
    st->packs[1].limits.share_charge_pct = known(0);
    st->packs[1].limits.share_discharge_pct = known(0);
    st->bank.ccl_bound = "share";
    st->bank.dcl_bound = "sum";
    st->bank.ccl_pack = 1;
    st->bank.dcl_pack = 0;
    st->bank.warnings = BANK_WARN_PACK_OFFLINE | BANK_WARN_PACK_BLOCKING;
    st->bank.online = 1;
    st->bank.offline = 1;
    st->bank.blocking_charge = 1;
    st->bank.blocking_discharge = 1;
    st->bank.capacity_ah = 200;
    st->bank.online_capacity_ah = 100;
    return st;
}

static void expect_lines(const char *t, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!has_line(t, lines[i])) {
            fail_msg("missing line '%s' in:\n%s", lines[i], t);
        }
    }
}

static void test_each_pack_gets_its_series_with_pack_and_name_labels(void **state)
{
    (void)state;
    char *t = metrics_text(two_packs(), NULL);
    assert_non_null(t);
    expo_t e;
    check_exposition(t, &e);
    static const char *const lines[] = {
        "tinybms_bank_packs 2",
        "tinybms_bank_pack_info{pack=\"1\",name=\"Pack 1\",device=\"/dev/ttyUSB0\","
        "firmware=\"5 (internal 1234)\"} 1",
        "tinybms_bank_pack_info{pack=\"2\",name=\"Garage\",device=\"/dev/ttyUSB1\","
        "firmware=\"5 (internal 1234)\"} 1",
        "tinybms_bank_pack_state{pack=\"1\",name=\"Pack 1\",state=\"online\"} 1",
        "tinybms_bank_pack_state{pack=\"1\",name=\"Pack 1\",state=\"offline\"} 0",
        "tinybms_bank_pack_state{pack=\"2\",name=\"Garage\",state=\"offline\"} 1",
        "tinybms_bank_pack_state{pack=\"2\",name=\"Garage\",state=\"online\"} 0",
        "tinybms_bank_pack_state{pack=\"2\",name=\"Garage\",state=\"joining\"} 0",
        "tinybms_bank_pack_state{pack=\"2\",name=\"Garage\",state=\"silent\"} 0",
        "tinybms_bank_pack_member{pack=\"1\",name=\"Pack 1\"} 1",
        "tinybms_bank_pack_member{pack=\"2\",name=\"Garage\"} 0",
        "tinybms_bank_pack_data_valid{pack=\"2\",name=\"Garage\"} 0",
        "tinybms_bank_pack_data_age_seconds{pack=\"2\",name=\"Garage\"} 61",
        "tinybms_bank_pack_blocks_charge{pack=\"1\",name=\"Pack 1\"} 0",
        "tinybms_bank_pack_blocks_charge{pack=\"2\",name=\"Garage\"} 1",
        "tinybms_bank_pack_blocks_discharge{pack=\"2\",name=\"Garage\"} 1",
        "tinybms_bank_pack_bounds_charge_current_limit{pack=\"1\",name=\"Pack 1\"} 1",
        "tinybms_bank_pack_bounds_discharge_current_limit{pack=\"1\",name=\"Pack 1\"} 0",
        "tinybms_bank_pack_voltage_volts{pack=\"1\",name=\"Pack 1\"} 53.3",
        "tinybms_bank_pack_current_amperes{pack=\"1\",name=\"Pack 1\"} -6.25",
        "tinybms_bank_pack_power_watts{pack=\"1\",name=\"Pack 1\"} -332.5",
        "tinybms_bank_pack_state_of_charge_percent{pack=\"1\",name=\"Pack 1\"} 54.5",
        "tinybms_bank_pack_cell_voltage_min_volts{pack=\"1\",name=\"Pack 1\"} 3.3215",
        "tinybms_bank_pack_cell_voltage_max_volts{pack=\"1\",name=\"Pack 1\"} 3.33",
        "tinybms_bank_pack_cell_imbalance_volts{pack=\"1\",name=\"Pack 1\"} 0.0085",
        "tinybms_bank_pack_capacity_amperehours{pack=\"2\",name=\"Garage\"} 100",
        "tinybms_bank_pack_charge_current_limit_amperes{pack=\"1\",name=\"Pack 1\"} 40",
        "tinybms_bank_pack_discharge_current_limit_amperes{pack=\"1\",name=\"Pack 1\"} 80",
        "tinybms_bank_pack_charge_share_percent{pack=\"1\",name=\"Pack 1\"} 52.5",
        "tinybms_bank_pack_charge_share_percent{pack=\"2\",name=\"Garage\"} 0",
        "tinybms_bank_pack_discharge_share_percent{pack=\"1\",name=\"Pack 1\"} 47.5",
        "tinybms_bank_pack_cell_voltage_volts{pack=\"1\",name=\"Pack 1\",cell=\"2\"} 3.33",
        "tinybms_bank_pack_cell_balancing{pack=\"1\",name=\"Pack 1\",cell=\"2\"} 1",
        "tinybms_bank_pack_cell_balancing{pack=\"1\",name=\"Pack 1\",cell=\"3\"} 0",
        "tinybms_bank_pack_uart_polls_total{pack=\"2\",name=\"Garage\"} 120",
        "tinybms_bank_pack_uart_polls_success_total{pack=\"1\",name=\"Pack 1\"} 58",
        "tinybms_bank_pack_uart_timeouts_total{pack=\"2\",name=\"Garage\"} 1",
        "tinybms_bank_pack_uart_latency_avg_seconds{pack=\"1\",name=\"Pack 1\"} 0.0015",
        "tinybms_bank_pack_uart_open{pack=\"2\",name=\"Garage\"} 0",
        "# TYPE tinybms_bank_pack_uart_polls_total counter",
        "# TYPE tinybms_bank_pack_voltage_volts gauge",
        "tinybms_bank_modules_online 1",
        "tinybms_bank_modules_offline 1",
        "tinybms_bank_modules_blocking_charge 1",
        "tinybms_bank_modules_blocking_discharge 1",
        "tinybms_bank_capacity_amperehours 200",
        "tinybms_bank_online_capacity_amperehours 100",
        "tinybms_bank_warning{warning=\"pack_offline\"} 1",
        "tinybms_bank_warning{warning=\"pack_blocking\"} 1",
        "tinybms_bank_warning{warning=\"pack_silent\"} 0",
        "tinybms_bank_warning{warning=\"voltage_mismatch\"} 0",
        "tinybms_bank_warning{warning=\"cells_mismatch\"} 0",
        "tinybms_bank_current_limit_bound{limit=\"charge\",bound=\"share\"} 1",
        "tinybms_bank_current_limit_bound{limit=\"discharge\",bound=\"sum\"} 1",
        "tinybms_bank_current_limit_pack{limit=\"charge\"} 1",
        "tinybms_bank_current_limit_pack{limit=\"discharge\"} 0",
        /* The battery (here: the bank) keeps its unlabelled series. */
        "tinybms_pack_voltage_volts 53.176",
        "tinybms_charge_current_limit_amperes 50",
        "tinybms_uart_polls_total 120",
    };
    expect_lines(t, lines, sizeof lines / sizeof lines[0]);
    /* Pack 2's data is stale: its measured values and cells are absent, not old. */
    assert_null(strstr(t, "tinybms_bank_pack_voltage_volts{pack=\"2\""));
    assert_null(strstr(t, "tinybms_bank_pack_cell_voltage_volts{pack=\"2\""));
    assert_null(strstr(t, "tinybms_bank_pack_charge_current_limit_amperes{pack=\"2\""));
    /* No pack label ever lands on a battery family. */
    assert_null(strstr(t, "tinybms_pack_voltage_volts{"));
    assert_null(strstr(t, "tinybms_cell_voltage_volts{pack"));
    free(t);
}

static void test_one_pack_adds_pack_1_series_and_no_bank_figures(void **state)
{
    (void)state;
    status_t one = *valid_status();
    one.packs_n = 1;
    fixture_status_pack(&one.packs[0], 1, "Pack 1", "online", true);
    char *t = metrics_text(&one, NULL);
    assert_non_null(t);
    expo_t e;
    check_exposition(t, &e);
    static const char *const lines[] = {
        "tinybms_bank_packs 1",
        "tinybms_bank_pack_state{pack=\"1\",name=\"Pack 1\",state=\"online\"} 1",
        "tinybms_bank_pack_voltage_volts{pack=\"1\",name=\"Pack 1\"} 53.3",
        "tinybms_bank_pack_cell_voltage_volts{pack=\"1\",name=\"Pack 1\",cell=\"1\"} 3.3241",
        /* every battery line of the single-pack document is still there */
        "tinybms_pack_voltage_volts 53.176",
        "tinybms_cell_voltage_volts{cell=\"3\"} 3.3205",
        "tinybms_alarm_worst_level 2",
        "tinybms_uart_polls_total 120",
    };
    expect_lines(t, lines, sizeof lines / sizeof lines[0]);
    assert_null(strstr(t, "pack=\"2\""));
    assert_null(strstr(t, "tinybms_bank_modules_"));
    assert_null(strstr(t, "tinybms_bank_warning"));
    assert_null(strstr(t, "tinybms_bank_current_limit_"));
    free(t);

    /* Without packs (a snapshot from before they existed): no tinybms_bank_ family at all. */
    t = metrics_text(valid_status(), NULL);
    assert_non_null(t);
    assert_null(strstr(t, "tinybms_bank_"));
    free(t);
}

static void test_pack_names_are_escaped_and_packs_n_is_capped(void **state)
{
    (void)state;
    status_t st = *two_packs();
    snprintf(st.packs[0].name, sizeof st.packs[0].name, "Shed \"A\"\\1");
    st.packs[1].state = "?";
    st.packs_n = 200; /* more than the array holds: only the first STATUS_PACKS_MAX count */
    for (unsigned i = 2; i < STATUS_PACKS_MAX; i++) {
        fixture_status_pack(&st.packs[i], (uint8_t)(i + 1u), "Spare", "joining", false);
    }
    char *t = metrics_text(&st, NULL);
    assert_non_null(t);
    expo_t e;
    check_exposition(t, &e);
    assert_true(has_line(t, "tinybms_bank_pack_member{pack=\"1\",name=\"Shed \\\"A\\\"\\\\1\"} 1"));
    char want[64];
    snprintf(want, sizeof want, "tinybms_bank_packs %u", (unsigned)STATUS_PACKS_MAX);
    assert_true(has_line(t, want));
    /* An unknown state name: every state line of that pack reads 0. */
    assert_true(has_line(t, "tinybms_bank_pack_state{pack=\"2\",name=\"Garage\",state=\"offline\"} 0"));
    assert_true(has_line(t, "tinybms_bank_pack_state{pack=\"2\",name=\"Garage\",state=\"online\"} 0"));
    free(t);
}

/* ---- a real bank: two 4S packs through the whole bridge (fake_bms.h) ---- */


static void test_real_bank_with_a_silent_pack(void **state)
{
    (void)state;
    static status_t st;
    fixture_silent_bank_status(&st);
    char *t = metrics_text(&st, NULL);
    assert_non_null(t);
    expo_t e;
    check_exposition(t, &e);
    static const char *const lines[] = {
        "tinybms_data_valid 1", /* pack 1 carries the bank */
        "tinybms_bank_packs 2",
        "tinybms_bank_pack_state{pack=\"1\",name=\"Pack 1\",state=\"online\"} 1",
        "tinybms_bank_pack_state{pack=\"2\",name=\"Left\",state=\"silent\"} 1",
        "tinybms_bank_pack_state{pack=\"2\",name=\"Left\",state=\"online\"} 0",
        "tinybms_bank_pack_data_valid{pack=\"2\",name=\"Left\"} 0",
        "tinybms_bank_pack_member{pack=\"2\",name=\"Left\"} 1",
        "tinybms_bank_pack_current_amperes{pack=\"1\",name=\"Pack 1\"} 14",
        "tinybms_bank_pack_cell_count{pack=\"1\",name=\"Pack 1\"} 4",
        "tinybms_bank_warning{warning=\"pack_silent\"} 1",
        "tinybms_bank_capacity_amperehours 560",
    };
    expect_lines(t, lines, sizeof lines / sizeof lines[0]);
    assert_non_null(strstr(t, "\ntinybms_bank_pack_info{pack=\"2\",name=\"Left\",device=\"/dev/ttyUSB1\","));
    /* Pack 2's last values are old: not exposed as readings. */
    assert_null(strstr(t, "tinybms_bank_pack_current_amperes{pack=\"2\""));
    assert_null(strstr(t, "tinybms_bank_pack_cell_voltage_volts{pack=\"2\""));
    assert_non_null(strstr(t, "tinybms_bank_pack_cell_voltage_volts{pack=\"1\",name=\"Pack 1\",cell=\"4\"}"));
    /* Every pack's UART counter is there and the battery's is their sum. */
    char want[96];
    snprintf(want, sizeof want, "tinybms_uart_polls_total %u",
             (unsigned)(st.packs[0].uart.polls + st.packs[1].uart.polls));
    assert_true(has_line(t, want));
    snprintf(want, sizeof want, "tinybms_bank_pack_uart_polls_total{pack=\"2\",name=\"Left\"} %u",
             (unsigned)st.packs[1].uart.polls);
    assert_true(has_line(t, want));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_status_is_well_formed_with_units_in_names),
        cmocka_unit_test(test_stale_data_exposes_no_battery_values),
        cmocka_unit_test(test_platform_figures),
        cmocka_unit_test(test_label_values_are_escaped),
        cmocka_unit_test(test_an_empty_snapshot_is_well_formed),
        cmocka_unit_test(test_real_status_document_while_waiting),
        cmocka_unit_test(test_each_pack_gets_its_series_with_pack_and_name_labels),
        cmocka_unit_test(test_one_pack_adds_pack_1_series_and_no_bank_figures),
        cmocka_unit_test(test_pack_names_are_escaped_and_packs_n_is_capped),
        cmocka_unit_test(test_real_bank_with_a_silent_pack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
