/*
 * esp32_board.c - the firmware's hardware settings per chip (see
 * esp32_board.h). The GPIO facts are ESP-IDF v6.0.2's soc_caps.h masks
 * (SOC_GPIO_VALID_GPIO_MASK, SOC_GPIO_VALID_OUTPUT_GPIO_MASK) and the chips'
 * datasheets (flash, strapping, console and USB pins), one row per chip.
 */
#include "esp32_board.h"

#include "esp32_keys.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#define BOARD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define BOARD_PRINTF(f, a)
#endif

#define BIT64(n)       ((uint64_t)1u << (n))
#define BITS64(lo, hi) (((~(uint64_t)0) >> (63u - (hi))) & ~(BIT64(lo) - 1u))

/* One chip. */
typedef struct {
    const char *name;  /* IDF target */
    const char *label; /* for people */
    uint64_t exists;   /* GPIOs the chip has */
    uint64_t input_only;
    uint64_t flash; /* wired to the SPI flash / PSRAM */
    const char *flash_text;
    uint64_t strapping;   /* decide how the chip boots */
    uint64_t console;     /* UART0, the serial console */
    uint64_t usb;         /* USB Serial/JTAG D- / D+ */
    uint64_t octal_psram; /* S3 modules with octal PSRAM */
    int uart_num;
    int uart_rx, uart_tx, can_tx, can_rx; /* defaults (header table) */
} chip_t;

/* ESP32: GPIO5 is a strapping pin too, but it only sets the SDIO slave's
 * timing, which the firmware does not use, and a transceiver's RXD idles
 * high, its default level; so the seed's CAN RX on GPIO5 gets no note.
 * ESP32-C6: GPIO4/5 (MTMS/MTDI) only strap the JTAG source when an eFuse
 * asks for it; no note either. */
static const chip_t chips[BOARD_TARGET_COUNT_] = {
    [BOARD_ESP32] =
        {
            .name = "esp32",
            .label = "ESP32",
            .exists = BITS64(0u, 39u) & ~(BIT64(24) | BITS64(28u, 31u)),
            .input_only = BITS64(34u, 39u),
            .flash = BITS64(6u, 11u),
            .flash_text = "GPIO 6 to 11",
            .strapping = BIT64(0) | BIT64(2) | BIT64(12) | BIT64(15),
            .console = BIT64(1) | BIT64(3),
            .usb = 0u,
            .octal_psram = 0u,
            .uart_num = 2,
            .uart_rx = 16,
            .uart_tx = 17,
            .can_tx = 4,
            .can_rx = 5,
        },
    [BOARD_ESP32S3] =
        {
            .name = "esp32s3",
            .label = "ESP32-S3",
            .exists = BITS64(0u, 48u) & ~BITS64(22u, 25u),
            .input_only = 0u,
            .flash = BITS64(26u, 32u),
            .flash_text = "GPIO 26 to 32",
            .strapping = BIT64(0) | BIT64(3) | BIT64(45) | BIT64(46),
            .console = BIT64(43) | BIT64(44),
            .usb = BIT64(19) | BIT64(20),
            .octal_psram = BITS64(33u, 37u),
            .uart_num = 2,
            .uart_rx = 16,
            .uart_tx = 17,
            .can_tx = 4,
            .can_rx = 5,
        },
    [BOARD_ESP32C3] =
        {
            .name = "esp32c3",
            .label = "ESP32-C3",
            .exists = BITS64(0u, 21u),
            .input_only = 0u,
            .flash = BITS64(12u, 17u),
            .flash_text = "GPIO 12 to 17",
            .strapping = BIT64(2) | BIT64(8) | BIT64(9),
            .console = BIT64(20) | BIT64(21),
            .usb = BIT64(18) | BIT64(19),
            .octal_psram = 0u,
            .uart_num = 1,
            .uart_rx = 6,
            .uart_tx = 7,
            .can_tx = 4,
            .can_rx = 5,
        },
    [BOARD_ESP32C6] =
        {
            .name = "esp32c6",
            .label = "ESP32-C6",
            .exists = BITS64(0u, 30u),
            .input_only = 0u,
            .flash = BITS64(24u, 30u),
            .flash_text = "GPIO 24 to 30",
            .strapping = BIT64(8) | BIT64(9) | BIT64(15),
            .console = BIT64(16) | BIT64(17),
            .usb = BIT64(12) | BIT64(13),
            .octal_psram = 0u,
            .uart_num = 1,
            .uart_rx = 6,
            .uart_tx = 7,
            .can_tx = 4,
            .can_rx = 5,
        },
};

