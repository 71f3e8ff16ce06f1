/*
 * The firmware's bridge task (port/esp32/main/bridge_task.c) on the host:
 * its loop turned by the test on a fake clock, with the real service, hub,
 * board rules and log, the TinyBMS simulator behind a fake UART and a fake
 * TWAI that records the frames. The ESP-IDF calls it makes are fakes
 * (tests/unit/fake_twai, the real headers' names; scripts/esp32-check
 * compiles bridge_task.c against the real ones); esp_uart.c, esp_can.c and
 * diag_esp.c are replaced by the fakes below (test_esp_can.c has the TWAI
 * glue, test_fw_diag.c the documents).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_task.c"

#include "esp32_keys.h"
#include "tbms_sim.h"

/* ---- clock, task, watchdog, restart ---- */

static uint64_t now_us = 1000000u;
static struct {
    int creates;
    uint32_t stack;
    UBaseType_t prio;
    int wdt_adds, wdt_resets, wdt_configs;
    esp_task_wdt_config_t wdt;
    shutdown_handler_t shutdown;
    int restarts;
    jmp_buf restart;
    bool restart_armed;
} sys;

int64_t esp_timer_get_time(void)
{
    return (int64_t)now_us;
}

const char *esp_err_to_name(esp_err_t code)
{
    return code == ESP_OK ? "ESP_OK" : "ESP_FAIL";
}

BaseType_t xTaskCreate(TaskFunction_t fn, const char *name, uint32_t stack_bytes, void *arg,
                       UBaseType_t priority, TaskHandle_t *created)
{
    (void)fn;
    (void)arg;
    assert_string_equal(name, "bridge");
    sys.creates++;
    sys.stack = stack_bytes;
    sys.prio = priority;
    *created = (TaskHandle_t)(void *)&sys;
    return pdPASS;
}

void vTaskDelay(TickType_t ticks)
{
    now_us += (uint64_t)ticks * 1000000u / configTICK_RATE_HZ;
}

esp_err_t esp_task_wdt_reconfigure(const esp_task_wdt_config_t *config)
{
    sys.wdt = *config;
    sys.wdt_configs++;
    return ESP_OK;
}

esp_err_t esp_task_wdt_init(const esp_task_wdt_config_t *config)
{
    return esp_task_wdt_reconfigure(config);
}

esp_err_t esp_task_wdt_add(TaskHandle_t task_handle)
{
    assert_null(task_handle); /* the bridge task subscribes itself */
    sys.wdt_adds++;
    return ESP_OK;
}

esp_err_t esp_task_wdt_reset(void)
{
    sys.wdt_resets++;
    return ESP_OK;
}

esp_err_t esp_register_shutdown_handler(shutdown_handler_t handle)
{
    sys.shutdown = handle;
    return ESP_OK;
}

void esp_restart(void)
{
    sys.restarts++;
    assert_true(sys.restart_armed);
    longjmp(sys.restart, 1);
}

/* ---- the UART with the simulator behind it ---- */

static tbms_sim_t sim;
static struct {
    int opens;
    int num, rx, tx;
    int32_t baud;
    uint8_t buf[8192];
    size_t n;
    int writes;
} uart;

static void uart_append(const uint8_t *b, size_t n)
{
    assert_true(uart.n + n <= sizeof uart.buf);
    memcpy(uart.buf + uart.n, b, n);
    uart.n += n;
}

esp_err_t fw_uart_open(int uart_num, int rx_pin, int tx_pin, int32_t baud)
{
    uart.opens++;
    uart.num = uart_num;
    uart.rx = rx_pin;
    uart.tx = tx_pin;
    uart.baud = baud;
    return ESP_OK;
}

int fw_uart_write(const uint8_t *data, size_t n)
{
    uint8_t out[2048];
    size_t len = 0;
    uart.writes++;
    assert_int_equal(tbms_sim_receive(&sim, data, n, now_us / 1000u, out, sizeof out, &len),
                     TBMS_SIM_OK);
    uart_append(out, len);
    return (int)n;
}

