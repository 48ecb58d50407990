/* alarm_db: the notifier's alarm definitions in SQLite, so subscriptions
 * survive a restart.
 *
 * One table, alarms(alarm_id PRIMARY KEY, body), holds each alarm in its
 * Aodh JSON form (alarm_to_json); the database runs in WAL mode with
 * synchronous=FULL, so an alarm the API acknowledged is on disk. The API
 * writes on create, update, state change and delete; at start the daemon
 * loads every row back into the store. State changes made by the evaluator
 * are not written here (the durable delivery outbox is a separate piece).
 * ":memory:" gives a database that lives as long as the process.
 *
 * Single-threaded: use one struct alarm_db from one thread. */
#ifndef VIGIL_ALARM_DB_H
#define VIGIL_ALARM_DB_H

#include <stddef.h>

#include "alarm.h"

struct alarm_db;

/* Opens (creating if needed) the database at 'path'. 0 with '*db' set
 * (close with alarm_db_close), or a negative errno with a message in 'err'
 * (-EIO for SQLite errors). */
int alarm_db_open(const char *path, struct alarm_db **db, char *err,
                  size_t err_size);

/* Closes 'db'. Accepts NULL. */
void alarm_db_close(struct alarm_db *db);

/* Called by alarm_db_load() for each stored alarm; takes ownership of
 * 'alarm' whatever it returns. A non-zero return stops the load and is
 * returned by it. */
typedef int alarm_db_load_fn(struct alarm *alarm, void *arg);

/* Reads every stored alarm, in the order they were first stored, and
 * passes it to 'fn'. Rows that no longer parse are skipped and counted in
 * '*skipped' (may be NULL), with the last reason in 'err'. 0, the first
 * non-zero return of 'fn', or -EIO. */
int alarm_db_load(struct alarm_db *db, alarm_db_load_fn *fn, void *arg,
                  size_t *skipped, char *err, size_t err_size);

/* Inserts or replaces 'alarm' (which must have an id). 0, -ENOMEM or
 * -EIO. */
int alarm_db_put(struct alarm_db *db, const struct alarm *alarm);

/* Deletes the alarm with 'id'. 0 (also when there was none) or -EIO. */
int alarm_db_delete(struct alarm_db *db, const char *id);

#endif
