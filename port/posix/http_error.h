/*
 * http_error.h - the body of an error answer, {"success":false,"error":
 * "<message>"}, the same on both web servers (civetweb on Linux,
 * esp_http_server on the ESP32; docs/api.md "Conventions").
 */
#ifndef HTTP_ERROR_H
#define HTTP_ERROR_H

/* Longest message kept (bytes); a longer one is cut. */
#define HTTP_ERROR_MESSAGE_MAX 1000u

/* The body for msg, JSON-escaped, malloc'd (the caller frees); NULL when
 * out of memory. A NULL msg is an empty message. */
char *http_error_json(const char *msg);

#endif /* HTTP_ERROR_H */
