/*
 * The bridge loop's side of the hub (hub_svc.h): renders what the service
 * publishes into hub documents and moves a posted configuration into the
 * service. No state of its own.
 */
#include "hub_svc.h"

#include "history.h"
#include "log.h"
#include "registers_json.h"
#include "status_json.h"

void hub_svc_publish_status(hub_t *hub, const status_t *st)
{
    hub_publish_status(hub, st, status_json(st));
}

void hub_svc_publish_history(hub_t *hub, const svc_t *svc)
{
    char *json = history_json(svc_history(svc));
    if (json != NULL) {
        hub_publish(hub, HUB_DOC_HISTORY, json);
    }
}

/* Pack 1's document is HUB_DOC_REGISTERS, as with one pack;
 * GET /api/tinybms/registers?pack=N picks one. */
void hub_svc_publish_registers(hub_t *hub, const svc_t *svc, uint64_t now_us, uint64_t wall_ms)
{
    const brg_t *b = svc_bridge(svc);
    for (size_t i = 0; i < b->n_packs && i < BRG_MAX_PACKS; i++) {
        char *json = registers_json(&b->bms[i].poller, now_us, wall_ms);
        if (json != NULL) {
            hub_publish(hub, hub_doc_registers(i), json);
        }
    }
}

hub_svc_config_t hub_svc_take_config(hub_t *hub, svc_t *svc, uint64_t now_us,
                                     const hub_svc_port_t *port, char *why, size_t cap)
{
    cfg_t c;
    uint64_t seq;
    if (!hub_take_config(hub, &c, &seq)) {
        return HUB_SVC_NONE;
    }
    void *ctx = port != NULL ? port->ctx : NULL;
    if ((port != NULL && port->check != NULL && !port->check(ctx, &c, why, cap)) ||
        svc_apply_config(svc, &c, now_us, why, cap) != TBMS_OK) {
        log_error("new configuration not applied: %s", why);
        hub_finish_config(hub, seq, NULL, why);
        return HUB_SVC_REFUSED;
    }
    if (port != NULL && port->applied != NULL) {
        port->applied(ctx, &c);
    }
    hub_finish_config(hub, seq, &c, NULL);
    log_info("configuration changed and applied");
    return HUB_SVC_APPLIED;
}
