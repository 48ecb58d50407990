/* libFuzzer target for pfcp_decode(), the decoder of every datagram that
 * reaches vigil-upf's PFCP port (vnf-dataplane/pfcp.h).
 *
 * Beyond "no crash, no out-of-bounds read, no undefined behaviour" it
 * checks these properties:
 *   - a rejection leaves the message zeroed and carries a known errno, a
 *     cause that fits it and a printable, non-empty text; has_header
 *     agrees with pfcp_decode_header();
 *   - every accepted message re-encodes (pfcp_encode() never refuses what
 *     pfcp_decode() accepted), re-decodes to the same struct, and encodes
 *     again to the same bytes; one byte less of buffer gives -ENOSPC;
 *   - the name helpers cope with whatever Node ID the input carried.
 * Seeds: tests/fuzz/corpus/fuzz_pfcp (scapy-* from
 * tests/unit/pfcp_scapy_vectors.py, vigil-* encoded by the unit test). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pfcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pfcp_msg first;
static struct pfcp_msg second;
static struct pfcp_msg zero;
static uint8_t encoded[PFCP_MAX_MSG_SIZE];
static uint8_t again[PFCP_MAX_MSG_SIZE];

static void
check_text(const char *text, size_t capacity)
{
    size_t n = strnlen(text, capacity);

    if (n == 0 || n == capacity) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        if (text[i] < 0x20 || text[i] >= 0x7f) {
            abort();
        }
    }
}

static void
check_rejection(const uint8_t *data, size_t size, int ret,
                const struct pfcp_decode_error *err)
{
    struct pfcp_header h;
    int hret = pfcp_decode_header(data, size, &h);

    if (memcmp(&first, &zero, sizeof first)) {
        abort();
    }
    check_text(err->text, sizeof err->text);
    switch (ret) {
    case -EBADMSG:
        if (hret == -EBADMSG) {
            /* No header: nothing to answer. */
            if (err->has_header || err->cause != PFCP_CAUSE_INVALID_LENGTH) {
                abort();
            }
            return;
        }
        if (hret) {
            abort();
        }
        if (err->cause == PFCP_CAUSE_REQUEST_REJECTED) {
            /* S flag against the type: discarded too. */
            if (err->has_header) {
                abort();
            }
            return;
        }
        if (!err->has_header ||
            (err->cause != PFCP_CAUSE_INVALID_LENGTH &&
             err->cause != PFCP_CAUSE_MANDATORY_IE_INCORRECT &&
             err->cause != PFCP_CAUSE_MANDATORY_IE_MISSING)) {
            abort();
        }
        /* Missing or incorrect: the Offending IE is named. */
        if (err->cause != PFCP_CAUSE_INVALID_LENGTH && !err->offending_ie) {
            abort();
        }
        break;
    case -EPROTONOSUPPORT:
        if (hret != -EPROTONOSUPPORT || !err->has_header ||
            err->header.version == PFCP_VERSION) {
            abort();
        }
        return;
    case -EOPNOTSUPP:
        if (hret || !err->has_header ||
            err->cause != PFCP_CAUSE_SERVICE_NOT_SUPPORTED) {
            abort();
        }
        break;
    case -E2BIG:
        if (!err->has_header || !err->offending_ie ||
            err->cause != PFCP_CAUSE_NO_RESOURCES_AVAILABLE) {
            abort();
        }
        break;
    default:
        abort();
    }
    if (hret || memcmp(&h, &err->header, sizeof h)) {
        abort();
    }
}

static void
check_names(const struct pfcp_node_id *id)
{
    char text[2 * PFCP_NAME_SIZE];
    int ret = pfcp_node_id_to_string(id, text, sizeof text);

    if (ret) {
        abort();
    }
    if (id->type == PFCP_NODE_ID_FQDN) {
        check_text(text, sizeof text);
    }
    if (!pfcp_node_id_equal(id, id)) {
        abort();
    }
}

static void
check_round_trip(void)
{
    size_t n = 0;
    size_t n2 = 0;
    size_t short_size = 0;
    struct pfcp_decode_error err;

    if (pfcp_encode(&first, encoded, sizeof encoded, &n)) {
        abort();
    }
    if (pfcp_decode(encoded, n, &second, &err)) {
        abort();
    }
    if (second.header.type != first.header.type ||
        second.header.seid != first.header.seid ||
        second.header.sequence != first.header.sequence ||
        second.header.has_priority != first.header.has_priority ||
        second.header.priority != first.header.priority ||
        second.header.length + 4u != n ||
        memcmp((const uint8_t *) &first + sizeof first.header,
               (const uint8_t *) &second + sizeof second.header,
               sizeof first - sizeof first.header)) {
        abort();
    }
    if (pfcp_encode(&second, again, sizeof again, &n2) || n2 != n ||
        memcmp(encoded, again, n)) {
        abort();
    }
    if (pfcp_encode(&second, again, n - 1, &short_size) != -ENOSPC ||
        short_size != 0) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pfcp_decode_error err;
    int ret = pfcp_decode(data, size, &first, &err);

    if (ret) {
        check_rejection(data, size, ret, &err);
        return 0;
    }
    if (err.has_header || err.cause || first.header.version != 1 ||
        first.header.length + 4u != size) {
        abort();
    }
    switch (first.header.type) {
    case PFCP_MSG_ASSOCIATION_SETUP_REQUEST:
        check_names(&first.association_setup_request.node_id);
        break;
    case PFCP_MSG_SESSION_ESTABLISHMENT_REQUEST:
        check_names(&first.establishment_request.node_id);
        break;
    default:
        break;
    }
    check_round_trip();
    return 0;
}
