/* vtime: clocks and time stamps shared by every Vigil part.
 *
 * Profiler stamps (T00..T09) are CLOCK_MONOTONIC nanoseconds, which every
 * process on one host reads from the same clock, so stamps taken by the
 * monitor, inspector, notifier and consumer can be subtracted directly.
 * Wall-clock times travel on the wire as ISO-8601 strings. */
#ifndef VIGIL_VTIME_H
#define VIGIL_VTIME_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC). Thread-safe. */
int64_t vtime_mono_ns(void);

/* Wall-clock time in nanoseconds since the epoch (CLOCK_REALTIME). */
int64_t vtime_real_ns(void);

/* Formats 'real_ns' (epoch ns) as UTC ISO-8601 with microseconds,
 * e.g. "2026-11-22T01:53:07.123456Z", into 'buf' (at least
 * VTIME_ISO_SIZE bytes). Returns 'buf'. */
#define VTIME_ISO_SIZE 32
char *vtime_format_iso(int64_t real_ns, char *buf, size_t size);

/* Parses an ISO-8601 date-time: "YYYY-MM-DDTHH:MM:SS" with optional
 * fraction (up to 9 digits) and optional zone ("Z", "+HH:MM", "+HHMM");
 * a time without a zone is taken as UTC (Python's isoformat(), as OPNFV
 * Doctor's sample monitor sends it). A space may replace the 'T'.
 * On success stores epoch nanoseconds in '*real_ns' and returns 0;
 * returns -EINVAL for anything else. */
int vtime_parse_iso(const char *text, int64_t *real_ns);

#endif
