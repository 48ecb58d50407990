/* alarm: Aodh event-alarm model, validation and serialisation (see alarm.h).
 *
 * The rules follow Aodh's v2 API (aodh/api/controllers/v2/alarms.py and
 * alarm_rules/event.py): the same member names, defaults and enumerations,
 * with Vigil's bounds on every string and list. */
#include "alarm.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vtime.h"

static const char *const alarm_state_names[ALARM_STATE_COUNT] = {
    [ALARM_STATE_OK] = "ok",
    [ALARM_STATE_ALARM] = "alarm",
    [ALARM_STATE_INSUFFICIENT_DATA] = "insufficient data",
};

static const char *const alarm_severity_names[ALARM_SEVERITY_COUNT] = {
    [ALARM_SEVERITY_LOW] = "low",
    [ALARM_SEVERITY_MODERATE] = "moderate",
    [ALARM_SEVERITY_CRITICAL] = "critical",
};

static const char *const alarm_op_names[ALARM_OP_COUNT] = {
    [ALARM_OP_EQ] = "eq", [ALARM_OP_NE] = "ne", [ALARM_OP_LT] = "lt",
    [ALARM_OP_LE] = "le", [ALARM_OP_GT] = "gt", [ALARM_OP_GE] = "ge",
};

static const char *const alarm_value_type_names[ALARM_VALUE_TYPE_COUNT] = {
    [ALARM_VALUE_STRING] = "string",
    [ALARM_VALUE_INTEGER] = "integer",
    [ALARM_VALUE_FLOAT] = "float",
    [ALARM_VALUE_BOOLEAN] = "boolean",
};

/* The JSON member that holds the actions of each state. */
static const char *const alarm_actions_keys[ALARM_STATE_COUNT] = {
    [ALARM_STATE_OK] = "ok_actions",
    [ALARM_STATE_ALARM] = "alarm_actions",
    [ALARM_STATE_INSUFFICIENT_DATA] = "insufficient_data_actions",
};

static const char *const alarm_known_keys[] = {
    "alarm_id", "name", "description", "type", "enabled", "state",
    "state_reason", "severity", "repeat_actions", "alarm_actions",
    "ok_actions", "insufficient_data_actions", "time_constraints",
    "event_rule", "project_id", "user_id", "timestamp", "state_timestamp",
    NULL,
};

const char *
alarm_state_to_string(enum alarm_state state)
{
    return state < ALARM_STATE_COUNT ? alarm_state_names[state] : "?";
}

const char *
alarm_severity_to_string(enum alarm_severity severity)
{
    return severity < ALARM_SEVERITY_COUNT ? alarm_severity_names[severity]
                                           : "?";
}

const char *
alarm_op_to_string(enum alarm_op op)
{
    return op < ALARM_OP_COUNT ? alarm_op_names[op] : "?";
}

const char *
alarm_value_type_to_string(enum alarm_value_type type)
{
    return type < ALARM_VALUE_TYPE_COUNT ? alarm_value_type_names[type] : "?";
}

/* Index of 'text' in 'names' (of 'count' entries), or -1. */
static int
alarm_lookup_name(const char *const *names, size_t count, const char *text)
{
    for (size_t i = 0; i < count; i++) {
        if (!strcmp(names[i], text)) {
            return (int) i;
        }
    }
    return -1;
}

int
alarm_state_from_string(const char *text, enum alarm_state *state)
{
    int i = alarm_lookup_name(alarm_state_names, ALARM_STATE_COUNT, text);

    if (i < 0) {
        return -EINVAL;
    }
    *state = (enum alarm_state) i;
    return 0;
}

int
alarm_severity_from_string(const char *text, enum alarm_severity *severity)
{
    int i = alarm_lookup_name(alarm_severity_names, ALARM_SEVERITY_COUNT,
                              text);

    if (i < 0) {
        return -EINVAL;
    }
    *severity = (enum alarm_severity) i;
    return 0;
}

