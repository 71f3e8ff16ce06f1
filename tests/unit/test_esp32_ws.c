/*
 * The firmware's WebSocket (port/esp32/main/web_ws.c, with web.c's
 * credentials check) on the host, against the fake esp_http_server of
 * tests/unit/fake_idf and the real hub: who may connect, what each client
 * receives and when, the one-in-flight rule, dropping a client whose write
 * fails, the figures. The sender task is driven round by round
 * (sender_step) with the time given by the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web.c"
#include "web_ws.c"

#include "fake_httpd.h"

/* ---- what the two files need from the rest of the firmware ---- */

BaseType_t xTaskCreate(TaskFunction_t fn, const char *name, uint32_t stack_bytes, void *arg,
                       UBaseType_t priority, TaskHandle_t *out)
{
    (void)fn; /* the test runs the sender's rounds itself */
    (void)name;
    (void)stack_bytes;
    (void)arg;
    (void)priority;
    (void)out;
    return pdPASS;
}

esp_err_t web_ota_handle(httpd_req_t *r)
{
    return web_send_json(r, 200, "{}", NULL);
}

/* No device password: the WebSocket tests configure their credentials. */
bool fw_device_password(char *out, size_t size)
{
    (void)out;
    (void)size;
    return false;
}

void web_ota_boot_report(void)
{
}

esp_err_t web_restart_handle(httpd_req_t *r)
{
    return web_send_json(r, 200, "{}", NULL);
}

const http_asset_t http_assets[1] = {{"", "", "", NULL, 0u, false}};
const size_t http_asset_count = 0;

/* ---- fixture ---- */

static hub_t *g_hub;

static void start(bool auth_read, int32_t max_clients)
{
    g_hub = hub_create();
    assert_non_null(g_hub);
    static fw_t fw;
    memset(&fw, 0, sizeof fw);
    cfg_defaults(&fw.cfg);
    snprintf(fw.cfg.web_server.token, sizeof fw.cfg.web_server.token, "sesame");
    fw.cfg.web_server.auth_read = auth_read;
    fw.cfg.web_server.ws_max_clients = max_clients;
    hub_set_running_config(g_hub, &fw.cfg);
    fw.hub = g_hub;
    fw.config_path = "/data/config.json";
    fw.version = "0.1.0";
    memset(&ws, 0, sizeof ws);
    memset(fake_ws_fd, 0, sizeof fake_ws_fd);
    fake_fail_fd = fake_closed_fd = 0;
    fake_sent_n = fake_work_n = 0;
    fake_work_refuse = false;
    assert_int_equal(fw_web_start(&fw), ESP_OK);
    assert_true(fake_ws.is_websocket);
    assert_non_null(fake_ws.ws_pre_handshake_cb);
}

static int teardown(void **state)
{
    (void)state;
    fake_run_work();
    for (size_t i = 0; i < FAKE_WS_FDS; i++) {
        if (fake_ws_fd[i] != 0) {
            web_ws_closed(fake_ws_fd[i]);
        }
    }
    free(ws.fanout);
    free(ws.scratch);
    pthread_mutex_destroy(&ws.mu);
    hub_destroy(g_hub);
    return 0;
}

/* An upgrade request on fd to uri: the pre-handshake's return, its
 * refusal (if any) in *status. */
static esp_err_t upgrade(int fd, const char *uri, int *status)
{
    fake_req_t *f = calloc(1, sizeof *f);
    httpd_req_t *r = calloc(1, sizeof *r);
    assert_non_null(f);
    assert_non_null(r);
    f->fd = fd;
    r->method = HTTP_GET;
    snprintf((char *)r->uri, sizeof r->uri, "%s", uri);
    r->aux = f;
    esp_err_t rc = fake_ws.ws_pre_handshake_cb(r);
    *status = 0;
    if (f->out_len > 0) {
        assert_int_equal(sscanf(f->out, "HTTP/1.1 %d ", status), 1);
    }
    if (rc == ESP_OK) {
        for (size_t i = 0; i < FAKE_WS_FDS; i++) {
            if (fake_ws_fd[i] == 0) {
                fake_ws_fd[i] = fd; /* the handshake is done */
                break;
            }
        }
    }
    free(r);
    free(f);
    return rc;
}

