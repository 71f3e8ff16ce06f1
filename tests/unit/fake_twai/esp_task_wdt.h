/* Fake of esp_task_wdt.h for test_esp32_bridge.c; field names as IDF's. */
#ifndef FAKE_TWAI_ESP_TASK_WDT_H
#define FAKE_TWAI_ESP_TASK_WDT_H

#include <stdbool.h>
#include <stdint.h>

#include "esp_err.h"
#include "freertos/task.h"

typedef struct {
    uint32_t timeout_ms;
    uint32_t idle_core_mask;
    bool trigger_panic;
} esp_task_wdt_config_t;

esp_err_t esp_task_wdt_init(const esp_task_wdt_config_t *config);
esp_err_t esp_task_wdt_reconfigure(const esp_task_wdt_config_t *config);
esp_err_t esp_task_wdt_add(TaskHandle_t task_handle);
esp_err_t esp_task_wdt_reset(void);

#endif
