#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static log_level_t current_level = LOG_INFO;

static pthread_mutex_t ring_mu = PTHREAD_MUTEX_INITIALIZER;
static log_entry_t ring[LOG_RING_LINES];
static uint64_t ring_seq;   /* newest */
static uint64_t ring_first; /* oldest kept (after a clear) */

const char *log_level_name(log_level_t level)
{
    static const char *const names[] = {"ERROR", "WARNING", "INFO", "DEBUG"};
    return (unsigned)level <= LOG_DEBUG ? names[level] : "?";
}

static void ring_add(log_level_t level, uint64_t t_ms, const char *text)
{
    pthread_mutex_lock(&ring_mu);
    ring_seq++;
    log_entry_t *e = &ring[ring_seq % LOG_RING_LINES];
    e->seq = ring_seq;
    e->t_ms = t_ms;
    e->level = level;
    snprintf(e->text, sizeof e->text, "%s", text);
    pthread_mutex_unlock(&ring_mu);
}

size_t log_recent(uint64_t after_seq, log_entry_t *out, size_t cap)
{
    size_t n = 0;
    pthread_mutex_lock(&ring_mu);
    uint64_t first = ring_seq >= LOG_RING_LINES ? ring_seq - LOG_RING_LINES + 1u : 1u;
    if (first < ring_first) {
        first = ring_first;
    }
    if (after_seq + 1u > first) {
        first = after_seq + 1u;
    }
    for (uint64_t s = first; s <= ring_seq && n < cap; s++) {
        out[n++] = ring[s % LOG_RING_LINES];
    }
    pthread_mutex_unlock(&ring_mu);
    return n;
}

uint64_t log_last_seq(void)
{
    pthread_mutex_lock(&ring_mu);
    uint64_t s = ring_seq;
    pthread_mutex_unlock(&ring_mu);
    return s;
}

void log_clear_recent(void)
{
    pthread_mutex_lock(&ring_mu);
    ring_first = ring_seq + 1u;
    pthread_mutex_unlock(&ring_mu);
}

void log_set_level(log_level_t level)
{
    current_level = level;
}

log_level_t log_get_level(void)
{
    return current_level;
}

void log_msg(log_level_t level, const char *fmt, ...)
{
    static const char *const names[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
    if (level > current_level) {
        return;
    }
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000L, names[level]);
    if (n < 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1u, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0u : (size_t)m);
    if (len > sizeof line - 2u) {
        len = sizeof line - 2u;
    }
    line[len] = '\0';
    ring_add(level, (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u, line + n);
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
