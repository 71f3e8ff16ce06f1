/*
 * serial_port.c - serial_port_t wrappers and the POSIX tty implementation.
 */
#include "serial_port.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- handle wrappers ---------------------------------------------------- */

int serial_port_init(serial_port_t *port, const serial_ops_t *ops, void *ctx)
{
    if (port == NULL) {
        return -EINVAL;
    }
    memset(port, 0, sizeof *port);
    const char *missing = NULL;
    if (ops == NULL) {
        missing = "table";
    } else if (ops->open == NULL) {
        missing = "open";
    } else if (ops->close == NULL) {
        missing = "close";
    } else if (ops->fd == NULL) {
        missing = "fd";
    } else if (ops->read == NULL) {
        missing = "read";
    } else if (ops->write == NULL) {
        missing = "write";
    }
    if (missing != NULL) {
        snprintf(port->last_error, sizeof port->last_error,
                 "serial port: required entry '%s' missing", missing);
        return -EINVAL;
    }
    port->ops = ops;
    port->ctx = ctx;
    return 0;
}

static bool port_ready(const serial_port_t *port)
{
    return port != NULL && port->ops != NULL;
}

int serial_port_open(serial_port_t *port, const char *path, uint32_t baud)
{
    if (!port_ready(port) || path == NULL) {
        return -EINVAL;
    }
    size_t n = strlen(path);
    if (n == 0u || n >= sizeof port->path) {
        snprintf(port->last_error, sizeof port->last_error, "serial port: bad path length %zu", n);
        return n == 0u ? -EINVAL : -ENAMETOOLONG;
    }
    if (path != port->path) {
        memcpy(port->path, path, n + 1u);
    }
    port->baud = baud;
    return serial_port_reopen(port);
}

int serial_port_reopen(serial_port_t *port)
{
    if (!port_ready(port)) {
        return -EINVAL;
    }
    if (port->path[0] == '\0') {
        snprintf(port->last_error, sizeof port->last_error, "serial port: never opened");
        return -EINVAL;
    }
    serial_port_close(port);
    char why[SERIAL_ERROR_MAX / 2u];
    why[0] = '\0';
    int rc = port->ops->open(port->ctx, port->path, port->baud, why, sizeof why);
    if (rc < 0) {
        snprintf(port->last_error, sizeof port->last_error, "%.160s: %.80s", port->path,
                 why[0] != '\0' ? why : strerror(-rc));
        return rc;
    }
    port->is_open = true;
    port->last_error[0] = '\0';
    return 0;
}

void serial_port_close(serial_port_t *port)
{
    if (!port_ready(port) || !port->is_open) {
        return;
    }
    port->ops->close(port->ctx);
    port->is_open = false;
}

int serial_port_fd(const serial_port_t *port)
{
    if (!port_ready(port) || !port->is_open) {
        return -1;
    }
    return port->ops->fd(port->ctx);
}

static void set_io_error(serial_port_t *port, const char *what, ssize_t rc)
{
    snprintf(port->last_error, sizeof port->last_error, "%.160s: %s: %s", port->path, what,
             strerror((int)-rc));
}

ssize_t serial_port_read(serial_port_t *port, uint8_t *buf, size_t cap)
{
    if (!port_ready(port) || buf == NULL) {
        return -EINVAL;
    }
    if (!port->is_open) {
        return -EBADF;
    }
    ssize_t rc = port->ops->read(port->ctx, buf, cap);
    if (rc < 0) {
        set_io_error(port, "read", rc);
    }
    return rc;
}

ssize_t serial_port_write(serial_port_t *port, const uint8_t *buf, size_t len)
{
    if (!port_ready(port) || buf == NULL) {
        return -EINVAL;
    }
    if (!port->is_open) {
        return -EBADF;
    }
    ssize_t rc = port->ops->write(port->ctx, buf, len);
    if (rc < 0) {
        set_io_error(port, "write", rc);
    }
    return rc;
}

int serial_port_flush_input(serial_port_t *port)
{
    if (!port_ready(port)) {
        return -EINVAL;
    }
    if (!port->is_open) {
        return -EBADF;
    }
    if (port->ops->flush_input != NULL) {
        int rc = port->ops->flush_input(port->ctx);
        if (rc < 0) {
            set_io_error(port, "flush", rc);
        }
        return rc;
    }
    uint8_t scratch[64];
    for (;;) {
        ssize_t rc = serial_port_read(port, scratch, sizeof scratch);
        if (rc <= 0) {
            return rc < 0 ? (int)rc : 0;
        }
    }
}

const char *serial_port_last_error(const serial_port_t *port)
{
    return port == NULL ? "" : port->last_error;
}

/* ---- POSIX tty ---------------------------------------------------------- */

