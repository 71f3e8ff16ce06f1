/*
 * Tests of serial_port.c on pseudo-terminals and of the slcan CAN backend
 * (can_slcan.c) against a peer on the pty master: the open sequence, TX
 * lines, RX lines (python-can's own open sequence included, test-peers.md),
 * malformed input, drops when the tty is full, and reconnect after the
 * peer goes away. The backend opens a symlink that the test re-points to a
 * new pty, as socat's link= does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "can_port.h"
#include "serial_port.h"
#include "slcan.h"

#define WAIT_MS 1000

/* ---- pty helpers -------------------------------------------------------- */

typedef struct {
    int master;
    char slave[128];
} pty_t;

static void pty_new(pty_t *p)
{
    p->master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    assert_true(p->master >= 0);
    assert_int_equal(grantpt(p->master), 0);
    assert_int_equal(unlockpt(p->master), 0);
    const char *name = ptsname(p->master);
    assert_non_null(name);
    snprintf(p->slave, sizeof p->slave, "%s", name);
}

static void pty_free(pty_t *p)
{
    if (p->master >= 0) {
        close(p->master);
        p->master = -1;
    }
}

static bool wait_readable(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, timeout_ms) > 0;
}

/* Read from the master until `want` bytes arrived or WAIT_MS passed. */
static size_t master_read(pty_t *p, char *buf, size_t want)
{
    size_t got = 0;
    while (got < want && wait_readable(p->master, WAIT_MS)) {
        ssize_t n = read(p->master, buf + got, want - got);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    return got;
}

static void master_write(pty_t *p, const char *s)
{
    assert_int_equal(write(p->master, s, strlen(s)), (ssize_t)strlen(s));
}

/* ---- serial_port -------------------------------------------------------- */

static int dummy_open(void *ctx, const char *path, uint32_t baud, char *err, size_t err_cap)
{
    (void)ctx;
    (void)path;
    (void)baud;
    (void)err;
    (void)err_cap;
    return 0;
}

static void test_serial_init_refuses_table_missing_read(void **state)
{
    (void)state;
    serial_ops_t ops = serial_posix_ops;
    ops.read = NULL;
    serial_port_t port;
    assert_int_equal(serial_port_init(&port, &ops, NULL), -EINVAL);
    assert_non_null(strstr(serial_port_last_error(&port), "read"));
    assert_int_equal(serial_port_init(&port, NULL, NULL), -EINVAL);
    serial_ops_t only_open = {.open = dummy_open};
    assert_int_equal(serial_port_init(&port, &only_open, NULL), -EINVAL);
    serial_posix_t ctx;
    serial_posix_ctx_init(&ctx);
    assert_int_equal(serial_port_init(&port, &serial_posix_ops, &ctx), 0);
    assert_int_equal(serial_port_fd(&port), -1);
    uint8_t b;
    assert_int_equal(serial_port_read(&port, &b, 1), -EBADF);
    assert_int_equal(serial_port_reopen(&port), -EINVAL);
}

static void test_serial_open_errors_are_clear(void **state)
{
    (void)state;
    serial_posix_t ctx;
    serial_posix_ctx_init(&ctx);
    serial_port_t port;
    assert_int_equal(serial_port_init(&port, &serial_posix_ops, &ctx), 0);

    assert_int_equal(serial_port_open(&port, "/dev/null", 12345), -EINVAL);
    assert_non_null(strstr(serial_port_last_error(&port), "unsupported baud rate 12345"));

    assert_int_equal(serial_port_open(&port, "/dev/null", 115200), -ENOTTY);
    assert_non_null(strstr(serial_port_last_error(&port), "/dev/null"));
    assert_non_null(strstr(serial_port_last_error(&port), "not a tty"));

    assert_int_equal(serial_port_open(&port, "/nonexistent/ttyUSB9", 115200), -ENOENT);
    assert_non_null(strstr(serial_port_last_error(&port), "/nonexistent/ttyUSB9"));
    assert_int_equal(serial_port_fd(&port), -1);

    assert_true(serial_baud_to_speed(9600, NULL));
    assert_true(serial_baud_to_speed(921600, NULL));
    assert_false(serial_baud_to_speed(0, NULL));
    assert_false(serial_baud_to_speed(4800, NULL));
}

static void test_serial_pty_read_write_hangup_reopen(void **state)
{
    (void)state;
    pty_t p;
    pty_new(&p);
    serial_posix_t ctx;
    serial_posix_ctx_init(&ctx);
    serial_port_t port;
    assert_int_equal(serial_port_init(&port, &serial_posix_ops, &ctx), 0);

    /* A pty ignores the baud; every supported one opens. */
    assert_int_equal(serial_port_open(&port, p.slave, 921600), 0);
    assert_int_equal(serial_port_open(&port, p.slave, 9600), 0);
    int fd = serial_port_fd(&port);
    assert_true(fd >= 0);
    assert_true((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);

    uint8_t buf[64];
    assert_int_equal(serial_port_read(&port, buf, sizeof buf), 0); /* nothing: 0, not EAGAIN */

    const uint8_t req[] = {0xAA, 0x03, 0x00, 0x05, 0x00, 0x05, 0x8C, 0x13, 0x0D, 0x0A, 0x00};
    assert_int_equal(serial_port_write(&port, req, sizeof req), sizeof req);
    char got[64];
    assert_int_equal(master_read(&p, got, sizeof req), sizeof req);
    assert_memory_equal(got, req, sizeof req); /* raw: no CR/LF mapping, NUL passes */

    assert_int_equal(write(p.master, req, sizeof req), sizeof req);
    assert_true(wait_readable(fd, WAIT_MS));
    assert_int_equal(serial_port_read(&port, buf, sizeof buf), sizeof req);
    assert_memory_equal(buf, req, sizeof req);

    assert_int_equal(write(p.master, "junk", 4), 4);
    assert_true(wait_readable(fd, WAIT_MS));
    assert_int_equal(serial_port_flush_input(&port), 0);
    assert_int_equal(serial_port_read(&port, buf, sizeof buf), 0);

    /* The other side goes away: read reports it. */
    pty_free(&p);
    ssize_t rc = serial_port_read(&port, buf, sizeof buf);
    assert_true(rc < 0);
    assert_non_null(strstr(serial_port_last_error(&port), "read"));
    serial_port_close(&port);
    serial_port_close(&port);
    assert_int_equal(serial_port_fd(&port), -1);
}

/* ---- slcan backend ------------------------------------------------------ */

typedef struct {
    char dir[64];
    char link[96];
    pty_t pty;
    canport_t port;
} slfix_t;

static void point_link(slfix_t *fx, const char *target)
{
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s/tmp-link", fx->dir);
    (void)unlink(tmp);
    assert_int_equal(symlink(target, tmp), 0);
    assert_int_equal(rename(tmp, fx->link), 0);
}

static int sl_setup(void **state)
{
    static slfix_t fx;
    memset(&fx, 0, sizeof fx);
    snprintf(fx.dir, sizeof fx.dir, "/tmp/tbvb-slcan-XXXXXX");
    if (mkdtemp(fx.dir) == NULL) {
        return -1;
    }
    snprintf(fx.link, sizeof fx.link, "%s/tty", fx.dir);
    pty_new(&fx.pty);
    point_link(&fx, fx.pty.slave);
    char spec[128];
    char err[256];
    snprintf(spec, sizeof spec, "slcan:%s", fx.link);
    if (canport_open(&fx.port, spec, 0, err, sizeof err) != CANPORT_OK) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    *state = &fx;
    return 0;
}

static int sl_teardown(void **state)
{
    slfix_t *fx = *state;
    canport_close(&fx->port);
    pty_free(&fx->pty);
    (void)unlink(fx->link);
    (void)rmdir(fx->dir);
    return 0;
}

static canport_stats_t sl_stats(const slfix_t *fx)
{
    canport_stats_t s;
    canport_get_stats(&fx->port, &s);
    return s;
}

/* Wait for the port's fd, then recv one frame or give the last result. */
static canport_err_t recv_wait(slfix_t *fx, vcan_frame_t *out, uint64_t now_ms)
{
    canport_err_t rc = canport_recv(&fx->port, out, now_ms);
    if (rc != CANPORT_ERR_EMPTY) {
        return rc;
    }
    int fd = canport_fd(&fx->port);
    if (fd < 0 || !wait_readable(fd, WAIT_MS)) {
        return rc;
    }
    return canport_recv(&fx->port, out, now_ms);
}

static void test_slcan_open_sends_close_bitrate_open(void **state)
{
    slfix_t *fx = *state;
    char got[32];
    assert_int_equal(master_read(&fx->pty, got, 7), 7);
    assert_string_equal(got, "C\rS6\rO\r");
    canport_stats_t s = sl_stats(fx);
    assert_true(s.connected);
    assert_true(canport_fd(&fx->port) >= 0);
}

static void test_slcan_tx_line_appears_on_peer(void **state)
{
    slfix_t *fx = *state;
    char got[64];
    assert_int_equal(master_read(&fx->pty, got, 7), 7);
    vcan_frame_t f = {
        .id = 0x351, .dlc = 8, .data = {0x48, 0x02, 0x00, 0x05, 0x00, 0x05, 0xAE, 0x01}};
    assert_int_equal(canport_send(&fx->port, &f, 5), CANPORT_OK);
    vcan_frame_t f0 = {.id = 0x7FF, .dlc = 0};
    assert_int_equal(canport_send(&fx->port, &f0, 5), CANPORT_OK);
    const char *want = "t3518480200050005AE01\rt7FF0\r";
    assert_int_equal(master_read(&fx->pty, got, strlen(want)), strlen(want));
    assert_string_equal(got, want);
    assert_int_equal(sl_stats(fx).tx_frames, 2);

    vcan_frame_t bad = {.id = 0x800, .dlc = 0};
    assert_int_equal(canport_send(&fx->port, &bad, 5), CANPORT_ERR_FRAME);
    assert_int_equal(sl_stats(fx).tx_errors, 1);
}

static void test_slcan_rx_ignores_python_can_open_and_returns_keepalive(void **state)
{
    slfix_t *fx = *state;
    master_write(&fx->pty, "C\rS6\rO\rO\rt30580000000000000000\rT12345678111\rr3050\r"
                           "t30721234\r");
    vcan_frame_t out;
    assert_int_equal(recv_wait(fx, &out, 10), CANPORT_OK);
    assert_int_equal(out.id, 0x305);
    assert_int_equal(out.dlc, 8);
    canport_err_t rc = recv_wait(fx, &out, 10);
    assert_int_equal(rc, CANPORT_OK);
    assert_int_equal(out.id, 0x307);
    assert_int_equal(out.dlc, 2);
    assert_int_equal(out.data[0], 0x12);
    assert_int_equal(out.data[1], 0x34);
    assert_int_equal(canport_recv(&fx->port, &out, 10), CANPORT_ERR_EMPTY);
    canport_stats_t s = sl_stats(fx);
    assert_int_equal(s.rx_frames, 2);
    assert_int_equal(s.rx_ignored, 6); /* C S6 O O, extended, remote */
    assert_int_equal(s.rx_malformed, 0);
}

static void test_slcan_rx_malformed_and_error_replies_counted(void **state)
{
    slfix_t *fx = *state;
    master_write(&fx->pty, "t12G0\rt1239\r\a");
    char big[100];
    memset(big, '5', sizeof big - 2);
    big[0] = 't';
    big[sizeof big - 2] = '\r';
    big[sizeof big - 1] = '\0';
    master_write(&fx->pty, big);
    master_write(&fx->pty, "t1001FF\r");
    vcan_frame_t out;
    assert_int_equal(recv_wait(fx, &out, 10), CANPORT_OK);
    assert_int_equal(out.id, 0x100);
    assert_int_equal(out.data[0], 0xFF);
    canport_stats_t s = sl_stats(fx);
    assert_int_equal(s.rx_malformed, 3);
    assert_int_equal(s.rx_errors, 1);
    assert_true(s.connected);
}

static void test_slcan_full_tty_drops_never_blocks_and_keeps_lines_whole(void **state)
{
    slfix_t *fx = *state;
    char skip[16];
    assert_int_equal(master_read(&fx->pty, skip, 7), 7);
    vcan_frame_t f = {.id = 0x356, .dlc = 8, .data = {1, 2, 3, 4, 5, 6, 7, 8}};
    uint32_t drops = 0;
    int i;
    for (i = 0; i < 200000 && drops < 3; i++) {
        canport_err_t rc = canport_send(&fx->port, &f, 1);
        if (rc == CANPORT_ERR_AGAIN) {
            drops++;
        } else {
            assert_int_equal(rc, CANPORT_OK);
        }
    }
    canport_stats_t s = sl_stats(fx);
    assert_int_equal(s.tx_drops, drops);
    assert_true(drops >= 3);
    assert_true(s.connected);

    /* Drain the peer; then pending bytes go out from tick, and every line is whole. */
    slcan_parser_t p;
    slcan_parser_init(&p);
    uint32_t frames = 0;
    char buf[4096];
    for (int round = 0; round < 100000; round++) {
        canport_tick(&fx->port, 2);
        if (!wait_readable(fx->pty.master, 50)) {
            break;
        }
        ssize_t n = read(fx->pty.master, buf, sizeof buf);
        if (n <= 0) {
            break;
        }
        size_t off = 0;
        while (off < (size_t)n) {
            slcan_event_t ev;
            off += slcan_parser_feed(&p, (const uint8_t *)buf + off, (size_t)n - off, &ev);
            if (ev.kind == SLCAN_EV_FRAME) {
                frames++;
            }
        }
    }
    assert_int_equal(p.stats.malformed, 0);
    assert_int_equal(p.len, 0);
    assert_int_equal(frames, s.tx_frames);
    assert_int_equal(canport_send(&fx->port, &f, 3), CANPORT_OK);
}

static void test_slcan_peer_gone_then_back_reconnects(void **state)
{
    slfix_t *fx = *state;
    char got[64];
    assert_int_equal(master_read(&fx->pty, got, 7), 7);

    /* The adapter disappears. */
    pty_free(&fx->pty);
    (void)unlink(fx->link);
    vcan_frame_t out;
    canport_err_t rc = recv_wait(fx, &out, 1000);
    assert_int_equal(rc, CANPORT_ERR_DISCONNECTED);
    assert_int_equal(canport_fd(&fx->port), -1);
    canport_stats_t s = sl_stats(fx);
    assert_false(s.connected);
    assert_non_null(strstr(canport_last_error(&fx->port), fx->link));

    vcan_frame_t f = {.id = 0x355, .dlc = 2, .data = {0x43, 0x00}};
    assert_int_equal(canport_send(&fx->port, &f, 1001), CANPORT_ERR_DISCONNECTED);
    assert_int_equal(sl_stats(fx).tx_drops, 1);

    /* Retry while it is still absent: stays down, says why. */
    canport_tick(&fx->port, 1000 + CANPORT_RETRY_MS);
    assert_int_equal(canport_fd(&fx->port), -1);
    assert_non_null(strstr(canport_last_error(&fx->port), fx->link));

    /* It comes back (a new pty behind the same path). */
    pty_new(&fx->pty);
    point_link(fx, fx->pty.slave);
    canport_tick(&fx->port, 1000 + 2 * CANPORT_RETRY_MS - 1);
    assert_int_equal(canport_fd(&fx->port), -1);
    canport_tick(&fx->port, 1000 + 2 * CANPORT_RETRY_MS);
    assert_true(canport_fd(&fx->port) >= 0);
    s = sl_stats(fx);
    assert_true(s.connected);
    assert_int_equal(s.reconnects, 1);
    assert_string_equal(canport_last_error(&fx->port), "");

    assert_int_equal(master_read(&fx->pty, got, 7), 7);
    assert_string_equal(got, "C\rS6\rO\r");
    assert_int_equal(canport_send(&fx->port, &f, 3100), CANPORT_OK);
    assert_int_equal(master_read(&fx->pty, got, 10), 10);
    assert_string_equal(got, "t35524300\r");
    master_write(&fx->pty, "t3050\r");
    assert_int_equal(recv_wait(fx, &out, 3200), CANPORT_OK);
    assert_int_equal(out.id, 0x305);
}

static void test_slcan_open_errors(void **state)
{
    (void)state;
    canport_t port;
    char err[256] = "";
    assert_int_equal(canport_open(&port, "slcan:/nonexistent/ttyACM7", 0, err, sizeof err),
                     CANPORT_ERR_OPEN);
    assert_non_null(strstr(err, "/nonexistent/ttyACM7"));
    assert_null(port.ops);

    assert_int_equal(canport_open(&port, "slcan:/dev/ttyACM0@12345", 0, err, sizeof err),
                     CANPORT_ERR_SPEC);
    assert_non_null(strstr(err, "12345"));

    assert_int_equal(canport_open(&port, "slcan:@115200", 0, err, sizeof err), CANPORT_ERR_SPEC);
    assert_int_equal(canport_open(&port, "slcan:/dev/null", 0, err, sizeof err), CANPORT_ERR_OPEN);
    assert_non_null(strstr(err, "not a tty"));
}

static void test_slcan_baud_suffix_on_pty(void **state)
{
    (void)state;
    pty_t p;
    pty_new(&p);
    char spec[160];
    snprintf(spec, sizeof spec, "slcan:%s@921600", p.slave);
    canport_t port;
    char err[256] = "";
    assert_int_equal(canport_open(&port, spec, 0, err, sizeof err), CANPORT_OK);
    char got[16];
    assert_int_equal(master_read(&p, got, 7), 7);
    canport_close(&port);
    assert_int_equal(master_read(&p, got, 2), 2);
    assert_string_equal(got, "C\r");
    pty_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serial_init_refuses_table_missing_read),
        cmocka_unit_test(test_serial_open_errors_are_clear),
        cmocka_unit_test(test_serial_pty_read_write_hangup_reopen),
        cmocka_unit_test_setup_teardown(test_slcan_open_sends_close_bitrate_open, sl_setup,
                                        sl_teardown),
        cmocka_unit_test_setup_teardown(test_slcan_tx_line_appears_on_peer, sl_setup, sl_teardown),
        cmocka_unit_test_setup_teardown(test_slcan_rx_ignores_python_can_open_and_returns_keepalive,
                                        sl_setup, sl_teardown),
        cmocka_unit_test_setup_teardown(test_slcan_rx_malformed_and_error_replies_counted, sl_setup,
                                        sl_teardown),
        cmocka_unit_test_setup_teardown(
            test_slcan_full_tty_drops_never_blocks_and_keeps_lines_whole, sl_setup, sl_teardown),
        cmocka_unit_test_setup_teardown(test_slcan_peer_gone_then_back_reconnects, sl_setup,
                                        sl_teardown),
        cmocka_unit_test(test_slcan_open_errors),
        cmocka_unit_test(test_slcan_baud_suffix_on_pty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
