/* alarm_match: Aodh event-alarm matching and state machine (see
 * alarm_match.h). */
#include "alarm_match.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
alarm_match_is_pattern(const char *event_type)
{
    return strpbrk(event_type, "*?[") != NULL;
}

/* Matches character 'c' against the class at 'p' (just after its '[').
 * Returns the pattern after the closing ']' with '*matched' set, or NULL
 * when the class is not closed (the '[' is then an ordinary character), as
 * Python's fnmatch.translate() reads classes: a leading '!' negates, a ']'
 * first in the class is literal, "a-z" is a range. */
static const char *
alarm_match_class(const char *p, char c, bool *matched)
{
    bool negate = *p == '!', found = false;

    if (negate) {
        p++;
    }
    for (bool first = true; *p && (*p != ']' || first); first = false) {
        if (p[1] == '-' && p[2] && p[2] != ']') {
            found |= (unsigned char) c >= (unsigned char) p[0] &&
                     (unsigned char) c <= (unsigned char) p[2];
            p += 3;
        } else {
            found |= c == *p;
            p++;
        }
    }
    if (*p != ']') {
        return NULL;
    }
    *matched = found != negate;
    return p + 1;
}

/* Glob matching with one back-tracking point (the last '*'), so the time
 * is bounded by strlen(pattern) * strlen(text) whatever the pattern: a
 * pattern from the API must not be able to stall the event path, which
 * fnmatch(3)'s recursion allows. Works on bytes. */
bool
alarm_match_event_type(const char *pattern, const char *event_type)
{
    const char *p = pattern, *s = event_type;
    const char *star_p = NULL, *star_s = NULL;

    while (*s) {
        const char *next = NULL;
        bool ok = false;

        if (*p == '*') {
            star_p = ++p;
            star_s = s;
            continue;
        }
        if (*p == '?') {
            ok = true;
            next = p + 1;
        } else if (*p == '[') {
            next = alarm_match_class(p + 1, *s, &ok);
            if (!next) {
                ok = *s == '[';
                next = p + 1;
            }
        } else if (*p) {
            ok = *p == *s;
            next = p + 1;
        }
        if (ok) {
            p = next;
            s++;
        } else if (star_p) {
            p = star_p;
            s = ++star_s;
        } else {
            return false;
        }
    }
    while (*p == '*') {
        p++;
    }
    return *p == '\0';
}

int
alarm_match_recovery_type(const char *event_type, char *buf, size_t size)
{
    size_t length = strlen(event_type);

    if (length < 4 || strcmp(event_type + length - 3, ".up")) {
        return -EINVAL;
    }
    if (length - 3 + sizeof ".down" > size) {
        return -ENAMETOOLONG;
    }
    memcpy(buf, event_type, length - 3);
    memcpy(buf + length - 3, ".down", sizeof ".down");
    return 0;
}

/* Result of comparing a trait with a query value. */
enum alarm_cmp {
    ALARM_CMP_LESS,
    ALARM_CMP_EQUAL,
    ALARM_CMP_GREATER,
    ALARM_CMP_UNORDERED,     /* NaN: only "ne" holds */
    ALARM_CMP_INCOMPARABLE,  /* missing, or string against number */
};

static enum alarm_cmp
alarm_cmp_sign(int c)
{
    return c < 0 ? ALARM_CMP_LESS : c > 0 ? ALARM_CMP_GREATER
                                          : ALARM_CMP_EQUAL;
}

static enum alarm_cmp
alarm_cmp_real(double a, double b)
{
    if (isnan(a) || isnan(b)) {
        return ALARM_CMP_UNORDERED;
    }
    return a < b ? ALARM_CMP_LESS : a > b ? ALARM_CMP_GREATER
                                          : ALARM_CMP_EQUAL;
}

/* Compares trait 'v' with the converted value of 'q'. */
static enum alarm_cmp
alarm_compare(const json_t *v, const struct alarm_query *q)
{
    bool trait_integral, query_integral;
    int64_t trait_int = 0, query_int = 0;
    double trait_real = 0, query_real = 0;

    if (!v) {
        return ALARM_CMP_INCOMPARABLE;
    }
    if (q->type == ALARM_VALUE_STRING) {
        if (!json_is_string(v)) {
            return ALARM_CMP_INCOMPARABLE;
        }
        return alarm_cmp_sign(strcmp(json_string_value(v), q->value));
    }
    if (json_is_integer(v)) {
        trait_integral = true;
        trait_int = json_integer_value(v);
    } else if (json_is_boolean(v)) {
        trait_integral = true;
        trait_int = json_is_true(v);
    } else if (json_is_real(v)) {
        trait_integral = false;
        trait_real = json_real_value(v);
    } else {
        return ALARM_CMP_INCOMPARABLE;
    }
    switch (q->type) {
    case ALARM_VALUE_INTEGER:
        query_integral = true;
        query_int = q->converted.integer;
        break;
    case ALARM_VALUE_BOOLEAN:
        query_integral = true;
        query_int = q->converted.boolean;
        break;
    case ALARM_VALUE_FLOAT:
    case ALARM_VALUE_STRING:
    case ALARM_VALUE_TYPE_COUNT:
    default:
        query_integral = false;
        query_real = q->converted.real;
        break;
    }
    if (trait_integral && query_integral) {
        return trait_int < query_int ? ALARM_CMP_LESS
               : trait_int > query_int ? ALARM_CMP_GREATER : ALARM_CMP_EQUAL;
    }
    return alarm_cmp_real(trait_integral ? (double) trait_int : trait_real,
                          query_integral ? (double) query_int : query_real);
}

