/*
 * Firmware update through the web server (fw.h): POST /api/ota with the
 * application image (build/tinybms-bridge.bin) as the raw request body,
 * authenticated like every write; GET /api/ota says which slot runs and
 * whether it still waits for its confirmation.
 *
 * The upload streams in OTA_CHUNK pieces to the inactive slot
 * (esp_ota_get_next_update_partition): its size is checked against the
 * slot before a byte is read, its first FWI_CHECK_LEN bytes (chip, project,
 * app description: app/fw_image.h) before anything is written, and every
 * chunk goes through fwi_stream_feed (segment layout, checksum) before it
 * reaches the flash. esp_ota_end then verifies the written image as the
 * bootloader will (header, segments, checksum and the appended SHA-256;
 * signatures with secure boot). Only then does the slot become the boot
 * slot, the answer go out, and the chip restart OTA_RESTART_DELAY_MS
 * later. On any error the slot is abandoned (esp_ota_abort) and the
 * running firmware stays the boot firmware.
 *
 * Rollback (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE): a new image boots
 * "pending verify"; the bridge task calls fw_ota_confirm once it has run
 * healthy for FW_OTA_CONFIRM_AFTER_MS. A new image that resets before
 * that (crash, watchdog, power) is marked aborted by the bootloader, which
 * boots the previous one.
 *
 * The upload runs on the server task: pages, the API and WebSocket pushes
 * wait until it is done (a 1.5 MB image over Wi-Fi: some ten seconds).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "esp_app_desc.h"
#include "esp_http_server.h"
#include "esp_ota_ops.h"
#include "esp_system.h"
#include "esp_timer.h"

#include "config.h"
#include "esp32_board.h"
#include "esp32_keys.h"
#include "fw.h"
#include "fw_image.h"
#include "hub.h"
#include "log.h"
#include "web_internal.h"

#if !CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
#error "the firmware update needs CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE=y (sdkconfig.defaults)"
#endif

#define OTA_CHUNK            4096u
#define OTA_RECV_TIMEOUTS    3     /* of recv_wait_timeout (5 s) each: a stalled upload */
#define OTA_RESTART_DELAY_MS 1500u /* the answer reaches the browser first */

/* advanced.enable_ota (a seed key): updates are allowed unless it says false. */
static bool ota_enabled(void)
{
    cfg_t *cfg = malloc(sizeof *cfg);
    if (cfg == NULL) {
        return false;
    }
    hub_get_running_config(web_hub(), cfg);
    bool on = !esp32_key_present(cfg, ESP32_KEY_ENABLE_OTA) || cfg->esp32.enable_ota;
    memset(cfg, 0, sizeof *cfg);
    free(cfg);
    return on;
}

/* ---- GET /api/ota ---- */

static bool pending_verify(const esp_partition_t *p)
{
    esp_ota_img_states_t st;
    return p != NULL && esp_ota_get_state_partition(p, &st) == ESP_OK &&
           st == ESP_OTA_IMG_PENDING_VERIFY;
}

static void add_label(cJSON *o, const char *key, const esp_partition_t *p)
{
    if (p != NULL) {
        cJSON_AddStringToObject(o, key, p->label);
    } else {
        cJSON_AddNullToObject(o, key);
    }
}

static esp_err_t ota_info(httpd_req_t *r)
{
    const esp_partition_t *run = esp_ota_get_running_partition();
    const esp_partition_t *next = esp_ota_get_next_update_partition(NULL);
    const esp_app_desc_t *app = esp_app_get_description();
    char version[sizeof app->version + 1u];
    snprintf(version, sizeof version, "%.*s", (int)sizeof app->version, app->version);
    cJSON *o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddTrueToObject(o, "success");
        cJSON_AddStringToObject(o, "version", version);
        add_label(o, "running_partition", run);
        add_label(o, "boot_partition", esp_ota_get_boot_partition());
        add_label(o, "next_partition", next);
        cJSON_AddNumberToObject(o, "slot_size", next != NULL ? (double)next->size : 0.0);
        cJSON_AddBoolToObject(o, "pending_confirmation", pending_verify(run));
        cJSON_AddBoolToObject(o, "rollback_possible", esp_ota_check_rollback_is_possible());
        cJSON_AddBoolToObject(o, "enabled", ota_enabled());
    }
    char *body = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (body == NULL) {
        return web_send_error(r, 500, "out of memory");
    }
    esp_err_t e = web_send_json(r, 200, body, NULL);
    cJSON_free(body);
    return e;
}

