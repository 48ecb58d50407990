/* pfcp_ie: the octet codecs of single PFCP information elements, for
 * pfcp.c (see pfcp.h for the codec's API and the value structs).
 *
 * A codec turns the value octets of one IE (after its type and length)
 * into the struct or integer that holds it, and back. pfcp.c's schema
 * points each IE of each message or grouped IE at one of these. Decoders
 * check every length against what the IE's flags require before reading;
 * encoders write through a bounded writer that never stores past its
 * buffer. */
#include "pfcp_ie.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int
too_short(const char **why)
{
    *why = "too short for its flags";
    return -EBADMSG;
}

/* One octet, masked with 'param' (QFI: 0x3f, interfaces: 0x0f). */
static int
u8_decode(const struct pfcp_ie_codec *codec, const uint8_t *p, size_t n,
          void *out, const char **why)
{
    if (n < 1) {
        return too_short(why);
    }
    *(uint8_t *) out = p[0] & codec->param;
    return 0;
}

static int
u8_encode(const struct pfcp_ie_codec *codec, const void *in,
          struct pfcp_writer *w)
{
    uint8_t v = *(const uint8_t *) in;

    if (v & ~codec->param) {
        return -EINVAL;
    }
    pfcp_ie_put8(w, v);
    return 0;
}

/* The value of an unsigned integer field 'width' bytes wide (2, 4, 8). */
static uint64_t
field_load(const void *in, unsigned int width)
{
    switch (width) {
    case 2:
        return *(const uint16_t *) in;
    case 4:
        return *(const uint32_t *) in;
    default:
        return *(const uint64_t *) in;
    }
}

static void
field_store(void *out, unsigned int width, uint64_t v)
{
    switch (width) {
    case 2:
        *(uint16_t *) out = (uint16_t) v;
        break;
    case 4:
        *(uint32_t *) out = (uint32_t) v;
        break;
    default:
        *(uint64_t *) out = v;
        break;
    }
}

/* A big-endian integer of 'param' octets (2 or 4) in a field as wide. */
static int
uint_decode(const struct pfcp_ie_codec *codec, const uint8_t *p, size_t n,
            void *out, const char **why)
{
    uint64_t v = 0;

    if (n < codec->param) {
        return too_short(why);
    }
    for (unsigned int i = 0; i < codec->param; i++) {
        v = v << 8 | p[i];
    }
    field_store(out, codec->param, v);
    return 0;
}

static int
uint_encode(const struct pfcp_ie_codec *codec, const void *in,
            struct pfcp_writer *w)
{
    pfcp_ie_put_be(w, field_load(in, codec->param), codec->param);
    return 0;
}

/* Bitmaps of flag octets (features, triggers, apply action): octet 5 is
 * the low byte. param = field width in bytes (2, 4, 8) << 8 | minimum
 * octets to encode. Octets beyond the field width are ignored. */

static int
bitmap_decode(const struct pfcp_ie_codec *codec, const uint8_t *p, size_t n,
              void *out, const char **why)
{
    unsigned int width = codec->param >> 8;
    uint64_t v = 0;

    if (n < 1) {
        return too_short(why);
    }
    for (size_t i = 0; i < n && i < width; i++) {
        v |= (uint64_t) p[i] << (8 * i);
    }
    field_store(out, width, v);
    return 0;
}

static int
bitmap_encode(const struct pfcp_ie_codec *codec, const void *in,
              struct pfcp_writer *w)
{
    unsigned int width = codec->param >> 8;
    unsigned int octets = codec->param & 0xff;
    uint64_t v = field_load(in, width);

    for (unsigned int i = 0; i < width; i++) {
        if ((v >> (8 * i)) & 0xff && i + 1 > octets) {
            octets = i + 1;
        }
    }
    for (unsigned int i = 0; i < octets; i++) {
        pfcp_ie_put8(w, (uint8_t) (v >> (8 * i)));
    }
    return 0;
}

/* The IPv4 and IPv6 addresses that flags 'v4' and 'v6' announce, in that
 * order: their size, reading them (the caller checked that they are
 * there; returns the octet after them) and writing them. */
