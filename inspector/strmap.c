/* strmap: chained hash table from strings to pointers (see strmap.h). */
#include "strmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STRMAP_INITIAL_BUCKETS 64

struct strmap_node {
    struct strmap_node *next;
    uint64_t hash;
    void *value;
    char key[];
};

struct strmap {
    struct strmap_node **buckets;
    size_t n_buckets;               /* a power of two */
    size_t length;
};

static uint64_t
strmap_hash(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (const unsigned char *p = (const unsigned char *) key; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

struct strmap *
strmap_new(void)
{
    struct strmap *map = calloc(1, sizeof *map);

    if (!map) {
        return NULL;
    }
    map->buckets = calloc(STRMAP_INITIAL_BUCKETS, sizeof *map->buckets);
    if (!map->buckets) {
        free(map);
        return NULL;
    }
    map->n_buckets = STRMAP_INITIAL_BUCKETS;
    return map;
}

void
strmap_free(struct strmap *map)
{
    if (!map) {
        return;
    }
    for (size_t i = 0; i < map->n_buckets; i++) {
        struct strmap_node *n = map->buckets[i];

        while (n) {
            struct strmap_node *next = n->next;

            free(n);
            n = next;
        }
    }
    free(map->buckets);
    free(map);
}

static struct strmap_node **
strmap_find(const struct strmap *map, const char *key, uint64_t hash)
{
    struct strmap_node **slot = &map->buckets[hash & (map->n_buckets - 1)];

    while (*slot && ((*slot)->hash != hash || strcmp((*slot)->key, key))) {
        slot = &(*slot)->next;
    }
    return slot;
}

void *
strmap_get(const struct strmap *map, const char *key)
{
    struct strmap_node **slot = strmap_find(map, key, strmap_hash(key));

    return *slot ? (*slot)->value : NULL;
}

/* Doubles the bucket array; on allocation failure the map stays as it is
 * (only slower). */
static void
strmap_grow(struct strmap *map)
{
    size_t n = map->n_buckets * 2;
    struct strmap_node **buckets = calloc(n, sizeof *buckets);

    if (!buckets) {
        return;
    }
    for (size_t i = 0; i < map->n_buckets; i++) {
        struct strmap_node *node = map->buckets[i];

        while (node) {
            struct strmap_node *next = node->next;
            struct strmap_node **b = &buckets[node->hash & (n - 1)];

            node->next = *b;
            *b = node;
            node = next;
        }
    }
    free(map->buckets);
    map->buckets = buckets;
    map->n_buckets = n;
}

int
strmap_put(struct strmap *map, const char *key, void *value, void **old)
{
    uint64_t hash = strmap_hash(key);
    struct strmap_node **slot = strmap_find(map, key, hash);
    struct strmap_node *node;
    size_t size;

    if (!value) {
        return -EINVAL;
    }
    if (*slot) {
        if (old) {
            *old = (*slot)->value;
        }
        (*slot)->value = value;
        return 0;
    }
    size = strlen(key) + 1;
    node = malloc(sizeof *node + size);
    if (!node) {
        return -ENOMEM;
    }
    node->next = NULL;
    node->hash = hash;
    node->value = value;
    memcpy(node->key, key, size);
    *slot = node;
    map->length++;
    if (old) {
        *old = NULL;
    }
    if (map->length > map->n_buckets) {
        strmap_grow(map);
    }
    return 0;
}

void *
strmap_remove(struct strmap *map, const char *key)
{
    struct strmap_node **slot = strmap_find(map, key, strmap_hash(key));
    struct strmap_node *node = *slot;
    void *value;

    if (!node) {
        return NULL;
    }
    *slot = node->next;
    value = node->value;
    free(node);
    map->length--;
    return value;
}

size_t
strmap_length(const struct strmap *map)
{
    return map ? map->length : 0;
}

void
strmap_foreach(struct strmap *map, strmap_visit_fn *fn, void *arg)
{
    for (size_t i = 0; i < map->n_buckets; i++) {
        struct strmap_node **slot = &map->buckets[i];

        while (*slot) {
            struct strmap_node *node = *slot;

            if (fn(node->key, node->value, arg)) {
                *slot = node->next;
                free(node);
                map->length--;
            } else {
                slot = &node->next;
            }
        }
    }
}
