/*
 * serial_port.h - the serial device behind the TinyBMS link (and under the
 * slcan CAN backend), as a const vtable plus a context (architecture.md,
 * "Platform boundary"; house-style.md rule 4).
 *
 * Every device is NON-BLOCKING: the Linux port runs one poll() loop that owns
 * the fd. Nothing here sleeps or waits.
 *
 * Two implementations of the table are expected: serial_posix_ops (a real
 * tty or a pseudo-terminal, below) and an in-process simulator written
 * elsewhere. Callers go through a serial_port_t handle, whose wrappers check
 * state, remember path and baud for reopen, and keep the last error text.
 *
 * Return convention of every entry that can fail: 0 (or a byte count) on
 * success, a NEGATIVE errno value on failure. -EAGAIN is never returned by
 * read/write: "nothing now" is 0.
 */
#ifndef SERIAL_PORT_H
#define SERIAL_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <termios.h>

#define SERIAL_PATH_MAX  256u
#define SERIAL_ERROR_MAX 256u

/* Device operations. ctx is the implementation's own state, passed back
 * unchanged. Entries marked REQUIRED must be non-NULL (serial_port_init
 * refuses the table otherwise); OPTIONAL ones may be NULL. */
typedef struct {
    /* REQUIRED. Open path at baud (bit/s). Must not block. On failure return
     * -errno and write a one-line reason into err (err_cap bytes, NUL-ended);
     * an unsupported baud is -EINVAL. Called only while closed. */
    int (*open)(void *ctx, const char *path, uint32_t baud, char *err, size_t err_cap);
    /* REQUIRED. Close the device; safe when already closed. */
    void (*close)(void *ctx);
    /* REQUIRED. The fd to poll() for POLLIN, or -1 when closed or when the
     * implementation has no fd (a simulator then relies on the loop's
     * timeout and the read entry). */
    int (*fd)(const void *ctx);
    /* REQUIRED. Read up to cap bytes. Returns the count (> 0), 0 when
     * nothing is available now, or -errno when the device failed or went
     * away (-EIO, -ENODEV, -ENXIO: the caller should close and reopen). */
    ssize_t (*read)(void *ctx, uint8_t *buf, size_t cap);
    /* REQUIRED. Write up to len bytes without blocking. Returns the count
     * accepted (0..len; less than len when the output buffer is full), or
     * -errno when the device failed or went away. */
    ssize_t (*write)(void *ctx, const uint8_t *buf, size_t len);
    /* OPTIONAL. Discard bytes received but not yet read (tcflush TCIFLUSH).
     * Returns 0 or -errno. NULL: the wrapper reads and drops what is there. */
    int (*flush_input)(void *ctx);
} serial_ops_t;

/* Handle: a table, its context, and what reopen needs. Caller-owned. */
typedef struct {
    const serial_ops_t *ops;
    void *ctx;
    bool is_open;
    char path[SERIAL_PATH_MAX];
    uint32_t baud;
    char last_error[SERIAL_ERROR_MAX];
} serial_port_t;

/* Bind a table and context to port (closed). Returns 0, or -EINVAL when
 * port/ops is NULL or a REQUIRED entry is missing (last_error says which). */
int serial_port_init(serial_port_t *port, const serial_ops_t *ops, void *ctx);

/* Open path at baud; closes first if open. Returns 0 or -errno, with
 * last_error naming the path and the reason. path longer than
 * SERIAL_PATH_MAX - 1 is -ENAMETOOLONG. */
int serial_port_open(serial_port_t *port, const char *path, uint32_t baud);

/* Close and open again with the path and baud of the last open. Returns 0
 * or -errno; -EINVAL when never opened. */
int serial_port_reopen(serial_port_t *port);

/* Close; safe to call twice. */
void serial_port_close(serial_port_t *port);

/* fd for poll(), or -1 when closed / none. */
int serial_port_fd(const serial_port_t *port);

/* Read/write as the table entries; -EBADF when closed. On a negative
 * return last_error is set ("PATH: read: <strerror>"). */
ssize_t serial_port_read(serial_port_t *port, uint8_t *buf, size_t cap);
ssize_t serial_port_write(serial_port_t *port, const uint8_t *buf, size_t len);

/* Drop pending input. Returns 0 or -errno. */
int serial_port_flush_input(serial_port_t *port);

/* Text of the last failure; "" when none. Never NULL. */
const char *serial_port_last_error(const serial_port_t *port);

/* ---- POSIX tty implementation ------------------------------------------ */

/* Context of serial_posix_ops; zero it (or call serial_posix_ctx_init). */
typedef struct {
    int fd; /* -1 when closed */
} serial_posix_t;

/* Set ctx closed (fd = -1). */
void serial_posix_ctx_init(serial_posix_t *ctx);

/* Raw tty: open(O_RDWR|O_NOCTTY|O_NONBLOCK|O_CLOEXEC), cfmakeraw, 8N1, no
 * RTS/CTS or XON/XOFF, CLOCAL|CREAD, VMIN=0 VTIME=0, input flushed. Baud
 * 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000,
 * 921600; others are -EINVAL. A pseudo-terminal accepts any of these and
 * ignores it. A path that is not a tty is -ENOTTY. read() detects a hang-up
 * (USB adapter unplugged, pty master closed) and returns -EIO/-ENODEV. */
extern const serial_ops_t serial_posix_ops;

/* termios speed constant for a baud in bit/s; false when unsupported. */
bool serial_baud_to_speed(uint32_t baud, speed_t *speed);

#endif /* SERIAL_PORT_H */
