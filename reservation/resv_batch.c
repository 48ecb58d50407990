/* resv_batch: group commit of vigil-reservation (see resv_batch.h). */
#include "resv_batch.h"

#include <event2/event.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics.h"
#include "resv_db.h"
#include "vtime.h"

struct resv_batch {
    struct resv_db *db;
    struct event *flush_event;
    struct resv_batch_op *head, **tail;
    size_t pending;
    size_t max_ops;
    bool flushing;
    char last_error[256];
    struct metrics_counter *commits, *failures;
    struct metrics_histogram *ops, *latency;
};

static const double resv_batch_op_bounds[] = {
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096,
};

static void
resv_batch_on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    resv_batch_flush(arg);
}

struct resv_batch *
resv_batch_new(struct event_base *base, struct resv_db *db, size_t max_ops,
               struct metrics_registry *metrics)
{
    struct resv_batch *b = calloc(1, sizeof *b);

    if (!b) {
        return NULL;
    }
    b->db = db;
    b->tail = &b->head;
    b->max_ops = max_ops ? max_ops : 1;
    if (base) {
        b->flush_event = event_new(base, -1, 0, resv_batch_on_flush, b);
        if (!b->flush_event) {
            free(b);
            return NULL;
        }
    }
    if (metrics) {
        b->commits = metrics_counter_new(
            metrics, "vigil_reservation_commits_total",
            "SQLite transactions committed by the group commit", NULL);
        b->failures = metrics_counter_new(
            metrics, "vigil_reservation_commit_failures_total",
            "Group-commit transactions that failed and were undone", NULL);
        b->ops = metrics_histogram_new(
            metrics, "vigil_reservation_commit_ops",
            "Writes per group-commit transaction", NULL,
            resv_batch_op_bounds,
            sizeof resv_batch_op_bounds / sizeof resv_batch_op_bounds[0]);
        b->latency = metrics_histogram_new(
            metrics, "vigil_reservation_commit_latency_seconds",
            "Time from BEGIN to COMMIT of a group-commit transaction", NULL,
            metrics_latency_bounds, metrics_latency_bounds_length);
    }
    return b;
}

void
resv_batch_free(struct resv_batch *batch)
{
    if (!batch) {
        return;
    }
    resv_batch_flush(batch);
    if (batch->flush_event) {
        event_free(batch->flush_event);
    }
    free(batch);
}

void
resv_batch_add(struct resv_batch *batch, struct resv_batch_op *op)
{
    op->next = NULL;
    *batch->tail = op;
    batch->tail = &op->next;
    batch->pending++;
    if (!batch->flushing && batch->flush_event) {
        event_active(batch->flush_event, 0, 0);
    }
}

/* Takes up to max_ops ops off the queue as one list. */
static struct resv_batch_op *
resv_batch_take(struct resv_batch *b, size_t *length)
{
    struct resv_batch_op *first = b->head, *last = NULL, *op = b->head;
    size_t n = 0;

    while (op && n < b->max_ops) {
        last = op;
        op = op->next;
        n++;
    }
    if (last) {
        last->next = NULL;
    }
    b->head = op;
    if (!op) {
        b->tail = &b->head;
    }
    *length = n;
    return first;
}

/* Commits one transaction of ops. 0 or -EIO. */
static int
resv_batch_commit_one(struct resv_batch *b)
{
    struct resv_batch_op *ops, *op, *next;
    struct resv_batch_op **reverse = NULL;
    int64_t began = vtime_mono_ns();
    size_t length = 0;
    int status = 0;

    ops = resv_batch_take(b, &length);
    if (!ops) {
        return 0;
    }
    if (resv_db_begin(b->db)) {
        status = -EIO;
    }
    for (op = ops; op && !status; op = op->next) {
        if (op->class->write(op, b->db)) {
            status = -EIO;
        }
    }
    if (!status && resv_db_commit(b->db)) {
        status = -EIO;
    }
    if (status) {
        size_t i = 0;

        snprintf(b->last_error, sizeof b->last_error, "%s",
                 resv_db_error(b->db));
        resv_db_rollback(b->db);
        metrics_counter_add(b->failures, 1);
        /* Undo newest first. Without memory for the list, walk the list
         * once per op: O(n^2) but still right. */
        reverse = calloc(length, sizeof *reverse);
        if (reverse) {
            for (op = ops; op; op = op->next) {
                reverse[i++] = op;
            }
            while (i--) {
                if (reverse[i]->class->undo) {
                    reverse[i]->class->undo(reverse[i]);
                }
            }
            free(reverse);
        } else {
            for (size_t n = length; n--;) {
                op = ops;
                for (size_t j = 0; j < n; j++) {
                    op = op->next;
                }
                if (op->class->undo) {
                    op->class->undo(op);
                }
            }
        }
    } else {
        metrics_counter_add(b->commits, 1);
        metrics_histogram_observe(b->ops, (double) length);
        metrics_histogram_observe(b->latency,
                                  (double) (vtime_mono_ns() - began) / 1e9);
    }
    for (op = ops; op; op = next) {
        next = op->next;
        b->pending--;
        op->class->finish(op, status);
    }
    return status;
}

int
resv_batch_flush(struct resv_batch *batch)
{
    int ret = 0;

    if (batch->flushing) {
        return 0;
    }
    batch->flushing = true;
    while (batch->head) {
        if (resv_batch_commit_one(batch)) {
            ret = -EIO;
        }
    }
    batch->flushing = false;
    return ret;
}

size_t
resv_batch_pending(const struct resv_batch *batch)
{
    return batch->pending;
}

const char *
resv_batch_last_error(const struct resv_batch *batch)
{
    return batch->last_error;
}
