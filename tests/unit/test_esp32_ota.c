/*
 * The firmware's upload handler (port/esp32/main/ota.c) on the host, with
 * fakes of the esp_ota_ops / esp_http_server calls it makes
 * (tests/unit/fake_idf) and the real app/fw_image checks: what reaches the
 * flash, when the slot is abandoned, which answers go out, and that the
 * running firmware stays the boot firmware on every error.
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

#include "ota.c"

#include "fixture_fw_image.h"

/* ---- fakes ---- */

typedef struct {
    const char *ctype;
    const uint8_t *body;
    size_t pos;
    size_t break_at; /* recv fails from here (0 = never) */
    int status;
    char out[4096];
} fake_req_t;

static const esp_partition_t part_run = {.size = 0x1C0000, .label = "ota_0"};
static esp_partition_t part_next = {.size = 0x1C0000, .label = "ota_1"};

static struct {
    bool no_slot;
    esp_err_t begin_rc, end_rc;
    esp_ota_img_states_t run_state;
    int begun, aborted, ended, boot_set, marked_valid, timers, restarts;
    size_t written;
    uint8_t flash[IMG_CAP];
} ota;

static hub_t *g_hub;

hub_t *web_hub(void)
{
    return g_hub;
}

esp_err_t web_send_json(httpd_req_t *r, int status, const char *body, const char *headers)
{
    (void)headers;
    fake_req_t *f = r->aux;
    f->status = status;
    snprintf(f->out, sizeof f->out, "%s", body);
    return ESP_OK;
}

esp_err_t web_send_error(httpd_req_t *r, int status, const char *msg)
{
    fake_req_t *f = r->aux;
    f->status = status;
    snprintf(f->out, sizeof f->out, "{\"success\":false,\"error\":\"%s\"}", msg);
    return ESP_OK;
}

const char *esp_err_to_name(esp_err_t e)
{
    return e == ESP_OK ? "ESP_OK" : "ESP_ERR_FLASH_OP_FAIL";
}

int httpd_req_recv(httpd_req_t *r, char *buf, size_t len)
{
    fake_req_t *f = r->aux;
    if (f->break_at != 0 && f->pos >= f->break_at) {
        return HTTPD_SOCK_ERR_FAIL;
    }
    size_t left = r->content_len - f->pos;
    size_t n = len < left ? len : left;
    n = n > 700u ? 700u : n; /* pieces that do not line up with the chunks */
    memcpy(buf, f->body + f->pos, n);
    f->pos += n;
    return (int)n;
}

esp_err_t httpd_req_get_hdr_value_str(httpd_req_t *r, const char *field, char *val, size_t cap)
{
    fake_req_t *f = r->aux;
    if (strcasecmp(field, "Content-Type") != 0 || f->ctype == NULL) {
        return ESP_FAIL;
    }
    snprintf(val, cap, "%s", f->ctype);
    return ESP_OK;
}

esp_err_t esp_ota_begin(const esp_partition_t *p, size_t size, esp_ota_handle_t *h)
{
    assert_ptr_equal(p, &part_next);
    assert_int_equal(size, OTA_WITH_SEQUENTIAL_WRITES);
    if (ota.begin_rc != ESP_OK) {
        return ota.begin_rc;
    }
    ota.begun++;
    *h = 42;
    return ESP_OK;
}

esp_err_t esp_ota_write(esp_ota_handle_t h, const void *data, size_t size)
{
    assert_int_equal(h, 42);
    assert_true(ota.written + size <= sizeof ota.flash);
    memcpy(ota.flash + ota.written, data, size);
    ota.written += size;
    return ESP_OK;
}

esp_err_t esp_ota_end(esp_ota_handle_t h)
{
    assert_int_equal(h, 42);
    ota.ended++;
    return ota.end_rc;
}

esp_err_t esp_ota_abort(esp_ota_handle_t h)
{
    assert_int_equal(h, 42);
    ota.aborted++;
    return ESP_OK;
}