/* Writes a reason to 'err' and returns -EINVAL. */
static int __attribute__((format(printf, 3, 4)))
alarm_fail(char *err, size_t err_size, const char *fmt, ...)
{
    va_list args;

    if (err && err_size) {
        va_start(args, fmt);
        vsnprintf(err, err_size, fmt, args);
        va_end(args);
    }
    return -EINVAL;
}

/* True when 'text' has no ASCII control characters. */
static bool
alarm_is_printable(const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return false;
        }
    }
    return true;
}

enum alarm_string_flags {
    ALARM_STRING_REQUIRED = 1 << 0,   /* absent or null is an error */
    ALARM_STRING_PRINTABLE = 1 << 1,  /* no control characters */
    ALARM_STRING_NONEMPTY = 1 << 2,
};

/* Copies the string member 'key' of 'obj' (at most 'max_length' bytes) to
 * '*out'; leaves '*out' alone when the member is absent or null and not
 * required. 'where' prefixes errors ("event_rule.", ""). */
static int
alarm_get_string(const json_t *obj, const char *where, const char *key,
                 size_t max_length, unsigned int flags, char **out,
                 char *err, size_t err_size)
{
    const json_t *v = json_object_get(obj, key);
    const char *text;
    size_t length;
    char *copy;

    if (!v || json_is_null(v)) {
        if (flags & ALARM_STRING_REQUIRED) {
            return alarm_fail(err, err_size, "%s%s: missing", where, key);
        }
        return 0;
    }
    if (!json_is_string(v)) {
        return alarm_fail(err, err_size, "%s%s: expected a string", where,
                          key);
    }
    text = json_string_value(v);
    length = json_string_length(v);
    if (length > max_length) {
        return alarm_fail(err, err_size, "%s%s: too long (at most %zu bytes)",
                          where, key, max_length);
    }
    if (strlen(text) != length) {
        return alarm_fail(err, err_size, "%s%s: contains a NUL character",
                          where, key);
    }
    if ((flags & ALARM_STRING_NONEMPTY) && length == 0) {
        return alarm_fail(err, err_size, "%s%s: must not be empty", where,
                          key);
    }
    if ((flags & ALARM_STRING_PRINTABLE) && !alarm_is_printable(text)) {
        return alarm_fail(err, err_size,
                          "%s%s: contains a control character", where, key);
    }
    copy = strdup(text);
    if (!copy) {
        return -ENOMEM;
    }
    free(*out);
    *out = copy;
    return 0;
}

/* Reads the boolean member 'key' into '*value' (unchanged when absent). */
static int
alarm_get_bool(const json_t *obj, const char *key, bool *value, char *err,
               size_t err_size)
{
    const json_t *v = json_object_get(obj, key);

    if (!v || json_is_null(v)) {
        return 0;
    }
    if (!json_is_boolean(v)) {
        return alarm_fail(err, err_size, "%s: expected true or false", key);
    }
    *value = json_is_true(v);
    return 0;
}

/* Reads an optional ISO-8601 member into '*ns' (unchanged when absent). */
static int
alarm_get_time(const json_t *obj, const char *key, int64_t *ns, char *err,
               size_t err_size)
{
    const json_t *v = json_object_get(obj, key);
    int64_t parsed;

    if (!v || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) > 64 ||
        vtime_parse_iso(json_string_value(v), &parsed)) {
        return alarm_fail(err, err_size,
                          "%s: expected an ISO-8601 date-time", key);
    }
    *ns = parsed;
    return 0;
}

