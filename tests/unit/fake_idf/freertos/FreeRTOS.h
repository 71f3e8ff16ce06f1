/* Test fake: the FreeRTOS names the firmware's web files use. */
#ifndef FAKE_FREERTOS_H
#define FAKE_FREERTOS_H

typedef int BaseType_t;
typedef unsigned UBaseType_t;
typedef void *TaskHandle_t;
typedef void (*TaskFunction_t)(void *);

#define pdPASS 1
#define pdFAIL 0

#endif
