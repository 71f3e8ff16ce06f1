/*
 * app_main: storage, the configuration, then the parts of fw.h.
 *
 * The start runs on a boot task of its own with BOOT_STACK_BYTES, not on
 * the main task: reading the configuration parses a JSON document through
 * config.c, whose deepest path takes 16.7 kB of stack (GCC's call graph
 * with stack use, RV32 -Os, 512 bytes for each IDF or libc function
 * outside it: cfg_load_file_warn 3.0 kB, cfg_from_json_warn 2.9 kB, its
 * apply_json 8.9 kB), far more than the main task's
 * (CONFIG_ESP_MAIN_TASK_STACK_SIZE, 3.5 kB by default). The boot task
 * ends when everything runs, and FreeRTOS gives its stack back.
 *
 * A configuration file that is not valid JSON or breaks a rule is left as
 * it is (the user may want to repair it by hand) and the firmware runs on
 * the defaults: Wi-Fi falls back to its access point (no station set), so
 * the web UI is reachable to correct the settings. A missing file is
 * created with the defaults (config_store.h).
 */
#include <stdlib.h>

#include "esp_vfs_eventfd.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

#include "atomic_file.h"
#include "config_store.h"
#include "fw.h"
#include "fw_port.h"
#include "log.h"

#ifndef TBVB_VERSION
#define TBVB_VERSION "dev"
#endif

#define BOOT_STACK_BYTES 20480u
#define BOOT_PRIORITY    5
#define EVENTFD_MAX      4 /* the hub's wake-up, and room for the servers */

static fw_t fw; /* lives as long as the firmware */

static void load_config(void)
{
    cfg_defaults(&fw.cfg);
    int stale = atomic_file_cleanup(FW_CONFIG_PATH);
    if (stale > 0) {
        log_info("removed %d temporary file(s) an interrupted save left beside %s", stale,
                 FW_CONFIG_PATH);
    }
    cfg_warnings_t *warn = malloc(sizeof *warn); /* about 9 kB; NULL: no warnings */
    cfg_error_t err;
    if (cfg_load_file_warn(FW_CONFIG_PATH, &fw.cfg, warn, &err) != CFG_OK) {
        /* The message names the file and the key already. */
        log_error("configuration: %s", err.message);
        log_error("running on the default settings; the file is left unchanged until the "
                  "settings are saved from the web UI");
        cfg_defaults(&fw.cfg);
    } else {
        for (size_t i = 0; warn != NULL && i < warn->count; i++) {
            log_warn("configuration %s: %s", FW_CONFIG_PATH, warn->item[i].message);
        }
        log_info("configuration %s loaded", FW_CONFIG_PATH);
    }
    free(warn);
}

static void boot(void *arg)
{
    (void)arg;
    log_info("tinybms-bridge %s on %s starting (reset reason: %s)", TBVB_VERSION, CONFIG_IDF_TARGET,
             fw_reset_reason());
    (void)fw_storage_start(); /* failures are logged; the firmware runs without files */
    load_config();
    log_set_level((log_level_t)fw.cfg.logging.log_level);
    (void)log_open_file(FW_DATA_DIR, (size_t)fw.cfg.logging.file_size_kb * 1024u,
                        (unsigned)fw.cfg.logging.files);
    if (fw_reset_abnormal()) {
        /* A WARNING once the file is open: it is in bridge.log, which
         * survives the next reset too, and in GET /api/diagnostics. */
        log_warn("the chip was reset by a fault: %s; the serial console of that run shows why",
                 fw_reset_reason());
    }

    const esp_vfs_eventfd_config_t efd = {.max_fds = EVENTFD_MAX};
    esp_err_t e = esp_vfs_eventfd_register(&efd);
    if (e != ESP_OK) {
        log_error("eventfd: %s", esp_err_to_name(e));
    }
    fw.hub = hub_create();
    if (fw.hub == NULL) {
        log_error("out of memory for the hub: the firmware cannot run");
        vTaskDelete(NULL);
        return;
    }
    hub_set_running_config(fw.hub, &fw.cfg);

    if (fw_wifi_start(&fw.cfg) != ESP_OK) {
        log_error("Wi-Fi did not start: the bridge runs, the web UI and MQTT are unreachable");
    }
    fw.web_running = fw_web_start(&fw) == ESP_OK;
    if (!fw.web_running) {
        log_error("web server did not start");
    }
    if (fw_mqtt_start(&fw) != ESP_OK) {
        log_error("MQTT client did not start");
    }
    if (fw_bridge_start(&fw) != ESP_OK) {
        log_error("bridge task did not start");
    }
    vTaskDelete(NULL);
}

/* ESP-IDF's start-up calls it; no IDF header declares it. */
void app_main(void);

void app_main(void)
{
    fw.config_path = FW_CONFIG_PATH;
    fw.version = TBVB_VERSION;
    if (xTaskCreate(boot, "boot", BOOT_STACK_BYTES, NULL, BOOT_PRIORITY, NULL) != pdPASS) {
        log_error("out of memory for the boot task");
    }
}
