/* heartbeat_wire: encoding, decoding and HMAC of heartbeat packets (see
 * heartbeat_wire.h). */
#include "heartbeat_wire.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const heartbeat_wire_error_names[] = {
    [HEARTBEAT_WIRE_MALFORMED] = "malformed",
    [HEARTBEAT_WIRE_BAD_VERSION] = "version",
    [HEARTBEAT_WIRE_BAD_MAC] = "bad_mac",
};

const char *
heartbeat_wire_error_name(enum heartbeat_wire_error error)
{
    return (unsigned) error < HEARTBEAT_WIRE_ERROR_COUNT
           ? heartbeat_wire_error_names[error] : NULL;
}

int
heartbeat_wire_key_set(struct heartbeat_wire_key *key, const void *bytes,
                       size_t size)
{
    if (!key || !bytes || size < HEARTBEAT_WIRE_MIN_KEY_SIZE ||
        size > HEARTBEAT_WIRE_MAX_KEY_SIZE) {
        return -EINVAL;
    }
    memcpy(key->bytes, bytes, size);
    key->size = size;
    return 0;
}

int
heartbeat_wire_key_load(struct heartbeat_wire_key *key, const char *path)
{
    /* One byte more than a key with "\r\n" can take, to see "too long". */
    uint8_t buf[HEARTBEAT_WIRE_MAX_KEY_SIZE + 3];
    size_t size = 0;
    int fd, ret;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    while (size < sizeof buf) {
        ssize_t n = read(fd, buf + size, sizeof buf - size);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            ret = -errno;
            goto out;
        }
        if (n == 0) {
            break;
        }
        size += (size_t) n;
    }
    if (size && buf[size - 1] == '\n') {
        size--;
        if (size && buf[size - 1] == '\r') {
            size--;
        }
    }
    if (size > HEARTBEAT_WIRE_MAX_KEY_SIZE) {
        ret = -EFBIG;
        goto out;
    }
    ret = heartbeat_wire_key_set(key, buf, size);
out:
    memset(buf, 0, sizeof buf);
    close(fd);
    return ret;
}

bool
heartbeat_wire_hostname_valid(const char *name)
{
    size_t length;

    if (!name) {
        return false;
    }
    length = strlen(name);
    if (length == 0 || length > HEARTBEAT_WIRE_MAX_HOSTNAME_LENGTH) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_')) {
            return false;
        }
    }
    return true;
}

/* HMAC-SHA256 of 'size' bytes at 'data', truncated into 'mac'. */
static int
heartbeat_wire_mac(const struct heartbeat_wire_key *key, const uint8_t *data,
                   size_t size, uint8_t mac[HEARTBEAT_WIRE_MAC_SIZE])
{
    uint8_t full[EVP_MAX_MD_SIZE];
    unsigned int length = 0;

    if (!HMAC(EVP_sha256(), key->bytes, (int) key->size, data, size, full,
              &length) || length < HEARTBEAT_WIRE_MAC_SIZE) {
        return -EIO;
    }
    memcpy(mac, full, HEARTBEAT_WIRE_MAC_SIZE);
    return 0;
}

static void
heartbeat_wire_put32(uint8_t *p, uint32_t v)
{
    v = htobe32(v);
    memcpy(p, &v, sizeof v);
}

static void
heartbeat_wire_put64(uint8_t *p, uint64_t v)
{
    v = htobe64(v);
    memcpy(p, &v, sizeof v);
}

static uint32_t
heartbeat_wire_get32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof v);
    return be32toh(v);
}

static uint64_t
heartbeat_wire_get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof v);
    return be64toh(v);
}

static bool
heartbeat_wire_key_valid(const struct heartbeat_wire_key *key)
{
    return key && key->size >= HEARTBEAT_WIRE_MIN_KEY_SIZE &&
           key->size <= HEARTBEAT_WIRE_MAX_KEY_SIZE;
}

static bool
heartbeat_wire_interval_valid(uint32_t interval_us)
{
    return interval_us >= HEARTBEAT_WIRE_MIN_INTERVAL_US &&
           interval_us <= HEARTBEAT_WIRE_MAX_INTERVAL_US;
}

