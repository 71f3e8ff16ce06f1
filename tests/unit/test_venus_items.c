/* Tests of venus_items.h: the Venus OS D-Bus battery items built from a
 * typed status of a bridge driven by a fake TinyBMS (fake_bms.h), or from
 * a status filled by hand for the alarm mapping. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "bridge_config.h"
#include "config.h"
#include "fake_bms.h"
#include "fixture_status.h"
#include "venus_items.h"

static uint16_t regs[FAKE_BMS_REGS];
static uint16_t pack_regs[2][FAKE_BMS_REGS];
static brg_t b;
static venus_item_t items[VENUS_ITEMS_MAX];
static const status_cell_t one_cell[1] = {{1, 3300.0, false, false}};

static void start(uint64_t *now, size_t packs)
{
    cfg_t cfg;
    cfg_defaults(&cfg);
    cfg.packs.count = (uint8_t)(packs > 1u ? packs : 0u);
    brg_config_t bc;
    bridge_config_from_cfg(&cfg, &bc);
    *now = 1000u;
    assert_int_equal(brg_init(&b, &bc, *now), TBMS_OK);
}

/* A bridge that has read a healthy pack of `cells` cells for 3 s at 53.1 V. */
static void start_valid(uint64_t *now, uint16_t cells)
{
    start(now, 1u);
    fake_bms_pack(regs, cells);
    fake_bms_f32(regs, 36, 53.1f);
    fake_bms_run(&b, regs, true, now, *now + 3000000u);
}

static status_t status_of(uint64_t now, bool uart_open, uint64_t uptime_ms)
{
    status_input_t in = {
        .bridge = &b,
        .now_us = now,
        .uptime_ms = uptime_ms,
        .time_ms = 1700000000123u,
        .uart_open = uart_open,
        .uart_device = "/dev/ttyUSB0",
        .pack_uart_open = {true, true},
        .pack_uart_device = {"/dev/ttyUSB0", "/dev/ttyUSB1"},
        .can = {.bus_state = "active", .interface = "log:-"},
        .version = "0.1.0",
        .cvl_state = brg_cvl_state_name(&b),
    };
    if (b.n_packs == 1u) {
        in.pack_uart_device[0] = NULL;
    }
    status_t st;
    assert_true(status_build(&in, 1, &st));
    return st;
}

static venus_config_t config(void)
{
    venus_config_t vc;
    memset(&vc, 0, sizeof vc);
    vc.device_instance = 512;
    vc.product_id = 0xBA7B;
    (void)snprintf(vc.custom_name, sizeof vc.custom_name, "%s", "House bank");
    (void)snprintf(vc.process_name, sizeof vc.process_name, "%s", "tinybms-bridge");
    (void)snprintf(vc.process_version, sizeof vc.process_version, "%s", "0.1.0");
    (void)snprintf(vc.connection, sizeof vc.connection, "%s", "TinyBMS on /dev/ttyUSB0");
    return vc;
}

static size_t build(const status_t *st, const venus_config_t *vc)
{
    memset(items, 0, sizeof items);
    return venus_items_build(st, vc, items, VENUS_ITEMS_MAX);
}

static const venus_item_t *item(size_t n, const char *path)
{
    const venus_item_t *it = venus_items_find(items, n, path);
    if (it == NULL) {
        fail_msg("%s: no such item", path);
    }
    return it;
}

static bool near(double a, double b_, double tol)
{
    return a > b_ - tol && a < b_ + tol;
}

static void assert_double(size_t n, const char *path, double v, const char *text)
{
    const venus_item_t *it = item(n, path);
    if (it->type != VENUS_DOUBLE || !near(it->d, v, 1e-6)) {
        fail_msg("%s: type %d value %.6f, expected a double %.6f", path, (int)it->type, it->d, v);
    }
    if (text != NULL && strcmp(it->text, text) != 0) {
        fail_msg("%s: text \"%s\", expected \"%s\"", path, it->text, text);
    }
}

