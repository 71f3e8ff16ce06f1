/*
 * Diagnostics document, metrics publication, loop lag, stall watchdog and
 * sd_notify. See diag.h.
 */
#include "diag.h"
#include "thread.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef TBVB_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"
#include "metrics.h"
#include "status_json.h"

#define METRICS_PERIOD_US 1000000u
#define DIAG_PERIOD_US    2000000u
#define WATCH_PERIOD_MS   250

struct diag {
    char version[32];
    uint64_t start_us;
    double start_wall_s;

    /* Written by the loop, read by the watchdog thread. */
    _Atomic uint64_t beat_us;
    _Atomic(const char *) where;

    /* Loop figures (loop thread only). */
    uint64_t iterations;
    uint64_t last_beat_us; /* the loop's previous mark, for the feed gaps */
    uint64_t max_gap_us;   /* longest time between two marks */
    uint32_t poll_interval_ms;
    bool have_mem;
    uint64_t mem_available_min;
    uint64_t planned_wake_us;
    uint64_t woke_us;
    uint64_t lag_last_us, lag_max_us, lag_sum_us, lag_samples;
    uint64_t busy_last_us, busy_max_us;
    uint64_t next_metrics_us;
    uint64_t next_diag_us;

    /* Watchdog (its thread writes; the loop reads under mu). */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
    bool enabled;       /* advanced.enable_watchdog */
    uint64_t stall_us;  /* advanced.watchdog_timeout_s */
    bool stalled;
    uint64_t stalls;
    uint64_t longest_stall_ms;
    uint64_t watchdog_usec; /* systemd WatchdogSec in us; 0 = not asked */
    uint64_t pings;
    pthread_t thread;
};

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void notify(const char *what)
{
#ifdef TBVB_HAVE_SYSTEMD
    int r = sd_notify(0, what);
    if (r < 0) {
        log_warn("sd_notify(%s): %s", what, strerror(-r));
    }
#else
    (void)what;
#endif
}

static uint64_t watchdog_usec(void)
{
#ifdef TBVB_HAVE_SYSTEMD
    uint64_t usec = 0;
    int r = sd_watchdog_enabled(0, &usec);
    if (r < 0) {
        log_warn("systemd watchdog settings unreadable: %s", strerror(-r));
        return 0;
    }
    return r > 0 ? usec : 0u;
#else
    return 0;
#endif
}

/* ---- watchdog thread ---- */

