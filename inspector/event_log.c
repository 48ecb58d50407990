/* event_log: ring of handled events (see event_log.h). */
#include "event_log.h"

#include <stdlib.h>

struct event_log {
    json_t **entries;
    size_t capacity;
    size_t start;       /* index of the oldest entry */
    size_t length;
};

struct event_log *
event_log_new(size_t capacity)
{
    struct event_log *log;

    if (capacity == 0) {
        return NULL;
    }
    log = calloc(1, sizeof *log);
    if (!log) {
        return NULL;
    }
    log->entries = calloc(capacity, sizeof *log->entries);
    if (!log->entries) {
        free(log);
        return NULL;
    }
    log->capacity = capacity;
    return log;
}

void
event_log_free(struct event_log *log)
{
    if (!log) {
        return;
    }
    for (size_t i = 0; i < log->length; i++) {
        json_decref(log->entries[(log->start + i) % log->capacity]);
    }
    free(log->entries);
    free(log);
}

void
event_log_append(struct event_log *log, json_t *entry)
{
    if (!entry) {
        return;
    }
    if (log->length == log->capacity) {
        json_decref(log->entries[log->start]);
        log->entries[log->start] = entry;
        log->start = (log->start + 1) % log->capacity;
        return;
    }
    log->entries[(log->start + log->length) % log->capacity] = entry;
    log->length++;
}

json_t *
event_log_to_json(const struct event_log *log, size_t limit)
{
    json_t *list = json_array();
    size_t first = limit < log->length ? log->length - limit : 0;

    if (!list) {
        return NULL;
    }
    for (size_t i = first; i < log->length; i++) {
        json_array_append(list,
                          log->entries[(log->start + i) % log->capacity]);
    }
    return list;
}

size_t
event_log_length(const struct event_log *log)
{
    return log->length;
}