/* Nothing waiting: the wait passes on the clock, and the simulator sends
 * what became due meanwhile. */
size_t fw_uart_read(uint8_t *buf, size_t cap, uint32_t wait_ticks)
{
    if (uart.n == 0u && wait_ticks > 0u) {
        now_us += (uint64_t)wait_ticks * 1000000u / configTICK_RATE_HZ;
        uint8_t out[2048];
        size_t len = 0;
        assert_int_equal(tbms_sim_transmit(&sim, now_us / 1000u, out, sizeof out, &len),
                         TBMS_SIM_OK);
        uart_append(out, len);
    }
    size_t n = uart.n < cap ? uart.n : cap;
    memcpy(buf, uart.buf, n);
    memmove(uart.buf, uart.buf + n, uart.n - n);
    uart.n -= n;
    return n;
}

void fw_uart_flush_input(void)
{
    uart.n = 0;
}

/* ---- TWAI: frames recorded ---- */

static struct {
    int opens;
    int tx, rx;
    int32_t bitrate;
    bool loopback;
    size_t sent;
    size_t sent_351;
} can;

esp_err_t fw_can_open(int tx_pin, int rx_pin, int32_t bitrate, bool loopback)
{
    can.opens++;
    can.tx = tx_pin;
    can.rx = rx_pin;
    can.bitrate = bitrate;
    can.loopback = loopback;
    return ESP_OK;
}

bool fw_can_send(const vcan_frame_t *f)
{
    can.sent++;
    can.sent_351 += f->id == VCAN_ID_LIMITS;
    return true;
}

bool fw_can_recv(vcan_frame_t *f)
{
    (void)f;
    return false;
}

void fw_can_tick(uint64_t t)
{
    (void)t;
}

void fw_can_status(status_can_t *out)
{
    memset(out, 0, sizeof *out);
    out->connected = true;
    out->bus_state = "active";
    out->interface = "twai:tx=GPIO4,rx=GPIO5";
}

const char *fw_can_error(void)
{
    return "";
}

void fw_can_diag(fw_diag_input_t *in)
{
    (void)in;
}

/* ---- the other parts ---- */

static struct {
    int ticks;
    fw_health_t last;
    int mqtt_configs;
    int ota_confirms;
} parts;

bool fw_storage_info(uint64_t *total_bytes, uint64_t *used_bytes)
{
    (void)total_bytes;
    (void)used_bytes;
    return false;
}

const char *fw_reset_reason(void)
{
    return "power-on";
}

bool fw_reset_abnormal(void)
{
    return false;
}

void fw_diag_tick(hub_t *hub, const fw_health_t *h, uint64_t t)
{
    (void)hub;
    (void)t;
    parts.ticks++;
    parts.last = *h;
}

void fw_mqtt_configure(const cfg_t *cfg)
{
    (void)cfg;
    parts.mqtt_configs++;
}

void fw_ota_confirm(void)
{
    parts.ota_confirms++;
}

/* ---- fixture ---- */

static fw_t fw;

static int setup(void **st)
{
    (void)st;
    memset(&sys, 0, sizeof sys);
    memset(&uart, 0, sizeof uart);
    memset(&can, 0, sizeof can);
    memset(&parts, 0, sizeof parts);
    memset(&br, 0, sizeof br);
    have_energy = false;
    now_us = 1000000u;
    tbms_sim_config_t sc = tbms_sim_default_config();
    assert_int_equal(tbms_sim_init(&sim, &sc, now_us / 1000u), TBMS_SIM_OK);
    memset(&fw, 0, sizeof fw);
    fw.hub = hub_create();
    assert_non_null(fw.hub);
    cfg_defaults(&fw.cfg);
    fw.config_path = "/nonexistent/config.json";
    fw.version = "test";
    fw.web_running = true;
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    energy_writer_stop(br.energy);
    br.energy = NULL;
    hub_destroy(fw.hub);
    return 0;
}

