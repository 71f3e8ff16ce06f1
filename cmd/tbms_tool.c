/*
 * tbms-tool: TinyBMS frames from the command line, for people debugging a
 * link and for the Python peer tests that cross-check our codec against
 * pymodbus. Every subcommand goes through the core's public API only.
 *
 *   tbms-tool read ADDR COUNT            print a 0x03 request as hex
 *   tbms-tool write ADDR VALUE...        print a 0x10 request as hex
 *   tbms-tool cmd CMD [BYTE...]          print a proprietary request as hex
 *   tbms-tool parse-response HEX...      stream-parse bytes from a BMS
 *   tbms-tool parse-request HEX...       stream-parse bytes sent to a BMS
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tbms_frame.h"

static int usage(FILE *to)
{
    fputs("usage: tbms-tool read ADDR COUNT\n"
          "       tbms-tool write ADDR VALUE...\n"
          "       tbms-tool cmd CMD [BYTE...]\n"
          "       tbms-tool parse-response HEX...\n"
          "       tbms-tool parse-request HEX...\n"
          "Numbers may be decimal or 0x-prefixed hex. HEX arguments are byte\n"
          "strings such as 'AA 03 00 05 00 05 8C 13' or 'aa030005'; spaces and\n"
          "colons are ignored. parse-* print one line per frame or error.\n",
          to);
    return to == stderr ? 2 : 0;
}

static int parse_u16(const char *s, uint16_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || v > 0xFFFFul) {
        fprintf(stderr, "tbms-tool: '%s' is not a number from 0 to 65535\n", s);
        return -1;
    }
    *out = (uint16_t)v;
    return 0;
}

static void print_hex(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        printf("%s%02X", i ? " " : "", b[i]);
    }
    putchar('\n');
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Concatenates HEX arguments into buf; returns the byte count or -1. */
static long collect_hex(int argc, char **argv, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (int a = 0; a < argc; a++) {
        for (const char *p = argv[a]; *p; p++) {
            if (*p == ' ' || *p == ':' || *p == ',') {
                continue;
            }
            int v = hexval((unsigned char)*p);
            if (v < 0) {
                fprintf(stderr, "tbms-tool: '%c' is not a hex digit\n", *p);
                return -1;
            }
            if (hi < 0) {
                hi = v;
                continue;
            }
            if (n == cap) {
                fputs("tbms-tool: too many bytes\n", stderr);
                return -1;
            }
            buf[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0) {
        fputs("tbms-tool: odd number of hex digits\n", stderr);
        return -1;
    }
    return (long)n;
}

static void print_frame(const tbms_frame_t *f)
{
    static const char *const kinds[] = {"data", "ack", "nack"};
    printf("frame cmd=0x%02X kind=%s", f->cmd, kinds[f->kind]);
    if (f->kind == TBMS_KIND_NACK) {
        printf(" code=%u", f->nack_code);
    }
    if (f->addr || f->count) {
        printf(" addr=%u count=%u", f->addr, f->count);
    }
    uint16_t regs[TBMS_PAYLOAD_MAX / 2];
    size_t n = 0;
    if (tbms_frame_registers(f, regs, sizeof regs / sizeof regs[0], &n) == TBMS_OK) {
        printf(" regs=");
        for (size_t i = 0; i < n; i++) {
            printf("%s%u", i ? "," : "", regs[i]);
        }
    } else if (f->payload_len) {
        printf(" payload=");
        for (size_t i = 0; i < f->payload_len; i++) {
            printf("%02X", f->payload[i]);
        }
    }
    putchar('\n');
}

static int parse_stream(tbms_dir_t dir, int argc, char **argv)
{
    static uint8_t bytes[1 << 16];
    long len = collect_hex(argc, argv, bytes, sizeof bytes);
    if (len < 0) {
        return 2;
    }
    tbms_parser_t p;
    tbms_parser_init(&p, dir);
    const uint8_t *data = bytes;
    size_t left = (size_t)len;
    int bad = 0;
    for (;;) {
        size_t used = 0;
        tbms_frame_t f;
        tbms_err_t err = TBMS_OK;
        tbms_parse_status_t st = tbms_parser_push(&p, data, left, &used, &f, &err);
        data += used;
        left -= used;
        if (st == TBMS_PARSE_FRAME) {
            print_frame(&f);
        } else if (st == TBMS_PARSE_ERROR) {
            printf("error %s\n", tbms_strerror(err));
            bad = 1;
        } else {
            break;
        }
    }
    if (tbms_parser_timeout(&p) == TBMS_ERR_TRUNCATED) {
        printf("error %s\n", tbms_strerror(TBMS_ERR_TRUNCATED));
        bad = 1;
    }
    if (p.stats.garbage_bytes) {
        printf("garbage %u\n", (unsigned)p.stats.garbage_bytes);
    }
    return bad;
}

static int report(tbms_err_t e, const uint8_t *buf, size_t n)
{
    if (e != TBMS_OK) {
        fprintf(stderr, "tbms-tool: %s\n", tbms_strerror(e));
        return 1;
    }
    print_hex(buf, n);
    return 0;
}

int main(int argc, char **argv)
{
    uint8_t buf[TBMS_FRAME_MAX];
    size_t n = 0;
    if (argc < 2) {
        return usage(stderr);
    }
    const char *sub = argv[1];
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
        return usage(stdout);
    }
    if (strcmp(sub, "read") == 0 && argc == 4) {
        uint16_t addr, count;
        if (parse_u16(argv[2], &addr) || parse_u16(argv[3], &count)) {
            return 2;
        }
        tbms_err_t e = tbms_build_read(addr, count, buf, sizeof buf, &n);
        return report(e, buf, n);
    }
    if (strcmp(sub, "write") == 0 && argc >= 4) {
        uint16_t addr;
        uint16_t values[TBMS_MODBUS_WRITE_MAX + 1];
        int count = argc - 3;
        if (count > (int)TBMS_MODBUS_WRITE_MAX + 1) {
            count = (int)TBMS_MODBUS_WRITE_MAX + 1;
        }
        if (parse_u16(argv[2], &addr)) {
            return 2;
        }
        for (int i = 0; i < count; i++) {
            if (parse_u16(argv[3 + i], &values[i])) {
                return 2;
            }
        }
        tbms_err_t e = tbms_build_write(addr, values, (uint16_t)count, buf, sizeof buf, &n);
        return report(e, buf, n);
    }
    if (strcmp(sub, "cmd") == 0 && argc >= 3) {
        uint16_t cmd;
        uint8_t payload[TBMS_PAYLOAD_MAX];
        size_t plen = 0;
        if (parse_u16(argv[2], &cmd) || cmd > 0xFF) {
            return 2;
        }
        for (int i = 3; i < argc && plen < sizeof payload; i++) {
            uint16_t b;
            if (parse_u16(argv[i], &b) || b > 0xFF) {
                return 2;
            }
            payload[plen++] = (uint8_t)b;
        }
        tbms_err_t e = tbms_build_cmd((uint8_t)cmd, payload, plen, buf, sizeof buf, &n);
        return report(e, buf, n);
    }
    if (strcmp(sub, "parse-response") == 0) {
        return parse_stream(TBMS_DIR_RESPONSE, argc - 2, argv + 2);
    }
    if (strcmp(sub, "parse-request") == 0) {
        return parse_stream(TBMS_DIR_REQUEST, argc - 2, argv + 2);
    }
    return usage(stderr);
}
