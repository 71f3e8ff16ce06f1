/*
 * Black-box tests of config.h (schema, defaults, strict JSON, validation,
 * serialisation) and config_store.h (file load, atomic save).
 *
 * The key table of docs/configuration.md is generated from config.c; the
 * test test_docs_key_table_matches_schema fails when the two drift apart.
 * Regenerate with: TBVB_UPDATE_DOCS=1 build/<dir>/tests/test_config
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bank.h"
#include "config.h"
#include "config_store.h"

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* An output struct filled with a pattern, to prove a failed call leaves it
 * untouched byte for byte. */
static void poison(cfg_t *c)
{
    memset(c, 0xA5, sizeof *c);
}

static void expect_error_from(const cfg_t *base, const char *json, cfg_err_t code, const char *key,
                              const char *part)
{
    cfg_t out;
    cfg_t before;
    cfg_error_t err;
    poison(&out);
    before = out;
    cfg_err_t rc = base != NULL ? cfg_merge_json(base, json, strlen(json), &out, &err)
                                : cfg_from_json(json, strlen(json), &out, &err);
    if (rc != code || strcmp(err.key, key) != 0 || strstr(err.message, part) == NULL) {
        print_error("input: %s\n  got %s, key \"%s\", message \"%s\"\n  want %s, key \"%s\", "
                    "message containing \"%s\"\n",
                    json, cfg_strerror(rc), err.key, err.message, cfg_strerror(code), key, part);
    }
    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
    assert_string_equal(err.key, key);
    assert_non_null(strstr(err.message, part));
    if (key[0] != '\0') {
        /* The message starts with the key path. */
        assert_memory_equal(err.message, key, strlen(key));
    }
    assert_memory_equal(&out, &before, sizeof out);
}

static void expect_error(const char *json, cfg_err_t code, const char *key, const char *part)
{
    expect_error_from(NULL, json, code, key, part);
}

static cfg_t parse_ok(const char *json)
{
    cfg_t out;
    cfg_error_t err;
    cfg_err_t rc = cfg_from_json(json, strlen(json), &out, &err);
    if (rc != CFG_OK) {
        print_error("input: %s\n  error: %s\n", json, err.message);
    }
    assert_int_equal(rc, CFG_OK);
    assert_int_equal(err.code, CFG_OK);
    return out;
}

/* A configuration with every string and most numbers away from defaults. */
static cfg_t custom_config(void)
{
    static const char json[] =
        "{\"hardware\":{\"uart\":{\"device\":\"/dev/ttyAMA0\",\"timeout_ms\":300,\"retries\":3},"
        "\"can\":{\"interface\":\"slcan:/dev/ttyACM0\"}},"
        "\"tinybms\":{\"poll_interval_ms\":200,\"stats_refresh_ms\":0,\"bms_timeout_ms\":8000},"
        "\"victron\":{\"manufacturer_name\":\"Acme\",\"battery_name\":\"Shed 16S 280Ah\","
        "\"fast_interval_ms\":500,\"max_charge_current_a\":120.5,\"max_discharge_current_a\":150,"
        "\"charge_cell_mv\":3400,\"discharge_cell_mv\":3000,"
        "\"thresholds\":{\"overvoltage_v\":56.8,\"undervoltage_v\":45.6,\"overtemp_c\":50.5,"
        "\"low_temp_charge_c\":-2.5,\"imbalance_warn_mv\":60,\"imbalance_alarm_mv\":150}},"
        "\"cvl\":{\"enabled\":false,\"bulk_soc_threshold\":85.5,\"float_exit_soc\":93.25,"
        "\"series_cell_count\":16,\"bulk_target_voltage_v\":55.2,"
        "\"imbalance_drop_per_mv\":0.00075,\"cell_protection_kp\":150.125},"
        "\"logging\":{\"log_level\":\"debug\",\"log_can_traffic\":true},"
        "\"web_server\":{\"port\":8443,\"bind_address\":\"::\",\"username\":\"admin\","
        "\"password\":\"correct horse\",\"token\":\"0123456789abcdef0123\"},"
        "\"mqtt\":{\"enabled\":true,\"host\":\"broker.lan\",\"port\":8883,\"username\":\"bridge\","
        "\"password\":\"s3cret!\",\"client_id\":\"tbvb-1\",\"root_topic\":\"home/battery\","
        "\"qos\":1,\"retain\":true,\"keepalive_s\":60,\"tls_ca_file\":\"/etc/ssl/ca.pem\"}}";
    return parse_ok(json);
}

/* ------------------------------------------------------------------------
 * Defaults
 * ------------------------------------------------------------------------ */

static void test_defaults_validate(void **state)
{
    (void)state;
    cfg_t c;
    cfg_error_t err;
    cfg_defaults(&c);
    assert_int_equal(cfg_validate(&c, &err), CFG_OK);
    assert_string_equal(err.message, "");
}

static void test_defaults_follow_the_protocol_specs_not_the_seed(void **state)
{
    (void)state;
    cfg_t c;
    cfg_defaults(&c);
    assert_int_equal(c.hardware.uart.baudrate, 115200); /* not the README's 19200 */
    assert_int_equal(c.hardware.can.bitrate, 500000);   /* not the seed's 250k (9 item 11) */
    assert_int_equal(c.tinybms.poll_interval_ms, 100);
    assert_int_equal(c.tinybms.bms_timeout_ms, 5000);
    assert_true(c.victron.fast_interval_ms <= 1000);
    assert_int_equal(c.victron.charge_cell_mv, 3450);
    assert_string_equal(c.victron.manufacturer_name, "TinyBMS");
    /* No default credentials anywhere (9 items 30/31). */
    assert_string_equal(c.web_server.username, "");
    assert_string_equal(c.web_server.password, "");
    assert_string_equal(c.web_server.token, "");
    assert_string_equal(c.mqtt.password, "");
    assert_false(c.mqtt.enabled);
    assert_int_equal(c.cvl.bulk_soc_threshold_cpct, 9000);
    assert_int_equal(c.cvl.imbalance_drop_uv_per_mv, 500);
    assert_int_equal(c.logging.log_level, CFG_LOG_INFO);
}

static void test_empty_object_gives_the_defaults(void **state)
{
    (void)state;
    cfg_t d;
    cfg_defaults(&d);
    cfg_t c = parse_ok("  {}\n");
    assert_true(cfg_equal(&c, &d));
}

/* ------------------------------------------------------------------------
 * Accepted documents
 * ------------------------------------------------------------------------ */

/* The seed README's "Configuration" example, with hardware written the Linux
 * way (device and interface instead of pins, the real 115200 baud). */
static void test_seed_readme_example_loads(void **state)
{
    (void)state;
    static const char json[] =
        "{\n"
        "  \"hardware\": {\n"
        "    \"uart\": {\"device\": \"/dev/ttyUSB0\", \"baudrate\": 115200, \"timeout_ms\": 100},\n"
        "    \"can\": {\"interface\": \"socketcan:can0\", \"bitrate\": 500000}\n"
        "  },\n"
        "  \"cvl\": {\n"
        "    \"enabled\": true,\n"
        "    \"bulk_soc_threshold\": 80.0,\n"
        "    \"transition_soc_threshold\": 85.0,\n"
        "    \"float_soc_threshold\": 95.0,\n"
        "    \"float_exit_soc\": 92.0,\n"
        "    \"float_approach_offset_mv\": 50,\n"
        "    \"float_offset_mv\": 100,\n"
        "    \"imbalance_hold_threshold_mv\": 50,\n"
        "    \"imbalance_release_threshold_mv\": 20\n"
        "  },\n"
        "  \"victron\": {\n"
        "    \"thresholds\": {\n"
        "      \"overvoltage_v\": 58.4,\n"
        "      \"undervoltage_v\": 42.0,\n"
        "      \"overtemp_c\": 55.0,\n"
        "      \"low_temp_charge_c\": 5.0,\n"
        "      \"imbalance_warn_mv\": 50,\n"
        "      \"imbalance_alarm_mv\": 100\n"
        "    }\n"
        "  }\n"
        "}\n";
    cfg_t c = parse_ok(json);
    assert_int_equal(c.hardware.uart.timeout_ms, 100);
    assert_int_equal(c.cvl.bulk_soc_threshold_cpct, 8000);
    assert_int_equal(c.cvl.transition_soc_threshold_cpct, 8500);
    assert_int_equal(c.cvl.float_soc_threshold_cpct, 9500);
    assert_int_equal(c.cvl.float_exit_soc_cpct, 9200);
    assert_int_equal(c.cvl.imbalance_hold_threshold_mv, 50);
    assert_int_equal(c.cvl.imbalance_release_threshold_mv, 20);
    assert_int_equal(c.victron.thresholds.overvoltage_mv, 58400);
    assert_int_equal(c.victron.thresholds.undervoltage_mv, 42000);
    assert_int_equal(c.victron.thresholds.overtemp_dc, 550);
    assert_int_equal(c.victron.thresholds.low_temp_charge_dc, 50);
    assert_int_equal(c.victron.thresholds.imbalance_warn_mv, 50);
    assert_int_equal(c.victron.thresholds.imbalance_alarm_mv, 100);
    /* Keys the example leaves out keep their defaults. */
    assert_int_equal(c.tinybms.poll_interval_ms, 100);
    assert_int_equal(c.cvl.cell_max_mv, 3650);
}

static void test_seed_cvl_algorithm_alias_is_accepted(void **state)
{
    (void)state;
    cfg_t c = parse_ok("{\"cvl_algorithm\":{\"enabled\":false,\"float_offset_mv\":120}}");
    assert_false(c.cvl.enabled);
    assert_int_equal(c.cvl.float_offset_mv, 120);
    /* Errors inside the alias are named as written. */
    expect_error("{\"cvl_algorithm\":{\"float_offset_mv\":-1}}", CFG_ERR_RANGE,
                 "cvl_algorithm.float_offset_mv", "-1 is below the minimum 0");
    /* The serialiser writes only the canonical name. */
    char *text = cfg_to_json(&c, false);
    assert_non_null(text);
    assert_null(strstr(text, "cvl_algorithm"));
    assert_non_null(strstr(text, "\"cvl\""));
    free(text);
}

static void test_key_and_its_alias_together_is_a_duplicate(void **state)
{
    (void)state;
    expect_error("{\"cvl\":{},\"cvl_algorithm\":{}}", CFG_ERR_DUPLICATE_KEY, "cvl_algorithm",
                 "\"cvl\"");
    expect_error("{\"logging\":{\"log_level\":\"INFO\",\"level\":\"DEBUG\"}}",
                 CFG_ERR_DUPLICATE_KEY, "logging.level", "means the same");
    expect_error("{\"mqtt\":{\"port\":1,\"port\":2}}", CFG_ERR_DUPLICATE_KEY, "mqtt.port",
                 "given twice");
}

static void test_log_level_is_case_insensitive_and_accepts_level_alias(void **state)
{
    (void)state;
    cfg_t c = parse_ok("{\"logging\":{\"level\":\"warning\"}}");
    assert_int_equal(c.logging.log_level, CFG_LOG_WARNING);
    c = parse_ok("{\"logging\":{\"log_level\":\"Error\"}}");
    assert_int_equal(c.logging.log_level, CFG_LOG_ERROR);
    expect_error("{\"logging\":{\"log_level\":\"VERBOSE\"}}", CFG_ERR_VALUE, "logging.log_level",
                 "\"VERBOSE\" is not one of ERROR, WARNING, INFO, DEBUG");
    assert_string_equal(cfg_log_level_name(CFG_LOG_DEBUG), "DEBUG");
    assert_string_equal(cfg_log_level_name(CFG_LOG_COUNT_), "?");
}

static void test_decimal_keys_store_scaled_integers(void **state)
{
    (void)state;
    cfg_t c = custom_config();
    assert_int_equal(c.victron.max_charge_current_da, 1205);
    assert_int_equal(c.victron.thresholds.overvoltage_mv, 56800);
    assert_int_equal(c.victron.thresholds.low_temp_charge_dc, -25);
    assert_int_equal(c.cvl.float_exit_soc_cpct, 9325);
    assert_int_equal(c.cvl.imbalance_drop_uv_per_mv, 750);
    assert_int_equal(c.cvl.cell_protection_kp_milli, 150125);
    assert_int_equal(c.cvl.bulk_target_mv, 55200);
    assert_int_equal(c.logging.log_level, CFG_LOG_DEBUG);
}

static void test_zero_is_accepted_where_it_has_a_meaning(void **state)
{
    (void)state;
    cfg_t c = parse_ok("{\"cvl\":{\"series_cell_count\":0,\"bulk_target_voltage_v\":0,"
                       "\"sustain_voltage_v\":0},\"tinybms\":{\"events_refresh_ms\":0}}");
    assert_int_equal(c.cvl.series_cell_count, 0);
    assert_int_equal(c.tinybms.events_refresh_ms, 0);
    expect_error("{\"cvl\":{\"series_cell_count\":3}}", CFG_ERR_RANGE, "cvl.series_cell_count",
                 "3 is below the minimum 4 (or 0 = read from the TinyBMS)");
    expect_error("{\"tinybms\":{\"stats_refresh_ms\":999}}", CFG_ERR_RANGE,
                 "tinybms.stats_refresh_ms", "999 is below the minimum 1000 (or 0 = never)");
}

/* ------------------------------------------------------------------------
 * The seed's documented interface (seed README): ESP32 keys, aliases,
 * watchdog and CAN mode keys
 * ------------------------------------------------------------------------ */

