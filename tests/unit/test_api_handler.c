/*
 * Black-box tests of api.h, the transport-neutral REST API, with fake
 * platform operations that record what the API asked for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

typedef struct {
    cfg_t running;
    api_apply_t apply_outcome;
    unsigned applies;
    cfg_err_t save_outcome;
    unsigned saves;
    int locks;
    api_write_t write_outcome;
    sw_status_t write_status;
    uint16_t last_write_addr;
    unsigned writes;
    size_t last_write_pack;
    size_t packs; /* pack_count's answer */
    size_t last_doc_pack;
    unsigned logs_cleared;
    char last_log[640];
} fake_t;

static fake_t fk;

static char *dup_str(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    strcpy(d, s);
    return d;
}

static char *f_get_doc(void *ctx, api_doc_t doc, size_t pack, uint64_t *seq)
{
    (void)ctx;
    if (seq != NULL) {
        *seq = 7;
    }
    fk.last_doc_pack = pack;
    switch (doc) {
    case API_DOC_STATUS:
        return dup_str("{\"voltage\":53.1}");
    case API_DOC_METRICS:
        return dup_str("tinybms_up 1\n");
    case API_DOC_REGISTERS: {
        if (pack >= fk.packs && pack > 0u) {
            return NULL; /* that pack's document is not published (yet) */
        }
        char text[64];
        snprintf(text, sizeof text, "{\"registers_of_pack\":%zu}", pack + 1u);
        return dup_str(text);
    }
    default:
        return NULL; /* not published yet */
    }
}
static size_t f_packs(void *ctx)
{
    (void)ctx;
    return fk.packs;
}
static void f_running(void *ctx, cfg_t *out)
{
    (void)ctx;
    *out = fk.running;
}
static void f_lock(void *ctx, bool lock)
{
    (void)ctx;
    fk.locks += lock ? 1 : -1;
}
static api_apply_t f_apply(void *ctx, const cfg_t *c, char *why, size_t cap)
{
    (void)ctx;
    fk.applies++;
    snprintf(why, cap, "test refusal");
    if (fk.apply_outcome == API_APPLY_APPLIED) {
        fk.running = *c;
    }
    return fk.apply_outcome;
}
static cfg_err_t f_save(void *ctx, const cfg_t *c, cfg_error_t *err)
{
    (void)ctx;
    (void)c;
    fk.saves++;
    if (fk.save_outcome != CFG_OK) {
        err->code = fk.save_outcome;
        snprintf(err->message, sizeof err->message, "disk full");
    }
    return fk.save_outcome;
}
static const char *f_where(void *ctx)
{
    (void)ctx;
    return "/tmp/config.json";
}
static api_write_t f_write(void *ctx, size_t pack, uint16_t addr, const uint16_t *v, uint16_t n,
                           sw_result_t *res)
{
    (void)ctx;
    fk.writes++;
    fk.last_write_pack = pack;
    fk.last_write_addr = addr;
    if (fk.write_outcome == API_WRITE_DONE) {
        res->status = fk.write_status;
        for (uint16_t i = 0; i < n; i++) {
            res->readback[i] = v[i];
        }
        snprintf(res->message, sizeof res->message, "done");
    }
    return fk.write_outcome;
}
static size_t f_can(void *ctx, uint64_t after, api_can_entry_t *out, size_t cap)
{
    (void)ctx;
    (void)cap;
    if (after >= 5) {
        return 0;
    }
    memset(&out[0], 0, sizeof out[0]);
    out[0].seq = 5;
    out[0].frame.id = 0x351;
    out[0].frame.dlc = 8;
    return 1;
}
static size_t f_logs(void *ctx, uint64_t after, api_log_entry_t *out, size_t cap, uint64_t *newest)
{
    (void)ctx;
    (void)after;
    (void)cap;
    out[0].seq = 3;
    out[0].t_ms = 1;
    out[0].level = "INFO";
    snprintf(out[0].text, sizeof out[0].text, "hello");
    *newest = 9;
    return 1;
}
static void f_clear(void *ctx)
{
    (void)ctx;
    fk.logs_cleared++;
}
static void f_log(void *ctx, api_log_level_t level, const char *line)
{
    (void)ctx;
    (void)level;
    snprintf(fk.last_log, sizeof fk.last_log, "%s", line);
}
static const char *f_version(void *ctx)
{
    (void)ctx;
    return "1.2.3";
}
static uint64_t f_uptime(void *ctx)
{
    (void)ctx;
    return 42;
}