esp_err_t esp_ota_set_boot_partition(const esp_partition_t *p)
{
    assert_ptr_equal(p, &part_next);
    ota.boot_set++;
    return ESP_OK;
}

const esp_partition_t *esp_ota_get_boot_partition(void)
{
    return ota.boot_set > 0 ? &part_next : &part_run;
}

const esp_partition_t *esp_ota_get_running_partition(void)
{
    return &part_run;
}

const esp_partition_t *esp_ota_get_next_update_partition(const esp_partition_t *start)
{
    assert_null(start);
    return ota.no_slot ? NULL : &part_next;
}

const esp_partition_t *esp_ota_get_last_invalid_partition(void)
{
    return NULL;
}

esp_err_t esp_ota_get_state_partition(const esp_partition_t *p, esp_ota_img_states_t *st)
{
    assert_ptr_equal(p, &part_run);
    *st = ota.run_state;
    return ESP_OK;
}

esp_err_t esp_ota_mark_app_valid_cancel_rollback(void)
{
    ota.marked_valid++;
    return ESP_OK;
}

bool esp_ota_check_rollback_is_possible(void)
{
    return true;
}

const esp_app_desc_t *esp_app_get_description(void)
{
    static const esp_app_desc_t d = {.version = "0.1.0", .project_name = "tinybms-bridge"};
    return &d;
}

void esp_restart(void)
{
    ota.restarts++;
}

esp_err_t esp_timer_create(const esp_timer_create_args_t *args, esp_timer_handle_t *out)
{
    assert_ptr_equal(args->callback, restart_now);
    *out = (esp_timer_handle_t)&ota;
    return ESP_OK;
}

esp_err_t esp_timer_start_once(esp_timer_handle_t t, uint64_t us)
{
    (void)t;
    assert_int_equal(us, 1500000u);
    ota.timers++;
    return ESP_OK;
}

/* ---- fixture ---- */

static int setup(void **state)
{
    (void)state;
    memset(&ota, 0, sizeof ota);
    ota.run_state = ESP_OTA_IMG_VALID;
    part_next.size = 0x1C0000;
    g_hub = hub_create();
    cfg_t cfg;
    cfg_defaults(&cfg);
    hub_set_running_config(g_hub, &cfg);
    return g_hub != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    hub_destroy(g_hub);
    return 0;
}

static uint8_t g_img[IMG_CAP];

static size_t good_image(void)
{
    spec_t s = good_spec();
    s.version = "0.2.0";
    return build(&s, g_img);
}

/* POSTs body[0..len) (content_len len); *rc the handler's return. */
static fake_req_t *post(const uint8_t *body, size_t len, size_t break_at, const char *ctype,
                        esp_err_t *rc)
{
    fake_req_t *f = calloc(1, sizeof *f);
    httpd_req_t *r = calloc(1, sizeof *r);
    assert_non_null(f);
    assert_non_null(r);
    f->body = body;
    f->break_at = break_at;
    f->ctype = ctype;
    r->method = HTTP_POST;
    r->content_len = len;
    r->aux = f;
    *rc = web_ota_handle(r);
    free(r);
    return f;
}

static void assert_running_firmware_untouched(void)
{
    assert_int_equal(ota.boot_set, 0);
    assert_int_equal(ota.timers, 0);
    assert_int_equal(ota.restarts, 0);
}

/* ---- tests ---- */

static void test_good_image_is_streamed_verified_made_boot_and_restarts_later(void **state)
{
    (void)state;
    size_t len = good_image();
    esp_err_t rc;
    fake_req_t *f = post(g_img, len, 0, "application/octet-stream", &rc);
    assert_int_equal(rc, ESP_OK);
    assert_int_equal(f->status, 200);
    assert_non_null(strstr(f->out, "\"success\":true"));
    assert_non_null(strstr(f->out, "\"version\":\"0.2.0\""));
    assert_non_null(strstr(f->out, "written to ota_1 and verified"));
    assert_int_equal(ota.written, len);
    assert_memory_equal(ota.flash, g_img, len);
    assert_int_equal(ota.ended, 1);
    assert_int_equal(ota.aborted, 0);
    assert_int_equal(ota.boot_set, 1);
    assert_int_equal(ota.timers, 1);
    assert_int_equal(ota.restarts, 0); /* the timer restarts, after the answer */
    free(f);
}