/* The seed README's own data/config.json ("Installation", step 3), verbatim. */
static const char seed_readme_file[] =
    "{\n"
    "  \"wifi\": {\n"
    "    \"sta_ssid\": \"VotreSSID\",\n"
    "    \"sta_password\": \"VotreMotDePasse\",\n"
    "    \"sta_hostname\": \"tinybms-bridge\"\n"
    "  },\n"
    "  \"hardware\": {\n"
    "    \"uart\": {\n"
    "      \"rx_pin\": 16,\n"
    "      \"tx_pin\": 17,\n"
    "      \"baudrate\": 19200\n"
    "    },\n"
    "    \"can\": {\n"
    "      \"tx_pin\": 4,\n"
    "      \"rx_pin\": 5,\n"
    "      \"bitrate\": 500000\n"
    "    }\n"
    "  },\n"
    "  \"cvl\": {\n"
    "    \"enabled\": true,\n"
    "    \"bulk_soc_threshold\": 80.0,\n"
    "    \"float_soc_threshold\": 95.0\n"
    "  }\n"
    "}\n";

static cfg_t parse_with_warnings(const char *json, cfg_warnings_t *w)
{
    cfg_t out;
    cfg_error_t err;
    cfg_err_t rc = cfg_from_json_warn(json, strlen(json), &out, w, &err);
    if (rc != CFG_OK) {
        print_error("input: %s\n  error: %s\n", json, err.message);
    }
    assert_int_equal(rc, CFG_OK);
    return out;
}

/* The warnings' keys, in order, against a NULL-terminated list. */
static void expect_warning_keys(const cfg_warnings_t *w, const char *const *keys)
{
    size_t n = 0;
    while (keys[n] != NULL) {
        n++;
    }
    if (w->count != n) {
        for (size_t i = 0; i < w->count; i++) {
            print_error("warning %zu: %s\n", i, w->item[i].message);
        }
    }
    assert_int_equal(w->count, n);
    assert_int_equal(w->dropped, 0);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(w->item[i].key, keys[i]);
        /* Each message starts with its key path. */
        assert_memory_equal(w->item[i].message, keys[i], strlen(keys[i]));
    }
}

static void test_seed_readme_file_loads_verbatim_with_one_warning_per_key_not_used(void **state)
{
    (void)state;
    cfg_warnings_t w;
    cfg_t c = parse_with_warnings(seed_readme_file, &w);
    static const char *const want[] = {
        "wifi.sta_ssid",         "wifi.sta_password",    "wifi.sta_hostname",
        "hardware.uart.rx_pin",  "hardware.uart.tx_pin", "hardware.uart.baudrate",
        "hardware.can.tx_pin",   "hardware.can.rx_pin",  "cvl.transition_soc_threshold",
        "cvl.float_exit_soc",    NULL,
    };
    expect_warning_keys(&w, want);
    assert_non_null(strstr(w.item[0].message, "not used on Linux (the operating system sets up "
                                              "the network); kept in the file"));
    assert_non_null(strstr(w.item[3].message, "on Linux the port is hardware.uart.device"));
    assert_non_null(strstr(w.item[6].message, "on Linux the port is hardware.can.interface"));
    assert_non_null(strstr(w.item[8].message,
                           "cvl.transition_soc_threshold: not in the file, and its default 95 is "
                           "not below cvl.float_soc_threshold (95): 92 is used"));
    assert_non_null(strstr(w.item[9].message, "default 95 is not below cvl.float_soc_threshold "
                                              "(95): 92 is used"));
    for (size_t i = 0; i < w.count; i++) {
        assert_null(strstr(w.item[i].message, "VotreMotDePasse"));
    }
    /* What applies is applied ... */
    assert_true(c.cvl.enabled);
    assert_int_equal(c.cvl.bulk_soc_threshold_cpct, 8000);
    assert_int_equal(c.cvl.float_soc_threshold_cpct, 9500);
    assert_int_equal(c.cvl.transition_soc_threshold_cpct, 9200);
    assert_int_equal(c.cvl.float_exit_soc_cpct, 9200);
    assert_int_equal(c.hardware.uart.baudrate, 115200);
    assert_int_equal(c.hardware.can.bitrate, 500000);
    /* ... the Linux devices keep their defaults, and the rest is kept. */
    assert_string_equal(c.hardware.uart.device, "/dev/ttyUSB0");
    assert_string_equal(c.hardware.can.interface, "socketcan:can0");
    assert_string_equal(c.esp32.wifi.sta_ssid, "VotreSSID");
    assert_string_equal(c.esp32.wifi.sta_password, "VotreMotDePasse");
    assert_int_equal(c.esp32.uart_rx_pin, 16);
    assert_int_equal(c.esp32.can_rx_pin, 5);
}

/* The fragments of the seed README's "Configuration" and "Dépannage"
 * sections, put together in one file. */
static void test_seed_readme_configuration_sections_load(void **state)
{
    (void)state;
    static const char json[] =
        "{\"wifi\": {\"mode\": \"sta\", \"sta_ssid\": \"MonSSID\", \"sta_password\": "
        "\"MonMotDePasse\", \"sta_ip_mode\": \"dhcp\", \"ap_fallback\": {\"enabled\": true, "
        "\"ssid\": \"TinyBMS-AP\", \"password\": \"tinybms123\"}},\n"
        " \"hardware\": {\"uart\": {\"rx_pin\": 16, \"tx_pin\": 17, \"baudrate\": 19200, "
        "\"timeout_ms\": 100}, \"can\": {\"tx_pin\": 4, \"rx_pin\": 5, \"bitrate\": 500000, "
        "\"termination\": false, \"mode\": \"loopback\"}},\n"
        " \"cvl\": {\"enabled\": true, \"bulk_soc_threshold\": 80.0, \"transition_soc_threshold\": "
        "85.0, \"float_soc_threshold\": 95.0, \"float_exit_soc\": 92.0, "
        "\"float_approach_offset_mv\": 50, \"float_offset_mv\": 100, "
        "\"imbalance_hold_threshold_mv\": 50, \"imbalance_release_threshold_mv\": 20},\n"
        " \"victron\": {\"thresholds\": {\"overvoltage_v\": 58.4, \"undervoltage_v\": 42.0, "
        "\"overtemp_c\": 55.0, \"low_temp_charge_c\": 5.0, \"imbalance_warn_mv\": 50, "
        "\"imbalance_alarm_mv\": 100}},\n"
        " \"webserver\": {\"websocket_update_interval_ms\": 2000},\n"
        " \"advanced\": {\"watchdog_timeout_s\": 60, \"enable_watchdog\": false}}\n";
    cfg_warnings_t w;
    cfg_t c = parse_with_warnings(json, &w);
    static const char *const want[] = {
        "wifi.mode",           "wifi.sta_ssid",          "wifi.sta_password",
        "wifi.sta_ip_mode",    "wifi.ap_fallback.enabled", "wifi.ap_fallback.ssid",
        "wifi.ap_fallback.password", "hardware.uart.rx_pin", "hardware.uart.tx_pin",
        "hardware.uart.baudrate", "hardware.can.tx_pin",  "hardware.can.rx_pin",
        "hardware.can.termination", NULL,
    };
    expect_warning_keys(&w, want);
    assert_int_equal(c.hardware.can.mode, CFG_CAN_LOOPBACK);
    assert_int_equal(c.web_server.ws_interval_ms, 2000);
    assert_int_equal(c.advanced.watchdog_timeout_s, 60);
    assert_false(c.advanced.enable_watchdog);
    assert_int_equal(c.cvl.transition_soc_threshold_cpct, 8500);
    assert_int_equal(c.victron.thresholds.undervoltage_mv, 42000);
    assert_true(c.esp32.wifi.ap_enabled);
    assert_false(c.esp32.can_termination);
}

/* Not used is not unchecked: a wrong type or range in an ESP32 key is an
 * error with its path, and the output (the running or saved configuration)
 * stays as it was. */
static void test_wrong_esp32_keys_are_refused_with_their_path(void **state)
{
    (void)state;
    expect_error("{\"wifi\":{\"sta_ssid\":5}}", CFG_ERR_TYPE, "wifi.sta_ssid",
                 "expected a string, got a number");
    expect_error("{\"hardware\":{\"uart\":{\"rx_pin\":\"16\"}}}", CFG_ERR_TYPE,
                 "hardware.uart.rx_pin", "expected a number, got a string");
    expect_error("{\"hardware\":{\"can\":{\"tx_pin\":49}}}", CFG_ERR_RANGE, "hardware.can.tx_pin",
                 "49 is above the maximum 48");
    expect_error("{\"hardware\":{\"can\":{\"termination\":\"yes\"}}}", CFG_ERR_TYPE,
                 "hardware.can.termination", "expected true or false");
    expect_error("{\"wifi\":{\"mode\":\"mesh\"}}", CFG_ERR_VALUE, "wifi.mode",
                 "is not one of sta, station, ap, both");
    expect_error("{\"wifi\":{\"ap_fallback\":true}}", CFG_ERR_NOT_OBJECT, "wifi.ap_fallback",
                 "expected an object");
    expect_error("{\"wifi\":{\"ap_fallback\":{\"channel\":14}}}", CFG_ERR_RANGE,
                 "wifi.ap_fallback.channel", "14 is above the maximum 13");
    expect_error("{\"wifi\":{\"sta_static_ip\":\"192.168.1.300\"}}", CFG_ERR_VALUE,
                 "wifi.sta_static_ip", "not an IPv4 address");
    expect_error("{\"advanced\":{\"stack_size_bytes\":1024}}", CFG_ERR_RANGE,
                 "advanced.stack_size_bytes", "1024 is below the minimum 2048");
    /* A secret's error does not echo it. */
    expect_error("{\"wifi\":{\"sta_password\":\"short\"}}", CFG_ERR_VALUE, "wifi.sta_password",
                 "is 5 characters long; the minimum is 8 (or empty)");
    /* On top of a running configuration too (POST /api/settings). */
    cfg_t base = parse_ok(seed_readme_file);
    expect_error_from(&base, "{\"wifi\":{\"sta_hostname\":true}}", CFG_ERR_TYPE,
                      "wifi.sta_hostname", "expected a string, got true/false");
    /* The whole document fails: no warnings are left behind. */
    cfg_t out;
    cfg_warnings_t w;
    cfg_error_t err;
    static const char bad[] = "{\"wifi\":{\"sta_ssid\":\"x\"},\"mqtt\":{\"qos\":7}}";
    assert_int_equal(cfg_from_json_warn(bad, strlen(bad), &out, &w, &err), CFG_ERR_RANGE);
    assert_int_equal(w.count, 0);
}

/* The ESP32 keys go back into the file (the same file works on an ESP32),
 * secrets redacted in the API view; absent ones are not invented. */
static void test_esp32_keys_are_written_back_and_redacted(void **state)
{
    (void)state;
    cfg_t c = parse_ok(seed_readme_file);
    char *text = cfg_to_json(&c, false);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"sta_ssid\":\t\"VotreSSID\""));
    assert_non_null(strstr(text, "\"sta_password\":\t\"VotreMotDePasse\""));
    assert_non_null(strstr(text, "\"rx_pin\":\t16"));
    assert_null(strstr(text, "ap_fallback")); /* not given, not written */
    assert_null(strstr(text, "termination"));
    cfg_t back;
    cfg_warnings_t w;
    cfg_error_t err;
    assert_int_equal(cfg_from_json_warn(text, strlen(text), &back, &w, &err), CFG_OK);
    assert_true(cfg_equal(&back, &c));
    assert_int_equal(w.count, 7); /* the ESP32 keys again; nothing followed this time */
    free(text);

    text = cfg_to_json(&c, true);
    assert_non_null(text);
    assert_null(strstr(text, "VotreMotDePasse"));
    assert_non_null(strstr(text, "\"sta_password\":\t\"" CFG_REDACTED "\""));
    /* Posting the redacted view back keeps the Wi-Fi password. */
    cfg_t out;
    assert_int_equal(cfg_merge_json(&c, text, strlen(text), &out, &err), CFG_OK);
    assert_string_equal(out.esp32.wifi.sta_password, "VotreMotDePasse");
    assert_true(cfg_equal(&out, &c));
    free(text);

    cfg_t d;
    cfg_defaults(&d);
    text = cfg_to_json(&d, false);
    assert_non_null(text);
    assert_null(strstr(text, "wifi"));
    assert_null(strstr(text, "_pin"));
    free(text);
    /* Presence is part of equality. */
    assert_false(cfg_equal(&c, &d));
}

/* A file's left-out SOC thresholds follow the ones it sets; a patch's do
 * not (they are the running values, which the user chose). */