bool serial_baud_to_speed(uint32_t baud, speed_t *speed)
{
    static const struct {
        uint32_t baud;
        speed_t speed;
    } table[] = {
        {9600u, B9600},     {19200u, B19200},   {38400u, B38400},   {57600u, B57600},
        {115200u, B115200}, {230400u, B230400}, {460800u, B460800}, {500000u, B500000},
        {576000u, B576000}, {921600u, B921600},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (table[i].baud == baud) {
            if (speed != NULL) {
                *speed = table[i].speed;
            }
            return true;
        }
    }
    return false;
}

void serial_posix_ctx_init(serial_posix_t *ctx)
{
    if (ctx != NULL) {
        ctx->fd = -1;
    }
}

static int posix_fail(int fd, const char *what, char *err, size_t err_cap)
{
    int e = errno;
    snprintf(err, err_cap, "%s: %s", what, strerror(e));
    if (fd >= 0) {
        close(fd);
    }
    return -e;
}

static int posix_open(void *vctx, const char *path, uint32_t baud, char *err, size_t err_cap)
{
    serial_posix_t *ctx = vctx;
    speed_t speed;
    if (!serial_baud_to_speed(baud, &speed)) {
        snprintf(err, err_cap,
                 "unsupported baud rate %lu (use 9600, 19200, 38400, 57600, 115200, 230400, "
                 "460800, 500000, 576000 or 921600)",
                 (unsigned long)baud);
        return -EINVAL;
    }
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return posix_fail(-1, "open", err, err_cap);
    }
    if (!isatty(fd)) {
        errno = ENOTTY;
        return posix_fail(fd, "not a tty", err, err_cap);
    }
    struct termios tio;
    if (tcgetattr(fd, &tio) != 0) {
        return posix_fail(fd, "tcgetattr", err, err_cap);
    }
    cfmakeraw(&tio);
    tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB | CRTSCTS);
    tio.c_cflag |= CS8 | CLOCAL | CREAD;
    tio.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
    tio.c_cc[VMIN] = 0;
    tio.c_cc[VTIME] = 0;
    /* A pseudo-terminal stores the speed and ignores it: no failure there. */
    if (cfsetispeed(&tio, speed) != 0 || cfsetospeed(&tio, speed) != 0) {
        return posix_fail(fd, "cfsetspeed", err, err_cap);
    }
    if (tcsetattr(fd, TCSANOW, &tio) != 0) {
        return posix_fail(fd, "tcsetattr", err, err_cap);
    }
    if (tcflush(fd, TCIFLUSH) != 0) {
        return posix_fail(fd, "tcflush", err, err_cap);
    }
    ctx->fd = fd;
    return 0;
}

static void posix_close(void *vctx)
{
    serial_posix_t *ctx = vctx;
    if (ctx->fd >= 0) {
        /* close() errors on a tty leave nothing to recover; the fd is gone. */
        (void)close(ctx->fd);
        ctx->fd = -1;
    }
}

static int posix_fd(const void *vctx)
{
    const serial_posix_t *ctx = vctx;
    return ctx->fd;
}

/* With VMIN=0/VTIME=0 read() returns 0 both for "no data" and after a
 * hang-up; poll() tells them apart (a hung-up tty reports POLLHUP). */
static bool posix_hung_up(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int n = poll(&pfd, 1, 0);
    if (n < 0) {
        return false;
    }
    return (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
}

static ssize_t posix_read(void *vctx, uint8_t *buf, size_t cap)
{
    serial_posix_t *ctx = vctx;
    if (ctx->fd < 0) {
        return -EBADF;
    }
    for (;;) {
        ssize_t n = read(ctx->fd, buf, cap);
        if (n > 0) {
            return n;
        }
        if (n == 0) {
            return (cap > 0u && posix_hung_up(ctx->fd)) ? -ENODEV : 0;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return 0;
        }
        return -errno;
    }
}

static ssize_t posix_write(void *vctx, const uint8_t *buf, size_t len)
{
    serial_posix_t *ctx = vctx;
    if (ctx->fd < 0) {
        return -EBADF;
    }
    for (;;) {
        ssize_t n = write(ctx->fd, buf, len);
        if (n >= 0) {
            return n;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return 0;
        }
        return -errno;
    }
}

static int posix_flush_input(void *vctx)
{
    serial_posix_t *ctx = vctx;
    if (ctx->fd < 0) {
        return -EBADF;
    }
    return tcflush(ctx->fd, TCIFLUSH) == 0 ? 0 : -errno;
}

const serial_ops_t serial_posix_ops = {
    .open = posix_open,
    .close = posix_close,
    .fd = posix_fd,
    .read = posix_read,
    .write = posix_write,
    .flush_input = posix_flush_input,
};
