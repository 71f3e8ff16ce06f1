/*
 * Loop side of POST /api/tinybms/write: moves a posted write from the hub
 * to the service (app/settings_write.h decides, checks and verifies) and
 * its outcome back. No state of its own.
 */
#include <string.h>

#include "http_write.h"

static void finish(hub_t *hub, const sw_result_t *r)
{
    hub_write_result_t out;
    memset(&out, 0, sizeof out);
    out.status = (int)r->status;
    _Static_assert(sizeof out.readback == sizeof r->readback, "read-back sizes differ");
    memcpy(out.readback, r->readback, sizeof out.readback);
    _Static_assert(sizeof out.message >= sizeof r->message, "message sizes differ");
    memcpy(out.message, r->message, sizeof r->message);
    hub_finish_write(hub, &out);
}

void http_write_step(hub_t *hub, svc_t *svc, uint64_t now_us)
{
    sw_result_t r;
    if (svc_write_busy(svc)) {
        if (svc_write_poll(svc, &r)) {
            finish(hub, &r);
        }
        return;
    }
    hub_write_req_t req;
    if (hub_take_write(hub, &req) &&
        svc_write_start(svc, req.pack, req.addr, req.values, req.count, now_us, &r)) {
        finish(hub, &r);
    }
}
