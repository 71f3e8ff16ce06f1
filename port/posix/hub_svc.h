/*
 * hub_svc.h - the bridge loop's side of the hub, the same in every port
 * (Linux daemon, ESP32 bridge task): the service's publications (its
 * svc_ops_t publish_* entries) rendered into hub documents, and a
 * configuration a server posted handed to the service and its outcome
 * reported back. The TinyBMS write hand-over is http_write.h.
 */
#ifndef HUB_SVC_H
#define HUB_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "service.h"

/* The status snapshot and its JSON (status_json) as one publication. */
void hub_svc_publish_status(hub_t *hub, const status_t *st);
/* The chart history document (history_json); kept as it was when
 * rendering runs out of memory. */
void hub_svc_publish_history(hub_t *hub, const svc_t *svc);
/* One register document per pack (hub_doc_registers), wall_ms the wall
 * clock for their time stamps. */
void hub_svc_publish_registers(hub_t *hub, const svc_t *svc, uint64_t now_us, uint64_t wall_ms);

typedef enum {
    HUB_SVC_NONE = 0, /* nothing was posted */
    HUB_SVC_APPLIED,  /* it runs now: *applied is it */
    HUB_SVC_REFUSED,  /* refused, nothing changed: why says why */
} hub_svc_config_t;

/* What the port adds to the hand-over; every entry may be NULL. */
typedef struct {
    /* The port's own checks of a posted configuration (the ESP32's pins):
     * false refuses it, why (cap bytes) says why, nothing changes. */
    bool (*check)(void *ctx, const cfg_t *posted, char *why, size_t cap);
    /* The port's parts that follow an applied configuration (log level,
     * MQTT, watchdog, log file), called before the server's wait ends, so
     * a client that got "applied" finds them following it. */
    void (*applied)(void *ctx, const cfg_t *applied);
    void *ctx;
} hub_svc_port_t;

/*
 * A configuration a server posted (hub_take_config): port->check, then
 * svc_apply_config at now_us, then port->applied, then its outcome
 * reported with hub_finish_config (POST /api/settings saves the file only
 * once it is applied). why (cap bytes) receives the reason of a refusal.
 * The outcome is logged ("configuration changed and applied", or "new
 * configuration not applied: <why>").
 */
hub_svc_config_t hub_svc_take_config(hub_t *hub, svc_t *svc, uint64_t now_us,
                                     const hub_svc_port_t *port, char *why, size_t cap);

#endif /* HUB_SVC_H */