static size_t
addrs_size(bool v4, bool v6)
{
    return (v4 ? 4 : 0) + (v6 ? 16 : 0);
}

static const uint8_t *
addrs_get(const uint8_t *p, bool v4, bool v6, struct in_addr *ipv4,
          struct in6_addr *ipv6)
{
    if (v4) {
        memcpy(ipv4, p, 4);
        p += 4;
    }
    if (v6) {
        memcpy(ipv6, p, 16);
        p += 16;
    }
    return p;
}

static void
addrs_put(struct pfcp_writer *w, bool v4, bool v6,
          const struct in_addr *ipv4, const struct in6_addr *ipv6)
{
    if (v4) {
        pfcp_ie_put(w, ipv4, 4);
    }
    if (v6) {
        pfcp_ie_put(w, ipv6, 16);
    }
}

static int
name_store(struct pfcp_name *name, const uint8_t *p, size_t n,
           const char **why)
{
    if (n < 1) {
        *why = "empty name";
        return -EBADMSG;
    }
    if (n > sizeof name->octets) {
        *why = "name longer than PFCP_NAME_SIZE";
        return -E2BIG;
    }
    memcpy(name->octets, p, n);
    name->size = (uint8_t) n;
    return 0;
}

static int
name_check(const struct pfcp_name *name)
{
    return name->size >= 1 && name->size <= sizeof name->octets ? 0
                                                                : -EINVAL;
}

static int
name_decode(const struct pfcp_ie_codec *codec, const uint8_t *p, size_t n,
            void *out, const char **why)
{
    (void) codec;
    return name_store(out, p, n, why);
}

static int
name_encode(const struct pfcp_ie_codec *codec, const void *in,
            struct pfcp_writer *w)
{
    const struct pfcp_name *name = in;

    (void) codec;
    if (name_check(name)) {
        return -EINVAL;
    }
    pfcp_ie_put(w, name->octets, name->size);
    return 0;
}

static int
node_id_decode(const struct pfcp_ie_codec *codec, const uint8_t *p, size_t n,
               void *out, const char **why)
{
    struct pfcp_node_id *id = out;

    (void) codec;
    if (n < 1) {
        return too_short(why);
    }
    id->type = p[0] & 0x0f;
    switch (id->type) {
    case PFCP_NODE_ID_IPV4:
        if (n < 5) {
            return too_short(why);
        }
        memcpy(&id->ipv4, p + 1, 4);
        return 0;
    case PFCP_NODE_ID_IPV6:
        if (n < 17) {
            return too_short(why);
        }
        memcpy(&id->ipv6, p + 1, 16);
        return 0;
    case PFCP_NODE_ID_FQDN:
        return name_store(&id->fqdn, p + 1, n - 1, why);
    default:
        *why = "unknown Node ID type";
        return -EBADMSG;
    }
}

static int
node_id_encode(const struct pfcp_ie_codec *codec, const void *in,
               struct pfcp_writer *w)
{
    const struct pfcp_node_id *id = in;

    (void) codec;
    switch (id->type) {
    case PFCP_NODE_ID_IPV4:
        pfcp_ie_put8(w, id->type);
        pfcp_ie_put(w, &id->ipv4, 4);
        return 0;
    case PFCP_NODE_ID_IPV6:
        pfcp_ie_put8(w, id->type);
        pfcp_ie_put(w, &id->ipv6, 16);
        return 0;
    case PFCP_NODE_ID_FQDN:
        if (name_check(&id->fqdn)) {
            return -EINVAL;
        }
        pfcp_ie_put8(w, id->type);
        pfcp_ie_put(w, id->fqdn.octets, id->fqdn.size);
        return 0;
    default:
        return -EINVAL;
    }
}

static int
fseid_decode(const struct pfcp_ie_codec *codec, const uint8_t *p, size_t n,
             void *out, const char **why)
{
    struct pfcp_fseid *f = out;
    bool v4, v6;

    (void) codec;
    if (n < 9) {
        return too_short(why);
    }
    f->flags = p[0] & (PFCP_FSEID_V4 | PFCP_FSEID_V6);
    if (!f->flags) {
        *why = "neither V4 nor V6";
        return -EBADMSG;
    }
    f->seid = pfcp_ie_get64(p + 1);
    v4 = f->flags & PFCP_FSEID_V4;
    v6 = f->flags & PFCP_FSEID_V6;
    if (n - 9 < addrs_size(v4, v6)) {
        return too_short(why);
    }
    addrs_get(p + 9, v4, v6, &f->ipv4, &f->ipv6);
    return 0;
}

