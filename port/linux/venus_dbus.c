/*
 * The Venus OS D-Bus battery service over libdbus-1 (venus_dbus.h;
 * ../shared/spec/venus-dbus.md). Every call to the bus is asynchronous
 * (a pending call polled after each dispatch), so the daemon's loop never
 * waits on the bus; libdbus's watches and timeouts are kept in small
 * arrays and handed to the caller's poll().
 *
 * States:  disconnected --open--> connecting (Hello) --> negotiating (AddSetting, GetValue)
 *          --> waiting for items --(first status)--> claiming (RequestName) --> announced
 *          any state --bus lost--> disconnected (retry every VENUS_DBUS_RETRY_MS)
 */
#include "venus_dbus.h"

#include <dbus/dbus.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define BUSITEM            "com.victronenergy.BusItem"
#define SETTINGS_NAME      "com.victronenergy.settings"
#define SETTINGS_IFACE     "com.victronenergy.Settings"
#define NAME_PREFIX        "com.victronenergy.battery."
#define DEFAULT_SYSTEM_BUS "unix:path=/var/run/dbus/system_bus_socket"
#define HELLO_TIMEOUT_MS   5000
#define MAX_WATCHES        8u
#define MAX_TIMEOUTS       8u
#define XML_MAX            8192u

typedef enum {
    ST_DISCONNECTED,
    ST_CONNECTING, /* Hello sent */
    ST_NEGOTIATING,
    ST_WAIT_ITEMS,
    ST_CLAIMING,
    ST_ANNOUNCED,
} vd_state_t;

typedef enum {
    CALL_NONE,
    CALL_HELLO,
    CALL_ADD_SETTING,
    CALL_GET_SETTING,
    CALL_REQUEST_NAME,
} vd_call_t;

typedef struct {
    DBusTimeout *t;
    uint64_t due_us;
} vd_timeout_t;

struct venus_dbus {
    venus_dbus_config_t cfg;
    char name[160];           /* com.victronenergy.battery.<suffix> */
    char setting[200];        /* Devices/<uid>/ClassAndVrmInstance */
    char setting_path[220];   /* /Settings/Devices/<uid>/ClassAndVrmInstance */
    char settings_owner[128]; /* unique name of the settings service that answered */
    DBusConnection *conn;
    vd_state_t state;
    uint64_t retry_us; /* disconnected: next connect; waiting: next claim */
    bool outage_logged;
    bool lost; /* Disconnected seen while dispatching */
    DBusWatch *watch[MAX_WATCHES];
    size_t n_watch;
    unsigned watch_gen; /* bumped when a watch goes: the polled list is stale */
    DBusWatch *polled[VENUS_DBUS_MAX_FDS];
    size_t n_polled;
    unsigned polled_gen;
    vd_timeout_t timeout[MAX_TIMEOUTS];
    size_t n_timeout;
    unsigned timeout_gen;
    DBusPendingCall *pending;
    vd_call_t call;
    int32_t instance;
    bool have_instance; /* negotiated (or fallen back) at least once */
    bool renegotiate;   /* localsettings (re)appeared on the bus: ask it again */
    bool renegotiating; /* the AddSetting / GetValue in flight is such a renewal */
    venus_item_t items[VENUS_ITEMS_MAX];
    size_t n_items;
    venus_item_t next[VENUS_ITEMS_MAX];
    bool build_failed_logged;
    bool seen_valid;   /* a status with valid TinyBMS data was published */
    uint64_t claim_us; /* claim without valid data from then on */
    char xml[XML_MAX];
};

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool name_char(char c, bool first)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_') {
        return true;
    }
    return !first && ((c >= '0' && c <= '9') || c == '-');
}

void venus_dbus_suffix(const char *device, char *out, size_t cap)
{
    if (out == NULL || cap == 0u) {
        return;
    }
    out[0] = '\0';
    if (device == NULL || device[0] == '\0') {
        snprintf(out, cap, "unknown");
        return;
    }
    const char *base = strrchr(device, '/');
    base = base != NULL ? base + 1 : device;
    char raw[128];
    if (base[0] >= '0' && base[0] <= '9' && base > device + 1) {
        /* "/dev/pts/3": the directory's name in front ("pts3"). */
        const char *dir = base - 1;
        while (dir > device && dir[-1] != '/') {
            dir--;
        }
        snprintf(raw, sizeof raw, "%.*s%s", (int)(base - 1 - dir), dir, base);
    } else {
        snprintf(raw, sizeof raw, "%s", base);
    }
    size_t k = 0;
    for (size_t i = 0; raw[i] != '\0' && k + 1u < cap; i++) {
        char c = raw[i];
        out[k] = name_char(c, k == 0u) ? c : '_';
        k++;
    }
    out[k] = '\0';
    if (k == 0u) {
        snprintf(out, cap, "unknown");
    }
}

static bool valid_suffix(const char *s)
{
    if (s[0] == '\0') {
        return false;
    }
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (!name_char(s[i], i == 0u)) {
            return false;
        }
    }
    return true;
}

/* libdbus refuses to append a string that is not UTF-8 (a message could
 * not be built at all): a string cut inside a character loses that
 * character, anything else invalid becomes "". */
static void valid_utf8(char *s)
{
    size_t n = strlen(s);
    for (int k = 0; k < 4 && n > 0u; k++) {
        if (dbus_validate_utf8(s, NULL)) {
            return;
        }
        s[--n] = '\0';
    }
    if (!dbus_validate_utf8(s, NULL)) {
        s[0] = '\0';
    }
}

/* ---- libdbus main-loop hooks ---- */

static dbus_bool_t add_watch(DBusWatch *w, void *data)
{
    venus_dbus_t *vd = data;
    if (vd->n_watch >= MAX_WATCHES) {
        return FALSE;
    }
    vd->watch[vd->n_watch++] = w;
    return TRUE;
}

static void remove_watch(DBusWatch *w, void *data)
{
    venus_dbus_t *vd = data;
    for (size_t i = 0; i < vd->n_watch; i++) {
        if (vd->watch[i] == w) {
            vd->watch[i] = vd->watch[--vd->n_watch];
            vd->watch_gen++;
            return;
        }
    }
}

/* Enabled or not is read at every venus_dbus_pollfds. */
static void toggle_watch(DBusWatch *w, void *data)
{
    (void)w;
    (void)data;
}

static dbus_bool_t add_timeout(DBusTimeout *t, void *data)
{
    venus_dbus_t *vd = data;
    if (vd->n_timeout >= MAX_TIMEOUTS) {
        return FALSE;
    }
    vd->timeout[vd->n_timeout].t = t;
    vd->timeout[vd->n_timeout].due_us = mono_us() + (uint64_t)dbus_timeout_get_interval(t) * 1000u;
    vd->n_timeout++;
    return TRUE;
}

