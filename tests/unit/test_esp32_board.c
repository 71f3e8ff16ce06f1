/* The ESP32 firmware's hardware settings (app/esp32_board.h, app/esp32_keys.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "config.h"
#include "esp32_board.h"
#include "esp32_keys.h"

static void set_pin(cfg_t *c, esp32_key_t k, int32_t pin)
{
    switch (k) {
    case ESP32_KEY_UART_RX_PIN:
        c->esp32.uart_rx_pin = pin;
        break;
    case ESP32_KEY_UART_TX_PIN:
        c->esp32.uart_tx_pin = pin;
        break;
    case ESP32_KEY_CAN_TX_PIN:
        c->esp32.can_tx_pin = pin;
        break;
    case ESP32_KEY_CAN_RX_PIN:
        c->esp32.can_rx_pin = pin;
        break;
    default:
        fail_msg("not a pin key");
        break;
    }
    c->esp32.present |= (uint32_t)1u << (unsigned)k;
}

/* Resolves cfg with one pin set and expects the error code and message. */
static void expect_pin_error(board_target_t t, esp32_key_t k, int32_t pin, board_err_t code,
                             const char *message)
{
    cfg_t c;
    cfg_defaults(&c);
    set_pin(&c, k, pin);
    board_hw_t hw;
    memset(&hw, 0x5a, sizeof hw);
    board_hw_t before = hw;
    board_notes_t notes;
    memset(&notes, 0x5a, sizeof notes);
    board_notes_t notes_before = notes;
    board_error_t err;
    assert_int_equal(board_resolve(&c, t, &hw, &notes, &err), code);
    assert_int_equal(err.code, code);
    if (message != NULL) {
        assert_string_equal(err.message, message);
    }
    assert_memory_equal(&hw, &before, sizeof hw);
    assert_memory_equal(&notes, &notes_before, sizeof notes);
}

static void expect_pin_ok(board_target_t t, esp32_key_t k, int32_t pin)
{
    cfg_t c;
    cfg_defaults(&c);
    set_pin(&c, k, pin);
    board_hw_t hw;
    board_error_t err;
    board_err_t e = board_resolve(&c, t, &hw, NULL, &err);
    if (e != BOARD_OK) {
        fail_msg("%s GPIO %d: %s", board_target_name(t), (int)pin, err.message);
    }
}

static void test_board_present_bits_follow_the_config_table(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        esp32_key_t key;
    } cases[] = {
        {"{\"wifi\":{\"mode\":\"sta\"}}", ESP32_KEY_WIFI_MODE},
        {"{\"wifi\":{\"sta_ssid\":\"home\"}}", ESP32_KEY_WIFI_STA_SSID},
        {"{\"wifi\":{\"sta_password\":\"12345678\"}}", ESP32_KEY_WIFI_STA_PASSWORD},
        {"{\"wifi\":{\"sta_hostname\":\"bms\"}}", ESP32_KEY_WIFI_STA_HOSTNAME},
        {"{\"wifi\":{\"sta_ip_mode\":\"dhcp\"}}", ESP32_KEY_WIFI_STA_IP_MODE},
        {"{\"wifi\":{\"sta_static_ip\":\"192.168.1.9\"}}", ESP32_KEY_WIFI_STA_STATIC_IP},
        {"{\"wifi\":{\"sta_gateway\":\"192.168.1.1\"}}", ESP32_KEY_WIFI_STA_GATEWAY},
        {"{\"wifi\":{\"sta_subnet\":\"255.255.255.0\"}}", ESP32_KEY_WIFI_STA_SUBNET},
        {"{\"wifi\":{\"ap_fallback\":{\"enabled\":true}}}", ESP32_KEY_WIFI_AP_ENABLED},
        {"{\"wifi\":{\"ap_fallback\":{\"ssid\":\"x\"}}}", ESP32_KEY_WIFI_AP_SSID},
        {"{\"wifi\":{\"ap_fallback\":{\"password\":\"abcdefgh\"}}}", ESP32_KEY_WIFI_AP_PASSWORD},
        {"{\"wifi\":{\"ap_fallback\":{\"channel\":6}}}", ESP32_KEY_WIFI_AP_CHANNEL},
        {"{\"hardware\":{\"uart\":{\"rx_pin\":16}}}", ESP32_KEY_UART_RX_PIN},
        {"{\"hardware\":{\"uart\":{\"tx_pin\":17}}}", ESP32_KEY_UART_TX_PIN},
        {"{\"hardware\":{\"can\":{\"tx_pin\":4}}}", ESP32_KEY_CAN_TX_PIN},
        {"{\"hardware\":{\"can\":{\"rx_pin\":5}}}", ESP32_KEY_CAN_RX_PIN},
        {"{\"hardware\":{\"can\":{\"termination\":true}}}", ESP32_KEY_CAN_TERMINATION},
        {"{\"logging\":{\"serial_baudrate\":115200}}", ESP32_KEY_SERIAL_BAUDRATE},
        {"{\"advanced\":{\"enable_spiffs\":true}}", ESP32_KEY_ENABLE_SPIFFS},
        {"{\"advanced\":{\"enable_ota\":true}}", ESP32_KEY_ENABLE_OTA},
        {"{\"advanced\":{\"stack_size_bytes\":4096}}", ESP32_KEY_STACK_SIZE_BYTES},
    };
    assert_int_equal(sizeof cases / sizeof cases[0], ESP32_KEY_COUNT_);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cfg_t c;
        cfg_error_t err;
        cfg_err_t e = cfg_from_json(cases[i].json, strlen(cases[i].json), &c, &err);
        if (e != CFG_OK) {
            fail_msg("%s: %s", cases[i].json, err.message);
        }
        assert_int_equal(c.esp32.present, (uint32_t)1u << (unsigned)cases[i].key);
        assert_true(esp32_key_present(&c, cases[i].key));
    }
    cfg_t d;
    cfg_defaults(&d);
    d.esp32.present = ~(uint32_t)0;
    assert_false(esp32_key_present(&d, ESP32_KEY_COUNT_));
    assert_false(esp32_key_present(NULL, ESP32_KEY_WIFI_MODE));
}

