/*
 * venus_items.h - the Venus OS D-Bus battery service's items, built from the
 * typed status (status.h) for every platform that publishes the battery on
 * a GX's D-Bus (../shared/spec/venus-dbus.md: "Paths", "Who reads what").
 *
 *   status_t + venus_config_t --> venus_items_build --> venus_item_t[] (path, value, text)
 *
 * Pure and portable: no D-Bus here (port/linux/venus_dbus.c puts the items
 * on the bus), no heap, no I/O. The battery is the status's top level (with
 * several packs: the bank, with its module counts).
 *
 * ---- Stale rule -------------------------------------------------------------
 *
 *   While the TinyBMS data is not valid (status.data_valid false: waiting
 *   for the first read, or stale) every measurement, every /Info/... item,
 *   the cell ids, /Io/..., /Balancing and every alarm except /Alarms/BmsCable
 *   are invalid, and /Connected is 0. Venus keeps using a BMS whose
 *   /Connected is 0 but whose limits are valid (venus-dbus.md), so the
 *   limits must go, and a last reading's alarm levels no longer say
 *   anything. What stays: the identity items (/Mgmt/..., /DeviceInstance,
 *   /ProductId, /ProductName, versions, /Serial, /CustomName), what the
 *   TinyBMS settings say (/InstalledCapacity, /System/NrOfCellsPerBattery),
 *   and the module counts, which then say what is known: no module online
 *   (offline = the number of packs), blocking counts invalid.
 *
 * ---- Paths, types (d / i / s), units and GetText ----------------------------
 *
 *   Identity (never invalidated by the stale rule)
 *     /Mgmt/ProcessName, /Mgmt/ProcessVersion, /Mgmt/Connection   s  from venus_config_t
 *     /DeviceInstance  i   vc->device_instance
 *     /ProductId       i   vc->product_id (text "0xBA7B")
 *     /ProductName     s   "TinyBMS", with several packs "TinyBMS bank"
 *     /FirmwareVersion s   status.bms.firmware ("5 (internal 1234)"), invalid until read
 *     /HardwareVersion s   status.bms.hardware ("2.1"), invalid until read (several
 *                          packs: pack 1's, as the status has them)
 *     /Connected       i   1 while status.data_valid, else 0
 *     /Serial          s   vc->serial; invalid when "" (the status holds no serial)
 *     /CustomName      s   vc->custom_name, "" allowed; the only writeable item
 *   Measurements (V, A, W, degC, %, Ah, s; current positive = charging)
 *     /Dc/0/Voltage d "53.10V"   /Dc/0/Current d "10.50A"   /Dc/0/Power d "558W"
 *     /Dc/0/Temperature d "21.5°C" (mean of the used sensors)
 *     /Soc d "55.0%"   /Soh d "99.0%" (invalid until the TinyBMS reports it)
 *     /InstalledCapacity d "100.0Ah"  the TinyBMS capacity (reg 306; a bank: the
 *                                     installed total); invalid when 0 or unread
 *     /Capacity d          remaining: SOC x the capacity online (one pack: the
 *                          installed one; a bank: its online members')
 *     /ConsumedAmphours d  the capacity online minus the remaining, NEGATIVE
 *                          (Ah taken out since full: the BMV/SmartShunt sign)
 *     /TimeToGo d "2h 05m" seconds to empty at the present current, only while
 *                          discharging (current < 0) with a known remaining
 *                          capacity; invalid otherwise (the GUI then shows no
 *                          time). Not averaged: it follows the current. The
 *                          TinyBMS's own estimate (reg 34-35) is not in the status.
 *   DVCC (the same limits as CAN 0x351)
 *     /Info/MaxChargeVoltage d V (CVL), /Info/MaxChargeCurrent d A (CCL),
 *     /Info/MaxDischargeCurrent d A (DCL), /Info/BatteryLowVoltage d V (DVL)
 *   System
 *     /System/NrOfCellsPerBattery i  series cells (settings, else the reading)
 *     /System/MinCellVoltage, MaxCellVoltage d "3.301V"
 *     /System/MinVoltageCellId, MaxVoltageCellId s "C3"; several packs "P2C13"
 *        (see "Cell ids" below)
 *     /System/MinCellTemperature, MaxCellTemperature d  the lowest / highest
 *        temperature sensor used (status.temps)
 *     /System/NrOfModulesOnline, Offline, BlockingCharge, BlockingDischarge i
 *        status.bank (0x372): one pack online 1, offline 0
 *   IO (0/1)
 *     /Io/AllowToCharge  CCL > 0     /Io/AllowToDischarge  DCL > 0
 *     /Io/AllowToBalance 1: the TinyBMS balances on its own whenever a cell
 *        needs it; nothing the bridge reads forbids it
 *   Alarms (0 ok, 1 warning, 2 alarm, from status.alarms; invalid when the
 *   condition is not judged, i.e. not in status.alarms)
 *     HighVoltage            <- high_voltage (pack AND cell over-voltage)
 *     LowVoltage             <- low_voltage  (pack AND cell under-voltage)
 *     HighCellVoltage, LowCellVoltage   invalid: the bridge judges the cell
 *                               limits inside high/low_voltage, as CAN 0x35A
 *                               carries them; one condition is reported once
 *     LowSoc                 invalid: not judged
 *     HighChargeCurrent      <- high_charge_current
 *     HighDischargeCurrent   <- high_discharge_current
 *     CellImbalance          <- cell_imbalance
 *     InternalFailure        <- bms_internal (TinyBMS fault 0x9B = 2; a lost
 *                               sensor, or with several packs a pack offline,
 *                               silent, joining or blocking = 1)
 *     HighChargeTemperature  <- high_temperature_charge
 *     LowChargeTemperature   <- low_temperature_charge
 *     HighTemperature        <- high_temperature
 *     LowTemperature         <- low_temperature
 *     BmsCable (ours, never invalid): 0 while the data is valid, except 1
 *        when one pack of several has stale data; 2 when the data went stale;
 *        while waiting for the first read, 2 when the serial port is not open
 *        or VENUS_BMS_CABLE_GRACE_MS have passed since start, else 0.
 *     (general, contactor and short_circuit have no Venus path.)
 *   Cells
 *     /Voltages/Cell1..N d "3.301V"  one pack: its N cells (as many as the
 *        reading has). With several packs there is no such path: cell k of
 *        one pack is not in parallel with cell k of another, so one list
 *        would show nothing real (the web UI and MQTT show each pack's).
 *     /Voltages/Sum d   sum of the cells (one pack; invalid with several)
 *     /Voltages/Diff d  highest minus lowest cell
 *     /Balancing i      1 while any cell balances (one pack; with several
 *                       any cell of a pack with valid data)
 *
 * ---- Cell ids ---------------------------------------------------------------
 *
 *   The status holds no cell ids (the bridge's 0x374/0x375 text is not in
 *   status_t), so they are derived here with the bridge's own rule: the
 *   first cell with the lowest (highest) voltage, "C<n>"; with several
 *   packs among the packs whose data is valid, the pack whose lowest
 *   (highest) cell is the extreme, first pack first, "P<p>C<n>". This is
 *   the 0x374/0x375 text except where the bank counts a pack as fresh and
 *   the status not (or back), for one read.
 *
 * Order: fixed, the same paths for the same cell count; the identity items
 * come first.
 */
