/* Fake of FreeRTOS.h for tests/unit/test_esp_can.c: the types and
 * constants esp_can.c uses. */
#ifndef FAKE_TWAI_FREERTOS_H
#define FAKE_TWAI_FREERTOS_H

#include <stdint.h>

typedef long BaseType_t;
typedef uint32_t TickType_t;
typedef unsigned long UBaseType_t;

#define pdFALSE ((BaseType_t)0)
#define pdTRUE  ((BaseType_t)1)
#define pdPASS  pdTRUE

#endif
