/*
 * diag.h - what the bridge knows about its own health: the diagnostics
 * document (GET /api/diagnostics), the Prometheus text (GET /metrics), the
 * event-loop lag, the loop-stall watchdog and systemd's notify protocol.
 *
 * The event loop calls diag_at / diag_before_wait / diag_after_wait (a
 * few atomic stores, no lock) and diag_tick once per turn (it publishes
 * HUB_DOC_METRICS every second and HUB_DOC_DIAGNOSTICS every 2 s).
 *
 * A watchdog thread checks four times a second that the loop still turns.
 * When it has not for the stall limit (advanced.watchdog_timeout_s, default
 * DIAG_STALL_MS) it logs an ERROR naming where the loop was, and - under
 * systemd with WatchdogSec=, unless advanced.enable_watchdog is false -
 * stops sending WATCHDOG=1 so that systemd restarts the service: systemd
 * acts WatchdogSec after the last ping, so a stalled loop is restarted
 * between timeout + WatchdogSec/2 and timeout + WatchdogSec after it
 * stopped. With advanced.enable_watchdog false a stall is still logged and
 * counted but the pings go on. With libsystemd at build time
 * (TBVB_HAVE_SYSTEMD) the bridge also says READY=1 once running (for
 * Type=notify) and STOPPING=1 on the way out; without it these are no-ops.
 */
#ifndef DIAG_H
#define DIAG_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "hub.h"
#include "mqtt.h"

#define DIAG_STALL_MS 5000u

typedef struct diag diag_t;

/* Starts the watchdog thread. now_us: the loop's monotonic clock.
 * NULL when out of memory or the thread cannot start (logged). */
diag_t *diag_create(const char *version, uint64_t now_us);

/* Takes the watchdog settings (advanced.enable_watchdog,
 * advanced.watchdog_timeout_s) and the UART poll period shown in the
 * diagnostics. Call at start and after each configuration change; the
 * watchdog uses the new settings at its next check (within 250 ms). */
void diag_configure(diag_t *d, const cfg_t *cfg);

/* READY=1 to systemd (Type=notify): call once the devices are open. */
void diag_ready(diag_t *d);

/* Where the loop is now; `where` must be a static string. */
void diag_at(diag_t *d, const char *where);

/* Just before poll(): the time now and when the loop means to wake. */
void diag_before_wait(diag_t *d, uint64_t now_us, uint64_t planned_wake_us);
/* Just after poll(): timed_out says it woke for its deadline (the only
 * case in which lateness is measured). */
void diag_after_wait(diag_t *d, uint64_t now_us, bool timed_out);

/* Publishes what is due into the hub. mqtt may be NULL. Cost: about a
 * millisecond of JSON work once a second, plus reading /proc/self. */
void diag_tick(diag_t *d, uint64_t now_us, hub_t *hub, mqtt_t *mqtt);

/* STOPPING=1, stops the watchdog thread, frees. NULL is ok. */
void diag_destroy(diag_t *d);

#endif /* DIAG_H */
