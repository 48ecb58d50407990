/* jsonw: JSON text writer (see jsonw.h). */
#include "jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
jsonw_init(struct jsonw *w, size_t capacity)
{
    memset(w, 0, sizeof *w);
    if (capacity) {
        w->data = malloc(capacity);
        if (!w->data) {
            w->failed = true;
            return;
        }
        w->capacity = capacity;
        w->data[0] = '\0';
    }
}

void
jsonw_free(struct jsonw *w)
{
    free(w->data);
    memset(w, 0, sizeof *w);
}

/* Room for 'more' bytes plus the NUL; false (and failed) when not. */
static bool
jsonw_reserve(struct jsonw *w, size_t more)
{
    size_t need, capacity;
    char *data;

    if (w->failed) {
        return false;
    }
    if (more > SIZE_MAX / 2 - w->length) {
        w->failed = true;
        return false;
    }
    need = w->length + more + 1;
    if (need <= w->capacity) {
        return true;
    }
    capacity = w->capacity ? w->capacity : 256;
    while (capacity < need) {
        capacity *= 2;
    }
    data = realloc(w->data, capacity);
    if (!data) {
        w->failed = true;
        return false;
    }
    w->data = data;
    w->capacity = capacity;
    return true;
}

void
jsonw_raw(struct jsonw *w, const char *text, size_t size)
{
    if (!jsonw_reserve(w, size)) {
        return;
    }
    memcpy(w->data + w->length, text, size);
    w->length += size;
    w->data[w->length] = '\0';
}

void
jsonw_literal(struct jsonw *w, const char *text)
{
    jsonw_raw(w, text, strlen(text));
}

/* The escape of byte 'c' (NULL when it goes as it is) in 'buf'. */
static const char *
jsonw_escape(unsigned char c, char buf[8])
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        if (c < 0x20) {
            snprintf(buf, 8, "\\u%04x", c);
            return buf;
        }
        return NULL;
    }
}

void
jsonw_string(struct jsonw *w, const char *text)
{
    const char *run = text;
    char buf[8];

    jsonw_raw(w, "\"", 1);
    for (const char *p = text; *p; p++) {
        const char *escape = jsonw_escape((unsigned char) *p, buf);

        if (escape) {
            jsonw_raw(w, run, (size_t) (p - run));
            jsonw_literal(w, escape);
            run = p + 1;
        }
    }
    jsonw_raw(w, run, strlen(run));
    jsonw_raw(w, "\"", 1);
}

void
jsonw_int(struct jsonw *w, int64_t value)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%" PRId64, value);

    jsonw_raw(w, buf, (size_t) n);
}

/* A real as jansson dumps it: %.17g, with ".0" when that reads as an
 * integer, and the exponent without '+' or leading zeros ("1e300"). */
static void
jsonw_real(struct jsonw *w, double value)
{
    char buf[40], *e, *digits, *end;

    snprintf(buf, sizeof buf, "%.17g", value);
    e = strchr(buf, 'e');
    if (e) {
        digits = e + 1;
        if (*digits == '+') {
            memmove(digits, digits + 1, strlen(digits));
        } else if (*digits == '-') {
            digits++;
        }
        for (end = digits; *end == '0' && end[1]; end++) {
        }
        memmove(digits, end, strlen(end) + 1);
    }
    jsonw_literal(w, buf);
    if (!strpbrk(buf, ".en")) {
        jsonw_raw(w, ".0", 2);
    }
}

void
jsonw_value(struct jsonw *w, const json_t *value)
{
    char *text;

    switch (json_typeof(value)) {
    case JSON_STRING:
        jsonw_string(w, json_string_value(value));
        break;
    case JSON_INTEGER:
        jsonw_int(w, json_integer_value(value));
        break;
    case JSON_REAL:
        jsonw_real(w, json_real_value(value));
        break;
    case JSON_TRUE:
        jsonw_literal(w, "true");
        break;
    case JSON_FALSE:
        jsonw_literal(w, "false");
        break;
    case JSON_NULL:
        jsonw_literal(w, "null");
        break;
    case JSON_OBJECT:
    case JSON_ARRAY:
    default:
        text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text) {
            w->failed = true;
            return;
        }
        jsonw_literal(w, text);
        free(text);
        break;
    }
}

char *
jsonw_finish(struct jsonw *w, size_t *length)
{
    char *data;

    if (w->failed || !jsonw_reserve(w, 0)) {
        jsonw_free(w);
        return NULL;
    }
    w->data[w->length] = '\0';
    data = w->data;
    if (length) {
        *length = w->length;
    }
    memset(w, 0, sizeof *w);
    return data;
}
