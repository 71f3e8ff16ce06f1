/*
 * victron_can.h - Victron "CAN-bus BMS" frames: encode what the bridge
 * sends to a GX device, decode every frame of the protocol (for tests, the
 * CLI and the UI's CAN monitor).
 *
 * Protocol truth: /work/shared/spec/victron-can-bms.md (cited below as
 * "A.2" etc.). CAN 2.0A, 11-bit ids, 500 kbit/s, every numeric field
 * little-endian (A.1). The 0x35A alarm/warning frame lives in
 * victron_alarms.h; this header includes it, so one include gives the whole
 * protocol.
 *
 * Conventions shared by every function below:
 *
 *  - Physical values travel in integers with the unit in the name:
 *    _mv millivolt, _da 0.1 A, _dc 0.1 degC, _ah ampere-hour, _wh watt-hour,
 *    _pct percent, _cpct 0.01 %. Input fields are wider than their wire
 *    field (int32_t, int64_t for energy) so that an out-of-range value can
 *    be seen and SATURATED to the wire field's limit instead of wrapping: a
 *    7000 V charge voltage limit is sent as 0xFFFF (6553.5 V), a negative one
 *    as 0, never as a huge unsigned number.
 *  - Scaling rounds to the nearest wire step, a half step up (every scaled
 *    wire field is >= 0 once saturated): 53 249 mV -> 532 x 0.1 V,
 *    53 250 mV -> 533 x 0.1 V; -2.5 degC = 270.5 K -> 271 K.
 *  - Encoders always produce a DLC 8 frame, unused bytes zero (as the real
 *    BYD capture, A.1 and B). They fail only on a NULL pointer or an invalid
 *    enum/id; on failure the output frame is left untouched.
 *  - Decoders check the id, reject a DLC above 8 and a DLC too short for the
 *    fields they return (minimum DLCs from A.1), ignore bytes past the
 *    fields, and return the wire values as sent (no clamping), so a monitor
 *    shows what a peer really transmitted. On failure the output is left
 *    untouched.
 *  - Every call is pure: no state, no heap, no I/O, O(1) time and stack.
 */
#ifndef VICTRON_CAN_H
#define VICTRON_CAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------
 * Frame, errors, ids
 * ------------------------------------------------------------------------ */

#define VCAN_DLC_MAX 8u     /* classical CAN */
#define VCAN_ID_MAX  0x7FFu /* 11-bit standard ids only (A.1) */

/* One classical CAN frame with an 11-bit id. dlc is 0..8; data[dlc..7] is
 * ignored by every decoder and zeroed by every encoder. */
typedef struct {
    uint16_t id;
    uint8_t dlc;
    uint8_t data[8];
} vcan_frame_t;

/* The one error enum of the Victron CAN library; 0 = OK. */
typedef enum {
    VCAN_OK = 0,
    VCAN_ERR_ARG,   /* NULL pointer, or an enum value outside its range (e.g. a
                       0x35A pair state other than UNSUPPORTED/ACTIVE/OK) */
    VCAN_ERR_ID,    /* frame id is not the one this call handles, not a known
                       id (vcan_decode), or not an 11-bit id */
    VCAN_ERR_DLC,   /* DLC above 8, or too short for the fields decoded */
    VCAN_ERR_COUNT_ /* number of codes; not an error */
} vcan_err_t;

/* Static English text for an error code; never NULL (an unknown code gives
 * "unknown error"). */
const char *vcan_strerror(vcan_err_t err);

