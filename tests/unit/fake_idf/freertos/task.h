/* Test fake: task creation (the test decides whether a task runs). */
#ifndef FAKE_FREERTOS_TASK_H
#define FAKE_FREERTOS_TASK_H

#include <stdint.h>

#include "freertos/FreeRTOS.h"

BaseType_t xTaskCreate(TaskFunction_t fn, const char *name, uint32_t stack_bytes, void *arg,
                       UBaseType_t priority, TaskHandle_t *out);

#endif