/* Checks that 'url' is an absolute http:// or https:// URL with a host. */
static int
alarm_check_url(const char *url, const char *where, char *err, size_t err_size)
{
    const char *authority, *end, *host, *port = NULL;

    if (!strncasecmp(url, "http://", 7)) {
        authority = url + 7;
    } else if (!strncasecmp(url, "https://", 8)) {
        authority = url + 8;
    } else {
        return alarm_fail(err, err_size,
                          "%s: unsupported action '%.64s': only http:// and "
                          "https:// webhooks are supported", where, url);
    }
    for (const unsigned char *p = (const unsigned char *) url; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f) {
            return alarm_fail(err, err_size,
                              "%s: URL contains a space, control or "
                              "non-ASCII character", where);
        }
    }
    end = authority + strcspn(authority, "/?#");
    host = authority;
    for (const char *p = authority; p < end; p++) {
        if (*p == '@') {
            host = p + 1;
        }
    }
    if (*host == '[') {
        const char *close = memchr(host, ']', end - host);

        if (!close || close == host + 1) {
            return alarm_fail(err, err_size, "%s: malformed IPv6 host",
                              where);
        }
        if (close + 1 < end) {
            if (close[1] != ':') {
                return alarm_fail(err, err_size, "%s: malformed host", where);
            }
            port = close + 2;
        }
    } else {
        const char *colon = memchr(host, ':', end - host);

        if ((colon ? colon : end) == host) {
            return alarm_fail(err, err_size, "%s: URL has no host", where);
        }
        if (colon) {
            port = colon + 1;
        }
    }
    if (port) {
        long value = 0;

        if (port == end || end - port > 5) {
            return alarm_fail(err, err_size, "%s: malformed port", where);
        }
        for (const char *p = port; p < end; p++) {
            if (!isdigit((unsigned char) *p)) {
                return alarm_fail(err, err_size, "%s: malformed port", where);
            }
            value = value * 10 + (*p - '0');
        }
        if (value < 1 || value > 65535) {
            return alarm_fail(err, err_size, "%s: port out of range", where);
        }
    }
    return 0;
}

static void
alarm_actions_clear(struct alarm_actions *actions)
{
    for (size_t i = 0; i < actions->length; i++) {
        free(actions->urls[i]);
    }
    free(actions->urls);
    actions->urls = NULL;
    actions->length = 0;
}

/* Parses the action list 'key' (absent or null: empty), dropping
 * duplicates as Aodh does. */
static int
alarm_get_actions(const json_t *obj, const char *key,
                  struct alarm_actions *actions, char *err, size_t err_size)
{
    const json_t *list = json_object_get(obj, key), *v;
    struct alarm_actions parsed = { NULL, 0 };
    char where[64];
    size_t i;
    int ret = -EINVAL;

    if (!list || json_is_null(list)) {
        return 0;
    }
    if (!json_is_array(list)) {
        return alarm_fail(err, err_size, "%s: expected a list of URLs", key);
    }
    parsed.urls = calloc(ALARM_MAX_ACTIONS, sizeof *parsed.urls);
    if (!parsed.urls) {
        return -ENOMEM;
    }
    json_array_foreach(list, i, v) {
        const char *url = json_string_value(v);
        bool seen = false;

        snprintf(where, sizeof where, "%s[%zu]", key, i);
        if (!url) {
            ret = alarm_fail(err, err_size, "%s: expected a string", where);
            goto out;
        }
        if (json_string_length(v) > ALARM_MAX_URL_LENGTH) {
            ret = alarm_fail(err, err_size,
                             "%s: URL too long (at most %d bytes)", where,
                             ALARM_MAX_URL_LENGTH);
            goto out;
        }
        if (strlen(url) != json_string_length(v)) {
            ret = alarm_fail(err, err_size, "%s: contains a NUL character",
                             where);
            goto out;
        }
        ret = alarm_check_url(url, where, err, err_size);
        if (ret) {
            goto out;
        }
        for (size_t j = 0; j < parsed.length && !seen; j++) {
            seen = !strcmp(parsed.urls[j], url);
        }
        if (seen) {
            continue;
        }
        if (parsed.length == ALARM_MAX_ACTIONS) {
            ret = alarm_fail(err, err_size,
                             "%s: too many actions (at most %d)", key,
                             ALARM_MAX_ACTIONS);
            goto out;
        }
        parsed.urls[parsed.length] = strdup(url);
        if (!parsed.urls[parsed.length]) {
            ret = -ENOMEM;
            goto out;
        }
        parsed.length++;
    }
    alarm_actions_clear(actions);
    *actions = parsed;
    parsed.urls = NULL;
    parsed.length = 0;
    ret = 0;
out:
    alarm_actions_clear(&parsed);
    return ret;
}