/* fw_bridge_start, then what bridge_main does before its loop. */
static void start(void)
{
    assert_int_equal(fw_bridge_start(&fw), ESP_OK);
    watchdog_configure(&br.cfg);
}

static void run_until(uint64_t t_us)
{
    while (now_us < t_us) {
        if (br.running) {
            turn();
        } else {
            halted_turn();
        }
    }
}

static bool logged(const char *text)
{
    static log_entry_t e[LOG_RING_LINES];
    size_t n = log_recent(0, e, LOG_RING_LINES);
    for (size_t i = 0; i < n; i++) {
        if (strstr(e[i].text, text) != NULL) {
            return true;
        }
    }
    return false;
}

/* A server's blocking hub call on its own thread while the test turns the loop. */
typedef struct {
    cfg_t cfg;
    hub_config_outcome_t outcome;
    char why[256];
    hub_write_req_t wreq;
    hub_write_result_t wres;
    bool wok;
    bool write;
    atomic_bool done;
} server_t;

static void *server_main(void *arg)
{
    server_t *s = arg;
    if (s->write) {
        s->wok = hub_write(fw.hub, &s->wreq, 5000, &s->wres);
    } else {
        s->outcome = hub_apply_config(fw.hub, &s->cfg, 5000, NULL, s->why, sizeof s->why);
    }
    atomic_store(&s->done, true);
    return NULL;
}

static void serve(server_t *s)
{
    pthread_t t;
    atomic_init(&s->done, false);
    assert_int_equal(pthread_create(&t, NULL, server_main, s), 0);
    for (int i = 0; i < 100000 && !atomic_load(&s->done); i++) {
        if (br.running) {
            turn();
        } else {
            halted_turn();
        }
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL); /* let the server thread post and wake */
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(atomic_load(&s->done));
}

/* ---- tests ---- */

static void test_start_opens_the_chips_default_pins_and_the_task(void **st)
{
    (void)st;
    start();
    assert_true(br.running);
    assert_int_equal(uart.opens, 1);
    assert_int_equal(uart.num, 1); /* esp32c3: UART1 on GPIO6/7 (esp32_board.h) */
    assert_int_equal(uart.rx, 6);
    assert_int_equal(uart.tx, 7);
    assert_int_equal(uart.baud, 115200);
    assert_int_equal(can.opens, 1);
    assert_int_equal(can.tx, 4);
    assert_int_equal(can.rx, 5);
    assert_int_equal(can.bitrate, 500000);
    assert_false(can.loopback);
    assert_int_equal(sys.creates, 1);
    assert_int_equal(sys.stack, BRIDGE_STACK_BYTES);
    assert_int_equal(sys.prio, BRIDGE_PRIORITY);
    assert_non_null(sys.shutdown); /* the energy save at esp_restart */
    assert_int_equal(sys.wdt_adds, 1);
    assert_int_equal(sys.wdt.timeout_ms, 5000);
    assert_true(sys.wdt.trigger_panic);
    assert_int_equal(sys.wdt.idle_core_mask, 1);
}

static void test_loop_bridges_the_tinybms_to_victron_frames(void **st)
{
    (void)st;
    start();
    run_until(now_us + 10000000u);
    assert_true(uart.writes > 50);
    assert_true(can.sent_351 >= 5); /* about one a second once the data is valid */
    status_t s;
    assert_true(hub_get_status(fw.hub, &s, NULL));
    assert_true(s.data_valid);
    assert_true(s.uart.success > 50u);
    assert_string_equal(s.uart.device, "UART1 (RX GPIO6, TX GPIO7)");
    assert_string_equal(s.can.interface, "twai:tx=GPIO4,rx=GPIO5");
    char *diag = hub_get(fw.hub, HUB_DOC_REGISTERS, NULL);
    assert_non_null(diag); /* the register view is published too */
    free(diag);
    /* Every turn fed the watchdog, and the health handed to the diagnostics. */
    assert_int_equal((uint64_t)sys.wdt_resets, br.loop.iterations);
    assert_true(br.loop.iterations > 900u); /* waits of at most 10 ms */
    assert_true(parts.last.running);
    assert_non_null(parts.last.status);
    assert_true(parts.last.watchdog_subscribed);
    assert_int_equal(parts.last.stack_bytes, BRIDGE_STACK_BYTES);
    assert_true(br.loop.max_gap_us <= 11000u);
}

