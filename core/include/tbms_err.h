/*
 * tbms_err.h - the one error enum of the TinyBMS library (frames, register
 * catalog, decoding). 0 = OK (house-style.md rule 5).
 *
 * TinyBMS protocol error codes (the ERR byte of `AA 00 <cmd> <err>`) are not
 * in this space: a NACK is reported as TBMS_ERR_NACK and the BMS's own code
 * travels in the parsed frame's `nack_code` field.
 */
#ifndef TBMS_ERR_H
#define TBMS_ERR_H

typedef enum {
    TBMS_OK = 0,
    TBMS_ERR_ARG,          /* NULL pointer or argument outside what the call accepts */
    TBMS_ERR_BUF_SMALL,    /* caller's output buffer cannot hold the result */
    TBMS_ERR_RANGE,        /* register address/count outside the protocol's limits */
    TBMS_ERR_CRC,          /* frame complete but its CRC-16/MODBUS does not match */
    TBMS_ERR_TRUNCATED,    /* frame ended before the length its header announces */
    TBMS_ERR_MALFORMED,    /* header inconsistent: bad length field, unknown command */
    TBMS_ERR_NACK,         /* the BMS answered AA 00 <cmd> <err>; see nack_code */
    TBMS_ERR_UNEXPECTED,   /* a valid frame, but not the answer to the request made */
    TBMS_ERR_INVALID_DATA, /* register values no real BMS produces (NaN, > 16 cells...) */
    TBMS_ERR_INTERLOCK,    /* a setting breaks a TinyBMS interlock (e.g. 300 < 315 - 10) */
    TBMS_ERR_READ_ONLY,    /* the register cannot be written */
    TBMS_ERR_TIMEOUT,      /* no complete answer within the response timeout */
    TBMS_ERR_COUNT_        /* number of codes; not an error */
} tbms_err_t;

/* Static English text for an error code; never NULL. */
const char *tbms_strerror(tbms_err_t err);

#endif /* TBMS_ERR_H */