static void assert_int(size_t n, const char *path, int32_t v)
{
    const venus_item_t *it = item(n, path);
    if (it->type != VENUS_INT || it->i != v) {
        fail_msg("%s: type %d value %d, expected an int %d", path, (int)it->type, (int)it->i,
                 (int)v);
    }
}

static void assert_string(size_t n, const char *path, const char *s)
{
    const venus_item_t *it = item(n, path);
    if (it->type != VENUS_STRING || strcmp(it->s, s) != 0 || strcmp(it->text, s) != 0) {
        fail_msg("%s: type %d \"%s\", expected the string \"%s\"", path, (int)it->type, it->s, s);
    }
}

static void assert_invalid(size_t n, const char *path)
{
    const venus_item_t *it = item(n, path);
    if (it->type != VENUS_INVALID || strcmp(it->text, "---") != 0) {
        fail_msg("%s: type %d text \"%s\", expected invalid \"---\"", path, (int)it->type,
                 it->text);
    }
}

/* Every path but the cells (venus-dbus.md "Paths"), with its type while
 * the data is valid: d, i, s. */
static const struct {
    const char *path;
    venus_type_t type;
} fixed_paths[] = {
    {"/Mgmt/ProcessName", VENUS_STRING},
    {"/Mgmt/ProcessVersion", VENUS_STRING},
    {"/Mgmt/Connection", VENUS_STRING},
    {"/DeviceInstance", VENUS_INT},
    {"/ProductId", VENUS_INT},
    {"/ProductName", VENUS_STRING},
    {"/FirmwareVersion", VENUS_STRING},
    {"/HardwareVersion", VENUS_STRING},
    {"/Connected", VENUS_INT},
    {"/Serial", VENUS_STRING},
    {"/CustomName", VENUS_STRING},
    {"/Dc/0/Voltage", VENUS_DOUBLE},
    {"/Dc/0/Current", VENUS_DOUBLE},
    {"/Dc/0/Power", VENUS_DOUBLE},
    {"/Dc/0/Temperature", VENUS_DOUBLE},
    {"/Soc", VENUS_DOUBLE},
    {"/Soh", VENUS_DOUBLE},
    {"/InstalledCapacity", VENUS_DOUBLE},
    {"/Capacity", VENUS_DOUBLE},
    {"/ConsumedAmphours", VENUS_DOUBLE},
    {"/TimeToGo", VENUS_DOUBLE},
    {"/Info/MaxChargeVoltage", VENUS_DOUBLE},
    {"/Info/MaxChargeCurrent", VENUS_DOUBLE},
    {"/Info/MaxDischargeCurrent", VENUS_DOUBLE},
    {"/Info/BatteryLowVoltage", VENUS_DOUBLE},
    {"/System/NrOfCellsPerBattery", VENUS_INT},
    {"/System/MinCellVoltage", VENUS_DOUBLE},
    {"/System/MaxCellVoltage", VENUS_DOUBLE},
    {"/System/MinVoltageCellId", VENUS_STRING},
    {"/System/MaxVoltageCellId", VENUS_STRING},
    {"/System/MinCellTemperature", VENUS_DOUBLE},
    {"/System/MaxCellTemperature", VENUS_DOUBLE},
    {"/System/NrOfModulesOnline", VENUS_INT},
    {"/System/NrOfModulesOffline", VENUS_INT},
    {"/System/NrOfModulesBlockingCharge", VENUS_INT},
    {"/System/NrOfModulesBlockingDischarge", VENUS_INT},
    {"/Io/AllowToCharge", VENUS_INT},
    {"/Io/AllowToDischarge", VENUS_INT},
    {"/Io/AllowToBalance", VENUS_INT},
    {"/Alarms/LowVoltage", VENUS_INT},
    {"/Alarms/HighVoltage", VENUS_INT},
    {"/Alarms/LowCellVoltage", VENUS_INVALID},
    {"/Alarms/HighCellVoltage", VENUS_INVALID},
    {"/Alarms/LowSoc", VENUS_INVALID},
    {"/Alarms/HighChargeCurrent", VENUS_INT},
    {"/Alarms/HighDischargeCurrent", VENUS_INT},
    {"/Alarms/CellImbalance", VENUS_INT},
    {"/Alarms/InternalFailure", VENUS_INT},
    {"/Alarms/HighChargeTemperature", VENUS_INVALID}, /* not judged by the core */
    {"/Alarms/LowChargeTemperature", VENUS_INT},
    {"/Alarms/HighTemperature", VENUS_INT},
    {"/Alarms/LowTemperature", VENUS_INVALID}, /* not judged by the core */
    {"/Alarms/BmsCable", VENUS_INT},
    {"/Voltages/Sum", VENUS_DOUBLE},
    {"/Voltages/Diff", VENUS_DOUBLE},
    {"/Balancing", VENUS_INT},
};