static void test_board_defaults_per_target(void **state)
{
    (void)state;
    static const struct {
        board_target_t t;
        int uart, rx, tx, ctx, crx;
    } want[] = {
        {BOARD_ESP32, 2, 16, 17, 4, 5},
        {BOARD_ESP32S3, 2, 16, 17, 4, 5},
        {BOARD_ESP32C3, 1, 6, 7, 4, 5},
        {BOARD_ESP32C6, 1, 6, 7, 4, 5},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        cfg_t c;
        cfg_defaults(&c);
        board_hw_t hw;
        board_notes_t notes;
        board_error_t err;
        assert_int_equal(board_resolve(&c, want[i].t, &hw, &notes, &err), BOARD_OK);
        assert_int_equal(hw.target, want[i].t);
        assert_int_equal(hw.uart_num, want[i].uart);
        assert_int_equal(hw.uart_rx_pin, want[i].rx);
        assert_int_equal(hw.uart_tx_pin, want[i].tx);
        assert_int_equal(hw.can_tx_pin, want[i].ctx);
        assert_int_equal(hw.can_rx_pin, want[i].crx);
        assert_int_equal(hw.uart_baud, 115200);
        assert_int_equal(hw.can_bitrate, 500000);
        assert_int_equal(hw.uart_timeout_ms, c.hardware.uart.timeout_ms);
        assert_int_equal(hw.uart_retries, c.hardware.uart.retries);
        assert_false(hw.can_loopback);
        assert_false(hw.can_termination);
        assert_int_equal(hw.console_baud, 115200);
        /* The defaults are chosen to need no note. */
        assert_int_equal(notes.count, 0);

        board_hw_t d;
        assert_int_equal(board_defaults(want[i].t, &d), BOARD_OK);
        assert_memory_equal(&d, &hw, sizeof d);
    }
    board_hw_t d;
    assert_int_equal(board_defaults(BOARD_TARGET_COUNT_, &d), BOARD_ERR_ARG);
    assert_int_equal(board_defaults(BOARD_ESP32, NULL), BOARD_ERR_ARG);
}