/*
 * Frame ids (victron-can-bms.md A.2 for BMS -> GX, A.5 for GX -> BMS).
 *
 *   id    name                       sent by  min DLC to decode
 *   0x351 VCAN_ID_LIMITS             BMS      8   CVL, CCL, DCL, DVL
 *   0x355 VCAN_ID_SOC                BMS      4   SOC, SOH (+ hi-res SOC at 6)
 *   0x356 VCAN_ID_BATTERY            BMS      6   voltage, current, temperature
 *   0x35A VCAN_ID_ALARMS             BMS      8   victron_alarms.h
 *   0x35E VCAN_ID_MANUFACTURER       BMS      0   ASCII, up to 8 chars
 *   0x35F VCAN_ID_IDENTITY           BMS      6   model, firmware, capacity
 *   0x370 VCAN_ID_NAME_1             BMS      0   BMS name chars 1..8
 *   0x371 VCAN_ID_NAME_2             BMS      0   BMS name chars 9..16
 *   0x372 VCAN_ID_MODULES            BMS      8   module counts
 *   0x373 VCAN_ID_CELLS              BMS      8   min/max cell mV, min/max K
 *   0x374 VCAN_ID_MIN_CELL_V_NAME    BMS      0   ASCII id of the lowest cell
 *   0x375 VCAN_ID_MAX_CELL_V_NAME    BMS      0   ASCII id of the highest cell
 *   0x376 VCAN_ID_MIN_TEMP_NAME      BMS      0   ASCII id of the coldest sensor
 *   0x377 VCAN_ID_MAX_TEMP_NAME      BMS      0   ASCII id of the hottest sensor
 *   0x378 VCAN_ID_ENERGY             BMS      8   energy in / out, 100 Wh
 *   0x379 VCAN_ID_CAPACITY           BMS      2   installed capacity, Ah
 *   0x382 VCAN_ID_FAMILY             BMS      0   ASCII battery family
 *   0x305 VCAN_ID_KEEPALIVE          GX only  0   raw bytes; never transmit
 *   0x307 VCAN_ID_HANDSHAKE          GX only  0   raw bytes + "VIC"; never transmit
 */
#define VCAN_ID_LIMITS          0x351u
#define VCAN_ID_SOC             0x355u
#define VCAN_ID_BATTERY         0x356u
#define VCAN_ID_ALARMS          0x35Au
#define VCAN_ID_MANUFACTURER    0x35Eu
#define VCAN_ID_IDENTITY        0x35Fu
#define VCAN_ID_NAME_1          0x370u
#define VCAN_ID_NAME_2          0x371u
#define VCAN_ID_MODULES         0x372u
#define VCAN_ID_CELLS           0x373u
#define VCAN_ID_MIN_CELL_V_NAME 0x374u
#define VCAN_ID_MAX_CELL_V_NAME 0x375u
#define VCAN_ID_MIN_TEMP_NAME   0x376u
#define VCAN_ID_MAX_TEMP_NAME   0x377u
#define VCAN_ID_ENERGY          0x378u
#define VCAN_ID_CAPACITY        0x379u
#define VCAN_ID_FAMILY          0x382u
#define VCAN_ID_KEEPALIVE       0x305u
#define VCAN_ID_HANDSHAKE       0x307u

/* The 0x35A types are needed by vcan_decoded_t below. victron_alarms.h
 * declares its types before it includes this header, so either header may
 * be included first. */
#include "victron_alarms.h"

/* ------------------------------------------------------------------------
 * 0x351 charge and discharge limits (A.2)
 *
 *   byte  0-1   2-3   4-5   6-7
 *         CVL   CCL   DCL   DVL
 *         un16  sn16  sn16  un16
 *         0.1V  0.1A  0.1A  0.1V
 *
 * CCL and DCL are signed on the wire but Victron wants them >= 0 (A.2):
 * the encoder sends 0..3276.7 A, a negative input saturates to 0. The
 * decoder returns them signed (some Pylontech variants send DCL negative).
 * DVL reaches the Multi as BatteryLowVoltage (A.2, A.9 item 3).
 * ------------------------------------------------------------------------ */