static void remove_timeout(DBusTimeout *t, void *data)
{
    venus_dbus_t *vd = data;
    for (size_t i = 0; i < vd->n_timeout; i++) {
        if (vd->timeout[i].t == t) {
            vd->timeout[i] = vd->timeout[--vd->n_timeout];
            vd->timeout_gen++;
            return;
        }
    }
}

/* Re-armed from now: libdbus toggles a timeout to restart it. */
static void toggle_timeout(DBusTimeout *t, void *data)
{
    venus_dbus_t *vd = data;
    for (size_t i = 0; i < vd->n_timeout; i++) {
        if (vd->timeout[i].t == t) {
            vd->timeout[i].due_us = mono_us() + (uint64_t)dbus_timeout_get_interval(t) * 1000u;
            return;
        }
    }
}

/* ---- items ---- */

static const venus_item_t *find_item(const venus_dbus_t *vd, const char *path)
{
    for (size_t i = 0; i < vd->n_items; i++) {
        if (strcmp(vd->items[i].path, path) == 0) {
            return &vd->items[i];
        }
    }
    return NULL;
}

/* The part of an item's path below node (NULL when it is not below):
 * node "/" -> "Dc/0/Voltage"; node "/Dc" -> "0/Voltage". */
static const char *below(const char *item_path, const char *node)
{
    if (strcmp(node, "/") == 0) {
        return item_path + 1;
    }
    size_t n = strlen(node);
    if (strncmp(item_path, node, n) == 0 && item_path[n] == '/') {
        return item_path + n + 1;
    }
    return NULL;
}

static bool is_node(const venus_dbus_t *vd, const char *path)
{
    if (strcmp(path, "/") == 0) {
        return true;
    }
    for (size_t i = 0; i < vd->n_items; i++) {
        if (below(vd->items[i].path, path) != NULL) {
            return true;
        }
    }
    return false;
}

static bool same_item(const venus_item_t *a, const venus_item_t *b)
{
    if (a->type != b->type || strcmp(a->text, b->text) != 0) {
        return false;
    }
    switch (a->type) {
    case VENUS_DOUBLE:
        return memcmp(&a->d, &b->d, sizeof a->d) == 0;
    case VENUS_INT:
        return a->i == b->i;
    case VENUS_STRING:
        return strcmp(a->s, b->s) == 0;
    case VENUS_INVALID:
    default:
        return true;
    }
}

/* The item's value as a variant: d, i, s, or the invalid empty "ai". */
static bool append_value(DBusMessageIter *it, const venus_item_t *item)
{
    DBusMessageIter var;
    bool ok = true;
    switch (item->type) {
    case VENUS_DOUBLE: {
        double d = item->d;
        ok = dbus_message_iter_open_container(it, DBUS_TYPE_VARIANT, "d", &var) &&
             dbus_message_iter_append_basic(&var, DBUS_TYPE_DOUBLE, &d);
        break;
    }
    case VENUS_INT: {
        dbus_int32_t i = item->i;
        ok = dbus_message_iter_open_container(it, DBUS_TYPE_VARIANT, "i", &var) &&
             dbus_message_iter_append_basic(&var, DBUS_TYPE_INT32, &i);
        break;
    }
    case VENUS_STRING: {
        const char *s = item->s;
        ok = dbus_message_iter_open_container(it, DBUS_TYPE_VARIANT, "s", &var) &&
             dbus_message_iter_append_basic(&var, DBUS_TYPE_STRING, &s);
        break;
    }
    case VENUS_INVALID:
    default: {
        DBusMessageIter arr;
        ok = dbus_message_iter_open_container(it, DBUS_TYPE_VARIANT, "ai", &var) &&
             dbus_message_iter_open_container(&var, DBUS_TYPE_ARRAY, "i", &arr) &&
             dbus_message_iter_close_container(&var, &arr);
        break;
    }
    }
    return ok && dbus_message_iter_close_container(it, &var);
}

static bool append_text_variant(DBusMessageIter *it, const char *text)
{
    DBusMessageIter var;
    return dbus_message_iter_open_container(it, DBUS_TYPE_VARIANT, "s", &var) &&
           dbus_message_iter_append_basic(&var, DBUS_TYPE_STRING, &text) &&
           dbus_message_iter_close_container(it, &var);
}

/* {"Value": v, "Text": v(s)} into an open a{sv}. */
static bool append_value_text(DBusMessageIter *dict, const venus_item_t *item)
{
    static const char *const k_value = "Value";
    static const char *const k_text = "Text";
    DBusMessageIter e;
    return dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &e) &&
           dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &k_value) &&
           append_value(&e, item) && dbus_message_iter_close_container(dict, &e) &&
           dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &e) &&
           dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &k_text) &&
           append_text_variant(&e, item->text) && dbus_message_iter_close_container(dict, &e);
}

/* One a{sa{sv}} entry: path -> {"Value", "Text"}. */
static bool append_item_entry(DBusMessageIter *arr, const venus_item_t *item)
{
    DBusMessageIter e;
    DBusMessageIter dict;
    const char *path = item->path;
    return dbus_message_iter_open_container(arr, DBUS_TYPE_DICT_ENTRY, NULL, &e) &&
           dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &path) &&
           dbus_message_iter_open_container(&e, DBUS_TYPE_ARRAY, "{sv}", &dict) &&
           append_value_text(&dict, item) && dbus_message_iter_close_container(&e, &dict) &&
           dbus_message_iter_close_container(arr, &e);
}

static void send_and_unref(venus_dbus_t *vd, DBusMessage *m)
{
    if (m == NULL) {
        return;
    }
    (void)dbus_connection_send(vd->conn, m, NULL);
    dbus_message_unref(m);
}

/* ItemsChanged from "/" with items[idx[0..n)], and a PropertiesChanged
 * from each of those leaves. */
static void emit_changed(venus_dbus_t *vd, const venus_item_t *items, const size_t *idx, size_t n)
{
    if (n == 0u || vd->conn == NULL) {
        return;
    }
    DBusMessage *m = dbus_message_new_signal("/", BUSITEM, "ItemsChanged");
    if (m == NULL) {
        return;
    }
    DBusMessageIter it;
    DBusMessageIter arr;
    dbus_message_iter_init_append(m, &it);
    bool ok = dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sa{sv}}", &arr);
    for (size_t k = 0; ok && k < n; k++) {
        ok = append_item_entry(&arr, &items[idx[k]]);
    }
    ok = ok && dbus_message_iter_close_container(&it, &arr);
    if (ok) {
        send_and_unref(vd, m);
    } else {
        dbus_message_unref(m);
    }
    for (size_t k = 0; k < n; k++) {
        const venus_item_t *item = &items[idx[k]];
        DBusMessage *p = dbus_message_new_signal(item->path, BUSITEM, "PropertiesChanged");
        if (p == NULL) {
            continue;
        }
        DBusMessageIter pit;
        DBusMessageIter dict;
        dbus_message_iter_init_append(p, &pit);
        if (dbus_message_iter_open_container(&pit, DBUS_TYPE_ARRAY, "{sv}", &dict) &&
            append_value_text(&dict, item) && dbus_message_iter_close_container(&pit, &dict)) {
            send_and_unref(vd, p);
        } else {
            dbus_message_unref(p);
        }
    }
}

