/* idmap: string-keyed open-addressing hash table (see idmap.h). */
#include "idmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IDMAP_MIN_CAPACITY 16

static uint64_t
idmap_hash(const char *key)
{
    uint64_t h = UINT64_C(14695981039346656037);

    for (const unsigned char *p = (const unsigned char *) key; *p; p++) {
        h ^= *p;
        h *= UINT64_C(1099511628211);
    }
    return h ^ (h >> 29);
}

static const char *
idmap_key(const struct idmap *map, const void *object)
{
    return (const char *) object + map->key_offset;
}

void
idmap_init(struct idmap *map, size_t key_offset)
{
    map->slots = NULL;
    map->capacity = 0;
    map->length = 0;
    map->key_offset = key_offset;
}

void
idmap_clear(struct idmap *map)
{
    free(map->slots);
    map->slots = NULL;
    map->capacity = 0;
    map->length = 0;
}

/* The slot holding 'key', or the empty slot where it would go. */
static size_t
idmap_find(const struct idmap *map, const char *key)
{
    size_t mask = map->capacity - 1;
    size_t i = (size_t) idmap_hash(key) & mask;

    while (map->slots[i] && strcmp(idmap_key(map, map->slots[i]), key)) {
        i = (i + 1) & mask;
    }
    return i;
}

void *
idmap_get(const struct idmap *map, const char *key)
{
    return map->capacity ? map->slots[idmap_find(map, key)] : NULL;
}

static int
idmap_grow(struct idmap *map)
{
    size_t capacity = map->capacity ? map->capacity * 2 : IDMAP_MIN_CAPACITY;
    void **old = map->slots;
    size_t old_capacity = map->capacity;

    map->slots = calloc(capacity, sizeof *map->slots);
    if (!map->slots) {
        map->slots = old;
        return -ENOMEM;
    }
    map->capacity = capacity;
    for (size_t i = 0; i < old_capacity; i++) {
        if (old[i]) {
            map->slots[idmap_find(map, idmap_key(map, old[i]))] = old[i];
        }
    }
    free(old);
    return 0;
}

int
idmap_put(struct idmap *map, void *object)
{
    size_t i;

    if ((map->length + 1) * 10 > map->capacity * 7 && idmap_grow(map)) {
        return -ENOMEM;
    }
    i = idmap_find(map, idmap_key(map, object));
    if (map->slots[i]) {
        return -EEXIST;
    }
    map->slots[i] = object;
    map->length++;
    return 0;
}

void *
idmap_remove(struct idmap *map, const char *key)
{
    size_t mask, i, j;
    void *object;

    if (!map->capacity) {
        return NULL;
    }
    mask = map->capacity - 1;
    i = idmap_find(map, key);
    object = map->slots[i];
    if (!object) {
        return NULL;
    }
    /* Backward shift: pull later members of the run into the hole when
     * their home slot does not lie cyclically in (hole, their slot]. */
    j = i;
    for (;;) {
        size_t home;

        j = (j + 1) & mask;
        if (!map->slots[j]) {
            break;
        }
        home = (size_t) idmap_hash(idmap_key(map, map->slots[j])) & mask;
        if ((j > i && (home <= i || home > j)) ||
            (j < i && (home <= i && home > j))) {
            map->slots[i] = map->slots[j];
            i = j;
        }
    }
    map->slots[i] = NULL;
    map->length--;
    return object;
}

void *
idmap_next(const struct idmap *map, size_t *cursor)
{
    while (*cursor < map->capacity) {
        void *object = map->slots[(*cursor)++];

        if (object) {
            return object;
        }
    }
    return NULL;
}
