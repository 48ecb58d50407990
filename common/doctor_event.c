/* doctor_event: parsing, validation and serialisation of OPNFV Doctor fault
 * events (see doctor_event.h).
 *
 * Bodies come from outside (any Doctor-compatible monitor may PUT them), so
 * every size, count, nesting depth and string is bounded before anything is
 * kept, and every rejection names the event and the field that was wrong.
 * Input quoted in an error message is truncated and reduced to printable
 * ASCII, so a message is short, valid UTF-8 and safe to log or to return in
 * a 400 reply. The inspector and the notifier both parse with this module;
 * the monitor builds events with doctor_event_set_detail() and
 * doctor_event_to_json(). */
#include "doctor_event.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vtime.h"
#include "vuuid.h"

/* Deepest container nesting a body needs: list > event > details/profiler. */
#define MAX_DEPTH 3
/* Longest details key, in bytes. */
#define MAX_KEY_LENGTH 127
/* Longest piece of input quoted in an error message, in bytes. */
#define QUOTE_LENGTH 48
#define QUOTE_SIZE (QUOTE_LENGTH + 4)
/* Longest reason for one field, before the "event N: " prefix. */
#define REASON_SIZE 256

static const char *const stamp_names[DOCTOR_STAMP_COUNT] = {
    "T00", "T01", "T02", "T03", "T04", "T05", "T06", "T07", "T08", "T09",
};

const char *
doctor_stamp_name(enum doctor_stamp stamp)
{
    return (unsigned) stamp < DOCTOR_STAMP_COUNT ? stamp_names[stamp] : "T??";
}

int
doctor_event_init(struct doctor_event *ev)
{
    json_t *details = json_object();

    if (!details) {
        return -ENOMEM;
    }
    memset(ev, 0, sizeof *ev);
    ev->details = details;
    return 0;
}

void
doctor_event_clear(struct doctor_event *ev)
{
    if (!ev) {
        return;
    }
    json_decref(ev->details);
    memset(ev, 0, sizeof *ev);
}

/* Writes a formatted message to 'err', which may be NULL. */
static void __attribute__((format(printf, 3, 4)))
set_error(char *err, size_t err_size, const char *fmt, ...)
{
    va_list args;

    if (!err || err_size == 0) {
        return;
    }
    va_start(args, fmt);
    vsnprintf(err, err_size, fmt, args);
    va_end(args);
}

/* Copies at most QUOTE_LENGTH bytes of 's' into 'out' for an error message,
 * replacing all but printable ASCII with '?' and marking a truncation with
 * "...". Returns 'out'. */
static const char *
quote(const char *s, size_t length, char out[QUOTE_SIZE])
{
    size_t n = length < QUOTE_LENGTH ? length : QUOTE_LENGTH;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];

        out[i] = c >= 0x20 && c < 0x7f ? (char) c : '?';
    }
    if (n < length) {
        memcpy(out + n, "...", 4);
    } else {
        out[n] = '\0';
    }
    return out;
}

static bool
has_control_char(const char *s, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char) s[i];

        if (c < 0x20 || c == 0x7f) {
            return true;
        }
    }
    return false;
}

/* [a-z0-9_.-]{1,DOCTOR_TYPE_SIZE - 1} */
static bool
valid_type(const char *s, size_t length)
{
    if (length == 0 || length >= DOCTOR_TYPE_SIZE) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char) s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* [A-Za-z0-9_.-]{1,DOCTOR_HOSTNAME_SIZE - 1} */
static bool
valid_hostname(const char *s, size_t length)
{
    if (length == 0 || length >= DOCTOR_HOSTNAME_SIZE) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char) s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) {
            return false;
        }
    }
    return true;
}

static bool
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && !strcmp(s + n - m, suffix);
}

static bool
is_instance_type(const char *type)
{
    static const char prefix[] = "compute.instance.";

    return !strncmp(type, prefix, sizeof prefix - 1);
}

/* The details that Vigil reads, mirrored in struct fields. */
static const struct {
    const char *key;
    size_t offset;
    size_t size;
} mirrored[] = {
#define MIRROR(FIELD) { #FIELD, offsetof(struct doctor_event, FIELD), \
                        sizeof ((struct doctor_event *) 0)->FIELD }
    MIRROR(hostname),
    MIRROR(status),
    MIRROR(monitor),
    MIRROR(monitor_event_id),
    MIRROR(instance_uuid),
#undef MIRROR
};
#define MIRRORED_LENGTH (sizeof mirrored / sizeof mirrored[0])