/* Sets /DeviceInstance in the current table (the next build takes it from
 * vd->instance). */
static void patch_instance(venus_dbus_t *vd)
{
    for (size_t i = 0; i < vd->n_items; i++) {
        venus_item_t *it = &vd->items[i];
        if (strcmp(it->path, "/DeviceInstance") == 0) {
            it->type = VENUS_INT;
            it->i = vd->instance;
            snprintf(it->text, sizeof it->text, "%d", (int)vd->instance);
            return;
        }
    }
}

/* ---- method calls on our paths ---- */

/* Out of memory building a reply: the caller gets an error, and the call
 * is done with (NEED_MEMORY would have libdbus hand it over again, for
 * ever if the failure lasts). */
static DBusHandlerResult reply_and_unref(venus_dbus_t *vd, DBusMessage *r)
{
    if (r != NULL) {
        send_and_unref(vd, r);
    }
    return DBUS_HANDLER_RESULT_HANDLED;
}

static DBusHandlerResult failed(venus_dbus_t *vd, DBusMessage *m)
{
    return reply_and_unref(vd, dbus_message_new_error(m, DBUS_ERROR_NO_MEMORY, "out of memory"));
}

static DBusHandlerResult unknown_path(venus_dbus_t *vd, DBusMessage *m, const char *path)
{
    char why[VENUS_PATH_MAX + 64];
    snprintf(why, sizeof why, "no item %.*s", (int)VENUS_PATH_MAX, path);
    return reply_and_unref(vd, dbus_message_new_error(m, DBUS_ERROR_UNKNOWN_OBJECT, why));
}

static DBusHandlerResult get_value(venus_dbus_t *vd, DBusMessage *m, const char *path, bool text)
{
    const venus_item_t *leaf = find_item(vd, path);
    if (leaf == NULL && (vd->n_items == 0u || !is_node(vd, path))) {
        return unknown_path(vd, m, path);
    }
    DBusMessage *r = dbus_message_new_method_return(m);
    if (r == NULL) {
        return failed(vd, m);
    }
    DBusMessageIter it;
    dbus_message_iter_init_append(r, &it);
    bool ok = true;
    if (leaf != NULL && text) {
        const char *s = leaf->text;
        ok = dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &s);
    } else if (leaf != NULL) {
        ok = append_value(&it, leaf);
    } else {
        /* An inner node: its leaves by relative path (a{sv} / a{ss}). */
        DBusMessageIter arr;
        ok = dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, text ? "{ss}" : "{sv}", &arr);
        for (size_t i = 0; ok && i < vd->n_items; i++) {
            const char *rel = below(vd->items[i].path, path);
            if (rel == NULL) {
                continue;
            }
            DBusMessageIter e;
            ok = dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &e) &&
                 dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &rel);
            if (ok && text) {
                const char *s = vd->items[i].text;
                ok = dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &s);
            } else if (ok) {
                ok = append_value(&e, &vd->items[i]);
            }
            ok = ok && dbus_message_iter_close_container(&arr, &e);
        }
        ok = ok && dbus_message_iter_close_container(&it, &arr);
    }
    if (!ok) {
        dbus_message_unref(r);
        return failed(vd, m);
    }
    return reply_and_unref(vd, r);
}

static DBusHandlerResult get_items(venus_dbus_t *vd, DBusMessage *m)
{
    DBusMessage *r = dbus_message_new_method_return(m);
    if (r == NULL) {
        return failed(vd, m);
    }
    DBusMessageIter it;
    DBusMessageIter arr;
    dbus_message_iter_init_append(r, &it);
    bool ok = dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sa{sv}}", &arr);
    for (size_t i = 0; ok && i < vd->n_items; i++) {
        ok = append_item_entry(&arr, &vd->items[i]);
    }
    ok = ok && dbus_message_iter_close_container(&it, &arr);
    if (!ok) {
        dbus_message_unref(r);
        return failed(vd, m);
    }
    return reply_and_unref(vd, r);
}

static DBusHandlerResult reply_int(venus_dbus_t *vd, DBusMessage *m, dbus_int32_t v)
{
    DBusMessage *r = dbus_message_new_method_return(m);
    if (r == NULL || !dbus_message_append_args(r, DBUS_TYPE_INT32, &v, DBUS_TYPE_INVALID)) {
        if (r != NULL) {
            dbus_message_unref(r);
        }
        return failed(vd, m);
    }
    return reply_and_unref(vd, r);
}

/* 0 done, 1 not writeable, 2 rejected (not one string that fits). Only
 * /CustomName is writeable; a rejected call changes nothing. */
static DBusHandlerResult set_value(venus_dbus_t *vd, DBusMessage *m, const char *path)
{
    venus_item_t *leaf = NULL;
    for (size_t i = 0; i < vd->n_items; i++) {
        if (strcmp(vd->items[i].path, path) == 0) {
            leaf = &vd->items[i];
        }
    }
    if (leaf == NULL) {
        if (vd->n_items > 0u && is_node(vd, path)) {
            return reply_int(vd, m, 1);
        }
        return unknown_path(vd, m, path);
    }
    if (!leaf->writeable || strcmp(path, "/CustomName") != 0) {
        return reply_int(vd, m, 1);
    }
    DBusMessageIter it;
    DBusMessageIter var;
    if (!dbus_message_iter_init(m, &it) ||
        dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_VARIANT) {
        return reply_int(vd, m, 2);
    }
    dbus_message_iter_recurse(&it, &var);
    if (dbus_message_iter_get_arg_type(&var) != DBUS_TYPE_STRING) {
        return reply_int(vd, m, 2);
    }
    const char *s = NULL;
    dbus_message_iter_get_basic(&var, &s);
    size_t len = strlen(s);
    if (len >= sizeof vd->cfg.items.custom_name || len >= sizeof leaf->s ||
        len >= sizeof leaf->text) {
        return reply_int(vd, m, 2);
    }
    memcpy(vd->cfg.items.custom_name, s, len + 1u);
    leaf->type = VENUS_STRING;
    memcpy(leaf->s, s, len + 1u);
    memcpy(leaf->text, s, len + 1u);
    log_info("D-Bus: /CustomName set to \"%s\" (for this run)", s);
    DBusHandlerResult res = reply_int(vd, m, 0);
    if (vd->state == ST_ANNOUNCED) {
        size_t idx = (size_t)(leaf - vd->items);
        emit_changed(vd, vd->items, &idx, 1u);
    }
    return res;
}