/* ---- POST /api/ota ---- */

typedef struct {
    httpd_req_t *r;
    uint8_t *buf; /* OTA_CHUNK bytes */
    size_t got;   /* body bytes read so far */
    const esp_partition_t *slot;
    esp_ota_handle_t handle;
    bool begun;       /* esp_ota_begin succeeded, esp_ota_end not called */
    esp_err_t result; /* the handler's return once answered (ESP_FAIL: close) */
} upload_t;

/* Up to cap more body bytes into buf; <= 0 when the upload broke off. */
static int recv_some(upload_t *u, uint8_t *buf, size_t cap)
{
    size_t left = u->r->content_len - u->got;
    for (int tries = 0; tries < OTA_RECV_TIMEOUTS; tries++) {
        int n = httpd_req_recv(u->r, (char *)buf, cap < left ? cap : left);
        if (n != HTTPD_SOCK_ERR_TIMEOUT) {
            u->got += n > 0 ? (size_t)n : 0u;
            return n;
        }
    }
    return HTTPD_SOCK_ERR_TIMEOUT;
}

/* Refuses the upload: the slot abandoned, the rest of a body that fits
 * the slot read and dropped (so the client sees the answer, not a reset),
 * the error answered; u->result ESP_FAIL closes a connection that could
 * not drain. Returns false, for the callers' "go on?". */
static bool refuse(upload_t *u, int status, const char *msg)
{
    if (u->begun) {
        esp_ota_abort(u->handle);
        u->begun = false;
    }
    log_warn("firmware update refused: %s", msg);
    bool drained = u->buf != NULL && u->slot != NULL && u->r->content_len <= u->slot->size;
    while (drained && u->got < u->r->content_len) {
        drained = recv_some(u, u->buf, OTA_CHUNK) > 0;
    }
    web_send_error(u->r, status, msg);
    u->result = drained ? ESP_OK : ESP_FAIL;
    return false;
}

static bool refuse_fwi(upload_t *u, const fwi_error_t *fe)
{
    return refuse(u, fe->code == FWI_ERR_TOO_BIG ? 413 : 400, fe->message);
}

static bool refuse_esp(upload_t *u, int status, const char *what, esp_err_t e)
{
    char msg[160];
    snprintf(msg, sizeof msg, "%s: %s; the running firmware stays", what, esp_err_to_name(e));
    return refuse(u, status, msg);
}

static void restart_now(void *arg)
{
    (void)arg;
    esp_restart();
}

static void restart_soon(void)
{
    const esp_timer_create_args_t a = {.callback = restart_now, .name = "ota_restart"};
    esp_timer_handle_t t;
    if (esp_timer_create(&a, &t) != ESP_OK ||
        esp_timer_start_once(t, (uint64_t)OTA_RESTART_DELAY_MS * 1000u) != ESP_OK) {
        esp_restart();
    }
}

/* Reads the first FWI_CHECK_LEN bytes into u->buf and checks them; false
 * when refused (answered). */
