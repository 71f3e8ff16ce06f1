/* Test fake: the running app's description (esp_app_desc.h). */
#ifndef FAKE_ESP_APP_DESC_H
#define FAKE_ESP_APP_DESC_H

typedef struct {
    char version[32];
    char project_name[32];
} esp_app_desc_t;

const esp_app_desc_t *esp_app_get_description(void);

#endif
