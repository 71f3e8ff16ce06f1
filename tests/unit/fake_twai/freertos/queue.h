/* Fake of FreeRTOS's queue.h for tests/unit/test_esp_can.c; the test
 * defines the functions (a ring of fixed-size items). */
#ifndef FAKE_TWAI_QUEUE_H
#define FAKE_TWAI_QUEUE_H

#include "freertos/FreeRTOS.h"

typedef struct fake_queue *QueueHandle_t;

QueueHandle_t xQueueCreate(UBaseType_t length, UBaseType_t item_size);
BaseType_t xQueueSendFromISR(QueueHandle_t q, const void *item, BaseType_t *woken);
BaseType_t xQueueReceive(QueueHandle_t q, void *item, TickType_t ticks);

#endif
