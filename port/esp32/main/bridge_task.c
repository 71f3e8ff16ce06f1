/*
 * The bridge task: the Linux daemon's loop (port/linux/daemon.c) on one
 * FreeRTOS task. Each turn: the poller's request out on the UART, the due
 * Victron frames out on TWAI, the service's tick (reports, publications,
 * energy), the TinyBMS write and configuration hand-overs from the hub,
 * the diagnostics; then one wait on the UART for at most the time until
 * the service's next deadline (capped at MAX_WAIT_US, so CAN frames from
 * the GX and posted configurations are taken within 10 ms).
 *
 * Only this task touches the service (svc_t); the web server and MQTT
 * read the hub's copies (architecture.md).
 *
 * When the hardware settings cannot work on this chip (app/esp32_board.h
 * refuses them) or a device cannot be started, the bridge stays stopped
 * and touches no pin, but the task goes on serving the hub: Wi-Fi and the
 * web UI stay up, so the user can correct the settings there. A corrected
 * configuration is accepted and the chip restarts with it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "esp_system.h"
#include "esp_task_wdt.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

#include "atomic_file.h"
#include "can_text.h"
#include "energy_store.h"
#include "esp32_board.h"
#include "fw.h"
#include "fw_port.h"
#include "http_write.h"
#include "hub_svc.h"
#include "log.h"
#include "service.h"

/*
 * Stack: the deepest path, from GCC's call graph with stack use
 * (-fcallgraph-info=su, RV32 -Os, the firmware's sizes), counting 512
 * bytes for each ESP-IDF or libc function outside the graph: 6.6 kB
 * while bridging, a posted configuration (hub_svc_take_config's cfg_t,
 * 2.9 kB) whose follow-up logs a line (log.c's line buffers, 2.3 kB); a
 * log line from the service's tick is 3.6 kB, a TinyBMS write 3.7 kB.
 * The hardware check of a posted configuration runs inside the hand-over;
 * board_resolve no longer holds a cfg_t of its own (2.9 kB less than the
 * 4.4 kB measured with it), so that path is estimated at 6.5 kB, not
 * measured again. Stopped, a posted configuration and its hardware check
 * took 7.6 kB with that copy. 10 kB leaves 2.5 kB or more; the high-water
 * mark is in GET /api/diagnostics (tasks.bridge) and a warning is logged
 * below 1 kB.
 */
#define BRIDGE_STACK_BYTES 10240u
/* Above the web server and MQTT (5), below lwIP (18) and Wi-Fi (23): a
 * long web request never delays a poll or a 0x351 burst. */
#define BRIDGE_PRIORITY  6
#define MAX_WAIT_US      10000u
#define HALT_TURN_MS     100u
#define HALT_RELOG_US    60000000u /* the stop's reason again in the log */
#define RESTART_DELAY_US 5000000u  /* lets the server save the file and answer */
#define FLUSH_PERIOD_US  1000000u  /* log_flush_repeats (log.h) */

typedef struct {
    fw_t *fw;
    svc_t svc; /* 32 kB with the firmware's sizes (esp32-check): here, not on a stack */
    cfg_t cfg; /* the running configuration */
    bool target_known;
    board_target_t target;
    board_hw_t hw;
    bool running;
    char halt[BOARD_MESSAGE_MAX + 64u];
    energy_writer_t *energy;
    TaskHandle_t task;
    fw_loop_t loop;
    bool wdt_subscribed;
    bool ota_confirmed;
    uint64_t start_us;
    uint64_t woke_us;
    uint64_t next_flush_us, next_halt_log_us, restart_at_us;
    char uart_device[48];
} bridge_t;

static bridge_t br;

static uint64_t mono_us(void)
{
    return (uint64_t)esp_timer_get_time();
}

/* Right only once SNTP has set the clock; before, 1970 plus the uptime. */
static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the service's platform side (svc_ops_t), as the daemon's ---- */

static void svc_log(void *ctx, svc_log_level_t level, const char *line)
{
    (void)ctx;
    log_msg((log_level_t)level, "%s", line);
}

/* The writer thread does the flash writes (energy_store.h); without one
 * the save is done here. */
