/* resv_lifecycle: a binary min-heap of deadlines behind one libevent
 * timer (see resv_lifecycle.h). */
#include "resv_lifecycle.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>

#include "resv_time.h"
#include "vtime.h"

struct resv_lifecycle {
    struct resv_lifecycle_item **heap;
    size_t length, capacity;
    size_t max_per_turn;
    struct event *timer;
    int64_t armed;             /* deadline the timer is set for */
    resv_lifecycle_fire_fn *fire;
    void *arg;
};

static void
resv_lifecycle_place(struct resv_lifecycle *lc, size_t i,
                     struct resv_lifecycle_item *item)
{
    lc->heap[i] = item;
    item->index = i;
}

static void
resv_lifecycle_up(struct resv_lifecycle *lc, size_t i)
{
    struct resv_lifecycle_item *item = lc->heap[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;

        if (lc->heap[parent]->deadline <= item->deadline) {
            break;
        }
        resv_lifecycle_place(lc, i, lc->heap[parent]);
        i = parent;
    }
    resv_lifecycle_place(lc, i, item);
}

static void
resv_lifecycle_down(struct resv_lifecycle *lc, size_t i)
{
    struct resv_lifecycle_item *item = lc->heap[i];

    for (;;) {
        size_t child = 2 * i + 1;

        if (child >= lc->length) {
            break;
        }
        if (child + 1 < lc->length &&
            lc->heap[child + 1]->deadline < lc->heap[child]->deadline) {
            child++;
        }
        if (item->deadline <= lc->heap[child]->deadline) {
            break;
        }
        resv_lifecycle_place(lc, i, lc->heap[child]);
        i = child;
    }
    resv_lifecycle_place(lc, i, item);
}

/* Sets the timer for the earliest deadline if it changed. */
static void
resv_lifecycle_arm(struct resv_lifecycle *lc)
{
    int64_t next = resv_lifecycle_next(lc), delay_ns;
    struct timeval tv;

    if (!lc->timer || next == lc->armed) {
        return;
    }
    lc->armed = next;
    if (next == INT64_MAX) {
        evtimer_del(lc->timer);
        return;
    }
    delay_ns = next > INT64_MAX / 1000000000 - 1
                   ? INT64_MAX
                   : next * 1000000000 - vtime_real_ns();
    if (delay_ns < 0) {
        delay_ns = 0;
    }
    if (delay_ns > INT64_C(86400) * 1000000000) {
        /* Wake at least daily: cheap, and immune to clock steps. */
        delay_ns = INT64_C(86400) * 1000000000;
        lc->armed = INT64_MIN;
    }
    tv.tv_sec = (time_t) (delay_ns / 1000000000);
    tv.tv_usec = (suseconds_t) (delay_ns % 1000000000 / 1000);
    evtimer_add(lc->timer, &tv);
}

static void
resv_lifecycle_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct resv_lifecycle *lc = arg;

    (void) fd;
    (void) what;
    lc->armed = INT64_MIN;
    /* When more than max_per_turn were due, the earliest deadline is
     * still in the past: the timer is re-armed with no delay and the rest
     * go on the next turn, after the loop served its I/O. */
    resv_lifecycle_run(lc, resv_time_now());
    resv_lifecycle_arm(lc);
}

struct resv_lifecycle *
resv_lifecycle_new(struct event_base *base, size_t max_per_turn,
                   resv_lifecycle_fire_fn *fire, void *arg)
{
    struct resv_lifecycle *lc = calloc(1, sizeof *lc);

    if (!lc) {
        return NULL;
    }
    lc->max_per_turn = max_per_turn ? max_per_turn : 1;
    lc->fire = fire;
    lc->arg = arg;
    lc->armed = INT64_MAX;
    if (base) {
        lc->timer = evtimer_new(base, resv_lifecycle_on_timer, lc);
        if (!lc->timer) {
            free(lc);
            return NULL;
        }
    }
    return lc;
}

void
resv_lifecycle_free(struct resv_lifecycle *lc)
{
    if (!lc) {
        return;
    }
    if (lc->timer) {
        event_free(lc->timer);
    }
    free(lc->heap);
    free(lc);
}

void
resv_lifecycle_item_init(struct resv_lifecycle_item *item)
{
    item->deadline = 0;
    item->index = RESV_LIFECYCLE_NONE;
}

bool
resv_lifecycle_scheduled(const struct resv_lifecycle_item *item)
{
    return item->index != RESV_LIFECYCLE_NONE;
}

int
resv_lifecycle_set(struct resv_lifecycle *lc,
                   struct resv_lifecycle_item *item, int64_t deadline)
{
    if (resv_lifecycle_scheduled(item)) {
        int64_t old = item->deadline;

        item->deadline = deadline;
        if (deadline < old) {
            resv_lifecycle_up(lc, item->index);
        } else {
            resv_lifecycle_down(lc, item->index);
        }
        resv_lifecycle_arm(lc);
        return 0;
    }
    if (lc->length == lc->capacity) {
        size_t capacity = lc->capacity ? lc->capacity * 2 : 1024;
        struct resv_lifecycle_item **bigger =
            realloc(lc->heap, capacity * sizeof *bigger);

        if (!bigger) {
            return -ENOMEM;
        }
        lc->heap = bigger;
        lc->capacity = capacity;
    }
    item->deadline = deadline;
    resv_lifecycle_place(lc, lc->length++, item);
    resv_lifecycle_up(lc, item->index);
    resv_lifecycle_arm(lc);
    return 0;
}

void
resv_lifecycle_remove(struct resv_lifecycle *lc,
                      struct resv_lifecycle_item *item)
{
    size_t i = item->index;
    struct resv_lifecycle_item *last;

    if (i == RESV_LIFECYCLE_NONE) {
        return;
    }
    item->index = RESV_LIFECYCLE_NONE;
    last = lc->heap[--lc->length];
    if (last != item) {
        resv_lifecycle_place(lc, i, last);
        resv_lifecycle_up(lc, i);
        resv_lifecycle_down(lc, last->index);
    }
    resv_lifecycle_arm(lc);
}

size_t
resv_lifecycle_length(const struct resv_lifecycle *lc)
{
    return lc->length;
}

int64_t
resv_lifecycle_next(const struct resv_lifecycle *lc)
{
    return lc->length ? lc->heap[0]->deadline : INT64_MAX;
}

size_t
resv_lifecycle_run(struct resv_lifecycle *lc, int64_t now)
{
    size_t fired = 0;

    while (fired < lc->max_per_turn && lc->length &&
           lc->heap[0]->deadline <= now) {
        struct resv_lifecycle_item *item = lc->heap[0];

        resv_lifecycle_remove(lc, item);
        lc->fire(item, now, lc->arg);
        fired++;
    }
    return fired;
}