static void send_text(int fd, const char *text)
{
    fake_req_t f = {.fd = fd};
    f.frame.type = HTTPD_WS_TYPE_TEXT;
    f.frame.payload = (uint8_t *)(uintptr_t)text;
    f.frame.len = strlen(text);
    httpd_req_t r = {.method = HTTP_GET, .aux = &f};
    assert_int_equal(fake_ws.handler(&r), ESP_OK);
}

static void close_fd(int fd)
{
    for (size_t i = 0; i < FAKE_WS_FDS; i++) {
        if (fake_ws_fd[i] == fd) {
            fake_ws_fd[i] = 0;
        }
    }
    web_ws_closed(fd);
}

static void publish(const char *json)
{
    status_t st;
    memset(&st, 0, sizeof st);
    hub_publish_status(g_hub, &st, strdup(json));
}

static size_t sent_to(int fd, const char *prefix)
{
    size_t n = 0;
    for (size_t i = 0; i < fake_sent_n; i++) {
        n += fake_sent[i].fd == fd && strncmp(fake_sent[i].text, prefix, strlen(prefix)) == 0;
    }
    return n;
}

static uint64_t seq_now(void)
{
    uint64_t seq = 0;
    free(hub_get(g_hub, HUB_DOC_STATUS, &seq));
    return seq;
}

/* ---- tests ---- */

static void test_upgrade_needs_credentials_only_with_auth_read(void **state)
{
    (void)state;
    start(true, 16);
    int st;
    assert_int_equal(upgrade(7, "/ws", &st), ESP_FAIL);
    assert_int_equal(st, 401);
    assert_int_equal(upgrade(7, "/ws?token=wrong", &st), ESP_FAIL);
    assert_int_equal(st, 401);
    assert_int_equal(upgrade(7, "/ws?token=sesame", &st), ESP_OK);
    assert_int_equal(st, 0);
    teardown(NULL);
    start(false, 16);
    assert_int_equal(upgrade(8, "/ws", &st), ESP_OK);
}

static void test_client_limit_is_the_smaller_of_the_setting_and_four(void **state)
{
    (void)state;
    start(false, 2);
    int st;
    assert_int_equal(upgrade(11, "/ws", &st), ESP_OK);
    assert_int_equal(upgrade(12, "/ws", &st), ESP_OK);
    assert_int_equal(upgrade(13, "/ws", &st), ESP_FAIL);
    assert_int_equal(st, 503);
    close_fd(11);
    assert_int_equal(upgrade(13, "/ws", &st), ESP_OK);
    teardown(NULL);
    start(false, 16);
    for (int fd = 20; fd < 24; fd++) {
        assert_int_equal(upgrade(fd, "/ws", &st), ESP_OK);
    }
    assert_int_equal(upgrade(24, "/ws", &st), ESP_FAIL);
    assert_int_equal(st, 503);
}