static void test_ota_confirmed_after_a_minute_of_turning_with_the_web_server(void **st)
{
    (void)st;
    start();
    uint64_t t0 = br.start_us;
    run_until(t0 + (uint64_t)FW_OTA_CONFIRM_AFTER_MS * 1000u - 20000u);
    assert_int_equal(parts.ota_confirms, 0);
    run_until(t0 + (uint64_t)FW_OTA_CONFIRM_AFTER_MS * 1000u + 20000u);
    assert_int_equal(parts.ota_confirms, 1);
    run_until(now_us + 2000000u);
    assert_int_equal(parts.ota_confirms, 1);
}

static void test_no_ota_confirmation_without_the_web_server(void **st)
{
    (void)st;
    fw.web_running = false;
    start();
    run_until(br.start_us + (uint64_t)FW_OTA_CONFIRM_AFTER_MS * 1000u + 1000000u);
    assert_int_equal(parts.ota_confirms, 0);
}

static void test_posted_configuration_is_applied_and_the_port_follows(void **st)
{
    (void)st;
    start();
    run_until(now_us + 2000000u);
    static server_t s;
    memset(&s, 0, sizeof s);
    s.cfg = fw.cfg;
    s.cfg.advanced.watchdog_timeout_s = 9;
    s.cfg.advanced.enable_watchdog = false;
    s.cfg.esp32.can_tx_pin = 2;
    s.cfg.esp32.present |= 1u << ESP32_KEY_CAN_TX_PIN;
    int configs = parts.mqtt_configs;
    serve(&s);
    assert_int_equal(s.outcome, HUB_CONFIG_APPLIED);
    assert_int_equal(parts.mqtt_configs, configs + 1);
    assert_int_equal(sys.wdt.timeout_ms, 9000);
    assert_false(sys.wdt.trigger_panic);
    assert_int_equal(sys.wdt_adds, 1); /* subscribed once */
    assert_int_equal(br.cfg.advanced.watchdog_timeout_s, 9);
    assert_true(logged("they take effect at the next start"));
    assert_int_equal(can.opens, 1); /* pins are not switched under a running bus */
}

static void test_posted_configuration_with_impossible_pins_is_refused(void **st)
{
    (void)st;
    start();
    static server_t s;
    memset(&s, 0, sizeof s);
    s.cfg = fw.cfg;
    s.cfg.esp32.uart_tx_pin = 34; /* the C3 has GPIO0-21 */
    s.cfg.esp32.present |= 1u << ESP32_KEY_UART_TX_PIN;
    int configs = parts.mqtt_configs;
    serve(&s);
    assert_int_equal(s.outcome, HUB_CONFIG_REFUSED);
    assert_true(logged("new configuration not applied: hardware.uart.tx_pin: GPIO 34 does not "
                       "exist on the ESP32-C3"));
    assert_int_equal(parts.mqtt_configs, configs); /* nothing followed it */
    assert_false(esp32_key_present(&br.cfg, ESP32_KEY_UART_TX_PIN)); /* the running one stays */
    assert_true(br.running);
}

