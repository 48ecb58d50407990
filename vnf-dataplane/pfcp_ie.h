/* pfcp_ie: octet codecs of single PFCP information elements, used by
 * pfcp.c's message schema. Private to the codec: other modules use
 * pfcp.h, which defines the value structs these codecs fill.
 *
 * Each struct pfcp_ie_codec handles the value octets of one IE (after the
 * 4-octet type and length). Byte helpers and the bounded writer are
 * inline here because pfcp.c writes headers and TLV framing with them.
 *
 * Thread-safety: stateless; the codecs are constant tables. */
#ifndef VIGIL_PFCP_IE_H
#define VIGIL_PFCP_IE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pfcp.h"

/* Big-endian reads; the caller has checked that the octets exist. */
static inline uint16_t
pfcp_ie_get16(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}

static inline uint32_t
pfcp_ie_get24(const uint8_t *p)
{
    return (uint32_t) p[0] << 16 | (uint32_t) p[1] << 8 | p[2];
}

static inline uint32_t
pfcp_ie_get32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 |
           (uint32_t) p[2] << 8 | p[3];
}

static inline uint64_t
pfcp_ie_get40(const uint8_t *p)
{
    return (uint64_t) p[0] << 32 | pfcp_ie_get32(p + 1);
}

static inline uint64_t
pfcp_ie_get64(const uint8_t *p)
{
    return (uint64_t) pfcp_ie_get32(p) << 32 | pfcp_ie_get32(p + 4);
}

/* Bounded writer: stores only what fits in buf[0..size), but advances
 * 'pos' by everything written, so pos > size afterwards means the buffer
 * was too small (and pos is the size that was needed). */
struct pfcp_writer {
    uint8_t *buf;
    size_t size;
    size_t pos;
};

static inline void
pfcp_ie_put(struct pfcp_writer *w, const void *data, size_t n)
{
    if (w->pos <= w->size && n <= w->size - w->pos) {
        memcpy(w->buf + w->pos, data, n);
    }
    w->pos += n;
}

static inline void
pfcp_ie_put8(struct pfcp_writer *w, uint8_t v)
{
    pfcp_ie_put(w, &v, 1);
}

/* Writes the low 'n' (<= 8) octets of 'v', most significant first. */
static inline void
pfcp_ie_put_be(struct pfcp_writer *w, uint64_t v, size_t n)
{
    uint8_t b[8];

    for (size_t i = 0; i < n; i++) {
        b[i] = (uint8_t) (v >> (8 * (n - 1 - i)));
    }
    pfcp_ie_put(w, b, n);
}

/* Overwrites two octets at 'at' (a length written earlier), if stored. */
static inline void
pfcp_ie_patch16(struct pfcp_writer *w, size_t at, uint16_t v)
{
    if (at <= w->size && w->size - at >= 2) {
        w->buf[at] = (uint8_t) (v >> 8);
        w->buf[at + 1] = (uint8_t) v;
    }
}

struct pfcp_ie_codec;

/* Decodes the 'n' value octets at 'p' into '*out' (zeroed by the caller).
 * Returns 0, -EBADMSG (the IE is incorrect; '*why' says how, a static
 * string) or -E2BIG (a name or string over its capacity). */
typedef int pfcp_ie_decode_fn(const struct pfcp_ie_codec *codec,
                              const uint8_t *p, size_t n, void *out,
                              const char **why);

/* Writes the value octets of '*in'. Returns 0 or -EINVAL (a value the
 * wire cannot carry). */
typedef int pfcp_ie_encode_fn(const struct pfcp_ie_codec *codec,
                              const void *in, struct pfcp_writer *w);

struct pfcp_ie_codec {
    pfcp_ie_decode_fn *decode;
    pfcp_ie_encode_fn *encode;
    unsigned int param;     /* meaning depends on the codec */
};

/* The codecs, by the C type they fill:
 *   u8 (masked: 6bits for QFI and interface types, 4bits for interfaces,
 *   3bits for PDN type), u16, u32;
 *   up_features / cp_features (uint64_t bitmaps), triggers (uint32_t),
 *   apply_action (uint16_t): flag octets, octet 5 lowest;
 *   name (struct pfcp_name), node_id, fseid, fteid, ue_ip, sdf, ohc
 *   (outer header creation), ohr (removal), volume (threshold/quota),
 *   volume_measurement (with packet counts), bitrate, gate, failed_rule,
 *   remote_peer, up_ip: the struct of the same name in pfcp.h. */
extern const struct pfcp_ie_codec pfcp_ie_u8;
extern const struct pfcp_ie_codec pfcp_ie_u8_6bits;
extern const struct pfcp_ie_codec pfcp_ie_u8_4bits;
extern const struct pfcp_ie_codec pfcp_ie_u8_3bits;
extern const struct pfcp_ie_codec pfcp_ie_u16;
extern const struct pfcp_ie_codec pfcp_ie_u32;
extern const struct pfcp_ie_codec pfcp_ie_up_features;
extern const struct pfcp_ie_codec pfcp_ie_cp_features;
extern const struct pfcp_ie_codec pfcp_ie_triggers;
extern const struct pfcp_ie_codec pfcp_ie_apply_action;
extern const struct pfcp_ie_codec pfcp_ie_name;
extern const struct pfcp_ie_codec pfcp_ie_node_id;
extern const struct pfcp_ie_codec pfcp_ie_fseid;
extern const struct pfcp_ie_codec pfcp_ie_fteid;
extern const struct pfcp_ie_codec pfcp_ie_ue_ip;
extern const struct pfcp_ie_codec pfcp_ie_sdf;
extern const struct pfcp_ie_codec pfcp_ie_ohc;
extern const struct pfcp_ie_codec pfcp_ie_ohr;
extern const struct pfcp_ie_codec pfcp_ie_volume;
extern const struct pfcp_ie_codec pfcp_ie_volume_measurement;
extern const struct pfcp_ie_codec pfcp_ie_bitrate;
extern const struct pfcp_ie_codec pfcp_ie_gate;
extern const struct pfcp_ie_codec pfcp_ie_failed_rule;
extern const struct pfcp_ie_codec pfcp_ie_remote_peer;
extern const struct pfcp_ie_codec pfcp_ie_up_ip;

#endif /* VIGIL_PFCP_IE_H */