static void test_soc_thresholds_left_out_of_a_file_follow_the_ones_set(void **state)
{
    (void)state;
    cfg_warnings_t w;
    cfg_t c = parse_with_warnings("{\"cvl\":{\"float_soc_threshold\":94.5}}", &w);
    assert_int_equal(c.cvl.transition_soc_threshold_cpct, 9150);
    assert_int_equal(c.cvl.float_exit_soc_cpct, 9150);
    assert_int_equal(w.count, 2);
    c = parse_with_warnings("{\"cvl\":{\"bulk_soc_threshold\":85,\"float_soc_threshold\":92}}",
                            &w);
    assert_int_equal(c.cvl.transition_soc_threshold_cpct, 8900);
    assert_int_equal(c.cvl.float_exit_soc_cpct, 8900);
    assert_int_equal(w.count, 2);
    /* A moved key must still fit the keys it did not move against: here the
     * transition (88) would fall below the default bulk (90). Refused with
     * the rule as the file broke it. */
    expect_error("{\"cvl\":{\"float_soc_threshold\":91}}", CFG_ERR_RULE,
                 "cvl.float_soc_threshold", "91 must be above cvl.transition_soc_threshold (95)");
    /* No defaults contradicted: no warning, nothing moved. */
    c = parse_with_warnings("{\"cvl\":{\"bulk_soc_threshold\":80}}", &w);
    assert_int_equal(c.cvl.transition_soc_threshold_cpct, 9500);
    assert_int_equal(w.count, 0);
    /* Following would leave the range (transition 101): refused as written. */
    expect_error("{\"cvl\":{\"bulk_soc_threshold\":96}}", CFG_ERR_RULE, "cvl.bulk_soc_threshold",
                 "96 must be below cvl.transition_soc_threshold (95)");
    /* Both sides given: the user's contradiction, refused. */
    expect_error("{\"cvl\":{\"transition_soc_threshold\":95,\"float_soc_threshold\":95}}",
                 CFG_ERR_RULE, "cvl.float_soc_threshold", "must be above");
    /* Other rules never follow (cell voltages, imbalance). */
    expect_error("{\"cvl\":{\"imbalance_hold_threshold_mv\":50}}", CFG_ERR_RULE,
                 "cvl.imbalance_hold_threshold_mv", "must be above");
    /* A patch on the running configuration: refused, the neighbours stay. */
    cfg_t base;
    cfg_defaults(&base);
    expect_error_from(&base, "{\"cvl\":{\"float_soc_threshold\":95}}", CFG_ERR_RULE,
                      "cvl.float_soc_threshold", "95 must be above cvl.transition_soc_threshold");
}

static void test_seed_websocket_interval_spellings_are_aliases(void **state)
{
    (void)state;
    cfg_t c = parse_ok("{\"webserver\":{\"websocket_update_interval_ms\":2000}}");
    assert_int_equal(c.web_server.ws_interval_ms, 2000);
    c = parse_ok("{\"web_server\":{\"websocket_update_interval_ms\":3000,\"port\":8081}}");
    assert_int_equal(c.web_server.ws_interval_ms, 3000);
    assert_int_equal(c.web_server.port, 8081);
    expect_error("{\"webserver\":{\"websocket_update_interval_ms\":500}}", CFG_ERR_RANGE,
                 "webserver.websocket_update_interval_ms", "500 is below the minimum 1000");
    expect_error("{\"web_server\":{},\"webserver\":{}}", CFG_ERR_DUPLICATE_KEY, "webserver",
                 "\"web_server\"");
    expect_error("{\"web_server\":{\"ws_interval_ms\":1000,\"websocket_update_interval_ms\":"
                 "2000}}",
                 CFG_ERR_DUPLICATE_KEY, "web_server.websocket_update_interval_ms",
                 "means the same");
    char *text = cfg_to_json(&c, false);
    assert_non_null(text);
    assert_null(strstr(text, "websocket_update_interval_ms"));
    assert_null(strstr(text, "webserver"));
    assert_non_null(strstr(text, "\"ws_interval_ms\":\t3000"));
    free(text);
}

static void test_seed_watchdog_and_can_mode_keys(void **state)
{
    (void)state;
    cfg_t d;
    cfg_defaults(&d);
    assert_true(d.advanced.enable_watchdog);
    assert_int_equal(d.advanced.watchdog_timeout_s, 5);
    assert_int_equal(d.hardware.can.mode, CFG_CAN_NORMAL);
    cfg_t c = parse_ok("{\"hardware\":{\"can\":{\"mode\":\"LOOPBACK\"}},"
                       "\"advanced\":{\"watchdog_timeout_s\":600,\"enable_watchdog\":false}}");
    assert_int_equal(c.hardware.can.mode, CFG_CAN_LOOPBACK);
    assert_int_equal(c.advanced.watchdog_timeout_s, 600);
    char *text = cfg_to_json(&c, false);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"mode\":\t\"loopback\""));
    assert_non_null(strstr(text, "\"enable_watchdog\":\tfalse"));
    free(text);
    expect_error("{\"hardware\":{\"can\":{\"mode\":\"silent\"}}}", CFG_ERR_VALUE,
                 "hardware.can.mode", "\"silent\" is not one of normal, loopback");
    expect_error("{\"advanced\":{\"watchdog_timeout_s\":0}}", CFG_ERR_RANGE,
                 "advanced.watchdog_timeout_s", "0 is below the minimum 1");
    expect_error("{\"advanced\":{\"watchdog_timeout_s\":601}}", CFG_ERR_RANGE,
                 "advanced.watchdog_timeout_s", "601 is above the maximum 600");
    expect_error("{\"advanced\":{\"enable_watchdog\":1}}", CFG_ERR_TYPE,
                 "advanced.enable_watchdog", "expected true or false");
    assert_string_equal(cfg_can_mode_name(CFG_CAN_LOOPBACK), "loopback");
    assert_string_equal(cfg_can_mode_name(CFG_CAN_MODE_COUNT_), "?");
    c.hardware.can.mode = 7;
    cfg_error_t err;
    assert_int_equal(cfg_validate(&c, &err), CFG_ERR_VALUE);
    assert_string_equal(err.key, "hardware.can.mode");
}

/* Every WebSocket client holds a web server thread: a small board's default,
 * and the 256-client load test's setting still accepted. */
static void test_ws_max_clients_default_suits_a_small_board(void **state)
{
    (void)state;
    cfg_t d;
    cfg_defaults(&d);
    assert_int_equal(d.web_server.ws_max_clients, 16);
    cfg_t c = parse_ok("{\"web_server\":{\"ws_max_clients\":264}}");
    assert_int_equal(c.web_server.ws_max_clients, 264);
}

/* Every ESP32 key at once: each reported once, and the file round-trips. */
static void test_every_esp32_key_is_reported_and_written_back(void **state)
{
    (void)state;
    static const char json[] =
        "{\"wifi\":{\"mode\":\"ap\",\"sta_ssid\":\"a\",\"sta_password\":\"\",\"sta_hostname\":\"h\","
        "\"sta_ip_mode\":\"static\",\"sta_static_ip\":\"10.0.0.2\",\"sta_gateway\":\"10.0.0.1\","
        "\"sta_subnet\":\"255.0.0.0\",\"ap_fallback\":{\"enabled\":false,\"ssid\":\"s\","
        "\"password\":\"\",\"channel\":6}},"
        "\"hardware\":{\"uart\":{\"rx_pin\":1,\"tx_pin\":2,\"baudrate\":57600},"
        "\"can\":{\"tx_pin\":3,\"rx_pin\":4,\"termination\":true}},"
        "\"logging\":{\"serial_baudrate\":115200},"
        "\"advanced\":{\"enable_spiffs\":true,\"enable_ota\":false,\"stack_size_bytes\":8192},"
        "\"cvl\":{\"float_soc_threshold\":94}}";
    cfg_warnings_t w;
    cfg_t c = parse_with_warnings(json, &w);
    assert_int_equal(w.count, 24); /* 21 ESP32 keys, the baud rate, two that followed */
    assert_int_equal(w.dropped, 0);
    assert_int_equal(c.esp32.present, (1u << 21) - 1u);
    char *text = cfg_to_json(&c, false);
    assert_non_null(text);
    cfg_t back;
    cfg_error_t err;
    assert_int_equal(cfg_from_json(text, strlen(text), &back, &err), CFG_OK);
    assert_true(cfg_equal(&back, &c));
    free(text);
}

/* ------------------------------------------------------------------------
 * Merge
 * ------------------------------------------------------------------------ */

static void test_partial_merge_changes_only_the_given_keys(void **state)
{
    (void)state;
    cfg_t base = custom_config();
    cfg_t out;
    cfg_error_t err;
    static const char patch[] = "{\"cvl\":{\"enabled\":true,\"float_soc_threshold\":96.0},"
                                "\"victron\":{\"thresholds\":{\"overvoltage_v\":57.0}}}";
    assert_int_equal(cfg_merge_json(&base, patch, strlen(patch), &out, &err), CFG_OK);
    assert_true(out.cvl.enabled);
    assert_int_equal(out.cvl.float_soc_threshold_cpct, 9600);
    assert_int_equal(out.victron.thresholds.overvoltage_mv, 57000);

    cfg_t expect = base;
    expect.cvl.enabled = true;
    expect.cvl.float_soc_threshold_cpct = 9600;
    expect.victron.thresholds.overvoltage_mv = 57000;
    assert_true(cfg_equal(&out, &expect));
    assert_false(cfg_equal(&out, &base));
}

static void test_merge_may_write_over_its_base(void **state)
{
    (void)state;
    cfg_t c;
    cfg_error_t err;
    cfg_defaults(&c);
    static const char patch[] = "{\"mqtt\":{\"qos\":2}}";
    assert_int_equal(cfg_merge_json(&c, patch, strlen(patch), &c, &err), CFG_OK);
    assert_int_equal(c.mqtt.qos, 2);
    assert_int_equal(c.mqtt.port, 1883);
}

static void test_merge_errors_leave_output_unchanged(void **state)
{
    (void)state;
    cfg_t base = custom_config();
    expect_error_from(&base, "{\"victron\":{\"thresholds\":{\"overtemp_c\":120}}}", CFG_ERR_RANGE,
                      "victron.thresholds.overtemp_c", "120 is above the maximum 90");
    /* A valid first key does not survive a later bad one. */
    expect_error_from(&base, "{\"mqtt\":{\"qos\":2,\"port\":0}}", CFG_ERR_RANGE, "mqtt.port",
                      "0 is below the minimum 1");
}

static void test_cross_field_error_names_the_key_the_patch_changed(void **state)
{
    (void)state;
    cfg_t base;
    cfg_defaults(&base); /* bulk 90 < transition 95 < float 98 */
    expect_error_from(&base, "{\"cvl\":{\"bulk_soc_threshold\":96}}", CFG_ERR_RULE,
                      "cvl.bulk_soc_threshold",
                      "96 must be below cvl.transition_soc_threshold (95)");
    expect_error_from(&base, "{\"cvl\":{\"transition_soc_threshold\":89}}", CFG_ERR_RULE,
                      "cvl.transition_soc_threshold",
                      "89 must be above cvl.bulk_soc_threshold (90)");
}

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */

static void test_unknown_top_level_key_is_rejected(void **state)
{
    (void)state;
    expect_error("{\"victron\":{},\"system\":{\"web_port\":80}}", CFG_ERR_UNKNOWN_KEY, "system",
                 "system: unknown key");
    expect_error("{\"watchdog_config\":{\"timeout_s\":30}}", CFG_ERR_UNKNOWN_KEY,
                 "watchdog_config", "unknown key");
}

static void test_unknown_nested_key_is_rejected(void **state)
{
    (void)state;
    expect_error("{\"victron\":{\"thresholds\":{\"overtemp\":55}}}", CFG_ERR_UNKNOWN_KEY,
                 "victron.thresholds.overtemp", "unknown key");
    expect_error("{\"tinybms\":{\"uart_retry_count\":3}}", CFG_ERR_UNKNOWN_KEY,
                 "tinybms.uart_retry_count", "use hardware.uart.retries");
    /* The seed loader's Wi-Fi aliases are not part of its README: unknown. */
    expect_error("{\"wifi\":{\"ssid\":\"x\"}}", CFG_ERR_UNKNOWN_KEY, "wifi.ssid", "unknown key");
    expect_error("{\"advanced\":{\"watchdog\":true}}", CFG_ERR_UNKNOWN_KEY,
                 "advanced.watchdog", "unknown key");
    /* A path under a leaf does not exist either. */
    expect_error("{\"mqtt\":{\"port\":{\"value\":1}}}", CFG_ERR_TYPE, "mqtt.port",
                 "expected a number, got an object");
}

static void test_wrong_types_are_rejected(void **state)
{
    (void)state;
    expect_error("{\"tinybms\":{\"poll_interval_ms\":\"100\"}}", CFG_ERR_TYPE,
                 "tinybms.poll_interval_ms", "expected a number, got a string");
    expect_error("{\"mqtt\":{\"enabled\":1}}", CFG_ERR_TYPE, "mqtt.enabled",
                 "expected true or false, got a number");
    expect_error("{\"mqtt\":{\"host\":null}}", CFG_ERR_TYPE, "mqtt.host",
                 "expected a string, got null");
    expect_error("{\"logging\":{\"log_level\":3}}", CFG_ERR_TYPE, "logging.log_level",
                 "expected a string, got a number");
    expect_error("{\"victron\":[1,2]}", CFG_ERR_NOT_OBJECT, "victron",
                 "expected an object, got an array");
    expect_error("{\"victron\":{\"thresholds\":true}}", CFG_ERR_NOT_OBJECT, "victron.thresholds",
                 "expected an object, got true/false");
}

