/*
 * The firmware's TWAI glue (port/esp32/main/esp_can.c) on the host, against
 * a fake of the TWAI node and FreeRTOS queue calls it makes
 * (tests/unit/fake_twai, the real headers' names; scripts/esp32-check
 * compiles esp_can.c against the real ones). The fake driver keeps the
 * frame pointers it was handed, as IDF's does, so the tests can check that
 * no frame is overwritten while the driver may still read it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp_can.c"

/* ---- the fake driver ---- */

#define HELD_MAX (FW_CAN_TX_QUEUE + 1u) /* its queue and the frame in the controller */

typedef struct {
    const twai_frame_t *frame;
    uint32_t id;
    uint8_t data[8];
} held_t;

static struct {
    twai_onchip_node_config_t cfg;
    twai_event_callbacks_t cbs;
    int node; /* its address is the handle */
    bool enabled;
    twai_error_state_t state;
    held_t held[HELD_MAX];
    size_t held_n;
    int recover_calls;
    uint16_t tec, rec;
    twai_frame_t rx; /* what the controller received */
    uint8_t rx_data[8];
} drv;

const char *esp_err_to_name(esp_err_t code)
{
    return code == ESP_OK ? "ESP_OK" : "ESP_FAIL";
}

esp_err_t twai_new_node_onchip(const twai_onchip_node_config_t *node_config,
                               twai_node_handle_t *node_ret)
{
    drv.cfg = *node_config;
    *node_ret = (twai_node_handle_t)(void *)&drv.node;
    return ESP_OK;
}

esp_err_t twai_node_register_event_callbacks(twai_node_handle_t h,
                                             const twai_event_callbacks_t *cbs, void *user_data)
{
    (void)h;
    (void)user_data;
    drv.cbs = *cbs;
    return ESP_OK;
}

esp_err_t twai_node_enable(twai_node_handle_t h)
{
    (void)h;
    drv.enabled = true;
    drv.state = TWAI_ERROR_ACTIVE;
    return ESP_OK;
}

esp_err_t twai_node_delete(twai_node_handle_t h)
{
    (void)h;
    return ESP_OK;
}

esp_err_t twai_node_recover(twai_node_handle_t h)
{
    (void)h;
    drv.recover_calls++;
    return ESP_OK;
}

esp_err_t twai_node_get_info(twai_node_handle_t h, twai_node_status_t *st, twai_node_record_t *rec)
{
    (void)h;
    (void)rec;
    st->state = drv.state;
    st->tx_error_count = drv.tec;
    st->rx_error_count = drv.rec;
    st->tx_queue_remaining = (uint32_t)(HELD_MAX - drv.held_n);
    return ESP_OK;
}

esp_err_t twai_node_transmit(twai_node_handle_t h, const twai_frame_t *frame, int timeout_ms)
{
    (void)h;
    assert_int_equal(timeout_ms, 0); /* the bridge task never waits on the bus */
    if (drv.state == TWAI_ERROR_BUS_OFF) {
        return ESP_ERR_INVALID_STATE;
    }
    if (drv.held_n == HELD_MAX) {
        return ESP_ERR_TIMEOUT;
    }
    held_t *k = &drv.held[drv.held_n++];
    k->frame = frame;
    k->id = frame->header.id;
    memcpy(k->data, frame->buffer, frame->buffer_len);
    return ESP_OK;
}

esp_err_t twai_node_receive_from_isr(twai_node_handle_t h, twai_frame_t *rx_frame)
{
    (void)h;
    rx_frame->header = drv.rx.header;
    size_t n = drv.rx.buffer_len < rx_frame->buffer_len ? drv.rx.buffer_len : rx_frame->buffer_len;
    memcpy(rx_frame->buffer, drv.rx_data, n);
    return ESP_OK;
}

/* The controller finishes the oldest frame it holds, which must still be
 * the frame it was handed. */
static void drv_finish(bool ok)
{
    assert_true(drv.held_n > 0u);
    held_t k = drv.held[0];
    assert_int_equal(k.frame->header.id, k.id);
    assert_memory_equal(k.frame->buffer, k.data, k.frame->buffer_len);
    memmove(&drv.held[0], &drv.held[1], (drv.held_n - 1u) * sizeof drv.held[0]);
    drv.held_n--;
    twai_tx_done_event_data_t e = {.is_tx_success = ok, .done_tx_frame = k.frame};
    (void)drv.cbs.on_tx_done((twai_node_handle_t)(void *)&drv.node, &e, NULL);
}