static void *watch_main(void *arg)
{
    diag_t *d = arg;
    uint64_t next_ping_us = 0;
    pthread_mutex_lock(&d->mu);
    while (!d->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += WATCH_PERIOD_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int e = pthread_cond_timedwait(&d->cond, &d->mu, &until);
        if (e != 0 && e != ETIMEDOUT) {
            log_error("watchdog: wait failed: %s", strerror(e));
        }
        if (d->stop) {
            break;
        }
        uint64_t now = mono_us();
        uint64_t beat = atomic_load(&d->beat_us);
        uint64_t age = now > beat ? now - beat : 0u;
        const char *where = atomic_load(&d->where);
        bool was = d->stalled;
        bool enabled = d->enabled;
        d->stalled = age > d->stall_us;
        if (d->stalled && age / 1000u > d->longest_stall_ms) {
            d->longest_stall_ms = age / 1000u;
        }
        /* Decide about the ping before logging: a loop stuck in a write to
         * a full stderr holds the log lock too. */
        bool ping = d->watchdog_usec > 0u && (!d->stalled || !enabled) && now >= next_ping_us;
        if (ping) {
            next_ping_us = now + d->watchdog_usec / 2u;
            d->pings++;
        }
        if (d->stalled && !was) {
            d->stalls++;
        }
        pthread_mutex_unlock(&d->mu);
        if (ping) {
            notify("WATCHDOG=1");
        }
        if (d->stalled && !was) {
            log_error("event loop stalled: no turn for %.1f s (last at: %s)%s", (double)age / 1e6,
                      where ? where : "?",
                      !enabled ? "; advanced.enable_watchdog is false: no restart"
                      : d->watchdog_usec > 0u
                          ? "; systemd watchdog pings stopped, systemd will restart the bridge"
                          : "");
        } else if (!d->stalled && was) {
            log_warn("event loop running again after a stall of about %.1f s",
                     (double)d->longest_stall_ms / 1000.0);
        }
        log_flush_repeats();
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

diag_t *diag_create(const char *version, uint64_t now_us)
{
    diag_t *d = calloc(1, sizeof *d);
    if (d == NULL) {
        log_error("diagnostics: out of memory");
        return NULL;
    }
    (void)snprintf(d->version, sizeof d->version, "%s", version ? version : "");
    d->start_us = now_us;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    d->start_wall_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    atomic_init(&d->beat_us, now_us);
    atomic_init(&d->where, "start");
    d->last_beat_us = now_us;
    d->enabled = true;
    d->stall_us = (uint64_t)DIAG_STALL_MS * 1000u;
    d->watchdog_usec = watchdog_usec();
    pthread_mutex_init(&d->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cond, &ca);
    pthread_condattr_destroy(&ca);
    int e = thread_start(&d->thread, watch_main, d, THREAD_STACK_SMALL);
    if (e != 0) {
        log_error("watchdog thread: %s", strerror(e));
        pthread_cond_destroy(&d->cond);
        pthread_mutex_destroy(&d->mu);
        free(d);
        return NULL;
    }
    if (d->watchdog_usec > 0u) {
        log_info("systemd watchdog: %.1f s, pinged every %.1f s while the loop turns",
                 (double)d->watchdog_usec / 1e6, (double)d->watchdog_usec / 2e6);
    }
    return d;
}

void diag_configure(diag_t *d, const cfg_t *cfg)
{
    if (d == NULL || cfg == NULL) {
        return;
    }
    uint64_t stall_us = cfg->advanced.watchdog_timeout_s > 0
                            ? (uint64_t)cfg->advanced.watchdog_timeout_s * 1000000u
                            : (uint64_t)DIAG_STALL_MS * 1000u;
    d->poll_interval_ms =
        cfg->tinybms.poll_interval_ms > 0 ? (uint32_t)cfg->tinybms.poll_interval_ms : 0u;
    pthread_mutex_lock(&d->mu);
    bool changed = d->enabled != cfg->advanced.enable_watchdog || d->stall_us != stall_us;
    d->enabled = cfg->advanced.enable_watchdog;
    d->stall_us = stall_us;
    pthread_mutex_unlock(&d->mu);
    if (changed) {
        log_info("loop watchdog: stall after %.0f s%s", (double)stall_us / 1e6,
                 !cfg->advanced.enable_watchdog ? ", logged only (advanced.enable_watchdog false)"
                 : d->watchdog_usec > 0u       ? ", then the systemd pings stop"
                                               : "");
    }
}

void diag_ready(diag_t *d)
{
    (void)d;
    notify("READY=1\nSTATUS=bridging TinyBMS to CAN");
}

void diag_destroy(diag_t *d)
{
    if (d == NULL) {
        return;
    }
    notify("STOPPING=1");
    pthread_mutex_lock(&d->mu);
    d->stop = true;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->mu);
    int e = pthread_join(d->thread, NULL);
    if (e != 0) {
        log_error("watchdog thread: join: %s", strerror(e));
    }
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

/* ---- loop side ---- */

/* One mark of the loop (a "feed" of the watchdog). */
static void beat(diag_t *d, uint64_t now_us)
{
    atomic_store(&d->beat_us, now_us);
    if (now_us > d->last_beat_us && now_us - d->last_beat_us > d->max_gap_us) {
        d->max_gap_us = now_us - d->last_beat_us;
    }
    d->last_beat_us = now_us;
}

void diag_at(diag_t *d, const char *where)
{
    if (d != NULL) {
        atomic_store(&d->where, where);
    }
}

void diag_before_wait(diag_t *d, uint64_t now_us, uint64_t planned_wake_us)
{
    if (d == NULL) {
        return;
    }
    beat(d, now_us);
    atomic_store(&d->where, "poll");
    d->planned_wake_us = planned_wake_us;
    if (d->woke_us != 0u && now_us >= d->woke_us) {
        d->busy_last_us = now_us - d->woke_us;
        if (d->busy_last_us > d->busy_max_us) {
            d->busy_max_us = d->busy_last_us;
        }
    }
}

void diag_after_wait(diag_t *d, uint64_t now_us, bool timed_out)
{
    if (d == NULL) {
        return;
    }
    beat(d, now_us);
    atomic_store(&d->where, "after poll");
    d->iterations++;
    d->woke_us = now_us;
    if (timed_out) {
        uint64_t lag = now_us > d->planned_wake_us ? now_us - d->planned_wake_us : 0u;
        d->lag_last_us = lag;
        if (lag > d->lag_max_us) {
            d->lag_max_us = lag;
        }
        d->lag_sum_us += lag;
        d->lag_samples++;
    }
}

/* ---- /proc ---- */

static bool read_rss(uint64_t *bytes)
{
    FILE *f = fopen("/proc/self/statm", "re");
    if (f == NULL) {
        return false;
    }
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    if (fclose(f) != 0 || n != 2) {
        return false;
    }
    long page = sysconf(_SC_PAGESIZE);
    *bytes = resident * (unsigned long long)(page > 0 ? page : 4096);
    return true;
}

/* MemAvailable of /proc/meminfo in bytes: what the kernel can give to
 * programs without swapping, the closest Linux figure to the seed's ESP32
 * free heap. */
static bool read_mem_available(uint64_t *bytes)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (f == NULL) {
        return false;
    }
    char line[128];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        unsigned long long kib = 0;
        if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
            *bytes = kib * 1024u;
            found = true;
        }
    }
    (void)fclose(f);
    return found;
}

