/*
 * esp32_keys.h - which of the seed's ESP32 keys a configuration sets.
 *
 * cfg_t.esp32 holds the ESP32-only keys (config.h); a key counts as given
 * only while its bit in cfg_t.esp32.present is set, bit i being the i-th
 * entry of config.c's esp32_keys[] table. The numbers below follow that
 * table; tests/unit/test_esp32_board.c parses a document with each key
 * and checks its bit, so the two cannot drift apart silently.
 *
 * Header only: an enum and one inline test, no state, no cost.
 */
#ifndef ESP32_KEYS_H
#define ESP32_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

typedef enum {
    ESP32_KEY_WIFI_MODE = 0,      /* wifi.mode */
    ESP32_KEY_WIFI_STA_SSID,      /* wifi.sta_ssid */
    ESP32_KEY_WIFI_STA_PASSWORD,  /* wifi.sta_password */
    ESP32_KEY_WIFI_STA_HOSTNAME,  /* wifi.sta_hostname */
    ESP32_KEY_WIFI_STA_IP_MODE,   /* wifi.sta_ip_mode */
    ESP32_KEY_WIFI_STA_STATIC_IP, /* wifi.sta_static_ip */
    ESP32_KEY_WIFI_STA_GATEWAY,   /* wifi.sta_gateway */
    ESP32_KEY_WIFI_STA_SUBNET,    /* wifi.sta_subnet */
    ESP32_KEY_WIFI_AP_ENABLED,    /* wifi.ap_fallback.enabled */
    ESP32_KEY_WIFI_AP_SSID,       /* wifi.ap_fallback.ssid */
    ESP32_KEY_WIFI_AP_PASSWORD,   /* wifi.ap_fallback.password */
    ESP32_KEY_WIFI_AP_CHANNEL,    /* wifi.ap_fallback.channel */
    ESP32_KEY_UART_RX_PIN,        /* hardware.uart.rx_pin */
    ESP32_KEY_UART_TX_PIN,        /* hardware.uart.tx_pin */
    ESP32_KEY_CAN_TX_PIN,         /* hardware.can.tx_pin */
    ESP32_KEY_CAN_RX_PIN,         /* hardware.can.rx_pin */
    ESP32_KEY_CAN_TERMINATION,    /* hardware.can.termination */
    ESP32_KEY_SERIAL_BAUDRATE,    /* logging.serial_baudrate */
    ESP32_KEY_ENABLE_SPIFFS,      /* advanced.enable_spiffs */
    ESP32_KEY_ENABLE_OTA,         /* advanced.enable_ota */
    ESP32_KEY_STACK_SIZE_BYTES,   /* advanced.stack_size_bytes */
    ESP32_KEY_COUNT_
} esp32_key_t;

/* True when cfg sets the ESP32 key k (false for NULL cfg or a bad k). */
static inline bool esp32_key_present(const cfg_t *cfg, esp32_key_t k)
{
    return cfg != NULL && (unsigned)k < (unsigned)ESP32_KEY_COUNT_ &&
           (cfg->esp32.present & ((uint32_t)1u << (unsigned)k)) != 0u;
}

#endif /* ESP32_KEYS_H */
