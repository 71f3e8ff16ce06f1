/*
 * can_text.h - one readable line per Victron CAN-BMS frame, for the demo,
 * the logs and the CAN monitor. Uses the core's decoders only.
 */
#ifndef CAN_TEXT_H
#define CAN_TEXT_H

#include <stddef.h>

#include "victron_can.h"

/*
 * Writes e.g. "0x351 limits  CVL 55.2 V  CCL 80.0 A  DCL 150.0 A  DVL 46.4 V"
 * into buf (always NUL-terminated when cap > 0). Unknown ids and frames a
 * decoder rejects are shown as raw bytes with the reason. Returns buf.
 */
char *can_text_describe(const vcan_frame_t *f, char *buf, size_t cap);

/* The frame's short name ("limits", "soc", "alarms"...), "unknown" otherwise. */
const char *can_text_name(uint16_t id);

#endif /* CAN_TEXT_H */
