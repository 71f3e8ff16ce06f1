/* HTTP credential checks (port/posix/http_auth.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "http_auth.h"

/* "admin:secretpass" */
#define BASIC_OK "Basic YWRtaW46c2VjcmV0cGFzcw=="

static void test_auth_nothing_configured_is_unset(void **state)
{
    (void)state;
    assert_int_equal(http_auth_check(BASIC_OK, NULL, "", "", ""), HTTP_AUTH_UNSET);
    assert_int_equal(http_auth_check(NULL, NULL, "admin", "", ""), HTTP_AUTH_UNSET);
}

static void test_auth_basic_right_and_wrong(void **state)
{
    (void)state;
    assert_int_equal(http_auth_check(BASIC_OK, NULL, "admin", "secretpass", ""), HTTP_AUTH_OK);
    assert_int_equal(http_auth_check("basic YWRtaW46c2VjcmV0cGFzcw==", NULL, "admin",
                                     "secretpass", ""),
                     HTTP_AUTH_OK);
    assert_int_equal(http_auth_check(BASIC_OK, NULL, "admin", "secretpasS", ""), HTTP_AUTH_WRONG);
    assert_int_equal(http_auth_check(BASIC_OK, NULL, "root", "secretpass", ""), HTTP_AUTH_WRONG);
    assert_int_equal(http_auth_check(NULL, NULL, "admin", "secretpass", ""), HTTP_AUTH_MISSING);
}

static void test_auth_basic_malformed_is_wrong(void **state)
{
    (void)state;
    const char *bad[] = {"Basic", "Basic !!!!", "Basic YWRtaW4=", "Basic YWRtaW46c2VjcmV0cGFzcw",
                         "Digest abc", "Basic=YWRtaW46c2VjcmV0cGFzcw=="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(http_auth_check(bad[i], NULL, "admin", "secretpass", ""),
                         HTTP_AUTH_WRONG);
    }
}

static void test_auth_bearer_and_query_token(void **state)
{
    (void)state;
    const char *tok = "0123456789abcdef";
    assert_int_equal(http_auth_check("Bearer 0123456789abcdef", NULL, "", "", tok), HTTP_AUTH_OK);
    assert_int_equal(http_auth_check("Bearer 0123456789abcdeX", NULL, "", "", tok),
                     HTTP_AUTH_WRONG);
    assert_int_equal(http_auth_check("Bearer 0123456789abcdef", NULL, "a", "password", ""),
                     HTTP_AUTH_WRONG);
    assert_int_equal(http_auth_check(NULL, tok, "", "", tok), HTTP_AUTH_OK);
    assert_int_equal(http_auth_check(NULL, "nope", "", "", tok), HTTP_AUTH_WRONG);
    /* A token does not stand in for Basic. */
    assert_int_equal(http_auth_check(BASIC_OK, NULL, "", "", tok), HTTP_AUTH_WRONG);
}

static void test_auth_equal_and_base64(void **state)
{
    (void)state;
    assert_true(http_auth_equal("abc", "abc"));
    assert_false(http_auth_equal("abc", "abcd"));
    assert_false(http_auth_equal("abcd", "abc"));
    assert_false(http_auth_equal("", "a"));
    assert_true(http_auth_equal("", ""));
    char out[8];
    assert_int_equal(http_auth_base64_decode("YQ==", out, sizeof out), 1);
    assert_string_equal(out, "a");
    assert_int_equal(http_auth_base64_decode("YWJj", out, sizeof out), 3);
    assert_int_equal(http_auth_base64_decode("YWJjZGVmZ2g=", out, sizeof out), -1); /* too long */
    assert_int_equal(http_auth_base64_decode("Y=Q=", out, sizeof out), -1);
    assert_int_equal(http_auth_base64_decode("YQ", out, sizeof out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_nothing_configured_is_unset),
        cmocka_unit_test(test_auth_basic_right_and_wrong),
        cmocka_unit_test(test_auth_basic_malformed_is_wrong),
        cmocka_unit_test(test_auth_bearer_and_query_token),
        cmocka_unit_test(test_auth_equal_and_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
