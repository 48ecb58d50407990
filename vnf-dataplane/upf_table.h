/* upf_table: a session table of vigil-upf -- a 32-bit key (a TEID, or a UE
 * IPv4 address in host order) to a pointer (a struct upf_pdr_rt).
 *
 * An rte_hash with RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF and the extendable
 * bucket table, tied to the data plane's RCU QSBR variable: workers look
 * up without locks while one writer (the main lcore) adds, replaces and
 * deletes; key slots of deleted entries are reclaimed through the hash's
 * RCU defer queue. The values are not freed by the table: a writer that
 * replaces or deletes a value frees it after upf_dp_synchronize().
 *
 * Threading: upf_table_lookup_bulk() and upf_table_lookup() from any
 * registered RCU reader (worker lcores) or the writer; everything else on
 * the writer only. */
#ifndef VIGIL_UPF_TABLE_H
#define VIGIL_UPF_TABLE_H

#include <stdint.h>

struct rte_rcu_qsbr;
struct upf_table;

/* At most this many keys per upf_table_lookup_bulk() call. */
#define UPF_TABLE_BULK_MAX 64

/* Creates a table named 'name' (unique in the process) holding at least
 * 'capacity' keys, reclaiming through 'qsv', in the memory of DPDK socket
 * (or external heap) 'socket'. NULL with '*error' set. */
struct upf_table *upf_table_new(const char *name, uint32_t capacity,
                                struct rte_rcu_qsbr *qsv, int socket,
                                int *error);

/* Frees the table (not the values). Accepts NULL. */
void upf_table_free(struct upf_table *t);

/* Maps 'key' to 'value', replacing an earlier value atomically for
 * readers. 0, -ENOSPC (full) or -EINVAL. */
int upf_table_set(struct upf_table *t, uint32_t key, void *value);

/* Removes 'key'. 0 or -ENOENT. */
int upf_table_del(struct upf_table *t, uint32_t key);

/* The value of 'key' in '*value'. 0 or -ENOENT. */
int upf_table_lookup(const struct upf_table *t, uint32_t key, void **value);

/* Looks up 'length' (<= UPF_TABLE_BULK_MAX) keys at once: values[i] is the
 * value of keys[i] or NULL. Returns the number found. */
unsigned int upf_table_lookup_bulk(const struct upf_table *t,
                                   const uint32_t *keys, unsigned int length,
                                   void **values);

/* Keys in the table. */
uint32_t upf_table_count(const struct upf_table *t);

#endif