/* Each key's boundaries are accepted; one resolution step beyond is not. */
static void test_range_boundaries_plus_minus_one_step(void **state)
{
    (void)state;
    static const struct {
        const char *json_fmt; /* one %s for the value */
        const char *key;
        const char *min_ok, *below, *max_ok, *above;
        const char *min_text, *max_text;
    } cases[] = {
        {"{\"victron\":{\"thresholds\":{\"overtemp_c\":%s}}}", "victron.thresholds.overtemp_c",
         "20", "19.9", "90", "90.1", "minimum 20", "maximum 90"},
        {"{\"victron\":{\"thresholds\":{\"overvoltage_v\":%s}}}",
         "victron.thresholds.overvoltage_v", "45", "4.999", "80", "80.001", "minimum 5",
         "maximum 80"},
        {"{\"tinybms\":{\"poll_interval_ms\":%s}}", "tinybms.poll_interval_ms", "20", "19", "1000",
         "1001", "minimum 20", "maximum 1000"},
        {"{\"victron\":{\"fast_interval_ms\":%s}}", "victron.fast_interval_ms", "200", "199",
         "1000", "1001", "minimum 200", "maximum 1000"},
        {"{\"hardware\":{\"uart\":{\"retries\":%s}}}", "hardware.uart.retries", "0", "-1", "9",
         "10", "minimum 0", "maximum 9"},
        {"{\"mqtt\":{\"qos\":%s}}", "mqtt.qos", "0", "-1", "2", "3", "minimum 0", "maximum 2"},
        {"{\"cvl\":{\"imbalance_drop_per_mv\":%s}}", "cvl.imbalance_drop_per_mv", "0", "-0.0001",
         "0.01", "0.010001", "minimum 0", "maximum 0.01"},
        {"{\"victron\":{\"max_charge_current_a\":%s}}", "victron.max_charge_current_a", "0", "-0.1",
         "1000", "1000.1", "minimum 0", "maximum 1000"},
        {"{\"bank\":{\"min_packs\":%s}}", "bank.min_packs", "1", "0", "4", "5", "minimum 1",
         "maximum 4"},
        {"{\"bank\":{\"offline_grace_ms\":%s}}", "bank.offline_grace_ms", "0", "-1", "600000",
         "600001", "minimum 0", "maximum 600000"},
        {"{\"bank\":{\"rejoin_hold_ms\":%s}}", "bank.rejoin_hold_ms", "0", "-1", "600000", "600001",
         "minimum 0", "maximum 600000"},
        {"{\"bank\":{\"rejoin_window_cell_mv\":%s}}", "bank.rejoin_window_cell_mv", "1", "0",
         "1000", "1001", "minimum 1", "maximum 1000"},
        {"{\"bank\":{\"near_cutoff_mv\":%s}}", "bank.near_cutoff_mv", "0", "-1", "1000", "1001",
         "minimum 0", "maximum 1000"},
        {"{\"bank\":{\"share_min_ma\":%s}}", "bank.share_min_ma", "0", "-1", "1000000", "1000001",
         "minimum 0", "maximum 1000000"},
        {"{\"bank\":{\"small_current_split\":%s}}", "bank.small_current_split", "1", "0.999", "4",
         "4.001", "minimum 1", "maximum 4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[256];
        char msg[96];
        (void)snprintf(json, sizeof json, cases[i].json_fmt, cases[i].min_ok);
        (void)parse_ok(json);
        (void)snprintf(json, sizeof json, cases[i].json_fmt, cases[i].max_ok);
        (void)parse_ok(json);
        (void)snprintf(json, sizeof json, cases[i].json_fmt, cases[i].below);
        (void)snprintf(msg, sizeof msg, "%s is below the %s", cases[i].below, cases[i].min_text);
        expect_error(json, CFG_ERR_RANGE, cases[i].key, msg);
        (void)snprintf(json, sizeof json, cases[i].json_fmt, cases[i].above);
        (void)snprintf(msg, sizeof msg, "%s is above the %s", cases[i].above, cases[i].max_text);
        expect_error(json, CFG_ERR_RANGE, cases[i].key, msg);
    }
}

/* The seed's UART speeds cannot apply (the TinyBMS talks at 115200 only):
 * ignored with a warning. Anything else, and any CAN bit rate but 500k (a
 * real bus setting), is refused. */
static void test_fixed_rates_ignore_the_seed_uart_speeds_and_refuse_the_rest(void **state)
{
    (void)state;
    static const char json[] = "{\"hardware\":{\"uart\":{\"baudrate\":19200}}}";
    cfg_t c;
    cfg_warnings_t w;
    cfg_error_t err;
    assert_int_equal(cfg_from_json_warn(json, strlen(json), &c, &w, &err), CFG_OK);
    assert_int_equal(c.hardware.uart.baudrate, 115200);
    assert_int_equal(w.count, 1);
    assert_string_equal(w.item[0].key, "hardware.uart.baudrate");
    assert_non_null(strstr(w.item[0].message,
                           "hardware.uart.baudrate: 19200 is ignored: the TinyBMS UART runs at "
                           "115200 baud only"));
    (void)parse_ok("{\"hardware\":{\"uart\":{\"baudrate\":9600}}}");
    expect_error("{\"hardware\":{\"uart\":{\"baudrate\":12345}}}", CFG_ERR_RANGE,
                 "hardware.uart.baudrate",
                 "12345 is not accepted; it must be 115200 (the TinyBMS UART runs at 115200 baud");
    expect_error("{\"hardware\":{\"uart\":{\"baudrate\":\"19200\"}}}", CFG_ERR_TYPE,
                 "hardware.uart.baudrate", "expected a number");
    expect_error("{\"hardware\":{\"can\":{\"bitrate\":250000}}}", CFG_ERR_RANGE,
                 "hardware.can.bitrate", "must be 500000 (Victron CAN-BMS runs at 500 kbit/s");
}

static void test_numbers_finer_than_the_resolution_are_rejected(void **state)
{
    (void)state;
    expect_error("{\"hardware\":{\"uart\":{\"timeout_ms\":100.5}}}", CFG_ERR_RANGE,
                 "hardware.uart.timeout_ms", "100.5 is not a whole number");
    expect_error("{\"victron\":{\"thresholds\":{\"overvoltage_v\":58.4005}}}", CFG_ERR_RANGE,
                 "victron.thresholds.overvoltage_v", "58.4005 is finer than the resolution 0.001");
    expect_error("{\"victron\":{\"thresholds\":{\"overvoltage_v\":1e400}}}", CFG_ERR_RANGE,
                 "victron.thresholds.overvoltage_v", "is not a usable number");
}

static void test_cross_field_rules(void **state)
{
    (void)state;
    expect_error("{\"cvl\":{\"bulk_soc_threshold\":95,\"transition_soc_threshold\":95}}",
                 CFG_ERR_RULE, "cvl.transition_soc_threshold",
                 "95 must be above cvl.bulk_soc_threshold (95)");
    expect_error("{\"cvl\":{\"float_exit_soc\":98}}", CFG_ERR_RULE, "cvl.float_exit_soc",
                 "98 must be below cvl.float_soc_threshold (98)");
    expect_error("{\"cvl\":{\"imbalance_release_threshold_mv\":100}}", CFG_ERR_RULE,
                 "cvl.imbalance_release_threshold_mv",
                 "must be below cvl.imbalance_hold_threshold_mv (100)");
    expect_error("{\"cvl\":{\"float_approach_offset_mv\":150}}", CFG_ERR_RULE,
                 "cvl.float_approach_offset_mv", "must not be above cvl.float_offset_mv (100)");
    expect_error("{\"victron\":{\"thresholds\":{\"undervoltage_v\":58.4, \"overvoltage_v\":"
                 "58.4}}}",
                 CFG_ERR_RULE, "victron.thresholds.overvoltage_v",
                 "58.4 must be above victron.thresholds.undervoltage_v (58.4)");
    /* 0 = derived from the pack: outside the order rule on either side. */
    (void)parse_ok("{\"victron\":{\"thresholds\":{\"undervoltage_v\":58.4}}}");
    (void)parse_ok("{\"victron\":{\"thresholds\":{\"overvoltage_v\":14.6}}}");
    expect_error("{\"victron\":{\"thresholds\":{\"imbalance_warn_mv\":200}}}", CFG_ERR_RULE,
                 "victron.thresholds.imbalance_warn_mv", "imbalance_alarm_mv (200)");
    expect_error("{\"victron\":{\"charge_cell_mv\":3700}}", CFG_ERR_RULE, "victron.charge_cell_mv",
                 "3700 must not be above cvl.cell_max_voltage_v (3.65)");
    expect_error("{\"tinybms\":{\"bms_timeout_ms\":1000},\"hardware\":{\"uart\":{\"timeout_ms\":"
                 "500}}}",
                 CFG_ERR_RULE, "tinybms.bms_timeout_ms", "= 1600");
    expect_error("{\"web_server\":{\"password\":\"long enough\"}}", CFG_ERR_RULE,
                 "web_server.username", "must be set when web_server.password is set");
    expect_error("{\"mqtt\":{\"enabled\":true,\"host\":\"\"}}", CFG_ERR_RULE, "mqtt.host",
                 "must be set when mqtt.enabled is true");
}

static void test_manufacturer_names_that_trigger_venus_quirks_are_rejected(void **state)
{
    (void)state;
    expect_error("{\"victron\":{\"manufacturer_name\":\"PYLON\"}}", CFG_ERR_VALUE,
                 "victron.manufacturer_name", "starts with \"PYLON\"");
    expect_error("{\"victron\":{\"manufacturer_name\":\"byd\"}}", CFG_ERR_VALUE,
                 "victron.manufacturer_name", "would apply that vendor's quirks");
    expect_error("{\"victron\":{\"manufacturer_name\":\"LG Chem\"}}", CFG_ERR_VALUE,
                 "victron.manufacturer_name", "starts with \"LG\"");
    expect_error("{\"victron\":{\"manufacturer_name\":\"DYNESS-L\"}}", CFG_ERR_VALUE,
                 "victron.manufacturer_name", "starts with \"DYNESS\"");
    expect_error("{\"victron\":{\"manufacturer_name\":\"TinyBMS-VB\"}}", CFG_ERR_VALUE,
                 "victron.manufacturer_name", "is 10 characters long; the maximum is 8");
    expect_error("{\"victron\":{\"battery_name\":\"caf\xc3\xa9\"}}", CFG_ERR_VALUE,
                 "victron.battery_name", "printable ASCII");
    expect_error("{\"victron\":{\"battery_name\":\"\"}}", CFG_ERR_VALUE, "victron.battery_name",
                 "must not be empty");
    (void)parse_ok("{\"victron\":{\"manufacturer_name\":\"Energus\"}}");
}

/* victron.dbus: the Venus OS D-Bus service (read by the Linux port). */
static void test_dbus_keys_default_off_with_instance_512_and_our_own_product_id(void **state)
{
    (void)state;
    cfg_t c;
    cfg_defaults(&c);
    assert_false(c.victron.dbus.enabled);
    assert_int_equal(c.victron.dbus.device_instance, 512);
    assert_int_equal(c.victron.dbus.product_id, 0xBA7B);
    assert_int_equal(CFG_DBUS_PRODUCT_ID_DEFAULT, 0xBA7B);
    assert_string_equal(c.victron.dbus.custom_name, "");
    c = parse_ok("{\"victron\":{\"dbus\":{\"enabled\":true,\"device_instance\":3,"
                 "\"product_id\":47735,\"custom_name\":\"Batterie S\xc3\xbc"
                 "d \xe2\x9a\xa1\"}}}");
    assert_true(c.victron.dbus.enabled);
    assert_int_equal(c.victron.dbus.device_instance, 3);
    assert_int_equal(c.victron.dbus.product_id, 0xBA77); /* dbus-serialbattery's: allowed */
    assert_string_equal(c.victron.dbus.custom_name, "Batterie S\xc3\xbc" "d \xe2\x9a\xa1");
    /* written back under victron.dbus, and read again the same */
    char *text = cfg_to_json(&c, false);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"dbus\""));
    cfg_t again = parse_ok(text);
    free(text);
    assert_true(cfg_equal(&c, &again));
}

static void test_dbus_product_ids_venus_special_cases_are_refused(void **state)
{
    (void)state;
    expect_error("{\"victron\":{\"dbus\":{\"product_id\":45065}}}", CFG_ERR_VALUE,
                 "victron.dbus.product_id", "0xB009) is the Pylontech product id");
    expect_error("{\"victron\":{\"dbus\":{\"product_id\":41957}}}", CFG_ERR_VALUE,
                 "victron.dbus.product_id", "Lynx Smart BMS");
    expect_error("{\"victron\":{\"dbus\":{\"product_id\":45066}}}", CFG_ERR_VALUE,
                 "victron.dbus.product_id", "BYD");
    expect_error("{\"victron\":{\"dbus\":{\"product_id\":45060}}}", CFG_ERR_VALUE,
                 "victron.dbus.product_id", "LG");
    expect_error("{\"victron\":{\"dbus\":{\"product_id\":0}}}", CFG_ERR_RANGE,
                 "victron.dbus.product_id", "below the minimum 1");
    expect_error("{\"victron\":{\"dbus\":{\"product_id\":65536}}}", CFG_ERR_RANGE,
                 "victron.dbus.product_id", "above the maximum 65535");
    expect_error("{\"victron\":{\"dbus\":{\"product_id\":\"0xBA7B\"}}}", CFG_ERR_TYPE,
                 "victron.dbus.product_id", "");
    expect_error("{\"victron\":{\"dbus\":{\"device_instance\":-1}}}", CFG_ERR_RANGE,
                 "victron.dbus.device_instance", "below the minimum 0");
    expect_error("{\"victron\":{\"dbus\":{\"enabled\":1}}}", CFG_ERR_TYPE, "victron.dbus.enabled",
                 "");
    expect_error("{\"victron\":{\"dbus\":{\"instance\":1}}}", CFG_ERR_UNKNOWN_KEY,
                 "victron.dbus.instance", "");
    /* A merge that picks a special id changes nothing. */
    cfg_t base;
    cfg_defaults(&base);
    expect_error_from(&base, "{\"victron\":{\"dbus\":{\"enabled\":true,\"product_id\":45065}}}",
                      CFG_ERR_VALUE, "victron.dbus.product_id", "Pylontech");
    /* Built in code, the same check. */
    base.victron.dbus.product_id = 0xA3E5;
    cfg_error_t err;
    assert_int_equal(cfg_validate(&base, &err), CFG_ERR_VALUE);
    assert_string_equal(err.key, "victron.dbus.product_id");
}

