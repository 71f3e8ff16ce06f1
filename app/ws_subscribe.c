/* The WebSocket subscribe message (ws_subscribe.h). */
#include "ws_subscribe.h"

#include <string.h>

/* 0 for "key":false / "key": false, 1 for true (false wins when both are
 * there, as the Linux server always did), -1 when text names neither. */
static int flag(const char *text, const char *key)
{
    static const char *const tails[] = {":false", ": false", ":true", ": true"};
    char want[32];
    size_t kl = strlen(key);
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        size_t tl = strlen(tails[i]);
        if (kl + 2u + tl >= sizeof want) {
            continue;
        }
        want[0] = '"';
        memcpy(want + 1, key, kl);
        want[kl + 1u] = '"';
        memcpy(want + kl + 2u, tails[i], tl + 1u);
        if (strstr(text, want) != NULL) {
            return i < 2u ? 0 : 1;
        }
    }
    return -1;
}

bool ws_subscribe_apply(const char *msg, size_t len, ws_sub_t *sub)
{
    if (msg == NULL || sub == NULL || len > WS_SUBSCRIBE_MAX) {
        return false;
    }
    char buf[WS_SUBSCRIBE_MAX + 1u];
    memcpy(buf, msg, len);
    buf[len] = '\0';
    if (strstr(buf, "\"subscribe\"") == NULL) {
        return false;
    }
    int can = flag(buf, "can");
    int status = flag(buf, "status");
    if (can >= 0) {
        sub->can = can == 1;
    }
    if (status >= 0) {
        sub->status = status == 1;
    }
    return true;
}