static void test_board_configured_pins_and_options_win(void **state)
{
    (void)state;
    const char *json = "{\"hardware\":{\"uart\":{\"rx_pin\":25,\"tx_pin\":26},"
                       "\"can\":{\"tx_pin\":21,\"rx_pin\":22,\"termination\":true,"
                       "\"mode\":\"loopback\"}},\"logging\":{\"serial_baudrate\":921600}}";
    cfg_t c;
    cfg_error_t cerr;
    assert_int_equal(cfg_from_json(json, strlen(json), &c, &cerr), CFG_OK);
    board_hw_t hw;
    board_error_t err;
    assert_int_equal(board_resolve(&c, BOARD_ESP32, &hw, NULL, &err), BOARD_OK);
    assert_int_equal(hw.uart_rx_pin, 25);
    assert_int_equal(hw.uart_tx_pin, 26);
    assert_int_equal(hw.can_tx_pin, 21);
    assert_int_equal(hw.can_rx_pin, 22);
    assert_true(hw.can_loopback);
    assert_true(hw.can_termination);
    assert_int_equal(hw.console_baud, 921600);
    /* A key's value counts only with its bit: a stray value is ignored. */
    cfg_defaults(&c);
    c.esp32.uart_rx_pin = 34;
    c.esp32.can_termination = true;
    assert_int_equal(board_resolve(&c, BOARD_ESP32, &hw, NULL, &err), BOARD_OK);
    assert_int_equal(hw.uart_rx_pin, 16);
    assert_false(hw.can_termination);
}

static void test_board_input_only_pin_refused_as_output(void **state)
{
    (void)state;
    expect_pin_error(BOARD_ESP32, ESP32_KEY_CAN_TX_PIN, 34, BOARD_ERR_INPUT_ONLY,
                     "hardware.can.tx_pin: GPIO 34 is input-only on the ESP32");
    expect_pin_error(BOARD_ESP32, ESP32_KEY_UART_TX_PIN, 39, BOARD_ERR_INPUT_ONLY,
                     "hardware.uart.tx_pin: GPIO 39 is input-only on the ESP32");
    for (int32_t p = 34; p <= 39; p++) {
        expect_pin_ok(BOARD_ESP32, ESP32_KEY_UART_RX_PIN, p);
        expect_pin_ok(BOARD_ESP32, ESP32_KEY_CAN_RX_PIN, p);
    }
    expect_pin_ok(BOARD_ESP32, ESP32_KEY_CAN_TX_PIN, 33);
    /* The S3 has no input-only pins. */
    expect_pin_ok(BOARD_ESP32S3, ESP32_KEY_CAN_TX_PIN, 38);
}

static void test_board_missing_pins_refused(void **state)
{
    (void)state;
    expect_pin_error(BOARD_ESP32, ESP32_KEY_UART_RX_PIN, 24, BOARD_ERR_NO_PIN,
                     "hardware.uart.rx_pin: GPIO 24 does not exist on the ESP32");
    expect_pin_error(BOARD_ESP32, ESP32_KEY_UART_RX_PIN, 28, BOARD_ERR_NO_PIN, NULL);
    expect_pin_error(BOARD_ESP32, ESP32_KEY_UART_RX_PIN, 31, BOARD_ERR_NO_PIN, NULL);
    expect_pin_error(BOARD_ESP32, ESP32_KEY_UART_RX_PIN, 40, BOARD_ERR_NO_PIN, NULL);
    expect_pin_ok(BOARD_ESP32, ESP32_KEY_UART_RX_PIN, 23);
    expect_pin_ok(BOARD_ESP32, ESP32_KEY_UART_RX_PIN, 32);
    expect_pin_error(BOARD_ESP32S3, ESP32_KEY_CAN_RX_PIN, 22, BOARD_ERR_NO_PIN,
                     "hardware.can.rx_pin: GPIO 22 does not exist on the ESP32-S3");
    expect_pin_error(BOARD_ESP32S3, ESP32_KEY_CAN_RX_PIN, 25, BOARD_ERR_NO_PIN, NULL);
    expect_pin_error(BOARD_ESP32S3, ESP32_KEY_CAN_RX_PIN, 49, BOARD_ERR_NO_PIN, NULL);
    expect_pin_ok(BOARD_ESP32S3, ESP32_KEY_CAN_RX_PIN, 21);
    expect_pin_ok(BOARD_ESP32S3, ESP32_KEY_CAN_RX_PIN, 48);
    expect_pin_error(BOARD_ESP32C3, ESP32_KEY_UART_TX_PIN, 22, BOARD_ERR_NO_PIN,
                     "hardware.uart.tx_pin: GPIO 22 does not exist on the ESP32-C3");
    expect_pin_ok(BOARD_ESP32C3, ESP32_KEY_UART_TX_PIN, 21);
    expect_pin_error(BOARD_ESP32C6, ESP32_KEY_CAN_TX_PIN, 31, BOARD_ERR_NO_PIN,
                     "hardware.can.tx_pin: GPIO 31 does not exist on the ESP32-C6");
    expect_pin_ok(BOARD_ESP32C6, ESP32_KEY_CAN_TX_PIN, 23);
    /* Outside config.c's range (not validated): refused, never shifted. */
    expect_pin_error(BOARD_ESP32, ESP32_KEY_CAN_TX_PIN, -1, BOARD_ERR_NO_PIN,
                     "hardware.can.tx_pin: GPIO -1 does not exist on the ESP32");
    expect_pin_error(BOARD_ESP32S3, ESP32_KEY_CAN_TX_PIN, 64, BOARD_ERR_NO_PIN, NULL);
    expect_pin_error(BOARD_ESP32S3, ESP32_KEY_CAN_TX_PIN, INT32_MAX, BOARD_ERR_NO_PIN, NULL);
    expect_pin_error(BOARD_ESP32S3, ESP32_KEY_CAN_TX_PIN, INT32_MIN, BOARD_ERR_NO_PIN, NULL);
}