/* Measurements and limits: invalid while the data is not valid. */
static const char *const measured[] = {
    "/Dc/0/Voltage",
    "/Dc/0/Current",
    "/Dc/0/Power",
    "/Dc/0/Temperature",
    "/Soc",
    "/Soh",
    "/Capacity",
    "/ConsumedAmphours",
    "/TimeToGo",
    "/Info/MaxChargeVoltage",
    "/Info/MaxChargeCurrent",
    "/Info/MaxDischargeCurrent",
    "/Info/BatteryLowVoltage",
    "/System/MinCellVoltage",
    "/System/MaxCellVoltage",
    "/System/MinVoltageCellId",
    "/System/MaxVoltageCellId",
    "/System/MinCellTemperature",
    "/System/MaxCellTemperature",
    "/System/NrOfModulesBlockingCharge",
    "/System/NrOfModulesBlockingDischarge",
    "/Io/AllowToCharge",
    "/Io/AllowToDischarge",
    "/Io/AllowToBalance",
    "/Alarms/LowVoltage",
    "/Alarms/HighVoltage",
    "/Alarms/HighChargeCurrent",
    "/Alarms/HighDischargeCurrent",
    "/Alarms/CellImbalance",
    "/Alarms/InternalFailure",
    "/Alarms/LowChargeTemperature",
    "/Alarms/HighTemperature",
    "/Voltages/Sum",
    "/Voltages/Diff",
    "/Balancing",
};

static void test_every_path_is_present_once_with_its_type(void **state)
{
    (void)state;
    uint64_t now;
    start(&now, 1u);
    fake_bms_pack(regs, 16);
    fake_bms_f32(regs, 38, -14.0f); /* discharging: /TimeToGo too has a value */
    fake_bms_run(&b, regs, true, &now, now + 3000000u);
    status_t st = status_of(now, true, 3000u);
    venus_config_t vc = config();
    (void)snprintf(vc.serial, sizeof vc.serial, "%s", "0011223344556677");
    size_t n = build(&st, &vc);
    assert_int_equal(sizeof fixed_paths / sizeof fixed_paths[0], VENUS_ITEMS_FIXED);
    assert_int_equal(n, VENUS_ITEMS_FIXED + 16u);
    for (size_t i = 0; i < sizeof fixed_paths / sizeof fixed_paths[0]; i++) {
        const venus_item_t *it = item(n, fixed_paths[i].path);
        if (it->type != fixed_paths[i].type) {
            fail_msg("%s: type %d, expected %d", it->path, (int)it->type, (int)fixed_paths[i].type);
        }
    }
    for (size_t i = 0; i < n; i++) {
        assert_true(items[i].path[0] == '/');
        assert_true(items[i].text[0] != '\0');
        /* each path once */
        assert_ptr_equal(venus_items_find(items, n, items[i].path), &items[i]);
        /* only /CustomName is writeable */
        assert_int_equal(items[i].writeable, strcmp(items[i].path, "/CustomName") == 0);
    }
    /* the identity comes first */
    assert_string_equal(items[0].path, "/Mgmt/ProcessName");
}