static bool count_fds(uint64_t *count)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL) {
        return false;
    }
    uint64_t n = 0;
    const struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    if (closedir(dir) != 0) {
        return false;
    }
    *count = n > 0u ? n - 1u : 0u; /* the directory's own fd */
    return true;
}

static void gather(diag_t *d, mqtt_t *mqtt, metrics_extra_t *x, mqtt_stats_t *ms)
{
    memset(x, 0, sizeof *x);
    x->have_process = read_rss(&x->rss_bytes) && count_fds(&x->open_fds);
    x->start_time_s = d->start_wall_s;
    x->have_loop = true;
    x->loop_iterations = d->iterations;
    x->loop_lag_last_s = (double)d->lag_last_us / 1e6;
    x->loop_lag_max_s = (double)d->lag_max_us / 1e6;
    x->loop_lag_avg_s =
        d->lag_samples ? (double)d->lag_sum_us / (double)d->lag_samples / 1e6 : 0.0;
    x->loop_busy_max_s = (double)d->busy_max_us / 1e6;
    pthread_mutex_lock(&d->mu);
    x->loop_stalls = d->stalls;
    pthread_mutex_unlock(&d->mu);
    memset(ms, 0, sizeof *ms);
    if (mqtt != NULL) {
        mqtt_get_stats(mqtt, ms);
        x->have_mqtt = ms->enabled;
        x->mqtt_connected = ms->connected;
        x->mqtt_published = ms->published;
        x->mqtt_publish_errors = ms->publish_errors;
        x->mqtt_connects = ms->connects;
        x->mqtt_connect_failures = ms->connect_failures;
        x->mqtt_disconnects = ms->disconnects;
    }
    log_stats_t ls;
    log_get_stats(&ls);
    x->have_log = true;
    memcpy(x->log_lines, ls.lines, sizeof x->log_lines);
    x->log_suppressed = ls.suppressed;
}

/* ---- the diagnostics document ---- */

static double ms(uint64_t us)
{
    return (double)(us / 10u) / 100.0; /* 0.01 ms resolution */
}

