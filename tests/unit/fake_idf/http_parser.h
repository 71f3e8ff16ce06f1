/* Test fake: the HTTP methods of esp_http_server's http_parser (same
 * numbers), for tests/unit/test_esp32_web.c. */
#ifndef FAKE_HTTP_PARSER_H
#define FAKE_HTTP_PARSER_H

enum http_method {
    HTTP_DELETE = 0,
    HTTP_GET = 1,
    HTTP_HEAD = 2,
    HTTP_POST = 3,
    HTTP_PUT = 4,
    HTTP_OPTIONS = 6,
};

const char *http_method_str(enum http_method m);

#endif
