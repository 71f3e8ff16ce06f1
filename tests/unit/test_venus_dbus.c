/* Tests of venus_dbus.h without a bus: the name suffix, bad configurations, and a bus that is
 * not there (never blocking, retried). The protocol itself is tested against dbus-daemon and
 * python3-dbus in tests/py/test_dbus.py. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "venus_dbus.h"

static void suffix_is(const char *device, const char *want)
{
    char out[64];
    venus_dbus_suffix(device, out, sizeof out);
    assert_string_equal(out, want);
}

static void test_suffix_is_the_tty_name(void **state)
{
    (void)state;
    suffix_is("/dev/ttyUSB0", "ttyUSB0");
    suffix_is("/dev/ttyACM1", "ttyACM1");
    suffix_is("simulator", "simulator");
    suffix_is("/tmp/x/uart-a", "uart-a");
}

static void test_suffix_never_starts_with_a_digit_and_maps_other_characters(void **state)
{
    (void)state;
    suffix_is("/dev/pts/3", "pts3");
    suffix_is("/dev/serial/by-id/usb-FTDI_FT232R.port0", "usb-FTDI_FT232R_port0");
    suffix_is("3", "_");
    suffix_is("", "unknown");
    suffix_is(NULL, "unknown");
}

static void test_suffix_is_cut_to_the_buffer(void **state)
{
    (void)state;
    char out[5];
    venus_dbus_suffix("/dev/ttyUSB0", out, sizeof out);
    assert_string_equal(out, "ttyU");
}

static void test_create_rejects_a_bad_suffix_and_null(void **state)
{
    (void)state;
    venus_dbus_config_t c;
    memset(&c, 0, sizeof c);
    assert_null(venus_dbus_create(NULL, 0));
    assert_null(venus_dbus_create(&c, 0)); /* empty */
    strcpy(c.suffix, "1tty");
    assert_null(venus_dbus_create(&c, 0));
    strcpy(c.suffix, "tty.USB0");
    assert_null(venus_dbus_create(&c, 0));
    venus_dbus_destroy(NULL);
}

static void test_no_bus_is_retried_without_blocking(void **state)
{
    (void)state;
    setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/tbvb-test-bus", 1);
    venus_dbus_config_t c;
    memset(&c, 0, sizeof c);
    strcpy(c.suffix, "ttyUSB0");
    c.preferred_instance = 512;
    venus_dbus_t *vd = venus_dbus_create(&c, 1000000u);
    assert_non_null(vd);
    assert_string_equal(venus_dbus_state_name(vd), "disconnected");
    assert_int_equal(venus_dbus_next_us(vd), 1000000u); /* connect at once */
    venus_dbus_handle(vd, NULL, 0, 1000000u);
    assert_string_equal(venus_dbus_state_name(vd), "disconnected");
    /* The next try is VENUS_DBUS_RETRY_MS later, and no fd is watched meanwhile. */
    assert_int_equal(venus_dbus_next_us(vd), 1000000u + VENUS_DBUS_RETRY_MS * 1000u);
    struct pollfd pfd[VENUS_DBUS_MAX_FDS];
    assert_int_equal(venus_dbus_pollfds(vd, pfd, VENUS_DBUS_MAX_FDS), 0);
    venus_dbus_handle(vd, NULL, 0, 1500000u); /* too early: nothing */
    assert_int_equal(venus_dbus_next_us(vd), 1000000u + VENUS_DBUS_RETRY_MS * 1000u);
    venus_dbus_publish(vd, NULL); /* ignored */
    venus_dbus_destroy(vd);
    unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suffix_is_the_tty_name),
        cmocka_unit_test(test_suffix_never_starts_with_a_digit_and_maps_other_characters),
        cmocka_unit_test(test_suffix_is_cut_to_the_buffer),
        cmocka_unit_test(test_create_rejects_a_bad_suffix_and_null),
        cmocka_unit_test(test_no_bus_is_retried_without_blocking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