/* The index in 'mirrored' of details[key], or -1. */
static int
mirror_index(const char *key)
{
    for (size_t i = 0; i < MIRRORED_LENGTH; i++) {
        if (!strcmp(key, mirrored[i].key)) {
            return (int) i;
        }
    }
    return -1;
}

/* Checks a details key. 0, or -EINVAL with the reason in 'why'. */
static int
check_key(const char *key, size_t length, char *why, size_t why_size)
{
    char q[QUOTE_SIZE];

    if (length == 0) {
        set_error(why, why_size, "details: empty key");
        return -EINVAL;
    }
    if (length > MAX_KEY_LENGTH || strlen(key) != length) {
        set_error(why, why_size, "details: key longer than %d bytes: '%s'",
                  MAX_KEY_LENGTH, quote(key, length, q));
        return -EINVAL;
    }
    if (has_control_char(key, length)) {
        set_error(why, why_size, "details: key with a control character: "
                  "'%s'", quote(key, length, q));
        return -EINVAL;
    }
    return 0;
}

/* Checks the string 'value' (of 'length' bytes) for details[key]: the bounds
 * of every detail string, then the rules of the fields Vigil reads (which
 * must fit their struct field). 0, or -EINVAL with the reason in 'why'
 * (e.g. "details.hostname: not a valid host name: 'a b'"). */
static int
check_detail_string(const char *key, const char *value, size_t length,
                    char *why, size_t why_size)
{
    int mirror = mirror_index(key);
    char qk[QUOTE_SIZE], qv[QUOTE_SIZE];

    quote(key, strlen(key), qk);
    if (strlen(value) != length) {
        set_error(why, why_size, "details.%s: contains a NUL byte", qk);
        return -EINVAL;
    }
    if (length > DOCTOR_MAX_STRING_LENGTH) {
        set_error(why, why_size, "details.%s: longer than %d bytes", qk,
                  DOCTOR_MAX_STRING_LENGTH);
        return -EINVAL;
    }
    if (mirror < 0) {
        return 0;
    }
    if (length >= mirrored[mirror].size) {
        set_error(why, why_size, "details.%s: longer than %zu bytes", qk,
                  mirrored[mirror].size - 1);
        return -EINVAL;
    }
    if (!strcmp(key, "hostname")) {
        if (!valid_hostname(value, length)) {
            set_error(why, why_size, "details.hostname: not a valid host "
                      "name ([A-Za-z0-9_.-]{1,%d}): '%s'",
                      DOCTOR_HOSTNAME_SIZE - 1, quote(value, length, qv));
            return -EINVAL;
        }
        return 0;
    }
    if (!strcmp(key, "instance_uuid")) {
        if (!vuuid_is_valid(value)) {
            set_error(why, why_size, "details.instance_uuid: not a valid "
                      "UUID: '%s'", quote(value, length, qv));
            return -EINVAL;
        }
        return 0;
    }
    if (has_control_char(value, length)) {
        set_error(why, why_size, "details.%s: contains a control character",
                  qk);
        return -EINVAL;
    }
    return 0;
}

int
doctor_event_set_detail(struct doctor_event *ev, const char *key,
                        const char *value)
{
    size_t length;
    json_t *string;
    int mirror, ret = -EINVAL;

    if (!ev || !key || !value || check_key(key, strlen(key), NULL, 0)) {
        goto out;
    }
    length = strlen(value);
    if (check_detail_string(key, value, length, NULL, 0)) {
        goto out;
    }
    if (!ev->details) {
        ev->details = json_object();
        if (!ev->details) {
            ret = -ENOMEM;
            goto out;
        }
    }
    if (!json_object_get(ev->details, key) &&
        json_object_size(ev->details) >= DOCTOR_MAX_DETAILS) {
        ret = -E2BIG;
        goto out;
    }
    string = json_stringn(value, length);
    if (!string) {
        /* Not UTF-8 (or out of memory: jansson does not say which). */
        goto out;
    }
    if (json_object_set_new(ev->details, key, string)) {
        ret = -ENOMEM;
        goto out;
    }
    mirror = mirror_index(key);
    if (mirror >= 0) {
        memcpy((char *) ev + mirrored[mirror].offset, value, length + 1);
    }
    ret = 0;
out:
    return ret;
}

/* Looks up the string member 'key' of 'obj'. Stores it in '*value' and
 * '*length' (NULL when absent and not 'required') and returns 0, or
 * returns -EINVAL with the reason in 'why'. 'prefix' ("" or "details.")
 * names the enclosing object in messages. */
