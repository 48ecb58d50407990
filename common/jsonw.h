/* jsonw: writes JSON text into a growing buffer, for bodies that are sent
 * often and whose shape is fixed (the notifier's webhooks), where building
 * a jansson tree only to dump and free it again costs more than the rest
 * of the request.
 *
 * Strings are escaped as RFC 8259 requires ('"', '\\' and the control
 * characters below 0x20; "\n", "\t", ... short forms, the others \u00XX);
 * other bytes pass through unchanged: the caller gives UTF-8 (text that
 * came through jansson is). An allocation failure marks the writer failed;
 * later calls do nothing and jsonw_finish() returns NULL, so a sequence of
 * writes needs one check at its end. */
#ifndef VIGIL_JSONW_H
#define VIGIL_JSONW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsonw {
    char *data;                   /* NUL-terminated while not failed */
    size_t length;
    size_t capacity;
    bool failed;
};

/* An empty writer with room for 'capacity' bytes (0: grow on use). */
void jsonw_init(struct jsonw *w, size_t capacity);

/* Releases the buffer. */
void jsonw_free(struct jsonw *w);

/* Appends 'size' bytes as they are (JSON punctuation, ready text). */
void jsonw_raw(struct jsonw *w, const char *text, size_t size);

/* jsonw_raw() of a NUL-terminated literal. */
void jsonw_literal(struct jsonw *w, const char *text);

/* Appends 'text' as a quoted, escaped JSON string. */
void jsonw_string(struct jsonw *w, const char *text);

/* Appends a JSON integer. */
void jsonw_int(struct jsonw *w, int64_t value);

/* Appends a JSON scalar as jansson would dump it (strings, integers,
 * reals with 17 significant digits, true, false, null); an array or
 * object goes through json_dumps (compact). */
void jsonw_value(struct jsonw *w, const json_t *value);

/* The text (NUL-terminated, caller frees) and its length; the writer is
 * empty afterwards. NULL when a write failed. */
char *jsonw_finish(struct jsonw *w, size_t *length);

#endif