static void test_values_and_units_of_a_known_pack(void **state)
{
    (void)state;
    uint64_t now;
    start_valid(&now, 16);
    status_t st = status_of(now, true, 3000u);
    venus_config_t vc = config();
    size_t n = build(&st, &vc);

    assert_string(n, "/Mgmt/ProcessName", "tinybms-bridge");
    assert_string(n, "/Mgmt/ProcessVersion", "0.1.0");
    assert_string(n, "/Mgmt/Connection", "TinyBMS on /dev/ttyUSB0");
    assert_int(n, "/DeviceInstance", 512);
    assert_int(n, "/ProductId", 0xBA7B);
    assert_string_equal(item(n, "/ProductId")->text, "0xBA7B");
    assert_string(n, "/ProductName", "TinyBMS");
    assert_string(n, "/HardwareVersion", "2.1");
    assert_string(n, "/FirmwareVersion", "1 (internal 242)");
    assert_int(n, "/Connected", 1);
    assert_invalid(n, "/Serial"); /* none given */
    assert_string(n, "/CustomName", "House bank");

    assert_double(n, "/Dc/0/Voltage", st.voltage.v, "53.10V");
    assert_true(near(st.voltage.v, 53.1, 1e-3));
    assert_double(n, "/Dc/0/Current", 10.5, "10.50A");
    assert_double(n, "/Dc/0/Power", st.power_w.v, "558W");
    assert_double(n, "/Dc/0/Temperature", 25.0, "25.0°C");
    assert_double(n, "/Soc", 55.5, "55.5%");
    assert_double(n, "/Soh", 100.0, "100.0%");
    assert_double(n, "/InstalledCapacity", 280.0, "280.0Ah");
    assert_double(n, "/Capacity", 155.4, "155.4Ah");
    assert_double(n, "/ConsumedAmphours", -124.6, "-124.6Ah");
    assert_invalid(n, "/TimeToGo"); /* charging */

    assert_true(st.limits.cvl_v.known && st.limits.ccl_a.v > 0.0 && st.limits.dcl_a.v > 0.0);
    assert_double(n, "/Info/MaxChargeVoltage", st.limits.cvl_v.v, NULL);
    assert_double(n, "/Info/MaxChargeCurrent", st.limits.ccl_a.v, NULL);
    assert_double(n, "/Info/MaxDischargeCurrent", st.limits.dcl_a.v, NULL);
    assert_double(n, "/Info/BatteryLowVoltage", st.limits.dvl_v.v, NULL);
    char text[32];
    (void)snprintf(text, sizeof text, "%.2fV", st.limits.cvl_v.v);
    assert_string_equal(item(n, "/Info/MaxChargeVoltage")->text, text);

    assert_int(n, "/System/NrOfCellsPerBattery", 16);
    assert_double(n, "/System/MinCellVoltage", 3.3, "3.300V");
    assert_double(n, "/System/MaxCellVoltage", 3.315, "3.315V");
    assert_string(n, "/System/MinVoltageCellId", "C1");
    assert_string(n, "/System/MaxVoltageCellId", "C16");
    assert_double(n, "/System/MinCellTemperature", 25.0, NULL);
    assert_double(n, "/System/MaxCellTemperature", 25.0, NULL);
    assert_int(n, "/System/NrOfModulesOnline", 1);
    assert_int(n, "/System/NrOfModulesOffline", 0);
    assert_int(n, "/System/NrOfModulesBlockingCharge", 0);
    assert_int(n, "/System/NrOfModulesBlockingDischarge", 0);
    assert_int(n, "/Io/AllowToCharge", 1);
    assert_int(n, "/Io/AllowToDischarge", 1);
    assert_int(n, "/Io/AllowToBalance", 1);
    assert_int(n, "/Alarms/BmsCable", 0);
    assert_int(n, "/Alarms/HighVoltage", 0);
    assert_string_equal(item(n, "/Alarms/HighVoltage")->text, "OK");

    assert_double(n, "/Voltages/Cell1", 3.3, "3.300V");
    assert_double(n, "/Voltages/Cell16", 3.315, "3.315V");
    assert_double(n, "/Voltages/Sum", 52.92, "52.92V");
    assert_double(n, "/Voltages/Diff", 0.015, "0.015V");
    assert_int(n, "/Balancing", 0);
}