static bool svc_save_energy(void *ctx, uint64_t charged_mwh, uint64_t discharged_mwh)
{
    (void)ctx;
    if (br.energy != NULL) {
        energy_writer_post(br.energy, charged_mwh, discharged_mwh);
        return true;
    }
    if (!energy_save(FW_ENERGY_PATH, charged_mwh, discharged_mwh)) {
        log_warn("energy counters %s: not saved", FW_ENERGY_PATH);
        return false;
    }
    return true;
}

/* The 0x378 counters as of the last status, for save_energy_at_restart
 * (which runs in the task that calls esp_restart, never touching svc_t). */
static portMUX_TYPE energy_mux = portMUX_INITIALIZER_UNLOCKED;
static uint64_t last_charged_mwh, last_discharged_mwh;
static bool have_energy;

static void svc_publish_status(void *ctx, const status_t *st)
{
    (void)ctx;
    hub_svc_publish_status(br.fw->hub, st);
    const brg_counters_t *c = &svc_bridge(&br.svc)->counters;
    taskENTER_CRITICAL(&energy_mux);
    last_charged_mwh = c->charged_mwh;
    last_discharged_mwh = c->discharged_mwh;
    have_energy = true;
    taskEXIT_CRITICAL(&energy_mux);
}

/* A shutdown handler (esp_restart: after an OTA update, a settings
 * restart): the counters of the last second are saved, where the next
 * periodic save could be up to 5 minutes away. A power cut still loses
 * what came after the last periodic save. */
static void save_energy_at_restart(void)
{
    taskENTER_CRITICAL(&energy_mux);
    uint64_t in_mwh = last_charged_mwh, out_mwh = last_discharged_mwh;
    bool have = have_energy;
    taskEXIT_CRITICAL(&energy_mux);
    if (have) {
        (void)energy_save(FW_ENERGY_PATH, in_mwh, out_mwh);
    }
}

static void svc_publish_history(void *ctx, const svc_t *svc)
{
    (void)ctx;
    hub_svc_publish_history(br.fw->hub, svc);
}

static void svc_publish_registers(void *ctx, const svc_t *svc, uint64_t now_us)
{
    (void)ctx;
    hub_svc_publish_registers(br.fw->hub, svc, now_us, wall_ms());
}

static const svc_ops_t svc_ops = {
    .log = svc_log,
    .save_energy = svc_save_energy,
    .publish_status = svc_publish_status,
    .publish_history = svc_publish_history,
    .publish_registers = svc_publish_registers,
};

/* ---- hardware settings ---- */

static bool resolve(const cfg_t *c, board_hw_t *hw, board_notes_t *notes, char *why, size_t cap)
{
    if (!br.target_known) {
        (void)snprintf(why, cap,
                       "this firmware was built for %s, a chip without a pin table "
                       "(app/esp32_board.h)",
                       CONFIG_IDF_TARGET);
        return false;
    }
    board_error_t err;
    if (board_resolve(c, br.target, hw, notes, &err) != BOARD_OK) {
        (void)snprintf(why, cap, "%s", err.message);
        return false;
    }
    return true;
}

/* Only what needs a restart: the poller's timing follows a new
 * configuration at once (svc_apply_config). */
static bool hw_needs_restart(const board_hw_t *a, const board_hw_t *b)
{
    return a->uart_num != b->uart_num || a->uart_rx_pin != b->uart_rx_pin ||
           a->uart_tx_pin != b->uart_tx_pin || a->uart_baud != b->uart_baud ||
           a->can_tx_pin != b->can_tx_pin || a->can_rx_pin != b->can_rx_pin ||
           a->can_bitrate != b->can_bitrate || a->can_loopback != b->can_loopback;
}

static void halt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void halt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(br.halt, sizeof br.halt, fmt, ap);
    va_end(ap);
    br.running = false;
    br.next_halt_log_us = 0; /* logged at the task's first turn */
}

/* ---- the task watchdog (advanced.enable_watchdog, watchdog_timeout_s) ---- */

static uint32_t idle_core_mask(void)
{
    uint32_t m = 0;
#ifdef CONFIG_ESP_TASK_WDT_CHECK_IDLE_TASK_CPU0
    m |= 1u;
#endif
#ifdef CONFIG_ESP_TASK_WDT_CHECK_IDLE_TASK_CPU1
    m |= 2u;
#endif
    return m;
}