static void test_board_flash_pins_refused_at_both_ends(void **state)
{
    (void)state;
    static const struct {
        board_target_t t;
        int32_t lo, hi, below, above; /* the free GPIOs next to the range, -1 = none */
    } flash[] = {
        {BOARD_ESP32, 6, 11, 5, 12},
        {BOARD_ESP32S3, 26, 32, 21, 33},
        {BOARD_ESP32C3, 12, 17, 11, 18},
        {BOARD_ESP32C6, 24, 30, 23, -1},
    };
    for (size_t i = 0; i < sizeof flash / sizeof flash[0]; i++) {
        for (int32_t p = flash[i].lo; p <= flash[i].hi; p++) {
            expect_pin_error(flash[i].t, ESP32_KEY_UART_RX_PIN, p, BOARD_ERR_FLASH_PIN, NULL);
        }
        /* On CAN RX, whose default (GPIO5) is then free for the ESP32's 5. */
        expect_pin_ok(flash[i].t, ESP32_KEY_CAN_RX_PIN, flash[i].below);
        if (flash[i].above >= 0) {
            expect_pin_ok(flash[i].t, ESP32_KEY_CAN_RX_PIN, flash[i].above);
        }
    }
    expect_pin_error(BOARD_ESP32, ESP32_KEY_UART_TX_PIN, 9, BOARD_ERR_FLASH_PIN,
                     "hardware.uart.tx_pin: GPIO 9 is wired to the flash on the ESP32 "
                     "(GPIO 6 to 11 are not free)");
    /* The seed's UART pins are the C3's flash: refused when set there. */
    expect_pin_error(BOARD_ESP32C3, ESP32_KEY_UART_RX_PIN, 16, BOARD_ERR_FLASH_PIN,
                     "hardware.uart.rx_pin: GPIO 16 is wired to the flash on the ESP32-C3 "
                     "(GPIO 12 to 17 are not free)");
}

static void test_board_pin_used_twice_refused(void **state)
{
    (void)state;
    /* Against a default: the message says so. */
    expect_pin_error(BOARD_ESP32C3, ESP32_KEY_CAN_TX_PIN, 6, BOARD_ERR_PIN_TWICE,
                     "hardware.can.tx_pin: GPIO 6 is already hardware.uart.rx_pin "
                     "(its default on the ESP32-C3)");
    expect_pin_error(BOARD_ESP32, ESP32_KEY_UART_RX_PIN, 17, BOARD_ERR_PIN_TWICE,
                     "hardware.uart.tx_pin: GPIO 17 is already hardware.uart.rx_pin");
    /* Both configured. */
    cfg_t c;
    cfg_defaults(&c);
    set_pin(&c, ESP32_KEY_UART_TX_PIN, 21);
    set_pin(&c, ESP32_KEY_CAN_RX_PIN, 21);
    board_hw_t hw;
    board_error_t err;
    assert_int_equal(board_resolve(&c, BOARD_ESP32, &hw, NULL, &err), BOARD_ERR_PIN_TWICE);
    assert_string_equal(err.key, "hardware.can.rx_pin");
    assert_string_equal(err.message,
                        "hardware.can.rx_pin: GPIO 21 is already hardware.uart.tx_pin");
    /* Swapping two pins is fine. */
    cfg_defaults(&c);
    set_pin(&c, ESP32_KEY_CAN_TX_PIN, 5);
    set_pin(&c, ESP32_KEY_CAN_RX_PIN, 4);
    assert_int_equal(board_resolve(&c, BOARD_ESP32, &hw, NULL, &err), BOARD_OK);
    assert_int_equal(hw.can_tx_pin, 5);
    assert_int_equal(hw.can_rx_pin, 4);
}

