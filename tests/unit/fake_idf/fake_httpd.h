/*
 * The fake esp_http_server behind tests/unit/test_esp32_web.c and
 * test_esp32_ws.c: definitions, included by one test file each after the
 * firmware file under test. A request is a fake_req_t the test fills; what
 * a handler sends is collected in its out[]. WebSocket sessions are the
 * fds in fake_ws_fd[]; queued work waits until fake_run_work(); every
 * frame sent is logged in fake_sent[].
 */
#ifndef FAKE_HTTPD_H
#define FAKE_HTTPD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esp_http_server.h"

typedef struct {
    const char *hdr[8][2];
    const char *body;
    size_t body_pos;
    int fd;
    httpd_ws_frame_t frame; /* the next WebSocket frame (payload, len, type) */
    char out[65536];
    size_t out_len;
} fake_req_t;

static httpd_uri_t fake_any, fake_ws;

#define FAKE_WS_FDS 8
static int fake_ws_fd[FAKE_WS_FDS]; /* open WebSocket sessions; 0 = none */
static int fake_fail_fd;            /* sends to this fd fail */
static int fake_closed_fd;          /* the last httpd_sess_trigger_close */

#define FAKE_SENT 64
static struct {
    int fd;
    char text[4096];
} fake_sent[FAKE_SENT];
static size_t fake_sent_n;

#define FAKE_WORK 8
static struct {
    httpd_work_fn_t fn;
    void *arg;
} fake_work[FAKE_WORK];
static size_t fake_work_n;
static bool fake_work_refuse; /* httpd_queue_work fails */

const char *esp_err_to_name(esp_err_t e)
{
    return e == ESP_OK ? "ESP_OK" : "ESP_FAIL";
}

const char *http_method_str(enum http_method m)
{
    static const char *const names[] = {"DELETE", "GET", "HEAD", "POST", "PUT", "?", "OPTIONS"};
    return (unsigned)m < sizeof names / sizeof names[0] ? names[m] : "?";
}

esp_err_t httpd_start(httpd_handle_t *handle, const httpd_config_t *config)
{
    if (config->server_port != 80 || config->uri_match_fn != httpd_uri_match_wildcard) {
        return ESP_FAIL;
    }
    *handle = (httpd_handle_t)&fake_any;
    return ESP_OK;
}

esp_err_t httpd_stop(httpd_handle_t handle)
{
    (void)handle;
    return ESP_OK;
}

esp_err_t httpd_register_uri_handler(httpd_handle_t handle, const httpd_uri_t *u)
{
    (void)handle;
    if (strcmp(u->uri, "/*") == 0) {
        fake_any = *u;
    } else {
        fake_ws = *u;
    }
    return ESP_OK;
}

esp_err_t httpd_register_err_handler(httpd_handle_t handle, httpd_err_code_t error,
                                     httpd_err_handler_func_t fn)
{
    (void)handle;
    (void)error;
    (void)fn;
    return ESP_OK;
}

int httpd_send(httpd_req_t *r, const char *buf, size_t len)
{
    fake_req_t *f = r->aux;
    if (f->out_len + len >= sizeof f->out) {
        return HTTPD_SOCK_ERR_FAIL;
    }
    memcpy(f->out + f->out_len, buf, len);
    f->out_len += len;
    f->out[f->out_len] = '\0';
    return (int)len;
}

int httpd_req_recv(httpd_req_t *r, char *buf, size_t len)
{
    fake_req_t *f = r->aux;
    size_t left = r->content_len - f->body_pos;
    size_t n = len < left ? len : left;
    n = n > 1000u ? 1000u : n; /* several reads for one body */
    memcpy(buf, f->body + f->body_pos, n);
    f->body_pos += n;
    return (int)n;
}

