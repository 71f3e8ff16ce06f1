/*
 * web_internal.h - shared by the firmware's web server files only:
 *
 *   web.c     esp_http_server set-up, credentials, the REST API adapter
 *             (app/api.h over port/posix/hub_api.h), the embedded web UI
 *   web_ws.c  the WebSocket /ws: status pushes and CAN frames
 *   ota.c     POST/GET /api/ota: firmware upload to the inactive slot
 *
 * All handlers run on the one esp_http_server task; the WebSocket's sender
 * task only builds messages and queues their delivery onto that task.
 */
#ifndef WEB_INTERNAL_H
#define WEB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_http_server.h"

#include "api.h"
#include "config.h"
#include "hub.h"

/*
 * Sockets. esp_http_server needs max_open_sockets + 3 lwIP sockets of
 * CONFIG_LWIP_MAX_SOCKETS (its listener and control socket among them);
 * MQTT and mDNS need theirs too (sdkconfig.defaults sets 16). Of the 7
 * sessions at most WEB_WS_MAX are WebSockets, so a browser always has
 * connections left for the page and the API.
 */
#define WEB_OPEN_SOCKETS 7
#define WEB_WS_MAX       4

/* The hub and the configuration file, set by fw_web_start. */
hub_t *web_hub(void);
const char *web_config_path(void);

/*
 * Sends a whole response: status line, Content-Type, Content-Length, the
 * extra header lines `headers` ("Name: value\r\n" each, may be NULL), then
 * the body (not for HEAD). ESP_FAIL when the client is gone.
 */
esp_err_t web_send(httpd_req_t *r, int status, const char *content_type, const char *headers,
                   const void *body, size_t len);
/* A JSON answer with Cache-Control: no-store and nosniff, as on Linux. */
esp_err_t web_send_json(httpd_req_t *r, int status, const char *body, const char *headers);
/* {"success":false,"error":msg} with status (msg JSON-escaped). */
esp_err_t web_send_error(httpd_req_t *r, int status, const char *msg);

/*
 * The credentials check of docs/api.md (port/linux/http_util.c's rules and
 * messages): writes always, reads only with web_server.auth_read; Basic,
 * Bearer or ?token=. Returns 0 when allowed, else the status it has
 * answered (401, 403; 503 out of memory). cfg: the running configuration.
 */
int web_check_auth(httpd_req_t *r, const cfg_t *cfg, bool write);

/* ---- web_ws.c ---- */

/* Registers /ws and starts the sender task. */
esp_err_t web_ws_start(httpd_handle_t hd, hub_t *hub);
/* A session ended (httpd_config_t.close_fn): forgets its WebSocket. */
void web_ws_closed(int fd);
/* The WebSocket's figures for GET /api/diagnostics. */
void web_ws_stats(api_server_stats_t *out);

/* ---- ota.c ---- */

#define WEB_OTA_PATH "/api/ota"

/* Answers GET/HEAD (slots, version, pending confirmation) and POST (the
 * upload) of WEB_OTA_PATH; credentials were checked by the caller. */
esp_err_t web_ota_handle(httpd_req_t *r);
/* POST WEB_RESTART_PATH (credentials checked by the caller): answers,
 * then restarts the chip OTA_RESTART_DELAY_MS later. */
#define WEB_RESTART_PATH "/api/restart"
esp_err_t web_restart_handle(httpd_req_t *r);
/* Logs how this boot came to be (a rolled-back update, an image waiting
 * for its confirmation). Once, at start. */
void web_ota_boot_report(void);

#endif /* WEB_INTERNAL_H */
