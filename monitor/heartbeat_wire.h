/* heartbeat_wire: the UDP heartbeat packet vigil-monitors send each other,
 * and its HMAC.
 *
 * One datagram, all integers in network byte order:
 *
 *   offset size  field
 *        0    4  magic "VGHB" (0x56 0x47 0x48 0x42)
 *        4    1  version (1)
 *        5    1  flags: bit 0 LEAVING (the sender stops cleanly: do not
 *                report it down); other bits must be 0
 *        6    1  length of the sender's host name, 1..255
 *        7    1  reserved, 0
 *        8    4  the sender's interval, microseconds
 *                (HEARTBEAT_WIRE_MIN_INTERVAL_US..MAX)
 *       12    8  incarnation: the sender's wall clock (ns) when it started;
 *                a restarted sender has a larger one
 *       20    8  sequence number: the sender's time slot since it started
 *                (a slot it missed, e.g. while stopped, is skipped)
 *       28    8  send time, the sender's CLOCK_MONOTONIC ns (informative)
 *       36    L  host name (L bytes, no NUL): letters, digits, '.', '-', '_'
 *     36+L   16  HMAC-SHA256 over bytes 0..36+L-1 with the shared key,
 *                truncated to its first 128 bits
 *
 * 53 to 307 bytes. heartbeat_wire_decode() checks the structure, the MAC
 * (in constant time) and then every field; a packet is trusted only when
 * all pass. What the observer makes of a valid packet (known sender, fresh
 * sequence, newer incarnation) is heartbeat_detect's business.
 *
 * Thread-safe: no shared state. Uses OpenSSL's libcrypto for HMAC. */
#ifndef VIGIL_HEARTBEAT_WIRE_H
#define VIGIL_HEARTBEAT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEARTBEAT_WIRE_MAGIC 0x56474842u     /* "VGHB" */
#define HEARTBEAT_WIRE_VERSION 1
#define HEARTBEAT_WIRE_HEADER_SIZE 36
#define HEARTBEAT_WIRE_MAC_SIZE 16
#define HEARTBEAT_WIRE_MAX_HOSTNAME_LENGTH 255
#define HEARTBEAT_WIRE_HOSTNAME_SIZE (HEARTBEAT_WIRE_MAX_HOSTNAME_LENGTH + 1)
#define HEARTBEAT_WIRE_MIN_SIZE \
    (HEARTBEAT_WIRE_HEADER_SIZE + 1 + HEARTBEAT_WIRE_MAC_SIZE)
#define HEARTBEAT_WIRE_MAX_SIZE \
    (HEARTBEAT_WIRE_HEADER_SIZE + HEARTBEAT_WIRE_MAX_HOSTNAME_LENGTH + \
     HEARTBEAT_WIRE_MAC_SIZE)
#define HEARTBEAT_WIRE_MIN_INTERVAL_US 100u          /* 0.1 ms */
#define HEARTBEAT_WIRE_MAX_INTERVAL_US 60000000u     /* 60 s */
#define HEARTBEAT_WIRE_MIN_KEY_SIZE 16
#define HEARTBEAT_WIRE_MAX_KEY_SIZE 1024

/* Flag bits. */
#define HEARTBEAT_WIRE_LEAVING 0x01u
#define HEARTBEAT_WIRE_FLAGS_KNOWN HEARTBEAT_WIRE_LEAVING

/* The shared key. */
struct heartbeat_wire_key {
    uint8_t bytes[HEARTBEAT_WIRE_MAX_KEY_SIZE];
    size_t size;                 /* HEARTBEAT_WIRE_MIN_KEY_SIZE..MAX */
};

/* A heartbeat, decoded or to encode. */
struct heartbeat_wire_packet {
    uint8_t flags;
    uint32_t interval_us;
    uint64_t incarnation;
    uint64_t seq;
    uint64_t send_ns;
    char hostname[HEARTBEAT_WIRE_HOSTNAME_SIZE];
};

/* Why a datagram was refused (and the metrics label of each reason). */
enum heartbeat_wire_error {
    HEARTBEAT_WIRE_MALFORMED,    /* "malformed": size, magic, lengths,
                                  * fields out of range */
    HEARTBEAT_WIRE_BAD_VERSION,  /* "version": a version this build does
                                  * not speak */
    HEARTBEAT_WIRE_BAD_MAC,      /* "bad_mac": wrong key or altered */
    HEARTBEAT_WIRE_ERROR_COUNT
};

/* "malformed", "version", "bad_mac"; NULL when out of range. */
const char *heartbeat_wire_error_name(enum heartbeat_wire_error error);

/* Sets 'key' from 'size' bytes at 'bytes'. 0, or -EINVAL when 'size' is
 * outside HEARTBEAT_WIRE_MIN_KEY_SIZE..HEARTBEAT_WIRE_MAX_KEY_SIZE. */
int heartbeat_wire_key_set(struct heartbeat_wire_key *key,
                           const void *bytes, size_t size);

/* Reads a key file: its whole content (at most HEARTBEAT_WIRE_MAX_KEY_SIZE
 * bytes after one trailing newline, "\n" or "\r\n", is removed). 0;
 * -errno from open/read; -EINVAL when the key is too short; -EFBIG when
 * too long. 'key' is written only on success. */
int heartbeat_wire_key_load(struct heartbeat_wire_key *key, const char *path);

/* True when 'name' can be a heartbeat host name: 1..255 bytes of letters,
 * digits, '.', '-' and '_'. */
bool heartbeat_wire_hostname_valid(const char *name);

/* Encodes 'packet' with its MAC into 'buf' ('size' bytes; at least
 * HEARTBEAT_WIRE_MAX_SIZE is always enough). Returns the packet's size,
 * or -EINVAL (invalid host name, interval out of range, unknown flags,
 * bad key) or -ENOBUFS (buffer too small). */
int heartbeat_wire_encode(const struct heartbeat_wire_packet *packet,
                          const struct heartbeat_wire_key *key,
                          uint8_t *buf, size_t size);

/* Decodes and authenticates the 'size' bytes at 'buf'. 0 with '*packet'
 * filled, or -EBADMSG with '*error' (may be NULL) set to the reason;
 * '*packet' is written only on success. */
int heartbeat_wire_decode(const uint8_t *buf, size_t size,
                          const struct heartbeat_wire_key *key,
                          struct heartbeat_wire_packet *packet,
                          enum heartbeat_wire_error *error);

#endif
