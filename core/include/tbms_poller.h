/*
 * tbms_poller.h - the TinyBMS request schedule (architecture.md "poller").
 *
 * Pure: the caller passes the time and the bytes that arrived; the poller
 * says what to send and when it wants to be called again. It never talks
 * to a device. One transaction is in flight at a time (the link is
 * point-to-point, half-duplex in practice).
 *
 * Blocks read, all with Modbus 0x03 (big-endian words, full 8-bit PL, one
 * frame for up to 127 registers; tinybms-uart.md section 3):
 *
 *   block     registers   when
 *   LIVE      0..55       every poll_interval_us (default 100 ms: the BMS samples at 10 Hz)
 *   SETTINGS  300..343    at start, then every settings_period_us
 *   VERSION   500..509    at start, then every settings_period_us
 *   STATS     100..117    every stats_period_us
 *   EVENTS    200..297    every events_period_us
 *
 * A response that does not come within response_timeout_us is resent,
 * byte for byte, up to max_attempts in all: a sleeping TinyBMS wakes on
 * the first request and answers only the second (tinybms-uart.md section 1).
 * Input is flushed before every attempt so a late answer to an earlier
 * attempt cannot be taken for the next one.
 *
 * Settings writes (tbms_poller_write): one queued Modbus 0x10 write at a
 * time, sent before any due read, with the same timeout and resend rules
 * (a resent 0x10 rewrites the same values: idempotent). Once the BMS
 * acknowledges it, the same registers are read back with 0x03 and the
 * SETTINGS block is made due, so the caller can verify and the bridge's
 * settings snapshot follows. The outcome is reported once through
 * tbms_poller_take_write_result(), apart from the block results.
 */
#ifndef TBMS_POLLER_H
#define TBMS_POLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tbms_err.h"
#include "tbms_frame.h"

typedef enum {
    TBMS_BLOCK_LIVE = 0,
    TBMS_BLOCK_SETTINGS,
    TBMS_BLOCK_VERSION,
    TBMS_BLOCK_STATS,
    TBMS_BLOCK_EVENTS,
    TBMS_BLOCK_COUNT_
} tbms_block_t;

/* First register and register count of each block. */
uint16_t tbms_block_first(tbms_block_t b);
uint16_t tbms_block_count(tbms_block_t b);
/* Static lower-case name ("live", "settings"...), "?" for a bad value. */
const char *tbms_block_name(tbms_block_t b);

typedef struct {
    uint32_t poll_interval_us;    /* LIVE period; >= 20 ms */
    uint32_t response_timeout_us; /* per attempt; >= 5 ms */
    uint8_t max_attempts;         /* 1..10; 3 covers a sleep wake-up with margin */
    uint32_t settings_period_us;  /* SETTINGS and VERSION refresh */
    uint32_t stats_period_us;     /* 0 = never read STATS */
    uint32_t events_period_us;    /* 0 = never read EVENTS */
} tbms_poller_config_t;

/* 100 ms live, 250 ms timeout, 3 attempts, settings 60 s, stats 10 s, events 30 s. */
void tbms_poller_default_config(tbms_poller_config_t *cfg);

/* TBMS_OK or TBMS_ERR_RANGE/TBMS_ERR_ARG for values outside the comments above. */
tbms_err_t tbms_poller_check_config(const tbms_poller_config_t *cfg);

/* UART statistics (issue "UART statistics"); counters only grow. */
typedef struct {
    uint32_t polls;            /* transactions started (first attempts) */
    uint32_t success;          /* transactions answered with good data */
    uint32_t failures;         /* transactions abandoned after max_attempts */
    uint32_t retries;          /* resends after a timeout, NACK or bad frame */
    uint32_t timeouts;         /* attempts that got no complete answer in time */
    uint32_t crc_errors;       /* frames with a bad CRC */
    uint32_t malformed;        /* impossible frame headers */
    uint32_t truncated;        /* answers cut short */
    uint32_t nacks;            /* AA 00 <cmd> <err> answers */
    uint32_t unexpected;       /* good frames that did not answer the request */
    uint32_t garbage_bytes;    /* bytes skipped outside frames (broadcast) */
    uint32_t latency_last_us;  /* request sent -> answer complete, last success */
    uint32_t latency_avg_us;   /* exponential average, weight 1/8 */
    uint32_t latency_max_us;   /* largest since start */
} tbms_poller_stats_t;

/* Most registers one tbms_poller_write() carries: the whole settings block. */
#define TBMS_POLL_WRITE_MAX 44u
/* Longest request the poller sends: a 0x10 write of TBMS_POLL_WRITE_MAX words. */
#define TBMS_POLL_TX_MAX (9u + 2u * TBMS_POLL_WRITE_MAX)

/* What to transmit. Flush the receive side first when flush_rx is set. */
typedef struct {
    bool flush_rx;
    size_t len;
    uint8_t bytes[TBMS_POLL_TX_MAX];
} tbms_poll_tx_t;

/* Outcome of a settings write (tbms_poller_write). */
typedef struct {
    tbms_err_t err;    /* TBMS_OK: acknowledged and read back; else why it stopped */
    bool written;      /* the BMS acknowledged the 0x10 write */
    uint8_t nack_code; /* the BMS's code when err is TBMS_ERR_NACK */
    uint16_t addr;     /* first register written */
    uint16_t count;    /* registers written */
    uint16_t values[TBMS_POLL_WRITE_MAX];   /* what was written */
    uint16_t readback[TBMS_POLL_WRITE_MAX]; /* read back after the write (err == TBMS_OK) */
} tbms_poll_write_result_t;

