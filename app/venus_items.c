/* The Venus OS D-Bus battery items from the typed status (venus_items.h;
 * ../shared/spec/venus-dbus.md "Paths"). Two passes over the same code:
 * the first counts (items NULL), the second writes, so the count checked
 * against cap is the count written. */
#include "venus_items.h"

#include <stdio.h>
#include <string.h>

static const char invalid_text[] = "---";

typedef struct {
    venus_item_t *items; /* NULL: count only */
    size_t n;
} builder_t;

/* The next item, cleared and named; NULL in the counting pass. */
static venus_item_t *next(builder_t *b, const char *path)
{
    venus_item_t *it = NULL;
    if (b->items != NULL) {
        it = &b->items[b->n];
        memset(it, 0, sizeof *it);
        (void)snprintf(it->path, sizeof it->path, "%s", path);
        it->type = VENUS_INVALID;
        (void)snprintf(it->text, sizeof it->text, "%s", invalid_text);
    }
    b->n++;
    return it;
}

/* The text of a double: `decimals` places, then the unit ("53.10V"). */
typedef struct {
    int decimals;
    const char *unit;
} fmt_t;

static const fmt_t F_V = {2, "V"}, F_CELL_V = {3, "V"}, F_A = {2, "A"}, F_LIMIT_A = {1, "A"},
                   F_W = {0, "W"}, F_C = {1, "\302\260C"}, F_PCT = {1, "%"}, F_AH = {1, "Ah"};

/* A double with its text; invalid unless known. */
static void add_d(builder_t *b, const char *path, bool known, double v, fmt_t f)
{
    venus_item_t *it = next(b, path);
    if (it != NULL && known) {
        it->type = VENUS_DOUBLE;
        it->d = v;
        (void)snprintf(it->text, sizeof it->text, "%.*f%s", f.decimals, v, f.unit);
    }
}

static void add_num(builder_t *b, const char *path, bool valid, status_num_t n, fmt_t f)
{
    add_d(b, path, valid && n.known, n.v, f);
}

static void add_i(builder_t *b, const char *path, bool known, int32_t v)
{
    venus_item_t *it = next(b, path);
    if (it != NULL && known) {
        it->type = VENUS_INT;
        it->i = v;
        (void)snprintf(it->text, sizeof it->text, "%ld", (long)v);
    }
}

/* A string item; invalid when s is NULL. */
static venus_item_t *add_s(builder_t *b, const char *path, const char *s)
{
    venus_item_t *it = next(b, path);
    if (it != NULL && s != NULL) {
        it->type = VENUS_STRING;
        (void)snprintf(it->s, sizeof it->s, "%s", s);
        (void)snprintf(it->text, sizeof it->text, "%s", it->s);
    }
    return it;
}

/* A string of venus_config_t, NUL or not within its array. */
static const char *cfg_str(const char s[VENUS_TEXT_MAX], char *buf)
{
    memcpy(buf, s, VENUS_TEXT_MAX - 1u);
    buf[VENUS_TEXT_MAX - 1u] = '\0';
    return buf;
}

static const char *const level_text[] = {"OK", "Warning", "Alarm"};

static void add_level(builder_t *b, const char *path, bool known, status_level_t lv)
{
    venus_item_t *it = next(b, path);
    if (it != NULL && known) {
        unsigned l = (unsigned)lv <= (unsigned)STATUS_LEVEL_ALARM ? (unsigned)lv : 2u;
        it->type = VENUS_INT;
        it->i = (int32_t)l;
        (void)snprintf(it->text, sizeof it->text, "%s", level_text[l]);
    }
}

/* Our condition (alm_condition_name) behind a Venus alarm, NULL for one we
 * do not judge (venus_items.h "Alarms"). */
static const struct {
    const char *path;
    const char *cond;
} alarm_map[] = {
    {"/Alarms/LowVoltage", "low_voltage"},
    {"/Alarms/HighVoltage", "high_voltage"},
    {"/Alarms/LowCellVoltage", NULL},
    {"/Alarms/HighCellVoltage", NULL},
    {"/Alarms/LowSoc", NULL},
    {"/Alarms/HighChargeCurrent", "high_charge_current"},
    {"/Alarms/HighDischargeCurrent", "high_discharge_current"},
    {"/Alarms/CellImbalance", "cell_imbalance"},
    {"/Alarms/InternalFailure", "bms_internal"},
    {"/Alarms/HighChargeTemperature", "high_temperature_charge"},
    {"/Alarms/LowChargeTemperature", "low_temperature_charge"},
    {"/Alarms/HighTemperature", "high_temperature"},
    {"/Alarms/LowTemperature", "low_temperature"},
};

