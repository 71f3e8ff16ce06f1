/*
 * libFuzzer target: the configuration loader and validator. Properties:
 * a rejected document leaves the output untouched; an accepted one
 * validates, and serialises to JSON that loads back to an equal config.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cfg_t base, out, back;
    static int init;
    if (!init) {
        cfg_defaults(&base);
        init = 1;
    }
    cfg_error_t err;
    memset(&out, 0x5A, sizeof out);
    cfg_t sentinel;
    memcpy(&sentinel, &out, sizeof out);
    if (cfg_from_json((const char *)data, size, &out, &err) != CFG_OK) {
        if (memcmp(&sentinel, &out, sizeof out) != 0) {
            __builtin_trap(); /* a rejected document changed the output */
        }
    } else {
        if (cfg_validate(&out, &err) != CFG_OK) {
            __builtin_trap();
        }
        char *json = cfg_to_json(&out, false);
        if (json == NULL || cfg_from_json(json, strlen(json), &back, &err) != CFG_OK ||
            !cfg_equal(&out, &back)) {
            __builtin_trap();
        }
        free(json);
    }
    cfg_t merged;
    memcpy(&merged, &base, sizeof merged);
    if (cfg_merge_json(&base, (const char *)data, size, &merged, &err) != CFG_OK &&
        !cfg_equal(&merged, &base)) {
        __builtin_trap();
    }
    return 0;
}
