/* upf_rcache: the PFCP response cache of vigil-upf.
 *
 * TS 29.244 7.6 / 6.4: a request retransmitted by the peer (same sequence
 * number from the same address and port) must get the same response
 * again, without being executed twice (a Session Establishment Request
 * retransmitted after a lost response must not create a second session).
 * Each response sent is kept here for 'ttl_ns' (longer than the peer's
 * T1 x N1 retransmission window); at most 'max_entries' are kept, the
 * oldest evicted first, and each is at most 'max_size' bytes.
 *
 * Threading: one thread (the main lcore). */
#ifndef VIGIL_UPF_RCACHE_H
#define VIGIL_UPF_RCACHE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct upf_rcache;

/* NULL on allocation failure. */
struct upf_rcache *upf_rcache_new(size_t max_entries, size_t max_size,
                                  int64_t ttl_ns);

/* Accepts NULL. */
void upf_rcache_free(struct upf_rcache *c);

/* Keeps a copy of the response 'msg' ('size' bytes) to request 'seq' from
 * 'peer', replacing an earlier one for the same key. 0, -E2BIG (over
 * max_size) or -ENOMEM. */
int upf_rcache_put(struct upf_rcache *c, const struct sockaddr_in *peer,
                   uint32_t seq, const uint8_t *msg, size_t size,
                   int64_t now_ns);

/* The cached response to request 'seq' from 'peer' (valid until the next
 * call that changes the cache), with its size in '*size'; NULL when there
 * is none or it expired. */
const uint8_t *upf_rcache_get(struct upf_rcache *c,
                              const struct sockaddr_in *peer, uint32_t seq,
                              size_t *size, int64_t now_ns);

/* Drops the entries older than the TTL. */
void upf_rcache_expire(struct upf_rcache *c, int64_t now_ns);

/* Entries held. */
size_t upf_rcache_length(const struct upf_rcache *c);

#endif
