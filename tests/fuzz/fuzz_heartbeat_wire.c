/* fuzz_heartbeat_wire: heartbeat_wire_decode() on arbitrary datagrams, the
 * parser every vigil-monitor observer runs on what arrives at its UDP
 * port.
 *
 * The first input byte picks a mode. Even: the rest is a datagram, decoded
 * as is (random bytes rarely carry a valid MAC, so this mostly explores
 * the structure checks and the MAC comparison). Odd: the rest is a packet
 * without its MAC; the harness appends the right MAC before decoding, so
 * the field checks behind the MAC are explored too. Whatever decodes must
 * encode back to the very same bytes (the format is canonical). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "heartbeat_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_key[] = "0123456789abcdef0123456789abcdef";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t buf[HEARTBEAT_WIRE_MAX_SIZE + 64], again[HEARTBEAT_WIRE_MAX_SIZE];
    struct heartbeat_wire_packet packet;
    struct heartbeat_wire_key key;
    enum heartbeat_wire_error error;
    size_t length;
    int encoded;

    if (size < 1 || size - 1 > HEARTBEAT_WIRE_MAX_SIZE) {
        return 0;
    }
    if (heartbeat_wire_key_set(&key, fuzz_key, strlen(fuzz_key))) {
        abort();
    }
    length = size - 1;
    memcpy(buf, data + 1, length);
    if (data[0] & 1) {
        uint8_t mac[EVP_MAX_MD_SIZE];
        unsigned int mac_size = 0;

        if (length + HEARTBEAT_WIRE_MAC_SIZE > sizeof buf ||
            !HMAC(EVP_sha256(), key.bytes, (int) key.size, buf, length, mac,
                  &mac_size)) {
            return 0;
        }
        memcpy(buf + length, mac, HEARTBEAT_WIRE_MAC_SIZE);
        length += HEARTBEAT_WIRE_MAC_SIZE;
    }
    if (heartbeat_wire_decode(buf, length, &key, &packet, &error)) {
        if (!heartbeat_wire_error_name(error)) {
            abort();
        }
        return 0;
    }
    encoded = heartbeat_wire_encode(&packet, &key, again, sizeof again);
    if (encoded < 0 || (size_t) encoded != length ||
        memcmp(again, buf, length)) {
        abort();
    }
    return 0;
}
