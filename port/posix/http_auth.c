/* HTTP Basic / Bearer credential checks (RFC 7617, RFC 6750). */
#include "http_auth.h"

#include <string.h>
#include <strings.h>

bool http_auth_equal(const char *a, const char *b)
{
    size_t la = strlen(a);
    size_t lb = strlen(b);
    unsigned d = la != lb ? 1u : 0u;
    for (size_t i = 0; i < la; i++) {
        unsigned char cb = i < lb ? (unsigned char)b[i] : 0u;
        d |= (unsigned)((unsigned char)a[i] ^ cb);
    }
    return d == 0u;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

int http_auth_base64_decode(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in);
    if (n % 4u != 0u || cap == 0u) {
        return -1;
    }
    size_t len = 0;
    for (size_t i = 0; i < n; i += 4u) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char c = in[i + (size_t)k];
            if (c == '=' && i + 4u == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad > 0 || (v[k] = b64_value(c)) < 0) {
                return -1;
            }
        }
        unsigned triple = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 |
                          (unsigned)v[3];
        int bytes = 3 - pad;
        if (len + (size_t)bytes >= cap) {
            return -1;
        }
        for (int k = 0; k < bytes; k++) {
            out[len++] = (char)((triple >> (16 - 8 * k)) & 0xFFu);
        }
    }
    out[len] = '\0';
    return (int)len;
}

static const char *after_scheme(const char *h, const char *scheme)
{
    size_t n = strlen(scheme);
    if (strncasecmp(h, scheme, n) != 0 || h[n] != ' ') {
        return NULL;
    }
    h += n;
    while (*h == ' ') {
        h++;
    }
    return h;
}

http_auth_t http_auth_check(const char *header, const char *query_token, const char *user,
                            const char *password, const char *token)
{
    bool basic_set = user[0] != '\0' && password[0] != '\0';
    bool token_set = token[0] != '\0';
    if (!basic_set && !token_set) {
        return HTTP_AUTH_UNSET;
    }
    if (header == NULL || header[0] == '\0') {
        if (query_token == NULL || query_token[0] == '\0') {
            return HTTP_AUTH_MISSING;
        }
        return token_set && http_auth_equal(query_token, token) ? HTTP_AUTH_OK : HTTP_AUTH_WRONG;
    }
    const char *v = after_scheme(header, "Bearer");
    if (v != NULL) {
        return token_set && http_auth_equal(v, token) ? HTTP_AUTH_OK : HTTP_AUTH_WRONG;
    }
    v = after_scheme(header, "Basic");
    if (v == NULL || !basic_set) {
        return HTTP_AUTH_WRONG;
    }
    char plain[512];
    if (http_auth_base64_decode(v, plain, sizeof plain) < 0) {
        return HTTP_AUTH_WRONG;
    }
    char *colon = strchr(plain, ':');
    if (colon == NULL) {
        return HTTP_AUTH_WRONG;
    }
    *colon = '\0';
    /* Both compared whatever the first gives, so timing tells nothing. */
    bool user_ok = http_auth_equal(plain, user);
    bool pass_ok = http_auth_equal(colon + 1, password);
    memset(plain, 0, sizeof plain);
    return user_ok && pass_ok ? HTTP_AUTH_OK : HTTP_AUTH_WRONG;
}
