/* resv_batch: group commit of vigil-reservation, on the loop or on a
 * writer thread (see resv_batch.h).
 *
 * The loop owns 'queue'. A dispatch moves up to max_ops ops from it to
 * 'inflight' and hands them over: to the writer thread (under 'lock',
 * signalling 'cond'), or by committing at once on the loop. The writer
 * commits, sets 'done' and wakes the loop through a pipe; the loop then
 * takes the result, dispatches the next batch first (so the disk is kept
 * busy) and runs the finish() callbacks. */
#include "resv_batch.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "resv_db.h"
#include "vtime.h"

struct resv_batch {
    struct resv_db *db;
    struct resv_db *writer_db;
    size_t max_ops;

    /* Loop side. */
    struct resv_batch_op *queue, **queue_tail;
    size_t queued;
    struct resv_batch_op *inflight;    /* handed over, not yet finished */
    size_t inflight_length;
    bool flushing;
    struct event *dispatch_event;
    struct event *done_event;
    int pipe[2];

    /* Shared with the writer thread, under 'lock'. */
    bool threaded;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool work;                         /* 'inflight' waits for the thread */
    bool done;                         /* the thread finished it */
    int status;                        /* its result */
    bool stop;
    char last_error[256];

    struct metrics_counter *commits, *failures;
    struct metrics_histogram *ops, *latency;
};

static const double resv_batch_op_bounds[] = {
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096,
};

/* BEGIN, every write, COMMIT; ROLLBACK on failure. On whichever thread
 * owns 'db'. 0 or -EIO (with 'error' filled). */
static int
resv_batch_commit(struct resv_batch *b, struct resv_db *db,
                  struct resv_batch_op *ops, size_t length, char *error,
                  size_t error_size)
{
    int64_t began = vtime_mono_ns();
    int status = resv_db_begin(db) ? -EIO : 0;

    for (struct resv_batch_op *op = ops; op && !status; op = op->next) {
        if (op->class->write(op, db)) {
            status = -EIO;
        }
    }
    if (!status && resv_db_commit(db)) {
        status = -EIO;
    }
    if (status) {
        snprintf(error, error_size, "%s", resv_db_error(db));
        resv_db_rollback(db);
        metrics_counter_add(b->failures, 1);
        return status;
    }
    metrics_counter_add(b->commits, 1);
    metrics_histogram_observe(b->ops, (double) length);
    metrics_histogram_observe(b->latency,
                              (double) (vtime_mono_ns() - began) / 1e9);
    return 0;
}

