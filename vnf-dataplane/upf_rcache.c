/* upf_rcache: a bounded, expiring PFCP response cache (see upf_rcache.h).
 *
 * A chained hash table over (IPv4, port, sequence) plus a list in
 * insertion order, which is also expiry order since every entry lives for
 * the same TTL: expiry and eviction take from the head. */
#include "upf_rcache.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct rcache_entry {
    uint32_t ipv4;              /* network order, as in sockaddr_in */
    uint16_t port;
    uint32_t seq;
    int64_t expires_ns;
    size_t size;
    uint8_t *msg;
    struct rcache_entry *chain;             /* next in the bucket */
    struct rcache_entry *older, *newer;     /* insertion order */
};

struct upf_rcache {
    size_t max_entries;
    size_t max_size;
    int64_t ttl_ns;
    size_t length;
    size_t buckets_length;      /* a power of 2 */
    struct rcache_entry **buckets;
    struct rcache_entry *oldest, *newest;
};

struct upf_rcache *
upf_rcache_new(size_t max_entries, size_t max_size, int64_t ttl_ns)
{
    struct upf_rcache *c = calloc(1, sizeof *c);
    size_t n = 16;

    if (!c) {
        return NULL;
    }
    while (n < max_entries * 2 && n < ((size_t) 1 << 30)) {
        n *= 2;
    }
    c->buckets = calloc(n, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    c->buckets_length = n;
    c->max_entries = max_entries ? max_entries : 1;
    c->max_size = max_size;
    c->ttl_ns = ttl_ns;
    return c;
}

static size_t
bucket_of(const struct upf_rcache *c, uint32_t ipv4, uint16_t port,
          uint32_t seq)
{
    uint64_t h = ((uint64_t) ipv4 << 32 | (uint64_t) port << 16) ^ seq;

    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return (size_t) h & (c->buckets_length - 1);
}

static struct rcache_entry **
find(struct upf_rcache *c, const struct sockaddr_in *peer, uint32_t seq)
{
    struct rcache_entry **link =
        &c->buckets[bucket_of(c, peer->sin_addr.s_addr, peer->sin_port, seq)];

    while (*link && !((*link)->ipv4 == peer->sin_addr.s_addr
                      && (*link)->port == peer->sin_port
                      && (*link)->seq == seq)) {
        link = &(*link)->chain;
    }
    return link;
}

static void
entry_remove(struct upf_rcache *c, struct rcache_entry *e)
{
    struct sockaddr_in peer = { 0 };
    struct rcache_entry **link;

    peer.sin_addr.s_addr = e->ipv4;
    peer.sin_port = e->port;
    link = find(c, &peer, e->seq);
    if (*link == e) {
        *link = e->chain;
    }
    if (e->older) {
        e->older->newer = e->newer;
    } else {
        c->oldest = e->newer;
    }
    if (e->newer) {
        e->newer->older = e->older;
    } else {
        c->newest = e->older;
    }
    c->length--;
    free(e->msg);
    free(e);
}

void
upf_rcache_free(struct upf_rcache *c)
{
    if (!c) {
        return;
    }
    while (c->oldest) {
        entry_remove(c, c->oldest);
    }
    free(c->buckets);
    free(c);
}

int
upf_rcache_put(struct upf_rcache *c, const struct sockaddr_in *peer,
               uint32_t seq, const uint8_t *msg, size_t size, int64_t now_ns)
{
    struct rcache_entry **link, *e;

    if (size > c->max_size) {
        return -E2BIG;
    }
    link = find(c, peer, seq);
    if (*link) {
        entry_remove(c, *link);
    }
    while (c->length >= c->max_entries) {
        entry_remove(c, c->oldest);
    }
    e = calloc(1, sizeof *e);
    if (!e || !(e->msg = malloc(size ? size : 1))) {
        free(e);
        return -ENOMEM;
    }
    memcpy(e->msg, msg, size);
    e->size = size;
    e->ipv4 = peer->sin_addr.s_addr;
    e->port = peer->sin_port;
    e->seq = seq;
    e->expires_ns = now_ns + c->ttl_ns;
    link = find(c, peer, seq);
    *link = e;
    e->older = c->newest;
    if (c->newest) {
        c->newest->newer = e;
    } else {
        c->oldest = e;
    }
    c->newest = e;
    c->length++;
    return 0;
}

const uint8_t *
upf_rcache_get(struct upf_rcache *c, const struct sockaddr_in *peer,
               uint32_t seq, size_t *size, int64_t now_ns)
{
    struct rcache_entry *e;

    upf_rcache_expire(c, now_ns);
    e = *find(c, peer, seq);
    if (!e) {
        return NULL;
    }
    *size = e->size;
    return e->msg;
}

void
upf_rcache_expire(struct upf_rcache *c, int64_t now_ns)
{
    while (c->oldest && c->oldest->expires_ns <= now_ns) {
        entry_remove(c, c->oldest);
    }
}

size_t
upf_rcache_length(const struct upf_rcache *c)
{
    return c->length;
}