static void test_cell_paths_follow_the_cell_count(void **state)
{
    (void)state;
    uint64_t now;
    start_valid(&now, 16);
    status_t st = status_of(now, true, 3000u);
    venus_config_t vc = config();
    size_t n = build(&st, &vc);
    for (unsigned c = 1; c <= 16u; c++) {
        char path[VENUS_PATH_MAX];
        (void)snprintf(path, sizeof path, "/Voltages/Cell%u", c);
        assert_double(n, path, st.cells[c - 1u].mv / 1000.0, NULL);
    }
    assert_null(venus_items_find(items, n, "/Voltages/Cell17"));
    assert_null(venus_items_find(items, n, "/Voltages/Cell0"));

    start_valid(&now, 4);
    st = status_of(now, true, 3000u);
    n = build(&st, &vc);
    assert_int_equal(n, VENUS_ITEMS_FIXED + 4u);
    assert_double(n, "/Voltages/Cell4", 3.303, "3.303V");
    assert_null(venus_items_find(items, n, "/Voltages/Cell5"));
    assert_int(n, "/System/NrOfCellsPerBattery", 4);
    assert_string(n, "/System/MaxVoltageCellId", "C4");
}

static void test_discharging_gives_the_time_to_go_at_the_present_current(void **state)
{
    (void)state;
    uint64_t now;
    start(&now, 1u);
    fake_bms_pack(regs, 16);
    fake_bms_f32(regs, 38, -14.0f);
    fake_bms_run(&b, regs, true, &now, now + 3000000u);
    status_t st = status_of(now, true, 3000u);
    venus_config_t vc = config();
    size_t n = build(&st, &vc);
    /* 155.4 Ah left at 14 A: 11.1 h */
    assert_double(n, "/Dc/0/Current", -14.0, "-14.00A");
    assert_double(n, "/TimeToGo", 39960.0, "11h 06m");
}

static void test_a_balancing_cell_and_the_cells_extremes_are_named(void **state)
{
    (void)state;
    uint64_t now;
    start(&now, 1u);
    fake_bms_pack(regs, 16);
    regs[12] = 32000; /* cell 13 lowest (16 cells: register i is cell i + 1) */
    regs[5] = 34000;  /* cell 6 highest */
    regs[40] = 3200;
    regs[41] = 3400;
    regs[52] = 1u << 5; /* real balancing bits (tinybms-uart.md 5.1): cell 6 balances */
    fake_bms_run(&b, regs, true, &now, now + 3000000u);
    status_t st = status_of(now, true, 3000u);
    venus_config_t vc = config();
    size_t n = build(&st, &vc);
    assert_string(n, "/System/MinVoltageCellId", "C13");
    assert_string(n, "/System/MaxVoltageCellId", "C6");
    assert_double(n, "/Voltages/Diff", 0.2, "0.200V");
    assert_true(st.cells[5].balancing);
    assert_int(n, "/Balancing", 1);
}