static void test_new_client_gets_the_current_status_then_each_new_one_per_interval(void **state)
{
    (void)state;
    start(false, 16);
    int st;
    ws_sender_t s = {0};
    sender_step(&s, 0, 1000, 1000); /* nothing published, nobody there */
    assert_int_equal(fake_run_work(), 0);
    publish("{\"soc_percent\":50}");
    assert_int_equal(upgrade(5, "/ws", &st), ESP_OK);
    sender_step(&s, seq_now(), 2000, 1000);
    fake_run_work();
    assert_int_equal(sent_to(5, "{\"type\":\"status\",\"data\":{\"soc_percent\":50}}"), 1);
    /* 0.5 s later a new status: too soon; a client that joins meanwhile gets
     * the current one at once, the first client nothing twice */
    publish("{\"soc_percent\":51}");
    assert_int_equal(upgrade(6, "/ws", &st), ESP_OK);
    sender_step(&s, seq_now(), 2500, 1000);
    fake_run_work();
    assert_int_equal(sent_to(5, "{\"type\":\"status\""), 1);
    assert_int_equal(sent_to(6, "{\"type\":\"status\",\"data\":{\"soc_percent\":51}}"), 1);
    sender_step(&s, seq_now(), 3000, 1000);
    fake_run_work();
    assert_int_equal(sent_to(5, "{\"type\":\"status\",\"data\":{\"soc_percent\":51}}"), 1);
    assert_int_equal(sent_to(6, "{\"type\":\"status\""), 2);
    /* no new publication: no push */
    sender_step(&s, seq_now(), 5000, 1000);
    assert_int_equal(fake_run_work(), 0);
}

static void test_status_subscription_can_be_turned_off(void **state)
{
    (void)state;
    start(false, 16);
    int st;
    ws_sender_t s = {0};
    assert_int_equal(upgrade(5, "/ws", &st), ESP_OK);
    send_text(5, "{\"type\":\"subscribe\",\"status\":false}");
    publish("{\"soc_percent\":50}");
    sender_step(&s, seq_now(), 2000, 1000);
    fake_run_work();
    assert_int_equal(sent_to(5, "{\"type\":\"status\""), 0);
}

static void test_can_frames_after_connecting_batched_and_subscribable(void **state)
{
    (void)state;
    vcan_frame_t fr = {.id = 0x351, .dlc = 8};
    start(false, 16);
    hub_push_can(g_hub, true, &fr, 1000); /* before the viewer: history */
    int st;
    assert_int_equal(upgrade(5, "/ws", &st), ESP_OK);
    assert_int_equal(upgrade(6, "/ws", &st), ESP_OK);
    send_text(6, "{\"type\":\"subscribe\",\"can\":false}");
    api_can_entry_t buf[WS_CAN_BATCH];
    ws_sender_t s = {.frames = buf};
    s.can_seq = newest_can_seq(buf);
    hub_push_can(g_hub, true, &fr, 2000);
    fr.id = 0x355;
    hub_push_can(g_hub, true, &fr, 2001);
    sender_step(&s, 0, 2000, 1000);
    fake_run_work();
    assert_int_equal(sent_to(5, "{\"type\":\"can\""), 1);
    assert_int_equal(sent_to(6, "{\"type\":\"can\""), 0);
    const char *m = NULL;
    for (size_t i = 0; i < fake_sent_n; i++) {
        if (fake_sent[i].fd == 5) {
            m = fake_sent[i].text;
        }
    }
    assert_non_null(m);
    assert_non_null(strstr(m, "\"id_hex\":\"0x355\""));
    assert_null(strstr(m, "\"t_ms\":1000,")); /* not the history */
    /* the next batch only after 250 ms, and only the new frames */
    hub_push_can(g_hub, false, &fr, 2100);
    sender_step(&s, 0, 2100, 1000);
    assert_int_equal(fake_run_work(), 0);
    sender_step(&s, 0, 2250, 1000);
    fake_run_work();
    assert_int_equal(sent_to(5, "{\"type\":\"can\""), 2);
}

