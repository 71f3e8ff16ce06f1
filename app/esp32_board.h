/*
 * esp32_board.h - the hardware settings the ESP32 firmware runs with: which
 * UART and GPIOs, CAN mode, speeds, worked out from a configuration for
 * one chip, and refused with a sentence naming the key when they cannot
 * work on that chip. Pure: no ESP-IDF header, no state, no heap.
 *
 * Pins: a key the configuration sets (cfg_t.esp32, esp32_keys.h) wins;
 * otherwise the chip's default below. The seed's defaults (UART RX GPIO16 /
 * TX GPIO17 on UART2, CAN TX GPIO4 / RX GPIO5) are kept on the ESP32 and
 * ESP32-S3. On the ESP32-C3 GPIO16/17 are the flash's pins and on the
 * ESP32-C6 they are the console (UART0), so both RISC-V chips use GPIO6/7,
 * which every C3/C6 dev board brings out and which have no boot role:
 *
 *   target    UART    RX  TX    CAN TX  RX
 *   esp32     UART2   16  17        4   5   (WROVER modules: 16/17 are PSRAM)
 *   esp32s3   UART2   16  17        4   5
 *   esp32c3   UART1    6   7        4   5   (GPIO4-7 are pad JTAG, still GPIOs)
 *   esp32c6   UART1    6   7        4   5
 *
 * UART0 is the console on every chip; the C3 and C6 have only UART0 and
 * UART1 (the C6's LP UART is not used).
 *
 * Refused (board_err_t): a GPIO the chip does not have (ESP32: 0-39 but
 * not 24 or 28-31; S3: 0-21 and 26-48; C3: 0-21; C6: 0-30), an
 * input-only GPIO for an output (ESP32 GPIO34-39: UART TX, CAN TX), a GPIO
 * wired to the flash or PSRAM (ESP32 6-11, S3 26-32, C3 12-17, C6 24-30),
 * the same GPIO for two signals, and more than one pack (packs.count > 1:
 * the firmware reads one TinyBMS).
 * Accepted with a note (board_notes_t), because they work but have a
 * second role the user should know about: strapping pins that decide how
 * the chip boots, the console's UART0 pins, the USB pins (S3, C3, C6) and
 * the S3's octal-PSRAM pins 33-37.
 */
#ifndef ESP32_BOARD_H
#define ESP32_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* The chips the firmware is built for (idf.py set-target NAME). */
typedef enum {
    BOARD_ESP32 = 0,
    BOARD_ESP32S3,
    BOARD_ESP32C3,
    BOARD_ESP32C6,
    BOARD_TARGET_COUNT_
} board_target_t;

/* The one error enum of this module; 0 = OK. */
typedef enum {
    BOARD_OK = 0,
    BOARD_ERR_ARG,        /* NULL pointer or a target out of range */
    BOARD_ERR_NO_PIN,     /* the chip has no such GPIO */
    BOARD_ERR_INPUT_ONLY, /* an output on an input-only GPIO */
    BOARD_ERR_FLASH_PIN,  /* a GPIO wired to the flash or PSRAM */
    BOARD_ERR_PIN_TWICE,  /* one GPIO for two signals */
    BOARD_ERR_PACKS,      /* more than one pack configured */
    BOARD_ERR_COUNT_
} board_err_t;

#define BOARD_MESSAGE_MAX 192u /* buffer size for a message */

/* Details of a failure: `key` the dotted key path ("packs", "" for an
 * argument error), `message` one English sentence starting with it, e.g.
 * "hardware.can.tx_pin: GPIO 34 is input-only on the ESP32". */
typedef struct {
    board_err_t code;
    char key[CFG_KEY_PATH_MAX];
    char message[BOARD_MESSAGE_MAX];
} board_error_t;

/* Notes on pins that work but have another role; the firmware logs them
 * as warnings at start. One per pin at most. */
#define BOARD_NOTES_MAX     4u
#define BOARD_NOTE_TEXT_MAX 192u
typedef struct {
    size_t count;
    char text[BOARD_NOTES_MAX][BOARD_NOTE_TEXT_MAX];
} board_notes_t;

/* What the firmware sets up. */
typedef struct {
    board_target_t target;
    int uart_num;    /* the TinyBMS UART: 2 (ESP32, S3) or 1 (C3, C6) */
    int uart_rx_pin; /* GPIO numbers */
    int uart_tx_pin;
    int32_t uart_baud;       /* hardware.uart.baudrate (115200, TinyBMS fixed) */
    int32_t uart_timeout_ms; /* hardware.uart.timeout_ms */
    int32_t uart_retries;    /* hardware.uart.retries */
    int can_tx_pin;
    int can_rx_pin;
    int32_t can_bitrate;  /* hardware.can.bitrate (500000) */
    bool can_loopback;    /* hardware.can.mode "loopback": TWAI self-test, no bus */
    bool can_termination; /* hardware.can.termination (default false) */
    int32_t console_baud; /* logging.serial_baudrate, default 115200 */
} board_hw_t;

/* Static English text for an error code; never NULL. */
const char *board_strerror(board_err_t code);

/* Static IDF target name ("esp32c3"), "?" when out of range. */
const char *board_target_name(board_target_t target);

/* Static name for people ("ESP32-C3"), "?" when out of range. */
const char *board_target_label(board_target_t target);

/* Looks up an IDF target name (CONFIG_IDF_TARGET, exact, lower case).
 * Returns false and leaves *out untouched when unknown or NULL. */
bool board_target_from_name(const char *name, board_target_t *out);

/* The chip's defaults (table above) with the Linux-side defaults of
 * cfg_defaults for speeds and timing. Returns BOARD_ERR_ARG (out untouched)
 * for a bad target or NULL out. */
board_err_t board_defaults(board_target_t target, board_hw_t *out);

/*
 * Works out the hardware settings of cfg for target and checks them
 * (header comment). On success fills *out, and *notes when not NULL
 * (emptied first), and returns BOARD_OK. On failure returns the code, fills
 * *err when not NULL and leaves *out and *notes untouched. The first
 * problem wins, in the order packs, CAN mode, UART RX, UART TX, CAN TX,
 * CAN RX.
 * cfg is expected to have passed cfg_validate; a pin or CAN mode outside
 * its range is still refused (BOARD_ERR_NO_PIN, BOARD_ERR_ARG), never used.
 * Speeds and timing are copied as they are. Cost: a few comparisons.
 */
board_err_t board_resolve(const cfg_t *cfg, board_target_t target, board_hw_t *out,
                          board_notes_t *notes, board_error_t *err);

#endif /* ESP32_BOARD_H */