static void test_restart_answers_then_restarts_on_its_timer_post_only(void **state)
{
    (void)state;
    fake_req_t *f = calloc(1, sizeof *f);
    httpd_req_t *r = calloc(1, sizeof *r);
    assert_non_null(f);
    assert_non_null(r);
    r->aux = f;
    r->method = HTTP_GET;
    assert_int_equal(web_restart_handle(r), ESP_OK);
    assert_int_equal(f->status, 405);
    assert_int_equal(ota.timers, 0);
    memset(f, 0, sizeof *f);
    r->method = HTTP_POST;
    assert_int_equal(web_restart_handle(r), ESP_OK);
    assert_int_equal(f->status, 200);
    assert_non_null(strstr(f->out, "\"success\":true"));
    assert_int_equal(ota.timers, 1);
    assert_int_equal(ota.restarts, 0); /* the timer restarts, after the answer */
    assert_int_equal(ota.boot_set, 0); /* the same firmware boots */
    free(r);
    free(f);
}

static void test_image_for_another_chip_is_refused_before_any_write(void **state)
{
    (void)state;
    spec_t s = good_spec();
    s.chip_id = 9; /* esp32s3 */
    size_t len = build(&s, g_img);
    esp_err_t rc;
    fake_req_t *f = post(g_img, len, 0, NULL, &rc);
    assert_int_equal(f->status, 400);
    assert_non_null(strstr(f->out, "esp32s3"));
    assert_int_equal(ota.begun, 0);
    assert_int_equal(ota.written, 0);
    /* the rest was read and dropped, so the client sees the answer */
    assert_int_equal(f->pos, len);
    assert_int_equal(rc, ESP_OK);
    assert_running_firmware_untouched();
    free(f);
}

static void test_damaged_image_is_aborted_before_the_bad_part_reaches_flash(void **state)
{
    (void)state;
    size_t len = good_image();
    g_img[len - 33u] ^= 0x55u; /* the checksum byte */
    esp_err_t rc;
    fake_req_t *f = post(g_img, len, 0, NULL, &rc);
    assert_int_equal(f->status, 400);
    assert_int_equal(ota.begun, 1);
    assert_int_equal(ota.aborted, 1);
    assert_int_equal(ota.ended, 0);
    assert_true(ota.written < len);
    assert_running_firmware_untouched();
    free(f);
}

static void test_larger_than_the_slot_is_413_unread_and_closed(void **state)
{
    (void)state;
    size_t len = good_image();
    part_next.size = (uint32_t)(len - 1u);
    esp_err_t rc;
    fake_req_t *f = post(g_img, len, 0, NULL, &rc);
    assert_int_equal(f->status, 413);
    assert_int_equal(f->pos, 0);
    assert_int_equal(rc, ESP_FAIL);
    assert_int_equal(ota.begun, 0);
    assert_running_firmware_untouched();
    free(f);
}

static void test_running_image_on_trial_refuses_another_update_with_409(void **state)
{
    (void)state;
    ota.begin_rc = ESP_ERR_OTA_ROLLBACK_INVALID_STATE;
    size_t len = good_image();
    esp_err_t rc;
    fake_req_t *f = post(g_img, len, 0, NULL, &rc);
    assert_int_equal(f->status, 409);
    assert_non_null(strstr(f->out, "not confirmed yet"));
    assert_int_equal(ota.aborted, 0); /* nothing was begun */
    assert_running_firmware_untouched();
    free(f);
}