static bool cond_level(const status_t *st, const char *name, status_level_t *lv)
{
    for (unsigned c = 0; name != NULL && c < st->alarms.count && c < STATUS_CONDS_MAX; c++) {
        if (st->alarms.cond[c].name != NULL && strcmp(st->alarms.cond[c].name, name) == 0) {
            *lv = st->alarms.cond[c].level;
            return true;
        }
    }
    return false;
}

static bool several(const status_t *st)
{
    return st->packs_n > 1u;
}

/* venus_items.h "BmsCable". */
static status_level_t bms_cable(const status_t *st)
{
    if (st->data_valid) {
        for (unsigned i = 0; several(st) && i < st->packs_n && i < STATUS_PACKS_MAX; i++) {
            if (!st->packs[i].data_valid) {
                return STATUS_LEVEL_WARNING;
            }
        }
        return STATUS_LEVEL_OK;
    }
    if (st->data_state != NULL && strcmp(st->data_state, "stale") == 0) {
        return STATUS_LEVEL_ALARM;
    }
    return !st->uart.open || st->uptime_ms >= VENUS_BMS_CABLE_GRACE_MS ? STATUS_LEVEL_ALARM
                                                                       : STATUS_LEVEL_OK;
}

/* First lowest and first highest of cells[0..n) (n > 0), 1-based. */
static void extreme_cells(const status_cell_t *cells, unsigned n, unsigned *lo, unsigned *hi)
{
    unsigned a = 0, z = 0;
    for (unsigned i = 1; i < n; i++) {
        a = cells[i].mv < cells[a].mv ? i : a;
        z = cells[i].mv > cells[z].mv ? i : z;
    }
    *lo = a + 1u;
    *hi = z + 1u;
}

/* venus_items.h "Cell ids"; false when no cell is known. */
static bool cell_ids(const status_t *st, char *min_id, char *max_id, size_t cap)
{
    if (!several(st)) {
        unsigned n = st->cells_n < STATUS_CELLS_MAX ? st->cells_n : STATUS_CELLS_MAX;
        if (n == 0u) {
            return false;
        }
        unsigned lo, hi;
        extreme_cells(st->cells, n, &lo, &hi);
        (void)snprintf(min_id, cap, "C%u", lo);
        (void)snprintf(max_id, cap, "C%u", hi);
        return true;
    }
    bool found = false;
    double min_mv = 0.0, max_mv = 0.0;
    for (unsigned p = 0; p < st->packs_n && p < STATUS_PACKS_MAX; p++) {
        const status_pack_t *k = &st->packs[p];
        unsigned n = k->cells_n < STATUS_CELLS_MAX ? k->cells_n : STATUS_CELLS_MAX;
        if (!k->data_valid || n == 0u) {
            continue;
        }
        unsigned lo, hi;
        extreme_cells(k->cells, n, &lo, &hi);
        /* The bank compares each pack's own lowest / highest cell reading. */
        double pmin = k->min_cell_mv.known ? k->min_cell_mv.v : k->cells[lo - 1u].mv;
        double pmax = k->max_cell_mv.known ? k->max_cell_mv.v : k->cells[hi - 1u].mv;
        if (!found || pmin < min_mv) {
            min_mv = pmin;
            (void)snprintf(min_id, cap, "P%uC%u", p + 1u, lo);
        }
        if (!found || pmax > max_mv) {
            max_mv = pmax;
            (void)snprintf(max_id, cap, "P%uC%u", p + 1u, hi);
        }
        found = true;
    }
    return found;
}

static bool any_balancing(const status_cell_t *cells, unsigned n)
{
    for (unsigned i = 0; i < n && i < STATUS_CELLS_MAX; i++) {
        if (cells[i].balancing) {
            return true;
        }
    }
    return false;
}

