/*
 * venus_dbus.h - the battery as a Venus OS D-Bus service
 * (com.victronenergy.battery.<suffix>), over libdbus-1, driven from the
 * daemon's poll() loop: no thread of its own (../shared/spec/venus-dbus.md).
 *
 *   status_t --venus_dbus_publish--> venus_items_build --> items --> GetValue/GetItems/ItemsChanged
 *
 *   loop turn:  n = venus_dbus_pollfds(vd, pfd + k, cap)   fds libdbus wants watched
 *               wait <= venus_dbus_next_us(vd) - now       its timeouts, queued messages, retries
 *               poll(...)
 *               venus_dbus_handle(vd, pfd + k, n, now)     I/O, at most VENUS_DBUS_BUDGET messages
 *
 * What it does on its own:
 *   - connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS when set, else
 *     unix:path=/var/run/dbus/system_bus_socket), every call asynchronous;
 *   - negotiates the device instance with com.victronenergy.settings
 *     (AddSetting "Devices/<uid>/ClassAndVrmInstance" = "battery:<preferred>",
 *     then GetValue), and follows the user changing it; no settings service
 *     within VENUS_DBUS_SETTINGS_TIMEOUT_MS: the preferred instance (logged),
 *     and the settings service is asked again when it appears (or restarts:
 *     Venus starts its services in no fixed order);
 *   - claims the bus name only once a status made every path answer and the
 *     instance is known (systemcalc ignores for good a battery whose
 *     /DeviceInstance does not answer when its name appears): the first
 *     status with valid TinyBMS data (so the cell paths are there too), or
 *     any status VENUS_DBUS_CLAIM_WAIT_MS after start (a BMS that does not
 *     answer still shows, /Connected 0); a changed instance releases the
 *     name and claims it again, so systemcalc rescans;
 *   - bus lost (dbus-daemon restart): logged once, retried every
 *     VENUS_DBUS_RETRY_MS, re-announced; the rest of the bridge is untouched;
 *   - /CustomName is the only writeable path (kept in memory for this run).
 *
 * Costs: one heap block (about 60 KB: two item tables) plus libdbus's own;
 * per handle, at most VENUS_DBUS_BUDGET incoming messages, and none while
 * more than VENUS_DBUS_MAX_OUTGOING bytes wait to be written; libdbus reads
 * at most VENUS_DBUS_MAX_RECEIVED bytes ahead. A client flooding calls is
 * answered in turn, never buffered without bound.
 */
#ifndef VENUS_DBUS_H
#define VENUS_DBUS_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "venus_items.h"

#define VENUS_DBUS_MAX_FDS             4u   /* pollfd entries venus_dbus_pollfds may fill */
#define VENUS_DBUS_BUDGET              256u /* incoming messages handled per venus_dbus_handle */
#define VENUS_DBUS_MAX_OUTGOING        (1u << 20) /* bytes queued for the bus before reading pauses */
#define VENUS_DBUS_MAX_RECEIVED        (1u << 20) /* bytes libdbus reads ahead of dispatching */
#define VENUS_DBUS_SETTINGS_TIMEOUT_MS 3000u      /* per call to com.victronenergy.settings */
#define VENUS_DBUS_RETRY_MS            2000u      /* bus connect retry period */
#define VENUS_DBUS_CLAIM_WAIT_MS       10000u     /* longest wait for valid data before claiming */

typedef struct venus_dbus venus_dbus_t;

typedef struct {
    /* Service name suffix (com.victronenergy.battery.<suffix>): D-Bus name
     * characters only ([A-Za-z0-9_-], not starting with a digit); see
     * venus_dbus_suffix(). */
    char suffix[64];
    int32_t preferred_instance; /* asked of localsettings; used when it does not answer */
    /* The rest of the items' configuration (venus_items.h); its
     * device_instance is ignored (negotiated). */
    venus_config_t items;
} venus_dbus_config_t;

/*
 * The suffix for a TinyBMS device path: its file name ("/dev/ttyUSB0" ->
 * "ttyUSB0"; "/dev/pts/3" -> "pts3": a name part may not start with a
 * digit), other characters mapped to '_'; "simulator" for "simulator".
 * Writes at most cap bytes (NUL included; cap > 0).
 */
void venus_dbus_suffix(const char *device, char *out, size_t cap);

/*
 * Copies cfg; nothing is opened here: the first venus_dbus_handle at or
 * after now_us connects. The only step that may wait is the connect() to
 * the bus socket, immediate for the local unix socket of a system bus;
 * authentication, Hello and every call after it go through the loop.
 * Returns NULL when cfg is NULL, the suffix is not a valid name part, or
 * memory runs out (nothing to free then).
 */
venus_dbus_t *venus_dbus_create(const venus_dbus_config_t *cfg, uint64_t now_us);

/* Releases the bus name (flushed before returning), closes, frees. NULL ok. */
void venus_dbus_destroy(venus_dbus_t *vd);

/*
 * Fills out[0..n) with the fds libdbus wants watched now (events set,
 * revents 0) and returns n <= min(cap, VENUS_DBUS_MAX_FDS). Call once per
 * loop turn, then pass the same entries, after poll, to venus_dbus_handle.
 */
size_t venus_dbus_pollfds(venus_dbus_t *vd, struct pollfd *out, size_t cap);

/* The monotonic time (us) by which venus_dbus_handle wants to run:
 * now when messages are queued, else libdbus's next timeout or the next
 * connect retry; UINT64_MAX when nothing is due. */
uint64_t venus_dbus_next_us(const venus_dbus_t *vd);

/*
 * After poll(): handles the revents of pfd[0..n) (what venus_dbus_pollfds
 * filled), expired timeouts, at most VENUS_DBUS_BUDGET incoming messages
 * (method calls answered, settings replies and signals), and the
 * connection's states (connect, negotiate, claim, reconnect).
 */
void venus_dbus_handle(venus_dbus_t *vd, const struct pollfd *pfd, size_t n, uint64_t now_us);

/*
 * Rebuilds the items from st (venus_items_build) and, while the name is
 * held, emits one ItemsChanged from "/" with every item that changed (and
 * a PropertiesChanged from each changed leaf). The first call makes the
 * paths answer. Call once per status (the service's publish_status).
 */
void venus_dbus_publish(venus_dbus_t *vd, const status_t *st);

/* Current state for logs and tests: "connecting", "negotiating",
 * "waiting for items", "claiming", "announced", "disconnected". */
const char *venus_dbus_state_name(const venus_dbus_t *vd);

#endif /* VENUS_DBUS_H */
