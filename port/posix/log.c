/*
 * The logger: stderr (or the journal), a rotating file set, the in-memory
 * rings, and the storm guard. See log.h for the behaviour.
 */
#include "log.h"
#include "paths.h"
#include "thread.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_int current_level = LOG_INFO;

/* One lock for every sink, so lines from several threads never interleave
 * and the file is rotated by one writer at a time. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static log_entry_t ring[LOG_RING_LINES];
static uint64_t ring_seq;   /* newest */
static uint64_t ring_first; /* oldest kept (after a clear) */

static log_entry_t problems[LOG_PROBLEM_LINES];
static uint64_t problem_count;

/* Storm guard: the last few distinct lines and how often each repeated. */
#define REPEAT_SLOTS 8u
typedef struct {
    bool used;
    uint32_t hash;
    log_level_t level;
    uint64_t window_start_ms; /* monotonic */
    uint64_t last_use_ms;     /* monotonic, for least-recently-used reuse */
    uint32_t repeats;         /* copies not written since window_start_ms */
    char text[LOG_LINE_MAX];
} repeat_slot_t;
static repeat_slot_t repeats[REPEAT_SLOTS];

static struct {
    int fd;
    char dir[TBVB_PATH_MAX - 32];
    size_t max_bytes;
    unsigned files;
    size_t size;
} file = {.fd = -1};

static log_stats_t stats;
static bool journal_checked;

/*
 * Log file writes leave the caller's thread (the bridge loop must never
 * wait on a disk): emit() queues the formatted line in fq under log_mu,
 * the writer thread takes whole chunks out and writes them under file_mu,
 * which alone guards `file`. A full queue drops the line for the file
 * (counted; stderr and the rings still have it).
 */
#ifndef LOG_QUEUE_BYTES
#define LOG_QUEUE_BYTES 262144u /* about 4000 lines: a burst, not a storm (that is folded) */
#endif
static char fq[LOG_QUEUE_BYTES];
/* What the writer takes out at a time: whole lines, so longer than the
 * longest one emit() writes (LOG_FILE_LINE_MAX). */
#define LOG_FILE_LINE_MAX 1024u
#define LOG_CHUNK_BYTES   (LOG_QUEUE_BYTES >= 65536u ? 8192u : LOG_QUEUE_BYTES / 8u)
_Static_assert(LOG_CHUNK_BYTES > LOG_FILE_LINE_MAX, "a chunk holds a whole line");
static size_t fq_head; /* next byte to take */
static size_t fq_len;  /* bytes queued */
static pthread_cond_t fq_cv = PTHREAD_COND_INITIALIZER;
static bool writer_running;
static bool writer_stop;
static pthread_t writer;
static pthread_mutex_t file_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_ullong file_rotations_a, file_errors_a, file_dropped_a;
static uint64_t fq_dropped_unsaid; /* dropped since the file last said so (log_mu) */
static atomic_bool file_open_a;

static void emit_repeat_summary(repeat_slot_t *s);

const char *log_level_name(log_level_t level)
{
    static const char *const names[] = {"ERROR", "WARNING", "INFO", "DEBUG"};
    return (unsigned)level <= LOG_DEBUG ? names[level] : "?";
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A line the logger cannot log through itself (its own file failing). */
static void raw_stderr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void raw_stderr(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1u, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    size_t len = (size_t)n < sizeof line - 2u ? (size_t)n : sizeof line - 2u;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w; /* nowhere left to report a failing stderr */
}

/* systemd.exec(5): JOURNAL_STREAM="<dev>:<inode>" of the journal stream. */
static void check_journal(void)
{
    journal_checked = true;
    const char *js = getenv("JOURNAL_STREAM");
    struct stat st;
    if (js == NULL || fstat(STDERR_FILENO, &st) != 0) {
        return;
    }
    unsigned long long dev = 0, ino = 0;
    if (sscanf(js, "%llu:%llu", &dev, &ino) == 2 && (unsigned long long)st.st_dev == dev &&
        (unsigned long long)st.st_ino == ino) {
        stats.journal = true;
    }
}

/* ---- rotating file (file_mu held) ---- */

static void file_path(char *out, size_t cap, unsigned index)
{
    if (index == 0u) {
        (void)snprintf(out, cap, "%s/" LOG_FILE_NAME, file.dir);
    } else {
        (void)snprintf(out, cap, "%s/" LOG_FILE_NAME ".%u", file.dir, index);
    }
}

static int file_open_current(void)
{
    char path[TBVB_PATH_MAX];
    file_path(path, sizeof path, 0u);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        (void)close(fd);
        errno = e;
        return -1;
    }
    file.fd = fd;
    file.size = (size_t)st.st_size;
    atomic_store(&file_open_a, true);
    return 0;
}

