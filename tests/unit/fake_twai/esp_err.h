/* Fake of ESP-IDF's esp_err.h for tests/unit/test_esp_can.c: the codes
 * esp_can.c uses, with IDF's values. */
#ifndef FAKE_TWAI_ESP_ERR_H
#define FAKE_TWAI_ESP_ERR_H

typedef int esp_err_t;

#define ESP_OK                0
#define ESP_FAIL              (-1)
#define ESP_ERR_NO_MEM        0x101
#define ESP_ERR_INVALID_ARG   0x102
#define ESP_ERR_INVALID_STATE 0x103
#define ESP_ERR_TIMEOUT       0x107

const char *esp_err_to_name(esp_err_t code);

#endif
