/*
 * The TWAI node toward the Victron GX (the on-chip controller and a
 * SN65HVD230-class transceiver), through IDF 6's node API (esp_twai.h,
 * esp_twai_onchip.h).
 *
 * Receive: the driver calls on_rx in its ISR; the frame is taken there
 * (twai_node_receive_from_isr may only be called there) and put in a
 * FreeRTOS queue the bridge task empties each turn.
 *
 * Transmit: twai_node_transmit queues a *pointer* to the frame, and the
 * driver reads the frame when it starts sending it, so each frame lives in
 * a slot of a ring that is reused only after TX_SLOTS later frames were
 * handed over. The driver holds at most FW_CAN_TX_QUEUE queued frames plus
 * the one in the controller, all newer than the slot being reused, so the
 * ring never overwrites a frame the driver may still read, even when a
 * bus-off makes the driver drop the one it was sending.
 *
 * Bus-off: counted in the state-change callback; the bridge task starts
 * the recovery FW_CAN_RECOVER_DELAY_US later (fw_can_tick).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "esp_twai.h"
#include "esp_twai_onchip.h"
#include "freertos/FreeRTOS.h"
#include "freertos/queue.h"

#include "fw_port.h"
#include "log.h"

#define TX_SLOTS (FW_CAN_TX_QUEUE + 2u)

typedef struct {
    twai_frame_t frame;
    uint8_t data[TWAI_FRAME_MAX_LEN];
} tx_slot_t;

static twai_node_handle_t node;
static QueueHandle_t rx_queue;
static tx_slot_t tx_slot[TX_SLOTS];
static size_t tx_next;
static bool loopback_mode;
static char interface[40] = "twai";
static char last_error[96] = "not started";

/* Written in the ISR, read by the task (32-bit loads and stores are single
 * instructions on these chips). */
static _Atomic int state = TWAI_ERROR_BUS_OFF;
static atomic_uint bus_off_count, reconnects, bus_errors, rx_drops, rx_ignored, tx_failed;

/* Task side only. */
static uint32_t tx_frames, tx_drops, tx_errors, rx_frames, recoveries;
static int logged_state = TWAI_ERROR_ACTIVE;
static uint64_t bus_off_since_us;

static bool on_rx(twai_node_handle_t h, const twai_rx_done_event_data_t *e, void *ctx)
{
    (void)e;
    (void)ctx;
    uint8_t data[TWAI_FRAME_MAX_LEN];
    twai_frame_t f = {.buffer = data, .buffer_len = sizeof data};
    if (twai_node_receive_from_isr(h, &f) != ESP_OK) {
        return false;
    }
    if (f.header.ide || f.header.rtr || f.header.fdf) {
        atomic_fetch_add(&rx_ignored, 1u); /* Victron CAN-BMS uses 11-bit data frames only */
        return false;
    }
    vcan_frame_t v = {.id = (uint16_t)(f.header.id & TWAI_STD_ID_MASK)};
    v.dlc = (uint8_t)(f.header.dlc < 8u ? f.header.dlc : 8u);
    memcpy(v.data, data, v.dlc);
    BaseType_t woken = pdFALSE;
    if (xQueueSendFromISR(rx_queue, &v, &woken) != pdTRUE) {
        atomic_fetch_add(&rx_drops, 1u);
    }
    return woken == pdTRUE;
}

static bool on_tx_done(twai_node_handle_t h, const twai_tx_done_event_data_t *e, void *ctx)
{
    (void)h;
    (void)ctx;
    if (!e->is_tx_success) {
        atomic_fetch_add(&tx_failed, 1u);
    }
    return false;
}

static bool on_state(twai_node_handle_t h, const twai_state_change_event_data_t *e, void *ctx)
{
    (void)h;
    (void)ctx;
    atomic_store(&state, (int)e->new_sta);
    if (e->new_sta == TWAI_ERROR_BUS_OFF) {
        atomic_fetch_add(&bus_off_count, 1u);
    } else if (e->old_sta == TWAI_ERROR_BUS_OFF) {
        atomic_fetch_add(&reconnects, 1u);
    }
    return false;
}