static int
fseid_encode(const struct pfcp_ie_codec *codec, const void *in,
             struct pfcp_writer *w)
{
    const struct pfcp_fseid *f = in;

    (void) codec;
    if (!(f->flags & (PFCP_FSEID_V4 | PFCP_FSEID_V6)) ||
        f->flags & ~(PFCP_FSEID_V4 | PFCP_FSEID_V6)) {
        return -EINVAL;
    }
    pfcp_ie_put8(w, f->flags);
    pfcp_ie_put_be(w, f->seid, 8);
    addrs_put(w, f->flags & PFCP_FSEID_V4, f->flags & PFCP_FSEID_V6,
              &f->ipv4, &f->ipv6);
    return 0;
}

#define FTEID_FLAGS (PFCP_FTEID_V4 | PFCP_FTEID_V6 | PFCP_FTEID_CH | \
                     PFCP_FTEID_CHID)

static int
fteid_check(uint8_t flags, const char **why)
{
    if (!(flags & (PFCP_FTEID_V4 | PFCP_FTEID_V6))) {
        *why = "neither V4 nor V6";
        return -EBADMSG;
    }
    if (flags & PFCP_FTEID_CHID && !(flags & PFCP_FTEID_CH)) {
        *why = "CHID without CH";
        return -EBADMSG;
    }
    return 0;
}

static int
fteid_decode(const struct pfcp_ie_codec *codec, const uint8_t *p, size_t n,
             void *out, const char **why)
{
    struct pfcp_fteid *f = out;
    size_t off = 1;
    int ret;

    (void) codec;
    if (n < 1) {
        return too_short(why);
    }
    f->flags = p[0] & FTEID_FLAGS;
    ret = fteid_check(f->flags, why);
    if (ret) {
        return ret;
    }
    if (!(f->flags & PFCP_FTEID_CH)) {
        bool v4 = f->flags & PFCP_FTEID_V4;
        bool v6 = f->flags & PFCP_FTEID_V6;
        size_t need = 4 + addrs_size(v4, v6);

        if (n - off < need) {
            return too_short(why);
        }
        f->teid = pfcp_ie_get32(p + off);
        addrs_get(p + off + 4, v4, v6, &f->ipv4, &f->ipv6);
        off += need;
    }
    if (f->flags & PFCP_FTEID_CHID) {
        if (n - off < 1) {
            return too_short(why);
        }
        f->choose_id = p[off];
    }
    return 0;
}

static int
fteid_encode(const struct pfcp_ie_codec *codec, const void *in,
             struct pfcp_writer *w)
{
    const struct pfcp_fteid *f = in;
    const char *why;

    (void) codec;
    if (f->flags & ~FTEID_FLAGS || fteid_check(f->flags, &why)) {
        return -EINVAL;
    }
    pfcp_ie_put8(w, f->flags);
    if (!(f->flags & PFCP_FTEID_CH)) {
        pfcp_ie_put_be(w, f->teid, 4);
        addrs_put(w, f->flags & PFCP_FTEID_V4, f->flags & PFCP_FTEID_V6,
                  &f->ipv4, &f->ipv6);
    }
    if (f->flags & PFCP_FTEID_CHID) {
        pfcp_ie_put8(w, f->choose_id);
    }
    return 0;
}

#define UE_IP_FLAGS 0x7f