static void test_stale_status_invalidates_measurements_and_limits_but_keeps_identity(void **state)
{
    (void)state;
    uint64_t now;
    start_valid(&now, 16);
    fake_bms_run(&b, regs, false, &now, now + 8000000u); /* past the 5 s stale limit */
    status_t st = status_of(now, true, 11000u);
    assert_false(st.data_valid);
    assert_string_equal(st.data_state, "stale");
    assert_true(st.voltage.known);      /* the status keeps the last reading ... */
    assert_true(st.limits.cvl_v.known); /* ... and the last limits */
    venus_config_t vc = config();
    size_t n = build(&st, &vc);
    assert_int_equal(n, VENUS_ITEMS_FIXED + 16u); /* the same paths */
    assert_int(n, "/Connected", 0);
    for (size_t i = 0; i < sizeof measured / sizeof measured[0]; i++) {
        assert_invalid(n, measured[i]);
    }
    for (unsigned c = 1; c <= 16u; c++) {
        char path[VENUS_PATH_MAX];
        (void)snprintf(path, sizeof path, "/Voltages/Cell%u", c);
        assert_invalid(n, path);
    }
    for (size_t i = 0; i < n; i++) {
        if (strncmp(items[i].path, "/Info/", 6) == 0) {
            assert_int_equal(items[i].type, VENUS_INVALID);
        }
    }
    /* kept: identity, what the settings say, what is known of the modules */
    assert_string(n, "/ProductName", "TinyBMS");
    assert_int(n, "/DeviceInstance", 512);
    assert_int(n, "/ProductId", 0xBA7B);
    assert_string(n, "/Mgmt/Connection", "TinyBMS on /dev/ttyUSB0");
    assert_string(n, "/HardwareVersion", "2.1");
    assert_string(n, "/CustomName", "House bank");
    assert_double(n, "/InstalledCapacity", 280.0, NULL);
    assert_int(n, "/System/NrOfCellsPerBattery", 16);
    assert_int(n, "/System/NrOfModulesOnline", 0);
    assert_int(n, "/System/NrOfModulesOffline", 1);
    assert_int(n, "/Alarms/BmsCable", 2);
    assert_string_equal(item(n, "/Alarms/BmsCable")->text, "Alarm");

    /* The data returns: so do the values. */
    fake_bms_run(&b, regs, true, &now, now + 2000000u);
    st = status_of(now, true, 13000u);
    assert_true(st.data_valid);
    n = build(&st, &vc);
    assert_int(n, "/Connected", 1);
    assert_double(n, "/Info/MaxChargeVoltage", st.limits.cvl_v.v, NULL);
    assert_int(n, "/Alarms/BmsCable", 0);
}

static void test_waiting_for_a_first_read_raises_bms_cable_after_the_grace(void **state)
{
    (void)state;
    uint64_t now;
    start(&now, 1u);
    venus_config_t vc = config();
    status_t st = status_of(now + 1000u, true, 1000u);
    assert_string_equal(st.data_state, "waiting");
    size_t n = build(&st, &vc);
    assert_int_equal(n, VENUS_ITEMS_FIXED); /* no cells yet */
    assert_int(n, "/Connected", 0);
    assert_invalid(n, "/Dc/0/Voltage");
    assert_invalid(n, "/FirmwareVersion");
    assert_invalid(n, "/InstalledCapacity");
    assert_invalid(n, "/System/NrOfCellsPerBattery");
    assert_string(n, "/ProductName", "TinyBMS");
    assert_int(n, "/Alarms/BmsCable", 0);

    st = status_of(now + 1000u, true, VENUS_BMS_CABLE_GRACE_MS);
    n = build(&st, &vc);
    assert_int(n, "/Alarms/BmsCable", 2);

    st = status_of(now + 1000u, false, 1000u); /* the serial port did not open */
    n = build(&st, &vc);
    assert_int(n, "/Alarms/BmsCable", 2);
}