static bool on_error(twai_node_handle_t h, const twai_error_event_data_t *e, void *ctx)
{
    (void)h;
    (void)e;
    (void)ctx;
    atomic_fetch_add(&bus_errors, 1u);
    return false;
}

static esp_err_t open_failed(const char *step, esp_err_t e)
{
    (void)snprintf(last_error, sizeof last_error, "%s: %s", step, esp_err_to_name(e));
    log_error("CAN (TWAI on %s): %s", interface, last_error);
    return e;
}

esp_err_t fw_can_open(int tx_pin, int rx_pin, int32_t bitrate, bool loopback)
{
    (void)snprintf(interface, sizeof interface, "twai:tx=GPIO%d,rx=GPIO%d", tx_pin, rx_pin);
    rx_queue = xQueueCreate(FW_CAN_RX_QUEUE, sizeof(vcan_frame_t));
    if (rx_queue == NULL) {
        return open_failed("receive queue", ESP_ERR_NO_MEM);
    }
    twai_onchip_node_config_t cfg = {
        .io_cfg = {.tx = (gpio_num_t)tx_pin,
                   .rx = (gpio_num_t)rx_pin,
                   .quanta_clk_out = GPIO_NUM_NC,
                   .bus_off_indicator = GPIO_NUM_NC},
        .bit_timing = {.bitrate = (uint32_t)bitrate},
        .fail_retry_cnt = -1, /* the CAN rule: resend until acknowledged */
        .tx_queue_depth = FW_CAN_TX_QUEUE,
    };
    /* Bench test: the controller receives its own frames and needs no
     * acknowledgement, so it runs without a GX. The frames still leave on
     * the TX pin: keep the board off a live bus in this mode. */
    cfg.flags.enable_self_test = loopback;
    cfg.flags.enable_loopback = loopback;
    loopback_mode = loopback;
    esp_err_t e = twai_new_node_onchip(&cfg, &node);
    if (e != ESP_OK) {
        node = NULL;
        return open_failed("create", e);
    }
    static const twai_event_callbacks_t cbs = {
        .on_tx_done = on_tx_done,
        .on_rx_done = on_rx,
        .on_state_change = on_state,
        .on_error = on_error,
    };
    e = twai_node_register_event_callbacks(node, &cbs, NULL);
    if (e == ESP_OK) {
        e = twai_node_enable(node);
    }
    if (e != ESP_OK) {
        (void)twai_node_delete(node);
        node = NULL;
        return open_failed("start", e);
    }
    atomic_store(&state, TWAI_ERROR_ACTIVE);
    last_error[0] = '\0';
    return ESP_OK;
}

bool fw_can_send(const vcan_frame_t *f)
{
    if (node == NULL) {
        tx_drops++;
        return false;
    }
    tx_slot_t *s = &tx_slot[tx_next];
    memset(s, 0, sizeof *s);
    memcpy(s->data, f->data, f->dlc <= 8u ? f->dlc : 8u);
    s->frame.header.id = f->id;
    s->frame.header.dlc = f->dlc;
    s->frame.buffer = s->data;
    s->frame.buffer_len = f->dlc;
    /* No wait: a full queue means the bus is not taking frames (no ACK,
     * bus-off); the bridge's next burst carries newer values anyway. */
    esp_err_t e = twai_node_transmit(node, &s->frame, 0);
    if (e == ESP_OK) {
        tx_next = (tx_next + 1u) % TX_SLOTS;
        tx_frames++;
        return true;
    }
    if (e == ESP_ERR_TIMEOUT || e == ESP_ERR_INVALID_STATE) {
        tx_drops++;
    } else {
        tx_errors++;
    }
    return false;
}