static int
ue_ip_decode(const struct pfcp_ie_codec *codec, const uint8_t *p, size_t n,
             void *out, const char **why)
{
    struct pfcp_ue_ip *u = out;
    size_t need = 1;

    (void) codec;
    if (n < 1) {
        return too_short(why);
    }
    u->flags = p[0] & UE_IP_FLAGS;
    need += addrs_size(u->flags & PFCP_UE_IP_V4, u->flags & PFCP_UE_IP_V6) +
            (u->flags & PFCP_UE_IP_IPV6D ? 1 : 0) +
            (u->flags & PFCP_UE_IP_IP6PL ? 1 : 0);
    if (n < need) {
        return too_short(why);
    }
    p = addrs_get(p + 1, u->flags & PFCP_UE_IP_V4, u->flags & PFCP_UE_IP_V6,
                  &u->ipv4, &u->ipv6);
    if (u->flags & PFCP_UE_IP_IPV6D) {
        u->ipv6_prefix_delegation_bits = *p++;
    }
    if (u->flags & PFCP_UE_IP_IP6PL) {
        u->ipv6_prefix_length = *p;
    }
    return 0;
}

static int
ue_ip_encode(const struct pfcp_ie_codec *codec, const void *in,
             struct pfcp_writer *w)
{
    const struct pfcp_ue_ip *u = in;

    (void) codec;
    if (u->flags & ~UE_IP_FLAGS) {
        return -EINVAL;
    }
    pfcp_ie_put8(w, u->flags);
    addrs_put(w, u->flags & PFCP_UE_IP_V4, u->flags & PFCP_UE_IP_V6,
              &u->ipv4, &u->ipv6);
    if (u->flags & PFCP_UE_IP_IPV6D) {
        pfcp_ie_put8(w, u->ipv6_prefix_delegation_bits);
    }
    if (u->flags & PFCP_UE_IP_IP6PL) {
        pfcp_ie_put8(w, u->ipv6_prefix_length);
    }
    return 0;
}

#define SDF_FLAGS 0x1f

static int
sdf_decode(const struct pfcp_ie_codec *codec, const uint8_t *p, size_t n,
           void *out, const char **why)
{
    struct pfcp_sdf_filter *s = out;
    size_t off = 2;

    (void) codec;
    if (n < 2) {
        return too_short(why);
    }
    s->flags = p[0] & SDF_FLAGS;
    if (s->flags & PFCP_SDF_FD) {
        size_t len;

        if (n - off < 2) {
            return too_short(why);
        }
        len = pfcp_ie_get16(p + off);
        off += 2;
        if (n - off < len) {
            *why = "flow description overruns the IE";
            return -EBADMSG;
        }
        if (len > PFCP_FLOW_DESCRIPTION_SIZE) {
            *why = "flow description longer than PFCP_FLOW_DESCRIPTION_SIZE";
            return -E2BIG;
        }
        memcpy(s->flow_description, p + off, len);
        s->flow_description[len] = '\0';
        s->flow_description_size = (uint16_t) len;
        off += len;
    }
    if (s->flags & PFCP_SDF_TTC) {
        if (n - off < 2) {
            return too_short(why);
        }
        s->tos_traffic_class = pfcp_ie_get16(p + off);
        off += 2;
    }
    if (s->flags & PFCP_SDF_SPI) {
        if (n - off < 4) {
            return too_short(why);
        }
        s->spi = pfcp_ie_get32(p + off);
        off += 4;
    }
    if (s->flags & PFCP_SDF_FL) {
        if (n - off < 3) {
            return too_short(why);
        }
        s->flow_label = pfcp_ie_get24(p + off);
        off += 3;
    }
    if (s->flags & PFCP_SDF_BID) {
        if (n - off < 4) {
            return too_short(why);
        }
        s->filter_id = pfcp_ie_get32(p + off);
    }
    return 0;
}

static int
sdf_encode(const struct pfcp_ie_codec *codec, const void *in,
           struct pfcp_writer *w)
{
    const struct pfcp_sdf_filter *s = in;