static bool check_start(upload_t *u, size_t *have, fwi_info_t *info)
{
    fwi_error_t fe;
    board_target_t target;
    if (!board_target_from_name(CONFIG_IDF_TARGET, &target)) {
        return refuse(u, 500, "this firmware was built for a chip it does not know");
    }
    *have = 0;
    while (*have < FWI_CHECK_LEN) {
        int n = recv_some(u, u->buf + *have, OTA_CHUNK - *have);
        if (n <= 0) {
            return refuse(u, 400, "the upload broke off before the firmware header");
        }
        *have += (size_t)n;
    }
    if (fwi_check_header(u->buf, *have, target, u->r->content_len, u->slot->size, info, &fe) !=
        FWI_OK) {
        return refuse_fwi(u, &fe);
    }
    return true;
}

/* Streams the body to the slot, the first `have` bytes being in u->buf;
 * true when esp_ota_end accepted the image, false when refused (answered). */
static bool write_image(upload_t *u, size_t have)
{
    fwi_error_t fe;
    fwi_stream_t st;
    fwi_stream_init(&st, u->slot->size);
    esp_err_t e = esp_ota_begin(u->slot, OTA_WITH_SEQUENTIAL_WRITES, &u->handle);
    if (e == ESP_ERR_OTA_ROLLBACK_INVALID_STATE) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "the running firmware is new and not confirmed yet (it confirms itself after "
                 "%u s of healthy running): try again then",
                 (unsigned)(FW_OTA_CONFIRM_AFTER_MS / 1000u));
        return refuse(u, 409, msg);
    }
    if (e != ESP_OK) {
        return refuse_esp(u, 500, "cannot start writing the update slot", e);
    }
    u->begun = true;
    for (;;) {
        if (fwi_stream_feed(&st, u->buf, have, &fe) != FWI_OK) {
            return refuse_fwi(u, &fe);
        }
        e = esp_ota_write(u->handle, u->buf, have);
        if (e != ESP_OK) {
            return refuse_esp(u, 500, "writing the update slot failed", e);
        }
        if (u->got >= u->r->content_len) {
            break;
        }
        int n = recv_some(u, u->buf, OTA_CHUNK);
        if (n <= 0) {
            char msg[120];
            snprintf(msg, sizeof msg, "the upload broke off after %lu of %lu bytes",
                     (unsigned long)u->got, (unsigned long)u->r->content_len);
            return refuse(u, 400, msg);
        }
        have = (size_t)n;
    }
    if (fwi_stream_finish(&st, &fe) != FWI_OK) {
        return refuse_fwi(u, &fe);
    }
    u->begun = false; /* esp_ota_end frees the handle whatever it returns */
    e = esp_ota_end(u->handle);
    if (e == ESP_ERR_OTA_VALIDATE_FAILED) {
        return refuse(u, 400,
                      "the image failed ESP-IDF's verification (checksum, SHA-256 or "
                      "signature); the running firmware stays");
    }
    if (e != ESP_OK) {
        return refuse_esp(u, 500, "finishing the update slot failed", e);
    }
    return true;
}

/* The new slot becomes the boot slot; the answer; the restart. */
static void done(upload_t *u, const fwi_info_t *info)
{
    esp_err_t e = esp_ota_set_boot_partition(u->slot);
    if (e != ESP_OK) {
        refuse_esp(u, 500, "cannot make the new firmware the boot firmware", e);
        return;
    }
    log_info("firmware %s written to %s (%lu bytes, verified): restarting into it", info->version,
             u->slot->label, (unsigned long)u->got);
    char msg[160];
    snprintf(msg, sizeof msg, "firmware %s written to %s and verified; restarting into it",
             info->version, u->slot->label);
    cJSON *o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddTrueToObject(o, "success");
        cJSON_AddStringToObject(o, "message", msg);
        cJSON_AddStringToObject(o, "version", info->version);
    }
    char *body = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    web_send_json(u->r, 200, body != NULL ? body : "{\"success\":true}", NULL);
    cJSON_free(body);
    u->result = ESP_OK;
    log_close_file(); /* what is queued for the log file gets there before the restart */
    restart_soon();
}

