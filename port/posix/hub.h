/*
 * hub.h - the only meeting point between the bridge's event loop and the
 * server threads (HTTP/WebSocket, MQTT). architecture.md: servers "read a
 * published copy of the status, never the live structs" and "hand requests
 * to the application layer through a small locked interface".
 *
 * Loop side: publish documents (never blocks beyond a pointer swap under a
 * mutex), take pending commands. Server side: copy documents, wait for a
 * new status, post commands and wait for their results with a timeout.
 * A command wakes the loop through an eventfd the loop polls.
 */
#ifndef HUB_H
#define HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "status.h"
#include "victron_can.h"

typedef enum {
    HUB_DOC_STATUS = 0, /* GET /api/status, WebSocket push (hub_publish_status) */
    HUB_DOC_REGISTERS,  /* GET /api/tinybms/registers: pack 1's (hub_doc_registers) */
    HUB_DOC_DIAGNOSTICS, /* GET /api/diagnostics (JSON, port/linux/diag.h) */
    HUB_DOC_HISTORY,
    HUB_DOC_METRICS,     /* GET /metrics: Prometheus text 0.0.4, not JSON (app/metrics.h) */
    HUB_DOC_REGISTERS_2, /* ?pack=2..4: the register documents of packs 2..4 */
    HUB_DOC_REGISTERS_3,
    HUB_DOC_REGISTERS_4,
    HUB_DOC_COUNT_
} hub_doc_t;

/* The register document of pack (0-based): HUB_DOC_REGISTERS for pack 0,
 * HUB_DOC_REGISTERS_2.. after; HUB_DOC_COUNT_ (no document) beyond
 * CFG_MAX_PACKS. */
hub_doc_t hub_doc_registers(size_t pack);

/* One CAN frame seen by the bridge, for the CAN monitor. */
typedef struct {
    uint64_t seq;   /* increasing, from 1 */
    uint64_t t_ms;  /* wall clock, ms since the epoch */
    bool tx;        /* sent by the bridge (else received) */
    vcan_frame_t frame;
} hub_can_entry_t;

#define HUB_CAN_RING 256u

/* A settings write to the TinyBMS, posted by a server, done by the loop. */
#define HUB_WRITE_MAX 44u
typedef struct {
    uint8_t pack; /* 0-based */
    uint16_t addr;
    uint16_t count;
    uint16_t values[HUB_WRITE_MAX];
} hub_write_req_t;

typedef struct {
    int status;           /* 0 done and verified; else an error code chosen by the loop */
    char message[256];    /* human-readable outcome */
    uint16_t readback[HUB_WRITE_MAX];
} hub_write_result_t;

typedef struct hub hub_t;

/* NULL when out of memory or the eventfd cannot be made. */
hub_t *hub_create(void);
void hub_destroy(hub_t *h);

/* eventfd that becomes readable when a command is waiting (loop polls it). */
int hub_wake_fd(const hub_t *h);
/* Clears the wake-up (loop, after taking commands). */
void hub_clear_wake(hub_t *h);

/* ---- loop side ---- */

/* Replaces a document; the hub takes ownership of json (malloc'd). The
 * status goes through hub_publish_status (HUB_DOC_STATUS here replaces the
 * text alone and forgets the snapshot). */
void hub_publish(hub_t *h, hub_doc_t doc, char *json);
/* Publishes the status: the typed snapshot (copied under the lock) and its
 * JSON rendering for REST and the WebSocket (json malloc'd, the hub takes
 * it; may be NULL when rendering ran out of memory: the old text stays).
 * One publication: the HUB_DOC_STATUS number advances once and
 * hub_wait_status waiters wake. Cost: one status_t copy under the mutex. */
void hub_publish_status(hub_t *h, const status_t *st, char *json);
void hub_push_can(hub_t *h, bool tx, const vcan_frame_t *f, uint64_t t_ms);
/* A configuration a server posted with hub_apply_config: true, *out and
 * *seq filled, once per post. The loop must then call hub_finish_config
 * with that seq exactly once (it may call it late: nobody may wait). */
bool hub_take_config(hub_t *h, cfg_t *out, uint64_t *seq);
/* The outcome of applying configuration seq: applied non-NULL = it runs now
 * (it becomes the running configuration of hub_get_running_config, before
 * any waiter wakes); NULL = refused, why says why (copied, may be NULL).
 * Never blocks beyond the hub's mutex. */
void hub_finish_config(hub_t *h, uint64_t seq, const cfg_t *applied, const char *why);
/* A pending TinyBMS write: true and *out filled; the loop must then call
 * hub_finish_write exactly once. */
bool hub_take_write(hub_t *h, hub_write_req_t *out);
void hub_finish_write(hub_t *h, const hub_write_result_t *res);

/* ---- server side ---- */

/* Copy of a document (malloc'd, caller frees) or NULL if none yet;
 * *seq (may be NULL) receives its publication number. */
char *hub_get(hub_t *h, hub_doc_t doc, uint64_t *seq);
/* Copy of the latest status snapshot into *out: true, or false (out
 * untouched) before the first hub_publish_status; *seq (may be NULL)
 * receives the HUB_DOC_STATUS publication number. MQTT, metrics and
 * diagnostics read the status this way, never by parsing its text. */
bool hub_get_status(hub_t *h, status_t *out, uint64_t *seq);
/* The packs of the latest status snapshot (status_t.packs_n), 0 before
 * the first hub_publish_status. */
size_t hub_pack_count(hub_t *h);
/* Waits until the status is newer than after_seq or timeout_ms passed;
 * returns the current status sequence number. */
uint64_t hub_wait_status(hub_t *h, uint64_t after_seq, int timeout_ms);
/* Frames with seq > since, oldest first, at most cap; returns the count. */
size_t hub_can_since(hub_t *h, uint64_t since, hub_can_entry_t *out, size_t cap);
/* Outcome of hub_apply_config. */
typedef enum {
    HUB_CONFIG_APPLIED = 0, /* the loop applied it: it is the running configuration */
    HUB_CONFIG_REFUSED,     /* the loop refused it; nothing changed; why says why */
    HUB_CONFIG_PENDING,     /* no outcome within the wait: it stays posted, the loop
                             * applies (or refuses) it when it takes it */
    HUB_CONFIG_BUSY,        /* an earlier configuration has no outcome yet: this
                             * one was not posted */
} hub_config_outcome_t;

/* Hands a new (validated) configuration to the loop and waits up to
 * timeout_ms for the loop's hub_finish_config of exactly this post (each
 * post gets the next sequence number, *seq when not NULL; 0 when BUSY).
 * why (why_cap bytes, may be NULL) receives the loop's reason on REFUSED.
 * Blocks the calling server thread only; the loop never waits. */
hub_config_outcome_t hub_apply_config(hub_t *h, const cfg_t *cfg, int timeout_ms, uint64_t *seq,
                                      char *why, size_t why_cap);
/* The configuration the bridge runs with now (servers read it for GET and
 * for credentials); set at start and by each applied configuration. */
void hub_set_running_config(hub_t *h, const cfg_t *cfg);
void hub_get_running_config(hub_t *h, cfg_t *out);
/* Serialises configuration changes between servers (read-merge-save). */
void hub_config_lock(hub_t *h);
void hub_config_unlock(hub_t *h);
/* Posts a TinyBMS write and waits up to timeout_ms for the loop's result.
 * Returns false on timeout or when another write is in progress
 * (res->message says which). */
bool hub_write(hub_t *h, const hub_write_req_t *req, int timeout_ms, hub_write_result_t *res);

#endif /* HUB_H */
