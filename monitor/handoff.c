/* handoff: a bounded ring with an eventfd wake-up into a libevent loop (see
 * handoff.h).
 *
 * 'signalled' is true from the push that writes the eventfd until the loop
 * finds the ring empty, so one write covers a whole burst and no wake-up
 * is lost: a push after the loop cleared the flag writes again. When items
 * remain after a pass, the loop writes the eventfd itself to come back on
 * its next iteration (event_active() would run it again in the same pass).
 */
#include "handoff.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct handoff {
    pthread_mutex_t mutex;
    void **items;              /* ring of 'capacity' slots */
    size_t capacity;
    size_t head;               /* next to deliver */
    size_t length;             /* queued */
    bool signalled;            /* eventfd written, loop not yet drained */
    int fd;                    /* eventfd */
    struct event *event;
    handoff_fn *fn;
    handoff_free_fn *free_item;
    void *arg;
};

/* Makes the eventfd readable, so the loop calls handoff_on_wake(). */
static void
handoff_wake(struct handoff *h)
{
    uint64_t one = 1;
    /* Cannot fail: one write per burst never overflows the counter. */
    ssize_t n = write(h->fd, &one, sizeof one);

    (void) n;
}

/* Takes the oldest item, or NULL when empty. */
static void *
handoff_pop(struct handoff *h)
{
    void *item = NULL;

    pthread_mutex_lock(&h->mutex);
    if (h->length) {
        item = h->items[h->head];
        h->head = (h->head + 1) % h->capacity;
        h->length--;
    }
    pthread_mutex_unlock(&h->mutex);
    return item;
}

/* True when the ring is empty; then the next push writes the eventfd. */
static bool
handoff_idle(struct handoff *h)
{
    bool idle;

    pthread_mutex_lock(&h->mutex);
    idle = h->length == 0;
    if (idle) {
        h->signalled = false;
    }
    pthread_mutex_unlock(&h->mutex);
    return idle;
}

static void
handoff_on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct handoff *h = arg;
    uint64_t count;
    size_t budget;
    ssize_t n;
    void *item;

    (void) what;
    /* EAGAIN is fine: the count was consumed by an earlier callback. */
    n = read(fd, &count, sizeof count);
    (void) n;
    /* Deliver at most what is queued now, so that a producer faster than
     * the consumer cannot starve the rest of the loop; then come back. */
    budget = handoff_length(h);
    while (budget-- > 0 && (item = handoff_pop(h))) {
        h->fn(item, h->arg);
    }
    if (!handoff_idle(h)) {
        handoff_wake(h);
    }
}

struct handoff *
handoff_new(struct event_base *base, size_t capacity, handoff_fn *fn,
            handoff_free_fn *free_item, void *arg, int *error)
{
    struct handoff *h = NULL;
    int ret = -EINVAL;

    if (!base || !fn || capacity == 0 ||
        capacity > SIZE_MAX / sizeof(void *)) {
        goto out;
    }
    h = calloc(1, sizeof *h);
    if (!h) {
        ret = -ENOMEM;
        goto out;
    }
    h->fd = -1;
    pthread_mutex_init(&h->mutex, NULL);
    h->capacity = capacity;
    h->fn = fn;
    h->free_item = free_item;
    h->arg = arg;
    h->items = calloc(capacity, sizeof *h->items);
    if (!h->items) {
        ret = -ENOMEM;
        goto out;
    }
    h->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (h->fd < 0) {
        ret = -errno;
        goto out;
    }
    h->event = event_new(base, h->fd, EV_READ | EV_PERSIST, handoff_on_wake,
                         h);
    if (!h->event || event_add(h->event, NULL)) {
        ret = -ENOMEM;
        goto out;
    }
    ret = 0;
out:
    if (ret) {
        handoff_free(h);
        h = NULL;
        if (error) {
            *error = ret;
        }
    }
    return h;
}

void
handoff_free(struct handoff *h)
{
    if (!h) {
        return;
    }
    if (h->event) {
        event_free(h->event);
    }
    if (h->fd >= 0) {
        close(h->fd);
    }
    for (size_t i = 0; i < h->length; i++) {
        void *item = h->items[(h->head + i) % h->capacity];

        if (h->free_item) {
            h->free_item(item);
        }
    }
    free(h->items);
    pthread_mutex_destroy(&h->mutex);
    free(h);
}

int
handoff_push(struct handoff *h, void *item)
{
    bool wake = false;

    pthread_mutex_lock(&h->mutex);
    if (h->length == h->capacity) {
        pthread_mutex_unlock(&h->mutex);
        return -ENOBUFS;
    }
    h->items[(h->head + h->length) % h->capacity] = item;
    h->length++;
    if (!h->signalled) {
        h->signalled = true;
        wake = true;
    }
    pthread_mutex_unlock(&h->mutex);
    if (wake) {
        handoff_wake(h);
    }
    return 0;
}

size_t
handoff_length(struct handoff *h)
{
    size_t n;

    pthread_mutex_lock(&h->mutex);
    n = h->length;
    pthread_mutex_unlock(&h->mutex);
    return n;
}