static void add_time_to_go(builder_t *b, bool known, double seconds)
{
    venus_item_t *it = next(b, "/TimeToGo");
    if (it != NULL && known) {
        it->type = VENUS_DOUBLE;
        it->d = seconds;
        unsigned long m = (unsigned long)(seconds / 60.0 + 0.5);
        (void)snprintf(it->text, sizeof it->text, "%luh %02lum", m / 60ul, m % 60ul);
    }
}

static void build(const status_t *st, const venus_config_t *vc, builder_t *b)
{
    char buf[VENUS_TEXT_MAX];
    bool v = st->data_valid;
    bool bank = several(st);

    /* Identity. */
    add_s(b, "/Mgmt/ProcessName", cfg_str(vc->process_name, buf));
    add_s(b, "/Mgmt/ProcessVersion", cfg_str(vc->process_version, buf));
    add_s(b, "/Mgmt/Connection", cfg_str(vc->connection, buf));
    add_i(b, "/DeviceInstance", true, vc->device_instance);
    venus_item_t *pid = next(b, "/ProductId");
    if (pid != NULL) {
        pid->type = VENUS_INT;
        pid->i = vc->product_id;
        (void)snprintf(pid->text, sizeof pid->text, "0x%04lX", (unsigned long)vc->product_id);
    }
    add_s(b, "/ProductName", bank ? "TinyBMS bank" : "TinyBMS");
    add_s(b, "/FirmwareVersion", st->bms.have_version ? st->bms.firmware : NULL);
    add_s(b, "/HardwareVersion", st->bms.have_version ? st->bms.hardware : NULL);
    add_i(b, "/Connected", true, v ? 1 : 0);
    add_s(b, "/Serial", vc->serial[0] != '\0' ? cfg_str(vc->serial, buf) : NULL);
    venus_item_t *name = add_s(b, "/CustomName", cfg_str(vc->custom_name, buf));
    if (name != NULL) {
        name->writeable = true;
    }

    /* Measurements. */
    add_num(b, "/Dc/0/Voltage", v, st->voltage, F_V);
    add_num(b, "/Dc/0/Current", v, st->current, F_A);
    add_num(b, "/Dc/0/Power", v, st->power_w, F_W);
    add_num(b, "/Dc/0/Temperature", v, st->temperature, F_C);
    add_num(b, "/Soc", v, st->soc_percent, F_PCT);
    add_num(b, "/Soh", v, st->soh_percent, F_PCT);
    bool installed_known = st->bms.have_settings && st->bms.capacity_ah > 0.0;
    add_d(b, "/InstalledCapacity", installed_known, st->bms.capacity_ah, F_AH);
    double online_ah = bank ? st->bank.online_capacity_ah : st->bms.capacity_ah;
    bool remain_known = v && installed_known && st->soc_percent.known && online_ah > 0.0;
    double remain_ah = remain_known ? online_ah * st->soc_percent.v / 100.0 : 0.0;
    add_d(b, "/Capacity", remain_known, remain_ah, F_AH);
    add_d(b, "/ConsumedAmphours", remain_known, remain_ah - online_ah, F_AH);
    bool ttg = remain_known && st->current.known && st->current.v < 0.0;
    add_time_to_go(b, ttg, ttg ? (double)(long)(remain_ah * 3600.0 / -st->current.v + 0.5) : 0.0);

    /* DVCC. */
    add_num(b, "/Info/MaxChargeVoltage", v, st->limits.cvl_v, F_V);
    add_num(b, "/Info/MaxChargeCurrent", v, st->limits.ccl_a, F_LIMIT_A);
    add_num(b, "/Info/MaxDischargeCurrent", v, st->limits.dcl_a, F_LIMIT_A);
    add_num(b, "/Info/BatteryLowVoltage", v, st->limits.dvl_v, F_V);

    /* System. */
    int32_t series = st->bms.have_settings && st->bms.series_cells > 0u
                         ? (int32_t)st->bms.series_cells
                         : (int32_t)st->cells_n;
    add_i(b, "/System/NrOfCellsPerBattery", series > 0, series);
    add_d(b, "/System/MinCellVoltage", v && st->min_cell_mv.known, st->min_cell_mv.v / 1000.0,
          F_CELL_V);
    add_d(b, "/System/MaxCellVoltage", v && st->max_cell_mv.known, st->max_cell_mv.v / 1000.0,
          F_CELL_V);
    char min_id[VENUS_TEXT_MAX] = "", max_id[VENUS_TEXT_MAX] = "";
    bool ids = v && cell_ids(st, min_id, max_id, sizeof min_id);
    add_s(b, "/System/MinVoltageCellId", ids ? min_id : NULL);
    add_s(b, "/System/MaxVoltageCellId", ids ? max_id : NULL);
    add_num(b, "/System/MinCellTemperature", v, st->temps.min_c, F_C);
    add_num(b, "/System/MaxCellTemperature", v, st->temps.max_c, F_C);
    int32_t packs = st->packs_n > 1u ? (int32_t)st->packs_n : 1;
    add_i(b, "/System/NrOfModulesOnline", true, v ? (int32_t)st->bank.online : 0);
    add_i(b, "/System/NrOfModulesOffline", true, v ? (int32_t)st->bank.offline : packs);
    add_i(b, "/System/NrOfModulesBlockingCharge", v, (int32_t)st->bank.blocking_charge);
    add_i(b, "/System/NrOfModulesBlockingDischarge", v, (int32_t)st->bank.blocking_discharge);

    /* IO. */
    add_i(b, "/Io/AllowToCharge", v && st->limits.ccl_a.known, st->limits.ccl_a.v > 0.0 ? 1 : 0);
    add_i(b, "/Io/AllowToDischarge", v && st->limits.dcl_a.known, st->limits.dcl_a.v > 0.0 ? 1 : 0);
    add_i(b, "/Io/AllowToBalance", v, 1);

    /* Alarms. */
    for (size_t a = 0; a < sizeof alarm_map / sizeof alarm_map[0]; a++) {
        status_level_t lv = STATUS_LEVEL_OK;
        bool known = v && cond_level(st, alarm_map[a].cond, &lv);
        add_level(b, alarm_map[a].path, known, lv);
    }
    add_level(b, "/Alarms/BmsCable", true, bms_cable(st));

    /* Cells. */
    unsigned cells = bank ? 0u : (st->cells_n < STATUS_CELLS_MAX ? st->cells_n : STATUS_CELLS_MAX);
    double sum_mv = 0.0;
    for (unsigned c = 0; c < cells; c++) {
        char path[VENUS_PATH_MAX];
        (void)snprintf(path, sizeof path, "/Voltages/Cell%u", c + 1u);
        add_d(b, path, v, st->cells[c].mv / 1000.0, F_CELL_V);
        sum_mv += st->cells[c].mv;
    }
    add_d(b, "/Voltages/Sum", v && cells > 0u, sum_mv / 1000.0, F_V);
    add_d(b, "/Voltages/Diff", v && st->min_cell_mv.known && st->max_cell_mv.known,
          (st->max_cell_mv.v - st->min_cell_mv.v) / 1000.0, F_CELL_V);
    bool balancing = false;
    if (bank) {
        for (unsigned p = 0; p < st->packs_n && p < STATUS_PACKS_MAX; p++) {
            balancing = balancing || (st->packs[p].data_valid &&
                                      any_balancing(st->packs[p].cells, st->packs[p].cells_n));
        }
    } else {
        balancing = any_balancing(st->cells, cells);
    }
    add_i(b, "/Balancing", v, balancing ? 1 : 0);
}

_Static_assert(VENUS_ITEMS_FIXED + STATUS_CELLS_MAX <= VENUS_ITEMS_MAX,
               "every path of a battery with the most cells fits VENUS_ITEMS_MAX");

size_t venus_items_build(const status_t *st, const venus_config_t *vc, venus_item_t *items,
                         size_t cap)
{
    if (st == NULL || vc == NULL || items == NULL) {
        return 0u;
    }
    builder_t count = {.items = NULL, .n = 0u};
    build(st, vc, &count);
    if (count.n > cap) {
        return 0u;
    }
    builder_t out = {.items = items, .n = 0u};
    build(st, vc, &out);
    return out.n;
}

const venus_item_t *venus_items_find(const venus_item_t *items, size_t n, const char *path)
{
    for (size_t i = 0; items != NULL && path != NULL && i < n; i++) {
        if (strcmp(items[i].path, path) == 0) {
            return &items[i];
        }
    }
    return NULL;
}
