/* The register catalog with live values (GET /api/tinybms/registers). */
#include "registers_json.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* The poller block holding registers first..first+words-1, or COUNT_. */
static tbms_block_t block_of(uint16_t first, uint8_t words)
{
    for (unsigned b = 0; b < TBMS_BLOCK_COUNT_; b++) {
        uint16_t bf = tbms_block_first((tbms_block_t)b);
        uint16_t bc = tbms_block_count((tbms_block_t)b);
        if (first >= bf && (uint32_t)first + words <= (uint32_t)bf + bc) {
            return (tbms_block_t)b;
        }
    }
    return TBMS_BLOCK_COUNT_;
}

static double scale_of(const tbms_reg_t *r)
{
    return r->scale_den != 0u ? (double)r->scale_num / (double)r->scale_den : 1.0;
}

double registers_value(const tbms_reg_t *r, const uint16_t *words)
{
    if (r == NULL || words == NULL) {
        return 0.0;
    }
    switch ((tbms_reg_type_t)r->type) {
    case TBMS_REG_INT16:
        return (double)(int16_t)words[0] * scale_of(r);
    case TBMS_REG_UINT32:
        return (double)((uint32_t)words[0] | (uint32_t)words[1] << 16) * scale_of(r);
    case TBMS_REG_FLOAT: {
        uint32_t bits = (uint32_t)words[0] | (uint32_t)words[1] << 16;
        float f;
        memcpy(&f, &bits, sizeof f);
        return (double)f * scale_of(r);
    }
    case TBMS_REG_UINT8_LOW:
        return (double)(words[0] & 0xFFu) * scale_of(r);
    case TBMS_REG_UINT16:
    case TBMS_REG_BITFIELD:
    case TBMS_REG_ENUM:
        return (double)words[0] * scale_of(r);
    default:
        return 0.0;
    }
}

/* Rounded to 6 significant decimals so 0.1 steps do not print as 0.30000000004. */
static double tidy(double v)
{
    double m = v * 1e6;
    return (double)(long long)(m + (m >= 0 ? 0.5 : -0.5)) / 1e6;
}

static cJSON *value_of(const tbms_reg_t *r, const uint16_t *w)
{
    switch ((tbms_reg_type_t)r->type) {
    case TBMS_REG_2XUINT8: {
        cJSON *a = cJSON_CreateArray();
        cJSON_AddItemToArray(a, cJSON_CreateNumber(w[0] & 0xFFu));
        cJSON_AddItemToArray(a, cJSON_CreateNumber(w[0] >> 8));
        return a;
    }
    case TBMS_REG_2XINT8: {
        cJSON *a = cJSON_CreateArray();
        cJSON_AddItemToArray(a, cJSON_CreateNumber((int8_t)(w[0] & 0xFFu)));
        cJSON_AddItemToArray(a, cJSON_CreateNumber((int8_t)(w[0] >> 8)));
        return a;
    }
    case TBMS_REG_EVENT: {
        cJSON *o = cJSON_CreateObject();
        uint32_t v = (uint32_t)w[0] | (uint32_t)w[1] << 16;
        cJSON_AddNumberToObject(o, "timestamp_s", v & 0xFFFFFFu);
        cJSON_AddNumberToObject(o, "id", v >> 24);
        return o;
    }
    case TBMS_REG_BYTES: {
        char hex[2u * 2u * 6u + 1u];
        size_t off = 0;
        for (unsigned i = 0; i < r->words && i < 6u; i++) {
            off += (size_t)snprintf(hex + off, sizeof hex - off, "%02X%02X", w[i] & 0xFFu,
                                    w[i] >> 8);
        }
        hex[off] = '\0';
        return cJSON_CreateString(hex);
    }
    default: {
        double v = registers_value(r, w);
        return v == v ? cJSON_CreateNumber(tidy(v)) : cJSON_CreateNull();
    }
    }
}

static const char *access_name(const tbms_reg_t *r)
{
    return r->access == TBMS_REG_RW ? "rw" : "r";
}

static cJSON *entry_json(const tbms_reg_t *r, const tbms_poller_t *p, uint64_t now_us)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "address", r->address);
    cJSON_AddNumberToObject(o, "words", r->words);
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddStringToObject(o, "description", r->desc);
    cJSON_AddStringToObject(o, "type", tbms_reg_type_name((tbms_reg_type_t)r->type));
    cJSON_AddStringToObject(o, "access", access_name(r));
    cJSON_AddStringToObject(o, "unit", r->unit);
    cJSON_AddNumberToObject(o, "scale", tidy(scale_of(r)));
    if ((r->flags & TBMS_REG_F_RANGE) != 0u) {
        cJSON_AddNumberToObject(o, "min", r->min);
        cJSON_AddNumberToObject(o, "max", r->max);
    }
    cJSON_AddBoolToObject(o, "interlock", (r->flags & TBMS_REG_F_INTERLOCK) != 0u);
    cJSON_AddBoolToObject(o, "board_limits", (r->flags & TBMS_REG_F_BOARD) != 0u);
    cJSON *flags = cJSON_AddArrayToObject(o, "flags");
    if ((r->flags & TBMS_REG_F_READS_FFFF) != 0u) {
        cJSON_AddItemToArray(flags, cJSON_CreateString("reads_ffff"));
    }
    if ((r->flags & TBMS_REG_F_RESTARTS) != 0u) {
        cJSON_AddItemToArray(flags, cJSON_CreateString("restarts"));
    }
    if ((r->flags & TBMS_REG_F_NEW_FW) != 0u) {
        cJSON_AddItemToArray(flags, cJSON_CreateString("new_fw"));
    }

    tbms_block_t b = block_of(r->address, r->words);
    uint64_t at_us = 0;
    const uint16_t *words = b < TBMS_BLOCK_COUNT_ ? tbms_poller_words(p, b, &at_us) : NULL;
    if (words == NULL) {
        cJSON_AddNullToObject(o, "raw");
        cJSON_AddNullToObject(o, "value");
        cJSON_AddBoolToObject(o, "valid", false);
        cJSON_AddNullToObject(o, "age_ms");
        return o;
    }
    const uint16_t *w = words + (r->address - tbms_block_first(b));
    if (r->words == 1u) {
        cJSON_AddNumberToObject(o, "raw", w[0]);
    } else {
        cJSON *raw = cJSON_AddArrayToObject(o, "raw");
        for (unsigned i = 0; i < r->words; i++) {
            cJSON_AddItemToArray(raw, cJSON_CreateNumber(w[i]));
        }
    }
    cJSON_AddItemToObject(o, "value", value_of(r, w));
    cJSON_AddBoolToObject(o, "valid", true);
    cJSON_AddNumberToObject(o, "age_ms", (double)((now_us > at_us ? now_us - at_us : 0u) / 1000u));
    return o;
}

char *registers_json(const tbms_poller_t *p, uint64_t now_us, uint64_t wall_ms)
{
    cJSON *doc = cJSON_CreateObject();
    if (doc == NULL) {
        return NULL;
    }
    size_t n = tbms_reg_count();
    cJSON_AddBoolToObject(doc, "success", true);
    cJSON_AddNumberToObject(doc, "count", (double)n);
    cJSON_AddNumberToObject(doc, "updated_ms", (double)wall_ms);
    cJSON *list = cJSON_AddArrayToObject(doc, "registers");
    for (size_t i = 0; i < n && list != NULL; i++) {
        cJSON_AddItemToArray(list, entry_json(tbms_reg_at(i), p, now_us));
    }
    char *out = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return out;
}