static inline const char *fake_hdr(httpd_req_t *r, const char *field)
{
    fake_req_t *f = r->aux;
    for (size_t i = 0; i < 8 && f->hdr[i][0] != NULL; i++) {
        if (strcasecmp(f->hdr[i][0], field) == 0) {
            return f->hdr[i][1];
        }
    }
    return NULL;
}

size_t httpd_req_get_hdr_value_len(httpd_req_t *r, const char *field)
{
    const char *v = fake_hdr(r, field);
    return v != NULL ? strlen(v) : 0u;
}

esp_err_t httpd_req_get_hdr_value_str(httpd_req_t *r, const char *field, char *val, size_t cap)
{
    const char *v = fake_hdr(r, field);
    if (v == NULL || cap == 0) {
        return ESP_FAIL;
    }
    snprintf(val, cap, "%s", v);
    return strlen(v) < cap ? ESP_OK : ESP_FAIL;
}

bool httpd_uri_match_wildcard(const char *t, const char *u, size_t n)
{
    (void)t;
    (void)u;
    (void)n;
    return true;
}

int httpd_req_to_sockfd(httpd_req_t *r)
{
    return ((fake_req_t *)r->aux)->fd;
}

esp_err_t httpd_queue_work(httpd_handle_t handle, httpd_work_fn_t work, void *arg)
{
    (void)handle;
    if (fake_work_refuse || fake_work_n == FAKE_WORK) {
        return ESP_FAIL;
    }
    fake_work[fake_work_n].fn = work;
    fake_work[fake_work_n].arg = arg;
    fake_work_n++;
    return ESP_OK;
}

/* Runs the queued work, as the server task would; returns how much. */
static inline size_t fake_run_work(void)
{
    size_t n = fake_work_n;
    for (size_t i = 0; i < n; i++) {
        fake_work[i].fn(fake_work[i].arg);
    }
    fake_work_n = 0;
    return n;
}

esp_err_t httpd_ws_recv_frame(httpd_req_t *req, httpd_ws_frame_t *pkt, size_t max_len)
{
    fake_req_t *f = req->aux;
    if (max_len == 0) {
        pkt->len = f->frame.len;
        pkt->type = f->frame.type;
        return ESP_OK;
    }
    if (max_len < f->frame.len) {
        return ESP_FAIL;
    }
    memcpy(pkt->payload, f->frame.payload, f->frame.len);
    pkt->len = f->frame.len;
    pkt->type = f->frame.type;
    return ESP_OK;
}

static inline bool fake_is_ws(int fd)
{
    for (size_t i = 0; i < FAKE_WS_FDS; i++) {
        if (fake_ws_fd[i] == fd && fd != 0) {
            return true;
        }
    }
    return false;
}

esp_err_t httpd_ws_send_frame_async(httpd_handle_t hd, int fd, httpd_ws_frame_t *frame)
{
    (void)hd;
    if (fd == fake_fail_fd) {
        return ESP_FAIL;
    }
    if (fake_sent_n < FAKE_SENT) {
        fake_sent[fake_sent_n].fd = fd;
        snprintf(fake_sent[fake_sent_n].text, sizeof fake_sent[0].text, "%.*s", (int)frame->len,
                 (const char *)frame->payload);
        fake_sent_n++;
    }
    return ESP_OK;
}

httpd_ws_client_info_t httpd_ws_get_fd_info(httpd_handle_t hd, int fd)
{
    (void)hd;
    return fake_is_ws(fd) ? HTTPD_WS_CLIENT_WEBSOCKET : HTTPD_WS_CLIENT_HTTP;
}

esp_err_t httpd_sess_update_lru_counter(httpd_handle_t handle, int sockfd)
{
    (void)handle;
    (void)sockfd;
    return ESP_OK;
}

esp_err_t httpd_sess_trigger_close(httpd_handle_t handle, int sockfd)
{
    (void)handle;
    fake_closed_fd = sockfd;
    return ESP_OK;
}

#endif /* FAKE_HTTPD_H */
