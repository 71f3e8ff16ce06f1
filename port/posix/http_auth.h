/*
 * http_auth.h - checks an HTTP Authorization header against the configured
 * credentials (web_server.username/password for Basic, web_server.token
 * for Bearer). Pure: strings in, a verdict out; secrets compared in
 * constant time (for a given input length).
 */
#ifndef HTTP_AUTH_H
#define HTTP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    HTTP_AUTH_OK = 0,      /* credentials present and right */
    HTTP_AUTH_UNSET,       /* nothing configured: writes are refused (403) */
    HTTP_AUTH_MISSING,     /* credentials configured, none presented (401) */
    HTTP_AUTH_WRONG,       /* presented, but wrong or malformed (401) */
} http_auth_t;

/*
 * header: the Authorization header value or NULL. user/password/token: the
 * configured values ("" = not set; a password counts only with a user).
 * query_token: a token given another way (the WebSocket's ?token=), or NULL.
 */
http_auth_t http_auth_check(const char *header, const char *query_token, const char *user,
                            const char *password, const char *token);

/* True when a and b are equal; time depends on strlen(a) only. */
bool http_auth_equal(const char *a, const char *b);

/*
 * Decodes standard base64 (with '=' padding, no spaces) into out[cap]
 * NUL-terminated. Returns the decoded length, or -1 for invalid input or
 * a result that does not fit in cap - 1 bytes.
 */
int http_auth_base64_decode(const char *in, char *out, size_t cap);

#endif /* HTTP_AUTH_H */
