/* Test fake: the one-shot timer calls of esp_timer.h. */
#ifndef FAKE_ESP_TIMER_H
#define FAKE_ESP_TIMER_H

#include <stdint.h>

#include "esp_err.h"

typedef void (*esp_timer_cb_t)(void *arg);
typedef struct esp_timer *esp_timer_handle_t;
typedef struct {
    esp_timer_cb_t callback;
    void *arg;
    const char *name;
} esp_timer_create_args_t;

esp_err_t esp_timer_create(const esp_timer_create_args_t *args, esp_timer_handle_t *out);
esp_err_t esp_timer_start_once(esp_timer_handle_t timer, uint64_t timeout_us);

#endif
