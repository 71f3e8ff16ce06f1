/*
 * bridge_config.h - from the configuration file's cfg_t to the core's
 * brg_config_t (units converted, nothing else decided here).
 */
#ifndef BRIDGE_CONFIG_H
#define BRIDGE_CONFIG_H

#include "bridge.h"
#include "config.h"

/* Fills *out from a validated configuration: the one path from the file
 * to the bridge, at start and at every hot reload. */
void bridge_config_from_cfg(const cfg_t *cfg, brg_config_t *out);

/* The inverse, for the configuration's defaults (cfg_defaults): writes
 * every cfg_t field that bridge_config_from_cfg reads from *in, so the
 * core's brg_default_config is the one source of those defaults. */
void bridge_config_to_cfg(const brg_config_t *in, cfg_t *out);

#endif /* BRIDGE_CONFIG_H */
