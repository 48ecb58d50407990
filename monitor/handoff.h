/* handoff: passes items from any thread to the libevent loop of the main
 * thread, at once.
 *
 * vigil-monitor detects VM faults on its libvirt thread and reports them
 * from its main loop; this is the bridge. A producer appends an item to a
 * bounded ring under a mutex and, when the ring was idle, writes an eventfd
 * the loop watches, so the loop wakes within microseconds: no polling, no
 * batching delay. The loop then takes every queued item in order and calls
 * the consumer for each. A burst costs one eventfd write and one wake-up.
 *
 * The ring is capped ('capacity'); a push to a full ring fails and the
 * caller keeps (and counts) its item. */
#ifndef VIGIL_HANDOFF_H
#define VIGIL_HANDOFF_H

#include <stddef.h>

struct event_base;

/* Called on the loop for each item, in push order; takes ownership. */
typedef void handoff_fn(void *item, void *arg);

/* Releases an item left over at handoff_free(). */
typedef void handoff_free_fn(void *item);

struct handoff;

/* A hand-off into the loop of 'base' holding at most 'capacity' (>= 1)
 * items, delivering to 'fn(item, arg)'; 'free_item' (may be NULL) releases
 * items still queued when the hand-off is freed. NULL on failure, with
 * '*error' (may be NULL) set to a negative errno. Call from the loop's
 * thread. */
struct handoff *handoff_new(struct event_base *base, size_t capacity,
                            handoff_fn *fn, handoff_free_fn *free_item,
                            void *arg, int *error);

/* Releases every queued item with 'free_item' and frees 'h'. No push may
 * run concurrently or later. Accepts NULL. Call from the loop's thread. */
void handoff_free(struct handoff *h);

/* Queues 'item' (not NULL) for the loop. Thread-safe. 0 (the hand-off owns
 * 'item'), or -ENOBUFS when 'capacity' items are queued (the caller keeps
 * 'item'). */
int handoff_push(struct handoff *h, void *item);

/* Items queued and not yet delivered. Thread-safe. */
size_t handoff_length(struct handoff *h);

#endif