/* A completed read: the block's registers in host order. */
typedef struct {
    bool done;           /* false: nothing completed during this call */
    bool ok;             /* true: regs hold the block; false: abandoned */
    tbms_block_t block;
    uint16_t first;      /* first register address */
    uint16_t count;      /* registers in regs[] */
    tbms_err_t last_err; /* why the last attempt failed (when !ok) */
    uint8_t nack_code;   /* the BMS's code for TBMS_ERR_NACK */
    uint16_t regs[TBMS_MODBUS_READ_MAX];
} tbms_poll_result_t;

/* Registers of all blocks together (56 + 44 + 10 + 18 + 98). */
#define TBMS_POLL_WORDS_TOTAL 226u

typedef struct {
    tbms_poller_config_t cfg;
    tbms_parser_t parser;
    tbms_poller_stats_t stats;
    uint64_t due_us[TBMS_BLOCK_COUNT_];
    bool busy;
    bool live_seen;       /* a LIVE read has succeeded: LIVE goes first from now on */
    uint64_t block_due_us; /* when the block in flight was due */
    tbms_block_t block;   /* in flight when busy */
    uint8_t attempt;      /* 1-based attempt number in flight */
    uint64_t sent_us;     /* when the attempt in flight was sent */
    tbms_err_t last_err;  /* why the previous attempt failed */
    uint8_t last_nack;
    tbms_poll_tx_t pending; /* frame of the transaction in flight */
    uint8_t op;           /* what is in flight: a block read, the write, its read-back */
    uint8_t write_state;  /* idle, queued, in flight, read-back due, result ready */
    tbms_poll_write_result_t write; /* the queued/in-flight write and its outcome */
    /* Last good contents of each block, for a register view; see tbms_poller_words(). */
    uint16_t words[TBMS_POLL_WORDS_TOTAL];
    uint64_t words_us[TBMS_BLOCK_COUNT_]; /* when each block was last read; 0 = never */
} tbms_poller_t;

/* Starts the schedule: VERSION and SETTINGS first, then LIVE at once. */
tbms_err_t tbms_poller_init(tbms_poller_t *p, const tbms_poller_config_t *cfg, uint64_t now_us);

/*
 * Takes a new configuration without losing state (counters, the
 * transaction in flight, the words read): each block's next read moves
 * to no later than now + its new period; a block whose period becomes 0
 * is no longer read, one whose period was 0 is read now. Errors as
 * tbms_poller_check_config; on error nothing changes.
 */
tbms_err_t tbms_poller_reconfigure(tbms_poller_t *p, const tbms_poller_config_t *cfg,
                                   uint64_t now_us);

/*
 * Advances time: handles a timed-out attempt (resend or give up) and starts
 * the next due transaction. Returns true and fills *tx when bytes must be
 * sent now; *res reports a transaction abandoned during this call.
 */
bool tbms_poller_step(tbms_poller_t *p, uint64_t now_us, tbms_poll_tx_t *tx,
                      tbms_poll_result_t *res);

/*
 * Feeds received bytes (any chunking). When they complete the answer to
 * the transaction in flight, *res is filled (done = ok = true). A NACK or
 * bad frame for the transaction ends the attempt early: the next step()
 * resends. All n bytes are consumed.
 */
void tbms_poller_feed(tbms_poller_t *p, const uint8_t *data, size_t n, uint64_t now_us,
                      tbms_poll_result_t *res);

/* Absolute time at which step() next has something to do. */
uint64_t tbms_poller_next_us(const tbms_poller_t *p);

/* Counters, including the stream parser's. */
tbms_poller_stats_t tbms_poller_stats(const tbms_poller_t *p);

/* Makes a block due at once (e.g. SETTINGS after a user's write). */
void tbms_poller_request(tbms_poller_t *p, tbms_block_t b, uint64_t now_us);

/*
 * Shifts the LIVE cadence (by less than half a poll interval) so that a
 * live read starts at target_us: the bridge uses it to have fresh values
 * just before 0x351/0x356 go out. No effect when target_us <= now_us.
 */
void tbms_poller_align_live(tbms_poller_t *p, uint64_t target_us, uint64_t now_us);

/* True while a LIVE read is waiting for its answer. */
bool tbms_poller_live_in_flight(const tbms_poller_t *p);

/*
 * Queues a write of values[0..count) to registers addr..addr+count-1 with
 * Modbus 0x10 (1 <= count <= TBMS_POLL_WRITE_MAX). It is sent at the next
 * step() once the transaction in flight (if any) ends. This only frames
 * and schedules: check every value with tbms_reg_check_write() first.
 * Returns TBMS_OK, TBMS_ERR_ARG (NULL, count 0 or too large) or
 * TBMS_ERR_UNEXPECTED when a write is already queued or in flight, or its
 * result has not been taken yet.
 */
tbms_err_t tbms_poller_write(tbms_poller_t *p, uint16_t addr, const uint16_t *values,
                             uint16_t count, uint64_t now_us);

/* True while a write is queued or in flight (its result not ready yet). */
bool tbms_poller_write_pending(const tbms_poller_t *p);

/*
 * The outcome of the last write, once: true and *out filled when the write
 * finished (acknowledged and read back, or abandoned after max_attempts on
 * either phase, err saying why), after which a new write may be queued.
 */
bool tbms_poller_take_write_result(tbms_poller_t *p, tbms_poll_write_result_t *out);

/*
 * The last good contents of block b (tbms_block_count(b) words, register
 * tbms_block_first(b) first) and, in *at_us (may be NULL), when they were
 * read. NULL when the block was never read. Valid until the next feed().
 */
const uint16_t *tbms_poller_words(const tbms_poller_t *p, tbms_block_t b, uint64_t *at_us);

#endif /* TBMS_POLLER_H */
