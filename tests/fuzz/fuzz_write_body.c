/*
 * libFuzzer target: the POST /api/tinybms/write body parser. Properties:
 * no crash or UB (float-to-int conversions included), an accepted request
 * names 1..44 registers inside 300..343.
 */
#include <stddef.h>
#include <stdint.h>

#include "write_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wreq_t w;
    char msg[160];
    if (wreq_parse((const char *)data, size, &w, msg, sizeof msg) == WREQ_OK) {
        if (w.count < 1 || w.count > WREQ_MAX_WORDS || w.addr < 300 ||
            w.addr + w.count - 1 > 343) {
            __builtin_trap();
        }
    }
    return 0;
}