static const char *const err_text[BOARD_ERR_COUNT_] = {
    [BOARD_OK] = "ok",
    [BOARD_ERR_ARG] = "invalid argument",
    [BOARD_ERR_NO_PIN] = "no such GPIO on this chip",
    [BOARD_ERR_INPUT_ONLY] = "input-only GPIO used as an output",
    [BOARD_ERR_FLASH_PIN] = "GPIO wired to the flash or PSRAM",
    [BOARD_ERR_PIN_TWICE] = "one GPIO for two signals",
    [BOARD_ERR_PACKS] = "more than one pack configured",
};

const char *board_strerror(board_err_t code)
{
    if ((unsigned)code >= (unsigned)BOARD_ERR_COUNT_) {
        return "unknown error";
    }
    return err_text[code];
}

const char *board_target_name(board_target_t target)
{
    return (unsigned)target < (unsigned)BOARD_TARGET_COUNT_ ? chips[target].name : "?";
}

const char *board_target_label(board_target_t target)
{
    return (unsigned)target < (unsigned)BOARD_TARGET_COUNT_ ? chips[target].label : "?";
}

bool board_target_from_name(const char *name, board_target_t *out)
{
    if (name == NULL || out == NULL) {
        return false;
    }
    for (unsigned i = 0; i < (unsigned)BOARD_TARGET_COUNT_; i++) {
        if (strcmp(name, chips[i].name) == 0) {
            *out = (board_target_t)i;
            return true;
        }
    }
    return false;
}

/* The chip's part of the defaults; no cfg_t on the stack (board_resolve
 * runs on the bridge task, whose stack is sized to what it holds). */
static void chip_defaults(board_target_t target, board_hw_t *out)
{
    const chip_t *c = &chips[target];
    memset(out, 0, sizeof *out);
    out->target = target;
    out->uart_num = c->uart_num;
    out->uart_rx_pin = c->uart_rx;
    out->uart_tx_pin = c->uart_tx;
    out->can_tx_pin = c->can_tx;
    out->can_rx_pin = c->can_rx;
    out->can_loopback = false;
    out->can_termination = false;
    out->console_baud = 115200;
}

board_err_t board_defaults(board_target_t target, board_hw_t *out)
{
    if (out == NULL || (unsigned)target >= (unsigned)BOARD_TARGET_COUNT_) {
        return BOARD_ERR_ARG;
    }
    cfg_t def;
    cfg_defaults(&def);
    chip_defaults(target, out);
    out->uart_baud = def.hardware.uart.baudrate;
    out->uart_timeout_ms = def.hardware.uart.timeout_ms;
    out->uart_retries = def.hardware.uart.retries;
    out->can_bitrate = def.hardware.can.bitrate;
    return BOARD_OK;
}

BOARD_PRINTF(4, 5)
static board_err_t fail(board_error_t *err, board_err_t code, const char *key, const char *fmt,
                        ...);

static board_err_t fail(board_error_t *err, board_err_t code, const char *key, const char *fmt, ...)
{
    if (err != NULL) {
        err->code = code;
        (void)snprintf(err->key, sizeof err->key, "%s", key);
        int n = snprintf(err->message, sizeof err->message, "%s: ", key);
        va_list ap;
        va_start(ap, fmt);
        if (n > 0 && (size_t)n < sizeof err->message) {
            (void)vsnprintf(err->message + n, sizeof err->message - (size_t)n, fmt, ap);
        }
        va_end(ap);
    }
    return code;
}

/* One signal: its key, the pin worked out, whether it drives the pin. */
typedef struct {
    const char *key;
    int32_t pin;
    bool output;
    bool from_cfg;
} signal_t;

static board_err_t check_pin(const chip_t *c, const signal_t *s, board_error_t *err)
{
    if (s->pin < 0 || s->pin > 63 || (c->exists & BIT64((unsigned)s->pin)) == 0u) {
        return fail(err, BOARD_ERR_NO_PIN, s->key, "GPIO %ld does not exist on the %s",
                    (long)s->pin, c->label);
    }
    uint64_t bit = BIT64((unsigned)s->pin);
    if (s->output && (c->input_only & bit) != 0u) {
        return fail(err, BOARD_ERR_INPUT_ONLY, s->key, "GPIO %ld is input-only on the %s",
                    (long)s->pin, c->label);
    }
    if ((c->flash & bit) != 0u) {
        return fail(err, BOARD_ERR_FLASH_PIN, s->key,
                    "GPIO %ld is wired to the flash on the %s (%s are not free)", (long)s->pin,
                    c->label, c->flash_text);
    }
    return BOARD_OK;
}

/* A note on a pin that works but has a second role; NULL when none. */
static const char *pin_role(const chip_t *c, int32_t pin)
{
    uint64_t bit = BIT64((unsigned)pin);
    if ((c->strapping & bit) != 0u) {
        return "is a strapping pin: a level held on it at reset can stop the board from booting";
    }
    if ((c->console & bit) != 0u) {
        return "is the serial console's UART0: boot and log output share it";
    }
    if ((c->usb & bit) != 0u) {
        return "is a USB pin: the USB console and flashing over USB stop working";
    }
    if ((c->octal_psram & bit) != 0u) {
        return "is used by the octal PSRAM of modules with 8 MB PSRAM";
    }
    return NULL;
}

