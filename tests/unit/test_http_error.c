/* The body of an error answer (port/posix/http_error.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http_error.h"

static void expect(const char *msg, const char *body)
{
    char *b = http_error_json(msg);
    assert_non_null(b);
    assert_string_equal(b, body);
    free(b);
}

static void test_plain_message(void **state)
{
    (void)state;
    expect("out of memory", "{\"success\":false,\"error\":\"out of memory\"}");
    expect(NULL, "{\"success\":false,\"error\":\"\"}");
}

static void test_quotes_backslashes_and_control_bytes_are_escaped(void **state)
{
    (void)state;
    expect("a \"b\" c\\d\n\x01", "{\"success\":false,\"error\":\"a \\\"b\\\" c\\\\d\\u000a\\u0001\"}");
}

static void test_a_long_message_is_cut_whole_bytes_escaped(void **state)
{
    (void)state;
    char msg[HTTP_ERROR_MESSAGE_MAX + 50u];
    memset(msg, '"', sizeof msg - 1u);
    msg[sizeof msg - 1u] = '\0';
    char *b = http_error_json(msg);
    assert_non_null(b);
    /* prefix, every kept quote as \", suffix */
    assert_int_equal(strlen(b), strlen("{\"success\":false,\"error\":\"") +
                                    2u * HTTP_ERROR_MESSAGE_MAX + strlen("\"}"));
    assert_string_equal(b + strlen(b) - 4u, "\\\"\"}");
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_message),
        cmocka_unit_test(test_quotes_backslashes_and_control_bytes_are_escaped),
        cmocka_unit_test(test_a_long_message_is_cut_whole_bytes_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
