/*
 * NVS (where the Wi-Fi driver keeps its calibration and credentials cache)
 * and the LittleFS data partition at FW_DATA_DIR: config.json, energy.json
 * and the rotating bridge.log.
 *
 * LittleFS rather than SPIFFS: it survives a power cut in the middle of a
 * write (copy-on-write metadata), has real directories and rename, which the
 * atomic saves of config_store.c and energy_store.c rely on, and spreads its
 * erases over the partition (dynamic wear levelling).
 */
#include <stdbool.h>

#include "esp_littlefs.h"
#include "nvs_flash.h"

#include "fw.h"
#include "fw_port.h"
#include "log.h"

static bool mounted;

static esp_err_t start_nvs(void)
{
    esp_err_t e = nvs_flash_init();
    if (e == ESP_ERR_NVS_NO_FREE_PAGES || e == ESP_ERR_NVS_NEW_VERSION_FOUND) {
        /* A partition resized or written by a newer IDF: NVS holds only
         * the Wi-Fi driver's cache here, so starting it afresh loses
         * nothing of ours (the configuration is on LittleFS). */
        log_warn("NVS partition unusable (%s): erasing it", esp_err_to_name(e));
        e = nvs_flash_erase();
        if (e == ESP_OK) {
            e = nvs_flash_init();
        }
    }
    if (e != ESP_OK) {
        log_error("NVS: %s; Wi-Fi may not start", esp_err_to_name(e));
    }
    return e;
}

static esp_err_t mount_data(void)
{
    esp_vfs_littlefs_conf_t conf = {
        .base_path = FW_DATA_DIR,
        .partition_label = FW_PARTITION,
        .format_if_mount_failed = 1, /* first start, or a partition that is not LittleFS */
    };
    esp_err_t e = esp_vfs_littlefs_register(&conf);
    if (e != ESP_OK) {
        log_error("data partition '%s': %s; running without files (configuration defaults, "
                  "no saved energy, log in memory only)",
                  FW_PARTITION, esp_err_to_name(e));
        return e;
    }
    mounted = true;
    uint64_t total = 0, used = 0;
    if (fw_storage_info(&total, &used)) {
        log_info("data partition '%s' at %s: %llu of %llu KiB used", FW_PARTITION, FW_DATA_DIR,
                 (unsigned long long)(used / 1024u), (unsigned long long)(total / 1024u));
    }
    return ESP_OK;
}

esp_err_t fw_storage_start(void)
{
    esp_err_t nvs = start_nvs();
    esp_err_t fs = mount_data();
    return fs != ESP_OK ? fs : nvs;
}

bool fw_storage_info(uint64_t *total_bytes, uint64_t *used_bytes)
{
    size_t total = 0, used = 0;
    if (!mounted || esp_littlefs_info(FW_PARTITION, &total, &used) != ESP_OK) {
        return false;
    }
    *total_bytes = total;
    *used_bytes = used;
    return true;
}