static void test_esp_idf_verification_failure_leaves_the_boot_slot(void **state)
{
    (void)state;
    ota.end_rc = ESP_ERR_OTA_VALIDATE_FAILED;
    size_t len = good_image();
    esp_err_t rc;
    fake_req_t *f = post(g_img, len, 0, NULL, &rc);
    assert_int_equal(f->status, 400);
    assert_non_null(strstr(f->out, "verification"));
    assert_int_equal(ota.ended, 1);
    assert_int_equal(ota.aborted, 0); /* esp_ota_end already freed the handle */
    assert_running_firmware_untouched();
    free(f);
}

static void test_upload_that_breaks_off_aborts_and_closes(void **state)
{
    (void)state;
    size_t len = good_image();
    esp_err_t rc;
    fake_req_t *f = post(g_img, len, 1000, NULL, &rc);
    assert_int_equal(f->status, 400);
    assert_non_null(strstr(f->out, "broke off"));
    assert_int_equal(ota.aborted, 1);
    assert_int_equal(rc, ESP_FAIL);
    assert_running_firmware_untouched();
    free(f);
}

static void test_disabled_multipart_and_no_slot_are_refused(void **state)
{
    (void)state;
    size_t len = good_image();
    esp_err_t rc;
    fake_req_t *f = post(g_img, len, 0, "multipart/form-data; boundary=x", &rc);
    assert_int_equal(f->status, 415);
    free(f);
    cfg_t cfg;
    cfg_error_t err;
    const char *doc = "{\"advanced\":{\"enable_ota\":false}}";
    assert_int_equal(cfg_from_json(doc, strlen(doc), &cfg, &err), CFG_OK);
    hub_set_running_config(g_hub, &cfg);
    f = post(g_img, len, 0, NULL, &rc);
    assert_int_equal(f->status, 403);
    assert_non_null(strstr(f->out, "advanced.enable_ota"));
    free(f);
    ota.no_slot = true;
    f = post(g_img, len, 0, NULL, &rc);
    assert_int_equal(f->status, 500);
    assert_int_equal(rc, ESP_FAIL);
    free(f);
    assert_int_equal(ota.begun, 0);
    assert_running_firmware_untouched();
}

static void test_get_reports_slots_and_the_trial_state(void **state)
{
    (void)state;
    ota.run_state = ESP_OTA_IMG_PENDING_VERIFY;
    fake_req_t f = {0};
    httpd_req_t r = {.method = HTTP_GET, .aux = &f};
    assert_int_equal(web_ota_handle(&r), ESP_OK);
    assert_int_equal(f.status, 200);
    assert_non_null(strstr(f.out, "\"running_partition\":\"ota_0\""));
    assert_non_null(strstr(f.out, "\"next_partition\":\"ota_1\""));
    assert_non_null(strstr(f.out, "\"pending_confirmation\":true"));
    assert_non_null(strstr(f.out, "\"version\":\"0.1.0\""));
    assert_non_null(strstr(f.out, "\"enabled\":true"));
}

static void test_confirm_marks_only_an_image_on_trial(void **state)
{
    (void)state;
    fw_ota_confirm();
    assert_int_equal(ota.marked_valid, 0);
    ota.run_state = ESP_OTA_IMG_PENDING_VERIFY;
    fw_ota_confirm();
    assert_int_equal(ota.marked_valid, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_good_image_is_streamed_verified_made_boot_and_restarts_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_answers_then_restarts_on_its_timer_post_only,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_image_for_another_chip_is_refused_before_any_write,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_damaged_image_is_aborted_before_the_bad_part_reaches_flash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_larger_than_the_slot_is_413_unread_and_closed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_running_image_on_trial_refuses_another_update_with_409,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_esp_idf_verification_failure_leaves_the_boot_slot,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_that_breaks_off_aborts_and_closes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_disabled_multipart_and_no_slot_are_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_get_reports_slots_and_the_trial_state, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_confirm_marks_only_an_image_on_trial, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
