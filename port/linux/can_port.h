/*
 * can_port.h - the CAN device toward the Victron GX, as a const vtable plus
 * a context (architecture.md "Platform boundary"; house-style.md rule 4).
 *
 * Backends (one .c file each):
 *   socketcan:IFACE      Linux SocketCAN raw socket (can_socketcan.c)
 *   slcan:TTY[@BAUD]     LAWICEL/slcan adapter on a tty (can_slcan.c);
 *                        BAUD defaults to 115200 (ignored by USB CDC and ptys)
 *   log:FILE[@IFACE]     append every TX frame to FILE as a can-utils
 *                        `candump -L` line, `log:-` = stdout (can_log.c);
 *                        IFACE (default "vcan0", so `canplayer` can replay
 *                        onto a vcan) names the interface in each line
 *
 * Everything is NON-BLOCKING and driven by the caller's poll() loop:
 *   - poll canport_fd() for POLLIN (skip when -1); on ANY revents (POLLIN,
 *     POLLHUP, POLLERR) call canport_recv() until it returns
 *     CANPORT_ERR_EMPTY or an error;
 *   - call canport_tick() every loop turn (or at least every ~100 ms): it
 *     reopens lost devices (about once a second) and flushes pending output;
 *   - canport_send() never waits: a frame that cannot go out now is dropped
 *     and counted, with a result saying why.
 * The fd can change across reconnects: read canport_fd() every loop turn.
 * Only 11-bit data frames travel through this interface (vcan_frame_t);
 * extended, remote and error frames are counted as ignored.
 *
 * Loopback mode (hardware.can.mode "loopback", canport_open_mode): a bench
 * test without a bus. Every frame sent is queued here and returned by
 * canport_recv, and none is handed to a bus: socketcan and slcan never
 * write it (slcan also opens the adapter listen-only, "L" instead of "O",
 * so it does not even acknowledge other nodes' frames); the log back-end,
 * which is a record and not a bus, still writes it. The device is opened
 * as in normal mode, and what it receives is still returned.
 */
#ifndef CAN_PORT_H
#define CAN_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "victron_can.h"

#define CANPORT_ERROR_MAX 256u

/* Interval between reopen attempts of a lost device. */
#define CANPORT_RETRY_MS 1000u

/* The one error enum of the CAN port layer; 0 = OK. */
typedef enum {
    CANPORT_OK = 0,
    CANPORT_ERR_EMPTY,        /* recv: no frame available now (not a failure) */
    CANPORT_ERR_ARG,          /* NULL pointer, or a table missing a required entry */
    CANPORT_ERR_SPEC,         /* device spec string not understood */
    CANPORT_ERR_OPEN,         /* the device could not be opened (see last error) */
    CANPORT_ERR_UNSUPPORTED,  /* the platform lacks the feature (no SocketCAN in the kernel) */
    CANPORT_ERR_FRAME,        /* send: id above 0x7FF or dlc above 8 */
    CANPORT_ERR_AGAIN,        /* send: device busy, frame dropped */
    CANPORT_ERR_DISCONNECTED, /* device lost (or not yet back): frame dropped, reconnect pending */
    CANPORT_ERR_BUS_OFF,      /* send: controller is bus-off, frame dropped */
    CANPORT_ERR_IO,           /* an I/O error other than the above */
    CANPORT_ERR_NO_MEM,       /* context allocation failed */
    CANPORT_ERR_COUNT_        /* number of codes; not an error */
} canport_err_t;

/* Static English text for an error code; never NULL. */
const char *canport_strerror(canport_err_t err);

/* CAN controller state (ISO 11898 fault confinement), from SocketCAN error
 * frames. Backends without that knowledge report CANPORT_BUS_UNKNOWN. */
typedef enum {
    CANPORT_BUS_UNKNOWN = 0,
    CANPORT_BUS_ACTIVE,  /* error counters below 96 */
    CANPORT_BUS_WARNING, /* a counter at or above 96 */
    CANPORT_BUS_PASSIVE, /* a counter at or above 128 */
    CANPORT_BUS_OFF      /* TX counter above 255: the controller left the bus */
} canport_bus_state_t;

/* Short name of a bus state ("active", "bus-off"...); never NULL. */
const char *canport_bus_state_name(canport_bus_state_t state);

