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

#include <cjson/cJSON.h>

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

/* ---- several packs ---- */

static uint16_t pack_regs[2][FAKE_BMS_REGS];

/* A bridge of two 4S packs read for 3 s: pack 1 charged with 14 A, pack 2
 * with 6 A at 60 % SOC, pack 2's cells 20 mV higher; bank caps raised
 * (300 A / 400 A) so that the packs' own limits (80 A charge over-current)
 * and shares decide. */
static void start_two_packs(uint64_t *now)
{
    cfg_t cfg;
    cfg_defaults(&cfg);
    cfg.packs.count = 2;
    cfg.victron.max_charge_current_da = 3000;
    cfg.victron.max_discharge_current_da = 4000;
    brg_config_t bc;
    bridge_config_from_cfg(&cfg, &bc);
    *now = 1000u;
    assert_int_equal(brg_init(&b, &bc, *now), TBMS_OK);
    assert_int_equal(b.n_packs, 2);
    for (size_t i = 0; i < 2; i++) {
        fake_bms_pack(pack_regs[i], 4);
    }
    fake_bms_f32(pack_regs[0], 38, 14.0f);
    fake_bms_f32(pack_regs[1], 38, 6.0f);
    fake_bms_u32(pack_regs[1], 46, 60000000u);
    for (size_t c = 12; c < 16; c++) {
        pack_regs[1][c] = (uint16_t)(pack_regs[1][c] + 200u);
    }
    pack_regs[1][40] = 3320;
    pack_regs[1][41] = 3323;
}

static void run_two_packs(uint64_t *now, uint64_t until, const bool *alive)
{
    const uint16_t *const images[2] = {pack_regs[0], pack_regs[1]};
    fake_bms_run_packs(&b, images, alive, 2, now, until);
}

static status_input_t two_pack_input(uint64_t now)
{
    status_input_t in = input(now, "/dev/ttyUSB0");
    in.pack_uart_open[0] = true;
    in.pack_uart_device[0] = "/dev/ttyUSB0";
    in.pack_uart_open[1] = true;
    in.pack_uart_device[1] = "/dev/ttyUSB1";
    in.pack_name[0] = "";
    in.pack_name[1] = "Left";
    return in;
}

static double num_at(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_true(cJSON_IsNumber(x));
    return x->valuedouble;
}

static const char *str_at(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_true(cJSON_IsString(x));
    return x->valuestring;
}

static bool bool_at(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_true(cJSON_IsBool(x));
    return cJSON_IsTrue(x);
}

static const cJSON *obj_at(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_non_null(x);
    return x;
}

static bool near(double a, double b_)
{
    return a > b_ - 1e-6 && a < b_ + 1e-6;
}

static void test_one_pack_describes_that_pack_without_bank_bounds(void **state)
{
    (void)state;
    uint64_t now;
    start_valid_4s(&now);
    status_input_t in = input(now, "/dev/ttyUSB0");
    status_t st;
    assert_true(status_build(&in, 1, &st));
    assert_int_equal(st.packs_n, 1);
    const status_pack_t *p = &st.packs[0];
    assert_int_equal(p->index, 1);
    assert_string_equal(p->name, "Pack 1");
    assert_string_equal(p->state, "online");
    assert_true(p->member);
    assert_true(p->data_valid);
    assert_true(near(p->voltage.v, st.voltage.v));
    assert_true(near(p->current.v, st.current.v));
    assert_true(near(p->soc_percent.v, st.soc_percent.v));
    assert_true(near(p->temperature.v, st.temperature.v));
    assert_int_equal(p->cells_n, st.cells_n);
    assert_true(near(p->cells[3].mv, st.cells[3].mv));
    assert_true(p->limits.ccl_a.known);
    assert_false(p->limits.share_charge_pct.known); /* no bank, no share */
    assert_true(p->uart.open);
    assert_string_equal(p->uart.device, "/dev/ttyUSB0");
    assert_int_equal(p->uart.polls, st.uart.polls);
    assert_string_equal(p->bms.hardware, "2.1");
    assert_null(st.bank.ccl_bound);
    assert_null(st.bank.dcl_bound);
    assert_int_equal(st.bank.ccl_pack, 0);
    assert_int_equal(st.bank.online, 1);
    assert_true(near(st.bank.capacity_ah, 280.0));
    /* The document is the one-pack document: no "packs", no "bank". */
    char *doc = status_json(&st);
    assert_null(strstr(doc, "\"packs\""));
    assert_null(strstr(doc, "\"bank\""));
    free(doc);

    /* Stale: the pack is offline and no longer a member. */
    fake_bms_run(&b, regs, false, &now, now + 8000000u);
    in = input(now, "/dev/ttyUSB0");
    assert_true(status_build(&in, 2, &st));
    assert_string_equal(st.packs[0].state, "offline");
    assert_false(st.packs[0].member);
    assert_false(st.packs[0].data_valid);
    assert_true(st.packs[0].voltage.known); /* its last values stay, as the battery's */
    assert_true(st.packs[0].data_age_ms.v >= 5000.0);
}