static void test_board_more_than_one_pack_refused(void **state)
{
    (void)state;
    cfg_t c;
    cfg_defaults(&c);
    c.packs.count = 2;
    board_hw_t hw;
    board_error_t err;
    assert_int_equal(board_resolve(&c, BOARD_ESP32S3, &hw, NULL, &err), BOARD_ERR_PACKS);
    assert_string_equal(err.key, "packs");
    assert_string_equal(err.message, "packs: 2 packs configured; the ESP32 firmware reads one "
                                     "TinyBMS (give at most one entry, or none)");
    /* Packs come first, before a bad pin. */
    set_pin(&c, ESP32_KEY_CAN_TX_PIN, 34);
    assert_int_equal(board_resolve(&c, BOARD_ESP32, &hw, NULL, &err), BOARD_ERR_PACKS);
    c.packs.count = 1;
    assert_int_equal(board_resolve(&c, BOARD_ESP32, &hw, NULL, &err), BOARD_ERR_INPUT_ONLY);
    c.packs.count = 1;
    c.esp32.present = 0;
    assert_int_equal(board_resolve(&c, BOARD_ESP32, &hw, NULL, &err), BOARD_OK);
}

static void test_board_notes_for_pins_with_a_second_role(void **state)
{
    (void)state;
    cfg_t c;
    cfg_defaults(&c);
    set_pin(&c, ESP32_KEY_UART_RX_PIN, 44);
    set_pin(&c, ESP32_KEY_UART_TX_PIN, 0);
    set_pin(&c, ESP32_KEY_CAN_TX_PIN, 19);
    set_pin(&c, ESP32_KEY_CAN_RX_PIN, 35);
    board_hw_t hw;
    board_notes_t notes;
    board_error_t err;
    assert_int_equal(board_resolve(&c, BOARD_ESP32S3, &hw, &notes, &err), BOARD_OK);
    assert_int_equal(notes.count, 4);
    assert_string_equal(notes.text[0], "hardware.uart.rx_pin: GPIO 44 is the serial console's "
                                       "UART0: boot and log output share it on the ESP32-S3");
    assert_string_equal(notes.text[1], "hardware.uart.tx_pin: GPIO 0 is a strapping pin: a level "
                                       "held on it at reset can stop the board from booting on "
                                       "the ESP32-S3");
    assert_string_equal(notes.text[2], "hardware.can.tx_pin: GPIO 19 is a USB pin: the USB "
                                       "console and flashing over USB stop working on the "
                                       "ESP32-S3");
    assert_string_equal(notes.text[3], "hardware.can.rx_pin: GPIO 35 is used by the octal PSRAM "
                                       "of modules with 8 MB PSRAM on the ESP32-S3");
    /* ESP32: GPIO12 (flash voltage strap) gets a note, GPIO5 none. */
    cfg_defaults(&c);
    set_pin(&c, ESP32_KEY_UART_RX_PIN, 12);
    assert_int_equal(board_resolve(&c, BOARD_ESP32, &hw, &notes, &err), BOARD_OK);
    assert_int_equal(notes.count, 1);
    assert_non_null(strstr(notes.text[0], "GPIO 12 is a strapping pin"));
    /* C3 console and USB, C6 USB and console. */
    cfg_defaults(&c);
    set_pin(&c, ESP32_KEY_UART_RX_PIN, 20);
    set_pin(&c, ESP32_KEY_UART_TX_PIN, 18);
    assert_int_equal(board_resolve(&c, BOARD_ESP32C3, &hw, &notes, &err), BOARD_OK);
    assert_int_equal(notes.count, 2);
    cfg_defaults(&c);
    set_pin(&c, ESP32_KEY_UART_RX_PIN, 12);
    set_pin(&c, ESP32_KEY_UART_TX_PIN, 16);
    set_pin(&c, ESP32_KEY_CAN_TX_PIN, 9);
    assert_int_equal(board_resolve(&c, BOARD_ESP32C6, &hw, &notes, &err), BOARD_OK);
    assert_int_equal(notes.count, 3);
    /* Notes may be NULL. */
    assert_int_equal(board_resolve(&c, BOARD_ESP32C6, &hw, NULL, &err), BOARD_OK);
}

