#include "write_request.h"

#include "json_guard.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* A whole JSON number in lo..hi (checked before any conversion). */
static bool whole(const cJSON *x, double lo, double hi, int64_t *v)
{
    if (!cJSON_IsNumber(x)) {
        return false;
    }
    double d = x->valuedouble;
    if (!(d >= lo && d <= hi) || d != (double)(int64_t)d) {
        return false;
    }
    *v = (int64_t)d;
    return true;
}

static wreq_err_t fail(wreq_err_t e, char *msg, size_t cap, const char *text)
{
    snprintf(msg, cap, "%s", text);
    return e;
}

wreq_err_t wreq_parse(const char *body, size_t len, wreq_t *out, char *msg, size_t cap)
{
    memset(out, 0, sizeof *out);
    if (!json_depth_ok(body, len, JSON_GUARD_MAX_DEPTH)) {
        return fail(WREQ_BAD_REQUEST, msg, cap, "the body is nested too deeply");
    }
    cJSON *o = body != NULL ? cJSON_ParseWithLength(body, len) : NULL;
    wreq_err_t rc = WREQ_OK;
    const cJSON *v = NULL, *vs = NULL;
    int64_t addr = 0;
    if (o == NULL || !cJSON_IsObject(o)) {
        rc = fail(WREQ_BAD_REQUEST, msg, cap, "the body must be a JSON object");
        goto done;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "value");
    vs = cJSON_GetObjectItemCaseSensitive(o, "values");
    if (!whole(cJSON_GetObjectItemCaseSensitive(o, "address"), 0, 65535, &addr)) {
        rc = fail(WREQ_BAD_REQUEST, msg, cap, "address must be a register number (300..343)");
        goto done;
    }
    if ((v == NULL) == (vs == NULL)) {
        rc = fail(WREQ_BAD_REQUEST, msg, cap, "give either value or values");
        goto done;
    }
    out->addr = (uint16_t)addr;
    if (v != NULL) {
        int64_t w = 0;
        if (addr == 312 && whole(v, 0, 4294967295.0, &w)) {
            out->values[0] = (uint16_t)((uint64_t)w & 0xFFFFu);
            out->values[1] = (uint16_t)((uint64_t)w >> 16);
            out->count = 2;
        } else if (whole(v, -32768, 65535, &w)) {
            out->values[0] = (uint16_t)(w & 0xFFFF);
            out->count = 1;
        } else {
            rc = fail(WREQ_BAD_REQUEST, msg, cap,
                      "value must be a whole number (the raw register word)");
            goto done;
        }
    } else {
        int n = cJSON_IsArray(vs) ? cJSON_GetArraySize(vs) : 0;
        if (n < 1 || n > (int)WREQ_MAX_WORDS) {
            rc = fail(WREQ_BAD_REQUEST, msg, cap, "values must be an array of 1..44 numbers");
            goto done;
        }
        const cJSON *item = NULL;
        cJSON_ArrayForEach(item, vs)
        {
            int64_t w = 0;
            if (!whole(item, -32768, 65535, &w)) {
                rc = fail(WREQ_BAD_REQUEST, msg, cap,
                          "values must be whole numbers (raw register words)");
                goto done;
            }
            out->values[out->count++] = (uint16_t)(w & 0xFFFF);
        }
    }
    if (addr < 300 || addr + out->count - 1 > 343) {
        snprintf(msg, cap,
                 "registers %d..%d: only the settings registers 300..343 can be written",
                 (int)addr, (int)(addr + out->count - 1));
        rc = WREQ_READ_ONLY;
    }
done:
    cJSON_Delete(o);
    return rc;
}