static size_t xml_add(char *buf, size_t off, const char *s)
{
    size_t n = strlen(s);
    if (off + n + 1u > XML_MAX) {
        return off;
    }
    memcpy(buf + off, s, n + 1u);
    return off + n;
}

static DBusHandlerResult introspect(venus_dbus_t *vd, DBusMessage *m, const char *path)
{
    if (find_item(vd, path) == NULL && !is_node(vd, path)) {
        return unknown_path(vd, m, path);
    }
    char *x = vd->xml;
    size_t off = 0;
    x[0] = '\0';
    off = xml_add(x, off,
                  DBUS_INTROSPECT_1_0_XML_DOCTYPE_DECL_NODE
                  "<node>\n"
                  " <interface name=\"org.freedesktop.DBus.Introspectable\">\n"
                  "  <method name=\"Introspect\"><arg direction=\"out\" type=\"s\"/>"
                  "</method>\n"
                  " </interface>\n"
                  " <interface name=\"" BUSITEM "\">\n"
                  "  <method name=\"GetValue\"><arg direction=\"out\" type=\"v\"/>"
                  "</method>\n");
    if (find_item(vd, path) != NULL) {
        off = xml_add(x, off,
                      "  <method name=\"GetText\"><arg direction=\"out\" type=\"s\"/></method>\n"
                      "  <method name=\"SetValue\"><arg direction=\"in\" type=\"v\"/>"
                      "<arg direction=\"out\" type=\"i\"/></method>\n"
                      "  <signal name=\"PropertiesChanged\"><arg type=\"a{sv}\"/></signal>\n");
    } else {
        off = xml_add(x, off,
                      "  <method name=\"GetText\"><arg direction=\"out\" type=\"a{ss}\"/>"
                      "</method>\n");
    }
    if (strcmp(path, "/") == 0) {
        off = xml_add(x, off,
                      "  <method name=\"GetItems\"><arg direction=\"out\" type=\"a{sa{sv}}\"/>"
                      "</method>\n"
                      "  <signal name=\"ItemsChanged\"><arg type=\"a{sa{sv}}\"/></signal>\n");
    }
    off = xml_add(x, off, " </interface>\n");
    /* The direct children, each once (the items are in a fixed order,
     * but siblings need not be adjacent). */
    for (size_t i = 0; i < vd->n_items; i++) {
        const char *rel = below(vd->items[i].path, path);
        if (rel == NULL) {
            continue;
        }
        size_t len = strcspn(rel, "/");
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            const char *r2 = below(vd->items[j].path, path);
            seen = r2 != NULL && strncmp(r2, rel, len) == 0 && (r2[len] == '/' || r2[len] == '\0');
        }
        if (!seen) {
            char node[VENUS_PATH_MAX + 24];
            snprintf(node, sizeof node, " <node name=\"%.*s\"/>\n", (int)len, rel);
            off = xml_add(x, off, node);
        }
    }
    off = xml_add(x, off, "</node>\n");
    (void)off;
    DBusMessage *r = dbus_message_new_method_return(m);
    const char *s = x;
    if (r == NULL || !dbus_message_append_args(r, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID)) {
        if (r != NULL) {
            dbus_message_unref(r);
        }
        return failed(vd, m);
    }
    return reply_and_unref(vd, r);
}

/* The one fallback handler on "/": every path of the service. */
static DBusHandlerResult on_object(DBusConnection *c, DBusMessage *m, void *data)
{
    (void)c;
    venus_dbus_t *vd = data;
    if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL) {
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
    }
    const char *path = dbus_message_get_path(m);
    const char *iface = dbus_message_get_interface(m);
    const char *member = dbus_message_get_member(m);
    if (path == NULL || member == NULL) {
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
    }
    if ((iface == NULL || strcmp(iface, DBUS_INTERFACE_INTROSPECTABLE) == 0) &&
        strcmp(member, "Introspect") == 0) {
        return introspect(vd, m, path);
    }
    if (iface != NULL && strcmp(iface, BUSITEM) != 0) {
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
    }
    if (strcmp(member, "GetValue") == 0) {
        return get_value(vd, m, path, false);
    }
    if (strcmp(member, "GetText") == 0) {
        return get_value(vd, m, path, true);
    }
    if (strcmp(member, "SetValue") == 0) {
        return set_value(vd, m, path);
    }
    if (strcmp(member, "GetItems") == 0 && strcmp(path, "/") == 0) {
        return get_items(vd, m);
    }
    return DBUS_HANDLER_RESULT_NOT_YET_HANDLED; /* libdbus answers UnknownMethod */
}

/* ---- the device instance (localsettings) ---- */

/* "battery:513" -> 513. */
static bool parse_instance(const char *s, int32_t *out)
{
    const char *colon = strchr(s, ':');
    if (colon == NULL || colon[1] < '0' || colon[1] > '9') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    long v = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0 || v > 0x7fffffffL) {
        return false;
    }
    *out = (int32_t)v;
    return true;
}

/* A variant holding the setting's string, from a reply or a signal. */
static bool variant_instance(DBusMessageIter *var_it, int32_t *out)
{
    if (dbus_message_iter_get_arg_type(var_it) != DBUS_TYPE_VARIANT) {
        return false;
    }
    DBusMessageIter v;
    dbus_message_iter_recurse(var_it, &v);
    if (dbus_message_iter_get_arg_type(&v) != DBUS_TYPE_STRING) {
        return false;
    }
    const char *s = NULL;
    dbus_message_iter_get_basic(&v, &s);
    return parse_instance(s, out);
}

/* The "Value" of an a{sv} (PropertiesChanged, or an ItemsChanged entry). */
static bool dict_instance(DBusMessageIter *arr_it, int32_t *out)
{
    if (dbus_message_iter_get_arg_type(arr_it) != DBUS_TYPE_ARRAY) {
        return false;
    }
    DBusMessageIter d;
    dbus_message_iter_recurse(arr_it, &d);
    while (dbus_message_iter_get_arg_type(&d) == DBUS_TYPE_DICT_ENTRY) {
        DBusMessageIter e;
        dbus_message_iter_recurse(&d, &e);
        if (dbus_message_iter_get_arg_type(&e) == DBUS_TYPE_STRING) {
            const char *k = NULL;
            dbus_message_iter_get_basic(&e, &k);
            if (strcmp(k, "Value") == 0 && dbus_message_iter_next(&e)) {
                return variant_instance(&e, out);
            }
        }
        dbus_message_iter_next(&d);
    }
    return false;
}

