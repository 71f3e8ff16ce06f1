/*
 * fw.h - what the ESP32 firmware's parts share (port/esp32/main). The
 * firmware is the Linux daemon's twin: the same core and service (app/),
 * the same hub between the bridge loop and the servers (port/posix), and
 * thin ESP-IDF glue around them:
 *
 *   main.c        app_main: storage, configuration, then the parts below
 *   storage.c     NVS and LittleFS at FW_DATA_DIR
 *   bridge_task.c the bridge loop: UART (TinyBMS), TWAI (Victron), the
 *                 service, hub commands, energy, watchdog, diagnostics
 *   wifi.c        station with the access-point fallback, mDNS
 *   web.c         esp_http_server: REST (app/api.h over port/posix/hub_api.h),
 *                 WebSocket, the embedded web UI
 *   ota.c         firmware upload to the inactive slot, rollback
 *   mqtt_esp.c    esp-mqtt with app/mqtt_topics.h
 *
 * Only the bridge task touches the service; every other task reads the
 * hub's published copies and posts requests to it (architecture.md).
 */
#ifndef FW_H
#define FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#include "config.h"
#include "hub.h"

#define FW_DATA_DIR     "/data"              /* LittleFS mount point */
#define FW_CONFIG_PATH  FW_DATA_DIR "/config.json"
#define FW_ENERGY_PATH  FW_DATA_DIR "/energy.json"
#define FW_PARTITION    "storage"            /* LittleFS partition label */

typedef struct {
    hub_t *hub;
    cfg_t cfg;               /* the configuration read at boot */
    const char *config_path; /* FW_CONFIG_PATH */
    const char *version;     /* TBVB_VERSION */
    bool web_running;        /* fw_web_start succeeded (main.c): a new OTA image
                              * confirms itself only with its web server up,
                              * so that the next update stays possible */
} fw_t;

/* storage.c: NVS (Wi-Fi's own data) and LittleFS mounted at FW_DATA_DIR
 * (formatted when it cannot be mounted). */
esp_err_t fw_storage_start(void);

/* bridge_task.c: starts the bridge task with fw->cfg; it runs until reset.
 * It calls fw_mqtt_configure after each applied configuration and
 * fw_ota_confirm once the new image has run healthy. */
esp_err_t fw_bridge_start(fw_t *fw);

/* wifi.c: station (wifi.sta_*) with the access-point fallback, mDNS name
 * (wifi.sta_hostname, default "tinybms-bridge"). Wi-Fi keys take effect at
 * the next start. */
esp_err_t fw_wifi_start(const cfg_t *cfg);

/* wifi.c: the per-device password (drawn once, kept in NVS, shown on the
 * serial console at every start) into out: the fallback access point's
 * password, and the web login FW_FIRST_USER while no web credentials are
 * configured (web.c). False when there is none (NVS and RNG failed).
 * Thread-safe after fw_wifi_start. */
#define FW_FIRST_USER "admin"
bool fw_device_password(char *out, size_t size);

/* web.c: the HTTP server on port 80 (REST, WebSocket, web UI, OTA). */
esp_err_t fw_web_start(fw_t *fw);

/* ota.c: marks the running image valid when it was a new image waiting
 * for confirmation (no-op otherwise); the bridge task calls it once the
 * bridge has run healthy (FW_OTA_CONFIRM_AFTER_MS). */
#define FW_OTA_CONFIRM_AFTER_MS 60000u
void fw_ota_confirm(void);

/* mqtt_esp.c: the MQTT client (a task of esp-mqtt's own). */
esp_err_t fw_mqtt_start(fw_t *fw);
/* New mqtt.* settings (from the bridge task after an applied change). */
void fw_mqtt_configure(const cfg_t *cfg);

#endif /* FW_H */
