/* Fake of esp_system.h for test_esp32_bridge.c. */
#ifndef FAKE_TWAI_ESP_SYSTEM_H
#define FAKE_TWAI_ESP_SYSTEM_H

#include "esp_err.h"

typedef void (*shutdown_handler_t)(void);

esp_err_t esp_register_shutdown_handler(shutdown_handler_t handle);
void esp_restart(void) __attribute__((__noreturn__));

#endif
