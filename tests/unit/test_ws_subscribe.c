/* Tests of ws_subscribe.h: the WebSocket client's subscribe message. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ws_subscribe.h"

static bool apply(const char *msg, ws_sub_t *sub)
{
    return ws_subscribe_apply(msg, strlen(msg), sub);
}

static void test_subscribe_can_false_stops_can_and_keeps_status(void **state)
{
    (void)state;
    ws_sub_t s = {true, true};
    assert_true(apply("{\"type\":\"subscribe\",\"can\":false}", &s));
    assert_false(s.can);
    assert_true(s.status);
    assert_true(apply("{\"type\": \"subscribe\", \"can\": true}", &s));
    assert_true(s.can);
}

static void test_subscribe_status_both_spellings(void **state)
{
    (void)state;
    ws_sub_t s = {true, true};
    assert_true(apply("{\"type\":\"subscribe\",\"status\": false,\"can\":false}", &s));
    assert_false(s.status);
    assert_false(s.can);
    assert_true(apply("{\"type\":\"subscribe\",\"status\":true}", &s));
    assert_true(s.status);
    assert_false(s.can);
}

static void test_false_wins_when_a_key_is_given_twice(void **state)
{
    (void)state;
    ws_sub_t s = {true, true};
    assert_true(apply("{\"type\":\"subscribe\",\"can\":true,\"can\":false}", &s));
    assert_false(s.can);
}

static void test_other_messages_are_ignored(void **state)
{
    (void)state;
    ws_sub_t s = {true, true};
    assert_false(apply("{\"type\":\"ping\",\"can\":false}", &s));
    assert_false(apply("", &s));
    assert_false(ws_subscribe_apply(NULL, 0, &s));
    assert_false(ws_subscribe_apply("{\"type\":\"subscribe\"}", 21, NULL));
    assert_true(s.can);
    assert_true(s.status);
}

static void test_message_longer_than_the_limit_is_ignored(void **state)
{
    (void)state;
    char big[WS_SUBSCRIBE_MAX + 2u];
    const char *head = "{\"type\":\"subscribe\",\"can\":false,\"pad\":\"";
    memset(big, 'x', sizeof big);
    memcpy(big, head, strlen(head));
    ws_sub_t s = {true, true};
    assert_false(ws_subscribe_apply(big, WS_SUBSCRIBE_MAX + 1u, &s));
    assert_true(s.can);
    /* exactly the limit is read */
    assert_true(ws_subscribe_apply(big, WS_SUBSCRIBE_MAX, &s));
    assert_false(s.can);
}

static void test_not_nul_terminated_input_is_read_to_len_only(void **state)
{
    (void)state;
    const char msg[] = "{\"type\":\"subscribe\",\"can\":falseXXXX";
    ws_sub_t s = {true, true};
    /* cut before "false": no value for can */
    assert_true(ws_subscribe_apply(msg, strlen("{\"type\":\"subscribe\",\"can\":fal"), &s));
    assert_true(s.can);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subscribe_can_false_stops_can_and_keeps_status),
        cmocka_unit_test(test_subscribe_status_both_spellings),
        cmocka_unit_test(test_false_wins_when_a_key_is_given_twice),
        cmocka_unit_test(test_other_messages_are_ignored),
        cmocka_unit_test(test_message_longer_than_the_limit_is_ignored),
        cmocka_unit_test(test_not_nul_terminated_input_is_read_to_len_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