/*
 * From the bridge task only (esp_task_wdt_* must not be called by two
 * tasks at once). Enabled: a bridge task silent for the timeout resets the
 * chip (reset reason "task watchdog" at the next start). Disabled: the
 * watchdog still reports the stall on the console, without a reset.
 */
static void watchdog_configure(const cfg_t *c)
{
    static int32_t set_timeout_s = -1;
    static bool set_enabled;
    if (br.wdt_subscribed && c->advanced.watchdog_timeout_s == set_timeout_s &&
        c->advanced.enable_watchdog == set_enabled) {
        return;
    }
    esp_task_wdt_config_t wc = {
        .timeout_ms = (uint32_t)c->advanced.watchdog_timeout_s * 1000u,
        .idle_core_mask = idle_core_mask(),
        .trigger_panic = c->advanced.enable_watchdog,
    };
    esp_err_t e = esp_task_wdt_reconfigure(&wc);
    if (e == ESP_ERR_INVALID_STATE) { /* CONFIG_ESP_TASK_WDT_INIT off */
        e = esp_task_wdt_init(&wc);
    }
    if (e == ESP_OK && !br.wdt_subscribed) {
        e = esp_task_wdt_add(NULL);
        br.wdt_subscribed = e == ESP_OK;
    }
    if (e != ESP_OK) {
        log_error("task watchdog: %s; the bridge task is not watched", esp_err_to_name(e));
        return;
    }
    set_timeout_s = c->advanced.watchdog_timeout_s;
    set_enabled = c->advanced.enable_watchdog;
    log_info("task watchdog: %d s%s", (int)c->advanced.watchdog_timeout_s,
             c->advanced.enable_watchdog ? ", then a reset"
                                         : ", reported only (advanced.enable_watchdog false)");
}

/* ---- per turn ---- */

/* A turn's mark: the watchdog's feed and the loop figures. */
static void feed(uint64_t now_us)
{
    fw_loop_t *l = &br.loop;
    if (l->last_feed_us != 0u && now_us - l->last_feed_us > l->max_gap_us) {
        l->max_gap_us = now_us - l->last_feed_us;
    }
    l->last_feed_us = now_us;
    l->iterations++;
    if (br.wdt_subscribed) {
        (void)esp_task_wdt_reset();
    }
}

/*
 * The new image confirms itself (fw_ota_confirm, no-op otherwise) once
 * the bridge task has turned for FW_OTA_CONFIRM_AFTER_MS with the web
 * server up. Not on the TinyBMS answering: an update made on the bench
 * without a battery must not roll back. What a rollback is for - an image
 * that crashes, trips a watchdog, hangs this task or cannot serve the
 * next update - never gets this far.
 */
static void ota_check(uint64_t now_us)
{
    if (!br.ota_confirmed && br.fw->web_running &&
        now_us - br.start_us >= (uint64_t)FW_OTA_CONFIRM_AFTER_MS * 1000u) {
        br.ota_confirmed = true;
        fw_ota_confirm();
    }
}

static void health(fw_health_t *h)
{
    memset(h, 0, sizeof *h);
    h->version = br.fw->version;
    h->loop = &br.loop;
    h->task = br.task;
    h->stack_bytes = BRIDGE_STACK_BYTES;
    h->watchdog_enabled = br.cfg.advanced.enable_watchdog;
    h->watchdog_subscribed = br.wdt_subscribed;
    h->watchdog_timeout_ms = (uint32_t)br.cfg.advanced.watchdog_timeout_s * 1000u;
    h->running = br.running;
    h->halt_reason = br.halt;
    h->poll_interval_ms = (uint32_t)br.cfg.tinybms.poll_interval_ms;
    if (br.energy != NULL) {
        energy_writer_counts(br.energy, &h->energy_saved, &h->energy_failed);
    }
    h->status = br.running && br.svc.status.seq > 0u ? &br.svc.status : NULL;
    h->start_us = br.start_us;
}

static void housekeeping(uint64_t now_us)
{
    feed(now_us);
    fw_health_t h;
    health(&h);
    fw_diag_tick(br.fw->hub, &h, now_us);
    ota_check(now_us);
    if (now_us >= br.next_flush_us) {
        br.next_flush_us = now_us + FLUSH_PERIOD_US;
        log_flush_repeats();
    }
}