/* The user (or localsettings) changed our instance. */
static void instance_changed(venus_dbus_t *vd, int32_t inst)
{
    if (vd->have_instance && inst == vd->instance) {
        return;
    }
    log_info("D-Bus: device instance changed from %d to %d", (int)vd->instance, (int)inst);
    vd->instance = inst;
    vd->have_instance = true;
    patch_instance(vd);
    if (vd->state == ST_ANNOUNCED) {
        /* Released and claimed again: systemcalc reads /DeviceInstance
         * when the name appears. */
        DBusMessage *m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
                                                      DBUS_INTERFACE_DBUS, "ReleaseName");
        const char *n = vd->name;
        if (m != NULL && dbus_message_append_args(m, DBUS_TYPE_STRING, &n, DBUS_TYPE_INVALID)) {
            dbus_message_set_no_reply(m, TRUE);
            send_and_unref(vd, m);
        } else if (m != NULL) {
            dbus_message_unref(m);
        }
        vd->state = ST_WAIT_ITEMS;
        vd->retry_us = 0;
    }
}

static DBusHandlerResult on_filter(DBusConnection *c, DBusMessage *m, void *data)
{
    (void)c;
    venus_dbus_t *vd = data;
    if (dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected")) {
        vd->lost = true;
        return DBUS_HANDLER_RESULT_HANDLED;
    }
    if (dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged")) {
        /* localsettings started after us, or restarted (a new unique
         * name, whose signals the filter below must accept). */
        const char *sender = dbus_message_get_sender(m);
        const char *name = NULL;
        const char *old_owner = NULL;
        const char *new_owner = NULL;
        if (sender != NULL && strcmp(sender, DBUS_SERVICE_DBUS) == 0 &&
            dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner,
                                  DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID) &&
            strcmp(name, SETTINGS_NAME) == 0 && new_owner[0] != '\0' &&
            strcmp(new_owner, vd->settings_owner) != 0) {
            vd->renegotiate = true;
        }
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
    }
    if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_SIGNAL || vd->settings_owner[0] == '\0') {
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
    }
    const char *sender = dbus_message_get_sender(m);
    const char *path = dbus_message_get_path(m);
    if (sender == NULL || path == NULL || strcmp(sender, vd->settings_owner) != 0) {
        return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
    }
    int32_t inst = 0;
    DBusMessageIter it;
    if (dbus_message_is_signal(m, BUSITEM, "PropertiesChanged") &&
        strcmp(path, vd->setting_path) == 0) {
        if (dbus_message_iter_init(m, &it) && dict_instance(&it, &inst)) {
            instance_changed(vd, inst);
        }
        return DBUS_HANDLER_RESULT_HANDLED;
    }
    if (dbus_message_is_signal(m, BUSITEM, "ItemsChanged") && strcmp(path, "/") == 0) {
        if (!dbus_message_iter_init(m, &it) ||
            dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_ARRAY) {
            return DBUS_HANDLER_RESULT_HANDLED;
        }
        DBusMessageIter d;
        dbus_message_iter_recurse(&it, &d);
        while (dbus_message_iter_get_arg_type(&d) == DBUS_TYPE_DICT_ENTRY) {
            DBusMessageIter e;
            dbus_message_iter_recurse(&d, &e);
            const char *k = NULL;
            if (dbus_message_iter_get_arg_type(&e) == DBUS_TYPE_STRING) {
                dbus_message_iter_get_basic(&e, &k);
                if (strcmp(k, vd->setting_path) == 0 && dbus_message_iter_next(&e) &&
                    dict_instance(&e, &inst)) {
                    instance_changed(vd, inst);
                }
            }
            dbus_message_iter_next(&d);
        }
        return DBUS_HANDLER_RESULT_HANDLED;
    }
    return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

/* ---- the connection ---- */

static void drop_connection(venus_dbus_t *vd)
{
    if (vd->pending != NULL) {
        dbus_pending_call_cancel(vd->pending);
        dbus_pending_call_unref(vd->pending);
        vd->pending = NULL;
    }
    vd->call = CALL_NONE;
    if (vd->conn != NULL) {
        dbus_connection_close(vd->conn);
        dbus_connection_unref(vd->conn);
        vd->conn = NULL;
    }
    vd->n_watch = 0;
    vd->n_polled = 0;
    vd->n_timeout = 0;
    vd->watch_gen++;
    vd->timeout_gen++;
    vd->settings_owner[0] = '\0';
    vd->lost = false;
    vd->renegotiate = false;
    vd->renegotiating = false;
}

static void bus_lost(venus_dbus_t *vd, const char *why, uint64_t now_us)
{
    if (!vd->outage_logged) {
        log_warn("D-Bus: %s; %s is off the bus, the bridge goes on; reconnecting every %u s", why,
                 vd->name, VENUS_DBUS_RETRY_MS / 1000u);
        vd->outage_logged = true;
    }
    drop_connection(vd);
    vd->state = ST_DISCONNECTED;
    vd->retry_us = now_us + (uint64_t)VENUS_DBUS_RETRY_MS * 1000u;
}

/* Sends m (unref'd here) expecting a reply within timeout_ms, as the one
 * call in flight. */
static bool call(venus_dbus_t *vd, DBusMessage *m, vd_call_t kind, int timeout_ms)
{
    if (m == NULL) {
        return false;
    }
    DBusPendingCall *p = NULL;
    bool ok = dbus_connection_send_with_reply(vd->conn, m, &p, timeout_ms) && p != NULL;
    dbus_message_unref(m);
    if (!ok) {
        if (p != NULL) {
            dbus_pending_call_unref(p);
        }
        return false;
    }
    vd->pending = p;
    vd->call = kind;
    return true;
}

static void add_match(venus_dbus_t *vd, const char *rule)
{
    DBusMessage *m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
                                                  DBUS_INTERFACE_DBUS, "AddMatch");
    if (m == NULL) {
        return;
    }
    if (!dbus_message_append_args(m, DBUS_TYPE_STRING, &rule, DBUS_TYPE_INVALID)) {
        dbus_message_unref(m);
        return;
    }
    dbus_message_set_no_reply(m, TRUE);
    send_and_unref(vd, m);
}