static void test_dbus_custom_name_must_be_utf8_of_63_bytes_at_most(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\xff",             /* not a lead byte */
        "ab\xc3",           /* cut sequence */
        "\xc3(",            /* bad continuation */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf8\x88\x80\x80\x80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[128];
        (void)snprintf(json, sizeof json, "{\"victron\":{\"dbus\":{\"custom_name\":\"%s\"}}}",
                       bad[i]);
        expect_error(json, CFG_ERR_VALUE, "victron.dbus.custom_name", "is not valid UTF-8");
    }
    expect_error("{\"victron\":{\"dbus\":{\"custom_name\":\"ok \xff\"}}}", CFG_ERR_VALUE,
                 "victron.dbus.custom_name", "(byte 4)");
    char json[160];
    char name[65];
    memset(name, 'n', 64);
    name[64] = '\0';
    (void)snprintf(json, sizeof json, "{\"victron\":{\"dbus\":{\"custom_name\":\"%s\"}}}", name);
    expect_error(json, CFG_ERR_VALUE, "victron.dbus.custom_name",
                 "is 64 characters long; the maximum is 63");
    name[63] = '\0';
    (void)snprintf(json, sizeof json, "{\"victron\":{\"dbus\":{\"custom_name\":\"%s\"}}}", name);
    cfg_t c = parse_ok(json);
    assert_int_equal(strlen(c.victron.dbus.custom_name), 63);
    expect_error("{\"victron\":{\"dbus\":{\"custom_name\":\"a\\tb\"}}}", CFG_ERR_VALUE,
                 "victron.dbus.custom_name", "contains a control character");
    c = parse_ok("{\"victron\":{\"dbus\":{\"custom_name\":\"\xf0\x9f\x94\x8b Bank\"}}}");
    assert_string_equal(c.victron.dbus.custom_name, "\xf0\x9f\x94\x8b Bank");
}

static void test_string_formats_are_checked(void **state)
{
    (void)state;
    cfg_t c = parse_ok("{\"hardware\":{\"can\":{\"interface\":\"log:-\"}}}");
    assert_string_equal(c.hardware.can.interface, "log:-");
    (void)parse_ok("{\"hardware\":{\"can\":{\"interface\":\"socketcan:vcan0\"}}}");
    expect_error("{\"hardware\":{\"can\":{\"interface\":\"can0\"}}}", CFG_ERR_VALUE,
                 "hardware.can.interface", "is not a CAN interface spec");
    expect_error("{\"hardware\":{\"can\":{\"interface\":\"slcan:ttyACM0\"}}}", CFG_ERR_VALUE,
                 "hardware.can.interface", "absolute device path");
    expect_error("{\"hardware\":{\"can\":{\"interface\":\"socketcan:a_very_long_ifname\"}}}",
                 CFG_ERR_VALUE, "hardware.can.interface", "1 to 15 characters");
    expect_error("{\"hardware\":{\"uart\":{\"device\":\"ttyUSB0\"}}}", CFG_ERR_VALUE,
                 "hardware.uart.device", "not an absolute path");
    (void)parse_ok("{\"web_server\":{\"bind_address\":\"127.0.0.1\"}}");
    (void)parse_ok("{\"web_server\":{\"bind_address\":\"fe80::1\"}}");
    expect_error("{\"web_server\":{\"bind_address\":\"256.0.0.1\"}}", CFG_ERR_VALUE,
                 "web_server.bind_address", "not an IPv4 or IPv6 address");
    expect_error("{\"web_server\":{\"bind_address\":\"localhost\"}}", CFG_ERR_VALUE,
                 "web_server.bind_address", "not an IPv4 or IPv6 address");
    expect_error("{\"mqtt\":{\"host\":\"mqtt://127.0.0.1\"}}", CFG_ERR_VALUE, "mqtt.host",
                 "not a URI");
    expect_error("{\"mqtt\":{\"root_topic\":\"victron/#\"}}", CFG_ERR_VALUE, "mqtt.root_topic",
                 "wildcards");
    expect_error("{\"mqtt\":{\"root_topic\":\"/victron\"}}", CFG_ERR_VALUE, "mqtt.root_topic",
                 "no leading or trailing '/'");
    expect_error("{\"mqtt\":{\"client_id\":\"a b\"}}", CFG_ERR_VALUE, "mqtt.client_id",
                 "without spaces");
    expect_error("{\"mqtt\":{\"host\":\"a\\nb\"}}", CFG_ERR_VALUE, "mqtt.host",
                 "contains a control character");
    expect_error("{\"web_server\":{\"username\":\"a:b\"}}", CFG_ERR_VALUE, "web_server.username",
                 "without ':'");
}

static void test_secret_errors_never_echo_the_secret(void **state)
{
    (void)state;
    expect_error("{\"web_server\":{\"username\":\"u\",\"password\":\"hunter2\"}}", CFG_ERR_VALUE,
                 "web_server.password", "is 7 characters long; the minimum is 8 (or empty)");
    expect_error("{\"web_server\":{\"token\":\"short token with spaces\"}}", CFG_ERR_VALUE,
                 "web_server.token", "printable ASCII without spaces");
    cfg_t out;
    cfg_error_t err;
    static const char json[] = "{\"web_server\":{\"username\":\"u\",\"password\":\"hunter2\"}}";
    assert_int_not_equal(cfg_from_json(json, strlen(json), &out, &err), CFG_OK);
    assert_null(strstr(err.message, "hunter2"));
}

static void test_invalid_json_is_a_syntax_error_with_position(void **state)
{
    (void)state;
    expect_error("{\n  \"mqtt\": {\"port\": 1883,}\n}", CFG_ERR_SYNTAX, "",
                 "JSON syntax error at line 2");
    expect_error("{\"mqtt\":{}} {}", CFG_ERR_SYNTAX, "", "text after the document");
    expect_error("{\"mqtt\":", CFG_ERR_SYNTAX, "", "JSON syntax error");
}

static void test_empty_input_is_rejected(void **state)
{
    (void)state;
    expect_error("", CFG_ERR_SYNTAX, "", "empty input");
    expect_error("   \n", CFG_ERR_SYNTAX, "", "JSON syntax error");
}

static void test_non_object_root_is_rejected(void **state)
{
    (void)state;
    expect_error("[]", CFG_ERR_NOT_OBJECT, "", "must be a JSON object, not an array");
    expect_error("42", CFG_ERR_NOT_OBJECT, "", "not a number");
    expect_error("\"x\"", CFG_ERR_NOT_OBJECT, "", "not a string");
    expect_error("null", CFG_ERR_NOT_OBJECT, "", "not null");
}

static void test_length_bounds_the_input(void **state)
{
    (void)state;
    /* Not NUL-terminated: only len bytes are read. */
    static const char text[] = "{\"mqtt\":{\"qos\":1}}GARBAGE";
    cfg_t c;
    cfg_error_t err;
    assert_int_equal(cfg_from_json(text, 18, &c, &err), CFG_OK);
    assert_int_equal(c.mqtt.qos, 1);
    /* A trailing NUL counted in len is tolerated. */
    assert_int_equal(cfg_from_json(text, 0, &c, &err), CFG_ERR_SYNTAX);
    static const char with_nul[] = "{}";
    assert_int_equal(cfg_from_json(with_nul, sizeof with_nul, &c, &err), CFG_OK);
}

static void test_null_arguments(void **state)
{
    (void)state;
    cfg_t c;
    cfg_error_t err;
    cfg_defaults(&c);
    assert_int_equal(cfg_from_json(NULL, 2, &c, &err), CFG_ERR_ARG);
    assert_int_equal(cfg_from_json("{}", 2, NULL, &err), CFG_ERR_ARG);
    assert_int_equal(cfg_merge_json(NULL, "{}", 2, &c, &err), CFG_ERR_ARG);
    assert_int_equal(cfg_validate(NULL, &err), CFG_ERR_ARG);
    assert_null(cfg_to_json(NULL, false));
    assert_false(cfg_equal(&c, NULL));
    cfg_defaults(NULL);
    /* err may be NULL. */
    assert_int_equal(cfg_from_json("[]", 2, &c, NULL), CFG_ERR_NOT_OBJECT);
    assert_string_equal(cfg_strerror(CFG_ERR_RULE), "inconsistent settings");
    assert_string_equal(cfg_strerror(CFG_ERR_COUNT_), "unknown error");
}

static void test_validate_catches_bad_structs_built_in_code(void **state)
{
    (void)state;
    cfg_t c;
    cfg_error_t err;
    cfg_defaults(&c);
    c.victron.thresholds.overtemp_dc = 1200;
    assert_int_equal(cfg_validate(&c, &err), CFG_ERR_RANGE);
    assert_string_equal(err.message, "victron.thresholds.overtemp_c: 120 is above the maximum 90");

    cfg_defaults(&c);
    memset(c.mqtt.host, 'x', sizeof c.mqtt.host); /* no NUL */
    assert_int_equal(cfg_validate(&c, &err), CFG_ERR_VALUE);
    assert_string_equal(err.key, "mqtt.host");

    cfg_defaults(&c);
    c.logging.log_level = 9;
    assert_int_equal(cfg_validate(&c, &err), CFG_ERR_VALUE);
    assert_string_equal(err.key, "logging.log_level");

    cfg_defaults(&c);
    strcpy(c.mqtt.username, "u");
    strcpy(c.mqtt.password, CFG_REDACTED);
    assert_int_equal(cfg_validate(&c, &err), CFG_ERR_VALUE);
    assert_string_equal(err.key, "mqtt.password");
}

/* ------------------------------------------------------------------------
 * Serialisation
 * ------------------------------------------------------------------------ */

static void round_trip(const cfg_t *c)
{
    char *text = cfg_to_json(c, false);
    assert_non_null(text);
    cfg_t back;
    cfg_error_t err;
    cfg_err_t rc = cfg_from_json(text, strlen(text), &back, &err);
    if (rc != CFG_OK) {
        print_error("%s\n%s\n", err.message, text);
    }
    assert_int_equal(rc, CFG_OK);
    assert_true(cfg_equal(c, &back));
    free(text);
}

static void test_to_json_from_json_round_trip(void **state)
{
    (void)state;
    cfg_t d;
    cfg_defaults(&d);
    round_trip(&d);
    cfg_t c = custom_config();
    round_trip(&c);
}

static void test_to_json_writes_seed_key_names_and_units(void **state)
{
    (void)state;
    cfg_t d;
    cfg_defaults(&d);
    char *text = cfg_to_json(&d, false);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"overvoltage_v\":\t0"));
    assert_non_null(strstr(text, "\"overtemp_c\":\t55"));
    assert_non_null(strstr(text, "\"imbalance_drop_per_mv\":\t0.0005"));
    assert_non_null(strstr(text, "\"log_level\":\t\"INFO\""));
    assert_non_null(strstr(text, "\"baudrate\":\t115200"));
    free(text);
}

static void test_redaction_hides_secrets_and_merge_keeps_them(void **state)
{
    (void)state;
    cfg_t c = custom_config();
    char *text = cfg_to_json(&c, true);
    assert_non_null(text);
    assert_null(strstr(text, "correct horse"));
    assert_null(strstr(text, "0123456789abcdef0123"));
    assert_null(strstr(text, "s3cret!"));
    assert_non_null(strstr(text, "\"password\":\t\"" CFG_REDACTED "\""));
    /* Non-secrets are still there. */
    assert_non_null(strstr(text, "\"username\":\t\"admin\""));

    /* A client posting back what it read changes nothing. */
    cfg_t out;
    cfg_error_t err;
    assert_int_equal(cfg_merge_json(&c, text, strlen(text), &out, &err), CFG_OK);
    assert_true(cfg_equal(&out, &c));
    assert_string_equal(out.web_server.password, "correct horse");

    /* A redacted document is not a configuration file. */
    cfg_t untouched;
    poison(&untouched);
    cfg_t before = untouched;
    assert_int_equal(cfg_from_json(text, strlen(text), &untouched, &err), CFG_ERR_VALUE);
    assert_string_equal(err.key, "web_server.password");
    assert_non_null(strstr(err.message, "redaction placeholder"));
    assert_memory_equal(&untouched, &before, sizeof before);
    free(text);

    /* An unset secret is shown empty, so a reader can tell it is unset. */
    cfg_t d;
    cfg_defaults(&d);
    text = cfg_to_json(&d, true);
    assert_non_null(text);
    assert_null(strstr(text, CFG_REDACTED));
    free(text);
}

static void test_key_catalogue_describes_every_key(void **state)
{
    (void)state;
    size_t n = cfg_key_count();
    assert_true(n > 60u);
    cfg_key_info_t info;
    bool saw_secret = false;
    for (size_t i = 0; i < n; i++) {
        assert_true(cfg_key_info(i, &info));
        assert_non_null(info.path);
        assert_non_null(info.summary);
        assert_true(strlen(info.summary) > 5u);
        saw_secret = saw_secret || info.secret;
        if (strcmp(info.path, "victron.thresholds.overvoltage_v") == 0) {
            assert_int_equal(info.kind, CFG_KIND_DEC);
            assert_true(info.resolution > 0.0009 && info.resolution < 0.0011);
            assert_string_equal(info.unit, "V");
        }
        if (strcmp(info.path, "logging.log_level") == 0) {
            assert_int_equal(info.name_count, 4);
            assert_string_equal(info.names[1], "WARNING");
        }
    }
    assert_true(saw_secret);
    assert_false(cfg_key_info(n, &info));
}

/* ------------------------------------------------------------------------
 * packs and bank: several TinyBMS as one battery
 * ------------------------------------------------------------------------ */