typedef struct {
    int32_t cvl_mv; /* charge voltage limit;    wire 0..6553.5 V, rounded down to 0.1 V */
    int32_t ccl_da; /* charge current limit;    wire 0..3276.7 A when encoding */
    int32_t dcl_da; /* discharge current limit; wire 0..3276.7 A when encoding */
    int32_t dvl_mv; /* discharge voltage limit; wire 0..6553.5 V, rounded up to 0.1 V */
} vcan_limits_t;

/* Builds 0x351 from *in. Returns VCAN_OK, or VCAN_ERR_ARG if a pointer is NULL. */
vcan_err_t vcan_encode_limits(const vcan_limits_t *in, vcan_frame_t *out);

/* Reads 0x351 (DLC >= 8). Returns VCAN_OK, VCAN_ERR_ARG (NULL), VCAN_ERR_ID
 * (id is not 0x351) or VCAN_ERR_DLC. */
vcan_err_t vcan_decode_limits(const vcan_frame_t *in, vcan_limits_t *out);

/* ------------------------------------------------------------------------
 * 0x355 state of charge and health (A.2)
 *
 *   byte  0-1   2-3   4-5                    6-7
 *         SOC   SOH   hi-res SOC (optional)  0 (reserved)
 *         un16  un16  un16
 *         1 %   1 %   0.01 %
 *
 * SMA: the hi-res SOC is "used instead of SOC if present". BYD sends 0
 * there, so the decoder treats a DLC of 4..5 and a hi-res value of 0 alike
 * as "not present" (soc_hires_present = false). The encoder writes 0 when
 * soc_hires_present is false.
 * ------------------------------------------------------------------------ */
typedef struct {
    int32_t soc_pct;        /* encoder saturates to 0..100 */
    int32_t soh_pct;        /* encoder saturates to 0..100 */
    bool soc_hires_present; /* soc_hires_cpct is meaningful */
    int32_t soc_hires_cpct; /* 0.01 %; encoder saturates to 0..10000 */
} vcan_soc_t;

/* Builds 0x355 from *in. Returns VCAN_OK, or VCAN_ERR_ARG if a pointer is NULL. */
vcan_err_t vcan_encode_soc(const vcan_soc_t *in, vcan_frame_t *out);

/* Reads 0x355 (DLC >= 4; hi-res SOC read when DLC >= 6 and non-zero).
 * Returns VCAN_OK, VCAN_ERR_ARG, VCAN_ERR_ID or VCAN_ERR_DLC. */
vcan_err_t vcan_decode_soc(const vcan_frame_t *in, vcan_soc_t *out);

/* ------------------------------------------------------------------------
 * 0x356 battery voltage, current, temperature (A.2)
 *
 *   byte  0-1      2-3      4-5          6-7
 *         voltage  current  temperature  0 (reserved)
 *         sn16     sn16     sn16
 *         0.01 V   0.1 A    0.1 degC
 *
 * Current: + = charging, - = discharging. The voltage is signed in SMA's
 * table but some readers take it unsigned (A.2), so the encoder sends only
 * 0..327.67 V, which both read the same; the decoder reads it signed.
 * ------------------------------------------------------------------------ */
typedef struct {
    int32_t voltage_mv; /* wire 0..327.67 V when encoding, rounded to 10 mV */
    int32_t current_da; /* wire -3276.8..3276.7 A */
    int32_t temp_dc;    /* wire -3276.8..3276.7 degC */
} vcan_battery_t;

/* Builds 0x356 from *in. Returns VCAN_OK, or VCAN_ERR_ARG if a pointer is NULL. */
vcan_err_t vcan_encode_battery(const vcan_battery_t *in, vcan_frame_t *out);

/* Reads 0x356 (DLC >= 6). Returns VCAN_OK, VCAN_ERR_ARG, VCAN_ERR_ID or VCAN_ERR_DLC. */
vcan_err_t vcan_decode_battery(const vcan_frame_t *in, vcan_battery_t *out);