static void try_connect(venus_dbus_t *vd, uint64_t now_us)
{
    const char *addr = getenv("DBUS_SYSTEM_BUS_ADDRESS");
    if (addr == NULL || addr[0] == '\0') {
        addr = DEFAULT_SYSTEM_BUS;
    }
    DBusError err;
    dbus_error_init(&err);
    DBusConnection *c = dbus_connection_open_private(addr, &err);
    if (c == NULL) {
        if (!vd->outage_logged) {
            log_warn("D-Bus: cannot connect to the system bus at %s: %s; retrying every %u s", addr,
                     err.message != NULL ? err.message : "unknown error",
                     VENUS_DBUS_RETRY_MS / 1000u);
            vd->outage_logged = true;
        }
        dbus_error_free(&err);
        vd->retry_us = now_us + (uint64_t)VENUS_DBUS_RETRY_MS * 1000u;
        return;
    }
    vd->conn = c;
    dbus_connection_set_exit_on_disconnect(c, FALSE);
    dbus_connection_set_max_received_size(c, (long)VENUS_DBUS_MAX_RECEIVED);
    if (!dbus_connection_set_watch_functions(c, add_watch, remove_watch, toggle_watch, vd, NULL) ||
        !dbus_connection_set_timeout_functions(c, add_timeout, remove_timeout, toggle_timeout, vd,
                                               NULL) ||
        !dbus_connection_add_filter(c, on_filter, vd, NULL)) {
        bus_lost(vd, "out of memory setting up the connection", now_us);
        return;
    }
    static const DBusObjectPathVTable vtable = {.message_function = on_object};
    if (!dbus_connection_register_fallback(c, "/", &vtable, vd)) {
        bus_lost(vd, "out of memory registering the object", now_us);
        return;
    }
    DBusMessage *hello = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
                                                      DBUS_INTERFACE_DBUS, "Hello");
    if (!call(vd, hello, CALL_HELLO, HELLO_TIMEOUT_MS)) {
        bus_lost(vd, "cannot send Hello", now_us);
        return;
    }
    vd->state = ST_CONNECTING;
}

static void add_setting(venus_dbus_t *vd, uint64_t now_us)
{
    DBusMessage *m =
        dbus_message_new_method_call(SETTINGS_NAME, "/Settings", SETTINGS_IFACE, "AddSetting");
    if (m == NULL) {
        bus_lost(vd, "out of memory", now_us);
        return;
    }
    char def[32];
    snprintf(def, sizeof def, "battery:%d", (int)vd->cfg.preferred_instance);
    const char *group = "";
    const char *name = vd->setting;
    const char *defp = def;
    const char *type = "s";
    dbus_int32_t zero = 0;
    DBusMessageIter it;
    DBusMessageIter var;
    dbus_message_iter_init_append(m, &it);
    bool ok = dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &group) &&
              dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &name) &&
              dbus_message_iter_open_container(&it, DBUS_TYPE_VARIANT, "s", &var) &&
              dbus_message_iter_append_basic(&var, DBUS_TYPE_STRING, &defp) &&
              dbus_message_iter_close_container(&it, &var) &&
              dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &type);
    for (int k = 0; ok && k < 2; k++) {
        ok = dbus_message_iter_open_container(&it, DBUS_TYPE_VARIANT, "i", &var) &&
             dbus_message_iter_append_basic(&var, DBUS_TYPE_INT32, &zero) &&
             dbus_message_iter_close_container(&it, &var);
    }
    if (!ok) {
        dbus_message_unref(m);
        bus_lost(vd, "out of memory", now_us);
        return;
    }
    if (!call(vd, m, CALL_ADD_SETTING, (int)VENUS_DBUS_SETTINGS_TIMEOUT_MS)) {
        bus_lost(vd, "cannot send AddSetting", now_us);
        return;
    }
    if (!vd->renegotiating) {
        vd->state = ST_NEGOTIATING;
    }
}

/* No answer from localsettings: the instance we had, else the preferred. */
static void settings_failed(venus_dbus_t *vd, const char *why)
{
    if (vd->renegotiating) {
        vd->renegotiating = false;
        log_warn("D-Bus: no device instance from %s (%s): keeping %d", SETTINGS_NAME, why,
                 (int)vd->instance);
        return;
    }
    if (!vd->have_instance) {
        vd->instance = vd->cfg.preferred_instance;
        vd->have_instance = true;
    }
    log_warn("D-Bus: no device instance from %s (%s): using %d%s", SETTINGS_NAME, why,
             (int)vd->instance,
             vd->instance == vd->cfg.preferred_instance ? ", the preferred one" : "");
    vd->state = ST_WAIT_ITEMS;
    vd->retry_us = 0;
}

static void start_claim(venus_dbus_t *vd)
{
    patch_instance(vd);
    DBusMessage *m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
                                                  DBUS_INTERFACE_DBUS, "RequestName");
    const char *n = vd->name;
    dbus_uint32_t flags = DBUS_NAME_FLAG_DO_NOT_QUEUE;
    if (m == NULL || !dbus_message_append_args(m, DBUS_TYPE_STRING, &n, DBUS_TYPE_UINT32, &flags,
                                               DBUS_TYPE_INVALID)) {
        if (m != NULL) {
            dbus_message_unref(m);
        }
        return;
    }
    if (call(vd, m, CALL_REQUEST_NAME, HELLO_TIMEOUT_MS)) {
        vd->state = ST_CLAIMING;
    }
}

static const char *error_text(DBusMessage *r, char *buf, size_t cap)
{
    const char *name = dbus_message_get_error_name(r);
    const char *msg = NULL;
    (void)dbus_message_get_args(r, NULL, DBUS_TYPE_STRING, &msg, DBUS_TYPE_INVALID);
    snprintf(buf, cap, "%s%s%s", name != NULL ? name : "error", msg != NULL ? ": " : "",
             msg != NULL ? msg : "");
    return buf;
}

