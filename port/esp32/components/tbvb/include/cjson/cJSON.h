/*
 * cjson/cJSON.h - app/ includes cJSON as <cjson/cJSON.h> (Debian's
 * libcjson-dev layout); the ESP-IDF component espressif/cjson puts cJSON.h
 * at the top of its include folder. This forwards one to the other.
 */
#ifndef TBVB_CJSON_FORWARD_H
#define TBVB_CJSON_FORWARD_H
#include <cJSON.h>
#endif
