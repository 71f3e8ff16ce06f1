/*
 * budget.c - the firmware's big structures, measured for the ESP32 build.
 *
 * scripts/esp32-check compiles this file to an object with the firmware's
 * flags and defines (-DBANK_MAX_PACKS=1 -DHISTORY_CAPACITY=360, RV32 ilp32,
 * the ESP-IDF headers) and reads each mem_* object's size with nm -S: every
 * mem_NAME below is an array of sizeof(NAME) bytes, so the sizes printed are
 * the compiler's own sizeof, padding included. Nothing here runs.
 *
 * The hub's structure is private to hub.c, so hub.c is compiled here as part
 * of this file to see it (its functions come along and are not used).
 */
#include "fw.h"
#include "log.h"
#include "service.h"

#include "../../posix/hub.c"

#define MEM(name, type) unsigned char mem_##name[sizeof(type)]

/* Held for the whole run by the bridge task (svc_t contains the next six;
 * two samples_t rings and a scratch array of the same size). */
MEM(svc_t, svc_t);
MEM(svc_t__cfg_t, cfg_t);
MEM(svc_t__brg_t, brg_t);
MEM(svc_t__history_t, history_t);
MEM(svc_t__status_t, status_t);
MEM(svc_t__samples_t, samples_t);
MEM(brg_t__bank_t, bank_t);

/* The hub (heap, hub_create): a status_t copy, two cfg_t, the CAN ring. */
MEM(hub, struct hub);
MEM(hub__status_t, status_t);
MEM(hub__can_ring, hub_can_entry_t[HUB_CAN_RING]);

/* app_main's fw_t (a cfg_t read at boot). */
MEM(fw_t, fw_t);

/* One line of the log ring (port/posix/log.c holds LOG_RING_LINES of them). */
MEM(log_entry_t, log_entry_t);
MEM(log_ring, log_entry_t[LOG_RING_LINES]);
