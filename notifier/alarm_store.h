/* alarm_store: the notifier's alarms in memory, keyed by id, with the index
 * that finds the alarms an event hits without scanning them all.
 *
 * Index: alarms whose event_type names one type sit in a hash table by that
 * type; within a type, an alarm with an "eq" string query (the first one,
 * typically traits.instance_uuid or traits.hostname) is further keyed by
 * (trait, value), so an event visits only the alarms of its type that have
 * no such key plus those whose key equals the event's trait. Alarms whose
 * event_type has wildcards sit in one list that every event scans. Names
 * are unique per project, as in Aodh. The number of alarms is capped.
 *
 * Single-threaded; the store owns the alarms it holds. */
#ifndef VIGIL_ALARM_STORE_H
#define VIGIL_ALARM_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "alarm.h"
#include "alarm_match.h"

struct alarm_store;

/* A store for at most 'max_alarms' alarms. NULL on allocation failure. */
struct alarm_store *alarm_store_new(size_t max_alarms);

/* Frees the store and every alarm in it. Accepts NULL. */
void alarm_store_free(struct alarm_store *store);

size_t alarm_store_count(const struct alarm_store *store);
size_t alarm_store_max(const struct alarm_store *store);

/* Adds 'alarm' (its id must be set) and takes ownership of it on success.
 * 0; -EEXIST when the id is taken; -ENOTUNIQ when another alarm of the same
 * project_id has the same name; -ENOSPC when the store is full; -EINVAL
 * without an id; -ENOMEM. On failure the caller keeps 'alarm'. */
int alarm_store_add(struct alarm_store *store, struct alarm *alarm);

/* Replaces the alarm with the id of 'alarm', taking ownership of 'alarm'
 * and freeing the old one, and re-indexes it. 0; -ENOENT for an unknown id;
 * -ENOTUNIQ when the new name is taken by another alarm of the project;
 * -ENOMEM (the old alarm stays). On failure the caller keeps 'alarm'. */
int alarm_store_replace(struct alarm_store *store, struct alarm *alarm);

/* Removes and frees the alarm with 'id'. 0 or -ENOENT. */
int alarm_store_remove(struct alarm_store *store, const char *id);

/* The alarm with 'id', or NULL. The store keeps ownership; the caller may
 * change its state members (state, state_reason, state_timestamp_ns) but
 * nothing the index depends on (use alarm_store_replace for that). */
struct alarm *alarm_store_get(const struct alarm_store *store,
                              const char *id);

/* The alarm named 'name' in 'project_id' (NULL counts as ""), or NULL. */
struct alarm *alarm_store_find_name(const struct alarm_store *store,
                                    const char *project_id, const char *name);

/* Calls 'fn(alarm, arg)' for each alarm in the order they were added until
 * it returns false. 'fn' must not add or remove alarms. */
typedef bool alarm_store_foreach_fn(const struct alarm *alarm, void *arg);
void alarm_store_foreach(const struct alarm_store *store,
                         alarm_store_foreach_fn *fn, void *arg);

/* Finds the enabled alarms that an event of 'event_type' with 'traits' (a
 * JSON object, e.g. a Doctor event's details) hits and calls
 * 'fn(alarm, kind, arg)' once for each: first those it hits directly
 * (ALARM_MATCH_EVENT), then, for a ".up" event, the other alarms whose
 * pattern matches the ".down" type (ALARM_MATCH_RECOVERY). 'fn' may change
 * the alarm's state members but must not add, replace or remove alarms.
 * Returns the number of calls. */
typedef void alarm_store_match_fn(struct alarm *alarm,
                                  enum alarm_match_kind kind, void *arg);
size_t alarm_store_match(struct alarm_store *store, const char *event_type,
                         const json_t *traits, alarm_store_match_fn *fn,
                         void *arg);

#endif