static void file_close_locked(void)
{
    if (file.fd >= 0 && close(file.fd) != 0) {
        atomic_fetch_add(&file_errors_a, 1u);
    }
    file.fd = -1;
    atomic_store(&file_open_a, false);
}

/* bridge.log.(n-2) -> .(n-1), ..., bridge.log -> .1; then a new bridge.log. */
static int file_rotate(void)
{
    char from[TBVB_PATH_MAX], to[TBVB_PATH_MAX];
    file_close_locked();
    if (file.files <= 1u) {
        file_path(from, sizeof from, 0u);
        if (unlink(from) != 0 && errno != ENOENT) {
            return -1;
        }
    }
    for (unsigned i = file.files - 1u; i >= 1u; i--) {
        file_path(from, sizeof from, i - 1u);
        file_path(to, sizeof to, i);
        if (rename(from, to) != 0 && errno != ENOENT) {
            return -1;
        }
    }
    atomic_fetch_add(&file_rotations_a, 1u);
    return file_open_current();
}

static void file_write(const char *line, size_t len)
{
    if (file.fd < 0) {
        return;
    }
    if (file.size > 0u && file.size + len > file.max_bytes && file_rotate() != 0) {
        atomic_fetch_add(&file_errors_a, 1u);
        raw_stderr("log file %s/" LOG_FILE_NAME ": rotation failed: %s; file logging stopped",
                   file.dir, strerror(errno));
        file_close_locked();
        return;
    }
    ssize_t w = write(file.fd, line, len);
    if (w < 0 || (size_t)w != len) {
        atomic_fetch_add(&file_errors_a, 1u);
        raw_stderr("log file %s/" LOG_FILE_NAME ": write failed: %s; file logging stopped",
                   file.dir, w < 0 ? strerror(errno) : "short write");
        file_close_locked();
        return;
    }
    file.size += len;
}

/* The writer thread: whole lines out of fq, into the file. */
static void *writer_main(void *arg)
{
    (void)arg;
    static char chunk[LOG_CHUNK_BYTES];
    pthread_mutex_lock(&log_mu);
    for (;;) {
        while (fq_len == 0u && !writer_stop) {
            pthread_cond_wait(&fq_cv, &log_mu);
        }
        if (fq_len == 0u) {
            break; /* stopping, and everything is written */
        }
        size_t n = 0;
        while (n < fq_len && n < sizeof chunk) {
            chunk[n] = fq[(fq_head + n) % LOG_QUEUE_BYTES];
            n++;
        }
        if (n < fq_len) {
            /* Whole lines only, so a rotation never splits one: a chunk
             * holds at least one line (a line is < sizeof chunk). */
            while (n > 0u && chunk[n - 1u] != '\n') {
                n--;
            }
        }
        fq_head = (fq_head + n) % LOG_QUEUE_BYTES;
        fq_len -= n;
        uint64_t dropped = fq_len == 0u ? fq_dropped_unsaid : 0u;
        if (dropped > 0u) {
            fq_dropped_unsaid = 0;
        }
        pthread_mutex_unlock(&log_mu);
        pthread_mutex_lock(&file_mu);
        size_t off = 0;
        while (off < n) {
            const char *nl = memchr(chunk + off, '\n', n - off);
            size_t len = nl != NULL ? (size_t)(nl - (chunk + off)) + 1u : n - off;
            file_write(chunk + off, len);
            off += len;
        }
        if (dropped > 0u) {
            /* Caught up: say in the file what it is missing. */
            char note[128];
            int m = snprintf(note, sizeof note,
                             "(%llu log lines were not written to this file: its queue was "
                             "full; stderr had them)\n",
                             (unsigned long long)dropped);
            if (m > 0) {
                file_write(note, (size_t)m < sizeof note ? (size_t)m : sizeof note - 1u);
            }
        }
        pthread_mutex_unlock(&file_mu);
        pthread_mutex_lock(&log_mu);
    }
    pthread_mutex_unlock(&log_mu);
    return NULL;
}

/* Writes what is queued and ends the writer thread. */
static void writer_finish(void)
{
    pthread_mutex_lock(&log_mu);
    bool running = writer_running;
    writer_stop = true;
    pthread_cond_broadcast(&fq_cv);
    pthread_mutex_unlock(&log_mu);
    if (running) {
        pthread_join(writer, NULL);
    }
    pthread_mutex_lock(&log_mu);
    writer_running = false;
    writer_stop = false;
    fq_head = fq_len = 0;
    fq_dropped_unsaid = 0;
    pthread_mutex_unlock(&log_mu);
}