/* ------------------------------------------------------------------------
 * 0x35F identity (A.2)
 *
 *   byte  0-1    2         3         4-5       6-7
 *         model  fw major  fw minor  capacity  0 (reserved)
 *         un16   u8        u8        un16 Ah
 *
 * Firmware bytes travel as they are: BYD's `01 17`, shown as "v1.17",
 * decodes to major 1, minor 0x17. Peers disagree on the capacity: BYD sends
 * the available Ah, diyBMS the nominal Ah (A.9 item 4).
 * ------------------------------------------------------------------------ */
typedef struct {
    uint16_t model; /* product code, e.g. BYD 0x694C ("Li") */
    uint8_t fw_major;
    uint8_t fw_minor;
    int32_t capacity_ah; /* encoder saturates to 0..65535 */
} vcan_identity_t;

/* Builds 0x35F from *in. Returns VCAN_OK, or VCAN_ERR_ARG if a pointer is NULL. */
vcan_err_t vcan_encode_identity(const vcan_identity_t *in, vcan_frame_t *out);

/* Reads 0x35F (DLC >= 6). Returns VCAN_OK, VCAN_ERR_ARG, VCAN_ERR_ID or VCAN_ERR_DLC. */
vcan_err_t vcan_decode_identity(const vcan_frame_t *in, vcan_identity_t *out);

/* ------------------------------------------------------------------------
 * 0x372 module counts (A.2)
 *
 *   byte  0-1     2-3              4-5                 6-7
 *         online  blocking charge  blocking discharge  offline
 *         un16 each
 * ------------------------------------------------------------------------ */
typedef struct {
    int32_t online; /* each: encoder saturates to 0..65535 */
    int32_t blocking_charge;
    int32_t blocking_discharge;
    int32_t offline;
} vcan_modules_t;

/* Builds 0x372 from *in. Returns VCAN_OK, or VCAN_ERR_ARG if a pointer is NULL. */
vcan_err_t vcan_encode_modules(const vcan_modules_t *in, vcan_frame_t *out);

/* Reads 0x372 (DLC >= 8). Returns VCAN_OK, VCAN_ERR_ARG, VCAN_ERR_ID or VCAN_ERR_DLC. */
vcan_err_t vcan_decode_modules(const vcan_frame_t *in, vcan_modules_t *out);

/* ------------------------------------------------------------------------
 * 0x373 cell extremes (A.2)
 *
 *   byte  0-1          2-3          4-5        6-7
 *         min cell     max cell     min temp   max temp
 *         un16 1 mV    un16 1 mV    un16 1 K   un16 1 K
 *
 * Kelvin = degC + 273 (the offset diyBMS, bsc_fw and the JBD decoder use;
 * A.9 item 5), so BYD's 287 K is 14.0 degC both ways. Encoding rounds
 * 0.1 degC to the nearest kelvin; below -273.0 degC it saturates to 0 K.
 * ------------------------------------------------------------------------ */
typedef struct {
    int32_t min_cell_mv; /* encoder saturates to 0..65535 */
    int32_t max_cell_mv;
    int32_t min_temp_dc; /* encoder saturates to 0..65535 K */
    int32_t max_temp_dc;
} vcan_cells_t;

/* Builds 0x373 from *in. Returns VCAN_OK, or VCAN_ERR_ARG if a pointer is NULL. */
vcan_err_t vcan_encode_cells(const vcan_cells_t *in, vcan_frame_t *out);

/* Reads 0x373 (DLC >= 8; all four fields are returned, so all must be
 * present). Temperatures come back as (K - 273) x 10.
 * Returns VCAN_OK, VCAN_ERR_ARG, VCAN_ERR_ID or VCAN_ERR_DLC. */
vcan_err_t vcan_decode_cells(const vcan_frame_t *in, vcan_cells_t *out);

/* ------------------------------------------------------------------------
 * 0x378 energy counters (A.2)
 *
 *   byte  0-3               4-7
 *         energy charged    energy discharged
 *         un32 100 Wh       un32 100 Wh
 * ------------------------------------------------------------------------ */
