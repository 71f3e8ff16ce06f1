/*
 * The firmware's web server (port/esp32/main/web.c) on the host: its
 * routing, credentials, body limit, static files and answers, run against
 * a fake of the esp_http_server calls it makes (tests/unit/fake_idf) and
 * the real hub, REST API and credential rules. The fake's shapes follow
 * ESP-IDF's documented API; scripts/esp32-check checks web.c against the
 * real headers. The WebSocket and the upload (web_ws.c, ota.c) are
 * stubbed here: they are ESP-IDF calls through and through.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web.c"

#include "fake_httpd.h"

/* ---- the other files of the web server, stubbed ---- */

static int g_ota_calls;
static const char *g_device_pw; /* fw_device_password's answer; NULL = none */

bool fw_device_password(char *out, size_t size)
{
    if (g_device_pw == NULL || size <= strlen(g_device_pw)) {
        return false;
    }
    memcpy(out, g_device_pw, strlen(g_device_pw) + 1u);
    return true;
}

esp_err_t web_ws_start(httpd_handle_t hd, hub_t *hub)
{
    (void)hub;
    const httpd_uri_t ws = {.uri = "/ws", .method = HTTP_GET, .is_websocket = true};
    return httpd_register_uri_handler(hd, &ws);
}

void web_ws_closed(int fd)
{
    (void)fd;
}

void web_ws_stats(api_server_stats_t *out)
{
    out->ws_clients = 0;
}

esp_err_t web_ota_handle(httpd_req_t *r)
{
    g_ota_calls++;
    return web_send_json(r, 200, "{\"ota\":true}", NULL);
}

void web_ota_boot_report(void)
{
}

esp_err_t web_restart_handle(httpd_req_t *r)
{
    return web_send_json(r, 200, "{\"restart\":true}", NULL);
}

static const unsigned char index_gz[] = {0x1f, 0x8b, 0x08, 0x00};
static const unsigned char app_js[] = "console.log(1);";
const http_asset_t http_assets[] = {
    {"/index.html", "text/html; charset=utf-8", "\"aaaa\"", index_gz, sizeof index_gz, true},
    {"/app.js", "text/javascript; charset=utf-8", "\"bbbb\"", app_js, sizeof app_js - 1u, false},
};
const size_t http_asset_count = 2;

/* ---- fixture ---- */

static hub_t *g_hub;

static void start(bool creds, bool auth_read)
{
    if (g_hub != NULL) {
        hub_destroy(g_hub);
    }
    g_hub = hub_create();
    assert_non_null(g_hub);
    static fw_t fw;
    memset(&fw, 0, sizeof fw);
    cfg_defaults(&fw.cfg);
    if (creds) {
        snprintf(fw.cfg.web_server.username, sizeof fw.cfg.web_server.username, "admin");
        snprintf(fw.cfg.web_server.password, sizeof fw.cfg.web_server.password, "secretpass");
        snprintf(fw.cfg.web_server.token, sizeof fw.cfg.web_server.token, "tok+en/1");
    }
    fw.cfg.web_server.auth_read = auth_read;
    hub_set_running_config(g_hub, &fw.cfg);
    fw.hub = g_hub;
    fw.config_path = "/data/config.json";
    fw.version = "0.1.0";
    g_ota_calls = 0;
    g_device_pw = NULL;
    assert_int_equal(fw_web_start(&fw), ESP_OK);
    assert_non_null(fake_any.handler);
    assert_true(fake_ws.is_websocket);
}

static int teardown(void **state)
{
    (void)state;
    hub_destroy(g_hub);
    g_hub = NULL;
    return 0;
}

/* Runs one request; *rc the handler's return. The answer is in f->out. */
static fake_req_t *run(int method, const char *uri, const char *body, size_t content_len,
                       esp_err_t *rc, const char *h1, const char *v1)
{
    fake_req_t *f = calloc(1, sizeof *f);
    httpd_req_t *r = calloc(1, sizeof *r);
    assert_non_null(f);
    assert_non_null(r);
    f->hdr[0][0] = h1;
    f->hdr[0][1] = v1;
    f->body = body;
    r->method = method;
    snprintf((char *)r->uri, sizeof r->uri, "%s", uri);
    r->content_len = content_len;
    r->aux = f;
    *rc = fake_any.handler(r);
    free(r);
    return f;
}

