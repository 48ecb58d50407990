/* event_log: a bounded ring of the events the inspector handled, newest
 * last, served on GET /events so that an operator can see what arrived and
 * what became of it. Not thread-safe. */
#ifndef VIGIL_INSPECTOR_EVENT_LOG_H
#define VIGIL_INSPECTOR_EVENT_LOG_H

#include <jansson.h>
#include <stddef.h>

struct event_log;

/* NULL on allocation failure or capacity 0. */
struct event_log *event_log_new(size_t capacity);
void event_log_free(struct event_log *log);

/* Appends 'entry' (steals the reference), dropping the oldest when full. */
void event_log_append(struct event_log *log, json_t *entry);

/* A new JSON list of the newest 'limit' entries, oldest first (NULL on
 * allocation failure). */
json_t *event_log_to_json(const struct event_log *log, size_t limit);

size_t event_log_length(const struct event_log *log);

#endif
