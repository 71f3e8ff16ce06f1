/* Fake of esp_timer.h for test_esp32_bridge.c: the test's clock. */
#ifndef FAKE_TWAI_ESP_TIMER_H
#define FAKE_TWAI_ESP_TIMER_H

#include <stdint.h>

int64_t esp_timer_get_time(void);

#endif
