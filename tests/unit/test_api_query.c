/* Tests of api_query_get (api.h): query parameters as the adapters read them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "api.h"

static void test_query_value_is_url_decoded(void **state)
{
    (void)state;
    char v[32];
    assert_true(api_query_get("a=1&token=ab%2Fc+d%3d", "token", v, sizeof v));
    assert_string_equal(v, "ab/c d=");
    assert_true(api_query_get("token=x&a=2", "a", v, sizeof v));
    assert_string_equal(v, "2");
}

static void test_query_name_must_match_whole(void **state)
{
    (void)state;
    char v[32];
    assert_false(api_query_get("tokens=1&xtoken=2", "token", v, sizeof v));
    assert_false(api_query_get("token", "token", v, sizeof v));
    assert_false(api_query_get(NULL, "token", v, sizeof v));
    assert_true(api_query_get("token=", "token", v, sizeof v));
    assert_string_equal(v, "");
}

static void test_query_value_too_long_is_refused(void **state)
{
    (void)state;
    char v[4];
    assert_true(api_query_get("t=abc", "t", v, sizeof v));
    assert_string_equal(v, "abc");
    assert_false(api_query_get("t=abcd", "t", v, sizeof v));
    /* a bad escape is kept as text */
    assert_true(api_query_get("t=%zz", "t", v, sizeof v));
    assert_string_equal(v, "%zz");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_value_is_url_decoded),
        cmocka_unit_test(test_query_name_must_match_whole),
        cmocka_unit_test(test_query_value_too_long_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
