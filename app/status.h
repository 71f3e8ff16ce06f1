/*
 * status.h - the typed status snapshot (architecture.md "typed status
 * snapshot --> renderers"): every value of the status document, as plain
 * data, built once a second from the bridge by status_build() and handed
 * on by value or const pointer. The renderers draw from it and from
 * nothing else: the JSON of GET /api/status and the WebSocket
 * (status_json.h), the Prometheus text (metrics.h), the MQTT topics and
 * Home Assistant discovery (mqtt_topics.h). Nothing parses a status
 * document back to learn a value.
 *
 * status_t has fixed-size arrays only and no pointer except to static
 * strings (names from the core's *_name() functions, the program
 * version): a copy by assignment is a complete, independent snapshot, safe
 * to hand to another thread.
 *
 * Values are those of the document, in its units and with its rounding
 * (voltage in V to 3 decimals, cell mV to 0.1...), so every rendering
 * shows the same number. A value with known == false is null in the JSON
 * and absent from metrics and MQTT.
 */
#ifndef STATUS_H
#define STATUS_H

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
    const char *bus_state; /* "active", "bus-off"... (static string) */
    uint8_t tx_error_counter;
    uint8_t rx_error_counter;
    bool connected;
    const char *interface; /* the spec, e.g. "slcan:/dev/ttyACM0" (copied by status_build) */
} status_can_t;

#define STATUS_PACKS_MAX BRG_MAX_PACKS
#define STATUS_NAME_MAX  17u /* a pack's name (CFG_PACK_NAME_LEN) */

/* What status_build reads; nothing of it is kept. */
typedef struct {
    const brg_t *bridge;
    uint64_t now_us;    /* monotonic, same clock as the bridge */
    uint64_t uptime_ms; /* since the bridge started */
    uint64_t time_ms;   /* wall clock (ms since the epoch) when the snapshot was made */
    bool uart_open;          /* pack 1's serial port (stats.uart with one pack) */
    const char *uart_device; /* its path, or "simulator" (copied) */
    /* Per pack (0-based, up to the bridge's n_packs): its serial port and
     * name. pack_uart_device[0] NULL: pack 1 is uart_open/uart_device
     * above; another NULL device is "" (closed). A NULL or "" name is
     * "Pack N". All copied. */
    bool pack_uart_open[STATUS_PACKS_MAX];
    const char *pack_uart_device[STATUS_PACKS_MAX];
    const char *pack_name[STATUS_PACKS_MAX];
    status_can_t can;
    const char *version;   /* program version (static string, kept) */
    const char *cvl_state; /* charge controller state name (static); NULL when none */
} status_input_t;

#define STATUS_CELLS_MAX TBMS_MAX_CELLS
#define STATUS_CONDS_MAX ((unsigned)VCAN_COND_COUNT)
#define STATUS_PATH_MAX  128u /* device paths, CAN interface spec (CFG_PATH_LEN) */

/* A number of the document: null in the JSON when !known. */
typedef struct {
    bool known;
    double v;
} status_num_t;

typedef struct {
    uint8_t index; /* 1-based */
    double mv;     /* 0.1 mV resolution */
    bool balancing;
    bool needs_balancing;
} status_cell_t;

typedef enum { STATUS_LEVEL_OK = 0, STATUS_LEVEL_WARNING, STATUS_LEVEL_ALARM } status_level_t;

typedef struct {
    const char *name; /* alm_condition_name(), e.g. "high_voltage" */
    status_level_t level;
} status_cond_t;


/* What a TinyBMS says of itself (the top level's and each pack's "bms"). */
typedef struct {
    bool have_version;
    char hardware[16]; /* "2.1" */
    char firmware[24]; /* "5 (internal 1234)" */
    bool have_settings;
    uint16_t series_cells;
    double capacity_ah;
    uint16_t over_voltage_cutoff_mv, under_voltage_cutoff_mv;
    uint16_t charge_over_current_a, discharge_over_current_a;
} status_bms_t;

/* One pack of the bank (with one pack: that pack, the battery itself).
 * Values as the battery's (same units and rounding), from the pack's own
 * TinyBMS. With one pack: state "online" while the battery's data is valid,
 * else "offline"; member = online; blocking as 0x372 reports it; no share. */
typedef struct {
    uint8_t index;               /* 1-based */
    char name[STATUS_NAME_MAX];  /* "Pack 1" unless configured */
    const char *state;           /* bank_pack_state_name(): online, joining, silent, offline */
    bool member;                 /* counted in the bank */
    bool blocks_charge, blocks_discharge;
    bool bounds_ccl, bounds_dcl; /* its limit over its share bounds the bank's CCL / DCL */
    bool data_valid;             /* its own last read within the stale limit */
    status_num_t data_age_ms;    /* since its last valid read (known once one exists) */
    status_num_t voltage, current, power_w, soc_percent, soh_percent, temperature;
    status_num_t min_cell_mv, max_cell_mv, cell_imbalance_mv, cell_count, capacity_ah;
    status_num_t online_status;     /* its register 50 */
    const char *online_status_name; /* NULL when not known */
    uint8_t cells_n;
    status_cell_t cells[STATUS_CELLS_MAX];
    struct {
        status_num_t cvl_v, ccl_a, dcl_a, dvl_v; /* its own limits (L_i: base + derating) */
        uint32_t reasons;                        /* CHG_REASON_* of those, 0 unless known */
        /* share used by the bank, % with 1 decimal; unknown with one pack
         * and for a pack that does not take part */
        status_num_t share_charge_pct, share_discharge_pct;
        bool share_charge_measured, share_discharge_measured;
    } limits;
    struct {
        uint32_t polls, success, errors, timeouts, crc_errors;
        double latency_avg_ms; /* 3 decimals */
        bool open;
        char device[STATUS_PATH_MAX];
    } uart;
    status_bms_t bms; /* its own TinyBMS (capacity_ah: the pack's, as capacity_ah above) */
} status_pack_t;

