/*
 * bridge_config.h - from the configuration file's cfg_t to the core's
 * brg_config_t (units converted, nothing else decided here).
 */
#ifndef BRIDGE_CONFIG_H
#define BRIDGE_CONFIG_H

#include "bridge.h"
#include "config.h"

/* Fills *out from a validated configuration. */
void bridge_config_from_cfg(const cfg_t *cfg, brg_config_t *out);

#endif /* BRIDGE_CONFIG_H */