static void add_mqtt(cJSON *mods, const mqtt_stats_t *s)
{
    cJSON *m = cJSON_AddObjectToObject(mods, "mqtt");
    cJSON_AddBoolToObject(m, "enabled", s->enabled);
    cJSON_AddBoolToObject(m, "connected", s->connected);
    cJSON_AddStringToObject(m, "broker", s->broker);
    cJSON_AddNumberToObject(m, "published", (double)s->published);
    cJSON_AddNumberToObject(m, "publish_errors", (double)s->publish_errors);
    cJSON_AddNumberToObject(m, "connects", (double)s->connects);
    cJSON_AddNumberToObject(m, "connect_failures", (double)s->connect_failures);
    cJSON_AddNumberToObject(m, "disconnects", (double)s->disconnects);
    cJSON_AddNumberToObject(m, "backoff_ms", s->backoff_ms);
    cJSON_AddNumberToObject(m, "connect_call_max_ms", ms(s->connect_call_max_us));
    cJSON_AddStringToObject(m, "last_error", s->last_error);
}

static void add_log(cJSON *mods)
{
    log_stats_t ls;
    log_get_stats(&ls);
    cJSON *l = cJSON_AddObjectToObject(mods, "log");
    cJSON_AddStringToObject(l, "level", log_level_name(log_get_level()));
    cJSON_AddNumberToObject(l, "errors", (double)ls.lines[LOG_ERROR]);
    cJSON_AddNumberToObject(l, "warnings", (double)ls.lines[LOG_WARNING]);
    cJSON_AddNumberToObject(l, "infos", (double)ls.lines[LOG_INFO]);
    cJSON_AddNumberToObject(l, "debugs", (double)ls.lines[LOG_DEBUG]);
    cJSON_AddNumberToObject(l, "suppressed_repeats", (double)ls.suppressed);
    cJSON_AddBoolToObject(l, "file_open", ls.file_open);
    cJSON_AddNumberToObject(l, "file_rotations", (double)ls.file_rotations);
    cJSON_AddNumberToObject(l, "file_errors", (double)ls.file_errors);
    cJSON_AddBoolToObject(l, "journal", ls.journal);
}

static void add_last_errors(cJSON *root)
{
    log_entry_t e[LOG_PROBLEM_LINES];
    size_t n = log_recent_problems(e, LOG_PROBLEM_LINES);
    cJSON *arr = cJSON_AddArrayToObject(root, "last_errors");
    for (size_t i = n; i-- > 0;) { /* newest first */
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "t_ms", (double)e[i].t_ms);
        cJSON_AddStringToObject(o, "level", log_level_name(e[i].level));
        cJSON_AddStringToObject(o, "text", e[i].text);
        cJSON_AddItemToArray(arr, o);
    }
}

