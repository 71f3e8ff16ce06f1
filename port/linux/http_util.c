/*
 * What the server's parts share (http_internal.h): the clock, sending a
 * JSON answer, the credentials check, the CAN monitor document. Kept apart
 * from http_server.c so that the API and the WebSocket depend on this file
 * and not on each other or on the server: server -> api, ws -> util.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "config.h"
#include "http_auth.h"
#include "http_error.h"
#include "http_internal.h"

int http_send_json(struct mg_connection *c, int status, const char *body, const char *headers)
{
    size_t len = strlen(body);
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s\r\n",
                      status, mg_get_response_code_text(c, status), len,
                      headers != NULL ? headers : "");
    if (hn < 0 || (size_t)hn >= sizeof head) {
        return http_send_error(c, 500, "response header too long");
    }
    /* One write for header and body: one TCP segment train, no stall. */
    char *all = malloc((size_t)hn + len);
    if (all == NULL) {
        mg_write(c, head, (size_t)hn);
        mg_write(c, body, len);
        return status;
    }
    memcpy(all, head, (size_t)hn);
    memcpy(all + hn, body, len);
    mg_write(c, all, (size_t)hn + len);
    free(all);
    return status;
}

int http_send_error(struct mg_connection *c, int status, const char *msg)
{
    char *body = http_error_json(msg);
    int rc = http_send_json(c, status,
                            body != NULL ? body : "{\"success\":false,\"error\":\"out of memory\"}",
                            NULL);
    free(body);
    return rc;
}

static const char *query_token(const struct mg_request_info *ri, char *buf, size_t cap)
{
    if (ri->query_string == NULL ||
        mg_get_var(ri->query_string, strlen(ri->query_string), "token", buf, cap) <= 0) {
        return NULL;
    }
    return buf;
}

int http_require_auth(struct http_server *s, struct mg_connection *c, bool write)
{
    cfg_t *cfg = malloc(sizeof *cfg);
    if (cfg == NULL) {
        return http_send_error(c, 503, "out of memory");
    }
    hub_get_running_config(s->hub, cfg);
    int rc = 0;
    if (write || cfg->web_server.auth_read) {
        const struct mg_request_info *ri = mg_get_request_info(c);
        char tok[CFG_SECRET_LEN];
        http_auth_t a = http_auth_check(mg_get_header(c, "Authorization"),
                                        query_token(ri, tok, sizeof tok), cfg->web_server.username,
                                        cfg->web_server.password, cfg->web_server.token);
        if (a == HTTP_AUTH_UNSET && write) {
            char msg[4300];
            snprintf(msg, sizeof msg,
                     "writes are disabled: no credentials configured; set "
                     "web_server.username/password or web_server.token in the config file (%s) "
                     "and restart the bridge",
                     s->config_path);
            rc = http_send_error(c, 403, msg);
        } else if (a == HTTP_AUTH_MISSING || a == HTTP_AUTH_WRONG) {
            char body[300];
            snprintf(body, sizeof body,
                     "{\"success\":false,\"error\":\"%s\"}",
                     a == HTTP_AUTH_MISSING
                         ? "authentication required: HTTP Basic (web_server.username/password) "
                           "or Authorization: Bearer <web_server.token>"
                         : "wrong credentials");
            /* The challenge makes a browser open its own login box; a script
             * that sent credentials (or says it is one) handles 401 itself. */
            bool challenge = mg_get_header(c, "Authorization") == NULL &&
                             mg_get_header(c, "X-Requested-With") == NULL;
            rc = http_send_json(c, 401, body,
                                challenge ? "WWW-Authenticate: Basic realm=\"tinybms-bridge\"\r\n"
                                          : NULL);
        }
    }
    memset(cfg, 0, sizeof *cfg);
    free(cfg);
    return rc;
}

char *http_can_json(const hub_can_entry_t *e, size_t n, uint64_t last_seq, bool ws_message)
{
    api_can_entry_t *a = malloc((n > 0 ? n : 1u) * sizeof *a);
    if (a == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        a[i] = (api_can_entry_t){.seq = e[i].seq, .t_ms = e[i].t_ms, .tx = e[i].tx,
                                 .frame = e[i].frame};
    }
    char *out = api_can_json(a, n, last_seq, ws_message);
    free(a);
    return out;
}