static void drv_receive(uint32_t id, const uint8_t *data, uint16_t dlc, bool ext, bool rtr)
{
    memset(&drv.rx, 0, sizeof drv.rx);
    drv.rx.header.id = id;
    drv.rx.header.dlc = dlc;
    drv.rx.header.ide = ext;
    drv.rx.header.rtr = rtr;
    drv.rx.buffer_len = dlc < 8u ? dlc : 8u;
    memcpy(drv.rx_data, data, drv.rx.buffer_len);
    twai_rx_done_event_data_t e = {0};
    (void)drv.cbs.on_rx_done((twai_node_handle_t)(void *)&drv.node, &e, NULL);
}

static void drv_state(twai_error_state_t to)
{
    twai_state_change_event_data_t e = {.old_sta = drv.state, .new_sta = to};
    drv.state = to;
    (void)drv.cbs.on_state_change((twai_node_handle_t)(void *)&drv.node, &e, NULL);
}

/* ---- the fake queue ---- */

struct fake_queue {
    size_t len, size, head, count;
    uint8_t items[64 * 16];
};
static struct fake_queue queue;

QueueHandle_t xQueueCreate(UBaseType_t length, UBaseType_t item_size)
{
    assert_true(length * item_size <= sizeof queue.items);
    memset(&queue, 0, sizeof queue);
    queue.len = length;
    queue.size = item_size;
    return &queue;
}

BaseType_t xQueueSendFromISR(QueueHandle_t q, const void *item, BaseType_t *woken)
{
    if (q->count == q->len) {
        return pdFALSE;
    }
    memcpy(&q->items[((q->head + q->count) % q->len) * q->size], item, q->size);
    q->count++;
    *woken = pdTRUE;
    return pdTRUE;
}

BaseType_t xQueueReceive(QueueHandle_t q, void *item, TickType_t ticks)
{
    (void)ticks;
    if (q->count == 0u) {
        return pdFALSE;
    }
    memcpy(item, &q->items[q->head * q->size], q->size);
    q->head = (q->head + 1u) % q->len;
    q->count--;
    return pdTRUE;
}

/* ---- set-up ---- */

static int reset(void **st)
{
    (void)st;
    memset(&drv, 0, sizeof drv);
    node = NULL;
    rx_queue = NULL;
    memset(tx_slot, 0, sizeof tx_slot);
    tx_next = 0;
    loopback_mode = false;
    atomic_store(&state, TWAI_ERROR_BUS_OFF);
    atomic_store(&bus_off_count, 0u);
    atomic_store(&reconnects, 0u);
    atomic_store(&bus_errors, 0u);
    atomic_store(&rx_drops, 0u);
    atomic_store(&rx_ignored, 0u);
    atomic_store(&tx_failed, 0u);
    tx_frames = tx_drops = tx_errors = rx_frames = recoveries = 0;
    logged_state = TWAI_ERROR_ACTIVE;
    bus_off_since_us = 0;
    (void)snprintf(last_error, sizeof last_error, "not started");
    (void)snprintf(interface, sizeof interface, "twai");
    return 0;
}

static vcan_frame_t frame(uint16_t id, uint8_t first)
{
    vcan_frame_t f = {.id = id, .dlc = 8};
    for (uint8_t i = 0; i < 8u; i++) {
        f.data[i] = (uint8_t)(first + i);
    }
    return f;
}

static status_can_t status(void)
{
    status_can_t s;
    fw_can_status(&s);
    return s;
}

/* ---- tests ---- */

static void test_open_normal_mode_sets_pins_bitrate_and_queue(void **st)
{
    (void)st;
    assert_int_equal(fw_can_open(4, 5, 500000, false), ESP_OK);
    assert_int_equal(drv.cfg.io_cfg.tx, 4);
    assert_int_equal(drv.cfg.io_cfg.rx, 5);
    assert_int_equal(drv.cfg.io_cfg.quanta_clk_out, GPIO_NUM_NC);
    assert_int_equal(drv.cfg.io_cfg.bus_off_indicator, GPIO_NUM_NC);
    assert_int_equal(drv.cfg.bit_timing.bitrate, 500000);
    assert_int_equal(drv.cfg.tx_queue_depth, FW_CAN_TX_QUEUE);
    assert_int_equal(drv.cfg.fail_retry_cnt, -1);
    assert_false(drv.cfg.flags.enable_self_test);
    assert_false(drv.cfg.flags.enable_loopback);
    assert_true(drv.enabled);
    status_can_t s = status();
    assert_true(s.connected);
    assert_string_equal(s.bus_state, "active");
    assert_string_equal(s.interface, "twai:tx=GPIO4,rx=GPIO5");
    assert_string_equal(fw_can_error(), "");
}