bool fw_can_recv(vcan_frame_t *f)
{
    if (rx_queue == NULL || xQueueReceive(rx_queue, f, 0) != pdTRUE) {
        return false;
    }
    rx_frames++;
    return true;
}

static void log_state(int now_state)
{
    if (now_state == logged_state) {
        return;
    }
    if (now_state == TWAI_ERROR_BUS_OFF) {
        log_error("CAN bus-off: the controller left the bus after too many errors (wiring, "
                  "bitrate, termination?); recovering in %u s",
                  (unsigned)(FW_CAN_RECOVER_DELAY_US / 1000000u));
    } else if (now_state == TWAI_ERROR_PASSIVE) {
        log_warn("CAN error passive: frames are not acknowledged or the bus has errors (is the "
                 "GX connected and the bus terminated?)");
    } else if (now_state == TWAI_ERROR_ACTIVE && logged_state == TWAI_ERROR_BUS_OFF) {
        log_info("CAN bus back: the controller recovered from bus-off");
    } else if (now_state == TWAI_ERROR_ACTIVE && logged_state == TWAI_ERROR_PASSIVE) {
        log_info("CAN errors cleared: the controller is error active again");
    }
    logged_state = now_state;
}

void fw_can_tick(uint64_t now_us)
{
    if (node == NULL) {
        return;
    }
    int s = atomic_load(&state);
    log_state(s);
    if (s != TWAI_ERROR_BUS_OFF) {
        bus_off_since_us = 0;
        last_error[0] = '\0';
        return;
    }
    if (bus_off_since_us == 0u) {
        bus_off_since_us = now_us;
        (void)snprintf(last_error, sizeof last_error, "bus-off");
    }
    if (now_us - bus_off_since_us < FW_CAN_RECOVER_DELAY_US) {
        return;
    }
    /* Started once per wait: the controller then waits for the bus to be
     * quiet by itself; a refusal is tried again after the next wait. */
    esp_err_t e = twai_node_recover(node);
    bus_off_since_us = now_us;
    recoveries++;
    if (e != ESP_OK) {
        log_warn("CAN: bus-off recovery refused: %s", esp_err_to_name(e));
    }
}

static const char *state_name(int s)
{
    switch (s) {
    case TWAI_ERROR_ACTIVE:
        return "active";
    case TWAI_ERROR_WARNING:
        return "warning";
    case TWAI_ERROR_PASSIVE:
        return "passive";
    case TWAI_ERROR_BUS_OFF:
        return "bus-off";
    default:
        return "unknown";
    }
}

void fw_can_status(status_can_t *out)
{
    memset(out, 0, sizeof *out);
    int s = atomic_load(&state);
    twai_node_status_t ns;
    if (node != NULL && twai_node_get_info(node, &ns, NULL) == ESP_OK) {
        out->tx_error_counter = (uint8_t)(ns.tx_error_count > 255u ? 255u : ns.tx_error_count);
        out->rx_error_counter = (uint8_t)(ns.rx_error_count > 255u ? 255u : ns.rx_error_count);
    }
    out->tx_frames = tx_frames;
    out->tx_drops = tx_drops;
    out->tx_errors = tx_errors + atomic_load(&tx_failed);
    out->rx_frames = rx_frames;
    out->rx_errors = atomic_load(&rx_drops);
    out->reconnects = atomic_load(&reconnects);
    out->bus_off_count = atomic_load(&bus_off_count);
    out->bus_state = node != NULL ? state_name(s) : "unknown";
    out->connected = node != NULL && s != TWAI_ERROR_BUS_OFF;
    out->interface = interface;
}

const char *fw_can_error(void)
{
    return last_error;
}

void fw_can_diag(fw_diag_input_t *in)
{
    in->twai.loopback = loopback_mode;
    in->twai.bus_errors = atomic_load(&bus_errors);
    in->twai.rx_queue_drops = atomic_load(&rx_drops);
    in->twai.tx_queue_drops = tx_drops;
    in->twai.recoveries = recoveries;
}