    (void) codec;
    if (s->flags & ~SDF_FLAGS ||
        s->flow_description_size > PFCP_FLOW_DESCRIPTION_SIZE ||
        s->flow_label > 0xffffff) {
        return -EINVAL;
    }
    pfcp_ie_put8(w, s->flags);
    pfcp_ie_put8(w, 0);
    if (s->flags & PFCP_SDF_FD) {
        pfcp_ie_put_be(w, s->flow_description_size, 2);
        pfcp_ie_put(w, s->flow_description, s->flow_description_size);
    }
    if (s->flags & PFCP_SDF_TTC) {
        pfcp_ie_put_be(w, s->tos_traffic_class, 2);
    }
    if (s->flags & PFCP_SDF_SPI) {
        pfcp_ie_put_be(w, s->spi, 4);
    }
    if (s->flags & PFCP_SDF_FL) {
        pfcp_ie_put_be(w, s->flow_label, 3);
    }
    if (s->flags & PFCP_SDF_BID) {
        pfcp_ie_put_be(w, s->filter_id, 4);
    }
    return 0;
}

#define OHC_TEID (PFCP_OHC_GTPU_UDP_IPV4 | PFCP_OHC_GTPU_UDP_IPV6)
#define OHC_IPV4 (PFCP_OHC_GTPU_UDP_IPV4 | PFCP_OHC_UDP_IPV4 | PFCP_OHC_IPV4)
#define OHC_IPV6 (PFCP_OHC_GTPU_UDP_IPV6 | PFCP_OHC_UDP_IPV6 | PFCP_OHC_IPV6)
#define OHC_PORT (PFCP_OHC_UDP_IPV4 | PFCP_OHC_UDP_IPV6)

static int
ohc_decode(const struct pfcp_ie_codec *codec, const uint8_t *p, size_t n,
           void *out, const char **why)
{
    struct pfcp_outer_header_creation *o = out;
    size_t need = 2;

    (void) codec;
    if (n < 2) {
        return too_short(why);
    }
    o->description = pfcp_ie_get16(p);
    need += (o->description & OHC_TEID ? 4 : 0) +
            (o->description & OHC_IPV4 ? 4 : 0) +
            (o->description & OHC_IPV6 ? 16 : 0) +
            (o->description & OHC_PORT ? 2 : 0) +
            (o->description & PFCP_OHC_CTAG ? 3 : 0) +
            (o->description & PFCP_OHC_STAG ? 3 : 0);
    if (n < need) {
        return too_short(why);
    }
    p += 2;
    if (o->description & OHC_TEID) {
        o->teid = pfcp_ie_get32(p);
        p += 4;
    }
    if (o->description & OHC_IPV4) {
        memcpy(&o->ipv4, p, 4);
        p += 4;
    }
    if (o->description & OHC_IPV6) {
        memcpy(&o->ipv6, p, 16);
        p += 16;
    }
    if (o->description & OHC_PORT) {
        o->port = pfcp_ie_get16(p);
        p += 2;
    }
    if (o->description & PFCP_OHC_CTAG) {
        o->ctag = pfcp_ie_get24(p);
        p += 3;
    }
    if (o->description & PFCP_OHC_STAG) {
        o->stag = pfcp_ie_get24(p);
    }
    return 0;
}

static int
ohc_encode(const struct pfcp_ie_codec *codec, const void *in,
           struct pfcp_writer *w)
{
    const struct pfcp_outer_header_creation *o = in;

    (void) codec;
    if (o->ctag > 0xffffff || o->stag > 0xffffff) {
        return -EINVAL;
    }
    pfcp_ie_put_be(w, o->description, 2);
    if (o->description & OHC_TEID) {
        pfcp_ie_put_be(w, o->teid, 4);
    }
    if (o->description & OHC_IPV4) {
        pfcp_ie_put(w, &o->ipv4, 4);
    }
    if (o->description & OHC_IPV6) {
        pfcp_ie_put(w, &o->ipv6, 16);
    }
    if (o->description & OHC_PORT) {
        pfcp_ie_put_be(w, o->port, 2);
    }
    if (o->description & PFCP_OHC_CTAG) {
        pfcp_ie_put_be(w, o->ctag, 3);
    }
    if (o->description & PFCP_OHC_STAG) {
        pfcp_ie_put_be(w, o->stag, 3);
    }
    return 0;
}

static int
ohr_decode(const struct pfcp_ie_codec *codec, const uint8_t *p, size_t n,
           void *out, const char **why)
{
    struct pfcp_outer_header_removal *o = out;

    (void) codec;
    if (n < 1) {
        return too_short(why);
    }
    o->description = p[0];
    if (n >= 2) {
        o->has_extension_header_deletion = true;
        o->extension_header_deletion = p[1];
    }
    return 0;
}

