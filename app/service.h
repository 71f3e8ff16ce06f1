/*
 * service.h - the bridge's decisions above the core, for every platform
 * (architecture.md "app: [service]"): the configuration that runs and how
 * a new one is applied, the status cadence, the energy-persistence
 * policy, alarm events and change reports, the 0x351 timing figures.
 *
 * A port owns the devices, the clock and the threads; it moves bytes and
 * frames between them and the service and calls svc_tick() every turn of
 * its loop. Everything the service does outside itself goes through the
 * const table of svc_ops_t (storage, log, publish), given at init. No file
 * statics: several instances can run side by side (tests, several packs).
 *
 *   port: UART bytes  -> svc_uart_rx()          svc_uart_step() -> bytes to send
 *         CAN frames  -> svc_can_rx()           svc_can_tx()    -> frames to send
 *                                               svc_frame_sent() <- what went out
 *         every turn  -> svc_tick(now, io)      -> ops: log, publish, save energy
 *         new config  -> svc_apply_config()     (the one path, also at start)
 */
#ifndef SERVICE_H
#define SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge.h"
#include "config.h"
#include "history.h"
#include "samples.h"
#include "settings_write.h"
#include "status.h"

typedef enum { SVC_LOG_ERROR = 0, SVC_LOG_WARNING, SVC_LOG_INFO, SVC_LOG_DEBUG } svc_log_level_t;

typedef struct svc svc_t;

/* The platform's side. log and save_energy are required; publish_status
 * may be NULL (no servers). */
typedef struct {
    /* One finished log line (no newline). */
    void (*log)(void *ctx, svc_log_level_t level, const char *line);
    /* Persist the 0x378 counters; false when that failed (the service logs
     * it and tries again at the next period). */
    bool (*save_energy)(void *ctx, uint64_t charged_mwh, uint64_t discharged_mwh);
    /* The typed status snapshot for the servers, once a second; *status
     * is the service's, valid during the call (copy it to keep it). Its
     * seq increases by one at each publication, from 1. */
    void (*publish_status)(void *ctx, const status_t *status);
    /* The chart history changed (svc_history); may be NULL. */
    void (*publish_history)(void *ctx, const svc_t *svc);
    /* Time for a new register view (every SVC_REGISTERS_PERIOD_US); may be NULL. */
    void (*publish_registers)(void *ctx, const svc_t *svc, uint64_t now_us);
} svc_ops_t;

/* What only the platform knows, handed to svc_tick (copied, not kept). */
typedef struct {
    bool uart_open[BRG_MAX_PACKS];           /* pack i's serial port is open */
    const char *uart_device[BRG_MAX_PACKS];  /* its path, or "simulator N" */
    status_can_t can;
    const char *can_error; /* why the CAN link is down, for the change report */
    uint64_t time_ms;      /* wall clock for the documents */
} svc_io_t;

/* Figures of the 0x351 timing, from svc_frame_sent (microseconds). */
typedef struct {
    uint32_t age_p50_us, age_p99_us, age_max_us;       /* data age of its values */
    uint32_t period_p50_us, period_p99_us, period_max_us; /* time between two */
    uint64_t count;
} svc_timing_t;

#define SVC_ENERGY_SAVE_PERIOD_US (300u * 1000000u) /* every 5 minutes, and at stop */
#define SVC_STATUS_PERIOD_US      1000000u          /* status documents */
#define SVC_SUMMARY_PERIOD_US     30000000u         /* one summary log line */
#define SVC_REGISTERS_PERIOD_US   2000000u          /* register view documents */

struct svc {
    const svc_ops_t *ops;
    void *ctx;
    const char *version;
    cfg_t cfg;
    brg_t brg;
    uint64_t start_us;
    brg_data_state_t last_state;
    bool last_keepalive;
    bool last_can_connected;
    bool have_io;
    svc_io_t io;
    uint64_t next_summary_us;
    uint64_t next_energy_save_us;
    uint64_t next_publish_us;
    samples_t age_351;
    samples_t period_351;
    uint64_t last_351_us;
    uint32_t scratch[SAMPLES_MAX]; /* percentiles */
    sw_state_t write;              /* the TinyBMS settings write in progress */
    uint64_t next_registers_us;
    history_t history; /* the charts: a sample every 10 s while the data is valid */
    status_t status;   /* the snapshot last published (seq 0: none yet) */
};