static void test_open_loopback_mode_needs_no_ack(void **st)
{
    (void)st;
    assert_int_equal(fw_can_open(21, 20, 500000, true), ESP_OK);
    assert_true(drv.cfg.flags.enable_self_test);
    assert_true(drv.cfg.flags.enable_loopback);
    assert_false(drv.cfg.flags.enable_listen_only);
    fw_diag_input_t in;
    memset(&in, 0, sizeof in);
    fw_can_diag(&in);
    assert_true(in.twai.loopback);
}

static void test_before_open_nothing_is_sent_and_the_link_is_down(void **st)
{
    (void)st;
    vcan_frame_t f = frame(0x351, 1);
    assert_false(fw_can_send(&f));
    status_can_t s = status();
    assert_false(s.connected);
    assert_string_equal(s.bus_state, "unknown");
    assert_int_equal(s.tx_drops, 1);
    assert_string_equal(fw_can_error(), "not started");
}

static void test_send_hands_the_frame_over_as_twai_wants_it(void **st)
{
    (void)st;
    assert_int_equal(fw_can_open(4, 5, 500000, false), ESP_OK);
    vcan_frame_t f = {.id = 0x35A, .dlc = 3, .data = {0xAA, 0xBB, 0xCC}};
    assert_true(fw_can_send(&f));
    assert_int_equal(drv.held_n, 1);
    const twai_frame_t *t = drv.held[0].frame;
    assert_int_equal(t->header.id, 0x35A);
    assert_int_equal(t->header.dlc, 3);
    assert_false(t->header.ide);
    assert_false(t->header.rtr);
    assert_int_equal(t->buffer_len, 3); /* the driver refuses dlc != len */
    assert_memory_equal(t->buffer, f.data, 3);
    assert_int_equal(status().tx_frames, 1);
}

/* The ring's promise: however the driver's queue fills and drains, no frame
 * it holds is overwritten (drv_finish checks each one it completes). */
static void test_no_frame_is_overwritten_while_the_driver_holds_it(void **st)
{
    (void)st;
    assert_int_equal(fw_can_open(4, 5, 500000, false), ESP_OK);
    uint8_t n = 0;
    for (int round = 0; round < 40; round++) {
        /* Fill the driver completely, then let it send a few. */
        while (drv.held_n < HELD_MAX) {
            vcan_frame_t f = frame((uint16_t)(0x300u + n), n);
            n++;
            assert_true(fw_can_send(&f));
        }
        vcan_frame_t extra = frame(0x7FF, 0xEE);
        assert_false(fw_can_send(&extra)); /* full: dropped, nothing overwritten */
        for (int k = 0; k < 1 + round % 5; k++) {
            drv_finish(true);
        }
        for (size_t i = 0; i < drv.held_n; i++) {
            assert_int_equal(drv.held[i].frame->header.id, drv.held[i].id);
            assert_memory_equal(drv.held[i].frame->buffer, drv.held[i].data, 8);
        }
    }
    while (drv.held_n > 0u) {
        drv_finish(true);
    }
    status_can_t s = status();
    assert_int_equal(s.tx_drops, 40);
    assert_int_equal(s.tx_errors, 0);
}

static void test_a_failed_transmission_counts_as_a_tx_error(void **st)
{
    (void)st;
    assert_int_equal(fw_can_open(4, 5, 500000, false), ESP_OK);
    vcan_frame_t f = frame(0x351, 0);
    assert_true(fw_can_send(&f));
    drv_finish(false);
    assert_int_equal(status().tx_errors, 1);
}