typedef struct {
    int64_t charged_wh; /* encoder rounds to 100 Wh, saturates to 0..0xFFFFFFFF x 100 Wh */
    int64_t discharged_wh;
} vcan_energy_t;

/* Builds 0x378 from *in. Returns VCAN_OK, or VCAN_ERR_ARG if a pointer is NULL. */
vcan_err_t vcan_encode_energy(const vcan_energy_t *in, vcan_frame_t *out);

/* Reads 0x378 (DLC >= 8). Returns VCAN_OK, VCAN_ERR_ARG, VCAN_ERR_ID or VCAN_ERR_DLC. */
vcan_err_t vcan_decode_energy(const vcan_frame_t *in, vcan_energy_t *out);

/* ------------------------------------------------------------------------
 * 0x379 installed capacity (A.2)
 *
 *   byte  0-1       2-7
 *         capacity  0
 *         un16 Ah
 * ------------------------------------------------------------------------ */
typedef struct {
    int32_t capacity_ah; /* encoder saturates to 0..65535 */
} vcan_capacity_t;

/* Builds 0x379 from *in. Returns VCAN_OK, or VCAN_ERR_ARG if a pointer is NULL. */
vcan_err_t vcan_encode_capacity(const vcan_capacity_t *in, vcan_frame_t *out);

/* Reads 0x379 (DLC >= 2). Returns VCAN_OK, VCAN_ERR_ARG, VCAN_ERR_ID or VCAN_ERR_DLC. */
vcan_err_t vcan_decode_capacity(const vcan_frame_t *in, vcan_capacity_t *out);

/* ------------------------------------------------------------------------
 * ASCII frames: 0x35E manufacturer, 0x370/0x371 BMS name (two halves),
 * 0x374..0x377 ids of the extreme cells/sensors, 0x382 battery family (A.2)
 *
 *   byte  0    1    ...  7
 *         c0   c1   ...  c7     up to 8 chars, NUL-padded
 *
 * Venus picks battery quirks from the leading part of 0x35E and sometimes
 * 0x382 (A.5): "PYLON", "BYD", "LG", "DYNESS" trigger forced settings, so
 * the bridge should send a neutral, unique name.
 *
 * Characters outside printable ASCII (0x20..0x7E) are replaced by
 * VCAN_TEXT_REPLACEMENT, both when encoding and when decoding.
 * ------------------------------------------------------------------------ */
#define VCAN_TEXT_MAX         8u  /* chars in one ASCII frame */
#define VCAN_NAME_MAX         16u /* chars in the 0x370 + 0x371 name */
#define VCAN_TEXT_REPLACEMENT '?'

typedef struct {
    char text[VCAN_TEXT_MAX + 1u]; /* NUL-terminated */
} vcan_text_t;

typedef struct {
    char name[VCAN_NAME_MAX + 1u]; /* NUL-terminated */
} vcan_name_t;

/* True for the ids that carry one ASCII string: 0x35E, 0x370, 0x371,
 * 0x374..0x377, 0x382. */
bool vcan_is_text_id(uint16_t id);

/* Builds ASCII frame `id` from the NUL-terminated `text`. At most 8 chars
 * are sent; a longer text is truncated (only its first 8 chars are read).
 * Returns VCAN_OK, VCAN_ERR_ARG (NULL) or VCAN_ERR_ID (not a text id). */
vcan_err_t vcan_encode_text(uint16_t id, const char *text, vcan_frame_t *out);

/* Reads any ASCII frame (any DLC 0..8): the string ends at the first NUL or
 * at the DLC. Returns VCAN_OK, VCAN_ERR_ARG, VCAN_ERR_ID (not a text id) or
 * VCAN_ERR_DLC (DLC > 8). */
vcan_err_t vcan_decode_text(const vcan_frame_t *in, vcan_text_t *out);

