#include "hub.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef ESP_PLATFORM
#include "esp_vfs_eventfd.h" /* eventfd() after esp_vfs_eventfd_register; reads never block */
#define HUB_EVENTFD_FLAGS 0
#else
#include <sys/eventfd.h>
#define HUB_EVENTFD_FLAGS (EFD_NONBLOCK | EFD_CLOEXEC)
#endif

struct hub {
    pthread_mutex_t mu;
    pthread_cond_t status_cond;
    pthread_cond_t write_cond;
    pthread_cond_t config_cond;
    pthread_mutex_t config_mu; /* read-merge-save of the config file */
    int wake_fd;
    char *doc[HUB_DOC_COUNT_];
    uint64_t doc_seq[HUB_DOC_COUNT_];
    bool have_status; /* status: the snapshot behind doc[HUB_DOC_STATUS] */
    status_t status;
    hub_can_entry_t can[HUB_CAN_RING];
    uint64_t can_seq; /* seq of the newest entry; 0 = none */
    /* Configuration hand-over: posted_seq counts posts; the slot holds the
     * newest until the loop takes it; done_seq is the newest the loop
     * finished (posted_seq > done_seq: one is in flight). */
    bool config_pending;
    cfg_t config;
    uint64_t posted_seq;
    uint64_t done_seq;
    bool done_applied;
    char done_why[256];
    cfg_t running;
    enum { W_IDLE, W_POSTED, W_TAKEN, W_DONE } write_state;
    hub_write_req_t write_req;
    hub_write_result_t write_res;
    bool write_abandoned; /* the poster timed out while the loop had it */
};

hub_t *hub_create(void)
{
    hub_t *h = calloc(1, sizeof *h);
    if (h == NULL) {
        return NULL;
    }
    h->wake_fd = eventfd(0, HUB_EVENTFD_FLAGS);
    if (h->wake_fd < 0) {
        free(h);
        return NULL;
    }
    pthread_mutex_init(&h->mu, NULL);
    pthread_mutex_init(&h->config_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->status_cond, &ca);
    pthread_cond_init(&h->write_cond, &ca);
    pthread_cond_init(&h->config_cond, &ca);
    pthread_condattr_destroy(&ca);
    cfg_defaults(&h->running);
    return h;
}

void hub_destroy(hub_t *h)
{
    if (h == NULL) {
        return;
    }
    for (int i = 0; i < HUB_DOC_COUNT_; i++) {
        free(h->doc[i]);
    }
    close(h->wake_fd);
    pthread_cond_destroy(&h->status_cond);
    pthread_cond_destroy(&h->write_cond);
    pthread_cond_destroy(&h->config_cond);
    pthread_mutex_destroy(&h->mu);
    pthread_mutex_destroy(&h->config_mu);
    free(h);
}

int hub_wake_fd(const hub_t *h)
{
    return h->wake_fd;
}

static void wake(hub_t *h)
{
    uint64_t one = 1;
    ssize_t w = write(h->wake_fd, &one, sizeof one);
    (void)w;
}

void hub_clear_wake(hub_t *h)
{
    uint64_t v;
    ssize_t r = read(h->wake_fd, &v, sizeof v);
    (void)r;
}

void hub_publish(hub_t *h, hub_doc_t doc, char *json)
{
    if ((unsigned)doc >= HUB_DOC_COUNT_) {
        free(json);
        return;
    }
    pthread_mutex_lock(&h->mu);
    char *old = h->doc[doc];
    h->doc[doc] = json;
    h->doc_seq[doc]++;
    if (doc == HUB_DOC_STATUS) {
        h->have_status = false;
        pthread_cond_broadcast(&h->status_cond);
    }
    pthread_mutex_unlock(&h->mu);
    free(old);
}

void hub_publish_status(hub_t *h, const status_t *st, char *json)
{
    if (st == NULL) {
        free(json);
        return;
    }
    pthread_mutex_lock(&h->mu);
    char *old = NULL;
    if (json != NULL) {
        old = h->doc[HUB_DOC_STATUS];
        h->doc[HUB_DOC_STATUS] = json;
    }
    h->status = *st;
    h->have_status = true;
    h->doc_seq[HUB_DOC_STATUS]++;
    pthread_cond_broadcast(&h->status_cond);
    pthread_mutex_unlock(&h->mu);
    free(old);
}

