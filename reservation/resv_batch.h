/* resv_batch: group commit. Writes wait in a queue and go to SQLite
 * together, many per transaction, and each one is acknowledged only once
 * its transaction has committed.
 *
 * The owner (resv_engine.c) changes its in-memory state first (so a
 * request handled next already sees the capacity taken), then queues an
 * op describing the write. resv_batch_add() schedules a dispatch on the
 * loop (event_active), which runs after the requests already read in this
 * turn: up to 'max_ops' queued ops become one transaction -- BEGIN, every
 * op's write(), COMMIT (one fsync with synchronous=FULL) -- then every
 * op's finish(op, 0) runs on the loop, in order. If a write or the COMMIT
 * fails, the transaction is rolled back, undo() runs on the loop for
 * every op of it and every op queued after it, newest first (they were
 * applied on top of it), then finish(op, -EIO) for all of them.
 *
 * With a writer connection of its own (resv_batch_new() 'writer'), the
 * transactions run on a writer thread: while one commits (mostly waiting
 * for the disk), the loop keeps serving requests and queueing the next
 * batch, which goes as soon as the previous one is done. One transaction
 * is in flight at a time, so commits stay in order. write() runs on the
 * writer thread and must only read the op's own data; undo() and finish()
 * run on the loop. Without a writer connection (or without a loop), the
 * transaction runs on the loop itself.
 *
 * Single-threaded API: call it from the loop it was made with. */
#ifndef VIGIL_RESERVATION_RESV_BATCH_H
#define VIGIL_RESERVATION_RESV_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct metrics_registry;
struct resv_db;
struct resv_batch;
struct resv_batch_op;

/* The callbacks of an op; 'undo' may be NULL. finish() runs exactly once
 * per op and releases it. */
struct resv_batch_op_class {
    int (*write)(struct resv_batch_op *op, struct resv_db *db);
    void (*undo)(struct resv_batch_op *op);
    void (*finish)(struct resv_batch_op *op, int status);
};

/* Embedded in the owner's op structure. */
struct resv_batch_op {
    const struct resv_batch_op_class *class;
    struct resv_batch_op *next;
};

struct resv_batch_options {
    struct event_base *base;       /* NULL: no automatic dispatch
                                    * (resv_batch_flush() by hand, tests) */
    struct resv_db *db;            /* used on the loop when no writer */
    struct resv_db *writer;        /* NULL: no writer thread; else a
                                    * connection only the thread uses */
    size_t max_ops;                /* ops per transaction, >= 1 */
    struct metrics_registry *metrics;   /* may be NULL (else
                                    * vigil_reservation_commits_total,
                                    * _commit_failures_total, _commit_ops,
                                    * _commit_latency_seconds) */
};

/* NULL on failure. The connections stay owned by the caller and must
 * outlive the batch. */
struct resv_batch *resv_batch_new(const struct resv_batch_options *o);

/* Flushes what is queued, stops the writer thread and frees the batch.
 * Accepts NULL. */
void resv_batch_free(struct resv_batch *batch);

/* Queues 'op' (owned by the batch until its finish()) and schedules a
 * dispatch. */
void resv_batch_add(struct resv_batch *batch, struct resv_batch_op *op);

/* Commits everything queued now and waits for it (finish() callbacks
 * included). 0, or -EIO when some transaction failed. */
int resv_batch_flush(struct resv_batch *batch);

/* The database's message for the last failed transaction ("" when none
 * failed yet). */
const char *resv_batch_last_error(const struct resv_batch *batch);

/* Ops queued or in flight, not yet finished. */
size_t resv_batch_pending(const struct resv_batch *batch);

#endif
