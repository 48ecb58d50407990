/* libFuzzer target for doctor_events_parse(), the parser of every body that
 * reaches the inspector's and the notifier's /events.
 *
 * Beyond "no crash, no leak, no undefined behaviour" it checks three
 * properties: a rejection always carries a printable-ASCII message; every
 * accepted event survives doctor_event_to_json() and a second parse
 * unchanged (the time to the microsecond, which is what the wire format
 * carries); and doctor_events_from_json() on the same JSON tree gives the
 * same verdict and message as doctor_events_parse() on the text. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doctor_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_message(const char *err)
{
    size_t n = strlen(err);

    if (n == 0) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        if (err[i] < 0x20 || err[i] >= 0x7f) {
            abort();
        }
    }
}

static void
check_round_trip(const struct doctor_event *ev)
{
    struct doctor_event *back = NULL;
    size_t length = 0;
    char err[512] = "";
    json_t *obj = doctor_event_to_json(ev);
    char *text;

    if (!obj) {
        abort();
    }
    text = json_dumps(obj, JSON_COMPACT);
    if (!text) {
        abort();
    }
    if (doctor_events_parse(text, strlen(text), &back, &length, err,
                            sizeof err) || length != 1) {
        abort();
    }
    if (strcmp(back->id, ev->id) || strcmp(back->type, ev->type) ||
        back->time_ns != ev->time_ns - ev->time_ns % 1000 ||
        strcmp(back->hostname, ev->hostname) ||
        strcmp(back->status, ev->status) ||
        strcmp(back->monitor, ev->monitor) ||
        strcmp(back->monitor_event_id, ev->monitor_event_id) ||
        strcmp(back->instance_uuid, ev->instance_uuid) ||
        !json_equal(back->details, ev->details) ||
        memcmp(back->stamps, ev->stamps, sizeof ev->stamps) ||
        doctor_event_is_fault(back) != doctor_event_is_fault(ev)) {
        abort();
    }
    doctor_events_free(back, length);
    free(text);
    json_decref(obj);
}

/* Parses the text with jansson as httpd would, then checks that
 * doctor_events_from_json() agrees with doctor_events_parse()'s 'ret',
 * 'length' and 'err'. */
static void
check_from_json(const uint8_t *data, size_t size, int ret, size_t length,
                const char *err)
{
    struct doctor_event *events = NULL;
    size_t tree_length = 0;
    char tree_err[512] = "";
    json_error_t jerr;
    json_t *root = json_loadb((const char *) data, size,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    int tree_ret;

    if (!root) {
        return;
    }
    tree_ret = doctor_events_from_json(root, &events, &tree_length, tree_err,
                                       sizeof tree_err);
    if (tree_ret != ret || (ret && strcmp(tree_err, err)) ||
        (!ret && tree_length != length)) {
        abort();
    }
    if (!tree_ret) {
        doctor_events_free(events, tree_length);
    }
    json_decref(root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct doctor_event *events = NULL;
    size_t length = 0;
    char err[512] = "";
    int ret = doctor_events_parse((const char *) data, size, &events, &length,
                                  err, sizeof err);

    check_from_json(data, size, ret, length, err);
    if (ret) {
        check_message(err);
        return 0;
    }
    if (length == 0 || length > DOCTOR_MAX_EVENTS) {
        abort();
    }
    for (size_t i = 0; i < length; i++) {
        check_round_trip(&events[i]);
    }
    doctor_events_free(events, length);
    return 0;
}