/* Counters since open; they survive reconnects. */
typedef struct {
    uint32_t tx_frames;    /* frames handed to the device */
    uint32_t tx_drops;     /* frames dropped: device busy, disconnected or bus-off */
    uint32_t tx_errors;    /* writes that failed with an I/O error */
    uint32_t rx_frames;    /* 11-bit data frames returned by recv */
    uint32_t rx_ignored;   /* extended, remote frames; adapter replies/commands */
    uint32_t rx_malformed; /* undecodable input (bad slcan line, short read) */
    uint32_t rx_errors;    /* read failures, adapter error replies (slcan BEL) */
    uint32_t reconnects;   /* successful reopens after a loss */
    uint32_t error_frames; /* SocketCAN error frames seen */
    uint32_t bus_off_count;
    canport_bus_state_t bus_state;
    uint8_t tx_error_counter; /* TEC as last reported by the controller */
    uint8_t rx_error_counter; /* REC */
    bool connected;           /* the device is open right now */
} canport_stats_t;

/* hardware.can.mode. */
typedef enum {
    CANPORT_MODE_NORMAL = 0,
    CANPORT_MODE_LOOPBACK, /* frames come back to the sender, none reaches a bus */
} canport_mode_t;

/* Frames loopback mode holds between a send and the recv that returns
 * them; more than this are dropped and counted (tx_drops). One tick of the
 * bridge sends at most BRG_MAX_FRAMES_PER_TICK (20). */
#define CANPORT_LOOPBACK_QUEUE 64u

/* Backend operations. ctx is the backend's state, passed back unchanged.
 * Entries marked REQUIRED must be non-NULL; canport_init refuses the table
 * otherwise. */
typedef struct {
    /* Backend name as used in the spec ("socketcan", "slcan", "log"). */
    const char *name;
    /* Bytes canport_open allocates (zeroed) for a ctx of this backend. */
    size_t ctx_size;
    /* REQUIRED. Open with arg = the spec after "name:". Must not block.
     * Returns CANPORT_OK, or an error with the reason in last_error. */
    canport_err_t (*open)(void *ctx, const char *arg, uint64_t now_ms);
    /* REQUIRED. Close everything; safe after a failed open and twice. */
    void (*close)(void *ctx);
    /* REQUIRED. fd to poll for POLLIN, or -1 (none, or disconnected). */
    int (*fd)(const void *ctx);
    /* REQUIRED. Queue one frame without blocking: CANPORT_OK, or _FRAME,
     * _AGAIN, _DISCONNECTED, _BUS_OFF, _IO (frame dropped, counted). */
    canport_err_t (*send)(void *ctx, const vcan_frame_t *frame, uint64_t now_ms);
    /* REQUIRED. Return the next available 11-bit data frame: CANPORT_OK
     * with *out filled, CANPORT_ERR_EMPTY when none is waiting, or
     * _DISCONNECTED/_IO when the device failed (reconnect scheduled). Reads
     * at most what is available; ignored input is consumed and counted. */
    canport_err_t (*recv)(void *ctx, vcan_frame_t *out, uint64_t now_ms);
    /* OPTIONAL. Periodic work: reconnects, pending output. */
    void (*tick)(void *ctx, uint64_t now_ms);
    /* REQUIRED. Copy the counters and state. */
    void (*get_stats)(const void *ctx, canport_stats_t *out);
    /* REQUIRED. Text of the last failure ("" when none); never NULL. */
    const char *(*last_error)(const void *ctx);
    /* OPTIONAL. Called before open in loopback mode: the device must then
     * not take part in the bus (slcan: open listen-only). */
    void (*set_listen_only)(void *ctx);
    /* The device is a record of the frames, not a bus (log): loopback mode
     * still hands it every frame. */
    bool records_only;
} canport_ops_t;

struct canport_loop;

/* A CAN port: a table and its context. */
typedef struct {
    const canport_ops_t *ops;
    void *ctx;
    bool owns_ctx; /* ctx was allocated by canport_open and is freed by canport_close */
    struct canport_loop *loop; /* loopback mode state; NULL in normal mode */
} canport_t;

extern const canport_ops_t canport_socketcan_ops;
extern const canport_ops_t canport_slcan_ops;
extern const canport_ops_t canport_log_ops;

/* Bind a table and a caller-owned context (e.g. a test fake) without
 * opening anything. Returns CANPORT_OK, or CANPORT_ERR_ARG when port/ops is
 * NULL or a REQUIRED entry is missing. */