static void hex_line(char *out, size_t cap, const uint8_t *b, size_t n)
{
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && off + 4u < cap; i++) {
        off += (size_t)snprintf(out + off, cap - off, "%02X ", b[i]);
    }
}

static void uart_send(const tbms_poll_tx_t *tx)
{
    if (tx->flush_rx) {
        fw_uart_flush_input();
    }
    if (br.cfg.logging.log_uart_traffic) {
        char hex[64];
        hex_line(hex, sizeof hex, tx->bytes, tx->len);
        log_debug("uart tx %s", hex);
    }
    int w = fw_uart_write(tx->bytes, tx->len);
    if (w < 0 || (size_t)w < tx->len) {
        log_warn("TinyBMS UART: only %d of %u bytes written", w, (unsigned)tx->len);
    }
}

/* Waits up to wait_ticks for the TinyBMS's bytes and hands them over;
 * false when none came. */
static bool uart_take(uint32_t wait_ticks)
{
    static uint8_t buf[512]; /* this task only */
    size_t n = fw_uart_read(buf, sizeof buf, wait_ticks);
    if (n == 0u) {
        return false;
    }
    if (br.cfg.logging.log_uart_traffic) {
        char hex[256];
        hex_line(hex, sizeof hex, buf, n);
        log_debug("uart rx %s", hex);
    }
    svc_uart_rx(&br.svc, 0, buf, n, mono_us());
    return true;
}

static void can_log(const char *dir, const vcan_frame_t *f)
{
    if (br.cfg.logging.log_can_traffic) {
        char text[192];
        can_text_describe(f, text, sizeof text);
        log_debug("can %s %s", dir, text);
    }
}

static void can_send_due(uint64_t now_us)
{
    vcan_frame_t frames[BRG_MAX_FRAMES_PER_TICK];
    size_t n = svc_can_tx(&br.svc, now_us, frames, BRG_MAX_FRAMES_PER_TICK);
    uint64_t t_ms = n > 0u ? wall_ms() : 0u;
    for (size_t i = 0; i < n; i++) {
        bool sent = fw_can_send(&frames[i]);
        hub_push_can(br.fw->hub, true, &frames[i], t_ms);
        svc_frame_sent(&br.svc, &frames[i], sent, now_us);
        can_log("tx", &frames[i]);
    }
}

static void can_receive(uint64_t now_us)
{
    vcan_frame_t f;
    for (int i = 0; i < (int)FW_CAN_RX_QUEUE && fw_can_recv(&f); i++) {
        svc_can_rx(&br.svc, &f, now_us);
        hub_push_can(br.fw->hub, false, &f, wall_ms());
        can_log("rx", &f);
    }
}

/* What only the port knows, for the service's reports and documents. */
static svc_io_t io_now(void)
{
    svc_io_t io;
    memset(&io, 0, sizeof io);
    fw_can_status(&io.can);
    io.can_error = fw_can_error();
    io.time_ms = wall_ms();
    io.uart_open[0] = true; /* an on-chip UART is not unplugged */
    io.uart_device[0] = br.uart_device;
    return io;
}

static void open_log_file(const cfg_t *c)
{
    (void)log_open_file(FW_DATA_DIR, (size_t)c->logging.file_size_kb * 1024u,
                        (unsigned)c->logging.files);
}

/* The port's parts of an applied configuration (hub_svc_applied_fn). */
static void config_applied(void *ctx, const cfg_t *applied)
{
    (void)ctx;
    br.cfg = *applied;
    log_set_level((log_level_t)applied->logging.log_level);
    open_log_file(applied);
    fw_mqtt_configure(applied);
    watchdog_configure(applied);
}

/* A posted configuration whose pins this chip cannot use is refused (the
 * user keeps the settings that run); pins that can be used are taken at
 * the next start. */
static bool hardware_check(void *ctx, const cfg_t *posted, char *why, size_t cap)
{
    (void)ctx;
    board_hw_t hw;
    if (!resolve(posted, &hw, NULL, why, cap)) {
        return false;
    }
    if (hw_needs_restart(&hw, &br.hw)) {
        log_warn("new UART or CAN pins, speed or CAN mode: they take effect at the next start");
    }
    return true;
}

