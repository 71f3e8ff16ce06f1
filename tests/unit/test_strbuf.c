/* Tests of strbuf.h, the growing text buffer of the metrics and the key table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

static void test_nothing_appended_gives_an_empty_string(void **state)
{
    (void)state;
    strbuf_t sb = STRBUF_INIT;
    char *s = strbuf_take(&sb);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    assert_null(sb.buf);

    strbuf_reserve(&sb, 64u);
    s = strbuf_take(&sb);
    assert_non_null(s);
    assert_string_equal(s, ""); /* reserved room is NUL-terminated before any append */
    free(s);
}

static void test_many_small_appends_grow_the_buffer_and_keep_every_byte(void **state)
{
    (void)state;
    strbuf_t sb = STRBUF_INIT;
    size_t want_len = 0u;
    for (unsigned i = 0; i < 20000u; i++) {
        char one[16];
        want_len += (size_t)snprintf(one, sizeof one, "%u,", i);
        strbuf_printf(&sb, "%u,", i);
        assert_int_equal(sb.len, want_len);
        assert_true(sb.cap > sb.len);
        assert_int_equal(sb.buf[sb.len], '\0'); /* terminated after every append */
    }
    char *s = strbuf_take(&sb);
    assert_non_null(s);
    assert_int_equal(strlen(s), want_len);
    /* every number in order, none lost at a regrowth */
    const char *p = s;
    for (unsigned i = 0; i < 20000u; i++) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        assert_int_equal(v, i);
        assert_int_equal(*end, ',');
        p = end + 1;
    }
    assert_int_equal(*p, '\0');
    free(s);
}

static void test_one_append_longer_than_twice_the_buffer_fits_whole(void **state)
{
    (void)state;
    size_t n = 300000u;
    char *big = malloc(n + 1u);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++) {
        big[i] = (char)('a' + (char)(i % 26u));
    }
    big[n] = '\0';

    strbuf_t sb = STRBUF_INIT;
    strbuf_reserve(&sb, 16u);
    strbuf_printf(&sb, "<%s>", "x");
    strbuf_printf(&sb, "[%s]", big);
    strbuf_printf(&sb, "%d%%", 50);
    char *s = strbuf_take(&sb);
    assert_non_null(s);
    assert_int_equal(strlen(s), 3u + n + 2u + 3u);
    assert_memory_equal(s, "<x>[", 4u);
    assert_memory_equal(s + 4, big, n);
    assert_string_equal(s + 4 + n, "]50%");
    free(s);
    free(big);
}

static void test_adopted_text_is_appended_to(void **state)
{
    (void)state;
    char *base = malloc(6u);
    assert_non_null(base);
    memcpy(base, "head\n", 6u);
    strbuf_t sb = STRBUF_INIT;
    strbuf_adopt(&sb, base);
    assert_int_equal(sb.len, 5u);
    for (unsigned i = 0; i < 1000u; i++) {
        strbuf_printf(&sb, "line %u\n", i);
    }
    char *s = strbuf_take(&sb);
    assert_non_null(s);
    assert_memory_equal(s, "head\nline 0\nline 1\n", 19u);
    assert_non_null(strstr(s, "\nline 999\n"));
    assert_int_equal(s[strlen(s) - 1u], '\n');
    free(s);
}

static void test_adopting_a_failed_allocation_fails_the_whole_text(void **state)
{
    (void)state;
    strbuf_t sb = STRBUF_INIT;
    strbuf_adopt(&sb, NULL); /* the caller's own allocation failed */
    assert_true(sb.failed);
    strbuf_printf(&sb, "more %d", 1);
    assert_null(sb.buf); /* appends after a failure do nothing */
    assert_null(strbuf_take(&sb));
    assert_false(sb.failed); /* taken: the buffer starts over */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_appended_gives_an_empty_string),
        cmocka_unit_test(test_many_small_appends_grow_the_buffer_and_keep_every_byte),
        cmocka_unit_test(test_one_append_longer_than_twice_the_buffer_fits_whole),
        cmocka_unit_test(test_adopted_text_is_appended_to),
        cmocka_unit_test(test_adopting_a_failed_allocation_fails_the_whole_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
