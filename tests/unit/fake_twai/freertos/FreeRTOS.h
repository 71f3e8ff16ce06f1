/* Fake of FreeRTOS.h for tests/unit/test_esp_can.c and
 * test_esp32_bridge.c: the types and constants esp_can.c and
 * bridge_task.c use (like IDF's, it brings sdkconfig.h). */
#ifndef FAKE_TWAI_FREERTOS_H
#define FAKE_TWAI_FREERTOS_H

#include <stdint.h>

#include "sdkconfig.h"

typedef long BaseType_t;
typedef uint32_t TickType_t;
typedef unsigned long UBaseType_t;

#define pdFALSE ((BaseType_t)0)
#define pdTRUE  ((BaseType_t)1)
#define pdPASS  pdTRUE

#define configTICK_RATE_HZ  CONFIG_FREERTOS_HZ
#define pdMS_TO_TICKS(ms)   ((TickType_t)((uint64_t)(ms) * configTICK_RATE_HZ / 1000u))

/* One core, no interrupts here: a critical section is nothing. */
typedef int portMUX_TYPE;
#define portMUX_INITIALIZER_UNLOCKED 0
#define taskENTER_CRITICAL(mux) ((void)(mux))
#define taskEXIT_CRITICAL(mux)  ((void)(mux))

#endif