static const char two_pack_file[] =
    "{\"packs\":[{\"device\":\"/dev/ttyUSB0\",\"name\":\"Shed left\"},"
    "{\"device\":\"/dev/serial/by-id/usb-FTDI_B-if00\"}],"
    "\"bank\":{\"min_packs\":2,\"offline_grace_ms\":0,\"small_current_split\":1.25}}";

static void test_two_pack_file_is_parsed(void **state)
{
    (void)state;
    cfg_t c = parse_ok(two_pack_file);
    assert_int_equal(c.packs.count, 2);
    assert_string_equal(c.packs.pack[0].device, "/dev/ttyUSB0");
    assert_string_equal(c.packs.pack[0].name, "Shed left");
    assert_string_equal(c.packs.pack[1].device, "/dev/serial/by-id/usb-FTDI_B-if00");
    assert_string_equal(c.packs.pack[1].name, ""); /* shown as "Pack 2" */
    assert_int_equal(c.bank.min_packs, 2);
    assert_int_equal(c.bank.offline_grace_ms, 0);
    assert_int_equal(c.bank.small_current_split_pm, 1250);
    /* The rest of the bank keeps its defaults. */
    cfg_t d;
    cfg_defaults(&d);
    assert_int_equal(c.bank.rejoin_hold_ms, d.bank.rejoin_hold_ms);
    assert_int_equal(c.bank.share_min_ma, d.bank.share_min_ma);
    assert_true(c.bank.incremental_guard);
    /* Unused entries are empty. */
    static const char zero[sizeof c.packs.pack[2]];
    assert_memory_equal(&c.packs.pack[2], zero, sizeof zero);
    assert_memory_equal(&c.packs.pack[3], zero, sizeof zero);
}

static void test_four_pack_file_with_every_bank_key_is_parsed(void **state)
{
    (void)state;
    cfg_t c = parse_ok("{\"packs\":["
                       "{\"device\":\"/dev/ttyUSB0\",\"name\":\"A\"},"
                       "{\"name\":\"Pack B (north)\",\"device\":\"/dev/ttyUSB1\"},"
                       "{\"device\":\"/dev/ttyUSB2\",\"name\":\"\"},"
                       "{\"device\":\"/dev/ttyAMA0\",\"name\":\"0123456789abcdef\"}],"
                       "\"bank\":{\"min_packs\":4,\"offline_grace_ms\":600000,"
                       "\"rejoin_hold_ms\":0,\"rejoin_window_cell_mv\":1,\"near_cutoff_mv\":0,"
                       "\"share_min_ma\":1000000,\"small_current_split\":4,"
                       "\"incremental_guard\":false}}");
    assert_int_equal(c.packs.count, 4);
    assert_string_equal(c.packs.pack[1].device, "/dev/ttyUSB1");
    assert_string_equal(c.packs.pack[1].name, "Pack B (north)");
    assert_string_equal(c.packs.pack[2].name, "");
    assert_string_equal(c.packs.pack[3].device, "/dev/ttyAMA0");
    assert_string_equal(c.packs.pack[3].name, "0123456789abcdef"); /* 16: the maximum */
    assert_int_equal(c.bank.min_packs, 4);
    assert_int_equal(c.bank.offline_grace_ms, 600000);
    assert_int_equal(c.bank.rejoin_hold_ms, 0);
    assert_int_equal(c.bank.rejoin_window_cell_mv, 1);
    assert_int_equal(c.bank.near_cutoff_mv, 0);
    assert_int_equal(c.bank.share_min_ma, 1000000);
    assert_int_equal(c.bank.small_current_split_pm, 4000);
    assert_false(c.bank.incremental_guard);
}

/* No section, or [], is one pack on hardware.uart.device, as before the
 * section existed; bank.min_packs is then not held to a pack count. */
static void test_no_packs_or_an_empty_array_is_one_pack_on_the_uart_device(void **state)
{
    (void)state;
    cfg_t c = parse_ok("{\"hardware\":{\"uart\":{\"device\":\"/dev/ttyS1\"}}}");
    assert_int_equal(c.packs.count, 0);
    assert_string_equal(c.hardware.uart.device, "/dev/ttyS1");
    cfg_t e = parse_ok("{\"packs\":[],\"hardware\":{\"uart\":{\"device\":\"/dev/ttyS1\"}}}");
    assert_true(cfg_equal(&c, &e));
    cfg_t m = parse_ok("{\"bank\":{\"min_packs\":3}}");
    assert_int_equal(m.packs.count, 0);
    assert_int_equal(m.bank.min_packs, 3);
}

static void test_packs_errors_name_the_key_and_change_nothing(void **state)
{
    (void)state;
    expect_error("{\"packs\":[{\"device\":\"/dev/a\"},{\"device\":\"/dev/b\"},"
                 "{\"device\":\"/dev/c\"},{\"device\":\"/dev/d\"},{\"device\":\"/dev/e\"}]}",
                 CFG_ERR_RANGE, "packs", "5 packs given; at most 4");
    expect_error("{\"packs\":{\"device\":\"/dev/a\"}}", CFG_ERR_TYPE, "packs",
                 "expected an array of packs");
    expect_error("{\"packs\":\"/dev/a\"}", CFG_ERR_TYPE, "packs", "got a string");
    expect_error("{\"packs\":[\"/dev/ttyUSB0\"]}", CFG_ERR_NOT_OBJECT, "packs[0]",
                 "expected an object");
    expect_error("{\"packs\":[{\"device\":\"/dev/a\"},{\"name\":\"B\"}]}", CFG_ERR_VALUE,
                 "packs[1].device", "is missing");
    expect_error("{\"packs\":[{}]}", CFG_ERR_VALUE, "packs[0].device", "is missing");
    expect_error("{\"packs\":[{\"device\":\"\"}]}", CFG_ERR_VALUE, "packs[0].device",
                 "must not be empty");
    expect_error("{\"packs\":[{\"device\":\"ttyUSB0\"}]}", CFG_ERR_VALUE, "packs[0].device",
                 "is not an absolute path");
    expect_error("{\"packs\":[{\"device\":7}]}", CFG_ERR_TYPE, "packs[0].device",
                 "expected a string, got a number");
    expect_error("{\"packs\":[{\"device\":\"/dev/a\",\"name\":null}]}", CFG_ERR_TYPE,
                 "packs[0].name", "expected a string, got null");
    expect_error("{\"packs\":[{\"device\":\"/dev/a\",\"name\":\"0123456789abcdefg\"}]}",
                 CFG_ERR_VALUE, "packs[0].name", "is 17 characters long; the maximum is 16");
    expect_error("{\"packs\":[{\"device\":\"/dev/a\",\"name\":\"S\\u00fcd\"}]}", CFG_ERR_VALUE,
                 "packs[0].name", "must be printable ASCII");
    expect_error("{\"packs\":[{\"device\":\"/dev/a\",\"name\":\"A\\tB\"}]}", CFG_ERR_VALUE,
                 "packs[0].name", "contains a control character");
    expect_error("{\"packs\":[{\"device\":\"/dev/a\",\"port\":1}]}", CFG_ERR_UNKNOWN_KEY,
                 "packs[0].port", "unknown key");
    expect_error("{\"packs\":[{\"device\":\"/dev/a\",\"device\":\"/dev/b\"}]}",
                 CFG_ERR_DUPLICATE_KEY, "packs[0].device", "key given twice");
    expect_error("{\"packs\":[{\"device\":\"/dev/a\"}],\"packs\":[]}", CFG_ERR_DUPLICATE_KEY,
                 "packs", "key given twice");
    /* One serial port per pack, compared as written. */
    expect_error("{\"packs\":[{\"device\":\"/dev/ttyUSB0\"},{\"device\":\"/dev/ttyUSB1\"},"
                 "{\"device\":\"/dev/ttyUSB0\"}]}",
                 CFG_ERR_RULE, "packs[2].device",
                 "\"/dev/ttyUSB0\" is already packs[0].device: each pack needs its own serial "
                 "port");
    expect_error("{\"packs\":[{\"device\":\"/dev/a\"},{\"device\":\"/dev/b\"}],"
                 "\"bank\":{\"min_packs\":3}}",
                 CFG_ERR_RULE, "bank.min_packs", "3 is more than the 2 packs in packs");
    /* The section is not a section of keys: nothing is found under it. */
    expect_error("{\"hardware\":{\"packs\":[]}}", CFG_ERR_UNKNOWN_KEY, "hardware.packs",
                 "unknown key");
    expect_error("{\"bank\":{\"incremental_guard\":1}}", CFG_ERR_TYPE, "bank.incremental_guard",
                 "expected true or false");
    expect_error("{\"bank\":{\"small_current_split\":1.0005}}", CFG_ERR_RANGE,
                 "bank.small_current_split", "finer than the resolution 0.001");
    expect_error("{\"bank\":{\"max_charge_current_a\":100}}", CFG_ERR_UNKNOWN_KEY,
                 "bank.max_charge_current_a", "unknown key");
}

static void test_merge_replaces_the_whole_packs_array(void **state)
{
    (void)state;
    cfg_t base = parse_ok("{\"packs\":[{\"device\":\"/dev/a\",\"name\":\"A\"},"
                          "{\"device\":\"/dev/b\",\"name\":\"B\"},{\"device\":\"/dev/c\"},"
                          "{\"device\":\"/dev/d\",\"name\":\"D\"}]}");
    cfg_t out;
    cfg_error_t err;
    static const char two[] = "{\"packs\":[{\"device\":\"/dev/d\"},{\"device\":\"/dev/e\","
                              "\"name\":\"E\"}]}";
    assert_int_equal(cfg_merge_json(&base, two, strlen(two), &out, &err), CFG_OK);
    assert_int_equal(out.packs.count, 2);
    assert_string_equal(out.packs.pack[0].device, "/dev/d");
    assert_string_equal(out.packs.pack[0].name, ""); /* not D's: the entry is new */
    assert_string_equal(out.packs.pack[1].device, "/dev/e");
    assert_string_equal(out.packs.pack[1].name, "E");
    static const char zero[sizeof out.packs.pack[2]];
    assert_memory_equal(&out.packs.pack[2], zero, sizeof zero);
    assert_memory_equal(&out.packs.pack[3], zero, sizeof zero);

    /* A patch without the section keeps it. */
    static const char other[] = "{\"bank\":{\"rejoin_hold_ms\":20000}}";
    cfg_t kept;
    assert_int_equal(cfg_merge_json(&base, other, strlen(other), &kept, &err), CFG_OK);
    assert_int_equal(kept.packs.count, 4);
    assert_string_equal(kept.packs.pack[3].name, "D");
    assert_int_equal(kept.bank.rejoin_hold_ms, 20000);

    /* [] removes it: one pack on hardware.uart.device again. */
    static const char none[] = "{\"packs\":[]}";
    cfg_t single;
    assert_int_equal(cfg_merge_json(&base, none, strlen(none), &single, &err), CFG_OK);
    assert_int_equal(single.packs.count, 0);
    cfg_t d;
    cfg_defaults(&d);
    assert_true(cfg_equal(&single, &d));
}

/* A patch that breaks the pack count rule names what it changed. */
static void test_merge_errors_in_packs_and_bank_leave_output_unchanged(void **state)
{
    (void)state;
    cfg_t base = parse_ok(two_pack_file); /* min_packs 2 */
    expect_error_from(&base, "{\"packs\":[{\"device\":\"/dev/ttyUSB0\"}]}", CFG_ERR_RULE, "packs",
                      "1 pack, fewer than bank.min_packs (2)");
    expect_error_from(&base, "{\"bank\":{\"min_packs\":3}}", CFG_ERR_RULE, "bank.min_packs",
                      "3 is more than the 2 packs in packs");
    expect_error_from(&base,
                      "{\"packs\":[{\"device\":\"/dev/a\"},{\"device\":\"/dev/b\"}],"
                      "\"bank\":{\"min_packs\":3}}",
                      CFG_ERR_RULE, "bank.min_packs", "3 is more than the 2 packs");
    expect_error_from(&base, "{\"packs\":[{\"device\":\"/dev/a\"},{\"device\":\"/dev/a\"}]}",
                      CFG_ERR_RULE, "packs[1].device", "is already packs[0].device");
    /* A bad pack after good ones: nothing of the array is kept. */
    expect_error_from(&base,
                      "{\"packs\":[{\"device\":\"/dev/x\"},{\"device\":\"/dev/y\"},"
                      "{\"device\":\"y\"}]}",
                      CFG_ERR_VALUE, "packs[2].device", "is not an absolute path");
    /* Both packs and min_packs 1: fine, and the names are taken. */
    cfg_t out;
    cfg_error_t err;
    static const char ok[] = "{\"packs\":[{\"device\":\"/dev/x\",\"name\":\"X\"}],"
                             "\"bank\":{\"min_packs\":1}}";
    assert_int_equal(cfg_merge_json(&base, ok, strlen(ok), &out, &err), CFG_OK);
    assert_int_equal(out.packs.count, 1);
    assert_string_equal(out.packs.pack[0].name, "X");
}

