/*
 * fw_port.h - what the bridge task's own files share (private to
 * storage.c, esp_uart.c, esp_can.c, diag_esp.c and bridge_task.c; the
 * firmware's public parts are in fw.h).
 *
 *   esp_uart.c   the TinyBMS UART (driver/uart.h)
 *   esp_can.c    the TWAI node toward the GX (esp_twai.h, esp_twai_onchip.h)
 *   diag_esp.c   heap, stacks, reset reason -> app/fw_diag.h -> the hub
 *
 * Each device is one per chip here, so its state is file static; only the
 * bridge task calls these (the TWAI callbacks run in its ISR).
 */
#ifndef FW_PORT_H
#define FW_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#include "fw_diag.h"
#include "hub.h"
#include "status.h"
#include "victron_can.h"

/* storage.c: bytes of the data partition; false when it is not mounted. */
bool fw_storage_info(uint64_t *total_bytes, uint64_t *used_bytes);

/* ---- esp_uart.c ---- */

/* Installs the driver on UART uart_num with its pins, 8N1 at baud. */
esp_err_t fw_uart_open(int uart_num, int rx_pin, int tx_pin, int32_t baud);
/* Queues n bytes for sending (the driver's TX ring takes a whole request
 * at once, so this does not wait); the count queued, or -1 on an error. */
int fw_uart_write(const uint8_t *data, size_t n);
/* Waits up to wait_ticks for a first byte, then takes what else has
 * arrived, up to cap; returns the count (0: nothing came in time). */
size_t fw_uart_read(uint8_t *buf, size_t cap, uint32_t wait_ticks);
/* Drops what has been received and not read (before a new request). */
void fw_uart_flush_input(void);

/* ---- esp_can.c ---- */

/* Depth of the TWAI transmit queue: a whole burst of the bridge
 * (BRG_MAX_FRAMES_PER_TICK) plus a few while the bus is slow. */
#define FW_CAN_TX_QUEUE 24u
/* Frames the receive callback can hold until the bridge task takes them:
 * the GX sends a 0x305 each second, other nodes a few frames more. */
#define FW_CAN_RX_QUEUE 32u
/* Wait after a bus-off before the recovery is started, so a broken bus is
 * not hammered (the controller then needs 128 x 11 recessive bits). */
#define FW_CAN_RECOVER_DELAY_US 1000000u

/* Creates and enables the TWAI node: 11-bit data frames at bitrate, in
 * self-test loopback (frames come back, no ACK needed) when loopback. */
esp_err_t fw_can_open(int tx_pin, int rx_pin, int32_t bitrate, bool loopback);
/* Queues one frame; false when it was dropped (queue full, bus-off),
 * counted in the stats. */
bool fw_can_send(const vcan_frame_t *f);
/* One received frame from the callback's queue, without waiting. */
bool fw_can_recv(vcan_frame_t *f);
/* Every turn: starts the recovery of a bus-off node and logs the
 * controller's state changes. */
void fw_can_tick(uint64_t now_us);
/* The figures of the status document (stats.can); interface is static. */
void fw_can_status(status_can_t *out);
/* Why the link is down ("" when it is up). */
const char *fw_can_error(void);
/* The TWAI part of the diagnostics. */
void fw_can_diag(fw_diag_input_t *in);

/* ---- diag_esp.c ---- */

/* What the bridge task measures of itself (its own loop, only it writes). */
typedef struct {
    uint64_t iterations;
    uint64_t lag_last_us, lag_max_us, lag_sum_us, lag_samples;
    uint64_t busy_last_us, busy_max_us;
    uint64_t last_feed_us, max_gap_us;
} fw_loop_t;

/* The health figures diag_esp.c cannot take from ESP-IDF itself. */
typedef struct {
    const char *version;
    const fw_loop_t *loop;
    void *task;            /* the bridge task's TaskHandle_t */
    uint32_t stack_bytes;  /* its stack size */
    bool watchdog_enabled; /* advanced.enable_watchdog */
    bool watchdog_subscribed;
    uint32_t watchdog_timeout_ms;
    bool running; /* the bridge runs; else halt_reason */
    const char *halt_reason;
    uint32_t poll_interval_ms;
    uint64_t energy_saved, energy_failed;
    const status_t *status; /* the latest published snapshot, NULL before */
    uint64_t start_us;
} fw_health_t;

/* Name of the last reset's cause ("power-on", "task watchdog"...). */
const char *fw_reset_reason(void);
/* The last reset was a crash, a watchdog or a power problem. */
bool fw_reset_abnormal(void);
/* Publishes HUB_DOC_DIAGNOSTICS and HUB_DOC_METRICS when due (every
 * FW_DIAG_PERIOD_US); warns once when the bridge task's stack ran low. */
#define FW_DIAG_PERIOD_US 2000000u
void fw_diag_tick(hub_t *hub, const fw_health_t *h, uint64_t now_us);

#endif /* FW_PORT_H */
