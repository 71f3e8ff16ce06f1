/* Fake sdkconfig.h for the bridge task's host tests (test_esp32_bridge.c):
 * the options bridge_task.c reads, as port/esp32/sdkconfig.defaults sets
 * them for an ESP32-C3. */
#ifndef FAKE_TWAI_SDKCONFIG_H
#define FAKE_TWAI_SDKCONFIG_H

#define CONFIG_IDF_TARGET "esp32c3"
#define CONFIG_FREERTOS_HZ 1000
#define CONFIG_ESP_TASK_WDT_CHECK_IDLE_TASK_CPU0 1

#endif