static int
get_string(const json_t *obj, const char *prefix, const char *key,
           bool required, size_t max_length, const char **value,
           size_t *length, char *why, size_t why_size)
{
    const json_t *member = json_object_get(obj, key);
    const char *s;
    size_t n;

    if (!member) {
        if (required) {
            set_error(why, why_size, "%s%s: missing", prefix, key);
            return -EINVAL;
        }
        *value = NULL;
        *length = 0;
        return 0;
    }
    if (!json_is_string(member)) {
        set_error(why, why_size, "%s%s: expected a string", prefix, key);
        return -EINVAL;
    }
    s = json_string_value(member);
    n = json_string_length(member);
    if (strlen(s) != n) {
        set_error(why, why_size, "%s%s: contains a NUL byte", prefix, key);
        return -EINVAL;
    }
    if (n > max_length) {
        set_error(why, why_size, "%s%s: longer than %zu bytes", prefix, key,
                  max_length);
        return -EINVAL;
    }
    *value = s;
    *length = n;
    return 0;
}

static const char *
json_kind(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "a list";
    case JSON_NULL:
        return "null";
    default:
        return "a scalar";
    }
}

/* Validates details (an object) and fills the mirrored fields of 'ev'. */
static int
parse_details(const json_t *details, const char *type,
              struct doctor_event *ev, char *why, size_t why_size)
{
    const char *key;
    const json_t *value;
    char q[QUOTE_SIZE];
    int ret;

    if (json_object_size(details) > DOCTOR_MAX_DETAILS) {
        set_error(why, why_size, "details: more than %d keys",
                  DOCTOR_MAX_DETAILS);
        return -EINVAL;
    }
    /* The fields Vigil reads first, so their messages are the precise ones. */
    for (size_t i = 0; i < MIRRORED_LENGTH; i++) {
        const char *name = mirrored[i].key, *s;
        bool required = !strcmp(name, "hostname") ||
                        (!strcmp(name, "instance_uuid") &&
                         is_instance_type(type));
        size_t n;

        ret = get_string(details, "details.", name, required,
                         mirrored[i].size - 1, &s, &n, why, why_size);
        if (ret) {
            return ret;
        }
        if (!s) {
            continue;
        }
        ret = check_detail_string(name, s, n, why, why_size);
        if (ret) {
            return ret;
        }
        memcpy((char *) ev + mirrored[i].offset, s, n + 1);
    }
    json_object_foreach((json_t *) details, key, value) {
        size_t key_length = strlen(key);

        ret = check_key(key, key_length, why, why_size);
        if (ret) {
            return ret;
        }
        if (json_is_string(value)) {
            ret = check_detail_string(key, json_string_value(value),
                                      json_string_length(value), why,
                                      why_size);
            if (ret) {
                return ret;
            }
        } else if (!json_is_number(value) && !json_is_boolean(value)) {
            set_error(why, why_size, "details.%s: expected a string, number "
                      "or boolean, not %s", quote(key, key_length, q),
                      json_kind(value));
            return -EINVAL;
        }
    }
    return 0;
}

/* Validates the optional profiler object into ev->stamps. */
static int
parse_profiler(const json_t *profiler, struct doctor_event *ev, char *why,
               size_t why_size)
{
    const char *key;
    const json_t *value;
    char q[QUOTE_SIZE];

    if (!json_is_object(profiler)) {
        set_error(why, why_size, "profiler: expected an object");
        return -EINVAL;
    }
    json_object_foreach((json_t *) profiler, key, value) {
        int stamp = -1;

        for (int i = 0; i < DOCTOR_STAMP_COUNT; i++) {
            if (!strcmp(key, stamp_names[i])) {
                stamp = i;
                break;
            }
        }
        if (stamp < 0) {
            set_error(why, why_size, "profiler: unknown checkpoint '%s' "
                      "(expected T00..T09)", quote(key, strlen(key), q));
            return -EINVAL;
        }
        if (!json_is_integer(value) || json_integer_value(value) < 0) {
            set_error(why, why_size, "profiler.%s: expected a non-negative "
                      "integer (CLOCK_MONOTONIC ns)", stamp_names[stamp]);
            return -EINVAL;
        }
        ev->stamps[stamp] = json_integer_value(value);
    }
    return 0;
}

/* doctor_event_from_json() without the copy: when 'share' the details
 * object is referenced rather than copied. Messages carry no event
 * index. */