static const api_ops_t ops = {
    .get_doc = f_get_doc,
    .pack_count = f_packs,
    .running_config = f_running,
    .config_lock = f_lock,
    .apply_config = f_apply,
    .save_config = f_save,
    .config_location = f_where,
    .write_registers = f_write,
    .can_since = f_can,
    .logs = f_logs,
    .clear_logs = f_clear,
    .log = f_log,
    .version = f_version,
    .uptime_ms = f_uptime,
};

static api_response_t call(const char *method, const char *path, const char *query,
                           const char *body)
{
    api_request_t q = {method, path, query, body, body != NULL ? strlen(body) : 0u};
    api_response_t r;
    api_handle(&ops, NULL, &q, &r);
    assert_non_null(r.body);
    return r;
}

static int setup(void **state)
{
    (void)state;
    memset(&fk, 0, sizeof fk);
    fk.packs = 1;
    cfg_defaults(&fk.running);
    return 0;
}

static void test_api_routes_documents_and_refuses_other_methods(void **state)
{
    (void)state;
    api_response_t r = call("GET", "/api/status", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"voltage\":53.1}");
    assert_string_equal(r.content_type, "application/json");
    free(r.body);
    r = call("POST", "/api/status", NULL, "{}");
    assert_int_equal(r.status, 405);
    assert_string_equal(r.headers, "Allow: GET\r\n");
    free(r.body);
    r = call("GET", "/api/history", NULL, NULL);
    assert_int_equal(r.status, 503); /* not published yet */
    assert_non_null(strstr(r.body, "no history yet"));
    free(r.body);
    r = call("GET", "/api/nothing", NULL, NULL);
    assert_int_equal(r.status, 404);
    free(r.body);
    r = call("GET", "/metrics", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    free(r.body);
    assert_true(api_is_api_path("/api/can"));
    assert_false(api_is_api_path("/index.html"));
}

static void test_api_settings_change_is_applied_then_saved(void **state)
{
    (void)state;
    fk.apply_outcome = API_APPLY_APPLIED;
    api_response_t r = call("POST", "/api/settings", NULL,
                            "{\"victron\":{\"max_discharge_current_a\":33}}");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"applied\":true"));
    assert_int_equal(fk.saves, 1);
    assert_int_equal(fk.running.victron.max_discharge_current_da, 330);
    assert_int_equal(fk.locks, 0); /* locked and unlocked */
    assert_non_null(strstr(r.body, "\"warnings\":[]"));
    free(r.body);
    /* an ESP32 key is kept but not used: applied, with a warning naming it */
    r = call("POST", "/api/settings", NULL, "{\"wifi\":{\"sta_ssid\":\"cabin\"}}");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"warnings\":[{\"key\":\"wifi.sta_ssid\""));
    free(r.body);
}

static void test_api_settings_refused_or_bad_change_saves_nothing(void **state)
{
    (void)state;
    api_response_t r = call("POST", "/api/settings", NULL, "{\"victron\":{\"nope\":1}}");
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"key\":\"victron.nope\""));
    free(r.body);
    fk.apply_outcome = API_APPLY_REFUSED;
    r = call("POST", "/api/settings", NULL, "{\"victron\":{\"max_discharge_current_a\":33}}");
    assert_int_equal(r.status, 422);
    assert_non_null(strstr(r.body, "test refusal"));
    assert_int_equal(fk.saves, 0);
    free(r.body);
    fk.apply_outcome = API_APPLY_BUSY;
    r = call("POST", "/api/settings", NULL, "{\"victron\":{\"max_discharge_current_a\":33}}");
    assert_int_equal(r.status, 409);
    assert_int_equal(fk.saves, 0);
    free(r.body);
    fk.apply_outcome = API_APPLY_PENDING;
    r = call("POST", "/api/settings", NULL, "{\"victron\":{\"max_discharge_current_a\":33}}");
    assert_int_equal(r.status, 202);
    assert_non_null(strstr(r.body, "\"applied\":false"));
    assert_int_equal(fk.saves, 1);
    free(r.body);
}

static void test_api_settings_failed_save_puts_the_previous_config_back(void **state)
{
    (void)state;
    fk.apply_outcome = API_APPLY_APPLIED;
    fk.save_outcome = CFG_ERR_IO;
    api_response_t r = call("POST", "/api/settings", NULL,
                            "{\"victron\":{\"max_discharge_current_a\":33}}");
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "the previous configuration runs again"));
    assert_int_equal(fk.applies, 2);
    assert_int_equal(fk.running.victron.max_discharge_current_da, 1000); /* the default again */
    free(r.body);
}