static void test_two_packs_give_each_pack_and_the_bank(void **state)
{
    (void)state;
    uint64_t now;
    start_two_packs(&now);
    run_two_packs(&now, now + 3000000u, NULL);
    status_input_t in = two_pack_input(now);
    in.pack_uart_open[1] = false; /* say pack 2's port is closed */
    status_t st;
    assert_true(status_build(&in, 1, &st));
    assert_true(st.data_valid);
    assert_int_equal(st.packs_n, 2);
    /* The top level is the bank: 20 A. */
    assert_true(near(st.current.v, 20.0));

    const status_pack_t *p1 = &st.packs[0], *p2 = &st.packs[1];
    assert_string_equal(p1->name, "Pack 1");
    assert_string_equal(p2->name, "Left");
    assert_int_equal(p2->index, 2);
    assert_true(near(p1->current.v, 14.0));
    assert_true(near(p2->current.v, 6.0));
    assert_true(near(p1->soc_percent.v, 55.5));
    assert_true(near(p2->soc_percent.v, 60.0));
    assert_true(near(p2->max_cell_mv.v, 3323.0));
    assert_true(near(p2->cells[3].mv, 3323.0));
    assert_string_equal(p1->state, "online");
    assert_string_equal(p2->state, "online");
    assert_true(p1->member && p2->member);
    assert_true(p1->data_valid && p2->data_valid);
    /* Pack 1 carries 70 % of the current: its 80 A over its share bounds
     * the bank's CCL (bank.h), pack 2 does not. */
    assert_string_equal(st.bank.ccl_bound, "share");
    assert_int_equal(st.bank.ccl_pack, 1);
    assert_true(p1->bounds_ccl);
    assert_false(p2->bounds_ccl);
    assert_true(p1->limits.share_charge_measured);
    assert_true(near(p1->limits.share_charge_pct.v, 70.0));
    assert_true(near(p2->limits.share_charge_pct.v, 30.0));
    /* Its own L_i as the bank counts it: 5 % below its 80 A cutoff. */
    assert_true(near(p1->limits.ccl_a.v, 76.0));
    assert_true(st.limits.ccl_a.v < 160.0);      /* less than the sum */
    assert_int_equal(st.bank.online, 2);
    assert_int_equal(st.bank.offline, 0);
    assert_true(near(st.bank.capacity_ah, 560.0));
    assert_int_equal(st.bank.warnings, 0);
    /* The bank has no cells of its own (they were all 0 mV): each pack's
     * cells are in packs[]. */
    assert_int_equal(st.cells_n, 0);
    assert_int_equal(p1->cells_n, 4);
    assert_true(p1->cells[0].mv > 3000.0);
    /* Each pack's port and counters; the top level sums them. */
    assert_string_equal(p2->uart.device, "/dev/ttyUSB1");
    assert_false(p2->uart.open);
    assert_true(p1->uart.polls > 0 && p2->uart.polls > 0);
    assert_int_equal(st.uart.polls, p1->uart.polls + p2->uart.polls);
    assert_int_equal(st.uart.success, p1->uart.success + p2->uart.success);
    assert_string_equal(st.uart.device, "/dev/ttyUSB0");
    assert_false(st.uart.open); /* not every pack's port is open */
    assert_true(p2->bms.have_settings);
    assert_int_equal(p2->bms.series_cells, 4);

    /* The document, parsed. */
    char *doc = status_json(&st);
    assert_non_null(doc);
    cJSON *root = cJSON_Parse(doc);
    assert_non_null(root);
    assert_true(near(num_at(root, "current"), 20.0)); /* the top level as before */
    const cJSON *packs = obj_at(root, "packs");
    assert_true(cJSON_IsArray(packs));
    assert_int_equal(cJSON_GetArraySize(packs), 2);
    const cJSON *j1 = cJSON_GetArrayItem(packs, 0);
    const cJSON *j2 = cJSON_GetArrayItem(packs, 1);
    assert_true(near(num_at(j1, "index"), 1.0));
    assert_string_equal(str_at(j2, "name"), "Left");
    assert_string_equal(str_at(j2, "state"), "online");
    assert_true(bool_at(j1, "member"));
    assert_true(bool_at(j1, "bounds_ccl"));
    assert_false(bool_at(j2, "bounds_ccl"));
    assert_false(bool_at(j2, "blocks_charge"));
    assert_true(near(num_at(j1, "current"), 14.0));
    assert_true(near(num_at(j2, "soc_percent"), 60.0));
    assert_true(near(num_at(j2, "capacity_ah"), 280.0));
    assert_int_equal(cJSON_GetArraySize(obj_at(j2, "cells")), 4);
    assert_true(near(num_at(cJSON_GetArrayItem(obj_at(j2, "cells"), 3), "mv"), 3323.0));
    const cJSON *l1 = obj_at(j1, "limits");
    assert_true(near(num_at(l1, "ccl_a"), 76.0));
    assert_true(near(num_at(l1, "share_charge_percent"), 70.0));
    assert_true(bool_at(l1, "share_charge_measured"));
    assert_true(cJSON_IsArray(obj_at(l1, "reasons")));
    const cJSON *u2 = obj_at(j2, "uart");
    assert_string_equal(str_at(u2, "device"), "/dev/ttyUSB1");
    assert_false(bool_at(u2, "open"));
    assert_string_equal(str_at(obj_at(j2, "bms"), "hardware"), "2.1");
    const cJSON *bank = obj_at(root, "bank");
    assert_string_equal(str_at(bank, "ccl_bound"), "share");
    assert_true(near(num_at(bank, "ccl_pack"), 1.0));
    assert_true(cJSON_IsArray(obj_at(bank, "warnings")));
    assert_int_equal(cJSON_GetArraySize(obj_at(bank, "warnings")), 0);
    assert_true(near(num_at(obj_at(bank, "modules"), "online"), 2.0));
    assert_true(near(num_at(bank, "capacity_ah"), 560.0));
    assert_true(near(num_at(bank, "online_capacity_ah"), 560.0));
    /* Every top-level key of the one-pack document is still there. */
    const char *keys[] = {"voltage", "soc_percent", "cells", "temperatures", "limits", "alarms",
                          "gx", "energy", "stats", "bms", "version"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        assert_non_null(cJSON_GetObjectItemCaseSensitive(root, keys[i]));
    }
    cJSON_Delete(root);
    free(doc);
}

