/* Test fake: the sdkconfig values the firmware's web files read. */
#ifndef FAKE_SDKCONFIG_H
#define FAKE_SDKCONFIG_H
#define CONFIG_IDF_TARGET "esp32c3"
#define CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE 1
#define CONFIG_HTTPD_MAX_URI_LEN 512
#define CONFIG_HTTPD_WS_SUPPORT 1
#define CONFIG_HTTPD_WS_PRE_HANDSHAKE_CB_SUPPORT 1
#endif