static void test_validate_checks_packs_built_in_code(void **state)
{
    (void)state;
    cfg_t c;
    cfg_error_t err;
    cfg_defaults(&c);
    c.packs.count = 5;
    assert_int_equal(cfg_validate(&c, &err), CFG_ERR_RANGE);
    assert_string_equal(err.key, "packs");

    cfg_defaults(&c);
    c.packs.count = 2;
    strcpy(c.packs.pack[0].device, "simulator");
    strcpy(c.packs.pack[1].device, "simulator");
    assert_int_equal(cfg_validate(&c, &err), CFG_ERR_VALUE);
    assert_string_equal(err.key, "packs[0].device");

    cfg_defaults(&c);
    c.packs.count = 2;
    strcpy(c.packs.pack[0].device, "/dev/a");
    assert_int_equal(cfg_validate(&c, &err), CFG_ERR_VALUE);
    assert_string_equal(err.key, "packs[1].device");
    assert_non_null(strstr(err.message, "must not be empty"));

    strcpy(c.packs.pack[1].device, "/dev/a");
    assert_int_equal(cfg_validate(&c, &err), CFG_ERR_RULE);
    assert_string_equal(err.key, "packs[1].device");

    strcpy(c.packs.pack[1].device, "/dev/b");
    memset(c.packs.pack[1].name, 'n', sizeof c.packs.pack[1].name); /* no NUL */
    assert_int_equal(cfg_validate(&c, &err), CFG_ERR_VALUE);
    assert_string_equal(err.key, "packs[1].name");

    c.packs.pack[1].name[0] = '\0';
    c.bank.min_packs = 3;
    assert_int_equal(cfg_validate(&c, &err), CFG_ERR_RULE);
    assert_string_equal(err.key, "bank.min_packs");
    c.bank.min_packs = 2;
    assert_int_equal(cfg_validate(&c, &err), CFG_OK);

    /* Entries beyond the count are not looked at. */
    memset(c.packs.pack[3].device, 'x', sizeof c.packs.pack[3].device);
    assert_int_equal(cfg_validate(&c, &err), CFG_OK);
}

static void test_packs_round_trip_and_a_file_without_them_stays_without(void **state)
{
    (void)state;
    cfg_t c = parse_ok(two_pack_file);
    char *text = cfg_to_json(&c, false);
    assert_non_null(text);
    /* Before the bank section, names written even when empty. */
    char *packs = strstr(text, "\"packs\":\t[{");
    char *bank = strstr(text, "\"bank\":\t{");
    assert_non_null(packs);
    assert_non_null(bank);
    assert_true(packs < bank);
    assert_non_null(strstr(text, "\"name\":\t\"Shed left\""));
    assert_non_null(strstr(text, "\"name\":\t\"\""));
    assert_non_null(strstr(text, "\"small_current_split\":\t1.25"));
    free(text);
    round_trip(&c);

    /* What GET /api/settings shows (the redacted document) has them too, and
     * posting it back changes nothing. */
    text = cfg_to_json(&c, true);
    assert_non_null(text);
    assert_non_null(strstr(text, "/dev/serial/by-id/usb-FTDI_B-if00"));
    cfg_t out;
    cfg_error_t err;
    assert_int_equal(cfg_merge_json(&c, text, strlen(text), &out, &err), CFG_OK);
    assert_true(cfg_equal(&out, &c));
    free(text);

    cfg_t d;
    cfg_defaults(&d);
    text = cfg_to_json(&d, false);
    assert_non_null(text);
    assert_null(strstr(text, "\"packs\""));
    free(text);

    /* cfg_equal sees every listed pack's device and name, and the count. */
    cfg_t e = c;
    e.packs.pack[1].name[0] = 'X';
    assert_false(cfg_equal(&c, &e));
    e = c;
    e.packs.count = 1;
    assert_false(cfg_equal(&c, &e));
    e = c;
    e.packs.pack[3].device[0] = '/'; /* unused entry */
    assert_true(cfg_equal(&c, &e));
}

/* Users enter the bank total where a per-pack limit is asked
 * (multi-pack.md): every bank key says it is one, and the current caps say
 * they are the bank's. */
static void test_bank_keys_say_they_are_bank_settings(void **state)
{
    (void)state;
    size_t bank_keys = 0;
    for (size_t i = 0; i < cfg_key_count(); i++) {
        cfg_key_info_t k;
        assert_true(cfg_key_info(i, &k));
        if (strncmp(k.path, "bank.", 5) == 0) {
            assert_memory_equal(k.summary, "Bank: ", 6);
            bank_keys++;
        }
        if (strcmp(k.path, "victron.max_charge_current_a") == 0 ||
            strcmp(k.path, "victron.max_discharge_current_a") == 0) {
            assert_non_null(strstr(k.summary, "the BANK total, not a per-pack limit"));
        }
    }
    assert_int_equal(bank_keys, 8);
}

/* The bank defaults are the core's (bank_default_config through
 * brg_default_config), in the file's units. */
static void test_bank_defaults_are_the_cores(void **state)
{
    (void)state;
    cfg_t c;
    cfg_defaults(&c);
    bank_config_t core;
    bank_default_config(&core);
    assert_int_equal(c.packs.count, 0);
    assert_int_equal(c.bank.min_packs, core.min_packs);
    assert_int_equal((uint32_t)c.bank.offline_grace_ms * 1000u, core.offline_grace_us);
    assert_int_equal((uint32_t)c.bank.rejoin_hold_ms * 1000u, core.rejoin_hold_us);
    assert_int_equal(c.bank.rejoin_window_cell_mv, core.rejoin_window_cell_mv);
    assert_int_equal(c.bank.near_cutoff_mv, core.near_cutoff_mv);
    assert_int_equal(c.bank.share_min_ma, core.share_min_ma);
    assert_int_equal(c.bank.small_current_split_pm, core.small_current_split_pm);
    assert_int_equal(c.bank.incremental_guard, core.incremental_guard);
    /* The documented values (docs/configuration.md). */
    assert_int_equal(c.bank.min_packs, 1);
    assert_int_equal(c.bank.offline_grace_ms, 10000);
    assert_int_equal(c.bank.rejoin_hold_ms, 10000);
    assert_int_equal(c.bank.rejoin_window_cell_mv, 50);
    assert_int_equal(c.bank.near_cutoff_mv, 100);
    assert_int_equal(c.bank.share_min_ma, 2000);
    assert_int_equal(c.bank.small_current_split_pm, 1500);
    assert_true(c.bank.incremental_guard);
}

/* ------------------------------------------------------------------------
 * Documentation stays in sync
 * ------------------------------------------------------------------------ */

