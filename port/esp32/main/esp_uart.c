/*
 * The TinyBMS UART (driver/uart.h). The driver's ISR moves bytes between
 * the FIFO and two ring buffers; the bridge task waits on the receive ring
 * (fw_uart_read), which is its one blocking wait per turn.
 */
#include "driver/uart.h"

#include "fw_port.h"
#include "log.h"

/* The largest TinyBMS answer is a register block of about 260 bytes; the
 * ring holds several in case the task is late. The TX ring takes a whole
 * request (TBMS_POLL_TX_MAX) so uart_write_bytes never waits for the wire.
 * Both must exceed the hardware FIFO (128 bytes). */
#define RX_RING_BYTES 1024
#define TX_RING_BYTES 256

static uart_port_t port = UART_NUM_MAX; /* not open */

esp_err_t fw_uart_open(int uart_num, int rx_pin, int tx_pin, int32_t baud)
{
    const uart_config_t cfg = {
        .baud_rate = (int)baud,
        .data_bits = UART_DATA_8_BITS,
        .parity = UART_PARITY_DISABLE,
        .stop_bits = UART_STOP_BITS_1,
        .flow_ctrl = UART_HW_FLOWCTRL_DISABLE,
        .source_clk = UART_SCLK_DEFAULT,
    };
    uart_port_t p = (uart_port_t)uart_num;
    esp_err_t e = uart_driver_install(p, RX_RING_BYTES, TX_RING_BYTES, 0, NULL, 0);
    if (e == ESP_OK) {
        e = uart_param_config(p, &cfg);
    }
    if (e == ESP_OK) {
        e = uart_set_pin(p, tx_pin, rx_pin, UART_PIN_NO_CHANGE, UART_PIN_NO_CHANGE);
    }
    if (e != ESP_OK) {
        log_error("TinyBMS UART%d (RX GPIO%d, TX GPIO%d): %s", uart_num, rx_pin, tx_pin,
                  esp_err_to_name(e));
        (void)uart_driver_delete(p);
        return e;
    }
    port = p;
    return ESP_OK;
}

int fw_uart_write(const uint8_t *data, size_t n)
{
    if (port == UART_NUM_MAX) {
        return -1;
    }
    return uart_write_bytes(port, data, n);
}

size_t fw_uart_read(uint8_t *buf, size_t cap, uint32_t wait_ticks)
{
    if (port == UART_NUM_MAX || cap == 0u) {
        return 0;
    }
    int r = uart_read_bytes(port, buf, 1u, wait_ticks);
    if (r <= 0) {
        return 0;
    }
    size_t got = 1u;
    size_t more = 0;
    if (uart_get_buffered_data_len(port, &more) == ESP_OK && more > 0u) {
        size_t want = more < cap - got ? more : cap - got;
        r = uart_read_bytes(port, buf + got, (uint32_t)want, 0);
        if (r > 0) {
            got += (size_t)r;
        }
    }
    return got;
}

void fw_uart_flush_input(void)
{
    if (port != UART_NUM_MAX) {
        (void)uart_flush_input(port);
    }
}
