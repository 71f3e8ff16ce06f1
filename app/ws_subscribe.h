/*
 * ws_subscribe.h - what a WebSocket client asks for (docs/api.md
 * "WebSocket /ws"): {"type":"subscribe","can":false} stops the CAN
 * messages for that connection ("can":true restarts them), "status"
 * likewise; anything else is ignored. A tiny fixed grammar, matched as
 * text (the key, a colon, at most one space, true or false), so a viewer
 * cannot make the server parse a large document. Pure, no state.
 */
#ifndef WS_SUBSCRIBE_H
#define WS_SUBSCRIBE_H

#include <stdbool.h>
#include <stddef.h>

#define WS_SUBSCRIBE_MAX 256u /* longer messages are ignored */

/* What one connection receives; both true when it opens. */
typedef struct {
    bool status;
    bool can;
} ws_sub_t;

/*
 * Applies the client text message msg[0..len) (need not be NUL-terminated)
 * to *sub. Returns true when it was a subscribe message (a key it does not
 * name keeps its value), false when it was ignored (not a subscribe
 * message, longer than WS_SUBSCRIBE_MAX, NULL) and *sub is untouched.
 */
bool ws_subscribe_apply(const char *msg, size_t len, ws_sub_t *sub);

#endif /* WS_SUBSCRIBE_H */