static void on_reply(venus_dbus_t *vd, vd_call_t kind, DBusMessage *r, uint64_t now_us)
{
    bool is_error = dbus_message_get_type(r) == DBUS_MESSAGE_TYPE_ERROR;
    char why[256];
    switch (kind) {
    case CALL_HELLO:
        if (is_error) {
            char line[300];
            snprintf(line, sizeof line, "the bus refused or did not answer Hello (%.200s)",
                     error_text(r, why, sizeof why));
            bus_lost(vd, line, now_us);
            return;
        }
        log_info("D-Bus: connected to the system bus");
        vd->outage_logged = false;
        {
            char rule[512];
            snprintf(rule, sizeof rule,
                     "type='signal',sender='" SETTINGS_NAME "',interface='" BUSITEM
                     "',member='PropertiesChanged',path='%s'",
                     vd->setting_path);
            add_match(vd, rule);
            add_match(vd, "type='signal',sender='" SETTINGS_NAME "',interface='" BUSITEM
                          "',member='ItemsChanged',path='/'");
            add_match(vd,
                      "type='signal',sender='" DBUS_SERVICE_DBUS "',interface='" DBUS_INTERFACE_DBUS
                      "',member='NameOwnerChanged',arg0='" SETTINGS_NAME "'");
        }
        add_setting(vd, now_us);
        return;
    case CALL_ADD_SETTING: {
        if (is_error) {
            settings_failed(vd, error_text(r, why, sizeof why));
            return;
        }
        const char *sender = dbus_message_get_sender(r);
        snprintf(vd->settings_owner, sizeof vd->settings_owner, "%s", sender != NULL ? sender : "");
        DBusMessage *m =
            dbus_message_new_method_call(SETTINGS_NAME, vd->setting_path, BUSITEM, "GetValue");
        if (!call(vd, m, CALL_GET_SETTING, (int)VENUS_DBUS_SETTINGS_TIMEOUT_MS)) {
            settings_failed(vd, "cannot send GetValue");
        }
        return;
    }
    case CALL_GET_SETTING: {
        int32_t inst = 0;
        DBusMessageIter it;
        if (is_error) {
            settings_failed(vd, error_text(r, why, sizeof why));
            return;
        }
        if (!dbus_message_iter_init(r, &it) || !variant_instance(&it, &inst)) {
            settings_failed(vd, "its value is not \"class:number\"");
            return;
        }
        if (vd->renegotiating) {
            /* localsettings came (back): its word counts, re-announced if new. */
            vd->renegotiating = false;
            log_info("D-Bus: %s answered: device instance %d", SETTINGS_NAME, (int)inst);
            instance_changed(vd, inst);
            return;
        }
        if (inst != vd->cfg.preferred_instance) {
            log_info("D-Bus: device instance %d (from %s; %d was asked for)", (int)inst,
                     SETTINGS_NAME, (int)vd->cfg.preferred_instance);
        } else {
            log_info("D-Bus: device instance %d (from %s)", (int)inst, SETTINGS_NAME);
        }
        vd->instance = inst;
        vd->have_instance = true;
        vd->state = ST_WAIT_ITEMS;
        vd->retry_us = 0;
        return;
    }
    case CALL_REQUEST_NAME: {
        dbus_uint32_t res = 0;
        if (!is_error &&
            dbus_message_get_args(r, NULL, DBUS_TYPE_UINT32, &res, DBUS_TYPE_INVALID) &&
            (res == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER ||
             res == DBUS_REQUEST_NAME_REPLY_ALREADY_OWNER)) {
            vd->state = ST_ANNOUNCED;
            log_info("D-Bus: %s on the bus (device instance %d, %zu paths)", vd->name,
                     (int)vd->instance, vd->n_items);
            return;
        }
        log_error("D-Bus: cannot claim %s: %s; retrying every %u s", vd->name,
                  is_error ? error_text(r, why, sizeof why) : "another program holds it",
                  VENUS_DBUS_RETRY_MS / 1000u);
        vd->state = ST_WAIT_ITEMS;
        vd->retry_us = now_us + (uint64_t)VENUS_DBUS_RETRY_MS * 1000u;
        return;
    }
    case CALL_NONE:
    default:
        return;
    }
}

/* ---- public ---- */

venus_dbus_t *venus_dbus_create(const venus_dbus_config_t *cfg, uint64_t now_us)
{
    if (cfg == NULL || !valid_suffix(cfg->suffix)) {
        return NULL;
    }
    venus_dbus_t *vd = calloc(1, sizeof *vd);
    if (vd == NULL) {
        return NULL;
    }
    vd->cfg = *cfg;
    vd->cfg.suffix[sizeof vd->cfg.suffix - 1u] = '\0';
    vd->cfg.items.custom_name[sizeof vd->cfg.items.custom_name - 1u] = '\0';
    snprintf(vd->name, sizeof vd->name, NAME_PREFIX "%s", vd->cfg.suffix);
    /* Object path elements are [A-Za-z0-9_]: '-' of the suffix becomes '_'. */
    char uid[96];
    snprintf(uid, sizeof uid, "tinybms_%s", vd->cfg.suffix);
    for (char *p = uid; *p != '\0'; p++) {
        if (*p == '-') {
            *p = '_';
        }
    }
    snprintf(vd->setting, sizeof vd->setting, "Devices/%s/ClassAndVrmInstance", uid);
    snprintf(vd->setting_path, sizeof vd->setting_path, "/Settings/%s", vd->setting);
    vd->instance = cfg->preferred_instance;
    vd->state = ST_DISCONNECTED;
    vd->retry_us = now_us;
    vd->claim_us = now_us + (uint64_t)VENUS_DBUS_CLAIM_WAIT_MS * 1000u;
    return vd;
}

void venus_dbus_destroy(venus_dbus_t *vd)
{
    if (vd == NULL) {
        return;
    }
    if (vd->conn != NULL && (vd->state == ST_ANNOUNCED || vd->state == ST_CLAIMING) &&
        dbus_connection_get_is_connected(vd->conn)) {
        DBusMessage *m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
                                                      DBUS_INTERFACE_DBUS, "ReleaseName");
        const char *n = vd->name;
        if (m != NULL && dbus_message_append_args(m, DBUS_TYPE_STRING, &n, DBUS_TYPE_INVALID)) {
            dbus_message_set_no_reply(m, TRUE);
            (void)dbus_connection_send(vd->conn, m, NULL);
            dbus_connection_flush(vd->conn);
            log_info("D-Bus: %s released", vd->name);
        }
        if (m != NULL) {
            dbus_message_unref(m);
        }
    }
    drop_connection(vd);
    free(vd);
}

size_t venus_dbus_pollfds(venus_dbus_t *vd, struct pollfd *out, size_t cap)
{
    size_t k = 0;
    if (vd == NULL || out == NULL) {
        return 0;
    }
    bool paused = vd->conn != NULL &&
                  dbus_connection_get_outgoing_size(vd->conn) > (long)VENUS_DBUS_MAX_OUTGOING;
    for (size_t i = 0; i < vd->n_watch && k < cap && k < VENUS_DBUS_MAX_FDS; i++) {
        DBusWatch *w = vd->watch[i];
        if (!dbus_watch_get_enabled(w)) {
            continue;
        }
        unsigned flags = dbus_watch_get_flags(w);
        short ev = 0;
        if ((flags & DBUS_WATCH_READABLE) != 0u && !paused) {
            ev |= POLLIN;
        }
        if ((flags & DBUS_WATCH_WRITABLE) != 0u) {
            ev |= POLLOUT;
        }
        if (ev == 0) {
            continue;
        }
        out[k] = (struct pollfd){.fd = dbus_watch_get_unix_fd(w), .events = ev};
        vd->polled[k] = w;
        k++;
    }
    vd->n_polled = k;
    vd->polled_gen = vd->watch_gen;
    return k;
}

