/* The body of an error answer (http_error.h). */
#include "http_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "{\"success\":false,\"error\":\""
#define SUFFIX "\"}"

char *http_error_json(const char *msg)
{
    /* An escaped byte takes at most 6 ("\u001f"). */
    size_t cap = sizeof PREFIX + 6u * HTTP_ERROR_MESSAGE_MAX + sizeof SUFFIX;
    char *out = malloc(cap);
    if (out == NULL) {
        return NULL;
    }
    size_t o = sizeof PREFIX - 1u;
    memcpy(out, PREFIX, o);
    size_t taken = 0;
    for (const unsigned char *p = (const unsigned char *)(msg != NULL ? msg : "");
         *p != '\0' && taken < HTTP_ERROR_MESSAGE_MAX; p++, taken++) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else if (*p < 0x20u) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", *p);
        } else {
            out[o++] = (char)*p;
        }
    }
    memcpy(out + o, SUFFIX, sizeof SUFFIX); /* with its NUL */
    return out;
}
