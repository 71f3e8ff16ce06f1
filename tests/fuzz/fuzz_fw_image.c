/*
 * libFuzzer target: the firmware upload checks (app/fw_image.h). Properties:
 * a refused header leaves the info untouched and its message terminated; an
 * accepted one names this project; the stream's verdict does not depend on
 * how the upload is cut into chunks (the first input byte picks the size).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fw_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fwi_err_t stream(const uint8_t *data, size_t size, size_t chunk, size_t slot)
{
    fwi_stream_t st;
    fwi_error_t err;
    fwi_stream_init(&st, slot);
    fwi_err_t e = FWI_OK;
    for (size_t off = 0; off < size && e == FWI_OK; off += chunk) {
        e = fwi_stream_feed(&st, data + off, size - off < chunk ? size - off : chunk, &err);
    }
    fwi_err_t f = fwi_stream_finish(&st, &err);
    if (e != FWI_OK && f != e) {
        __builtin_trap(); /* an error must stick */
    }
    if (memchr(err.message, '\0', sizeof err.message) == NULL && f != FWI_OK) {
        __builtin_trap();
    }
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1u) {
        return 0;
    }
    size_t chunk = (size_t)data[0] % 64u + 1u;
    data++;
    size--;
    for (unsigned t = 0; t < (unsigned)BOARD_TARGET_COUNT_; t++) {
        fwi_info_t info, sentinel;
        memset(&info, 0x5A, sizeof info);
        sentinel = info;
        fwi_error_t err;
        fwi_err_t e = fwi_check_header(data, size, (board_target_t)t, size, 0x1E0000, &info, &err);
        if (e != FWI_OK) {
            if (memcmp(&info, &sentinel, sizeof info) != 0 ||
                memchr(err.message, '\0', sizeof err.message) == NULL) {
                __builtin_trap();
            }
        } else if (strcmp(info.project_name, FWI_PROJECT_NAME) != 0 ||
                   info.chip_id != fwi_chip_id((board_target_t)t)) {
            __builtin_trap();
        }
    }
    size_t slot = size / 2u + 300u;
    if (stream(data, size, size == 0u ? 1u : size, 0) != stream(data, size, chunk, 0) ||
        stream(data, size, size == 0u ? 1u : size, slot) != stream(data, size, chunk, slot)) {
        __builtin_trap();
    }
    return 0;
}
