/* dedup: last state per fault subject (see dedup.h). A chained hash table
 * with FNV-1a over a fixed bucket array sized from the capacity. */
#include "dedup.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEDUP_STATE_SIZE 16

struct dedup_entry {
    struct dedup_entry *next;
    int64_t event_ns;
    int64_t seen_ns;
    char state[DEDUP_STATE_SIZE];
    char key[];
};

struct dedup {
    struct dedup_entry **buckets;
    size_t mask;
    size_t length;
    size_t capacity;
    int64_t window_ns;
};

static uint64_t
dedup_hash(const char *key)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *key; key++) {
        h ^= (unsigned char) *key;
        h *= 1099511628211ULL;
    }
    return h;
}

struct dedup *
dedup_new(size_t capacity, int64_t window_ns)
{
    struct dedup *d;
    size_t n = 16;

    if (capacity == 0) {
        return NULL;
    }
    while (n < capacity && n < ((size_t) 1 << 30)) {
        n <<= 1;
    }
    d = calloc(1, sizeof *d);
    if (!d) {
        return NULL;
    }
    d->buckets = calloc(n, sizeof *d->buckets);
    if (!d->buckets) {
        free(d);
        return NULL;
    }
    d->mask = n - 1;
    d->capacity = capacity;
    d->window_ns = window_ns;
    return d;
}

void
dedup_free(struct dedup *d)
{
    if (!d) {
        return;
    }
    for (size_t i = 0; i <= d->mask; i++) {
        struct dedup_entry *e = d->buckets[i], *next;

        for (; e; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(d->buckets);
    free(d);
}

/* Drops entries last seen more than a window ago. */
static void
dedup_purge(struct dedup *d, int64_t now_ns)
{
    for (size_t i = 0; i <= d->mask; i++) {
        struct dedup_entry **pp = &d->buckets[i];

        while (*pp) {
            struct dedup_entry *e = *pp;

            if (now_ns - e->seen_ns >= d->window_ns) {
                *pp = e->next;
                free(e);
                d->length--;
            } else {
                pp = &e->next;
            }
        }
    }
}

static void
dedup_record(struct dedup_entry *e, const char *state, int64_t event_ns,
             int64_t now_ns)
{
    snprintf(e->state, sizeof e->state, "%s", state);
    e->event_ns = event_ns;
    e->seen_ns = now_ns;
}

enum dedup_verdict
dedup_check(struct dedup *d, const char *key, const char *state,
            int64_t event_ns, int64_t now_ns)
{
    size_t slot = dedup_hash(key) & d->mask;
    struct dedup_entry *e;
    size_t size;

    for (e = d->buckets[slot]; e; e = e->next) {
        if (!strcmp(e->key, key)) {
            bool same = !strncmp(e->state, state, sizeof e->state - 1);

            if (event_ns < e->event_ns) {
                return DEDUP_STALE;
            }
            if (same && now_ns - e->seen_ns < d->window_ns) {
                return DEDUP_DUPLICATE;
            }
            dedup_record(e, state, event_ns, now_ns);
            return DEDUP_NEW;
        }
    }
    if (d->length >= d->capacity) {
        dedup_purge(d, now_ns);
        if (d->length >= d->capacity) {
            return DEDUP_UNTRACKED;
        }
    }
    size = strlen(key) + 1;
    e = malloc(sizeof *e + size);
    if (!e) {
        return DEDUP_UNTRACKED;
    }
    memcpy(e->key, key, size);
    dedup_record(e, state, event_ns, now_ns);
    e->next = d->buckets[slot];
    d->buckets[slot] = e;
    d->length++;
    return DEDUP_NEW;
}

size_t
dedup_length(const struct dedup *d)
{
    return d->length;
}

const char *
dedup_verdict_name(enum dedup_verdict v)
{
    static const char *const names[DEDUP_VERDICT_COUNT] = {
        [DEDUP_NEW] = "new",
        [DEDUP_DUPLICATE] = "duplicate",
        [DEDUP_STALE] = "stale",
        [DEDUP_UNTRACKED] = "untracked",
    };

    return v < DEDUP_VERDICT_COUNT ? names[v] : "unknown";
}
