/*
 * log.h - leveled log lines on stderr: "2026-11-24T05:30:01.123Z INFO  message".
 * One process-wide level; lines are written whole (one write() each).
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>
#include <stdint.h>

typedef enum { LOG_ERROR = 0, LOG_WARNING, LOG_INFO, LOG_DEBUG } log_level_t;

void log_set_level(log_level_t level);
log_level_t log_get_level(void);

/* printf-style; nothing is written when level is above the set level. */
void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The most recent lines, kept in memory for GET /api/logs. */
#define LOG_RING_LINES 1000u
#define LOG_LINE_MAX   512u

typedef struct {
    uint64_t seq;      /* increasing from 1 over the process lifetime */
    uint64_t t_ms;     /* wall clock, ms since the epoch */
    log_level_t level;
    char text[LOG_LINE_MAX]; /* the message, without timestamp and level */
} log_entry_t;

/* Copies up to cap entries with seq > after_seq, oldest first; returns the
 * count. Thread-safe. */
size_t log_recent(uint64_t after_seq, log_entry_t *out, size_t cap);
/* Sequence number of the newest line (0 when none). */
uint64_t log_last_seq(void);
/* Forgets the kept lines (DELETE /api/logs); numbering continues. */
void log_clear_recent(void);
/* Static upper-case name: "ERROR", "WARNING", "INFO", "DEBUG". */
const char *log_level_name(log_level_t level);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* LOG_H */