/* st: the latest status snapshot, NULL before the first. */
static char *diagnostics_json(diag_t *d, uint64_t now_us, const status_t *st,
                              const metrics_extra_t *x, const mqtt_stats_t *mstats)
{
    cJSON *root = cJSON_CreateObject();
    if (root == NULL) {
        return NULL;
    }
    cJSON_AddStringToObject(root, "version", d->version);
    cJSON_AddStringToObject(root, "build", __DATE__ " " __TIME__);
    cJSON_AddNumberToObject(root, "pid", (double)getpid());
    cJSON_AddNumberToObject(root, "uptime_ms", (double)((now_us - d->start_us) / 1000u));
    cJSON_AddNumberToObject(root, "started_at_s", (double)(uint64_t)d->start_wall_s);

    cJSON *proc = cJSON_AddObjectToObject(root, "process");
    if (x->have_process) {
        cJSON_AddNumberToObject(proc, "rss_bytes", (double)x->rss_bytes);
        cJSON_AddNumberToObject(proc, "open_fds", (double)x->open_fds);
    }

    cJSON *loop = cJSON_AddObjectToObject(root, "loop");
    cJSON_AddNumberToObject(loop, "iterations", (double)d->iterations);
    cJSON *lag = cJSON_AddObjectToObject(loop, "lag_ms");
    cJSON_AddNumberToObject(lag, "last", ms(d->lag_last_us));
    cJSON_AddNumberToObject(lag, "max", ms(d->lag_max_us));
    cJSON_AddNumberToObject(lag, "avg", d->lag_samples ? ms(d->lag_sum_us / d->lag_samples) : 0);
    cJSON_AddNumberToObject(lag, "samples", (double)d->lag_samples);
    cJSON *busy = cJSON_AddObjectToObject(loop, "busy_ms");
    cJSON_AddNumberToObject(busy, "last", ms(d->busy_last_us));
    cJSON_AddNumberToObject(busy, "max", ms(d->busy_max_us));

    uint64_t mem = 0;
    if (read_mem_available(&mem)) {
        if (!d->have_mem || mem < d->mem_available_min) {
            d->mem_available_min = mem;
        }
        d->have_mem = true;
        cJSON_AddNumberToObject(root, "heap_free", (double)mem);
        cJSON_AddNumberToObject(root, "heap_free_min", (double)d->mem_available_min);
    } else {
        cJSON_AddNullToObject(root, "heap_free");
        cJSON_AddNullToObject(root, "heap_free_min");
    }

    /* The seed's watchdog names (seed-system.md 5.1 /api/watchdog), where a
     * "feed" is a turn of the event loop, then ours. */
    cJSON *wd = cJSON_AddObjectToObject(root, "watchdog");
    uint64_t beat_us = atomic_load(&d->beat_us);
    uint64_t since_ms = now_us > beat_us ? (now_us - beat_us) / 1000u : 0u;
    pthread_mutex_lock(&d->mu);
    uint64_t limit_ms = d->stall_us / 1000u;
    cJSON_AddBoolToObject(wd, "enabled", d->enabled);
    cJSON_AddNumberToObject(wd, "timeout_ms", (double)limit_ms);
    cJSON_AddNumberToObject(wd, "time_since_last_feed_ms", (double)since_ms);
    cJSON_AddNumberToObject(wd, "time_until_timeout_ms",
                            (double)(limit_ms > since_ms ? limit_ms - since_ms : 0u));
    cJSON_AddNumberToObject(wd, "feed_count", (double)d->iterations);
    cJSON_AddNumberToObject(wd, "max_feed_gap_ms", ms(d->max_gap_us));
    cJSON_AddBoolToObject(wd, "health_ok", !d->stalled);
    cJSON_AddBoolToObject(wd, "restarts_on_stall", d->enabled && d->watchdog_usec > 0u);
    cJSON_AddNumberToObject(wd, "stall_limit_ms", (double)limit_ms);
    cJSON_AddBoolToObject(wd, "stalled", d->stalled);
    cJSON_AddNumberToObject(wd, "stalls", (double)d->stalls);
    cJSON_AddNumberToObject(wd, "longest_stall_ms", (double)d->longest_stall_ms);
#ifdef TBVB_HAVE_SYSTEMD
    cJSON_AddBoolToObject(wd, "systemd_support", true);
#else
    cJSON_AddBoolToObject(wd, "systemd_support", false);
#endif
    cJSON_AddNumberToObject(wd, "systemd_watchdog_ms", (double)(d->watchdog_usec / 1000u));
    cJSON_AddNumberToObject(wd, "systemd_pings", (double)d->pings);
    pthread_mutex_unlock(&d->mu);

    cJSON *mods = status_json_add_diagnostics(root, st, d->poll_interval_ms);
    add_mqtt(mods, mstats);
    add_log(mods);
    add_last_errors(root);

    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

void diag_tick(diag_t *d, uint64_t now_us, hub_t *hub, mqtt_t *mqtt)
{
    if (d == NULL || now_us < d->next_metrics_us) {
        return;
    }
    d->next_metrics_us = now_us + METRICS_PERIOD_US;
    status_t st; /* the typed snapshot: read, never parsed back from its JSON */
    const status_t *status = hub_get_status(hub, &st, NULL) ? &st : NULL;
    metrics_extra_t x;
    mqtt_stats_t ms;
    gather(d, mqtt, &x, &ms);
    char *text = metrics_text(status, &x);
    if (text != NULL) {
        hub_publish(hub, HUB_DOC_METRICS, text);
    } else {
        log_warn("metrics: out of memory");
    }
    if (now_us >= d->next_diag_us) {
        d->next_diag_us = now_us + DIAG_PERIOD_US;
        char *json = diagnostics_json(d, now_us, status, &x, &ms);
        if (json != NULL) {
            hub_publish(hub, HUB_DOC_DIAGNOSTICS, json);
        }
    }
}
