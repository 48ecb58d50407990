/* alarm_store: alarms by id plus the event matching index (see
 * alarm_store.h).
 *
 * Four hash tables with binary keys share one small chained implementation
 * (alarm_map): ids, "project\0name" for uniqueness, exact event types (each
 * a struct alarm_type_bucket), and "type\0trait\0value" for alarms keyed by
 * an eq query. Each entry sits in exactly one index list: the wildcard
 * list, the unkeyed list of its type, or one keyed list. The hash is
 * SipHash-1-3 with a random key, since names, types and trait values come
 * from outside. */
#include "alarm_store.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ---- alarm_map: a chained hash table with binary keys ---- */

struct alarm_map_node {
    struct alarm_map_node *next;
    uint64_t hash;
    size_t key_size;
    void *value;
    char key[];
};

struct alarm_map {
    struct alarm_map_node **buckets;
    size_t n_buckets;         /* a power of two */
    size_t count;
    uint64_t k0, k1;
};

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                    \
    do {                                                            \
        v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0; v0 = ROTL64(v0, 32); \
        v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2;                    \
        v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0;                    \
        v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2; v2 = ROTL64(v2, 32); \
    } while (0)

/* SipHash-1-3 of 'data'. */
static uint64_t
alarm_map_hash(const struct alarm_map *map, const void *data, size_t size)
{
    const uint8_t *p = data;
    uint64_t v0 = 0x736f6d6570736575ULL ^ map->k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ map->k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ map->k0;
    uint64_t v3 = 0x7465646279746573ULL ^ map->k1;
    uint64_t b = (uint64_t) size << 56, m;
    size_t i, tail = size & 7;

    for (i = 0; i + 8 <= size; i += 8) {
        memcpy(&m, p + i, 8);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    for (size_t j = 0; j < tail; j++) {
        b |= (uint64_t) p[i + j] << (8 * j);
    }
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static int
alarm_map_init(struct alarm_map *map)
{
    uint64_t keys[2] = { 0, 0 };

    if (getrandom(keys, sizeof keys, 0) != (ssize_t) sizeof keys) {
        /* Still a working table, just a predictable one. */
        keys[0] = (uint64_t) (uintptr_t) map;
        keys[1] = ~keys[0];
    }
    map->k0 = keys[0];
    map->k1 = keys[1];
    map->n_buckets = 16;
    map->count = 0;
    map->buckets = calloc(map->n_buckets, sizeof *map->buckets);
    return map->buckets ? 0 : -ENOMEM;
}

/* Frees the nodes (not the values). */
static void
alarm_map_destroy(struct alarm_map *map)
{
    for (size_t i = 0; map->buckets && i < map->n_buckets; i++) {
        struct alarm_map_node *node = map->buckets[i], *next;

        for (; node; node = next) {
            next = node->next;
            free(node);
        }
    }
    free(map->buckets);
    map->buckets = NULL;
}

static struct alarm_map_node **
alarm_map_find_slot(const struct alarm_map *map, const void *key,
                    size_t key_size, uint64_t hash)
{
    struct alarm_map_node **slot = &map->buckets[hash & (map->n_buckets - 1)];

    for (; *slot; slot = &(*slot)->next) {
        if ((*slot)->hash == hash && (*slot)->key_size == key_size &&
            !memcmp((*slot)->key, key, key_size)) {
            break;
        }
    }
    return slot;
}

static void *
alarm_map_get(const struct alarm_map *map, const void *key, size_t key_size)
{
    uint64_t hash = alarm_map_hash(map, key, key_size);
    struct alarm_map_node *node = *alarm_map_find_slot(map, key, key_size,
                                                       hash);

    return node ? node->value : NULL;
}

static void
alarm_map_grow(struct alarm_map *map)
{
    size_t n = map->n_buckets * 2;
    struct alarm_map_node **buckets = calloc(n, sizeof *buckets);

    if (!buckets) {
        return;   /* keep the longer chains */
    }
    for (size_t i = 0; i < map->n_buckets; i++) {
        struct alarm_map_node *node = map->buckets[i], *next;

        for (; node; node = next) {
            next = node->next;
            node->next = buckets[node->hash & (n - 1)];
            buckets[node->hash & (n - 1)] = node;
        }
    }
    free(map->buckets);
    map->buckets = buckets;
    map->n_buckets = n;
}

/* Adds 'key' -> 'value'; the key must not be present. 0 or -ENOMEM. */
static int
alarm_map_put(struct alarm_map *map, const void *key, size_t key_size,
              void *value)
{
    uint64_t hash = alarm_map_hash(map, key, key_size);
    struct alarm_map_node *node = malloc(sizeof *node + key_size);
    size_t i;

    if (!node) {
        return -ENOMEM;
    }
    node->hash = hash;
    node->key_size = key_size;
    node->value = value;
    memcpy(node->key, key, key_size);
    i = hash & (map->n_buckets - 1);
    node->next = map->buckets[i];
    map->buckets[i] = node;
    if (++map->count > map->n_buckets) {
        alarm_map_grow(map);
    }
    return 0;
}

/* Points the existing 'key' at 'value'. */
static void
alarm_map_set(struct alarm_map *map, const void *key, size_t key_size,
              void *value)
{
    uint64_t hash = alarm_map_hash(map, key, key_size);
    struct alarm_map_node *node = *alarm_map_find_slot(map, key, key_size,
                                                       hash);

    if (node) {
        node->value = value;
    }
}

static void
alarm_map_del(struct alarm_map *map, const void *key, size_t key_size)
{
    uint64_t hash = alarm_map_hash(map, key, key_size);
    struct alarm_map_node **slot = alarm_map_find_slot(map, key, key_size,
                                                       hash);
    struct alarm_map_node *node = *slot;

    if (node) {
        *slot = node->next;
        free(node);
        map->count--;
    }
}

/* ---- the store ---- */

struct alarm_store_entry;

/* One index list (doubly linked through the entries). */
struct alarm_store_list {
    struct alarm_store_entry *first;
    size_t length;
};

/* A trait that keys some alarms of a type, with how many. */
struct alarm_key_trait {
    char *name;
    size_t refs;
};

struct alarm_type_bucket {
    struct alarm_store_list unkeyed;
    struct alarm_key_trait *traits;
    size_t n_traits;
    size_t members;           /* unkeyed and keyed alarms of this type */
};

struct alarm_store_entry {
    struct alarm *alarm;
    struct alarm_store_entry *order_prev, *order_next;
    struct alarm_store_list *list;
    struct alarm_store_entry *list_prev, *list_next;
    const struct alarm_query *key_query;  /* keyed by this eq query */
    uint64_t mark;            /* last match pass that reported it */
};

struct alarm_store {
    size_t max_alarms;
    struct alarm_map ids;     /* id -> entry */
    struct alarm_map names;   /* project\0name -> entry */
    struct alarm_map types;   /* type -> alarm_type_bucket */
    struct alarm_map keys;    /* type\0trait\0value -> alarm_store_list */
    struct alarm_store_list wildcards;
    struct alarm_store_entry *order_first, *order_last;
    uint64_t pass;
};

/* Room for "type\0trait\0value". */
#define ALARM_STORE_KEY_SIZE (ALARM_MAX_EVENT_TYPE_LENGTH + 8 \
                              + ALARM_MAX_FIELD_LENGTH + 1 \
                              + ALARM_MAX_VALUE_LENGTH + 1)

/* Writes the parts, each followed by NUL but the last, to 'buf'. Returns
 * the size, or 0 when it does not fit. */
static size_t
alarm_store_make_key(char *buf, size_t size, const char *const *parts,
                     const size_t *lengths, size_t n)
{
    size_t used = 0;

    for (size_t i = 0; i < n; i++) {
        size_t need = lengths[i] + (i + 1 < n);

        if (used + need > size) {
            return 0;
        }
        memcpy(buf + used, parts[i], lengths[i]);
        used += lengths[i];
        if (i + 1 < n) {
            buf[used++] = '\0';
        }
    }
    return used;
}

static size_t
alarm_store_name_key(char *buf, size_t size, const char *project_id,
                     const char *name)
{
    const char *parts[2] = { project_id ? project_id : "", name };
    size_t lengths[2] = { strlen(parts[0]), strlen(name) };

    return alarm_store_make_key(buf, size, parts, lengths, 2);
}

static size_t
alarm_store_value_key(char *buf, size_t size, const char *type,
                      const char *trait, const char *value,
                      size_t value_length)
{
    const char *parts[3] = { type, trait, value };
    size_t lengths[3] = { strlen(type), strlen(trait), value_length };

    return alarm_store_make_key(buf, size, parts, lengths, 3);
}

struct alarm_store *
alarm_store_new(size_t max_alarms)
{
    struct alarm_store *store = calloc(1, sizeof *store);

    if (!store) {
        return NULL;
    }
    store->max_alarms = max_alarms;
    if (alarm_map_init(&store->ids) || alarm_map_init(&store->names) ||
        alarm_map_init(&store->types) || alarm_map_init(&store->keys)) {
        alarm_store_free(store);
        return NULL;
    }
    return store;
}

size_t
alarm_store_count(const struct alarm_store *store)
{
    return store->ids.count;
}

size_t
alarm_store_max(const struct alarm_store *store)
{
    return store->max_alarms;
}

static void
alarm_store_list_push(struct alarm_store_list *list,
                      struct alarm_store_entry *entry)
{
    entry->list = list;
    entry->list_prev = NULL;
    entry->list_next = list->first;
    if (list->first) {
        list->first->list_prev = entry;
    }
    list->first = entry;
    list->length++;
}

static void
alarm_store_list_unlink(struct alarm_store_entry *entry)
{
    struct alarm_store_list *list = entry->list;

    if (entry->list_prev) {
        entry->list_prev->list_next = entry->list_next;
    } else {
        list->first = entry->list_next;
    }
    if (entry->list_next) {
        entry->list_next->list_prev = entry->list_prev;
    }
    list->length--;
    entry->list = NULL;
    entry->list_prev = entry->list_next = NULL;
}

/* The query that keys 'alarm' in its type bucket: the first eq query
 * compared as a string, or NULL. */
static const struct alarm_query *
alarm_store_key_query(const struct alarm *alarm)
{
    for (size_t i = 0; i < alarm->n_queries; i++) {
        const struct alarm_query *q = &alarm->queries[i];

        if (q->op == ALARM_OP_EQ && q->type == ALARM_VALUE_STRING) {
            return q;
        }
    }
    return NULL;
}

static struct alarm_type_bucket *
alarm_store_type_bucket(struct alarm_store *store, const char *type,
                        bool create)
{
    struct alarm_type_bucket *bucket = alarm_map_get(&store->types, type,
                                                     strlen(type));

    if (bucket || !create) {
        return bucket;
    }
    bucket = calloc(1, sizeof *bucket);
    if (bucket && alarm_map_put(&store->types, type, strlen(type), bucket)) {
        free(bucket);
        bucket = NULL;
    }
    return bucket;
}

static void
alarm_store_bucket_release(struct alarm_store *store, const char *type,
                           struct alarm_type_bucket *bucket)
{
    if (--bucket->members > 0) {
        return;
    }
    alarm_map_del(&store->types, type, strlen(type));
    for (size_t i = 0; i < bucket->n_traits; i++) {
        free(bucket->traits[i].name);
    }
    free(bucket->traits);
    free(bucket);
}

/* Counts one more alarm keyed by 'trait' in 'bucket'. */
static int
alarm_store_trait_ref(struct alarm_type_bucket *bucket, const char *trait)
{
    struct alarm_key_trait *traits;

    for (size_t i = 0; i < bucket->n_traits; i++) {
        if (!strcmp(bucket->traits[i].name, trait)) {
            bucket->traits[i].refs++;
            return 0;
        }
    }
    traits = realloc(bucket->traits,
                     (bucket->n_traits + 1) * sizeof *bucket->traits);
    if (!traits) {
        return -ENOMEM;
    }
    bucket->traits = traits;
    traits[bucket->n_traits].name = strdup(trait);
    if (!traits[bucket->n_traits].name) {
        return -ENOMEM;
    }
    traits[bucket->n_traits].refs = 1;
    bucket->n_traits++;
    return 0;
}

static void
alarm_store_trait_unref(struct alarm_type_bucket *bucket, const char *trait)
{
    for (size_t i = 0; i < bucket->n_traits; i++) {
        struct alarm_key_trait *t = &bucket->traits[i];

        if (!strcmp(t->name, trait)) {
            if (--t->refs == 0) {
                free(t->name);
                *t = bucket->traits[--bucket->n_traits];
            }
            return;
        }
    }
}

/* Puts 'entry' into the index. 0 or -ENOMEM (nothing indexed). */
static int
alarm_store_index(struct alarm_store *store, struct alarm_store_entry *entry)
{
    const struct alarm *alarm = entry->alarm;
    struct alarm_type_bucket *bucket;
    struct alarm_store_list *list;
    char key[ALARM_STORE_KEY_SIZE];
    size_t key_size;
    const struct alarm_query *q;
    bool created = false;
    int ret = -ENOMEM;

    if (alarm_match_is_pattern(alarm->event_type)) {
        entry->key_query = NULL;
        alarm_store_list_push(&store->wildcards, entry);
        return 0;
    }
    bucket = alarm_store_type_bucket(store, alarm->event_type, true);
    if (!bucket) {
        return -ENOMEM;
    }
    bucket->members++;
    q = alarm_store_key_query(alarm);
    entry->key_query = q;
    if (!q) {
        alarm_store_list_push(&bucket->unkeyed, entry);
        return 0;
    }
    key_size = alarm_store_value_key(key, sizeof key, alarm->event_type,
                                     q->trait, q->value, strlen(q->value));
    list = alarm_map_get(&store->keys, key, key_size);
    if (!list) {
        list = calloc(1, sizeof *list);
        if (!list || alarm_map_put(&store->keys, key, key_size, list)) {
            free(list);
            goto out;
        }
        created = true;
    }
    if (alarm_store_trait_ref(bucket, q->trait)) {
        if (created) {
            alarm_map_del(&store->keys, key, key_size);
            free(list);
        }
        goto out;
    }
    alarm_store_list_push(list, entry);
    ret = 0;
out:
    if (ret) {
        entry->key_query = NULL;
        alarm_store_bucket_release(store, alarm->event_type, bucket);
    }
    return ret;
}

/* Takes 'entry' out of the index. */
static void
alarm_store_unindex(struct alarm_store *store,
                    struct alarm_store_entry *entry)
{
    const struct alarm *alarm = entry->alarm;
    struct alarm_store_list *list = entry->list;
    struct alarm_type_bucket *bucket;
    const struct alarm_query *q = entry->key_query;

    alarm_store_list_unlink(entry);
    if (list == &store->wildcards) {
        return;
    }
    bucket = alarm_store_type_bucket(store, alarm->event_type, false);
    if (q) {
        char key[ALARM_STORE_KEY_SIZE];
        size_t key_size = alarm_store_value_key(key, sizeof key,
                                                alarm->event_type, q->trait,
                                                q->value, strlen(q->value));

        if (!list->first) {
            alarm_map_del(&store->keys, key, key_size);
            free(list);
        }
        alarm_store_trait_unref(bucket, q->trait);
        entry->key_query = NULL;
    }
    alarm_store_bucket_release(store, alarm->event_type, bucket);
}

int
alarm_store_add(struct alarm_store *store, struct alarm *alarm)
{
    struct alarm_store_entry *entry = NULL;
    char key[ALARM_MAX_ID_LENGTH + ALARM_MAX_NAME_LENGTH + 2];
    size_t key_size;
    int ret;

    if (!alarm->id[0]) {
        return -EINVAL;
    }
    if (alarm_map_get(&store->ids, alarm->id, strlen(alarm->id))) {
        return -EEXIST;
    }
    key_size = alarm_store_name_key(key, sizeof key, alarm->project_id,
                                    alarm->name);
    if (!key_size && (alarm->name[0] || (alarm->project_id &&
                                         alarm->project_id[0]))) {
        return -EINVAL;
    }
    if (alarm_map_get(&store->names, key, key_size)) {
        return -ENOTUNIQ;
    }
    if (store->ids.count >= store->max_alarms) {
        return -ENOSPC;
    }
    entry = calloc(1, sizeof *entry);
    if (!entry) {
        return -ENOMEM;
    }
    entry->alarm = alarm;
    ret = alarm_map_put(&store->ids, alarm->id, strlen(alarm->id), entry);
    if (!ret) {
        ret = alarm_map_put(&store->names, key, key_size, entry);
    }
    if (!ret) {
        ret = alarm_store_index(store, entry);
    }
    if (ret) {
        goto out;
    }
    entry->order_prev = store->order_last;
    if (store->order_last) {
        store->order_last->order_next = entry;
    } else {
        store->order_first = entry;
    }
    store->order_last = entry;
    entry = NULL;
out:
    if (entry) {
        /* Neither key was there before: deleting what was not added is a
         * no-op. */
        alarm_map_del(&store->names, key, key_size);
        alarm_map_del(&store->ids, alarm->id, strlen(alarm->id));
        free(entry);
    }
    return ret;
}

static struct alarm_store_entry *
alarm_store_entry(const struct alarm_store *store, const char *id)
{
    return alarm_map_get(&store->ids, id, strlen(id));
}

struct alarm *
alarm_store_get(const struct alarm_store *store, const char *id)
{
    struct alarm_store_entry *entry = alarm_store_entry(store, id);

    return entry ? entry->alarm : NULL;
}

struct alarm *
alarm_store_find_name(const struct alarm_store *store, const char *project_id,
                      const char *name)
{
    char key[ALARM_MAX_ID_LENGTH + ALARM_MAX_NAME_LENGTH + 2];
    size_t key_size = alarm_store_name_key(key, sizeof key, project_id, name);
    struct alarm_store_entry *entry;

    if (!key_size && (name[0] || (project_id && project_id[0]))) {
        return NULL;
    }
    entry = alarm_map_get(&store->names, key, key_size);
    return entry ? entry->alarm : NULL;
}

int
alarm_store_replace(struct alarm_store *store, struct alarm *alarm)
{
    struct alarm_store_entry *old = alarm_store_entry(store, alarm->id);
    char old_key[ALARM_MAX_ID_LENGTH + ALARM_MAX_NAME_LENGTH + 2];
    char new_key[ALARM_MAX_ID_LENGTH + ALARM_MAX_NAME_LENGTH + 2];
    struct alarm_store_entry *holder, *entry;
    size_t old_size, new_size;
    bool renamed;

    if (!old) {
        return -ENOENT;
    }
    old_size = alarm_store_name_key(old_key, sizeof old_key,
                                    old->alarm->project_id, old->alarm->name);
    new_size = alarm_store_name_key(new_key, sizeof new_key,
                                    alarm->project_id, alarm->name);
    if (!new_size && (alarm->name[0] || (alarm->project_id &&
                                         alarm->project_id[0]))) {
        return -EINVAL;
    }
    holder = alarm_map_get(&store->names, new_key, new_size);
    if (holder && holder != old) {
        return -ENOTUNIQ;
    }
    renamed = !holder;
    entry = calloc(1, sizeof *entry);
    if (!entry) {
        return -ENOMEM;
    }
    entry->alarm = alarm;
    if (renamed && alarm_map_put(&store->names, new_key, new_size, entry)) {
        free(entry);
        return -ENOMEM;
    }
    if (alarm_store_index(store, entry)) {
        if (renamed) {
            alarm_map_del(&store->names, new_key, new_size);
        }
        free(entry);
        return -ENOMEM;
    }
    /* Nothing below can fail: swap the new entry in for the old one. */
    alarm_store_unindex(store, old);
    if (renamed) {
        alarm_map_del(&store->names, old_key, old_size);
    } else {
        alarm_map_set(&store->names, new_key, new_size, entry);
    }
    alarm_map_set(&store->ids, alarm->id, strlen(alarm->id), entry);
    entry->order_prev = old->order_prev;
    entry->order_next = old->order_next;
    if (old->order_prev) {
        old->order_prev->order_next = entry;
    } else {
        store->order_first = entry;
    }
    if (old->order_next) {
        old->order_next->order_prev = entry;
    } else {
        store->order_last = entry;
    }
    alarm_free(old->alarm);
    free(old);
    return 0;
}

int
alarm_store_remove(struct alarm_store *store, const char *id)
{
    struct alarm_store_entry *entry = alarm_store_entry(store, id);
    char key[ALARM_MAX_ID_LENGTH + ALARM_MAX_NAME_LENGTH + 2];
    size_t key_size;

    if (!entry) {
        return -ENOENT;
    }
    alarm_store_unindex(store, entry);
    key_size = alarm_store_name_key(key, sizeof key, entry->alarm->project_id,
                                    entry->alarm->name);
    alarm_map_del(&store->names, key, key_size);
    alarm_map_del(&store->ids, entry->alarm->id, strlen(entry->alarm->id));
    if (entry->order_prev) {
        entry->order_prev->order_next = entry->order_next;
    } else {
        store->order_first = entry->order_next;
    }
    if (entry->order_next) {
        entry->order_next->order_prev = entry->order_prev;
    } else {
        store->order_last = entry->order_prev;
    }
    alarm_free(entry->alarm);
    free(entry);
    return 0;
}

void
alarm_store_foreach(const struct alarm_store *store,
                    alarm_store_foreach_fn *fn, void *arg)
{
    for (struct alarm_store_entry *e = store->order_first; e;
         e = e->order_next) {
        if (!fn(e->alarm, arg)) {
            break;
        }
    }
}

/* State of one alarm_store_match() call. */
struct alarm_store_pass {
    struct alarm_store *store;
    const char *type;          /* the type the alarms must match */
    const json_t *traits;
    enum alarm_match_kind kind;
    alarm_store_match_fn *fn;
    void *arg;
    size_t calls;
};

static void
alarm_store_visit(struct alarm_store_pass *pass, struct alarm_store_list *list,
                  bool check_pattern)
{
    for (struct alarm_store_entry *e = list ? list->first : NULL; e;
         e = e->list_next) {
        struct alarm *alarm = e->alarm;

        if (e->mark == pass->store->pass || !alarm->enabled ||
            (check_pattern &&
             !alarm_match_event_type(alarm->event_type, pass->type)) ||
            !alarm_match_queries(alarm, pass->traits)) {
            continue;
        }
        e->mark = pass->store->pass;
        pass->calls++;
        pass->fn(alarm, pass->kind, pass->arg);
    }
}

/* Visits the alarms that 'pass->type' and the traits may hit. */
static void
alarm_store_match_type(struct alarm_store_pass *pass)
{
    struct alarm_store *store = pass->store;
    struct alarm_type_bucket *bucket;

    bucket = alarm_store_type_bucket(store, pass->type, false);
    if (bucket) {
        for (size_t i = 0; i < bucket->n_traits; i++) {
            const json_t *v = json_object_get(pass->traits,
                                              bucket->traits[i].name);
            char key[ALARM_STORE_KEY_SIZE];
            size_t key_size;

            if (!json_is_string(v)) {
                continue;
            }
            key_size = alarm_store_value_key(key, sizeof key, pass->type,
                                             bucket->traits[i].name,
                                             json_string_value(v),
                                             json_string_length(v));
            if (key_size) {
                alarm_store_visit(pass, alarm_map_get(&store->keys, key,
                                                      key_size), false);
            }
        }
        alarm_store_visit(pass, &bucket->unkeyed, false);
    }
    alarm_store_visit(pass, &store->wildcards, true);
}

size_t
alarm_store_match(struct alarm_store *store, const char *event_type,
                  const json_t *traits, alarm_store_match_fn *fn, void *arg)
{
    char down[ALARM_MAX_EVENT_TYPE_LENGTH + 8];
    struct alarm_store_pass pass = {
        .store = store, .traits = traits, .fn = fn, .arg = arg,
    };

    /* Direct hits first: an alarm that Aodh would evaluate for this event
     * gets Aodh's treatment; the recovery pass only sees the others. */
    store->pass++;
    pass.type = event_type;
    pass.kind = ALARM_MATCH_EVENT;
    alarm_store_match_type(&pass);
    if (!alarm_match_recovery_type(event_type, down, sizeof down)) {
        pass.type = down;
        pass.kind = ALARM_MATCH_RECOVERY;
        alarm_store_match_type(&pass);
    }
    return pass.calls;
}

void
alarm_store_free(struct alarm_store *store)
{
    struct alarm_store_entry *e, *next;

    if (!store) {
        return;
    }
    for (e = store->order_first; e; e = next) {
        next = e->order_next;
        alarm_store_unindex(store, e);
        alarm_free(e->alarm);
        free(e);
    }
    alarm_map_destroy(&store->ids);
    alarm_map_destroy(&store->names);
    alarm_map_destroy(&store->types);
    alarm_map_destroy(&store->keys);
    free(store);
}
