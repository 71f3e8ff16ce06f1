/*
 * Tests of the CAN port's loopback mode (hardware.can.mode "loopback",
 * can_port.h): every frame sent comes back through canport_recv, in order,
 * with the port's fd readable while frames wait; nothing reaches a bus
 * (the slcan adapter on a pty master sees its listen-only open sequence and
 * no frame line); the log back-end, a record, still gets every frame.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "can_port.h"

#define WAIT_MS 1000

static vcan_frame_t frame(uint16_t id, uint8_t first)
{
    vcan_frame_t f;
    memset(&f, 0, sizeof f);
    f.id = id;
    f.dlc = 8;
    for (uint8_t i = 0; i < 8u; i++) {
        f.data[i] = (uint8_t)(first + i);
    }
    return f;
}

static bool readable(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, timeout_ms) > 0 && (pfd.revents & POLLIN) != 0;
}

static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        n += c == '\n';
    }
    fclose(f);
    return n;
}

/* The sent frames come back in order; the fd says when. */
static void test_loopback_returns_every_frame_sent_in_order(void **state)
{
    (void)state;
    char path[] = "/tmp/tbvb-loop-XXXXXX";
    int tmp = mkstemp(path);
    assert_true(tmp >= 0);
    close(tmp);
    char spec[64];
    snprintf(spec, sizeof spec, "log:%s", path);
    canport_t port;
    char err[256];
    assert_int_equal(canport_open_mode(&port, spec, CANPORT_MODE_LOOPBACK, 0, err, sizeof err),
                     CANPORT_OK);
    assert_int_equal(canport_mode(&port), CANPORT_MODE_LOOPBACK);
    int fd = canport_fd(&port); /* the log back-end has none of its own */
    assert_true(fd >= 0);
    assert_false(readable(fd, 0));

    const uint16_t ids[] = {0x351, 0x355, 0x356};
    for (size_t i = 0; i < 3u; i++) {
        vcan_frame_t f = frame(ids[i], (uint8_t)(i * 10u));
        assert_int_equal(canport_send(&port, &f, 0), CANPORT_OK);
    }
    assert_true(readable(fd, WAIT_MS));
    for (size_t i = 0; i < 3u; i++) {
        vcan_frame_t got;
        assert_int_equal(canport_recv(&port, &got, 0), CANPORT_OK);
        vcan_frame_t want = frame(ids[i], (uint8_t)(i * 10u));
        assert_int_equal(got.id, want.id);
        assert_int_equal(got.dlc, 8);
        assert_memory_equal(got.data, want.data, 8);
    }
    vcan_frame_t none;
    assert_int_equal(canport_recv(&port, &none, 0), CANPORT_ERR_EMPTY);
    assert_false(readable(fd, 0));

    canport_stats_t s;
    canport_get_stats(&port, &s);
    assert_int_equal(s.tx_frames, 3);
    assert_int_equal(s.rx_frames, 3);
    assert_int_equal(s.tx_drops, 0);
    /* The log is a record, not a bus: it still has every frame. */
    assert_int_equal(count_lines(path), 3);

    /* An id the bus cannot carry is refused, not looped. */
    vcan_frame_t bad = frame(0x800, 0);
    assert_int_equal(canport_send(&port, &bad, 0), CANPORT_ERR_FRAME);
    assert_int_equal(canport_recv(&port, &none, 0), CANPORT_ERR_EMPTY);
    canport_close(&port);
    canport_close(&port);
    unlink(path);
}

/* A full queue drops and counts, and never blocks. */
static void test_loopback_queue_full_drops_and_counts(void **state)
{
    (void)state;
    canport_t port;
    char err[256];
    assert_int_equal(
        canport_open_mode(&port, "log:/dev/null", CANPORT_MODE_LOOPBACK, 0, err, sizeof err),
        CANPORT_OK);
    vcan_frame_t f = frame(0x35A, 1);
    for (unsigned i = 0; i < CANPORT_LOOPBACK_QUEUE; i++) {
        assert_int_equal(canport_send(&port, &f, 0), CANPORT_OK);
    }
    assert_int_equal(canport_send(&port, &f, 0), CANPORT_ERR_AGAIN);
    canport_stats_t s;
    canport_get_stats(&port, &s);
    assert_int_equal(s.tx_drops, 1);
    vcan_frame_t got;
    unsigned n = 0;
    while (canport_recv(&port, &got, 0) == CANPORT_OK) {
        n++;
    }
    assert_int_equal(n, CANPORT_LOOPBACK_QUEUE);
    /* Room again. */
    assert_int_equal(canport_send(&port, &f, 0), CANPORT_OK);
    canport_close(&port);
}

