/* Tests of json_guard.h and of the parsers that use it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json_guard.h"
#include "write_request.h"

static char *nested(unsigned depth)
{
    char *s = malloc(2u * depth + 1u);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    s[2u * depth] = '\0';
    return s;
}

static void test_depth_is_counted_outside_strings_only(void **state)
{
    (void)state;
    assert_true(json_depth_ok("{\"a\":{\"b\":[1,2]}}", 17, 3));
    assert_false(json_depth_ok("{\"a\":{\"b\":[1,2]}}", 17, 2));
    const char *s = "{\"k\":\"[[[[[[\\\"[[[[\"}";
    assert_true(json_depth_ok(s, strlen(s), 1));
    assert_true(json_depth_ok(NULL, 0, 1));
    assert_true(json_depth_ok("]]]]", 4, 1)); /* unbalanced: cJSON refuses it, not this */
}

static void test_deeply_nested_bodies_are_refused_before_cjson_sees_them(void **state)
{
    (void)state;
    /* ~800 levels overflowed a 100 KiB web server thread inside cJSON. */
    char *deep = nested(100000);
    cfg_t base, out;
    cfg_defaults(&base);
    cfg_error_t err;
    assert_int_equal(cfg_merge_json(&base, deep, strlen(deep), &out, &err), CFG_ERR_SYNTAX);
    assert_non_null(strstr(err.message, "nested deeper"));
    assert_int_equal(cfg_from_json(deep, strlen(deep), &out, &err), CFG_ERR_SYNTAX);
    wreq_t w;
    char msg[160];
    assert_int_equal(wreq_parse(deep, strlen(deep), &w, msg, sizeof msg), WREQ_BAD_REQUEST);
    assert_non_null(strstr(msg, "nested too deeply"));
    free(deep);
    /* every real document is shallow */
    const char *ok = "{\"victron\":{\"thresholds\":{\"overtemp_c\":50}}}";
    assert_int_equal(cfg_merge_json(&base, ok, strlen(ok), &out, &err), CFG_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth_is_counted_outside_strings_only),
        cmocka_unit_test(test_deeply_nested_bodies_are_refused_before_cjson_sees_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
