/* Nesting check before cJSON (json_guard.h). */
#include "json_guard.h"

bool json_depth_ok(const char *text, size_t len, unsigned max_depth)
{
    if (text == NULL) {
        return true;
    }
    unsigned depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\') {
                i++; /* the escaped character, whatever it is */
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) {
                return false;
            }
        } else if ((c == ']' || c == '}') && depth > 0u) {
            depth--;
        }
    }
    return true;
}