static void test_a_bank_above_655_ah_shows_its_whole_capacity(void **state)
{
    (void)state;
    uint64_t now;
    start_two_packs(&now);
    pack_regs[0][306] = 40000; /* 400 Ah */
    pack_regs[1][306] = 40000;
    run_two_packs(&now, now + 3000000u, NULL);
    status_input_t in = two_pack_input(now);
    status_t st;
    assert_true(status_build(&in, 1, &st));
    assert_true(near(st.bank.capacity_ah, 800.0));
    /* The top-level TinyBMS capacity is the bank's: more than the
     * 655.35 Ah one TinyBMS register can hold. */
    assert_true(near(st.bms.capacity_ah, 800.0));
    assert_true(near(st.packs[0].capacity_ah.v, 400.0));
}

static void test_a_silent_pack_is_named_in_the_bank_warnings(void **state)
{
    (void)state;
    uint64_t now;
    start_two_packs(&now);
    run_two_packs(&now, now + 3000000u, NULL);
    const bool alive[2] = {true, false};
    /* Past the stale limit (5 s), within the grace (10 s). */
    run_two_packs(&now, now + 6000000u, alive);
    status_input_t in = two_pack_input(now);
    status_t st;
    assert_true(status_build(&in, 1, &st));
    assert_true(st.data_valid); /* pack 1 carries on */
    assert_string_equal(st.packs[0].state, "online");
    assert_string_equal(st.packs[1].state, "silent");
    assert_false(st.packs[1].data_valid);
    assert_true(st.packs[1].data_age_ms.v >= 5000.0);
    assert_true(st.packs[1].voltage.known); /* its last values */
    assert_true((st.bank.warnings & BANK_WARN_PACK_SILENT) != 0u);
    char *doc = status_json(&st);
    cJSON *root = cJSON_Parse(doc);
    assert_non_null(root);
    const cJSON *w = obj_at(obj_at(root, "bank"), "warnings");
    bool named = false;
    const cJSON *x = NULL;
    cJSON_ArrayForEach(x, w)
    {
        named = named || (cJSON_IsString(x) && strcmp(x->valuestring, "pack_silent") == 0);
    }
    assert_true(named);
    assert_false(bool_at(cJSON_GetArrayItem(obj_at(root, "packs"), 1), "data_valid"));
    cJSON_Delete(root);
    free(doc);
    assert_string_equal(status_bank_warning_name(BANK_WARN_CELLS_MISMATCH), "cells_mismatch");
    assert_null(status_bank_warning_name(0u));
    assert_null(status_bank_warning_name(BANK_WARN_PACK_SILENT | BANK_WARN_PACK_OFFLINE));
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
        cmocka_unit_test(test_one_pack_describes_that_pack_without_bank_bounds),
        cmocka_unit_test(test_two_packs_give_each_pack_and_the_bank),
        cmocka_unit_test(test_a_bank_above_655_ah_shows_its_whole_capacity),
        cmocka_unit_test(test_a_silent_pack_is_named_in_the_bank_warnings),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
