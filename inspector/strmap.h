/* strmap: a hash table from strings to pointers, for the inspector's
 * tables (servers by UUID and hosts by name in inventory.c, host fault
 * records in host_fault.c).
 *
 * Keys are copied; values are the caller's (never freed here). Chained
 * buckets, FNV-1a hashing, doubling when the load passes 1; the caller
 * caps how many entries it inserts. Iteration order is unspecified and
 * must not be combined with insertions; removing the entry being visited
 * is allowed through strmap_foreach()'s return value.
 *
 * Not thread-safe. */
#ifndef VIGIL_INSPECTOR_STRMAP_H
#define VIGIL_INSPECTOR_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap;

/* An empty map; NULL on allocation failure. */
struct strmap *strmap_new(void);

/* Frees the map and its copies of the keys, not the values. Accepts NULL. */
void strmap_free(struct strmap *map);

/* The value stored under 'key', or NULL. */
void *strmap_get(const struct strmap *map, const char *key);

/* Stores 'value' (not NULL) under 'key', replacing any value there; the
 * previous value, if any, goes to '*old' (may be NULL). 0 or -ENOMEM
 * (-EINVAL for a NULL value). The key is copied. */
int strmap_put(struct strmap *map, const char *key, void *value, void **old);

/* Removes 'key'; returns its value, or NULL when absent. */
void *strmap_remove(struct strmap *map, const char *key);

size_t strmap_length(const struct strmap *map);

/* Calls 'fn(key, value, arg)' for every entry; when it returns true the
 * entry is removed (after the call; its value stays the caller's). */
typedef bool strmap_visit_fn(const char *key, void *value, void *arg);
void strmap_foreach(struct strmap *map, strmap_visit_fn *fn, void *arg);

#endif
