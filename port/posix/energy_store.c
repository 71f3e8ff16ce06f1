/* Energy counters file: load and atomic save (see energy_store.h). */
#include "energy_store.h"
#include "paths.h"
#include "thread.h"

#include "atomic_file.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool energy_load(const char *path, uint64_t *charged_mwh, uint64_t *discharged_mwh)
{
    if (path == NULL || charged_mwh == NULL || discharged_mwh == NULL) {
        return false;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return false;
    }
    char buf[256];
    size_t n = fread(buf, 1u, sizeof buf - 1u, f);
    fclose(f);
    buf[n] = '\0';
    uint64_t c = 0;
    uint64_t d = 0;
    int used = 0;
    if (sscanf(buf, " { \"charged_mwh\" : %" SCNu64 " , \"discharged_mwh\" : %" SCNu64 " }%n",
               &c, &d, &used) != 2 ||
        used == 0) {
        return false;
    }
    for (const char *p = buf + used; *p != '\0'; p++) {
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
            return false;
        }
    }
    *charged_mwh = c;
    *discharged_mwh = d;
    return true;
}

bool energy_save(const char *path, uint64_t charged_mwh, uint64_t discharged_mwh)
{
    if (path == NULL || path[0] == '\0') {
        errno = EINVAL;
        return false;
    }
    char text[128];
    int len = snprintf(text, sizeof text,
                       "{\"charged_mwh\": %" PRIu64 ", \"discharged_mwh\": %" PRIu64 "}\n",
                       charged_mwh, discharged_mwh);
    af_result_t *r = malloc(sizeof *r);
    if (r == NULL) {
        errno = ENOMEM;
        return false;
    }
    bool ok = atomic_write_file(path, text, (size_t)len, S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH, r);
    int e = r->err;
    free(r);
    if (!ok) {
        errno = e;
    }
    return ok;
}

struct energy_writer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char path[TBVB_PATH_MAX];
    bool pending;
    bool stop;
    uint64_t charged_mwh;
    uint64_t discharged_mwh;
    uint64_t saved;
    uint64_t failed;
};

static void *writer_main(void *arg)
{
    energy_writer_t *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->pending && !w->stop) {
            pthread_cond_wait(&w->cv, &w->mu);
        }
        if (w->pending) {
            uint64_t c = w->charged_mwh;
            uint64_t d = w->discharged_mwh;
            w->pending = false;
            pthread_mutex_unlock(&w->mu);
            bool ok = energy_save(w->path, c, d);
            int e = errno;
            if (!ok) {
                log_warn("energy counters %s: %s", w->path, strerror(e));
            }
            pthread_mutex_lock(&w->mu);
            if (ok) {
                w->saved++;
            } else {
                w->failed++;
            }
            pthread_cond_broadcast(&w->cv);
            continue;
        }
        if (w->stop) {
            break;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

energy_writer_t *energy_writer_start(const char *path)
{
    if (path == NULL || strlen(path) >= TBVB_PATH_MAX) {
        return NULL;
    }
    energy_writer_t *w = calloc(1u, sizeof *w);
    if (w == NULL) {
        return NULL;
    }
    (void)snprintf(w->path, sizeof w->path, "%s", path);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (thread_start(&w->thread, writer_main, w, THREAD_STACK_SMALL) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

void energy_writer_post(energy_writer_t *w, uint64_t charged_mwh, uint64_t discharged_mwh)
{
    if (w == NULL) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->charged_mwh = charged_mwh;
    w->discharged_mwh = discharged_mwh;
    w->pending = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void energy_writer_counts(energy_writer_t *w, uint64_t *saved, uint64_t *failed)
{
    if (w == NULL) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    if (saved != NULL) {
        *saved = w->saved;
    }
    if (failed != NULL) {
        *failed = w->failed;
    }
    pthread_mutex_unlock(&w->mu);
}

void energy_writer_stop(energy_writer_t *w)
{
    if (w == NULL) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL); /* it saves what is pending before it ends */
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