bool hub_get_status(hub_t *h, status_t *out, uint64_t *seq)
{
    pthread_mutex_lock(&h->mu);
    bool have = h->have_status;
    if (have && out != NULL) {
        *out = h->status;
    }
    if (seq != NULL) {
        *seq = h->doc_seq[HUB_DOC_STATUS];
    }
    pthread_mutex_unlock(&h->mu);
    return have;
}

_Static_assert(HUB_DOC_REGISTERS_4 - HUB_DOC_REGISTERS_2 + 2 == CFG_MAX_PACKS,
               "one register document per pack");

hub_doc_t hub_doc_registers(size_t pack)
{
    if (pack == 0u) {
        return HUB_DOC_REGISTERS;
    }
    return pack < CFG_MAX_PACKS ? (hub_doc_t)(HUB_DOC_REGISTERS_2 + (int)(pack - 1u))
                                : HUB_DOC_COUNT_;
}

size_t hub_pack_count(hub_t *h)
{
    pthread_mutex_lock(&h->mu);
    size_t n = h->have_status ? h->status.packs_n : 0u;
    pthread_mutex_unlock(&h->mu);
    return n;
}

void hub_push_can(hub_t *h, bool tx, const vcan_frame_t *f, uint64_t t_ms)
{
    pthread_mutex_lock(&h->mu);
    h->can_seq++;
    hub_can_entry_t *e = &h->can[h->can_seq % HUB_CAN_RING];
    e->seq = h->can_seq;
    e->t_ms = t_ms;
    e->tx = tx;
    e->frame = *f;
    pthread_mutex_unlock(&h->mu);
}

char *hub_get(hub_t *h, hub_doc_t doc, uint64_t *seq)
{
    if ((unsigned)doc >= HUB_DOC_COUNT_) {
        return NULL;
    }
    pthread_mutex_lock(&h->mu);
    char *copy = h->doc[doc] ? strdup(h->doc[doc]) : NULL;
    if (seq != NULL) {
        *seq = h->doc_seq[doc];
    }
    pthread_mutex_unlock(&h->mu);
    return copy;
}