static void take_config(uint64_t now_us)
{
    static const hub_svc_port_t port = {.check = hardware_check, .applied = config_applied};
    char why[160];
    (void)hub_svc_take_config(br.fw->hub, &br.svc, now_us, &port, why, sizeof why);
}

static void turn(void)
{
    uint64_t now = mono_us();
    tbms_poll_tx_t tx;
    if (svc_uart_step(&br.svc, 0, now, &tx)) {
        uart_send(&tx);
    }
    /* An answer may have come while this turn's other work ran: take it
     * before the frames go out, so they carry the newest values. */
    (void)uart_take(0);
    can_send_due(now);
    fw_can_tick(now);
    svc_io_t io = io_now();
    svc_tick(&br.svc, now, &io);
    http_write_step(br.fw->hub, &br.svc, now);
    housekeeping(now);

    uint64_t before = mono_us();
    uint64_t next = svc_next_us(&br.svc);
    uint64_t wait_us = next > before ? next - before : 0u;
    if (wait_us > MAX_WAIT_US) {
        wait_us = MAX_WAIT_US;
    }
    /* At least one tick: the task always yields to the lower priorities. */
    const uint64_t tick_us = 1000000u / configTICK_RATE_HZ;
    uint32_t ticks = (uint32_t)((wait_us + tick_us - 1u) / tick_us);
    ticks = ticks > 0u ? ticks : 1u;
    fw_loop_t *l = &br.loop;
    if (br.woke_us != 0u) {
        l->busy_last_us = before - br.woke_us;
        l->busy_max_us = l->busy_last_us > l->busy_max_us ? l->busy_last_us : l->busy_max_us;
    }
    bool got = uart_take(ticks);
    now = mono_us();
    br.woke_us = now;
    if (!got) { /* woke for its deadline: how late */
        uint64_t planned = before + wait_us;
        l->lag_last_us = now > planned ? now - planned : 0u;
        l->lag_max_us = l->lag_last_us > l->lag_max_us ? l->lag_last_us : l->lag_max_us;
        l->lag_sum_us += l->lag_last_us;
        l->lag_samples++;
    }
    can_receive(now);
    take_config(now);
}

/* ---- stopped: the hub is still served ---- */

/* Its cfg_t on the stack, not in bridge_t, so the 2.9 kB stay free for
 * the heap: the task's deepest path (7.6 kB measured while board_resolve
 * held a cfg_t of its own, less now), inside its stack. */
static void halted_take_config(uint64_t now_us)
{
    cfg_t posted;
    uint64_t seq;
    if (!hub_take_config(br.fw->hub, &posted, &seq)) {
        return;
    }
    board_hw_t hw;
    char why[sizeof br.halt];
    if (!resolve(&posted, &hw, NULL, why, sizeof why)) {
        hub_finish_config(br.fw->hub, seq, NULL, why);
        log_error("new configuration not applied: %s", why);
        return;
    }
    br.cfg = posted;
    log_set_level((log_level_t)br.cfg.logging.log_level);
    open_log_file(&br.cfg);
    fw_mqtt_configure(&br.cfg);
    watchdog_configure(&br.cfg);
    hub_finish_config(br.fw->hub, seq, &br.cfg, NULL);
    log_info("configuration accepted; restarting in %u s to start the bridge with it",
             (unsigned)(RESTART_DELAY_US / 1000000u));
    br.restart_at_us = now_us + RESTART_DELAY_US;
}

/* A TinyBMS write posted while stopped: answered at once rather than
 * left to the server's timeout. */
static void halted_refuse_write(void)
{
    hub_write_req_t req;
    if (!hub_take_write(br.fw->hub, &req)) {
        return;
    }
    hub_write_result_t res;
    memset(&res, 0, sizeof res);
    res.status = (int)SW_NO_SETTINGS;
    (void)snprintf(res.message, sizeof res.message,
                   "the bridge is stopped, no TinyBMS is read: %.180s", br.halt);
    hub_finish_write(br.fw->hub, &res);
}

static void halted_turn(void)
{
    uint64_t now = mono_us();
    if (now >= br.next_halt_log_us) {
        br.next_halt_log_us = now + HALT_RELOG_US;
        log_error("bridge stopped: %s. Wi-Fi and the web UI run: correct the settings there "
                  "(or POST /api/settings)",
                  br.halt);
    }
    halted_take_config(now);
    halted_refuse_write();
    housekeeping(now);
    if (br.restart_at_us != 0u && now >= br.restart_at_us) {
        log_info("restarting");
        log_close_file();
        esp_restart();
    }
    vTaskDelay(pdMS_TO_TICKS(HALT_TURN_MS));
}