int
heartbeat_wire_encode(const struct heartbeat_wire_packet *packet,
                      const struct heartbeat_wire_key *key, uint8_t *buf,
                      size_t size)
{
    size_t length, total;
    int ret;

    if (!packet || !buf || !heartbeat_wire_key_valid(key) ||
        !heartbeat_wire_hostname_valid(packet->hostname) ||
        !heartbeat_wire_interval_valid(packet->interval_us) ||
        (packet->flags & ~HEARTBEAT_WIRE_FLAGS_KNOWN)) {
        return -EINVAL;
    }
    length = strlen(packet->hostname);
    total = HEARTBEAT_WIRE_HEADER_SIZE + length + HEARTBEAT_WIRE_MAC_SIZE;
    if (size < total) {
        return -ENOBUFS;
    }
    heartbeat_wire_put32(buf, HEARTBEAT_WIRE_MAGIC);
    buf[4] = HEARTBEAT_WIRE_VERSION;
    buf[5] = packet->flags;
    buf[6] = (uint8_t) length;
    buf[7] = 0;
    heartbeat_wire_put32(buf + 8, packet->interval_us);
    heartbeat_wire_put64(buf + 12, packet->incarnation);
    heartbeat_wire_put64(buf + 20, packet->seq);
    heartbeat_wire_put64(buf + 28, packet->send_ns);
    memcpy(buf + HEARTBEAT_WIRE_HEADER_SIZE, packet->hostname, length);
    ret = heartbeat_wire_mac(key, buf, HEARTBEAT_WIRE_HEADER_SIZE + length,
                             buf + HEARTBEAT_WIRE_HEADER_SIZE + length);
    return ret ? ret : (int) total;
}

int
heartbeat_wire_decode(const uint8_t *buf, size_t size,
                      const struct heartbeat_wire_key *key,
                      struct heartbeat_wire_packet *packet,
                      enum heartbeat_wire_error *error)
{
    struct heartbeat_wire_packet p;
    uint8_t mac[HEARTBEAT_WIRE_MAC_SIZE];
    enum heartbeat_wire_error why = HEARTBEAT_WIRE_MALFORMED;
    size_t length;
    int ret = -EBADMSG;

    /* Structure first: nothing is read beyond 'size'. */
    if (!buf || !packet || size < HEARTBEAT_WIRE_MIN_SIZE ||
        size > HEARTBEAT_WIRE_MAX_SIZE ||
        heartbeat_wire_get32(buf) != HEARTBEAT_WIRE_MAGIC) {
        goto out;
    }
    if (buf[4] != HEARTBEAT_WIRE_VERSION) {
        why = HEARTBEAT_WIRE_BAD_VERSION;
        goto out;
    }
    length = buf[6];
    if (length == 0 || size != HEARTBEAT_WIRE_HEADER_SIZE + length +
                               HEARTBEAT_WIRE_MAC_SIZE) {
        goto out;
    }
    /* Then the MAC: nothing else of the packet is trusted before. */
    if (!heartbeat_wire_key_valid(key) ||
        heartbeat_wire_mac(key, buf, HEARTBEAT_WIRE_HEADER_SIZE + length,
                           mac) ||
        CRYPTO_memcmp(mac, buf + HEARTBEAT_WIRE_HEADER_SIZE + length,
                      sizeof mac)) {
        why = HEARTBEAT_WIRE_BAD_MAC;
        goto out;
    }
    /* Then the fields: a valid MAC with bad fields is a sender's bug. */
    memset(&p, 0, sizeof p);
    p.flags = buf[5];
    p.interval_us = heartbeat_wire_get32(buf + 8);
    p.incarnation = heartbeat_wire_get64(buf + 12);
    p.seq = heartbeat_wire_get64(buf + 20);
    p.send_ns = heartbeat_wire_get64(buf + 28);
    memcpy(p.hostname, buf + HEARTBEAT_WIRE_HEADER_SIZE, length);
    p.hostname[length] = '\0';
    if (buf[7] != 0 || (p.flags & ~HEARTBEAT_WIRE_FLAGS_KNOWN) ||
        !heartbeat_wire_interval_valid(p.interval_us) ||
        strlen(p.hostname) != length ||
        !heartbeat_wire_hostname_valid(p.hostname)) {
        goto out;
    }
    *packet = p;
    ret = 0;
out:
    if (ret && error) {
        *error = why;
    }
    return ret;
}
