/*
 * web_assets.h - the web UI's files embedded in the program, as
 * scripts/embed-assets writes them (web_assets.c, generated at build
 * time). Shared by the Linux server (civetweb) and the ESP32 firmware
 * (esp_http_server); the ESP32 build embeds them gzip-compressed
 * (embed-assets --gzip) to save flash.
 */
#ifndef WEB_ASSETS_H
#define WEB_ASSETS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *path; /* "/index.html" */
    const char *content_type;
    const char *etag; /* quoted hash of data as served */
    const unsigned char *data;
    size_t len;
    bool gzip; /* data is gzip: send it with Content-Encoding: gzip */
} http_asset_t;

extern const http_asset_t http_assets[];
extern const size_t http_asset_count;

#endif /* WEB_ASSETS_H */