canport_err_t canport_init(canport_t *port, const canport_ops_t *ops, void *ctx);

/* Parse spec ("socketcan:can0", "slcan:/dev/ttyACM0@115200", "log:-"),
 * allocate the backend context and open it. On failure writes a one-line
 * message naming the spec and the reason into err (err_cap bytes; err may
 * be NULL) and leaves port unbound. Returns CANPORT_OK, _ERR_SPEC,
 * _ERR_OPEN, _ERR_UNSUPPORTED or _ERR_NO_MEM. */
canport_err_t canport_open(canport_t *port, const char *spec, uint64_t now_ms, char *err,
                           size_t err_cap);

/* canport_open in the given mode. Loopback also makes an eventfd that
 * canport_fd returns (readable while looped frames wait), so the caller's
 * poll() wakes for them even on back-ends without an fd of their own. The
 * device's own fd is then not polled; its frames are read at every
 * canport_recv all the same. Same results as canport_open, plus
 * _ERR_NO_MEM / _ERR_OPEN when the queue or the eventfd cannot be made. */
canport_err_t canport_open_mode(canport_t *port, const char *spec, canport_mode_t mode,
                                uint64_t now_ms, char *err, size_t err_cap);

/* CANPORT_MODE_LOOPBACK when the port runs in loopback mode. */
canport_mode_t canport_mode(const canport_t *port);

/* Close the device and free a context canport_open allocated. Safe twice. */
void canport_close(canport_t *port);

/* Thin wrappers over the table; a port without a table gives
 * CANPORT_ERR_ARG / -1 / zeroed stats / "". */
int canport_fd(const canport_t *port);
canport_err_t canport_send(canport_t *port, const vcan_frame_t *frame, uint64_t now_ms);
canport_err_t canport_recv(canport_t *port, vcan_frame_t *out, uint64_t now_ms);
void canport_tick(canport_t *port, uint64_t now_ms);
void canport_get_stats(const canport_t *port, canport_stats_t *out);
const char *canport_last_error(const canport_t *port);

/* ---- SocketCAN specifics (can_socketcan.c) ------------------------------ */

struct can_frame;

/* Makes a ready socket for iface: bound, carrying struct can_frame records.
 * Returns the fd, or -errno with a reason in err. The default opener makes
 * a PF_CAN/SOCK_RAW/CAN_RAW socket with error frames enabled; tests hand
 * in one that returns an end of socketpair(AF_UNIX, SOCK_SEQPACKET). */
typedef int (*canport_socket_opener_t)(void *user, const char *iface, char *err, size_t err_cap);

/* Open the socketcan backend on iface with a custom opener (NULL = the
 * default). The opener is called again for every reconnect. The context is
 * allocated as by canport_open. Returns as canport_open. */
canport_err_t canport_socketcan_open_with(canport_t *port, const char *iface,
                                          canport_socket_opener_t opener, void *user,
                                          uint64_t now_ms, char *err, size_t err_cap);

/* vcan_frame_t -> struct can_frame (standard id, no flags, unused bytes 0).
 * Returns CANPORT_OK, CANPORT_ERR_ARG or CANPORT_ERR_FRAME (id/dlc range). */
canport_err_t canport_socketcan_to_can_frame(const vcan_frame_t *in, struct can_frame *out);

/* struct can_frame -> vcan_frame_t. Returns CANPORT_OK for an 11-bit data
 * frame; CANPORT_ERR_FRAME for error, remote and extended frames and a
 * length above 8 (out untouched); CANPORT_ERR_ARG for NULL. */
canport_err_t canport_socketcan_from_can_frame(const struct can_frame *in, vcan_frame_t *out);

/* Apply one SocketCAN error frame (can_id has CAN_ERR_FLAG) to stats:
 * bus-off, controller warning/passive/active, restarted, TX/RX error
 * counters (data[6]/data[7]). Returns true when the frame was an error
 * frame. Pure; exposed for tests. */
bool canport_socketcan_apply_error(const struct can_frame *err_frame, canport_stats_t *stats);

/* How long bus-off may persist before the backend closes and reopens its
 * socket (the controller itself is restarted by the kernel's restart-ms). */
#define CANPORT_BUS_OFF_REOPEN_MS 5000u

#endif /* CAN_PORT_H */
