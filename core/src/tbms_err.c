#include "tbms_err.h"

#include <stddef.h>

static const char *const tbms_err_text[TBMS_ERR_COUNT_] = {
    [TBMS_OK] = "ok",
    [TBMS_ERR_ARG] = "invalid argument",
    [TBMS_ERR_BUF_SMALL] = "buffer too small",
    [TBMS_ERR_RANGE] = "value or register range out of limits",
    [TBMS_ERR_CRC] = "CRC mismatch",
    [TBMS_ERR_TRUNCATED] = "frame truncated",
    [TBMS_ERR_MALFORMED] = "malformed frame",
    [TBMS_ERR_NACK] = "BMS answered with an error frame",
    [TBMS_ERR_UNEXPECTED] = "frame does not answer the request",
    [TBMS_ERR_INVALID_DATA] = "register data not plausible",
    [TBMS_ERR_INTERLOCK] = "setting violates a TinyBMS interlock",
    [TBMS_ERR_READ_ONLY] = "register is read-only",
    [TBMS_ERR_TIMEOUT] = "no answer within the response timeout",
};

const char *tbms_strerror(tbms_err_t err)
{
    if ((unsigned)err >= (unsigned)TBMS_ERR_COUNT_ || tbms_err_text[err] == NULL) {
        return "unknown error";
    }
    return tbms_err_text[err];
}