static void test_received_frames_reach_the_task_and_odd_ones_do_not(void **st)
{
    (void)st;
    assert_int_equal(fw_can_open(4, 5, 500000, false), ESP_OK);
    static const uint8_t ka[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    drv_receive(0x305, ka, 8, false, false);
    drv_receive(0x18FF50E5, ka, 8, true, false); /* extended: not Victron CAN-BMS */
    drv_receive(0x307, ka, 0, false, true);      /* remote frame */
    drv_receive(0x307, ka, 12, false, false);    /* a dlc above 8 is cut to 8 */
    vcan_frame_t f;
    assert_true(fw_can_recv(&f));
    assert_int_equal(f.id, 0x305);
    assert_int_equal(f.dlc, 8);
    assert_memory_equal(f.data, ka, 8);
    assert_true(fw_can_recv(&f));
    assert_int_equal(f.id, 0x307);
    assert_int_equal(f.dlc, 8);
    assert_false(fw_can_recv(&f));
    assert_int_equal(status().rx_frames, 2);
    assert_int_equal(atomic_load(&rx_ignored), 2);
}

static void test_a_full_receive_queue_counts_rx_errors(void **st)
{
    (void)st;
    assert_int_equal(fw_can_open(4, 5, 500000, false), ESP_OK);
    static const uint8_t d[8] = {0};
    for (unsigned i = 0; i < FW_CAN_RX_QUEUE + 3u; i++) {
        drv_receive(0x305, d, 8, false, false);
    }
    status_can_t s = status();
    assert_int_equal(s.rx_errors, 3);
    fw_diag_input_t in;
    memset(&in, 0, sizeof in);
    fw_can_diag(&in);
    assert_int_equal(in.twai.rx_queue_drops, 3);
}

static void test_bus_off_is_recovered_after_the_delay_and_counted(void **st)
{
    (void)st;
    assert_int_equal(fw_can_open(4, 5, 500000, false), ESP_OK);
    uint64_t t = 1000000u;
    fw_can_tick(t);
    drv.tec = 255;
    drv_state(TWAI_ERROR_PASSIVE);
    fw_can_tick(t);
    drv_state(TWAI_ERROR_BUS_OFF);
    vcan_frame_t f = frame(0x351, 0);
    assert_false(fw_can_send(&f)); /* bus-off: dropped */
    fw_can_tick(t);
    status_can_t s = status();
    assert_false(s.connected);
    assert_string_equal(s.bus_state, "bus-off");
    assert_int_equal(s.bus_off_count, 1);
    assert_int_equal(s.tx_error_counter, 255);
    assert_int_equal(s.tx_drops, 1);
    assert_string_equal(fw_can_error(), "bus-off");

    fw_can_tick(t + FW_CAN_RECOVER_DELAY_US - 1u);
    assert_int_equal(drv.recover_calls, 0); /* a broken bus is not hammered */
    fw_can_tick(t + FW_CAN_RECOVER_DELAY_US);
    assert_int_equal(drv.recover_calls, 1);
    fw_can_tick(t + FW_CAN_RECOVER_DELAY_US + 1000u);
    assert_int_equal(drv.recover_calls, 1); /* once per wait */
    fw_can_tick(t + 2u * FW_CAN_RECOVER_DELAY_US);
    assert_int_equal(drv.recover_calls, 2); /* still off: started again */

    drv.tec = 0;
    drv_state(TWAI_ERROR_ACTIVE);
    fw_can_tick(t + 2u * FW_CAN_RECOVER_DELAY_US + 5000u);
    s = status();
    assert_true(s.connected);
    assert_string_equal(s.bus_state, "active");
    assert_int_equal(s.reconnects, 1);
    assert_string_equal(fw_can_error(), "");
    fw_diag_input_t in;
    memset(&in, 0, sizeof in);
    fw_can_diag(&in);
    assert_int_equal(in.twai.recoveries, 2);
    assert_true(fw_can_send(&f));
}

static void test_bus_errors_are_counted_for_the_diagnostics(void **st)
{
    (void)st;
    assert_int_equal(fw_can_open(4, 5, 500000, false), ESP_OK);
    twai_error_event_data_t e = {.err_flags = 1u};
    for (int i = 0; i < 3; i++) {
        (void)drv.cbs.on_error((twai_node_handle_t)(void *)&drv.node, &e, NULL);
    }
    fw_diag_input_t in;
    memset(&in, 0, sizeof in);
    fw_can_diag(&in);
    assert_int_equal(in.twai.bus_errors, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_open_normal_mode_sets_pins_bitrate_and_queue, reset),
        cmocka_unit_test_setup(test_open_loopback_mode_needs_no_ack, reset),
        cmocka_unit_test_setup(test_before_open_nothing_is_sent_and_the_link_is_down, reset),
        cmocka_unit_test_setup(test_send_hands_the_frame_over_as_twai_wants_it, reset),
        cmocka_unit_test_setup(test_no_frame_is_overwritten_while_the_driver_holds_it, reset),
        cmocka_unit_test_setup(test_a_failed_transmission_counts_as_a_tx_error, reset),
        cmocka_unit_test_setup(test_received_frames_reach_the_task_and_odd_ones_do_not, reset),
        cmocka_unit_test_setup(test_a_full_receive_queue_counts_rx_errors, reset),
        cmocka_unit_test_setup(test_bus_off_is_recovered_after_the_delay_and_counted, reset),
        cmocka_unit_test_setup(test_bus_errors_are_counted_for_the_diagnostics, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