#define DOC_BEGIN "<!-- cfg-keys:begin (generated from app/config.c) -->\n"
#define DOC_END   "<!-- cfg-keys:end -->"

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    for (;;) {
        if (cap - len < 4096u) {
            cap = cap == 0u ? 65536u : cap * 2u;
            char *p = realloc(buf, cap + 1u);
            if (p == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        size_t r = fread(buf + len, 1u, cap - len, f);
        len += r;
        if (r == 0u) {
            break;
        }
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static void test_docs_key_table_matches_schema(void **state)
{
    (void)state;
    /* The source path is absolute in CMake builds: <root>/tests/unit/test_config.c */
    char doc[4096];
    const char *tail = strstr(__FILE__, "tests/unit/test_config.c");
    assert_non_null(tail);
    (void)snprintf(doc, sizeof doc, "%.*sdocs/configuration.md", (int)(tail - __FILE__), __FILE__);

    char *table = cfg_keys_markdown();
    assert_non_null(table);
    char *text = read_text(doc);
    assert_non_null(text);
    char *b = strstr(text, DOC_BEGIN);
    char *e = b != NULL ? strstr(b, DOC_END) : NULL;
    assert_non_null(b);
    assert_non_null(e);
    b += strlen(DOC_BEGIN);

    if (getenv("TBVB_UPDATE_DOCS") != NULL) {
        FILE *f = fopen(doc, "wb");
        assert_non_null(f);
        fwrite(text, 1u, (size_t)(b - text), f);
        fputs(table, f);
        fputs(e, f);
        fclose(f);
    } else {
        size_t n = (size_t)(e - b);
        if (n != strlen(table) || memcmp(b, table, n) != 0) {
            print_error("docs/configuration.md key table is out of date; run with "
                        "TBVB_UPDATE_DOCS=1 to regenerate it\n");
            fail();
        }
    }
    free(text);
    free(table);
}

/* The example file in docs/configuration.md is a valid configuration. */
static void test_docs_example_file_loads(void **state)
{
    (void)state;
    char doc[4096];
    const char *tail = strstr(__FILE__, "tests/unit/test_config.c");
    assert_non_null(tail);
    (void)snprintf(doc, sizeof doc, "%.*sdocs/configuration.md", (int)(tail - __FILE__), __FILE__);
    char *text = read_text(doc);
    assert_non_null(text);
    char *b = strstr(text, "## Example");
    assert_non_null(b);
    b = strstr(b, "```json\n");
    assert_non_null(b);
    b += strlen("```json\n");
    char *e = strstr(b, "```");
    assert_non_null(e);
    cfg_t c;
    cfg_error_t err;
    cfg_err_t rc = cfg_from_json(b, (size_t)(e - b), &c, &err);
    if (rc != CFG_OK) {
        print_error("%s\n", err.message);
    }
    assert_int_equal(rc, CFG_OK);
    assert_true(c.mqtt.enabled);
    assert_string_equal(c.mqtt.host, "192.168.1.10");
    free(text);
}

/* The two-pack example of docs/configuration.md is a valid configuration. */
static void test_docs_two_pack_example_loads(void **state)
{
    (void)state;
    char doc[4096];
    const char *tail = strstr(__FILE__, "tests/unit/test_config.c");
    assert_non_null(tail);
    (void)snprintf(doc, sizeof doc, "%.*sdocs/configuration.md", (int)(tail - __FILE__), __FILE__);
    char *text = read_text(doc);
    assert_non_null(text);
    char *b = strstr(text, "## Example with two packs");
    assert_non_null(b);
    b = strstr(b, "```json\n");
    assert_non_null(b);
    b += strlen("```json\n");
    char *e = strstr(b, "```");
    assert_non_null(e);
    cfg_t c;
    cfg_error_t err;
    cfg_err_t rc = cfg_from_json(b, (size_t)(e - b), &c, &err);
    if (rc != CFG_OK) {
        print_error("%s\n", err.message);
    }
    assert_int_equal(rc, CFG_OK);
    assert_int_equal(c.packs.count, 2);
    assert_string_equal(c.packs.pack[1].name, "Pack B");
    assert_int_equal(c.bank.min_packs, 2);
    assert_int_equal(c.victron.max_charge_current_da, 1000);
    free(text);
}

/* ------------------------------------------------------------------------
 * config_store: files
 * ------------------------------------------------------------------------ */

typedef struct {
    char dir[64];
    char file[128];
} tmp_t;

static int store_setup(void **state)
{
    tmp_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return -1;
    }
    strcpy(t->dir, "/tmp/tbvb-cfg-XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        free(t);
        return -1;
    }
    (void)snprintf(t->file, sizeof t->file, "%s/config.json", t->dir);
    *state = t;
    return 0;
}

/* Removes the temporary tree (two levels are enough for these tests). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        char p[512];
        (void)snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            (void)chmod(p, 0700);
            remove_tree(p);
        } else {
            (void)unlink(p);
        }
    }
    closedir(d);
    (void)rmdir(dir);
}

static int store_teardown(void **state)
{
    tmp_t *t = *state;
    remove_tree(t->dir);
    free(t);
    return 0;
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_load_of_missing_file_creates_it_with_defaults_and_mode_0600(void **state)
{
    tmp_t *t = *state;
    cfg_t c;
    cfg_error_t err;
    poison(&c);
    assert_int_equal(cfg_load_file(t->file, &c, &err), CFG_OK);
    cfg_t d;
    cfg_defaults(&d);
    assert_true(cfg_equal(&c, &d));

    struct stat st;
    assert_int_equal(stat(t->file, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(count_entries(t->dir), 1); /* no temporary file left */

    /* What was written loads back to the same. */
    cfg_t again;
    assert_int_equal(cfg_load_file(t->file, &again, &err), CFG_OK);
    assert_true(cfg_equal(&again, &d));
}

static void test_save_then_load_round_trips(void **state)
{
    tmp_t *t = *state;
    cfg_t c = custom_config();
    cfg_error_t err;
    assert_int_equal(cfg_save_file(t->file, &c, &err), CFG_OK);
    /* Overwrite an existing file too. */
    c.mqtt.qos = 2;
    assert_int_equal(cfg_save_file(t->file, &c, &err), CFG_OK);
    cfg_t back;
    assert_int_equal(cfg_load_file(t->file, &back, &err), CFG_OK);
    assert_true(cfg_equal(&back, &c));
    assert_string_equal(back.mqtt.password, "s3cret!"); /* the file keeps secrets */
    struct stat st;
    assert_int_equal(stat(t->file, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(count_entries(t->dir), 1);
}

static void test_load_save_load_keeps_the_packs_and_adds_none(void **state)
{
    tmp_t *t = *state;
    cfg_error_t err;
    write_file(t->file, two_pack_file);
    cfg_t first;
    assert_int_equal(cfg_load_file(t->file, &first, &err), CFG_OK);
    assert_int_equal(first.packs.count, 2);
    assert_int_equal(cfg_save_file(t->file, &first, &err), CFG_OK);
    cfg_t back;
    assert_int_equal(cfg_load_file(t->file, &back, &err), CFG_OK);
    assert_true(cfg_equal(&back, &first));
    assert_string_equal(back.packs.pack[0].name, "Shed left");

    /* A file without the section is saved without it. */
    write_file(t->file, "{\"bank\":{\"min_packs\":2}}");
    cfg_t single;
    assert_int_equal(cfg_load_file(t->file, &single, &err), CFG_OK);
    assert_int_equal(cfg_save_file(t->file, &single, &err), CFG_OK);
    char *text = read_text(t->file);
    assert_non_null(text);
    assert_null(strstr(text, "\"packs\""));
    assert_non_null(strstr(text, "\"min_packs\":\t2"));
    free(text);
    assert_int_equal(cfg_load_file(t->file, &back, &err), CFG_OK);
    assert_true(cfg_equal(&back, &single));
}

static void test_load_of_invalid_file_names_file_and_key(void **state)
{
    tmp_t *t = *state;
    write_file(t->file, "{\"victron\":{\"thresholds\":{\"overtemp_c\":120}}}");
    cfg_t c;
    poison(&c);
    cfg_t before = c;
    cfg_error_t err;
    assert_int_equal(cfg_load_file(t->file, &c, &err), CFG_ERR_RANGE);
    assert_string_equal(err.key, "victron.thresholds.overtemp_c");
    char want[256];
    (void)snprintf(want, sizeof want,
                   "%s: victron.thresholds.overtemp_c: 120 is above the maximum 90", t->file);
    assert_string_equal(err.message, want);
    assert_memory_equal(&c, &before, sizeof c);

    write_file(t->file, "not json");
    assert_int_equal(cfg_load_file(t->file, &c, &err), CFG_ERR_SYNTAX);
    assert_non_null(strstr(err.message, t->file));
    assert_memory_equal(&c, &before, sizeof c);
}

static void test_load_of_unreadable_path_is_an_io_error(void **state)
{
    tmp_t *t = *state;
    cfg_t c;
    poison(&c);
    cfg_t before = c;
    cfg_error_t err;
    /* A directory. */
    assert_int_equal(cfg_load_file(t->dir, &c, &err), CFG_ERR_IO);
    assert_non_null(strstr(err.message, "not a regular file"));
    /* Too large. */
    FILE *f = fopen(t->file, "wb");
    assert_non_null(f);
    for (unsigned i = 0; i < CFG_FILE_MAX_BYTES + 10u; i++) {
        fputc(' ', f);
    }
    fclose(f);
    assert_int_equal(cfg_load_file(t->file, &c, &err), CFG_ERR_IO);
    assert_non_null(strstr(err.message, "larger than the limit"));
    /* Missing file in a missing directory: the defaults cannot be written. */
    char p[256];
    (void)snprintf(p, sizeof p, "%s/nope/config.json", t->dir);
    assert_int_equal(cfg_load_file(p, &c, &err), CFG_ERR_IO);
    assert_non_null(strstr(err.message, "cannot create a temporary file"));
    assert_non_null(strstr(err.message, "No such file or directory"));
    assert_memory_equal(&c, &before, sizeof c);
}

static void test_save_refuses_an_invalid_config_and_writes_nothing(void **state)
{
    tmp_t *t = *state;
    cfg_t c;
    cfg_defaults(&c);
    c.mqtt.qos = 3;
    cfg_error_t err;
    assert_int_equal(cfg_save_file(t->file, &c, &err), CFG_ERR_RANGE);
    assert_string_equal(err.key, "mqtt.qos");
    assert_non_null(strstr(err.message, "mqtt.qos: 3 is above the maximum 2"));
    assert_int_equal(count_entries(t->dir), 0);
}

static void assert_file_equals(const char *path, const char *want)
{
    char *got = read_text(path);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* The write of the new content fails half way (file size limit): the old file
 * must be intact and no temporary file left. Works as root too. */
static void test_save_failure_while_writing_keeps_the_old_file(void **state)
{
    tmp_t *t = *state;
    static const char old[] = "{\"mqtt\":{\"qos\":1}}\n";
    write_file(t->file, old);

    struct rlimit saved;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = saved;
    small.rlim_cur = 256; /* the JSON is several KB */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);

    cfg_t c = custom_config();
    cfg_error_t err;
    cfg_err_t rc = cfg_save_file(t->file, &c, &err);

    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    (void)signal(SIGXFSZ, prev);

    assert_int_equal(rc, CFG_ERR_IO);
    assert_non_null(strstr(err.message, "cannot write the temporary file"));
    assert_non_null(strstr(err.message, strerror(EFBIG)));
    assert_non_null(strstr(err.message, "the old file is unchanged"));
    assert_file_equals(t->file, old);
    assert_int_equal(count_entries(t->dir), 1);
}

/* Saving into a read-only directory. Root ignores directory permissions,
 * so as root the save runs in a child that drops to user "nobody". */
static void test_save_into_read_only_directory_keeps_the_old_file(void **state)
{
    tmp_t *t = *state;
    static const char old[] = "{\"mqtt\":{\"qos\":1}}\n";
    char ro[128];
    char file[160];
    (void)snprintf(ro, sizeof ro, "%s/ro", t->dir);
    (void)snprintf(file, sizeof file, "%s/config.json", ro);
    assert_int_equal(mkdir(ro, 0755), 0);
    write_file(file, old);
    assert_int_equal(chmod(ro, 0555), 0);
    assert_int_equal(chmod(t->dir, 0711), 0);

    cfg_t c = custom_config();
    if (geteuid() != 0) {
        cfg_error_t err;
        assert_int_equal(cfg_save_file(file, &c, &err), CFG_ERR_IO);
        assert_non_null(strstr(err.message, "cannot create a temporary file in"));
        assert_non_null(strstr(err.message, strerror(EACCES)));
    } else {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            cfg_error_t err;
            if (setgid(65534) != 0 || setuid(65534) != 0) {
                _exit(2);
            }
            cfg_err_t rc = cfg_save_file(file, &c, &err);
            bool ok = rc == CFG_ERR_IO &&
                      strstr(err.message, "cannot create a temporary file in") != NULL &&
                      strstr(err.message, strerror(EACCES)) != NULL;
            if (!ok) {
                fprintf(stderr, "child: %s\n", err.message);
            }
            _exit(ok ? 0 : 1);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_file_equals(file, old);
    assert_int_equal(count_entries(ro), 1);
    assert_int_equal(chmod(ro, 0755), 0);
    assert_int_equal(chmod(t->dir, 0700), 0);
}

static void test_load_file_reports_warnings_and_save_keeps_the_esp32_keys(void **state)
{
    tmp_t *t = *state;
    write_file(t->file, seed_readme_file);
    cfg_t c;
    cfg_warnings_t w;
    cfg_error_t err;
    assert_int_equal(cfg_load_file_warn(t->file, &c, &w, &err), CFG_OK);
    assert_int_equal(w.count, 10);
    assert_string_equal(w.item[0].key, "wifi.sta_ssid");
    /* A settings change saves the whole file: the ESP32 keys stay in it. */
    c.mqtt.qos = 1;
    assert_int_equal(cfg_save_file(t->file, &c, &err), CFG_OK);
    char *text = read_text(t->file);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"sta_hostname\":\t\"tinybms-bridge\""));
    assert_non_null(strstr(text, "\"tx_pin\":\t4"));
    free(text);
    cfg_t back;
    assert_int_equal(cfg_load_file_warn(t->file, &back, &w, &err), CFG_OK);
    assert_true(cfg_equal(&back, &c));
    assert_int_equal(w.count, 7); /* the baud rate and the SOC thresholds are written as used */

    /* A wrong ESP32 key: refused with its path, the file untouched. */
    static const char bad[] = "{\"wifi\":{\"sta_ssid\":[1]}}\n";
    write_file(t->file, bad);
    poison(&c);
    cfg_t before = c;
    assert_int_equal(cfg_load_file_warn(t->file, &c, &w, &err), CFG_ERR_TYPE);
    assert_string_equal(err.key, "wifi.sta_ssid");
    assert_int_equal(w.count, 0);
    assert_memory_equal(&c, &before, sizeof c);
    assert_file_equals(t->file, bad);

    /* Missing file: the defaults, no warnings. */
    assert_int_equal(unlink(t->file), 0);
    assert_int_equal(cfg_load_file_warn(t->file, &c, &w, &err), CFG_OK);
    assert_int_equal(w.count, 0);
}

static void test_store_null_arguments(void **state)
{
    tmp_t *t = *state;
    cfg_t c;
    cfg_error_t err;
    cfg_defaults(&c);
    assert_int_equal(cfg_load_file(NULL, &c, &err), CFG_ERR_ARG);
    assert_int_equal(cfg_load_file(t->file, NULL, &err), CFG_ERR_ARG);
    assert_int_equal(cfg_save_file("", &c, &err), CFG_ERR_ARG);
    assert_int_equal(cfg_save_file(t->file, NULL, &err), CFG_ERR_ARG);
    /* A path ending in '/' has no file name. */
    char p[160];
    (void)snprintf(p, sizeof p, "%s/", t->dir);
    assert_int_equal(cfg_save_file(p, &c, &err), CFG_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_validate),
        cmocka_unit_test(test_defaults_follow_the_protocol_specs_not_the_seed),
        cmocka_unit_test(test_empty_object_gives_the_defaults),
        cmocka_unit_test(test_seed_readme_example_loads),
        cmocka_unit_test(test_seed_cvl_algorithm_alias_is_accepted),
        cmocka_unit_test(test_key_and_its_alias_together_is_a_duplicate),
        cmocka_unit_test(test_log_level_is_case_insensitive_and_accepts_level_alias),
        cmocka_unit_test(test_decimal_keys_store_scaled_integers),
        cmocka_unit_test(test_zero_is_accepted_where_it_has_a_meaning),
        cmocka_unit_test(test_seed_readme_file_loads_verbatim_with_one_warning_per_key_not_used),
        cmocka_unit_test(test_seed_readme_configuration_sections_load),
        cmocka_unit_test(test_wrong_esp32_keys_are_refused_with_their_path),
        cmocka_unit_test(test_esp32_keys_are_written_back_and_redacted),
        cmocka_unit_test(test_soc_thresholds_left_out_of_a_file_follow_the_ones_set),
        cmocka_unit_test(test_seed_websocket_interval_spellings_are_aliases),
        cmocka_unit_test(test_seed_watchdog_and_can_mode_keys),
        cmocka_unit_test(test_ws_max_clients_default_suits_a_small_board),
        cmocka_unit_test(test_every_esp32_key_is_reported_and_written_back),
        cmocka_unit_test(test_partial_merge_changes_only_the_given_keys),
        cmocka_unit_test(test_merge_may_write_over_its_base),
        cmocka_unit_test(test_merge_errors_leave_output_unchanged),
        cmocka_unit_test(test_cross_field_error_names_the_key_the_patch_changed),
        cmocka_unit_test(test_unknown_top_level_key_is_rejected),
        cmocka_unit_test(test_unknown_nested_key_is_rejected),
        cmocka_unit_test(test_wrong_types_are_rejected),
        cmocka_unit_test(test_range_boundaries_plus_minus_one_step),
        cmocka_unit_test(test_fixed_rates_ignore_the_seed_uart_speeds_and_refuse_the_rest),
        cmocka_unit_test(test_numbers_finer_than_the_resolution_are_rejected),
        cmocka_unit_test(test_cross_field_rules),
        cmocka_unit_test(test_manufacturer_names_that_trigger_venus_quirks_are_rejected),
        cmocka_unit_test(test_dbus_keys_default_off_with_instance_512_and_our_own_product_id),
        cmocka_unit_test(test_dbus_product_ids_venus_special_cases_are_refused),
        cmocka_unit_test(test_dbus_custom_name_must_be_utf8_of_63_bytes_at_most),
        cmocka_unit_test(test_string_formats_are_checked),
        cmocka_unit_test(test_secret_errors_never_echo_the_secret),
        cmocka_unit_test(test_invalid_json_is_a_syntax_error_with_position),
        cmocka_unit_test(test_empty_input_is_rejected),
        cmocka_unit_test(test_non_object_root_is_rejected),
        cmocka_unit_test(test_length_bounds_the_input),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_validate_catches_bad_structs_built_in_code),
        cmocka_unit_test(test_to_json_from_json_round_trip),
        cmocka_unit_test(test_to_json_writes_seed_key_names_and_units),
        cmocka_unit_test(test_redaction_hides_secrets_and_merge_keeps_them),
        cmocka_unit_test(test_key_catalogue_describes_every_key),
        cmocka_unit_test(test_two_pack_file_is_parsed),
        cmocka_unit_test(test_four_pack_file_with_every_bank_key_is_parsed),
        cmocka_unit_test(test_no_packs_or_an_empty_array_is_one_pack_on_the_uart_device),
        cmocka_unit_test(test_packs_errors_name_the_key_and_change_nothing),
        cmocka_unit_test(test_merge_replaces_the_whole_packs_array),
        cmocka_unit_test(test_merge_errors_in_packs_and_bank_leave_output_unchanged),
        cmocka_unit_test(test_validate_checks_packs_built_in_code),
        cmocka_unit_test(test_packs_round_trip_and_a_file_without_them_stays_without),
        cmocka_unit_test(test_bank_defaults_are_the_cores),
        cmocka_unit_test(test_bank_keys_say_they_are_bank_settings),
        cmocka_unit_test(test_docs_key_table_matches_schema),
        cmocka_unit_test(test_docs_example_file_loads),
        cmocka_unit_test(test_docs_two_pack_example_loads),
        cmocka_unit_test_setup_teardown(
            test_load_of_missing_file_creates_it_with_defaults_and_mode_0600, store_setup,
            store_teardown),
        cmocka_unit_test_setup_teardown(test_save_then_load_round_trips, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_load_save_load_keeps_the_packs_and_adds_none,
                                        store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_load_of_invalid_file_names_file_and_key, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_load_of_unreadable_path_is_an_io_error, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_save_refuses_an_invalid_config_and_writes_nothing,
                                        store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_save_failure_while_writing_keeps_the_old_file,
                                        store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_save_into_read_only_directory_keeps_the_old_file,
                                        store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(
            test_load_file_reports_warnings_and_save_keeps_the_esp32_keys, store_setup,
            store_teardown),
        cmocka_unit_test_setup_teardown(test_store_null_arguments, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