static void test_two_packs_are_one_battery_with_module_counts(void **state)
{
    (void)state;
    uint64_t now;
    start(&now, 2u);
    assert_int_equal(b.n_packs, 2);
    for (size_t i = 0; i < 2; i++) {
        fake_bms_pack(pack_regs[i], 4);
    }
    fake_bms_f32(pack_regs[1], 38, 6.0f);
    for (size_t c = 12; c < 16; c++) {
        pack_regs[1][c] = (uint16_t)(pack_regs[1][c] + 200u); /* pack 2: 3320..3323 mV */
    }
    pack_regs[1][40] = 3320;
    pack_regs[1][41] = 3323;
    const uint16_t *const images[2] = {pack_regs[0], pack_regs[1]};
    fake_bms_run_packs(&b, images, NULL, 2, &now, now + 3000000u);
    status_t st = status_of(now, true, 3000u);
    assert_true(st.data_valid);
    venus_config_t vc = config();
    size_t n = build(&st, &vc);
    assert_int_equal(n, VENUS_ITEMS_FIXED); /* no /Voltages/Cell<n> for a bank */
    assert_null(venus_items_find(items, n, "/Voltages/Cell1"));
    assert_string(n, "/ProductName", "TinyBMS bank");
    assert_int(n, "/System/NrOfModulesOnline", 2);
    assert_int(n, "/System/NrOfModulesOffline", 0);
    assert_int(n, "/System/NrOfModulesBlockingCharge", 0);
    assert_int(n, "/System/NrOfCellsPerBattery", 4);
    assert_string(n, "/System/MinVoltageCellId", "P1C1");
    assert_string(n, "/System/MaxVoltageCellId", "P2C4");
    assert_double(n, "/System/MinCellVoltage", 3.3, NULL);
    assert_double(n, "/System/MaxCellVoltage", 3.323, NULL);
    assert_double(n, "/Voltages/Diff", 0.023, "0.023V");
    assert_invalid(n, "/Voltages/Sum");
    assert_double(n, "/Dc/0/Current", 16.5, NULL); /* the bank's: 10.5 + 6 A */
    assert_double(n, "/InstalledCapacity", 560.0, "560.0Ah");
    assert_double(n, "/Info/MaxChargeCurrent", st.limits.ccl_a.v, NULL);
    assert_int(n, "/Alarms/BmsCable", 0);

    /* Pack 2 goes silent: past its stale limit the bank carries on with
     * pack 1; the cable of pack 2 is a warning, its cells leave the ids. */
    const bool alive[2] = {true, false};
    fake_bms_run_packs(&b, images, alive, 2, &now, now + 6000000u);
    st = status_of(now, true, 9000u);
    assert_true(st.data_valid);
    assert_false(st.packs[1].data_valid);
    n = build(&st, &vc);
    assert_int(n, "/Connected", 1);
    assert_int(n, "/Alarms/BmsCable", 1);
    assert_string(n, "/System/MaxVoltageCellId", "P1C4");
    assert_int(n, "/System/NrOfModulesOnline", st.bank.online);
    assert_int(n, "/System/NrOfModulesOffline", st.bank.offline);
    assert_int_equal(st.bank.online + st.bank.offline, 2);
}

/* The alarm mapping on a status filled by hand: each Venus alarm shows
 * its condition's level, a condition not judged is invalid. */
static void test_alarms_map_our_conditions_to_venus_paths(void **state)
{
    (void)state;
    static const struct {
        const char *cond;
        const char *path;
    } map[] = {
        {"high_voltage", "/Alarms/HighVoltage"},
        {"low_voltage", "/Alarms/LowVoltage"},
        {"high_temperature", "/Alarms/HighTemperature"},
        {"low_temperature", "/Alarms/LowTemperature"},
        {"high_temperature_charge", "/Alarms/HighChargeTemperature"},
        {"low_temperature_charge", "/Alarms/LowChargeTemperature"},
        {"high_discharge_current", "/Alarms/HighDischargeCurrent"},
        {"high_charge_current", "/Alarms/HighChargeCurrent"},
        {"bms_internal", "/Alarms/InternalFailure"},
        {"cell_imbalance", "/Alarms/CellImbalance"},
    };
    static const char *const texts[] = {"OK", "Warning", "Alarm"};
    for (unsigned lv = 0; lv < 3u; lv++) {
        status_t st;
        fixture_status(&st, one_cell, 1);
        st.uart.open = true;
        st.alarms.count = 0;
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
            /* each condition at its own level, shifted by lv */
            st.alarms.cond[st.alarms.count++] =
                (status_cond_t){map[i].cond, (status_level_t)((i + lv) % 3u)};
        }
        venus_config_t vc = config();
        size_t n = build(&st, &vc);
        assert_int_equal(n, VENUS_ITEMS_FIXED + 1u);
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
            unsigned want = (unsigned)((i + lv) % 3u);
            assert_int(n, map[i].path, (int32_t)want);
            assert_string_equal(item(n, map[i].path)->text, texts[want]);
        }
        assert_invalid(n, "/Alarms/HighCellVoltage");
        assert_invalid(n, "/Alarms/LowCellVoltage");
        assert_invalid(n, "/Alarms/LowSoc");
        assert_int(n, "/Alarms/BmsCable", 0);
    }
    /* No condition judged: every mapped alarm invalid. */
    status_t st;
    fixture_status(&st, one_cell, 1);
    st.alarms.count = 0;
    venus_config_t vc = config();
    size_t n = build(&st, &vc);
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        assert_invalid(n, map[i].path);
    }
}