static esp_err_t ota_upload(httpd_req_t *r)
{
    upload_t u = {
        .r = r, .buf = malloc(OTA_CHUNK), .slot = esp_ota_get_next_update_partition(NULL)};
    char ctype[64] = "";
    fwi_error_t fe;
    size_t have = 0;
    fwi_info_t info;
    if (u.buf == NULL) {
        refuse(&u, 503, "out of memory");
    } else if (u.slot == NULL) {
        refuse(&u, 500, "the partition table has no OTA slot to write to");
    } else if (!ota_enabled()) {
        refuse(&u, 403, "firmware updates are disabled: advanced.enable_ota is false");
    } else if (httpd_req_get_hdr_value_str(r, "Content-Type", ctype, sizeof ctype) == ESP_OK &&
               strncmp(ctype, "multipart/", 10) == 0) {
        refuse(&u, 415,
               "send the firmware file itself as the request body "
               "(Content-Type: application/octet-stream), not a form");
    } else if (fwi_check_size(r->content_len, u.slot->size, &fe) != FWI_OK) {
        refuse_fwi(&u, &fe);
    } else if (check_start(&u, &have, &info) && write_image(&u, have)) {
        done(&u, &info);
    }
    free(u.buf);
    return u.result;
}

esp_err_t web_ota_handle(httpd_req_t *r)
{
    if (r->method == HTTP_GET || r->method == HTTP_HEAD) {
        return ota_info(r);
    }
    if (r->method == HTTP_POST) {
        return ota_upload(r);
    }
    return web_send_json(r, 405, "{\"success\":false,\"error\":\"method not allowed\"}",
                         "Allow: GET, POST\r\n");
}

/* ---- restart ---- */

/* POST WEB_RESTART_PATH: the answer first, then the restart (the shutdown
 * handler saves the energy counters, bridge_task.c). Wi-Fi settings and
 * pins take effect this way without a hand on the board. */
esp_err_t web_restart_handle(httpd_req_t *r)
{
    if (r->method != HTTP_POST) {
        return web_send_json(r, 405, "{\"success\":false,\"error\":\"method not allowed\"}",
                             "Allow: POST\r\n");
    }
    char body[128];
    snprintf(body, sizeof body,
             "{\"success\":true,\"message\":\"restarting in %u ms\"}",
             (unsigned)OTA_RESTART_DELAY_MS);
    esp_err_t e = web_send_json(r, 200, body, NULL);
    log_info("restart asked over the web");
    log_close_file(); /* what is queued for the log file gets there before the restart */
    restart_soon();
    return e;
}

/* ---- rollback ---- */

void fw_ota_confirm(void)
{
    const esp_partition_t *run = esp_ota_get_running_partition();
    if (!pending_verify(run)) {
        return;
    }
    esp_err_t e = esp_ota_mark_app_valid_cancel_rollback();
    if (e == ESP_OK) {
        log_info("new firmware on %s confirmed after %u s of healthy running: no rollback",
                 run->label, (unsigned)(FW_OTA_CONFIRM_AFTER_MS / 1000u));
    } else {
        log_error("new firmware on %s not confirmed (%s): the previous one comes back at the "
                  "next restart",
                  run->label, esp_err_to_name(e));
    }
}

void web_ota_boot_report(void)
{
    const esp_partition_t *run = esp_ota_get_running_partition();
    const esp_partition_t *bad = esp_ota_get_last_invalid_partition();
    if (bad != NULL) {
        log_warn("the firmware update on %s did not confirm itself and was rolled back; "
                 "running %s",
                 bad->label, run != NULL ? run->label : "?");
    }
    if (pending_verify(run)) {
        log_info("new firmware on %s: it confirms itself after %u s of healthy running, "
                 "else the previous one comes back at the next restart",
                 run->label, (unsigned)(FW_OTA_CONFIRM_AFTER_MS / 1000u));
    }
}