static int status_of(const fake_req_t *f)
{
    int st = 0;
    assert_int_equal(sscanf(f->out, "HTTP/1.1 %d ", &st), 1);
    return st;
}

static const char *body_of(const fake_req_t *f)
{
    const char *b = strstr(f->out, "\r\n\r\n");
    assert_non_null(b);
    return b + 4;
}

/* ---- tests ---- */

static void test_write_without_configured_credentials_is_403_naming_the_file(void **state)
{
    (void)state;
    start(false, false);
    esp_err_t rc;
    const char *b = "{}";
    fake_req_t *f = run(HTTP_POST, "/api/settings", b, 2, &rc, NULL, NULL);
    assert_int_equal(rc, ESP_OK);
    assert_int_equal(status_of(f), 403);
    assert_non_null(strstr(f->out, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(f->out, "Cache-Control: no-store\r\n"));
    assert_non_null(strstr(body_of(f), "writes are disabled: no credentials configured; set "
                                       "web_server.username/password or web_server.token in "
                                       "the config file (/data/config.json)"));
    free(f);
}

static void test_first_start_login_is_admin_with_the_device_password(void **state)
{
    (void)state;
    start(false, false);
    g_device_pw = "k7fq-x2mv-9hbt";
    esp_err_t rc;
    fake_req_t *f = run(HTTP_DELETE, "/api/logs", NULL, 0, &rc, NULL, NULL);
    assert_int_equal(status_of(f), 401);
    assert_non_null(strstr(body_of(f), "the login is user admin with this board's own password, "
                                       "shown on its serial console"));
    free(f);
    f = run(HTTP_DELETE, "/api/logs", NULL, 0, &rc, "Authorization", "Basic YWRtaW46d3Jvbmc=");
    assert_int_equal(status_of(f), 401);
    assert_non_null(strstr(body_of(f), "wrong credentials"));
    free(f);
    f = run(HTTP_DELETE, "/api/logs", NULL, 0, &rc, "Authorization",
            "Basic YWRtaW46azdmcS14Mm12LTloYnQ=");
    assert_int_equal(status_of(f), 200);
    free(f);
    /* Reads stay open as on Linux (web_server.auth_read false). */
    f = run(HTTP_GET, "/api/logs", NULL, 0, &rc, NULL, NULL);
    assert_int_equal(status_of(f), 200);
    free(f);
}

static void test_missing_credentials_get_401_with_challenge_unless_a_script(void **state)
{
    (void)state;
    start(true, false);
    esp_err_t rc;
    fake_req_t *f = run(HTTP_DELETE, "/api/logs", NULL, 0, &rc, NULL, NULL);
    assert_int_equal(status_of(f), 401);
    assert_non_null(strstr(f->out, "WWW-Authenticate: Basic realm=\"tinybms-bridge\"\r\n"));
    assert_non_null(strstr(body_of(f), "authentication required"));
    free(f);
    f = run(HTTP_DELETE, "/api/logs", NULL, 0, &rc, "X-Requested-With", "fetch");
    assert_int_equal(status_of(f), 401);
    assert_null(strstr(f->out, "WWW-Authenticate"));
    free(f);
    /* "admin:wrong" */
    f = run(HTTP_DELETE, "/api/logs", NULL, 0, &rc, "Authorization", "Basic YWRtaW46d3Jvbmc=");
    assert_int_equal(status_of(f), 401);
    assert_null(strstr(f->out, "WWW-Authenticate"));
    assert_non_null(strstr(body_of(f), "\"wrong credentials\""));
    free(f);
}

static void test_right_credentials_reach_the_api(void **state)
{
    (void)state;
    start(true, false);
    esp_err_t rc;
    /* "admin:secretpass" */
    fake_req_t *f = run(HTTP_DELETE, "/api/logs", NULL, 0, &rc, "Authorization",
                        "Basic YWRtaW46c2VjcmV0cGFzcw==");
    assert_int_equal(status_of(f), 200);
    free(f);
    f = run(HTTP_DELETE, "/api/logs", NULL, 0, &rc, "Authorization", "Bearer tok+en/1");
    assert_int_equal(status_of(f), 200);
    free(f);
}

static void test_reads_need_credentials_only_with_auth_read_and_take_a_query_token(void **state)
{
    (void)state;
    start(true, false);
    esp_err_t rc;
    fake_req_t *f = run(HTTP_GET, "/api/settings", NULL, 0, &rc, NULL, NULL);
    assert_int_equal(status_of(f), 200);
    free(f);
    start(true, true);
    f = run(HTTP_GET, "/api/settings", NULL, 0, &rc, NULL, NULL);
    assert_int_equal(status_of(f), 401);
    free(f);
    /* URL-decoded like civetweb's mg_get_var */
    f = run(HTTP_GET, "/api/settings?token=tok%2Ben%2F1", NULL, 0, &rc, NULL, NULL);
    assert_int_equal(status_of(f), 200);
    free(f);
    f = run(HTTP_GET, "/api/settings?token=nope", NULL, 0, &rc, NULL, NULL);
    assert_int_equal(status_of(f), 401);
    free(f);
    /* the UI's files never need credentials */
    f = run(HTTP_GET, "/app.js", NULL, 0, &rc, NULL, NULL);
    assert_int_equal(status_of(f), 200);
    free(f);
}

static void test_body_over_the_limit_is_413_and_the_connection_closes(void **state)
{
    (void)state;
    start(true, false);
    esp_err_t rc;
    fake_req_t *f = run(HTTP_POST, "/api/settings", "", API_BODY_MAX + 1u, &rc, "Authorization",
                        "Bearer tok+en/1");
    assert_int_equal(rc, ESP_FAIL);
    assert_int_equal(status_of(f), 413);
    assert_non_null(strstr(f->out, "Connection: close\r\n"));
    assert_string_equal(body_of(f),
                        "{\"success\":false,\"error\":\"request body larger than 16384 bytes\"}");
    free(f);
}

static void test_settings_body_is_read_whole_and_parsed(void **state)
{
    (void)state;
    start(true, false);
    esp_err_t rc;
    /* a syntax error far into a body read in 1000-byte pieces: the API saw it all */
    char *b = malloc(3001);
    memset(b, ' ', 3000);
    b[0] = '{';
    b[2999] = '!';
    b[3000] = '\0';
    fake_req_t *f =
        run(HTTP_POST, "/api/settings", b, 3000, &rc, "Authorization", "Bearer tok+en/1");
    assert_int_equal(rc, ESP_OK);
    assert_int_equal(status_of(f), 400);
    assert_non_null(strstr(body_of(f), "\"success\":false"));
    free(f);
    free(b);
}

static void test_head_answers_the_headers_without_the_body(void **state)
{
    (void)state;
    start(false, false);
    esp_err_t rc;
    fake_req_t *f = run(HTTP_HEAD, "/api/settings", NULL, 0, &rc, NULL, NULL);
    assert_int_equal(status_of(f), 200);
    assert_string_equal(body_of(f), "");
    assert_null(strstr(f->out, "Content-Length: 0\r\n"));
    free(f);
    f = run(HTTP_HEAD, "/app.js", NULL, 0, &rc, NULL, NULL);
    assert_non_null(strstr(f->out, "Content-Length: 15\r\n"));
    assert_string_equal(body_of(f), "");
    free(f);
}

static void test_static_files_gzip_etag_and_304(void **state)
{
    (void)state;
    start(false, false);
    esp_err_t rc;
    fake_req_t *f = run(HTTP_GET, "/", NULL, 0, &rc, NULL, NULL);
    assert_int_equal(status_of(f), 200);
    assert_non_null(strstr(f->out, "Content-Type: text/html; charset=utf-8\r\n"));
    assert_non_null(strstr(f->out, "Content-Encoding: gzip\r\n"));
    assert_non_null(strstr(f->out, "ETag: \"aaaa\"\r\n"));
    assert_non_null(strstr(f->out, "Cache-Control: no-cache\r\n"));
    assert_non_null(strstr(f->out, "Content-Length: 4\r\n"));
    assert_memory_equal(body_of(f), index_gz, sizeof index_gz);
    free(f);
    f = run(HTTP_GET, "/app.js", NULL, 0, &rc, NULL, NULL);
    assert_null(strstr(f->out, "Content-Encoding"));
    assert_string_equal(body_of(f), "console.log(1);");
    free(f);
    f = run(HTTP_GET, "/index.html", NULL, 0, &rc, "If-None-Match", "\"aaaa\"");
    assert_string_equal(
        f->out, "HTTP/1.1 304 Not Modified\r\nETag: \"aaaa\"\r\nCache-Control: no-cache\r\n\r\n");
    free(f);
}

static void test_unknown_paths_wrong_methods_and_plain_ws(void **state)
{
    (void)state;
    start(false, false);
    esp_err_t rc;
    fake_req_t *f = run(HTTP_GET, "/nope.html", NULL, 0, &rc, NULL, NULL);
    assert_int_equal(status_of(f), 404);
    assert_string_equal(body_of(f), "{\"success\":false,\"error\":\"not found\"}");
    free(f);
    f = run(HTTP_POST, "/app.js", "x", 1, &rc, NULL, NULL);
    assert_int_equal(status_of(f), 405);
    assert_non_null(strstr(f->out, "Allow: GET, HEAD\r\n"));
    free(f);
    f = run(HTTP_POST, "/ws", NULL, 0, &rc, NULL, NULL);
    assert_int_equal(status_of(f), 400);
    assert_non_null(strstr(body_of(f), "/ws is a WebSocket: send an Upgrade request"));
    free(f);
    f = run(HTTP_GET, "/api/nope", NULL, 0, &rc, NULL, NULL);
    assert_int_equal(status_of(f), 404);
    free(f);
}

static void test_ota_path_is_routed_after_the_credentials_check(void **state)
{
    (void)state;
    start(true, false);
    esp_err_t rc;
    /* a refused upload larger than the API's limit is not drained: closed */
    fake_req_t *f = run(HTTP_POST, "/api/ota", "", 1000000u, &rc, NULL, NULL);
    assert_int_equal(status_of(f), 401);
    assert_int_equal(rc, ESP_FAIL);
    assert_int_equal(g_ota_calls, 0);
    free(f);
    f = run(HTTP_POST, "/api/ota", "", 1000000u, &rc, "Authorization", "Bearer tok+en/1");
    assert_int_equal(rc, ESP_OK); /* the upload handler decides on its connection */
    assert_int_equal(g_ota_calls, 1);
    free(f);
    f = run(HTTP_GET, "/api/ota", NULL, 0, &rc, NULL, NULL);
    assert_int_equal(status_of(f), 200);
    assert_int_equal(g_ota_calls, 2);
    free(f);
}

static void test_diagnostics_count_requests(void **state)
{
    (void)state;
    start(false, false);
    api_server_stats_t before, after;
    esp_err_t rc;
    assert_true(server_stats(NULL, &before));
    free(run(HTTP_GET, "/app.js", NULL, 0, &rc, NULL, NULL));
    free(run(HTTP_GET, "/nope", NULL, 0, &rc, NULL, NULL));
    assert_true(server_stats(NULL, &after));
    assert_int_equal(after.requests - before.requests, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_write_without_configured_credentials_is_403_naming_the_file,
                                  teardown),
        cmocka_unit_test_teardown(test_first_start_login_is_admin_with_the_device_password,
                                  teardown),
        cmocka_unit_test_teardown(test_missing_credentials_get_401_with_challenge_unless_a_script,
                                  teardown),
        cmocka_unit_test_teardown(test_right_credentials_reach_the_api, teardown),
        cmocka_unit_test_teardown(
            test_reads_need_credentials_only_with_auth_read_and_take_a_query_token, teardown),
        cmocka_unit_test_teardown(test_body_over_the_limit_is_413_and_the_connection_closes,
                                  teardown),
        cmocka_unit_test_teardown(test_settings_body_is_read_whole_and_parsed, teardown),
        cmocka_unit_test_teardown(test_head_answers_the_headers_without_the_body, teardown),
        cmocka_unit_test_teardown(test_static_files_gzip_etag_and_304, teardown),
        cmocka_unit_test_teardown(test_unknown_paths_wrong_methods_and_plain_ws, teardown),
        cmocka_unit_test_teardown(test_ota_path_is_routed_after_the_credentials_check, teardown),
        cmocka_unit_test_teardown(test_diagnostics_count_requests, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