static void test_api_write_outcomes_map_to_status_codes(void **state)
{
    (void)state;
    fk.write_outcome = API_WRITE_DONE;
    fk.write_status = SW_OK;
    api_response_t r = call("POST", "/api/tinybms/write", NULL,
                            "{\"address\":315,\"value\":3700}");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"verified\":true"));
    assert_int_equal(fk.last_write_addr, 315);
    free(r.body);
    fk.write_status = SW_INTERLOCK;
    r = call("POST", "/api/tinybms/write", NULL, "{\"address\":315,\"value\":3700}");
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"code\":\"interlock\""));
    free(r.body);
    fk.write_outcome = API_WRITE_BUSY;
    r = call("POST", "/api/tinybms/write", NULL, "{\"address\":315,\"value\":3700}");
    assert_int_equal(r.status, 409);
    free(r.body);
    r = call("POST", "/api/tinybms/write", NULL, "not json");
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "bad_request"));
    free(r.body);
}

static void test_api_registers_take_the_pack_one_based(void **state)
{
    (void)state;
    /* No parameter: pack 1's document, as with one pack. */
    api_response_t r = call("GET", "/api/tinybms/registers", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"registers_of_pack\":1}");
    free(r.body);
    r = call("GET", "/api/tinybms/registers", "pack=1", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"registers_of_pack\":1}");
    free(r.body);
    /* One pack: pack 2 does not exist. */
    r = call("GET", "/api/tinybms/registers", "pack=2", NULL);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "pack must be 1: the bridge reads one pack"));
    free(r.body);
    fk.packs = 3;
    r = call("GET", "/api/tinybms/registers", "pack=3", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"registers_of_pack\":3}");
    assert_int_equal(fk.last_doc_pack, 2); /* 0-based to the platform */
    free(r.body);
    const char *bad[] = {"pack=0", "pack=4", "pack=-1",
                         "pack=x", "pack=",  "pack=99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fk.last_doc_pack = 77;
        r = call("GET", "/api/tinybms/registers", bad[i], NULL);
        assert_int_equal(r.status, 400);
        assert_non_null(strstr(r.body, "\"success\":false"));
        assert_non_null(strstr(r.body, "pack"));
        assert_int_equal(fk.last_doc_pack, 77); /* no document was asked for */
        free(r.body);
    }
    r = call("GET", "/api/tinybms/registers", "pack=4", NULL);
    assert_non_null(strstr(r.body, "pack must be a number in 1..3 (the bridge reads 3 packs)"));
    free(r.body);
    /* Nothing published yet: pack 1 answers as always (503: no document),
     * another pack cannot be checked yet. */
    fk.packs = 0;
    r = call("GET", "/api/tinybms/registers", "pack=2", NULL);
    assert_int_equal(r.status, 503);
    free(r.body);
    r = call("GET", "/api/tinybms/registers", "pack=5", NULL);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "pack must be a number in 1..4"));
    free(r.body);
}

static void test_api_write_takes_the_pack_from_the_body(void **state)
{
    (void)state;
    fk.write_outcome = API_WRITE_DONE;
    fk.write_status = SW_OK;
    fk.packs = 2;
    fk.last_write_pack = 99;
    api_response_t r = call("POST", "/api/tinybms/write", NULL, "{\"address\":315,\"value\":3700}");
    assert_int_equal(r.status, 200);
    assert_int_equal(fk.last_write_pack, 0); /* default: pack 1 */
    assert_non_null(strstr(r.body, "\"pack\":1"));
    free(r.body);
    r = call("POST", "/api/tinybms/write", NULL, "{\"pack\":2,\"address\":315,\"value\":3700}");
    assert_int_equal(r.status, 200);
    assert_int_equal(fk.last_write_pack, 1);
    assert_non_null(strstr(r.body, "\"pack\":2"));
    free(r.body);
    assert_int_equal(fk.writes, 2);
    /* Outside 1..2, or not a whole number: 400, nothing written. */
    const char *bad[] = {
        "{\"pack\":3,\"address\":315,\"value\":3700}",
        "{\"pack\":0,\"address\":315,\"value\":3700}",
        "{\"pack\":-1,\"address\":315,\"value\":3700}",
        "{\"pack\":1.5,\"address\":315,\"value\":3700}",
        "{\"pack\":\"2\",\"address\":315,\"value\":3700}",
        "{\"pack\":null,\"address\":315,\"value\":3700}",
        "{\"pack\":1e300,\"address\":315,\"value\":3700}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = call("POST", "/api/tinybms/write", NULL, bad[i]);
        assert_int_equal(r.status, 400);
        assert_non_null(strstr(r.body, "\"code\":\"bad_request\""));
        assert_non_null(strstr(r.body, "pack"));
        free(r.body);
    }
    assert_int_equal(fk.writes, 2);
    r = call("POST", "/api/tinybms/write", NULL, bad[0]);
    assert_non_null(strstr(r.body, "pack must be a number in 1..2 (the bridge reads 2 packs)"));
    free(r.body);
    /* A bad register is still reported as before, whatever the pack. */
    r = call("POST", "/api/tinybms/write", NULL, "{\"pack\":2,\"address\":36,\"value\":1}");
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"code\":\"read_only\""));
    free(r.body);
    /* The pack count not known yet: pack 1 goes on, another waits (503). */
    fk.packs = 0;
    r = call("POST", "/api/tinybms/write", NULL, "{\"pack\":2,\"address\":315,\"value\":3700}");
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "\"code\":\"not_ready\""));
    free(r.body);
    assert_int_equal(fk.writes, 2);
    r = call("POST", "/api/tinybms/write", NULL, "{\"pack\":1,\"address\":315,\"value\":3700}");
    assert_int_equal(r.status, 200);
    assert_int_equal(fk.writes, 3);
    free(r.body);
}