/* Queues one whole line for the file (log_mu held). */
static void file_queue(const char *line, size_t len)
{
    if (!writer_running) {
        return;
    }
    if (len > LOG_QUEUE_BYTES - fq_len) {
        atomic_fetch_add(&file_dropped_a, 1u);
        fq_dropped_unsaid++;
        return;
    }
    for (size_t i = 0; i < len; i++) {
        fq[(fq_head + fq_len + i) % LOG_QUEUE_BYTES] = line[i];
    }
    fq_len += len;
    pthread_cond_signal(&fq_cv);
}

int log_open_file(const char *dir, size_t max_bytes, unsigned files)
{
    if (dir == NULL || files == 0u || strlen(dir) >= sizeof file.dir) {
        errno = EINVAL;
        return -1;
    }
    writer_finish();
    pthread_mutex_lock(&file_mu);
    file_close_locked();
    (void)snprintf(file.dir, sizeof file.dir, "%s", dir);
    file.max_bytes = max_bytes;
    file.files = files;
    int rc = 0;
    if (max_bytes > 0u && file_open_current() != 0) {
        int e = errno;
        atomic_fetch_add(&file_errors_a, 1u);
        raw_stderr("log file %s/" LOG_FILE_NAME ": %s; logging to stderr only", dir, strerror(e));
        errno = e;
        rc = -1;
    }
    bool open_ok = file.fd >= 0;
    pthread_mutex_unlock(&file_mu);
    if (open_ok) {
        static bool at_exit_set;
        if (!at_exit_set) {
            /* A program that returns without log_close_file still gets
             * its last lines into the file. */
            at_exit_set = atexit(writer_finish) == 0;
        }
        pthread_mutex_lock(&log_mu);
        writer_running = thread_start(&writer, writer_main, NULL, THREAD_STACK_SMALL) == 0;
        pthread_mutex_unlock(&log_mu);
        if (!writer_running) {
            raw_stderr("log file %s/" LOG_FILE_NAME ": no writer thread; logging to stderr only",
                       dir);
            rc = -1;
        }
    }
    return rc;
}

void log_close_file(void)
{
    pthread_mutex_lock(&log_mu);
    for (unsigned i = 0; i < REPEAT_SLOTS; i++) {
        if (repeats[i].used && repeats[i].repeats > 0u) {
            emit_repeat_summary(&repeats[i]);
        }
    }
    pthread_mutex_unlock(&log_mu);
    writer_finish();
    pthread_mutex_lock(&file_mu);
    file_close_locked();
    pthread_mutex_unlock(&file_mu);
}

/* ---- the sinks together (log_mu held) ---- */

static void emit(log_level_t level, const char *text)
{
    static const char *const names[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
    static const int journal_prio[] = {3, 4, 6, 7};
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    uint64_t t_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;

    ring_seq++;
    log_entry_t *e = &ring[ring_seq % LOG_RING_LINES];
    e->seq = ring_seq;
    e->t_ms = t_ms;
    e->level = level;
    (void)snprintf(e->text, sizeof e->text, "%s", text);
    if (level <= LOG_WARNING) {
        problems[problem_count % LOG_PROBLEM_LINES] = *e;
        problem_count++;
    }
    stats.lines[level]++;

    char line[LOG_FILE_LINE_MAX];
    int n = snprintf(line, sizeof line - 1u, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000L, names[level], text);
    if (n < 0) {
        return;
    }
    size_t len = (size_t)n < sizeof line - 2u ? (size_t)n : sizeof line - 2u;
    line[len++] = '\n';
    file_queue(line, len);

    if (!journal_checked) {
        check_journal();
    }
    if (stats.journal) {
        char jline[600];
        int m = snprintf(jline, sizeof jline - 1u, "<%d>%s", journal_prio[level], text);
        if (m < 0) {
            return;
        }
        size_t jlen = (size_t)m < sizeof jline - 2u ? (size_t)m : sizeof jline - 2u;
        jline[jlen++] = '\n';
        ssize_t w = write(STDERR_FILENO, jline, jlen);
        (void)w; /* stderr failing: nowhere left to say so */
    } else {
        ssize_t w = write(STDERR_FILENO, line, len);
        (void)w;
    }
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != '\0'; s++) {
        h = (h ^ (uint8_t)*s) * 16777619u;
    }
    return h;
}

