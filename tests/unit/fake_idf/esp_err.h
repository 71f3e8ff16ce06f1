/* Test fake: the few esp_err.h names the firmware's web files use, so that
 * port/esp32/main/web.c runs on the host (tests/unit/test_esp32_web.c). */
#ifndef FAKE_ESP_ERR_H
#define FAKE_ESP_ERR_H

#include "sdkconfig.h"

typedef int esp_err_t;

#define ESP_OK          0
#define ESP_FAIL        (-1)
#define ESP_ERR_NO_MEM  0x101
#define ESP_ERR_INVALID_ARG 0x102

const char *esp_err_to_name(esp_err_t e);

#endif