uint64_t venus_dbus_next_us(const venus_dbus_t *vd)
{
    if (vd == NULL) {
        return UINT64_MAX;
    }
    if (vd->conn == NULL) {
        return vd->retry_us;
    }
    if (vd->lost || (vd->pending != NULL && dbus_pending_call_get_completed(vd->pending))) {
        return 0;
    }
    if (vd->renegotiate && vd->pending == NULL &&
        (vd->state == ST_WAIT_ITEMS || vd->state == ST_ANNOUNCED)) {
        return 0;
    }
    bool paused = dbus_connection_get_outgoing_size(vd->conn) > (long)VENUS_DBUS_MAX_OUTGOING;
    if (!paused && dbus_connection_get_dispatch_status(vd->conn) == DBUS_DISPATCH_DATA_REMAINS) {
        return 0;
    }
    uint64_t next = UINT64_MAX;
    if (vd->state == ST_WAIT_ITEMS && vd->n_items > 0u) {
        next = vd->retry_us;
        if (!vd->seen_valid && vd->claim_us > next) {
            next = vd->claim_us;
        }
    }
    for (size_t i = 0; i < vd->n_timeout; i++) {
        if (dbus_timeout_get_enabled(vd->timeout[i].t) && vd->timeout[i].due_us < next) {
            next = vd->timeout[i].due_us;
        }
    }
    return next;
}

static void run_timeouts(venus_dbus_t *vd)
{
    /* A handled timeout may add or remove others: rescan after each. */
    for (unsigned guard = 0; guard < MAX_TIMEOUTS; guard++) {
        uint64_t now = mono_us();
        vd_timeout_t *due = NULL;
        for (size_t i = 0; i < vd->n_timeout; i++) {
            if (dbus_timeout_get_enabled(vd->timeout[i].t) && vd->timeout[i].due_us <= now) {
                due = &vd->timeout[i];
                break;
            }
        }
        if (due == NULL) {
            return;
        }
        DBusTimeout *t = due->t;
        due->due_us = now + (uint64_t)dbus_timeout_get_interval(t) * 1000u;
        (void)dbus_timeout_handle(t);
    }
}

void venus_dbus_handle(venus_dbus_t *vd, const struct pollfd *pfd, size_t n, uint64_t now_us)
{
    if (vd == NULL) {
        return;
    }
    if (vd->conn == NULL) {
        if (vd->state == ST_DISCONNECTED && now_us >= vd->retry_us) {
            try_connect(vd, now_us);
        }
        return;
    }
    for (size_t k = 0; pfd != NULL && k < n && k < vd->n_polled; k++) {
        if (vd->watch_gen != vd->polled_gen) {
            break; /* a watch went: the rest are read at the next turn */
        }
        short re = pfd[k].revents;
        if (re == 0) {
            continue;
        }
        unsigned flags = 0;
        if ((re & POLLIN) != 0) {
            flags |= DBUS_WATCH_READABLE;
        }
        if ((re & POLLOUT) != 0) {
            flags |= DBUS_WATCH_WRITABLE;
        }
        if ((re & POLLERR) != 0) {
            flags |= DBUS_WATCH_ERROR;
        }
        if ((re & (POLLHUP | POLLNVAL)) != 0) {
            flags |= DBUS_WATCH_HANGUP;
        }
        (void)dbus_watch_handle(vd->polled[k], flags);
    }
    vd->n_polled = 0;
    run_timeouts(vd);
    /* Bounded: a flood is answered VENUS_DBUS_BUDGET messages per turn,
     * and not at all while our replies pile up unwritten. */
    for (unsigned i = 0; i < VENUS_DBUS_BUDGET && vd->conn != NULL && !vd->lost; i++) {
        if (dbus_connection_get_outgoing_size(vd->conn) > (long)VENUS_DBUS_MAX_OUTGOING) {
            break;
        }
        if (dbus_connection_dispatch(vd->conn) != DBUS_DISPATCH_DATA_REMAINS) {
            break;
        }
        if (vd->pending != NULL && dbus_pending_call_get_completed(vd->pending)) {
            break; /* our own reply first (it may change the state) */
        }
    }
    if (vd->pending != NULL && dbus_pending_call_get_completed(vd->pending)) {
        DBusPendingCall *p = vd->pending;
        vd_call_t kind = vd->call;
        vd->pending = NULL;
        vd->call = CALL_NONE;
        DBusMessage *r = dbus_pending_call_steal_reply(p);
        dbus_pending_call_unref(p);
        if (r != NULL) {
            on_reply(vd, kind, r, now_us);
            dbus_message_unref(r);
        }
    }
    if (vd->conn != NULL && (vd->lost || !dbus_connection_get_is_connected(vd->conn))) {
        bus_lost(vd, "the system bus went away", now_us);
        return;
    }
    if (vd->renegotiate && vd->pending == NULL &&
        (vd->state == ST_WAIT_ITEMS || vd->state == ST_ANNOUNCED)) {
        vd->renegotiate = false;
        vd->renegotiating = true;
        add_setting(vd, now_us);
        return;
    }
    if (vd->state == ST_WAIT_ITEMS && vd->n_items > 0u && vd->pending == NULL &&
        now_us >= vd->retry_us && (vd->seen_valid || now_us >= vd->claim_us)) {
        start_claim(vd);
    }
}

void venus_dbus_publish(venus_dbus_t *vd, const status_t *st)
{
    if (vd == NULL || st == NULL) {
        return;
    }
    venus_config_t vc = vd->cfg.items;
    vc.device_instance = vd->instance;
    size_t n = venus_items_build(st, &vc, vd->next, VENUS_ITEMS_MAX);
    for (size_t i = 0; i < n; i++) {
        valid_utf8(vd->next[i].s);
        valid_utf8(vd->next[i].text);
    }
    if (n == 0u) {
        if (!vd->build_failed_logged) {
            log_error("D-Bus: the battery's items could not be built; nothing published");
            vd->build_failed_logged = true;
        }
        return;
    }
    if (vd->state == ST_ANNOUNCED && vd->conn != NULL) {
        size_t idx[VENUS_ITEMS_MAX];
        size_t k = 0;
        bool same_layout = n == vd->n_items;
        for (size_t i = 0; same_layout && i < n; i++) {
            same_layout = strcmp(vd->next[i].path, vd->items[i].path) == 0;
        }
        for (size_t i = 0; i < n; i++) {
            if (!same_layout || !same_item(&vd->next[i], &vd->items[i])) {
                idx[k++] = i;
            }
        }
        emit_changed(vd, vd->next, idx, k);
    }
    memcpy(vd->items, vd->next, n * sizeof vd->items[0]);
    vd->n_items = n;
    vd->seen_valid = vd->seen_valid || st->data_valid;
}

const char *venus_dbus_state_name(const venus_dbus_t *vd)
{
    if (vd == NULL) {
        return "off";
    }
    switch (vd->state) {
    case ST_CONNECTING:
        return "connecting";
    case ST_NEGOTIATING:
        return "negotiating";
    case ST_WAIT_ITEMS:
        return "waiting for items";
    case ST_CLAIMING:
        return "claiming";
    case ST_ANNOUNCED:
        return "announced";
    case ST_DISCONNECTED:
    default:
        return "disconnected";
    }
}
