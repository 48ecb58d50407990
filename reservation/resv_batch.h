/* resv_batch: group commit. Writes wait in a queue and go to SQLite
 * together, in one transaction per turn of the event loop, and each one
 * is acknowledged only once that transaction has committed.
 *
 * The owner (resv_engine.c) changes its in-memory state first (so a
 * request handled next, in the same turn, already sees the capacity
 * taken), then queues an op describing the write. resv_batch_add()
 * schedules one flush on the loop (event_active), which runs after the
 * requests already read in this turn: BEGIN, every op's write(), COMMIT
 * (one fsync with synchronous=FULL), then every op's finish(op, 0), in
 * order. If any write or the COMMIT fails, the transaction is rolled
 * back, every op's undo() runs in reverse order (restoring the memory
 * state), then every finish(op, -EIO). One transaction takes at most
 * 'max_ops' ops; a flush commits as many transactions as the queue
 * needs, including ops queued by finish() callbacks meanwhile.
 *
 * Single-threaded: use it from the loop it was made with. */
#ifndef VIGIL_RESERVATION_RESV_BATCH_H
#define VIGIL_RESERVATION_RESV_BATCH_H

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

/* NULL on failure. 'base' NULL: no automatic flush (resv_batch_flush()
 * by hand, for tests). 'db' stays owned by the caller. 'metrics' may be NULL
 * (else vigil_reservation_commits_total, _commit_failures_total,
 * _commit_ops and _commit_latency_seconds are registered). */
struct resv_batch *resv_batch_new(struct event_base *base,
                                  struct resv_db *db, size_t max_ops,
                                  struct metrics_registry *metrics);

/* Frees the batch; ops still queued are flushed first. Accepts NULL. */
void resv_batch_free(struct resv_batch *batch);

/* Queues 'op' (owned by the batch until its finish()) and schedules a
 * flush. */
void resv_batch_add(struct resv_batch *batch, struct resv_batch_op *op);

/* Flushes everything queued now. 0, or -EIO when some transaction
 * failed (its ops were undone and finished with -EIO). */
int resv_batch_flush(struct resv_batch *batch);

/* The database's message for the last failed transaction ("" when none
 * failed yet). */
const char *resv_batch_last_error(const struct resv_batch *batch);

/* Ops queued and not yet finished. */
size_t resv_batch_pending(const struct resv_batch *batch);

#endif