/* Normal mode is unchanged: the log back-end has no fd and no RX. */
static void test_normal_mode_does_not_loop(void **state)
{
    (void)state;
    canport_t port;
    char err[256];
    assert_int_equal(
        canport_open_mode(&port, "log:/dev/null", CANPORT_MODE_NORMAL, 0, err, sizeof err),
        CANPORT_OK);
    assert_int_equal(canport_mode(&port), CANPORT_MODE_NORMAL);
    assert_int_equal(canport_fd(&port), -1);
    vcan_frame_t f = frame(0x351, 0);
    assert_int_equal(canport_send(&port, &f, 0), CANPORT_OK);
    assert_int_equal(canport_recv(&port, &f, 0), CANPORT_ERR_EMPTY);
    canport_close(&port);
    assert_int_equal(canport_mode(&port), CANPORT_MODE_NORMAL);
    assert_int_equal(canport_mode(NULL), CANPORT_MODE_NORMAL);
}

/* A bad spec fails as in normal mode and leaves nothing allocated. */
static void test_loopback_open_failure_leaves_the_port_unbound(void **state)
{
    (void)state;
    canport_t port;
    char err[256];
    assert_int_equal(canport_open_mode(&port, "log:/nonexistent-dir/x.log", CANPORT_MODE_LOOPBACK,
                                       0, err, sizeof err),
                     CANPORT_ERR_OPEN);
    assert_non_null(strstr(err, "/nonexistent-dir/x.log"));
    assert_int_equal(canport_fd(&port), -1);
    assert_int_equal(canport_mode(&port), CANPORT_MODE_NORMAL);
    assert_int_equal(canport_open_mode(&port, "bogus", CANPORT_MODE_LOOPBACK, 0, err, sizeof err),
                     CANPORT_ERR_SPEC);
}

/* slcan in loopback: the adapter is opened listen-only ("L", LAWICEL) and
 * never gets a frame line; the frames still come back to the bridge, and a
 * frame the adapter receives from the bus is returned as well. */
static void test_slcan_loopback_opens_listen_only_and_sends_nothing(void **state)
{
    (void)state;
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    char spec[160];
    snprintf(spec, sizeof spec, "slcan:%s", ptsname(master));
    canport_t port;
    char err[256];
    assert_int_equal(canport_open_mode(&port, spec, CANPORT_MODE_LOOPBACK, 0, err, sizeof err),
                     CANPORT_OK);

    char got[128];
    size_t n = 0;
    while (n < 9u && readable(master, WAIT_MS)) {
        ssize_t r = read(master, got + n, sizeof got - 1u - n);
        assert_true(r > 0);
        n += (size_t)r;
    }
    got[n] = '\0';
    assert_string_equal(got, "C\rS6\rL\r");

    vcan_frame_t f = frame(0x351, 0x40);
    assert_int_equal(canport_send(&port, &f, 0), CANPORT_OK);
    canport_tick(&port, 10);
    vcan_frame_t back;
    assert_int_equal(canport_recv(&port, &back, 0), CANPORT_OK);
    assert_int_equal(back.id, 0x351);
    assert_memory_equal(back.data, f.data, 8);
    /* Nothing was written toward the bus. */
    assert_false(readable(master, 100));

    /* The GX's keepalive from the bus still arrives (listen-only receives). */
    static const char line[] = "t3051" "01" "\r";
    assert_int_equal(write(master, line, strlen(line)), (ssize_t)strlen(line));
    canport_err_t rc = CANPORT_ERR_EMPTY;
    for (int i = 0; i < 100 && rc == CANPORT_ERR_EMPTY; i++) {
        rc = canport_recv(&port, &back, 0);
        if (rc == CANPORT_ERR_EMPTY) {
            usleep(10000);
        }
    }
    assert_int_equal(rc, CANPORT_OK);
    assert_int_equal(back.id, 0x305);

    canport_stats_t s;
    canport_get_stats(&port, &s);
    assert_int_equal(s.tx_frames, 1); /* looped */
    assert_int_equal(s.rx_frames, 2); /* looped + from the bus */
    canport_close(&port);
    close(master);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback_returns_every_frame_sent_in_order),
        cmocka_unit_test(test_loopback_queue_full_drops_and_counts),
        cmocka_unit_test(test_normal_mode_does_not_loop),
        cmocka_unit_test(test_loopback_open_failure_leaves_the_port_unbound),
        cmocka_unit_test(test_slcan_loopback_opens_listen_only_and_sends_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