/*
 * Starts the service with a validated configuration at now_us. Returns
 * TBMS_OK, TBMS_ERR_ARG (NULL, or ops->log / ops->save_energy missing) or
 * the bridge's error for a configuration it refuses. version is kept (a
 * static string).
 */
tbms_err_t svc_init(svc_t *s, const cfg_t *cfg, const svc_ops_t *ops, void *ctx,
                    const char *version, uint64_t now_us);

/*
 * The one path from a configuration to the running bridge after start
 * (bridge_config_from_cfg, brg_reconfigure). On error nothing changes and
 * why (cap bytes, may be NULL) says why.
 */
tbms_err_t svc_apply_config(svc_t *s, const cfg_t *cfg, uint64_t now_us, char *why, size_t cap);

/* The configuration running now. */
const cfg_t *svc_config(const svc_t *s);

/* The bridge state (for renderers and the platform's CAN monitor). */
const brg_t *svc_bridge(const svc_t *s);
brg_t *svc_bridge_mut(svc_t *s);

/* Restored counters of 0x378 (energy store). */
void svc_set_energy(svc_t *s, uint64_t charged_mwh, uint64_t discharged_mwh);

/* UART (per pack, 0-based) and CAN, as bridge.h. */
bool svc_uart_step(svc_t *s, size_t pack, uint64_t now_us, tbms_poll_tx_t *tx);
void svc_uart_rx(svc_t *s, size_t pack, const uint8_t *data, size_t n, uint64_t now_us);
size_t svc_can_tx(svc_t *s, uint64_t now_us, vcan_frame_t *out, size_t cap);
void svc_can_rx(svc_t *s, const vcan_frame_t *f, uint64_t now_us);

/* The platform reports each frame it handed to the bus (sent) or not;
 * feeds the 0x351 timing figures. */
void svc_frame_sent(svc_t *s, const vcan_frame_t *f, bool sent, uint64_t now_us);

/*
 * One turn: change reports (data valid/stale, GX keepalive, CAN link),
 * alarm events, the periodic summary line, energy saves, history samples
 * (only while the data is valid; a gap marker when it stops being) and
 * the status, history and register publications, each on its own cadence.
 */
void svc_tick(svc_t *s, uint64_t now_us, const svc_io_t *io);

/* Earliest time svc_tick or the bridge has work (the port may wake earlier). */
uint64_t svc_next_us(const svc_t *s);

/*
 * A user's TinyBMS settings write to pack (0-based) (settings_write.h):
 * checked, then queued.
 * Returns true with *out filled when it is finished at once (refused);
 * false when queued: svc_write_poll reports it. Outcomes are logged.
 */
bool svc_write_start(svc_t *s, size_t pack, uint16_t addr, const uint16_t *values, uint16_t count,
                     uint64_t now_us, sw_result_t *out);
bool svc_write_poll(svc_t *s, sw_result_t *out);
bool svc_write_busy(const svc_t *s);

/* At stop: the last alarm events and a final energy save. */
void svc_stop(svc_t *s, uint64_t now_us);

/* The status snapshot (status.h) as of now_us with the io last given to
 * svc_tick, numbered seq, into *out; false when s or out is NULL. Builds
 * only (the publication number is the service's own, in the published
 * snapshot). */
bool svc_status(const svc_t *s, uint64_t now_us, uint64_t seq, status_t *out);

/* The chart history. */
const history_t *svc_history(const svc_t *s);

/* The 0x351 timing figures so far (sorts in s's scratch). */
void svc_timing(svc_t *s, svc_timing_t *out);

#endif /* SERVICE_H */
