/* Fake of ESP-IDF v6's esp_twai.h and esp_twai_types.h (hal/twai_types.h
 * included) for tests/unit/test_esp_can.c: the same type, field and
 * function names as the real headers, which scripts/esp32-check compiles
 * esp_can.c against; the test defines the functions. */
#ifndef FAKE_TWAI_ESP_TWAI_H
#define FAKE_TWAI_ESP_TWAI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#define TWAI_STD_ID_MASK   0x000007FFU
#define TWAI_FRAME_MAX_LEN 8

typedef enum {
    TWAI_ERROR_ACTIVE,
    TWAI_ERROR_WARNING,
    TWAI_ERROR_PASSIVE,
    TWAI_ERROR_BUS_OFF,
} twai_error_state_t;

typedef struct {
    uint32_t id;
    uint16_t dlc;
    struct {
        uint32_t ide : 1;
        uint32_t rtr : 1;
        uint32_t fdf : 1;
        uint32_t brs : 1;
        uint32_t esi : 1;
    };
    uint64_t timestamp;
} twai_frame_header_t;

typedef struct {
    twai_frame_header_t header;
    uint8_t *buffer;
    size_t buffer_len;
} twai_frame_t;

typedef struct twai_node_base *twai_node_handle_t;

typedef struct {
    twai_error_state_t state;
    uint16_t tx_error_count;
    uint16_t rx_error_count;
    uint32_t tx_queue_remaining;
} twai_node_status_t;

typedef struct {
    uint32_t bus_err_num;
} twai_node_record_t;

typedef struct {
    bool is_tx_success;
    const twai_frame_t *done_tx_frame;
} twai_tx_done_event_data_t;

typedef struct {
    int unused; /* empty in IDF */
} twai_rx_done_event_data_t;

typedef struct {
    twai_error_state_t old_sta;
    twai_error_state_t new_sta;
} twai_state_change_event_data_t;

typedef struct {
    uint32_t err_flags;
} twai_error_event_data_t;

typedef struct {
    bool (*on_tx_done)(twai_node_handle_t, const twai_tx_done_event_data_t *, void *);
    bool (*on_rx_done)(twai_node_handle_t, const twai_rx_done_event_data_t *, void *);
    bool (*on_state_change)(twai_node_handle_t, const twai_state_change_event_data_t *, void *);
    bool (*on_error)(twai_node_handle_t, const twai_error_event_data_t *, void *);
} twai_event_callbacks_t;

esp_err_t twai_node_enable(twai_node_handle_t node);
esp_err_t twai_node_recover(twai_node_handle_t node);
esp_err_t twai_node_delete(twai_node_handle_t node);
esp_err_t twai_node_register_event_callbacks(twai_node_handle_t node,
                                             const twai_event_callbacks_t *cbs, void *user_data);
esp_err_t twai_node_get_info(twai_node_handle_t node, twai_node_status_t *status_ret,
                             twai_node_record_t *statistics_ret);
esp_err_t twai_node_transmit(twai_node_handle_t node, const twai_frame_t *frame, int timeout_ms);
esp_err_t twai_node_receive_from_isr(twai_node_handle_t node, twai_frame_t *rx_frame);

#endif
