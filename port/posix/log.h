/*
 * log.h - leveled log lines: "2026-11-24T05:30:01.123Z INFO  message".
 *
 * Sinks (all written under one lock, a line at a time, one write() each):
 *   - stderr, always. When stderr is the systemd journal (JOURNAL_STREAM
 *     names it, see systemd.exec(5)) the line is "<N>message" instead: the
 *     journal adds its own time stamp and takes the level from <N>
 *     (sd-daemon(3) prefixes: ERROR 3, WARNING 4, INFO 6, DEBUG 7).
 *   - an optional size-capped rotating file set, DIR/bridge.log with
 *     bridge.log.1 .. bridge.log.(files-1) (log_open_file). This is what
 *     survives a restart: the files are appended to, never truncated at start.
 *     A writer thread does the file writes and rotations, so no caller
 *     (the bridge loop above all) waits on the disk; a line that finds its
 *     LOG_QUEUE_BYTES (256 KiB) queue full is dropped for the file only (file_dropped), and
 *     the file says how many lines it misses once the writer caught up.
 *     log_close_file writes what is queued before it returns.
 *   - an in-memory ring of the last LOG_RING_LINES lines (GET /api/logs),
 *     and a smaller ring of the last ERROR/WARNING lines (diagnostics).
 *
 * No log storm: a line at ERROR, WARNING or INFO identical to one written
 * less than LOG_REPEAT_WINDOW_MS ago is not written again; when the window
 * closes (log_flush_repeats, or the next copy after it) one line
 * "last message repeated N times in 10 s: <text>" replaces the copies.
 * DEBUG lines are never suppressed (traffic dumps repeat on purpose).
 *
 * Thread-safe; every function may be called from any thread.
 */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { LOG_ERROR = 0, LOG_WARNING, LOG_INFO, LOG_DEBUG } log_level_t;

void log_set_level(log_level_t level);
log_level_t log_get_level(void);

/* printf-style; nothing is written when level is above the set level. */
void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The most recent lines, kept in memory for GET /api/logs. */
#ifndef LOG_RING_LINES
#define LOG_RING_LINES 1000u /* a small board builds with fewer (docs/esp32.md) */
#endif
#ifndef LOG_LINE_MAX
#define LOG_LINE_MAX 512u
#endif

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

/* The last ERROR and WARNING lines (newest last), for the diagnostics. */
#define LOG_PROBLEM_LINES 10u
/* Copies up to cap of them into out; returns the count. */
size_t log_recent_problems(log_entry_t *out, size_t cap);

/* ---- rotating file ---- */

#define LOG_FILE_NAME        "bridge.log"
#define LOG_REPEAT_WINDOW_MS 10000u

/*
 * Starts (or re-starts with new limits) writing to DIR/bridge.log; when a
 * line would take the file past max_bytes it is renamed to bridge.log.1
 * (.1 to .2 and so on; the oldest of `files` is dropped) and a new file is
 * begun. files counts every file of the set (1 = bridge.log only, which is
 * then emptied when full). max_bytes 0 closes the file and writes none.
 * Returns 0, or -1 with errno set (the reason is also logged to stderr).
 * Cost: open() and fstat(); rotation is rename() calls.
 */
int log_open_file(const char *dir, size_t max_bytes, unsigned files);
/* Writes the pending "repeated N times" lines, then stops writing the file
 * (lines keep going to stderr and the ring). Call it at exit. */
void log_close_file(void);

/* Writes the "repeated N times" lines of the windows that have closed.
 * Call it about once a second (the watchdog thread does). */
void log_flush_repeats(void);

/* Counters since the start. */
typedef struct {
    uint64_t lines[4];      /* written, per level */
    uint64_t suppressed;    /* identical lines not written (storm guard) */
    uint64_t file_rotations;
    uint64_t file_errors;   /* failed writes/renames/opens of the log file */
    uint64_t file_dropped;  /* lines not written to the file: its queue was full */
    bool file_open;
    bool journal;           /* stderr is the systemd journal */
} log_stats_t;
void log_get_stats(log_stats_t *out);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* LOG_H */
