/*
 * status_json.h - the status document of GET /api/status, the WebSocket
 * push and MQTT, built from the bridge state. Field names follow the seed
 * README's API (voltage, current, soc_percent, ..., stats.uart, stats.can,
 * stats.cvl); see docs/api.md for every field.
 *
 * Values are never presented as fresh when they are not: `data_valid` is
 * false unless the bridge is sending frames on data younger than
 * bms_timeout_ms, and the battery values are null before the first read.
 */
#ifndef STATUS_JSON_H
#define STATUS_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "bridge.h"

/* CAN port figures, copied by the platform layer (app/ sees no port type). */
typedef struct {
    uint32_t tx_frames;
    uint32_t tx_drops;
    uint32_t tx_errors;
    uint32_t rx_frames;
    uint32_t rx_errors;
    uint32_t reconnects;
    uint32_t bus_off_count;
    const char *bus_state; /* "active", "bus-off"... */
    uint8_t tx_error_counter;
    uint8_t rx_error_counter;
    bool connected;
    const char *interface; /* the spec, e.g. "slcan:/dev/ttyACM0" */
} status_can_t;

typedef struct {
    const brg_t *bridge;
    uint64_t now_us;    /* monotonic, same clock as the bridge */
    uint64_t uptime_ms; /* since the bridge started */
    uint64_t time_ms;   /* wall clock (ms since the epoch) when the document was made */
    bool uart_open;
    const char *uart_device; /* path, or "simulator" */
    status_can_t can;
    const char *version;   /* program version */
    const char *cvl_state; /* charge controller state name; NULL when none */
} status_input_t;

/* The document as a NUL-terminated malloc'd string (caller frees), or NULL
 * when memory runs out. */
char *status_json(const status_input_t *in);

/* Name of a TinyBMS status code for the UI ("charging", "fault"...). */
const char *status_bms_state_name(uint16_t online_status);

#endif /* STATUS_JSON_H */