static void test_board_bad_arguments(void **state)
{
    (void)state;
    cfg_t c;
    cfg_defaults(&c);
    board_hw_t hw;
    board_error_t err;
    assert_int_equal(board_resolve(NULL, BOARD_ESP32, &hw, NULL, &err), BOARD_ERR_ARG);
    assert_int_equal(board_resolve(&c, BOARD_ESP32, NULL, NULL, &err), BOARD_ERR_ARG);
    assert_int_equal(board_resolve(&c, BOARD_TARGET_COUNT_, &hw, NULL, &err), BOARD_ERR_ARG);
    assert_int_equal(board_resolve(&c, (board_target_t)-1, &hw, NULL, NULL), BOARD_ERR_ARG);
    c.hardware.can.mode = 7;
    assert_int_equal(board_resolve(&c, BOARD_ESP32, &hw, NULL, &err), BOARD_ERR_ARG);
    assert_string_equal(err.key, "hardware.can.mode");
    /* err may be NULL on failure. */
    cfg_defaults(&c);
    set_pin(&c, ESP32_KEY_CAN_TX_PIN, 34);
    assert_int_equal(board_resolve(&c, BOARD_ESP32, &hw, NULL, NULL), BOARD_ERR_INPUT_ONLY);
}

static void test_board_names_and_error_text(void **state)
{
    (void)state;
    static const char *const names[] = {"esp32", "esp32s3", "esp32c3", "esp32c6"};
    static const char *const labels[] = {"ESP32", "ESP32-S3", "ESP32-C3", "ESP32-C6"};
    for (unsigned i = 0; i < (unsigned)BOARD_TARGET_COUNT_; i++) {
        board_target_t t = BOARD_TARGET_COUNT_;
        assert_string_equal(board_target_name((board_target_t)i), names[i]);
        assert_string_equal(board_target_label((board_target_t)i), labels[i]);
        assert_true(board_target_from_name(names[i], &t));
        assert_int_equal(t, i);
    }
    board_target_t t = BOARD_ESP32C6;
    assert_false(board_target_from_name("esp32s2", &t));
    assert_false(board_target_from_name("ESP32", &t));
    assert_false(board_target_from_name("", &t));
    assert_false(board_target_from_name(NULL, &t));
    assert_false(board_target_from_name("esp32", NULL));
    assert_int_equal(t, BOARD_ESP32C6);
    assert_string_equal(board_target_name(BOARD_TARGET_COUNT_), "?");
    assert_string_equal(board_target_label(BOARD_TARGET_COUNT_), "?");
    for (unsigned i = 0; i < (unsigned)BOARD_ERR_COUNT_; i++) {
        assert_non_null(board_strerror((board_err_t)i));
        assert_true(strlen(board_strerror((board_err_t)i)) > 1u);
    }
    assert_string_equal(board_strerror(BOARD_ERR_COUNT_), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_board_present_bits_follow_the_config_table),
        cmocka_unit_test(test_board_defaults_per_target),
        cmocka_unit_test(test_board_configured_pins_and_options_win),
        cmocka_unit_test(test_board_input_only_pin_refused_as_output),
        cmocka_unit_test(test_board_missing_pins_refused),
        cmocka_unit_test(test_board_flash_pins_refused_at_both_ends),
        cmocka_unit_test(test_board_pin_used_twice_refused),
        cmocka_unit_test(test_board_more_than_one_pack_refused),
        cmocka_unit_test(test_board_notes_for_pins_with_a_second_role),
        cmocka_unit_test(test_board_bad_arguments),
        cmocka_unit_test(test_board_names_and_error_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