static int
parse_event(const json_t *obj, bool share, struct doctor_event *out,
            char *why, size_t why_size)
{
    struct doctor_event ev;
    const json_t *details, *profiler;
    const char *s;
    size_t n;
    char q[QUOTE_SIZE];
    int ret;

    memset(&ev, 0, sizeof ev);
    if (!json_is_object(obj)) {
        set_error(why, why_size, "expected an object, not %s",
                  json_kind(obj));
        return -EINVAL;
    }

    ret = get_string(obj, "", "id", false, DOCTOR_ID_SIZE - 1, &s, &n, why,
                     why_size);
    if (ret) {
        return ret;
    }
    if (s) {
        if (n == 0 || has_control_char(s, n)) {
            set_error(why, why_size, "id: empty or with a control character");
            return -EINVAL;
        }
        memcpy(ev.id, s, n + 1);
    }

    ret = get_string(obj, "", "type", true, DOCTOR_TYPE_SIZE - 1, &s, &n,
                     why, why_size);
    if (ret) {
        return ret;
    }
    if (!valid_type(s, n)) {
        set_error(why, why_size, "type: not a lower-case dotted identifier "
                  "([a-z0-9_.-]{1,%d}): '%s'", DOCTOR_TYPE_SIZE - 1,
                  quote(s, n, q));
        return -EINVAL;
    }
    memcpy(ev.type, s, n + 1);

    ret = get_string(obj, "", "time", true, DOCTOR_MAX_STRING_LENGTH, &s, &n,
                     why, why_size);
    if (ret) {
        return ret;
    }
    if (vtime_parse_iso(s, &ev.time_ns)) {
        set_error(why, why_size, "time: not an ISO-8601 date-time: '%s'",
                  quote(s, n, q));
        return -EINVAL;
    }

    details = json_object_get(obj, "details");
    if (!details) {
        set_error(why, why_size, "details: missing");
        return -EINVAL;
    }
    if (!json_is_object(details)) {
        set_error(why, why_size, "details: expected an object");
        return -EINVAL;
    }
    ret = parse_details(details, ev.type, &ev, why, why_size);
    if (ret) {
        return ret;
    }

    profiler = json_object_get(obj, "profiler");
    if (profiler) {
        ret = parse_profiler(profiler, &ev, why, why_size);
        if (ret) {
            return ret;
        }
    }

    if (!ev.id[0]) {
        ret = vuuid_generate(ev.id);
        if (ret) {
            set_error(why, why_size, "id: cannot generate one");
            return ret;
        }
    }
    ev.details = share ? json_incref((json_t *) details)
                       : json_deep_copy(details);
    if (!ev.details) {
        set_error(why, why_size, "out of memory");
        return -ENOMEM;
    }
    *out = ev;
    return 0;
}

int
doctor_event_from_json(const json_t *obj, struct doctor_event *ev,
                       char *err, size_t err_size)
{
    return parse_event(obj, false, ev, err, err_size);
}

/* Fails when containers in 'body' nest deeper than MAX_DEPTH, so that no
 * parser recursion or memory is spent on them. Malformed JSON passes here
 * and is rejected by the parser. */