static void bridge_main(void *arg)
{
    (void)arg;
    watchdog_configure(&br.cfg);
    for (;;) {
        if (br.running) {
            turn();
        } else {
            halted_turn();
        }
    }
}

/* ---- start ---- */

static bool open_devices(void)
{
    const board_hw_t *hw = &br.hw;
    (void)snprintf(br.uart_device, sizeof br.uart_device, "UART%d (RX GPIO%d, TX GPIO%d)",
                   hw->uart_num, hw->uart_rx_pin, hw->uart_tx_pin);
    esp_err_t e = fw_uart_open(hw->uart_num, hw->uart_rx_pin, hw->uart_tx_pin, hw->uart_baud);
    if (e != ESP_OK) {
        halt("the TinyBMS UART%d cannot start: %s", hw->uart_num, esp_err_to_name(e));
        return false;
    }
    log_info("TinyBMS on %s at %d baud", br.uart_device, (int)hw->uart_baud);
    e = fw_can_open(hw->can_tx_pin, hw->can_rx_pin, hw->can_bitrate, hw->can_loopback);
    if (e != ESP_OK) {
        halt("CAN (TWAI, TX GPIO%d, RX GPIO%d) cannot start: %s", hw->can_tx_pin, hw->can_rx_pin,
             esp_err_to_name(e));
        return false;
    }
    log_info("CAN: TWAI TX GPIO%d, RX GPIO%d at %d kbit/s%s", hw->can_tx_pin, hw->can_rx_pin,
             (int)(hw->can_bitrate / 1000),
             hw->can_loopback ? " in loopback mode (bench test): frames come back to the "
                                "bridge without a GX; keep the board off a live bus"
                              : "");
    return true;
}

static bool start_service(void)
{
    tbms_err_t e = svc_init(&br.svc, &br.cfg, &svc_ops, NULL, br.fw->version, br.start_us);
    if (e != TBMS_OK) {
        halt("bridge configuration refused: %s", tbms_strerror(e));
        return false;
    }
    (void)atomic_file_cleanup(FW_ENERGY_PATH);
    br.energy = energy_writer_start(FW_ENERGY_PATH);
    if (esp_register_shutdown_handler(save_energy_at_restart) != ESP_OK) {
        log_warn("energy counters: not saved at a restart (no shutdown handler)");
    }
    uint64_t charged_mwh = 0, discharged_mwh = 0;
    if (energy_load(FW_ENERGY_PATH, &charged_mwh, &discharged_mwh)) {
        svc_set_energy(&br.svc, charged_mwh, discharged_mwh);
        log_info("energy counters restored: in %.1f kWh, out %.1f kWh", (double)charged_mwh / 1e6,
                 (double)discharged_mwh / 1e6);
    }
    return true;
}

esp_err_t fw_bridge_start(fw_t *fw)
{
    if (fw == NULL || fw->hub == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    br.fw = fw;
    br.cfg = fw->cfg;
    br.start_us = mono_us();
    br.running = true;
    br.target_known = board_target_from_name(CONFIG_IDF_TARGET, &br.target);
    static board_notes_t notes; /* the caller's stack is app_main's */
    char why[sizeof br.halt];
    if (!resolve(&br.cfg, &br.hw, &notes, why, sizeof why)) {
        halt("%s", why);
    } else {
        for (size_t i = 0; i < notes.count && i < BOARD_NOTES_MAX; i++) {
            log_warn("%s", notes.text[i]);
        }
        if (open_devices()) {
            (void)start_service();
        }
    }
    if (xTaskCreate(bridge_main, "bridge", BRIDGE_STACK_BYTES, NULL, BRIDGE_PRIORITY, &br.task) !=
        pdPASS) {
        log_error("bridge task: out of memory for its %u-byte stack", BRIDGE_STACK_BYTES);
        return ESP_ERR_NO_MEM;
    }
    if (br.running) {
        log_info("bridge running (data in %s)", FW_DATA_DIR);
    }
    return ESP_OK;
}