static void test_a_message_due_while_the_last_is_unsent_is_skipped(void **state)
{
    (void)state;
    start(false, 16);
    int st;
    ws_sender_t s = {0};
    assert_int_equal(upgrade(5, "/ws", &st), ESP_OK);
    assert_int_equal(upgrade(6, "/ws", &st), ESP_OK);
    publish("{\"n\":1}");
    sender_step(&s, seq_now(), 2000, 1000);
    publish("{\"n\":2}");
    sender_step(&s, seq_now(), 3000, 1000); /* the first is still queued */
    assert_int_equal(fake_run_work(), 1);
    assert_int_equal(sent_to(5, "{\"type\":\"status\",\"data\":{\"n\":1}}"), 1);
    assert_int_equal(sent_to(5, "{\"type\":\"status\",\"data\":{\"n\":2}}"), 0);
    api_server_stats_t out = {0};
    web_ws_stats(&out);
    assert_int_equal(out.ws_clients, 2);
    assert_int_equal(out.ws_messages_sent, 2);
    assert_int_equal(out.ws_messages_skipped, 2);
    assert_int_equal(out.ws_status_pushes, 1);
    /* the server's queue refusing a message counts as a skip too */
    fake_work_refuse = true;
    publish("{\"n\":3}");
    sender_step(&s, seq_now(), 4000, 1000);
    web_ws_stats(&out);
    assert_int_equal(out.ws_messages_skipped, 4);
    fake_work_refuse = false;
    publish("{\"n\":4}");
    sender_step(&s, seq_now(), 5000, 1000);
    fake_run_work();
    assert_int_equal(sent_to(6, "{\"type\":\"status\",\"data\":{\"n\":4}}"), 1);
}

static void test_a_client_whose_write_fails_is_closed_and_the_others_served(void **state)
{
    (void)state;
    start(false, 16);
    int st;
    ws_sender_t s = {0};
    assert_int_equal(upgrade(5, "/ws", &st), ESP_OK);
    assert_int_equal(upgrade(6, "/ws", &st), ESP_OK);
    fake_fail_fd = 5;
    publish("{\"n\":1}");
    sender_step(&s, seq_now(), 2000, 1000);
    fake_run_work();
    assert_int_equal(fake_closed_fd, 5);
    assert_int_equal(sent_to(6, "{\"type\":\"status\""), 1);
    api_server_stats_t out = {0};
    web_ws_stats(&out);
    assert_int_equal(out.ws_clients_dropped, 1);
    close_fd(5); /* the server's close_fn */
    web_ws_stats(&out);
    assert_int_equal(out.ws_clients, 1);
}

static void test_plain_get_and_long_messages(void **state)
{
    (void)state;
    start(false, 16);
    /* GET /ws without the upgrade reaches the handler as plain HTTP */
    fake_req_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->fd = 9;
    httpd_req_t r = {.method = HTTP_GET, .aux = f};
    assert_int_equal(fake_ws.handler(&r), ESP_OK);
    assert_non_null(strstr(f->out, "HTTP/1.1 400 "));
    assert_non_null(strstr(f->out, "/ws is a WebSocket: send an Upgrade request"));
    free(f);
    /* a client message over 256 bytes closes the connection */
    int st;
    assert_int_equal(upgrade(5, "/ws", &st), ESP_OK);
    char big[300];
    memset(big, 'x', sizeof big - 1u);
    big[sizeof big - 1u] = '\0';
    fake_req_t g = {.fd = 5};
    g.frame.type = HTTPD_WS_TYPE_TEXT;
    g.frame.payload = (uint8_t *)big;
    g.frame.len = strlen(big);
    httpd_req_t r2 = {.method = HTTP_GET, .aux = &g};
    assert_int_equal(fake_ws.handler(&r2), ESP_FAIL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_upgrade_needs_credentials_only_with_auth_read, teardown),
        cmocka_unit_test_teardown(test_client_limit_is_the_smaller_of_the_setting_and_four,
                                  teardown),
        cmocka_unit_test_teardown(
            test_new_client_gets_the_current_status_then_each_new_one_per_interval, teardown),
        cmocka_unit_test_teardown(test_status_subscription_can_be_turned_off, teardown),
        cmocka_unit_test_teardown(test_can_frames_after_connecting_batched_and_subscribable,
                                  teardown),
        cmocka_unit_test_teardown(test_a_message_due_while_the_last_is_unsent_is_skipped, teardown),
        cmocka_unit_test_teardown(test_a_client_whose_write_fails_is_closed_and_the_others_served,
                                  teardown),
        cmocka_unit_test_teardown(test_plain_get_and_long_messages, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
