#include "strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest object the C library can make (half the address space on
 * a 32-bit board): a text that would need more fails. */
#define STRBUF_MAX ((size_t)PTRDIFF_MAX)

/* Grows the buffer to hold need bytes, the NUL included. */
static bool grow(strbuf_t *sb, size_t need)
{
    if (need > STRBUF_MAX) {
        sb->failed = true;
        return false;
    }
    size_t cap = sb->cap <= STRBUF_MAX / 2u ? sb->cap * 2u : STRBUF_MAX;
    if (cap < need) {
        cap = need;
    }
    char *p = realloc(sb->buf, cap);
    if (p == NULL) {
        sb->failed = true;
        return false;
    }
    sb->buf = p;
    sb->cap = cap;
    return true;
}

void strbuf_reserve(strbuf_t *sb, size_t cap)
{
    if (sb->failed || cap <= sb->cap) {
        return;
    }
    char *p = realloc(sb->buf, cap);
    if (p == NULL) {
        sb->failed = true;
        return;
    }
    if (sb->buf == NULL) {
        p[0] = '\0';
    }
    sb->buf = p;
    sb->cap = cap;
}

void strbuf_adopt(strbuf_t *sb, char *text)
{
    free(sb->buf);
    *sb = STRBUF_INIT;
    if (text == NULL) {
        sb->failed = true;
        return;
    }
    sb->buf = text;
    sb->len = strlen(text);
    sb->cap = sb->len + 1u;
}

void strbuf_printf(strbuf_t *sb, const char *fmt, ...)
{
    if (sb->failed) {
        return;
    }
    /* Formatted straight into the free room; only a text that does not fit
     * is formatted a second time, after growing. */
    for (;;) {
        size_t room = sb->cap - sb->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(room > 0u ? sb->buf + sb->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            sb->failed = true;
            return;
        }
        if ((size_t)n < room) {
            sb->len += (size_t)n;
            return;
        }
        if ((size_t)n >= SIZE_MAX - sb->len) {
            sb->failed = true;
            return;
        }
        if (!grow(sb, sb->len + (size_t)n + 1u)) {
            return;
        }
    }
}

char *strbuf_take(strbuf_t *sb)
{
    char *text = sb->buf;
    bool failed = sb->failed;
    *sb = STRBUF_INIT;
    if (failed) {
        free(text);
        return NULL;
    }
    if (text == NULL) {
        text = malloc(1u);
        if (text != NULL) {
            text[0] = '\0';
        }
    }
    return text;
}