#ifndef VENUS_ITEMS_H
#define VENUS_ITEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define VENUS_PATH_MAX    48u  /* "/System/MaxCellTemperature" and the like, NUL included */
#define VENUS_TEXT_MAX    64u  /* GetText of one item, NUL included */
#define VENUS_ITEMS_MAX   128u /* every path of one battery, 16 cells included */
#define VENUS_ITEMS_FIXED 56u  /* the paths other than /Voltages/Cell<n> */

/* Waiting for a first TinyBMS answer longer than this since start raises
 * /Alarms/BmsCable: the longest stale limit (tinybms.bms_timeout_ms). */
#define VENUS_BMS_CABLE_GRACE_MS 30000u

typedef enum {
    VENUS_INVALID = 0, /* on the wire: an empty int32 array ("ai", no element) */
    VENUS_DOUBLE,      /* "d" */
    VENUS_INT,         /* "i" */
    VENUS_STRING,      /* "s" */
} venus_type_t;

typedef struct {
    char path[VENUS_PATH_MAX]; /* "/Dc/0/Voltage" */
    venus_type_t type;
    double d;
    int32_t i;
    char s[VENUS_TEXT_MAX];
    char text[VENUS_TEXT_MAX]; /* GetText: "53.10V", "---" when invalid */
    bool writeable;            /* only /CustomName */
} venus_item_t;

/* What the status does not hold (victron.dbus.* and the program). Strings
 * are UTF-8 (config.c checks custom_name); longer ones are cut. */
typedef struct {
    int32_t device_instance; /* the one localsettings gave (venus_dbus negotiates it) */
    int32_t product_id;      /* victron.dbus.product_id; not a brand id systemcalc special-cases */
    char custom_name[VENUS_TEXT_MAX];
    char process_name[VENUS_TEXT_MAX];    /* /Mgmt/ProcessName */
    char process_version[VENUS_TEXT_MAX]; /* /Mgmt/ProcessVersion */
    char connection[VENUS_TEXT_MAX];      /* /Mgmt/Connection: "TinyBMS on /dev/ttyUSB0" */
    char serial[VENUS_TEXT_MAX];          /* /Serial; "" = invalid (the status has none) */
} venus_config_t;

/*
 * Fills items[0..n) with every path of the battery from st and vc, in a
 * fixed order (the same paths for the same cell count), and returns n
 * (VENUS_ITEMS_FIXED + the cells: at most VENUS_ITEMS_MAX); 0 when an
 * argument is NULL or cap is too small (nothing written then).
 * Cost: one pass over the cells and conditions (of each pack); no heap.
 */
size_t venus_items_build(const status_t *st, const venus_config_t *vc, venus_item_t *items,
                         size_t cap);

/* The item with this path in items[0..n), or NULL. */
const venus_item_t *venus_items_find(const venus_item_t *items, size_t n, const char *path);

#endif /* VENUS_ITEMS_H */
