/*
 * http_write.h - the bridge loop's side of POST /api/tinybms/write: the
 * hub's posted write to the service and its outcome back. The outcome
 * codes in hub_write_result_t.status are the service's sw_status_t
 * (app/settings_write.h).
 */
#ifndef HTTP_WRITE_H
#define HTTP_WRITE_H

#include <stdint.h>

#include "hub.h"
#include "service.h"

/*
 * Loop side of POST /api/tinybms/write, called on every loop turn: takes a
 * posted write from the hub and hands it to the service, which checks it
 * against the settings the bridge holds and queues it (app/settings_write.h);
 * when the poller has written and read back, reports through
 * hub_finish_write. Cheap when idle; never blocks.
 */
void http_write_step(hub_t *hub, svc_t *svc, uint64_t now_us);

#endif /* HTTP_WRITE_H */