static void *
resv_batch_writer(void *arg)
{
    struct resv_batch *b = arg;
    char error[256];

    pthread_mutex_lock(&b->lock);
    for (;;) {
        struct resv_batch_op *ops;
        size_t length;
        int status;
        char byte = 1;

        while (!b->work && !b->stop) {
            pthread_cond_wait(&b->cond, &b->lock);
        }
        if (!b->work) {
            break;
        }
        ops = b->inflight;
        length = b->inflight_length;
        pthread_mutex_unlock(&b->lock);

        error[0] = '\0';
        status = resv_batch_commit(b, b->writer_db, ops, length, error,
                                   sizeof error);

        pthread_mutex_lock(&b->lock);
        b->work = false;
        b->done = true;
        b->status = status;
        if (status) {
            memcpy(b->last_error, error, sizeof b->last_error);
        }
        pthread_cond_broadcast(&b->cond);
        /* Wake the loop; a full pipe already holds a wake-up. */
        if (write(b->pipe[1], &byte, 1) < 0) {
            byte = 0;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

/* The ops of a list, newest first (NULL when out of memory). */
static struct resv_batch_op **
resv_batch_reverse(struct resv_batch_op *ops, size_t length)
{
    struct resv_batch_op **v = calloc(length ? length : 1, sizeof *v);
    size_t i = 0;

    if (!v) {
        return NULL;
    }
    for (struct resv_batch_op *op = ops; op; op = op->next) {
        v[length - 1 - i++] = op;
    }
    return v;
}

/* Undoes every op of 'ops' newest first. */
static void
resv_batch_undo(struct resv_batch_op *ops, size_t length)
{
    struct resv_batch_op **v = resv_batch_reverse(ops, length);

    if (v) {
        for (size_t i = 0; i < length; i++) {
            if (v[i]->class->undo) {
                v[i]->class->undo(v[i]);
            }
        }
        free(v);
        return;
    }
    /* Without memory for the list, walk it once per op: O(n^2). */
    for (size_t n = length; n--;) {
        struct resv_batch_op *op = ops;

        for (size_t j = 0; j < n; j++) {
            op = op->next;
        }
        if (op->class->undo) {
            op->class->undo(op);
        }
    }
}

static void
resv_batch_finish_all(struct resv_batch *b, struct resv_batch_op *ops,
                      int status)
{
    struct resv_batch_op *next;

    for (struct resv_batch_op *op = ops; op; op = next) {
        next = op->next;
        b->queued--;
        op->class->finish(op, status);
    }
}

/* Moves up to max_ops queued ops to 'inflight'. */
static void
resv_batch_take(struct resv_batch *b)
{
    struct resv_batch_op *last = NULL, *op = b->queue;
    size_t n = 0;

    while (op && n < b->max_ops) {
        last = op;
        op = op->next;
        n++;
    }
    if (last) {
        last->next = NULL;
    }
    b->inflight = n ? b->queue : NULL;
    b->inflight_length = n;
    b->queue = op;
    if (!op) {
        b->queue_tail = &b->queue;
    }
}

static int resv_batch_dispatch(struct resv_batch *b);

/* The result of the in-flight transaction: dispatch the next one, then
 * finish (or undo and fail) the ops. */
static int
resv_batch_complete(struct resv_batch *b, int status)
{
    struct resv_batch_op *ops = b->inflight, *later = NULL;
    size_t length = b->inflight_length, later_length = 0;

    b->inflight = NULL;
    b->inflight_length = 0;
    if (status) {
        /* Everything queued since was applied on top of the failed ops:
         * it goes too, newest first. */
        later = b->queue;
        for (struct resv_batch_op *op = later; op; op = op->next) {
            later_length++;
        }
        b->queue = NULL;
        b->queue_tail = &b->queue;
        resv_batch_undo(later, later_length);
        resv_batch_undo(ops, length);
        resv_batch_finish_all(b, ops, status);
        resv_batch_finish_all(b, later, status);
        return status;
    }
    if (b->threaded && !b->flushing) {
        /* Keep the disk busy: the next transaction starts before these
         * answers go out. */
        resv_batch_dispatch(b);
    }
    resv_batch_finish_all(b, ops, 0);
    return 0;
}

/* Hands the next transaction over (threaded) or commits it (not). */
static int
resv_batch_dispatch(struct resv_batch *b)
{
    if (b->inflight || !b->queue) {
        return 0;
    }
    resv_batch_take(b);
    if (!b->threaded) {
        char error[256] = "";
        int status = resv_batch_commit(b, b->db, b->inflight,
                                       b->inflight_length, error,
                                       sizeof error);

        if (status) {
            memcpy(b->last_error, error, sizeof b->last_error);
        }
        return resv_batch_complete(b, status);
    }
    pthread_mutex_lock(&b->lock);
    b->work = true;
    b->done = false;
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
    return 0;
}

/* Takes the writer's result if it is there. */
static int
resv_batch_collect(struct resv_batch *b, bool wait)
{
    int status;

    pthread_mutex_lock(&b->lock);
    while (wait && b->inflight && !b->done) {
        pthread_cond_wait(&b->cond, &b->lock);
    }
    if (!b->inflight || !b->done) {
        pthread_mutex_unlock(&b->lock);
        return 0;
    }
    b->done = false;
    status = b->status;
    pthread_mutex_unlock(&b->lock);
    return resv_batch_complete(b, status);
}

static void
resv_batch_on_dispatch(evutil_socket_t fd, short what, void *arg)
{
    struct resv_batch *b = arg;

    (void) fd;
    (void) what;
    if (!b->flushing) {
        resv_batch_dispatch(b);
    }
}

static void
resv_batch_on_done(evutil_socket_t fd, short what, void *arg)
{
    struct resv_batch *b = arg;
    char bytes[64];

    (void) what;
    while (read(fd, bytes, sizeof bytes) > 0) {
        continue;
    }
    if (!b->flushing) {
        resv_batch_collect(b, false);
    }
}

struct resv_batch *
resv_batch_new(const struct resv_batch_options *o)
{
    struct resv_batch *b = calloc(1, sizeof *b);

    if (!b) {
        return NULL;
    }
    b->db = o->db;
    b->writer_db = o->writer;
    b->max_ops = o->max_ops ? o->max_ops : 1;
    b->queue_tail = &b->queue;
    b->pipe[0] = b->pipe[1] = -1;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->cond, NULL);
    if (o->base) {
        b->dispatch_event = event_new(o->base, -1, 0, resv_batch_on_dispatch,
                                      b);
        if (!b->dispatch_event) {
            goto fail;
        }
    }
    if (o->base && o->writer) {
        if (pipe2(b->pipe, O_NONBLOCK | O_CLOEXEC)) {
            goto fail;
        }
        b->done_event = event_new(o->base, b->pipe[0], EV_READ | EV_PERSIST,
                                  resv_batch_on_done, b);
        if (!b->done_event || event_add(b->done_event, NULL) ||
            pthread_create(&b->thread, NULL, resv_batch_writer, b)) {
            goto fail;
        }
        b->threaded = true;
    }
    if (o->metrics) {
        b->commits = metrics_counter_new(
            o->metrics, "vigil_reservation_commits_total",
            "SQLite transactions committed by the group commit", NULL);
        b->failures = metrics_counter_new(
            o->metrics, "vigil_reservation_commit_failures_total",
            "Group-commit transactions that failed and were undone", NULL);
        b->ops = metrics_histogram_new(
            o->metrics, "vigil_reservation_commit_ops",
            "Writes per group-commit transaction", NULL,
            resv_batch_op_bounds,
            sizeof resv_batch_op_bounds / sizeof resv_batch_op_bounds[0]);
        b->latency = metrics_histogram_new(
            o->metrics, "vigil_reservation_commit_latency_seconds",
            "Time from BEGIN to COMMIT of a group-commit transaction", NULL,
            metrics_latency_bounds, metrics_latency_bounds_length);
    }
    return b;
fail:
    resv_batch_free(b);
    return NULL;
}

void
resv_batch_free(struct resv_batch *b)
{
    if (!b) {
        return;
    }
    resv_batch_flush(b);
    if (b->threaded) {
        pthread_mutex_lock(&b->lock);
        b->stop = true;
        pthread_cond_signal(&b->cond);
        pthread_mutex_unlock(&b->lock);
        pthread_join(b->thread, NULL);
    }
    if (b->done_event) {
        event_free(b->done_event);
    }
    if (b->dispatch_event) {
        event_free(b->dispatch_event);
    }
    if (b->pipe[0] >= 0) {
        close(b->pipe[0]);
        close(b->pipe[1]);
    }
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

void
resv_batch_add(struct resv_batch *b, struct resv_batch_op *op)
{
    op->next = NULL;
    *b->queue_tail = op;
    b->queue_tail = &op->next;
    b->queued++;
    if (!b->flushing && !b->inflight && b->dispatch_event) {
        event_active(b->dispatch_event, 0, 0);
    }
}

int
resv_batch_flush(struct resv_batch *b)
{
    int ret = 0;

    if (b->flushing) {
        return 0;
    }
    b->flushing = true;
    while (b->inflight || b->queue) {
        if (b->threaded) {
            if (!b->inflight) {
                resv_batch_dispatch(b);
            }
            if (resv_batch_collect(b, true)) {
                ret = -EIO;
            }
        } else if (resv_batch_dispatch(b)) {
            ret = -EIO;
        }
    }
    b->flushing = false;
    return ret;
}

const char *
resv_batch_last_error(const struct resv_batch *b)
{
    return b->last_error;
}

size_t
resv_batch_pending(const struct resv_batch *b)
{
    return b->queued;
}
