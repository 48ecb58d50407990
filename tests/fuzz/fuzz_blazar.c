/* libFuzzer target for the Blazar-compatible lease parsers of
 * vigil-reservation (reservation/resv_blazar.c): the bodies of POST
 * /v1/leases and PUT /v1/leases/{id}, Blazar dates, and the engine names
 * that tie a reservation to its lease (read back from the database at
 * start). Link with reservation_core and libvigil.
 *
 * The first byte picks the input ('0' create, '1' update, '2' a date,
 * '3' an engine name; any byte works: modulo 4); the rest is the body.
 * Beyond "no crash, no leak, no undefined behaviour" it checks that:
 *   - a rejection is -EINVAL with a non-empty reason;
 *   - an accepted lease keeps the documented bounds (1..16 reservations,
 *     counts, products and their sum within CAPVEC_MAX, end after start);
 *   - each accepted reservation survives its capacity vector and back;
 *   - the lease's engine name decodes to the lease id and name, the lease
 *     JSON is built, and its dates parse back to the same second;
 *   - an accepted date survives resv_blazar_format_date() and a second
 *     parse; a decoded engine name encodes back to the same text. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capvec.h"
#include "resv_blazar.h"
#include "resv_record.h"
#include "resv_time.h"

#define LEASE_ID "01a201d9-422d-7cb3-8637-ce0b95e9202e"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_reason(int ret, const char *err)
{
    if (ret != -EINVAL || !err[0]) {
        abort();
    }
}

/* A date that parsed must come back the same through Blazar's format. */
static void
check_date(int64_t t)
{
    char buf[32], err[256];
    json_t *v;
    bool now = true;
    int64_t again = -1;

    if (t < RESV_TIME_MIN || t > RESV_TIME_MAX) {
        abort();
    }
    v = json_string(resv_blazar_format_date(t, buf, sizeof buf));
    if (!v) {
        return;
    }
    if (resv_blazar_parse_date(v, "x", false, &now, &again, err,
                               sizeof err) || now || again != t) {
        abort();
    }
    json_decref(v);
}

static void
check_lease(const struct resv_blazar_request *req, bool update)
{
    struct resv_record *records;
    struct capvec total, c;
    char id[VUUID_STRING_SIZE], name[RESV_BLAZAR_NAME_SIZE];
    json_t *lease;

    if (update) {
        if (req->length || !(req->has_name || req->has_start ||
                             req->has_end)) {
            abort();
        }
    } else if (!req->has_name || !req->has_start || !req->has_end ||
               req->length < 1 ||
               req->length > RESV_BLAZAR_MAX_RESERVATIONS) {
        abort();
    }
    if (req->has_start && !req->start_now) {
        check_date(req->start);
    }
    if (req->has_end) {
        check_date(req->end);
        if (req->has_start && !req->start_now && req->end <= req->start) {
            abort();
        }
    }
    if (req->has_name && (!req->name[0] ||
                          strlen(req->name) >= RESV_BLAZAR_NAME_SIZE)) {
        abort();
    }
    if (resv_blazar_total(req, &total)) {
        abort();
    }
    if (update) {
        return;
    }
    records = calloc(req->length, sizeof *records);
    if (!records) {
        return;
    }
    for (size_t i = 0; i < req->length; i++) {
        const struct resv_blazar_instance *r = &req->reservations[i];
        struct resv_blazar_instance back;

        if (r->amount < 1 || r->vcpus < 1 || r->memory_mb < 0 ||
            r->disk_gb < 0 || resv_blazar_capacity(r, &c)) {
            abort();
        }
        for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
            if (c.v[k] < 0 || c.v[k] > total.v[k]) {
                abort();
            }
        }
        resv_blazar_instance_from_capvec(&c, &back);
        if (memcmp(&back, r, sizeof back)) {
            abort();
        }
        memcpy(records[i].id, LEASE_ID, sizeof LEASE_ID);
        if (resv_blazar_name_encode(LEASE_ID, req->name, records[i].name) ||
            resv_blazar_name_decode(records[i].name, id, name) ||
            strcmp(id, LEASE_ID) || strcmp(name, req->name)) {
            abort();
        }
        records[i].capacity = c;
        records[i].start = req->start_now ? 0 : req->start;
        records[i].end = req->end;
    }
    lease = resv_blazar_lease_to_json(LEASE_ID, records, req->length);
    if (lease) {
        bool now;
        int64_t end = -1;
        char err[256];

        if (resv_blazar_parse_date(json_object_get(lease, "end_date"), "x",
                                   false, &now, &end, err, sizeof err) ||
            end != req->end ||
            json_array_size(json_object_get(lease, "reservations")) !=
                req->length) {
            abort();
        }
        json_decref(lease);
    }
    free(records);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct resv_blazar_request req;
    char err[512] = "";
    json_error_t jerr;
    json_t *body;
    int which, ret;

    if (size < 1) {
        return 0;
    }
    which = data[0] % 4;           /* '0'..'3' -> 0..3 */
    if (which == 3) {
        char text[RESV_NAME_SIZE + 1], id[VUUID_STRING_SIZE];
        char name[RESV_BLAZAR_NAME_SIZE], again[RESV_NAME_SIZE];
        size_t n = size - 1 < RESV_NAME_SIZE ? size - 1 : RESV_NAME_SIZE;

        memcpy(text, data + 1, n);
        text[n] = '\0';
        if (!resv_blazar_name_decode(text, id, name) &&
            (resv_blazar_name_encode(id, name, again) ||
             strcmp(again, text))) {
            abort();
        }
        return 0;
    }
    body = json_loadb((const char *) data + 1, size - 1,
                      JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!body) {
        return 0;
    }
    if (which == 2) {
        bool now = false;
        int64_t t = -1;

        ret = resv_blazar_parse_date(body, "start_date", true, &now, &t, err,
                                     sizeof err);
        if (ret) {
            check_reason(ret, err);
        } else if (!now) {
            check_date(t);
        }
    } else {
        ret = resv_blazar_parse_lease(body, which == 1, &req, err,
                                      sizeof err);
        if (ret) {
            check_reason(ret, err);
        } else {
            check_lease(&req, which == 1);
        }
    }
    json_decref(body);
    return 0;
}