/* Python's int(): optional blanks, optional sign, decimal digits. */
static int
alarm_parse_integer(const char *text, int64_t *value)
{
    const char *p = text;
    char *end;
    long long v;

    while (isspace((unsigned char) *p)) {
        p++;
    }
    if (!isdigit((unsigned char) p[*p == '+' || *p == '-'])) {
        return -EINVAL;
    }
    errno = 0;
    v = strtoll(p, &end, 10);
    if (errno) {
        return -ERANGE;
    }
    while (isspace((unsigned char) *end)) {
        end++;
    }
    if (*end) {
        return -EINVAL;
    }
    *value = v;
    return 0;
}

/* Python's float(): a decimal number, "inf" or "nan", optional blanks. */
static int
alarm_parse_float(const char *text, double *value)
{
    const char *p = text;
    char *end;
    double v;

    while (isspace((unsigned char) *p)) {
        p++;
    }
    if (!*p || (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) ||
        ((p[0] == '+' || p[0] == '-') && p[1] == '0' &&
         (p[2] == 'x' || p[2] == 'X'))) {
        return -EINVAL;
    }
    v = strtod(p, &end);
    if (end == p) {
        return -EINVAL;
    }
    while (isspace((unsigned char) *end)) {
        end++;
    }
    if (*end) {
        return -EINVAL;
    }
    *value = v;
    return 0;
}

/* oslo's bool_from_string(strict=True). */
static int
alarm_parse_boolean(const char *text, bool *value)
{
    static const char *const yes[] = { "1", "t", "true", "on", "y", "yes" };
    static const char *const no[] = { "0", "f", "false", "off", "n", "no" };
    char word[8];
    size_t n = 0;
    const char *p = text;

    while (isspace((unsigned char) *p)) {
        p++;
    }
    while (*p && !isspace((unsigned char) *p)) {
        if (n + 1 >= sizeof word) {
            return -EINVAL;
        }
        word[n++] = (char) tolower((unsigned char) *p++);
    }
    word[n] = '\0';
    while (isspace((unsigned char) *p)) {
        p++;
    }
    if (*p) {
        return -EINVAL;
    }
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!strcmp(word, yes[i])) {
            *value = true;
            return 0;
        }
        if (!strcmp(word, no[i])) {
            *value = false;
            return 0;
        }
    }
    return -EINVAL;
}

static void
alarm_query_clear(struct alarm_query *q)
{
    free(q->field);
    free(q->type_text);
    free(q->value);
    memset(q, 0, sizeof *q);
}

/* Takes the query value as text: strings as they are, numbers and booleans
 * in their JSON spelling. */