static bool
depth_ok(const char *body, size_t size)
{
    bool in_string = false, escaped = false;
    int depth = 0;

    for (size_t i = 0; i < size; i++) {
        char c = body[i];

        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > MAX_DEPTH) {
                return false;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return true;
}

/* Fails when containers in 'value' nest deeper than MAX_DEPTH ('level' is
 * the depth of 'value' itself). Stops descending at the limit. */
static bool
json_depth_ok(const json_t *value, int level)
{
    const char *key;
    const json_t *member;
    size_t i;

    if (!json_is_object(value) && !json_is_array(value)) {
        return true;
    }
    if (level > MAX_DEPTH) {
        return false;
    }
    if (json_is_array(value)) {
        json_array_foreach(value, i, member) {
            if (!json_depth_ok(member, level + 1)) {
                return false;
            }
        }
        return true;
    }
    json_object_foreach((json_t *) value, key, member) {
        if (!json_depth_ok(member, level + 1)) {
            return false;
        }
    }
    return true;
}

/* doctor_events_from_json() with a choice: 'share' references the details
 * objects of 'root' instead of copying them (for a tree this module owns). */
static int
events_from_root(const json_t *root, bool share, struct doctor_event **events,
                 size_t *length, char *err, size_t err_size)
{
    struct doctor_event *list = NULL;
    size_t count = 0, done = 0;
    char why[REASON_SIZE];
    int ret = -EINVAL;

    if (json_is_object(root)) {
        count = 1;
    } else if (json_is_array(root)) {
        count = json_array_size(root);
        if (count == 0) {
            set_error(err, err_size, "body: empty list of events");
            goto out;
        }
        if (count > DOCTOR_MAX_EVENTS) {
            set_error(err, err_size, "body: %zu events, more than the %d "
                      "allowed", count, DOCTOR_MAX_EVENTS);
            ret = -E2BIG;
            goto out;
        }
    } else {
        set_error(err, err_size, "body: expected a list of events or one "
                  "event object, not %s", root ? json_kind(root) : "nothing");
        goto out;
    }

    list = calloc(count, sizeof *list);
    if (!list) {
        set_error(err, err_size, "out of memory");
        ret = -ENOMEM;
        goto out;
    }
    for (done = 0; done < count; done++) {
        const json_t *item = json_is_array(root) ? json_array_get(root, done)
                                                 : root;

        ret = parse_event(item, share, &list[done], why, sizeof why);
        if (ret) {
            set_error(err, err_size, "event %zu: %s", done, why);
            goto out;
        }
    }
    *events = list;
    *length = count;
    list = NULL;
    ret = 0;
out:
    doctor_events_free(list, done);
    return ret;
}

int
doctor_events_parse(const char *body, size_t size,
                    struct doctor_event **events, size_t *length,
                    char *err, size_t err_size)
{
    json_t *root = NULL;
    json_error_t jerr;
    char q[QUOTE_SIZE];
    int ret = -EINVAL;

    if (!body || size == 0) {
        set_error(err, err_size, "body: empty");
        goto out;
    }
    if (size > DOCTOR_MAX_BODY_SIZE) {
        set_error(err, err_size, "body: %zu bytes, more than the %d allowed",
                  size, DOCTOR_MAX_BODY_SIZE);
        ret = -E2BIG;
        goto out;
    }
    if (!depth_ok(body, size)) {
        set_error(err, err_size, "body: JSON nested deeper than %d levels",
                  MAX_DEPTH);
        goto out;
    }
    root = json_loadb(body, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                      &jerr);
    if (!root) {
        set_error(err, err_size, "body: not valid JSON: %s (line %d, "
                  "column %d)", quote(jerr.text, strlen(jerr.text), q),
                  jerr.line, jerr.column);
        goto out;
    }
    ret = events_from_root(root, true, events, length, err, err_size);
out:
    json_decref(root);
    return ret;
}

int
doctor_events_from_json(const json_t *root, struct doctor_event **events,
                        size_t *length, char *err, size_t err_size)
{
    if (!json_depth_ok(root, 1)) {
        set_error(err, err_size, "body: JSON nested deeper than %d levels",
                  MAX_DEPTH);
        return -EINVAL;
    }
    return events_from_root(root, false, events, length, err, err_size);
}

void
doctor_events_free(struct doctor_event *events, size_t length)
{
    if (!events) {
        return;
    }
    for (size_t i = 0; i < length; i++) {
        doctor_event_clear(&events[i]);
    }
    free(events);
}

json_t *
doctor_event_to_json(const struct doctor_event *ev)
{
    char when[VTIME_ISO_SIZE];
    json_t *obj = json_object(), *profiler = NULL, *ret = NULL;

    if (!obj) {
        goto out;
    }
    if (ev->id[0] && json_object_set_new(obj, "id", json_string(ev->id))) {
        goto out;
    }
    vtime_format_iso(ev->time_ns, when, sizeof when);
    if (json_object_set_new(obj, "time", json_string(when)) ||
        json_object_set_new(obj, "type", json_string(ev->type)) ||
        json_object_set_new(obj, "details",
                            ev->details ? json_deep_copy(ev->details)
                                        : json_object())) {
        goto out;
    }
    for (int i = 0; i < DOCTOR_STAMP_COUNT; i++) {
        if (!ev->stamps[i]) {
            continue;
        }
        if (!profiler) {
            profiler = json_object();
            if (!profiler) {
                goto out;
            }
        }
        if (json_object_set_new(profiler, stamp_names[i],
                                json_integer(ev->stamps[i]))) {
            goto out;
        }
    }
    if (profiler) {
        int failed = json_object_set_new(obj, "profiler", profiler);

        profiler = NULL;        /* json_object_set_new() took it */
        if (failed) {
            goto out;
        }
    }
    ret = obj;
    obj = NULL;
out:
    json_decref(profiler);
    json_decref(obj);
    return ret;
}

bool
doctor_event_is_fault(const struct doctor_event *ev)
{
    return !ends_with(ev->type, ".up") && strcasecmp(ev->status, "up") &&
           strcasecmp(ev->status, "ok");
}