static void test_strings_from_the_configuration(void **state)
{
    (void)state;
    status_t st;
    fixture_status(&st, one_cell, 1);
    venus_config_t vc = config();
    (void)snprintf(vc.serial, sizeof vc.serial, "%s", "A1B2C3");
    vc.custom_name[0] = '\0';
    memset(vc.connection, 'x', sizeof vc.connection); /* no NUL: cut to 63 */
    size_t n = build(&st, &vc);
    assert_string(n, "/Serial", "A1B2C3");
    assert_string(n, "/CustomName", ""); /* a valid empty name, still writeable */
    assert_true(item(n, "/CustomName")->writeable);
    assert_int_equal(strlen(item(n, "/Mgmt/Connection")->s), VENUS_TEXT_MAX - 1u);
}

static void test_cap_too_small_or_null_writes_nothing(void **state)
{
    (void)state;
    uint64_t now;
    start_valid(&now, 16);
    status_t st = status_of(now, true, 3000u);
    venus_config_t vc = config();
    size_t need = VENUS_ITEMS_FIXED + 16u;
    memset(items, 0x5A, sizeof items);
    assert_int_equal(venus_items_build(&st, &vc, items, need - 1u), 0u);
    for (size_t i = 0; i < sizeof items; i++) {
        assert_int_equal(((const unsigned char *)items)[i], 0x5A);
    }
    assert_int_equal(venus_items_build(&st, &vc, items, 0u), 0u);
    assert_int_equal(venus_items_build(NULL, &vc, items, VENUS_ITEMS_MAX), 0u);
    assert_int_equal(venus_items_build(&st, NULL, items, VENUS_ITEMS_MAX), 0u);
    assert_int_equal(venus_items_build(&st, &vc, NULL, VENUS_ITEMS_MAX), 0u);
    assert_int_equal(((const unsigned char *)items)[0], 0x5A);
    /* exactly enough */
    assert_int_equal(venus_items_build(&st, &vc, items, need), need);
    assert_null(venus_items_find(items, need, "/Nope"));
    assert_null(venus_items_find(NULL, need, "/Soc"));
    assert_null(venus_items_find(items, need, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_path_is_present_once_with_its_type),
        cmocka_unit_test(test_values_and_units_of_a_known_pack),
        cmocka_unit_test(test_cell_paths_follow_the_cell_count),
        cmocka_unit_test(test_discharging_gives_the_time_to_go_at_the_present_current),
        cmocka_unit_test(test_a_balancing_cell_and_the_cells_extremes_are_named),
        cmocka_unit_test(test_stale_status_invalidates_measurements_and_limits_but_keeps_identity),
        cmocka_unit_test(test_waiting_for_a_first_read_raises_bms_cable_after_the_grace),
        cmocka_unit_test(test_two_packs_are_one_battery_with_module_counts),
        cmocka_unit_test(test_alarms_map_our_conditions_to_venus_paths),
        cmocka_unit_test(test_strings_from_the_configuration),
        cmocka_unit_test(test_cap_too_small_or_null_writes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