static void emit_repeat_summary(repeat_slot_t *s)
{
    char text[LOG_LINE_MAX];
    (void)snprintf(text, sizeof text, "last message repeated %u times in %u s: %.*s",
                   (unsigned)s->repeats, (unsigned)(LOG_REPEAT_WINDOW_MS / 1000u),
                   (int)(LOG_LINE_MAX - 80u), s->text);
    s->repeats = 0;
    emit(s->level, text);
}

/* True when the line is a repeat inside its window (and so not written);
 * otherwise makes room for it and returns false. */
static bool suppressed(log_level_t level, const char *text, uint64_t now_ms)
{
    uint32_t h = fnv1a(text);
    repeat_slot_t *victim = &repeats[0];
    for (unsigned i = 0; i < REPEAT_SLOTS; i++) {
        repeat_slot_t *s = &repeats[i];
        if (s->used && s->hash == h && s->level == level && strcmp(s->text, text) == 0) {
            s->last_use_ms = now_ms;
            if (now_ms - s->window_start_ms < LOG_REPEAT_WINDOW_MS) {
                s->repeats++;
                stats.suppressed++;
                return true;
            }
            if (s->repeats > 0u) {
                emit_repeat_summary(s);
            }
            s->window_start_ms = now_ms;
            return false;
        }
        if (!s->used || (victim->used && s->last_use_ms < victim->last_use_ms)) {
            victim = s;
        }
    }
    if (victim->used && victim->repeats > 0u) {
        emit_repeat_summary(victim);
    }
    victim->used = true;
    victim->hash = h;
    victim->level = level;
    victim->window_start_ms = now_ms;
    victim->last_use_ms = now_ms;
    victim->repeats = 0;
    (void)snprintf(victim->text, sizeof victim->text, "%s", text);
    return false;
}

void log_flush_repeats(void)
{
    uint64_t now_ms = mono_ms();
    pthread_mutex_lock(&log_mu);
    for (unsigned i = 0; i < REPEAT_SLOTS; i++) {
        repeat_slot_t *s = &repeats[i];
        if (s->used && s->repeats > 0u && now_ms - s->window_start_ms >= LOG_REPEAT_WINDOW_MS) {
            emit_repeat_summary(s);
            s->used = false; /* the next copy is written and opens a new window */
        }
    }
    pthread_mutex_unlock(&log_mu);
}

void log_msg(log_level_t level, const char *fmt, ...)
{
    if ((unsigned)level > LOG_DEBUG || (int)level > atomic_load(&current_level)) {
        return;
    }
    char text[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (m < 0) {
        return;
    }
    uint64_t now_ms = mono_ms();
    pthread_mutex_lock(&log_mu);
    if (level == LOG_DEBUG || !suppressed(level, text, now_ms)) {
        emit(level, text);
    }
    pthread_mutex_unlock(&log_mu);
}

/* ---- readers ---- */

size_t log_recent(uint64_t after_seq, log_entry_t *out, size_t cap)
{
    size_t n = 0;
    pthread_mutex_lock(&log_mu);
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
    pthread_mutex_unlock(&log_mu);
    return n;
}

size_t log_recent_problems(log_entry_t *out, size_t cap)
{
    size_t n = 0;
    pthread_mutex_lock(&log_mu);
    uint64_t first = problem_count > LOG_PROBLEM_LINES ? problem_count - LOG_PROBLEM_LINES : 0u;
    for (uint64_t i = first; i < problem_count && n < cap; i++) {
        out[n++] = problems[i % LOG_PROBLEM_LINES];
    }
    pthread_mutex_unlock(&log_mu);
    return n;
}

uint64_t log_last_seq(void)
{
    pthread_mutex_lock(&log_mu);
    uint64_t s = ring_seq;
    pthread_mutex_unlock(&log_mu);
    return s;
}

void log_clear_recent(void)
{
    pthread_mutex_lock(&log_mu);
    ring_first = ring_seq + 1u;
    pthread_mutex_unlock(&log_mu);
}

void log_get_stats(log_stats_t *out)
{
    pthread_mutex_lock(&log_mu);
    *out = stats;
    pthread_mutex_unlock(&log_mu);
    out->file_rotations = atomic_load(&file_rotations_a);
    out->file_errors = atomic_load(&file_errors_a);
    out->file_dropped = atomic_load(&file_dropped_a);
    out->file_open = atomic_load(&file_open_a);
}

void log_set_level(log_level_t level)
{
    atomic_store(&current_level, (int)level);
}

log_level_t log_get_level(void)
{
    return (log_level_t)atomic_load(&current_level);
}
