/* resv_time: the times of vigil-reservation, in whole seconds since the
 * epoch (UTC), and their two wire forms.
 *
 * Clients may send a time as a JSON integer (epoch seconds) or as an
 * ISO-8601 string "YYYY-MM-DDTHH:MM:SS" with an optional fraction that
 * must be zero (bookings have one-second precision) and an optional zone
 * ("Z", "+HH:MM", "+HHMM", "-..."; none means UTC); a space may replace
 * the 'T'. Every time lies in [RESV_TIME_MIN, RESV_TIME_MAX], 1970-01-01
 * to the last second of 9999. The service answers with
 * "YYYY-MM-DDTHH:MM:SSZ". Pure functions, thread-safe. */
#ifndef VIGIL_RESERVATION_RESV_TIME_H
#define VIGIL_RESERVATION_RESV_TIME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define RESV_TIME_MIN INT64_C(0)
#define RESV_TIME_MAX INT64_C(253402300799)   /* 9999-12-31T23:59:59Z */
#define RESV_TIME_SIZE 24                     /* formatted, with NUL */

/* Parses 'text' (epoch seconds in decimal, or ISO-8601 as above) into
 * '*out'. 0 or -EINVAL (malformed, sub-second, or out of range). */
int resv_time_parse(const char *text, int64_t *out);

/* The same from a JSON integer or string. 0 or -EINVAL. */
int resv_time_from_json(const json_t *value, int64_t *out);

/* Formats 't' (in range) as "YYYY-MM-DDTHH:MM:SSZ" into 'buf' of at
 * least RESV_TIME_SIZE bytes; returns 'buf'. */
char *resv_time_format(int64_t t, char *buf, size_t size);

/* A JSON string of resv_time_format(). New reference, NULL on failure. */
json_t *resv_time_to_json(int64_t t);

/* The current wall-clock second. */
int64_t resv_time_now(void);

#endif
