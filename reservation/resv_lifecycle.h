/* resv_lifecycle: deadlines (reservation start, expiry, end) in a
 * min-heap, driving one libevent timer set to the earliest of them, so
 * that lifecycle transitions happen on their second without any polling
 * loop, whatever the number of reservations.
 *
 * Deadlines are wall-clock epoch seconds (resv_time.h). The timer is
 * re-armed whenever the earliest deadline changes; when it fires, every
 * item due (deadline <= now) is taken off the heap and handed to the fire
 * callback, at most 'max_per_turn' per turn of the loop (the rest follow
 * on the next turn, so that a burst of deadlines never starves the HTTP
 * server). A timer that fires early (the wall clock moved) is simply
 * re-armed.
 *
 * Items are embedded in the owner's objects. Single-threaded: use it from
 * the loop it was made with. */
#ifndef VIGIL_RESERVATION_RESV_LIFECYCLE_H
#define VIGIL_RESERVATION_RESV_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct resv_lifecycle;

#define RESV_LIFECYCLE_NONE SIZE_MAX

struct resv_lifecycle_item {
    int64_t deadline;
    size_t index;              /* in the heap; RESV_LIFECYCLE_NONE if not */
};

/* Called for each item due, after it left the heap: it may schedule the
 * item again (or any other), or remove others. */
typedef void resv_lifecycle_fire_fn(struct resv_lifecycle_item *item,
                                    int64_t now, void *arg);

/* 'base' NULL: no timer (resv_lifecycle_run() by hand, for tests). NULL
 * on failure. */
struct resv_lifecycle *resv_lifecycle_new(struct event_base *base,
                                          size_t max_per_turn,
                                          resv_lifecycle_fire_fn *fire,
                                          void *arg);
/* Forgets every item (their index fields are left as they are).
 * Accepts NULL. */
void resv_lifecycle_free(struct resv_lifecycle *lc);

/* Marks 'item' as not scheduled. */
void resv_lifecycle_item_init(struct resv_lifecycle_item *item);

/* Schedules 'item' at 'deadline' (or moves it). 0 or -ENOMEM. */
int resv_lifecycle_set(struct resv_lifecycle *lc,
                       struct resv_lifecycle_item *item, int64_t deadline);

/* Unschedules 'item' (nothing when it is not scheduled). */
void resv_lifecycle_remove(struct resv_lifecycle *lc,
                           struct resv_lifecycle_item *item);

bool resv_lifecycle_scheduled(const struct resv_lifecycle_item *item);

/* Items scheduled; the earliest deadline (INT64_MAX when none). */
size_t resv_lifecycle_length(const struct resv_lifecycle *lc);
int64_t resv_lifecycle_next(const struct resv_lifecycle *lc);

/* Fires up to 'max_per_turn' items due at 'now'. Returns how many. */
size_t resv_lifecycle_run(struct resv_lifecycle *lc, int64_t now);

#endif