bool
alarm_match_query(const struct alarm_query *query, const json_t *traits)
{
    enum alarm_cmp c = alarm_compare(json_object_get(traits, query->trait),
                                     query);

    if (c == ALARM_CMP_INCOMPARABLE || c == ALARM_CMP_UNORDERED) {
        return query->op == ALARM_OP_NE;
    }
    switch (query->op) {
    case ALARM_OP_EQ:
        return c == ALARM_CMP_EQUAL;
    case ALARM_OP_NE:
        return c != ALARM_CMP_EQUAL;
    case ALARM_OP_LT:
        return c == ALARM_CMP_LESS;
    case ALARM_OP_LE:
        return c != ALARM_CMP_GREATER;
    case ALARM_OP_GT:
        return c == ALARM_CMP_GREATER;
    case ALARM_OP_GE:
        return c != ALARM_CMP_LESS;
    case ALARM_OP_COUNT:
    default:
        return false;
    }
}

bool
alarm_match_queries(const struct alarm *alarm, const json_t *traits)
{
    for (size_t i = 0; i < alarm->n_queries; i++) {
        if (!alarm_match_query(&alarm->queries[i], traits)) {
            return false;
        }
    }
    return true;
}

void
alarm_match_transition(const struct alarm *alarm, enum alarm_match_kind kind,
                       struct alarm_transition *transition)
{
    enum alarm_state target = kind == ALARM_MATCH_RECOVERY ? ALARM_STATE_OK
                                                           : ALARM_STATE_ALARM;
    bool changes;

    if (kind == ALARM_MATCH_RECOVERY) {
        changes = alarm->state == ALARM_STATE_ALARM;
    } else {
        changes = alarm->state != ALARM_STATE_ALARM;
    }
    transition->previous = alarm->state;
    transition->notify = changes || alarm->repeat_actions;
    transition->current = transition->notify ? target : alarm->state;
}

int
alarm_match_commit(struct alarm *alarm,
                   const struct alarm_transition *transition,
                   const char *reason, int64_t now_ns)
{
    int ret = alarm_set_state_reason(alarm, reason);

    if (ret) {
        return ret;
    }
    if (alarm->state != transition->current) {
        alarm->state_timestamp_ns = now_ns;
    }
    alarm->state = transition->current;
    return 0;
}

/* Python writes \u escapes with lower-case hex digits, jansson with upper. */
static void
alarm_match_lower_escapes(char *json)
{
    for (char *p = json; *p; p++) {
        if (p[0] != '\\' || !p[1]) {
            continue;
        }
        if (p[1] == 'u') {
            for (int i = 2; i < 6 && p[i]; i++) {
                p[i] = (char) tolower((unsigned char) p[i]);
            }
        }
        p++;
    }
}

char *
alarm_match_reason(const struct alarm *alarm, const char *event_id,
                   const char *event_type)
{
    json_t *queries = alarm_queries_to_json(alarm);
    char *query_text = NULL, *reason = NULL;

    if (!queries) {
        goto out;
    }
    query_text = json_dumps(queries, JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    if (!query_text) {
        goto out;
    }
    alarm_match_lower_escapes(query_text);
    if (asprintf(&reason, "Event <id=%s,event_type=%s> hits the query "
                 "<query=%s>.", event_id, event_type, query_text) < 0) {
        reason = NULL;
        goto out;
    }
    if (strlen(reason) > ALARM_MAX_STATE_REASON_LENGTH) {
        size_t cut = ALARM_MAX_STATE_REASON_LENGTH;

        /* Never split a UTF-8 sequence. */
        while (cut > 0 && ((unsigned char) reason[cut] & 0xc0) == 0x80) {
            cut--;
        }
        reason[cut] = '\0';
    }
out:
    free(query_text);
    json_decref(queries);
    return reason;
}