static void add_notes(const chip_t *c, const signal_t *sig, size_t count, board_notes_t *notes)
{
    for (size_t i = 0; i < count && notes->count < BOARD_NOTES_MAX; i++) {
        const char *role = pin_role(c, sig[i].pin);
        if (role != NULL) {
            (void)snprintf(notes->text[notes->count], sizeof notes->text[0],
                           "%s: GPIO %ld %s on the %s", sig[i].key, (long)sig[i].pin, role,
                           c->label);
            notes->count++;
        }
    }
}

static int32_t pick(const cfg_t *cfg, esp32_key_t k, int32_t value, int def)
{
    return esp32_key_present(cfg, k) ? value : (int32_t)def;
}

board_err_t board_resolve(const cfg_t *cfg, board_target_t target, board_hw_t *out,
                          board_notes_t *notes, board_error_t *err)
{
    if (cfg == NULL || out == NULL || (unsigned)target >= (unsigned)BOARD_TARGET_COUNT_) {
        return fail(err, BOARD_ERR_ARG, "", "invalid argument");
    }
    if (cfg->packs.count > 1u) {
        return fail(err, BOARD_ERR_PACKS, "packs",
                    "%u packs configured; the ESP32 firmware reads one TinyBMS (give at most "
                    "one entry, or none)",
                    (unsigned)cfg->packs.count);
    }
    if (cfg->hardware.can.mode >= (uint8_t)CFG_CAN_MODE_COUNT_) {
        return fail(err, BOARD_ERR_ARG, "hardware.can.mode", "mode %u is not normal or loopback",
                    (unsigned)cfg->hardware.can.mode);
    }
    const chip_t *c = &chips[target];
    signal_t sig[4] = {
        {"hardware.uart.rx_pin",
         pick(cfg, ESP32_KEY_UART_RX_PIN, cfg->esp32.uart_rx_pin, c->uart_rx), false,
         esp32_key_present(cfg, ESP32_KEY_UART_RX_PIN)},
        {"hardware.uart.tx_pin",
         pick(cfg, ESP32_KEY_UART_TX_PIN, cfg->esp32.uart_tx_pin, c->uart_tx), true,
         esp32_key_present(cfg, ESP32_KEY_UART_TX_PIN)},
        {"hardware.can.tx_pin", pick(cfg, ESP32_KEY_CAN_TX_PIN, cfg->esp32.can_tx_pin, c->can_tx),
         true, esp32_key_present(cfg, ESP32_KEY_CAN_TX_PIN)},
        {"hardware.can.rx_pin", pick(cfg, ESP32_KEY_CAN_RX_PIN, cfg->esp32.can_rx_pin, c->can_rx),
         false, esp32_key_present(cfg, ESP32_KEY_CAN_RX_PIN)},
    };
    for (size_t i = 0; i < 4u; i++) {
        board_err_t e = check_pin(c, &sig[i], err);
        if (e != BOARD_OK) {
            return e;
        }
        for (size_t j = 0; j < i; j++) {
            if (sig[j].pin == sig[i].pin) {
                return fail(err, BOARD_ERR_PIN_TWICE, sig[i].key, "GPIO %ld is already %s%s%s%s",
                            (long)sig[i].pin, sig[j].key,
                            sig[j].from_cfg ? "" : " (its default on the ",
                            sig[j].from_cfg ? "" : c->label, sig[j].from_cfg ? "" : ")");
            }
        }
    }

    board_hw_t hw;
    chip_defaults(target, &hw);
    hw.uart_rx_pin = (int)sig[0].pin;
    hw.uart_tx_pin = (int)sig[1].pin;
    hw.can_tx_pin = (int)sig[2].pin;
    hw.can_rx_pin = (int)sig[3].pin;
    hw.uart_baud = cfg->hardware.uart.baudrate;
    hw.uart_timeout_ms = cfg->hardware.uart.timeout_ms;
    hw.uart_retries = cfg->hardware.uart.retries;
    hw.can_bitrate = cfg->hardware.can.bitrate;
    hw.can_loopback = cfg->hardware.can.mode == (uint8_t)CFG_CAN_LOOPBACK;
    hw.can_termination =
        esp32_key_present(cfg, ESP32_KEY_CAN_TERMINATION) && cfg->esp32.can_termination;
    hw.console_baud = pick(cfg, ESP32_KEY_SERIAL_BAUDRATE, cfg->esp32.serial_baudrate, 115200);
    if (notes != NULL) {
        notes->count = 0;
        add_notes(c, sig, 4u, notes);
    }
    *out = hw;
    return BOARD_OK;
}