typedef struct {
    uint64_t seq; /* publication number, from 1; 0 = never built */

    /* battery (known once a reading exists, maybe old) */
    status_num_t voltage;     /* V, 3 decimals */
    status_num_t current;     /* A, 3 decimals, positive = charging */
    status_num_t power_w;     /* W, 1 decimal */
    status_num_t soc_percent; /* 2 decimals */
    status_num_t soh_percent; /* 2 decimals */
    status_num_t temperature; /* degC, 1 decimal: mean of the used sensors (0x356) */
    status_num_t min_cell_mv;
    status_num_t max_cell_mv;
    status_num_t cell_imbalance_mv;
    status_num_t online_status;     /* TinyBMS register 50 */
    const char *online_status_name; /* NULL when not known */
    uint64_t uptime_ms;
    uint64_t time_ms;
    bool data_valid;        /* fresh data, battery frames sent */
    const char *data_state; /* brg_data_state_name() */
    status_num_t data_age_ms;
    status_num_t cell_count;
    uint8_t cells_n; /* entries in cells[] (0 before the first reading) */
    status_cell_t cells[STATUS_CELLS_MAX];

    struct {
        status_num_t external_1_c, external_2_c, internal_c;
        uint8_t used_mask; /* PTEMP_BIT of pack_temp.h */
        uint8_t lost_mask;
        bool fallback;
        bool usable;
        status_num_t min_c, max_c;
    } temps;

    struct {
        status_num_t cvl_v, ccl_a, dcl_a, dvl_v; /* V 2 decimals, A 1 decimal */
        bool sent;
        uint32_t reasons; /* CHG_REASON_* bits, 0 unless the limits are known */
    } limits;

    struct {
        uint8_t count; /* supported conditions (none before the first reading) */
        status_cond_t cond[STATUS_CONDS_MAX];
        status_level_t worst;
    } alarms;

    struct {
        bool keepalive_ok;
        status_num_t keepalive_age_ms;
        bool victron_handshake;
    } gx;

    struct {
        double charged_kwh, discharged_kwh; /* 3 decimals */
    } energy;

    struct {
        uint32_t polls, success, errors, timeouts, crc_errors, retries, failures, nacks, truncated,
            unexpected, garbage_bytes;
        double latency_avg_ms, latency_last_ms, latency_max_ms; /* 3 decimals */
        bool open;
        char device[STATUS_PATH_MAX];
    } uart;

    struct {
        uint32_t tx_count, tx_errors, tx_drops, rx_count, rx_errors, reconnects, bus_off_count;
        const char *bus_state; /* never NULL once built */
        uint8_t tx_error_counter, rx_error_counter;
        bool connected;
        bool keepalive_ok;
        char interface[STATUS_PATH_MAX];
    } can;

    struct {
        const char *state; /* NULL when none */
        status_num_t cvl_voltage_v, ccl_limit_a, dcl_limit_a;
    } cvl;

    struct {
        uint32_t frames, stale_events, decode_errors, keepalive_rx;
    } bridge;

    status_bms_t bms; /* a bank: pack 1's version, the bank's settings and capacity */

    /* The packs (1 with one pack) and how the bank combines them. With
     * one pack: bounds NULL, packs 0, no warnings, the 0x372 counts and
     * capacities of the pack. */
    uint8_t packs_n;
    status_pack_t packs[STATUS_PACKS_MAX];
    struct {
        const char *ccl_bound, *dcl_bound; /* bank_bound_name(); NULL with one pack */
        uint8_t ccl_pack, dcl_pack;        /* 1-based pack bounding it by its share, 0 none */
        uint32_t warnings;                 /* BANK_WARN_* (status_bank_warning_name) */
        uint8_t online, blocking_charge, blocking_discharge, offline; /* 0x372 */
        double capacity_ah, online_capacity_ah; /* 0x379 installed, online members */
    } bank;

    const char *version; /* NULL: not given */
} status_t;

/*
 * Fills *out from in (the bridge as of in->now_us) and gives it number seq.
 * The top level is the battery (with several packs the bank, as the
 * bridge's battery view); packs[] each pack. With several packs the top
 * level stats.uart sums the packs' counters (latency: the mean over every
 * answer, the highest last and max), is open when every pack's port is,
 * and names pack 1's device.
 * Returns false (and leaves *out as it was) when in, in->bridge or out is
 * NULL. No allocation; cost: one pass over cells and conditions per pack.
 */
bool status_build(const status_input_t *in, uint64_t seq, status_t *out);

/* "ok", "warning", "alarm". */
const char *status_level_name(status_level_t l);

/* Name of one BANK_WARN_* bit ("pack_offline", "pack_silent",
 * "pack_blocking", "voltage_mismatch", "cells_mismatch"); NULL for any
 * other value (several bits, or none). */
const char *status_bank_warning_name(uint32_t bit);

/* Name of a TinyBMS status code for the UI ("charging", "fault"...). */
const char *status_bms_state_name(uint16_t online_status);

#endif /* STATUS_H */