static void test_refused_hardware_stops_the_bridge_and_serves_the_hub(void **st)
{
    (void)st;
    fw.cfg.esp32.uart_tx_pin = 34;
    fw.cfg.esp32.present |= 1u << ESP32_KEY_UART_TX_PIN;
    start();
    assert_false(br.running);
    assert_int_equal(uart.opens, 0); /* no pin touched */
    assert_int_equal(can.opens, 0);
    assert_int_equal(sys.creates, 1); /* the task runs all the same */
    assert_null(sys.shutdown);
    run_until(now_us + 3000000u);
    assert_true(logged("bridge stopped: hardware.uart.tx_pin"));
    assert_false(parts.last.running);
    assert_non_null(strstr(parts.last.halt_reason, "hardware.uart.tx_pin"));
    assert_null(parts.last.status);
    assert_true(sys.wdt_resets > 10); /* still watched */

    /* A TinyBMS write is answered at once. */
    static server_t w;
    memset(&w, 0, sizeof w);
    w.write = true;
    w.wreq.addr = 300;
    w.wreq.count = 1;
    w.wreq.values[0] = 3650;
    serve(&w);
    assert_true(w.wok); /* by the loop, not the server's timeout */
    assert_int_equal(w.wres.status, (int)SW_NO_SETTINGS);
    assert_non_null(strstr(w.wres.message, "the bridge is stopped"));

    /* The same impossible pin again: refused, with the reason. */
    static server_t bad;
    memset(&bad, 0, sizeof bad);
    bad.cfg = fw.cfg;
    serve(&bad);
    assert_int_equal(bad.outcome, HUB_CONFIG_REFUSED);
    assert_non_null(strstr(bad.why, "hardware.uart.tx_pin"));

    /* Corrected: accepted, then the chip restarts with it. */
    static server_t good;
    memset(&good, 0, sizeof good);
    good.cfg = fw.cfg;
    good.cfg.esp32.uart_tx_pin = 7;
    serve(&good);
    assert_int_equal(good.outcome, HUB_CONFIG_APPLIED);
    cfg_t running;
    hub_get_running_config(fw.hub, &running);
    assert_int_equal(running.esp32.uart_tx_pin, 7);
    uint64_t accepted = now_us;
    sys.restart_armed = true;
    if (setjmp(sys.restart) == 0) {
        run_until(accepted + 10000000u);
        fail_msg("no restart");
    }
    assert_int_equal(sys.restarts, 1);
    /* RESTART_DELAY_US after the loop accepted it (a few turns before the
     * server's thread said so), at the first turn after. */
    assert_true(br.restart_at_us <= accepted + RESTART_DELAY_US);
    assert_true(br.restart_at_us + 2000000u >= accepted + RESTART_DELAY_US);
    assert_true(now_us >= br.restart_at_us);
    assert_true(now_us - br.restart_at_us <= (uint64_t)HALT_TURN_MS * 1000u);
}

static void test_energy_of_the_last_status_is_what_a_restart_saves(void **st)
{
    (void)st;
    start();
    assert_false(have_energy);
    tbms_sim_set_current_ma(&sim, 50000); /* charging: the counters move */
    run_until(now_us + 20000000u);
    assert_true(have_energy);
    const brg_counters_t *c = &svc_bridge(&br.svc)->counters;
    assert_true(last_charged_mwh > 0u);
    assert_true(last_charged_mwh <= c->charged_mwh);
    assert_true(c->charged_mwh - last_charged_mwh < 1000u); /* at most a second behind */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_start_opens_the_chips_default_pins_and_the_task),
        T(test_loop_bridges_the_tinybms_to_victron_frames),
        T(test_ota_confirmed_after_a_minute_of_turning_with_the_web_server),
        T(test_no_ota_confirmation_without_the_web_server),
        T(test_posted_configuration_is_applied_and_the_port_follows),
        T(test_posted_configuration_with_impossible_pins_is_refused),
        T(test_refused_hardware_stops_the_bridge_and_serves_the_hub),
        T(test_energy_of_the_last_status_is_what_a_restart_saves),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
