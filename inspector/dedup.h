/* dedup: the inspector's memory of the last state reported for each fault
 * subject (an instance, a host, a host's NIC or process), used to drop
 * repeated and out-of-order reports.
 *
 * A subject's key is built by the caller (correlator.c). dedup_check()
 * answers whether a report is new: it is a duplicate when the subject's
 * last state is the same and was recorded less than 'window_ns' ago, and
 * stale when its event time is older than the last one recorded. The table
 * holds at most 'capacity' subjects; when full, entries older than the
 * window are purged, and if that frees nothing the report is let through
 * unrecorded (counted by the caller as untracked).
 *
 * Not thread-safe. */
#ifndef VIGIL_INSPECTOR_DEDUP_H
#define VIGIL_INSPECTOR_DEDUP_H

#include <stddef.h>
#include <stdint.h>

enum dedup_verdict {
    DEDUP_NEW,          /* state changed, or same state after the window */
    DEDUP_DUPLICATE,    /* same state within the window */
    DEDUP_STALE,        /* older than the last report for the subject */
    DEDUP_UNTRACKED,    /* table full: let through without memory */
    DEDUP_VERDICT_COUNT
};

struct dedup;

/* NULL on allocation failure or capacity 0. */
struct dedup *dedup_new(size_t capacity, int64_t window_ns);
void dedup_free(struct dedup *d);

/* Checks and records a report for 'key' in 'state' ("down", "up") with
 * event time 'event_ns' (wall clock) seen at 'now_ns' (monotonic). Keys and
 * states are copied. */
enum dedup_verdict dedup_check(struct dedup *d, const char *key,
                               const char *state, int64_t event_ns,
                               int64_t now_ns);

/* Subjects currently remembered. */
size_t dedup_length(const struct dedup *d);

const char *dedup_verdict_name(enum dedup_verdict v);

#endif
