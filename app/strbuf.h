/*
 * strbuf.h - a growing text buffer on the heap, filled with printf-style
 * appends: the Prometheus text of GET /metrics (metrics.c, fw_diag.c) and
 * the configuration key table (config.c) are written with it.
 *
 * A failure (out of memory, or a format vsnprintf refuses) is sticky: later
 * appends do nothing and strbuf_take() gives NULL, so a caller appends
 * without checking each step and looks once at the end. The text is never
 * cut short silently.
 */
#ifndef STRBUF_H
#define STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#if defined(__GNUC__)
#define STRBUF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define STRBUF_PRINTF(f, a)
#endif

typedef struct {
    char *buf;   /* malloc'd; NUL-terminated once it holds anything; NULL when empty */
    size_t len;  /* bytes of text, without the NUL */
    size_t cap;  /* bytes allocated at buf */
    bool failed; /* out of memory at some point: the text is dropped */
} strbuf_t;

/* An empty buffer; nothing is allocated until the first append. */
#define STRBUF_INIT ((strbuf_t){NULL, 0u, 0u, false})

/* Allocates room for cap bytes (the NUL included) ahead of the appends, so a
 * text of known typical size grows at most rarely. Sets failed when the
 * allocation fails. */
void strbuf_reserve(strbuf_t *sb, size_t cap);

/* Starts sb on text, a malloc'd NUL-terminated string it now owns (NULL =
 * an allocation that failed: sb is failed): later appends go after it. */
void strbuf_adopt(strbuf_t *sb, char *text);

/* Appends the formatted text, growing the buffer (to twice its size, or
 * more when one append needs it). */
void strbuf_printf(strbuf_t *sb, const char *fmt, ...) STRBUF_PRINTF(2, 3);

/* Hands the text over: a malloc'd NUL-terminated string the caller frees
 * ("" when nothing was appended), or NULL after a failure or when "" cannot
 * be allocated. sb is left empty (STRBUF_INIT) either way. */
char *strbuf_take(strbuf_t *sb);

#endif /* STRBUF_H */
