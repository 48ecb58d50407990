/* upf_table: lock-free session tables on rte_hash (see upf_table.h). */
#include "upf_table.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

struct upf_table {
    struct rte_hash *hash;
    uint32_t count;     /* rte_hash_count() includes keys awaiting RCU */
};

struct upf_table *
upf_table_new(const char *name, uint32_t capacity, struct rte_rcu_qsbr *qsv,
              int socket, int *error)
{
    struct rte_hash_parameters params = {
        .name = name,
        /* rte_hash needs at least 8 entries and a bucket's worth of
         * slack; the extendable table absorbs collisions beyond that. */
        .entries = capacity < 8 ? 8 : capacity,
        .key_len = sizeof(uint32_t),
        .hash_func = rte_hash_crc,
        .hash_func_init_val = 0,
        .socket_id = socket,
        .extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF
                      | RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
    };
    struct rte_hash_rcu_config rcu = {
        .v = qsv,
        .mode = RTE_HASH_QSBR_MODE_DQ,
    };
    struct upf_table *t = calloc(1, sizeof *t);
    int ret = -ENOMEM;

    if (!t) {
        goto out;
    }
    t->hash = rte_hash_create(&params);
    if (!t->hash) {
        ret = rte_errno ? -rte_errno : -ENOMEM;
        goto out;
    }
    if (qsv && rte_hash_rcu_qsbr_add(t->hash, &rcu)) {
        ret = rte_errno ? -rte_errno : -ENOMEM;
        goto out;
    }
    return t;

out:
    upf_table_free(t);
    *error = ret;
    return NULL;
}

void
upf_table_free(struct upf_table *t)
{
    if (!t) {
        return;
    }
    rte_hash_free(t->hash);
    free(t);
}

int
upf_table_set(struct upf_table *t, uint32_t key, void *value)
{
    bool existed = rte_hash_lookup(t->hash, &key) >= 0;
    int ret = rte_hash_add_key_data(t->hash, &key, value);

    if (ret < 0) {
        return ret == -ENOSPC ? -ENOSPC : -EINVAL;
    }
    if (!existed) {
        t->count++;
    }
    return 0;
}

int
upf_table_del(struct upf_table *t, uint32_t key)
{
    if (rte_hash_del_key(t->hash, &key) < 0) {
        return -ENOENT;
    }
    t->count--;
    return 0;
}

int
upf_table_lookup(const struct upf_table *t, uint32_t key, void **value)
{
    void *data;

    if (rte_hash_lookup_data(t->hash, &key, &data) < 0) {
        return -ENOENT;
    }
    *value = data;
    return 0;
}

unsigned int
upf_table_lookup_bulk(const struct upf_table *t, const uint32_t *keys,
                      unsigned int length, void **values)
{
    const void *key_ptrs[UPF_TABLE_BULK_MAX];
    uint64_t hits = 0;
    int found;

    for (unsigned int i = 0; i < length; i++) {
        key_ptrs[i] = &keys[i];
    }
    found = rte_hash_lookup_bulk_data(t->hash, key_ptrs, length, &hits,
                                      values);
    if (found < 0) {
        found = 0;
        hits = 0;
    }
    for (unsigned int i = 0; i < length; i++) {
        if (!(hits & (UINT64_C(1) << i))) {
            values[i] = NULL;
        }
    }
    return (unsigned int) found;
}

uint32_t
upf_table_count(const struct upf_table *t)
{
    return t->count;
}