static int
alarm_query_value_text(const json_t *v, const char *where, char **out,
                       char *err, size_t err_size)
{
    char buf[64];

    if (!v || json_is_null(v)) {
        return alarm_fail(err, err_size, "%s.value: missing", where);
    }
    if (json_is_string(v)) {
        if (json_string_length(v) > ALARM_MAX_VALUE_LENGTH) {
            return alarm_fail(err, err_size,
                              "%s.value: too long (at most %d bytes)", where,
                              ALARM_MAX_VALUE_LENGTH);
        }
        if (strlen(json_string_value(v)) != json_string_length(v)) {
            return alarm_fail(err, err_size,
                              "%s.value: contains a NUL character", where);
        }
        *out = strdup(json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%" PRId64, (int64_t) json_integer_value(v));
        *out = strdup(buf);
    } else if (json_is_real(v)) {
        snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
        *out = strdup(buf);
    } else if (json_is_boolean(v)) {
        *out = strdup(json_is_true(v) ? "true" : "false");
    } else {
        return alarm_fail(err, err_size, "%s.value: expected a string",
                          where);
    }
    return *out ? 0 : -ENOMEM;
}

/* Parses one member of event_rule.query into 'q' (zeroed on entry). */
static int
alarm_query_from_json(const json_t *obj, size_t index, struct alarm_query *q,
                      char *err, size_t err_size)
{
    const char *key, *text;
    const json_t *v;
    char where[40];
    int op, ret;

    snprintf(where, sizeof where, "event_rule.query[%zu]", index);
    if (!json_is_object(obj)) {
        return alarm_fail(err, err_size, "%s: expected an object", where);
    }
    json_object_foreach((json_t *) obj, key, v) {
        if (strcmp(key, "field") && strcmp(key, "op") &&
            strcmp(key, "value") && strcmp(key, "type")) {
            return alarm_fail(err, err_size, "%s: unknown attribute '%.64s'",
                              where, key);
        }
    }
    strcat(where, ".");
    ret = alarm_get_string(obj, where, "field", ALARM_MAX_FIELD_LENGTH,
                           ALARM_STRING_REQUIRED, &q->field, err, err_size);
    if (ret) {
        return ret;
    }
    where[strlen(where) - 1] = '\0';
    for (const char *p = q->field; *p; p++) {
        if (!isalnum((unsigned char) *p) && !strchr(".',_-", *p)) {
            return alarm_fail(err, err_size,
                              "%s.field: invalid character '%c' (allowed: "
                              "letters, digits and .',_-)", where, *p);
        }
    }
    if (strncmp(q->field, "traits.", 7) || !q->field[7]) {
        return alarm_fail(err, err_size,
                          "%s.field: only traits.<name> fields are "
                          "supported, got '%s'", where, q->field);
    }
    q->trait = q->field + 7;

    v = json_object_get(obj, "op");
    q->op = ALARM_OP_EQ;
    if (v && !json_is_null(v)) {
        text = json_string_value(v);
        op = text ? alarm_lookup_name(alarm_op_names, ALARM_OP_COUNT, text)
                  : -1;
        if (op < 0) {
            return alarm_fail(err, err_size,
                              "%s.op: expected one of lt, le, eq, ne, ge, gt",
                              where);
        }
        q->op = (enum alarm_op) op;
    }

    v = json_object_get(obj, "type");
    q->type = ALARM_VALUE_STRING;
    if (v && !json_is_null(v)) {
        int type;

        text = json_string_value(v);
        type = !text ? -1
               : !*text ? ALARM_VALUE_STRING
               : alarm_lookup_name(alarm_value_type_names,
                                   ALARM_VALUE_TYPE_COUNT, text);
        if (type < 0) {
            return alarm_fail(err, err_size,
                              "%s.type: expected one of string, integer, "
                              "float, boolean or \"\"", where);
        }
        q->type = (enum alarm_value_type) type;
        q->type_text = strdup(text);
        if (!q->type_text) {
            return -ENOMEM;
        }
    }

    ret = alarm_query_value_text(json_object_get(obj, "value"), where,
                                 &q->value, err, err_size);
    if (ret) {
        return ret;
    }
    switch (q->type) {
    case ALARM_VALUE_INTEGER:
        ret = alarm_parse_integer(q->value, &q->converted.integer);
        break;
    case ALARM_VALUE_FLOAT:
        ret = alarm_parse_float(q->value, &q->converted.real);
        break;
    case ALARM_VALUE_BOOLEAN:
        ret = alarm_parse_boolean(q->value, &q->converted.boolean);
        break;
    case ALARM_VALUE_STRING:
    case ALARM_VALUE_TYPE_COUNT:
        break;
    }
    if (ret) {
        return alarm_fail(err, err_size,
                          "%s.value: unable to convert '%.64s' to %s", where,
                          q->value, alarm_value_type_names[q->type]);
    }
    return 0;
}

/* Parses event_rule into 'alarm'. */
static int
alarm_rule_from_json(const json_t *rule, struct alarm *alarm, char *err,
                     size_t err_size)
{
    const json_t *query, *v;
    const char *key;
    size_t i;
    int ret;

    if (!rule || json_is_null(rule)) {
        return alarm_fail(err, err_size,
                          "event_rule: must be set for event type alarm");
    }
    if (!json_is_object(rule)) {
        return alarm_fail(err, err_size, "event_rule: expected an object");
    }
    json_object_foreach((json_t *) rule, key, v) {
        if (strcmp(key, "event_type") && strcmp(key, "query")) {
            return alarm_fail(err, err_size,
                              "event_rule: unknown attribute '%.64s'", key);
        }
    }
    ret = alarm_get_string(rule, "event_rule.", "event_type",
                           ALARM_MAX_EVENT_TYPE_LENGTH, ALARM_STRING_PRINTABLE,
                           &alarm->event_type, err, err_size);
    if (ret) {
        return ret;
    }
    if (!alarm->event_type || !alarm->event_type[0]) {
        free(alarm->event_type);
        alarm->event_type = strdup("*");
        if (!alarm->event_type) {
            return -ENOMEM;
        }
    }

    query = json_object_get(rule, "query");
    if (!query || json_is_null(query)) {
        return 0;
    }
    if (!json_is_array(query)) {
        return alarm_fail(err, err_size, "event_rule.query: expected a list");
    }
    if (json_array_size(query) > ALARM_MAX_QUERIES) {
        return alarm_fail(err, err_size,
                          "event_rule.query: too many conditions (at most "
                          "%d)", ALARM_MAX_QUERIES);
    }
    if (json_array_size(query) == 0) {
        return 0;
    }
    alarm->queries = calloc(json_array_size(query), sizeof *alarm->queries);
    if (!alarm->queries) {
        return -ENOMEM;
    }
    json_array_foreach(query, i, v) {
        alarm->n_queries = i + 1;
        ret = alarm_query_from_json(v, i, &alarm->queries[i], err, err_size);
        if (ret) {
            return ret;
        }
    }
    return 0;
}

/* Reads an enumerated string member into '*value' (unchanged if absent). */
static int
alarm_get_enum(const json_t *obj, const char *key, const char *const *names,
               size_t count, const char *expected, int *value, char *err,
               size_t err_size)
{
    const json_t *v = json_object_get(obj, key);
    int i;

    if (!v || json_is_null(v)) {
        return 0;
    }
    i = json_is_string(v) ? alarm_lookup_name(names, count,
                                              json_string_value(v))
                          : -1;
    if (i < 0) {
        return alarm_fail(err, err_size, "%s: expected one of %s", key,
                          expected);
    }
    *value = i;
    return 0;
}

/* Everything in the top-level object but the rule and the actions. */
static int
alarm_members_from_json(const json_t *obj, struct alarm *alarm, char *err,
                        size_t err_size)
{
    const json_t *v;
    int state = ALARM_STATE_INSUFFICIENT_DATA, severity = ALARM_SEVERITY_LOW;
    int ret;

    ret = alarm_get_string(obj, "", "name", ALARM_MAX_NAME_LENGTH,
                           ALARM_STRING_REQUIRED | ALARM_STRING_NONEMPTY,
                           &alarm->name, err, err_size);
    if (!ret) {
        ret = alarm_get_string(obj, "", "description",
                               ALARM_MAX_DESCRIPTION_LENGTH, 0,
                               &alarm->description, err, err_size);
    }
    if (!ret) {
        ret = alarm_get_string(obj, "", "state_reason",
                               ALARM_MAX_STATE_REASON_LENGTH, 0,
                               &alarm->state_reason, err, err_size);
    }
    if (!ret) {
        ret = alarm_get_string(obj, "", "project_id", ALARM_MAX_ID_LENGTH,
                               ALARM_STRING_PRINTABLE, &alarm->project_id,
                               err, err_size);
    }
    if (!ret) {
        ret = alarm_get_string(obj, "", "user_id", ALARM_MAX_ID_LENGTH,
                               ALARM_STRING_PRINTABLE, &alarm->user_id, err,
                               err_size);
    }
    if (ret) {
        return ret;
    }
    v = json_object_get(obj, "alarm_id");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || !vuuid_is_valid(json_string_value(v))) {
            return alarm_fail(err, err_size, "alarm_id: expected a UUID");
        }
        memcpy(alarm->id, json_string_value(v), VUUID_STRING_SIZE);
    }
    ret = alarm_get_bool(obj, "enabled", &alarm->enabled, err, err_size);
    if (!ret) {
        ret = alarm_get_bool(obj, "repeat_actions", &alarm->repeat_actions,
                             err, err_size);
    }
    if (!ret) {
        ret = alarm_get_enum(obj, "state", alarm_state_names,
                             ALARM_STATE_COUNT,
                             "ok, alarm, insufficient data", &state, err,
                             err_size);
    }
    if (!ret) {
        ret = alarm_get_enum(obj, "severity", alarm_severity_names,
                             ALARM_SEVERITY_COUNT, "low, moderate, critical",
                             &severity, err, err_size);
    }
    if (!ret) {
        ret = alarm_get_time(obj, "timestamp", &alarm->timestamp_ns, err,
                             err_size);
    }
    if (!ret) {
        ret = alarm_get_time(obj, "state_timestamp",
                             &alarm->state_timestamp_ns, err, err_size);
    }
    alarm->state = (enum alarm_state) state;
    alarm->severity = (enum alarm_severity) severity;
    return ret;
}