static int
ohr_encode(const struct pfcp_ie_codec *codec, const void *in,
           struct pfcp_writer *w)
{
    const struct pfcp_outer_header_removal *o = in;

    (void) codec;
    pfcp_ie_put8(w, o->description);
    if (o->has_extension_header_deletion) {
        pfcp_ie_put8(w, o->extension_header_deletion);
    }
    return 0;
}

/* Volume Threshold / Quota (param 0x07) and Measurement (param 0x3f). */
static int
volume_decode(const struct pfcp_ie_codec *codec, const uint8_t *p, size_t n,
              void *out, const char **why)
{
    struct pfcp_volume *v = out;
    uint64_t *fields[] = {&v->total, &v->uplink, &v->downlink,
                          &v->total_packets, &v->uplink_packets,
                          &v->downlink_packets};
    size_t off = 1;

    if (n < 1) {
        return too_short(why);
    }
    v->flags = p[0] & codec->param;
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        if (v->flags & (1u << i)) {
            if (n - off < 8) {
                return too_short(why);
            }
            *fields[i] = pfcp_ie_get64(p + off);
            off += 8;
        }
    }
    return 0;
}

static int
volume_encode(const struct pfcp_ie_codec *codec, const void *in,
              struct pfcp_writer *w)
{
    const struct pfcp_volume *v = in;
    const uint64_t fields[] = {v->total, v->uplink, v->downlink,
                               v->total_packets, v->uplink_packets,
                               v->downlink_packets};

    if (v->flags & ~codec->param) {
        return -EINVAL;
    }
    pfcp_ie_put8(w, v->flags);
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        if (v->flags & (1u << i)) {
            pfcp_ie_put_be(w, fields[i], 8);
        }
    }
    return 0;
}

#define BITRATE_MAX ((UINT64_C(1) << 40) - 1)

static int
bitrate_decode(const struct pfcp_ie_codec *codec, const uint8_t *p, size_t n,
               void *out, const char **why)
{
    struct pfcp_bitrate *b = out;

    (void) codec;
    if (n < 10) {
        return too_short(why);
    }
    b->uplink = pfcp_ie_get40(p);
    b->downlink = pfcp_ie_get40(p + 5);
    return 0;
}

static int
bitrate_encode(const struct pfcp_ie_codec *codec, const void *in,
               struct pfcp_writer *w)
{
    const struct pfcp_bitrate *b = in;

    (void) codec;
    if (b->uplink > BITRATE_MAX || b->downlink > BITRATE_MAX) {
        return -EINVAL;
    }
    pfcp_ie_put_be(w, b->uplink, 5);
    pfcp_ie_put_be(w, b->downlink, 5);
    return 0;
}

static int
gate_decode(const struct pfcp_ie_codec *codec, const uint8_t *p, size_t n,
            void *out, const char **why)
{
    struct pfcp_gate_status *g = out;

    (void) codec;
    if (n < 1) {
        return too_short(why);
    }
    g->uplink = (p[0] >> 2) & 3;
    g->downlink = p[0] & 3;
    return 0;
}

static int
gate_encode(const struct pfcp_ie_codec *codec, const void *in,
            struct pfcp_writer *w)
{
    const struct pfcp_gate_status *g = in;

    (void) codec;
    if (g->uplink > 3 || g->downlink > 3) {
        return -EINVAL;
    }
    pfcp_ie_put8(w, (uint8_t) (g->uplink << 2 | g->downlink));
    return 0;
}

static size_t
rule_id_size(uint8_t type)
{
    switch (type) {
    case PFCP_RULE_PDR:
        return 2;
    case PFCP_RULE_FAR:
    case PFCP_RULE_QER:
    case PFCP_RULE_URR:
        return 4;
    case PFCP_RULE_BAR:
        return 1;
    default:
        return 0;
    }
}