static void test_api_without_pack_count_is_one_pack(void **state)
{
    (void)state;
    api_ops_t one = ops;
    one.pack_count = NULL;
    assert_true(api_ops_ok(&one));
    api_request_t q = {"GET", "/api/tinybms/registers", "pack=2", NULL, 0};
    api_response_t r;
    api_handle(&one, NULL, &q, &r);
    assert_int_equal(r.status, 400);
    free(r.body);
    q.query = NULL;
    api_handle(&one, NULL, &q, &r);
    assert_int_equal(r.status, 200);
    free(r.body);
}

static void test_api_logs_and_can_parse_their_query(void **state)
{
    (void)state;
    api_response_t r = call("GET", "/api/logs", "after=2&limit=10", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"more\":true"));
    free(r.body);
    r = call("GET", "/api/logs", "limit=0", NULL);
    assert_int_equal(r.status, 400);
    free(r.body);
    r = call("GET", "/api/logs", "after=-1", NULL);
    assert_int_equal(r.status, 400);
    free(r.body);
    r = call("DELETE", "/api/logs", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(fk.logs_cleared, 1);
    free(r.body);
    r = call("GET", "/api/can", "after=%34", NULL); /* URL-encoded 4 */
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"id_hex\":\"0x351\""));
    free(r.body);
    r = call("GET", "/api/can", "after=x", NULL);
    assert_int_equal(r.status, 400);
    free(r.body);
}

static void test_api_diagnostics_before_the_loop_published_them(void **state)
{
    (void)state;
    api_response_t r = call("GET", "/api/diagnostics", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"version\":\"1.2.3\""));
    assert_non_null(strstr(r.body, "\"status_seq\":7"));
    free(r.body);
}

static void test_api_refuses_to_run_with_missing_ops(void **state)
{
    (void)state;
    api_ops_t none;
    memset(&none, 0, sizeof none);
    assert_false(api_ops_ok(&none));
    assert_true(api_ops_ok(&ops));
    api_request_t q = {"GET", "/api/status", NULL, NULL, 0};
    api_response_t r;
    api_handle(&none, NULL, &q, &r);
    assert_int_equal(r.status, 500);
    free(r.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_api_routes_documents_and_refuses_other_methods, setup),
        cmocka_unit_test_setup(test_api_settings_change_is_applied_then_saved, setup),
        cmocka_unit_test_setup(test_api_settings_refused_or_bad_change_saves_nothing, setup),
        cmocka_unit_test_setup(test_api_settings_failed_save_puts_the_previous_config_back,
                               setup),
        cmocka_unit_test_setup(test_api_write_outcomes_map_to_status_codes, setup),
        cmocka_unit_test_setup(test_api_registers_take_the_pack_one_based, setup),
        cmocka_unit_test_setup(test_api_write_takes_the_pack_from_the_body, setup),
        cmocka_unit_test_setup(test_api_without_pack_count_is_one_pack, setup),
        cmocka_unit_test_setup(test_api_logs_and_can_parse_their_query, setup),
        cmocka_unit_test_setup(test_api_diagnostics_before_the_loop_published_them, setup),
        cmocka_unit_test_setup(test_api_refuses_to_run_with_missing_ops, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