int
alarm_from_json(const json_t *obj, struct alarm **out, char *err,
                size_t err_size)
{
    struct alarm *alarm = NULL;
    const json_t *v;
    const char *key;
    int ret = -EINVAL;

    if (!json_is_object(obj)) {
        return alarm_fail(err, err_size, "the alarm must be a JSON object");
    }
    /* The type first: a threshold or gnocchi alarm from an Aodh client
     * carries members of its own, and the useful answer is about the type. */
    v = json_object_get(obj, "type");
    if (!v || json_is_null(v)) {
        return alarm_fail(err, err_size, "type: missing");
    }
    if (!json_is_string(v) || strcmp(json_string_value(v), "event")) {
        return alarm_fail(err, err_size,
                          "type: only event alarms are supported (got "
                          "'%.32s')", json_is_string(v) ?
                          json_string_value(v) : "not a string");
    }
    if (json_object_size(obj) > ALARM_MAX_KEYS) {
        return alarm_fail(err, err_size, "too many attributes (at most %d)",
                          ALARM_MAX_KEYS);
    }
    json_object_foreach((json_t *) obj, key, v) {
        if (alarm_lookup_name(alarm_known_keys,
                              sizeof alarm_known_keys /
                              sizeof alarm_known_keys[0] - 1, key) < 0) {
            return alarm_fail(err, err_size, "unknown attribute '%.64s'",
                              key);
        }
    }
    alarm = calloc(1, sizeof *alarm);
    if (!alarm) {
        return -ENOMEM;
    }
    alarm->enabled = true;
    ret = alarm_members_from_json(obj, alarm, err, err_size);
    if (ret) {
        goto out;
    }
    for (int s = 0; s < ALARM_STATE_COUNT; s++) {
        ret = alarm_get_actions(obj, alarm_actions_keys[s], &alarm->actions[s],
                                err, err_size);
        if (ret) {
            goto out;
        }
    }
    v = json_object_get(obj, "time_constraints");
    if (v && !json_is_null(v) &&
        (!json_is_array(v) || json_array_size(v) > 0)) {
        ret = alarm_fail(err, err_size,
                         "time_constraints: not supported for event alarms "
                         "(only an empty list is accepted)");
        goto out;
    }
    ret = alarm_rule_from_json(json_object_get(obj, "event_rule"), alarm, err,
                               err_size);
    if (ret) {
        goto out;
    }
    if (!alarm->state_reason) {
        alarm->state_reason = strdup("");
    }
    if (!alarm->description || !alarm->description[0]) {
        free(alarm->description);
        if (asprintf(&alarm->description, "Alarm when %s event occurred.",
                     alarm->event_type) < 0) {
            alarm->description = NULL;
        }
    }
    if (!alarm->state_reason || !alarm->description) {
        ret = -ENOMEM;
        goto out;
    }
    *out = alarm;
    alarm = NULL;
    ret = 0;
out:
    alarm_free(alarm);
    return ret;
}

