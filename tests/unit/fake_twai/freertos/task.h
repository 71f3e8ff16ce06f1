/* Fake of FreeRTOS's task.h for test_esp32_bridge.c; the test defines the
 * functions (a task is recorded, never run: the test turns its loop). */
#ifndef FAKE_TWAI_TASK_H
#define FAKE_TWAI_TASK_H

#include <stdint.h>

#include "freertos/FreeRTOS.h"

typedef struct fake_task *TaskHandle_t;
typedef void (*TaskFunction_t)(void *);

BaseType_t xTaskCreate(TaskFunction_t fn, const char *name, uint32_t stack_bytes, void *arg,
                       UBaseType_t priority, TaskHandle_t *created);
void vTaskDelay(TickType_t ticks);

#endif
