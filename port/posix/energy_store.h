/*
 * energy_store.h - the 0x378 energy counters on disk, so they survive
 * restarts (seed-system.md 9 item 8: the seed kept them in RAM only).
 *
 * File: <data dir>/energy.json, {"charged_mwh": N, "discharged_mwh": N}.
 * Saved atomically like config_store.c: temporary file, fsync, rename,
 * fsync of the directory, so a power cut leaves the old or the new file.
 */
#ifndef ENERGY_STORE_H
#define ENERGY_STORE_H

#include <stdbool.h>
#include <stdint.h>

/* Reads path into *charged_mwh / *discharged_mwh. Returns false (outputs
 * untouched) when the file is missing, unreadable or malformed. */
bool energy_load(const char *path, uint64_t *charged_mwh, uint64_t *discharged_mwh);

/* Writes the counters to path atomically. Returns false on any I/O error
 * (errno tells why); the previous file is then left as it was. */
bool energy_save(const char *path, uint64_t charged_mwh, uint64_t discharged_mwh);

/*
 * A writer thread for the saves, so the fsyncs of an atomic save never
 * stall the bridge loop (poll() stays its only wait). energy_writer_post
 * hands over the newest counters and returns at once (a save not yet
 * started is replaced: only the latest values matter); the thread saves
 * them and logs a failure. energy_writer_stop saves what is pending and
 * joins the thread. NULL from start when the thread cannot be made.
 */
typedef struct energy_writer energy_writer_t;

energy_writer_t *energy_writer_start(const char *path);
void energy_writer_post(energy_writer_t *w, uint64_t charged_mwh, uint64_t discharged_mwh);
/* Saves done and failed so far (for tests and diagnostics). */
void energy_writer_counts(energy_writer_t *w, uint64_t *saved, uint64_t *failed);
void energy_writer_stop(energy_writer_t *w);

#endif /* ENERGY_STORE_H */