static int
failed_rule_decode(const struct pfcp_ie_codec *codec, const uint8_t *p,
                   size_t n, void *out, const char **why)
{
    struct pfcp_failed_rule_id *f = out;
    size_t size;

    (void) codec;
    if (n < 1) {
        return too_short(why);
    }
    f->type = p[0] & 0x1f;
    size = rule_id_size(f->type);
    if (!size) {
        *why = "unknown rule type";
        return -EBADMSG;
    }
    if (n - 1 < size) {
        return too_short(why);
    }
    f->id = size == 1   ? p[1]
            : size == 2 ? pfcp_ie_get16(p + 1)
                        : pfcp_ie_get32(p + 1);
    return 0;
}

static int
failed_rule_encode(const struct pfcp_ie_codec *codec, const void *in,
                   struct pfcp_writer *w)
{
    const struct pfcp_failed_rule_id *f = in;
    size_t size = rule_id_size(f->type);

    (void) codec;
    if (!size || (size < 4 && f->id >> (8 * size))) {
        return -EINVAL;
    }
    pfcp_ie_put8(w, f->type);
    pfcp_ie_put_be(w, f->id, size);
    return 0;
}

#define PEER_FLAGS (PFCP_REMOTE_PEER_V4 | PFCP_REMOTE_PEER_V6)

static int
remote_peer_decode(const struct pfcp_ie_codec *codec, const uint8_t *p,
                   size_t n, void *out, const char **why)
{
    struct pfcp_remote_peer *r = out;
    size_t need = 1;

    (void) codec;
    if (n < 1) {
        return too_short(why);
    }
    r->flags = p[0] & PEER_FLAGS;
    if (!r->flags) {
        *why = "neither V4 nor V6";
        return -EBADMSG;
    }
    need += addrs_size(r->flags & PFCP_REMOTE_PEER_V4,
                       r->flags & PFCP_REMOTE_PEER_V6);
    if (n < need) {
        return too_short(why);
    }
    addrs_get(p + 1, r->flags & PFCP_REMOTE_PEER_V4,
              r->flags & PFCP_REMOTE_PEER_V6, &r->ipv4, &r->ipv6);
    return 0;
}

static int
remote_peer_encode(const struct pfcp_ie_codec *codec, const void *in,
                   struct pfcp_writer *w)
{
    const struct pfcp_remote_peer *r = in;

    (void) codec;
    if (!r->flags || r->flags & ~PEER_FLAGS) {
        return -EINVAL;
    }
    pfcp_ie_put8(w, r->flags);
    addrs_put(w, r->flags & PFCP_REMOTE_PEER_V4, r->flags & PFCP_REMOTE_PEER_V6,
              &r->ipv4, &r->ipv6);
    return 0;
}

#define UP_IP_FLAGS (PFCP_UP_IP_V4 | PFCP_UP_IP_V6 | PFCP_UP_IP_ASSONI | \
                     PFCP_UP_IP_ASSOSI)

static int
up_ip_decode(const struct pfcp_ie_codec *codec, const uint8_t *p, size_t n,
             void *out, const char **why)
{
    struct pfcp_up_ip_resource *r = out;
    size_t need = 1;

    (void) codec;
    if (n < 1) {
        return too_short(why);
    }
    r->flags = p[0] & UP_IP_FLAGS;
    r->teidri = (p[0] >> 2) & 7;
    need += (r->teidri ? 1 : 0) +
            addrs_size(r->flags & PFCP_UP_IP_V4, r->flags & PFCP_UP_IP_V6) +
            (r->flags & PFCP_UP_IP_ASSOSI ? 1 : 0);
    if (n < need) {
        return too_short(why);
    }
    p++;
    if (r->teidri) {
        r->teid_range = *p++;
    }
    p = addrs_get(p, r->flags & PFCP_UP_IP_V4, r->flags & PFCP_UP_IP_V6,
                  &r->ipv4, &r->ipv6);
    if (r->flags & PFCP_UP_IP_ASSONI) {
        /* The network instance fills what the source interface leaves. */
        int ret = name_store(&r->network_instance, p, n - need, why);

        if (ret) {
            return ret;
        }
        p += n - need;
    }
    if (r->flags & PFCP_UP_IP_ASSOSI) {
        r->source_interface = *p & 0x0f;
    }
    return 0;
}