/* Splits the NUL-terminated `name` over 0x370 (chars 1..8) and 0x371
 * (chars 9..16); a longer name is truncated to 16 chars, a name of 8 chars
 * or fewer gives an all-zero 0x371. Returns VCAN_OK or VCAN_ERR_ARG (NULL). */
vcan_err_t vcan_encode_name(const char *name, vcan_frame_t *part1, vcan_frame_t *part2);

/* Joins 0x370 and 0x371 into one name. The 0x371 half is appended only
 * when 0x370 holds 8 characters (no NUL, DLC 8). Returns VCAN_OK,
 * VCAN_ERR_ARG, VCAN_ERR_ID (part1 not 0x370 or part2 not 0x371) or
 * VCAN_ERR_DLC. */
vcan_err_t vcan_decode_name(const vcan_frame_t *part1, const vcan_frame_t *part2, vcan_name_t *out);

/* ------------------------------------------------------------------------
 * GX -> BMS frames, DECODE ONLY (A.5). The bridge must never transmit
 * 0x305 or 0x307: the GX sends them itself, and two nodes sending the same
 * id with different data cause bit errors. There are no encoders.
 *
 * 0x305 keepalive: zeros on BYD/Venus 3.00, but since Venus 3.00~26 it may
 * carry voltage/current/temperature; its layout is not confirmed, so the
 * bytes are returned raw.
 *
 * 0x307 handshake: `12 34 56 78 56 49 43 00`, "VIC" at bytes 4-6.
 * ------------------------------------------------------------------------ */
typedef struct {
    uint8_t dlc;     /* 0..8 as received */
    uint8_t data[8]; /* data[dlc..7] set to 0 */
} vcan_keepalive_t;

typedef struct {
    uint8_t dlc;     /* 0..8 as received */
    uint8_t data[8]; /* data[dlc..7] set to 0 */
    bool is_victron; /* DLC >= 7 and bytes 4-6 are 'V' 'I' 'C' */
} vcan_handshake_t;

/* Reads 0x305 (any DLC 0..8). Returns VCAN_OK, VCAN_ERR_ARG, VCAN_ERR_ID or
 * VCAN_ERR_DLC (DLC > 8). */
vcan_err_t vcan_decode_keepalive(const vcan_frame_t *in, vcan_keepalive_t *out);

/* Reads 0x307 (any DLC 0..8). Returns VCAN_OK, VCAN_ERR_ARG, VCAN_ERR_ID or
 * VCAN_ERR_DLC (DLC > 8). */
vcan_err_t vcan_decode_handshake(const vcan_frame_t *in, vcan_handshake_t *out);

/* ------------------------------------------------------------------------
 * Generic decoder
 * ------------------------------------------------------------------------ */

/* One decoded frame. `id` is the tag; the union member that is valid:
 *   0x351 limits    0x355 soc       0x356 battery   0x35A alarms
 *   0x35F identity  0x372 modules   0x373 cells     0x378 energy
 *   0x379 capacity  0x305 keepalive 0x307 handshake
 *   0x35E 0x370 0x371 0x374 0x375 0x376 0x377 0x382  text */
typedef struct {
    uint16_t id;
    union {
        vcan_limits_t limits;
        vcan_soc_t soc;
        vcan_battery_t battery;
        vcan_alarms_t alarms;
        vcan_identity_t identity;
        vcan_modules_t modules;
        vcan_cells_t cells;
        vcan_energy_t energy;
        vcan_capacity_t capacity;
        vcan_text_t text;
        vcan_keepalive_t keepalive;
        vcan_handshake_t handshake;
    };
} vcan_decoded_t;

/* Decodes any frame listed above by dispatching on its id to the matching
 * vcan_decode_*(). Returns that decoder's result, VCAN_ERR_ARG (NULL) or
 * VCAN_ERR_ID for an id this library does not know (the output is then
 * untouched). */
vcan_err_t vcan_decode(const vcan_frame_t *in, vcan_decoded_t *out);

#endif /* VICTRON_CAN_H */