json_t *
alarm_queries_to_json(const struct alarm *alarm)
{
    json_t *list = json_array();

    for (size_t i = 0; list && i < alarm->n_queries; i++) {
        const struct alarm_query *q = &alarm->queries[i];
        json_t *item = json_pack("{s:s, s:s, s:s}", "field", q->field, "op",
                                 alarm_op_names[q->op], "value", q->value);

        if (item && q->type_text &&
            json_object_set_new(item, "type", json_string(q->type_text))) {
            json_decref(item);
            item = NULL;
        }
        if (json_array_append_new(list, item)) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

static json_t *
alarm_actions_to_json(const struct alarm_actions *actions)
{
    json_t *list = json_array();

    for (size_t i = 0; list && i < actions->length; i++) {
        if (json_array_append_new(list, json_string(actions->urls[i]))) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

/* A JSON string of 'text', or null when 'text' is NULL. */
static json_t *
alarm_string_or_null(const char *text)
{
    return text ? json_string(text) : json_null();
}

static json_t *
alarm_time_to_json(int64_t ns)
{
    char buf[VTIME_ISO_SIZE];

    return ns ? json_string(vtime_format_iso(ns, buf, sizeof buf))
              : json_null();
}

json_t *
alarm_to_json(const struct alarm *alarm)
{
    return json_pack("{s:o, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:b, s:o, "
                     "s:o, s:o, s:[], s:{s:s, s:o}, s:o, s:o, s:o, s:o}",
                     "alarm_id", alarm_string_or_null(alarm->id[0] ?
                                                      alarm->id : NULL),
                     "name", alarm->name,
                     "description", alarm->description,
                     "type", "event",
                     "enabled", alarm->enabled,
                     "state", alarm_state_names[alarm->state],
                     "state_reason", alarm->state_reason,
                     "severity", alarm_severity_names[alarm->severity],
                     "repeat_actions", alarm->repeat_actions,
                     "alarm_actions",
                     alarm_actions_to_json(&alarm->actions[ALARM_STATE_ALARM]),
                     "ok_actions",
                     alarm_actions_to_json(&alarm->actions[ALARM_STATE_OK]),
                     "insufficient_data_actions",
                     alarm_actions_to_json(
                         &alarm->actions[ALARM_STATE_INSUFFICIENT_DATA]),
                     "time_constraints",
                     "event_rule", "event_type", alarm->event_type,
                     "query", alarm_queries_to_json(alarm),
                     "project_id", alarm_string_or_null(alarm->project_id),
                     "user_id", alarm_string_or_null(alarm->user_id),
                     "timestamp", alarm_time_to_json(alarm->timestamp_ns),
                     "state_timestamp",
                     alarm_time_to_json(alarm->state_timestamp_ns));
}

int
alarm_set_state_reason(struct alarm *alarm, const char *reason)
{
    char *copy = strdup(reason);

    if (!copy) {
        return -ENOMEM;
    }
    free(alarm->state_reason);
    alarm->state_reason = copy;
    return 0;
}

void
alarm_free(struct alarm *alarm)
{
    if (!alarm) {
        return;
    }
    free(alarm->name);
    free(alarm->description);
    free(alarm->project_id);
    free(alarm->user_id);
    free(alarm->state_reason);
    for (int s = 0; s < ALARM_STATE_COUNT; s++) {
        alarm_actions_clear(&alarm->actions[s]);
    }
    free(alarm->event_type);
    for (size_t i = 0; i < alarm->n_queries; i++) {
        alarm_query_clear(&alarm->queries[i]);
    }
    free(alarm->queries);
    free(alarm);
}