static int
up_ip_encode(const struct pfcp_ie_codec *codec, const void *in,
             struct pfcp_writer *w)
{
    const struct pfcp_up_ip_resource *r = in;

    (void) codec;
    if (r->flags & ~UP_IP_FLAGS || r->teidri > 7 ||
        r->source_interface > 0x0f ||
        (r->flags & PFCP_UP_IP_ASSONI && name_check(&r->network_instance))) {
        return -EINVAL;
    }
    pfcp_ie_put8(w, (uint8_t) (r->flags | r->teidri << 2));
    if (r->teidri) {
        pfcp_ie_put8(w, r->teid_range);
    }
    addrs_put(w, r->flags & PFCP_UP_IP_V4, r->flags & PFCP_UP_IP_V6,
              &r->ipv4, &r->ipv6);
    if (r->flags & PFCP_UP_IP_ASSONI) {
        pfcp_ie_put(w, r->network_instance.octets, r->network_instance.size);
    }
    if (r->flags & PFCP_UP_IP_ASSOSI) {
        pfcp_ie_put8(w, r->source_interface);
    }
    return 0;
}

const struct pfcp_ie_codec pfcp_ie_u8 = {u8_decode, u8_encode, 0xff};
const struct pfcp_ie_codec pfcp_ie_u8_6bits = {u8_decode, u8_encode, 0x3f};
const struct pfcp_ie_codec pfcp_ie_u8_4bits = {u8_decode, u8_encode, 0x0f};
const struct pfcp_ie_codec pfcp_ie_u8_3bits = {u8_decode, u8_encode, 0x07};
const struct pfcp_ie_codec pfcp_ie_u16 = {uint_decode, uint_encode, 2};
const struct pfcp_ie_codec pfcp_ie_u32 = {uint_decode, uint_encode, 4};
const struct pfcp_ie_codec pfcp_ie_up_features = {bitmap_decode,
                                                  bitmap_encode, 8 << 8 | 2};
const struct pfcp_ie_codec pfcp_ie_cp_features = {bitmap_decode,
                                                  bitmap_encode, 8 << 8 | 1};
const struct pfcp_ie_codec pfcp_ie_triggers = {bitmap_decode, bitmap_encode,
                                               4 << 8 | 2};
const struct pfcp_ie_codec pfcp_ie_apply_action = {bitmap_decode,
                                                   bitmap_encode, 2 << 8 | 1};
const struct pfcp_ie_codec pfcp_ie_name = {name_decode, name_encode, 0};
const struct pfcp_ie_codec pfcp_ie_node_id = {node_id_decode, node_id_encode,
                                              0};
const struct pfcp_ie_codec pfcp_ie_fseid = {fseid_decode, fseid_encode, 0};
const struct pfcp_ie_codec pfcp_ie_fteid = {fteid_decode, fteid_encode, 0};
const struct pfcp_ie_codec pfcp_ie_ue_ip = {ue_ip_decode, ue_ip_encode, 0};
const struct pfcp_ie_codec pfcp_ie_sdf = {sdf_decode, sdf_encode, 0};
const struct pfcp_ie_codec pfcp_ie_ohc = {ohc_decode, ohc_encode, 0};
const struct pfcp_ie_codec pfcp_ie_ohr = {ohr_decode, ohr_encode, 0};
const struct pfcp_ie_codec pfcp_ie_volume = {volume_decode, volume_encode,
                                             0x07};
const struct pfcp_ie_codec pfcp_ie_volume_measurement = {
    volume_decode, volume_encode, 0x3f};
const struct pfcp_ie_codec pfcp_ie_bitrate = {bitrate_decode, bitrate_encode,
                                              0};
const struct pfcp_ie_codec pfcp_ie_gate = {gate_decode, gate_encode, 0};
const struct pfcp_ie_codec pfcp_ie_failed_rule = {failed_rule_decode,
                                                  failed_rule_encode, 0};
const struct pfcp_ie_codec pfcp_ie_remote_peer = {remote_peer_decode,
                                                  remote_peer_encode, 0};
const struct pfcp_ie_codec pfcp_ie_up_ip = {up_ip_decode, up_ip_encode, 0};