static struct timespec deadline(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

uint64_t hub_wait_status(hub_t *h, uint64_t after_seq, int timeout_ms)
{
    struct timespec until = deadline(timeout_ms);
    pthread_mutex_lock(&h->mu);
    while (h->doc_seq[HUB_DOC_STATUS] <= after_seq) {
        if (pthread_cond_timedwait(&h->status_cond, &h->mu, &until) == ETIMEDOUT) {
            break;
        }
    }
    uint64_t seq = h->doc_seq[HUB_DOC_STATUS];
    pthread_mutex_unlock(&h->mu);
    return seq;
}

size_t hub_can_since(hub_t *h, uint64_t since, hub_can_entry_t *out, size_t cap)
{
    size_t n = 0;
    pthread_mutex_lock(&h->mu);
    uint64_t first = h->can_seq >= HUB_CAN_RING ? h->can_seq - HUB_CAN_RING + 1u : 1u;
    if (since + 1u > first) {
        first = since + 1u;
    }
    for (uint64_t s = first; s <= h->can_seq && n < cap; s++) {
        out[n++] = h->can[s % HUB_CAN_RING];
    }
    pthread_mutex_unlock(&h->mu);
    return n;
}

hub_config_outcome_t hub_apply_config(hub_t *h, const cfg_t *cfg, int timeout_ms, uint64_t *seq,
                                      char *why, size_t why_cap)
{
    if (why != NULL && why_cap > 0u) {
        why[0] = '\0';
    }
    pthread_mutex_lock(&h->mu);
    if (h->posted_seq != h->done_seq) {
        /* An earlier post still waits for the loop (its poster gave up
         * waiting): a second one would be merged onto a configuration that
         * is about to change. */
        pthread_mutex_unlock(&h->mu);
        if (seq != NULL) {
            *seq = 0;
        }
        return HUB_CONFIG_BUSY;
    }
    uint64_t mine = ++h->posted_seq;
    h->config = *cfg;
    h->config_pending = true;
    pthread_mutex_unlock(&h->mu);
    if (seq != NULL) {
        *seq = mine;
    }
    wake(h);

    struct timespec until = deadline(timeout_ms);
    pthread_mutex_lock(&h->mu);
    while (h->done_seq < mine) {
        if (pthread_cond_timedwait(&h->config_cond, &h->mu, &until) == ETIMEDOUT) {
            break;
        }
    }
    hub_config_outcome_t out = HUB_CONFIG_PENDING;
    if (h->done_seq == mine) {
        out = h->done_applied ? HUB_CONFIG_APPLIED : HUB_CONFIG_REFUSED;
        if (!h->done_applied && why != NULL && why_cap > 0u) {
            snprintf(why, why_cap, "%s", h->done_why);
        }
    }
    pthread_mutex_unlock(&h->mu);
    return out;
}

bool hub_take_config(hub_t *h, cfg_t *out, uint64_t *seq)
{
    pthread_mutex_lock(&h->mu);
    bool got = h->config_pending;
    if (got) {
        *out = h->config;
        *seq = h->posted_seq;
        h->config_pending = false;
    }
    pthread_mutex_unlock(&h->mu);
    return got;
}

void hub_finish_config(hub_t *h, uint64_t seq, const cfg_t *applied, const char *why)
{
    pthread_mutex_lock(&h->mu);
    if (seq > h->done_seq && seq <= h->posted_seq) {
        if (applied != NULL) {
            h->running = *applied;
        }
        h->done_seq = seq;
        h->done_applied = applied != NULL;
        snprintf(h->done_why, sizeof h->done_why, "%s", why != NULL ? why : "");
        pthread_cond_broadcast(&h->config_cond);
    }
    pthread_mutex_unlock(&h->mu);
}

void hub_set_running_config(hub_t *h, const cfg_t *cfg)
{
    pthread_mutex_lock(&h->mu);
    h->running = *cfg;
    pthread_mutex_unlock(&h->mu);
}

void hub_get_running_config(hub_t *h, cfg_t *out)
{
    pthread_mutex_lock(&h->mu);
    *out = h->running;
    pthread_mutex_unlock(&h->mu);
}

void hub_config_lock(hub_t *h)
{
    pthread_mutex_lock(&h->config_mu);
}

void hub_config_unlock(hub_t *h)
{
    pthread_mutex_unlock(&h->config_mu);
}

bool hub_write(hub_t *h, const hub_write_req_t *req, int timeout_ms, hub_write_result_t *res)
{
    memset(res, 0, sizeof *res);
    pthread_mutex_lock(&h->mu);
    if (h->write_state != W_IDLE) {
        pthread_mutex_unlock(&h->mu);
        res->status = -EBUSY;
        snprintf(res->message, sizeof res->message, "another TinyBMS write is in progress");
        return false;
    }
    h->write_req = *req;
    h->write_state = W_POSTED;
    pthread_mutex_unlock(&h->mu);
    wake(h);

    struct timespec until = deadline(timeout_ms);
    pthread_mutex_lock(&h->mu);
    while (h->write_state != W_DONE) {
        if (pthread_cond_timedwait(&h->write_cond, &h->mu, &until) == ETIMEDOUT) {
            break;
        }
    }
    bool done = h->write_state == W_DONE;
    if (done) {
        *res = h->write_res;
        h->write_state = W_IDLE;
    } else {
        /* The loop may still finish it later; it will find nobody waiting. */
        res->status = -ETIMEDOUT;
        snprintf(res->message, sizeof res->message,
                 "the TinyBMS did not confirm the write in time");
        if (h->write_state == W_POSTED) {
            h->write_state = W_IDLE;
        } else {
            h->write_abandoned = true;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return done;
}

bool hub_take_write(hub_t *h, hub_write_req_t *out)
{
    pthread_mutex_lock(&h->mu);
    bool got = h->write_state == W_POSTED;
    if (got) {
        *out = h->write_req;
        h->write_state = W_TAKEN;
    }
    pthread_mutex_unlock(&h->mu);
    return got;
}

void hub_finish_write(hub_t *h, const hub_write_result_t *res)
{
    pthread_mutex_lock(&h->mu);
    if (h->write_state == W_TAKEN && h->write_abandoned) {
        h->write_abandoned = false;
        h->write_state = W_IDLE;
    } else if (h->write_state == W_TAKEN) {
        h->write_res = *res;
        h->write_state = W_DONE;
        pthread_cond_broadcast(&h->write_cond);
    }
    pthread_mutex_unlock(&h->mu);
}
