/* alarm: the notifier's subscription, an OpenStack Aodh "event" alarm.
 *
 * A struct alarm is what a VNFM creates with POST /v2/alarms: a name, an
 * event_rule (an event_type pattern plus a list of trait queries), the
 * actions (webhook URLs) to call when the alarm enters each state, and the
 * state itself. alarm_from_json() validates an Aodh alarm body and bounds
 * every field; alarm_to_json() writes the Aodh representation back, so a
 * body that Aodh clients, Heat's OS::Aodh::EventAlarm or OPNFV Doctor send
 * and read works unchanged. Matching an event against an alarm and the
 * state machine live in alarm_match.h; the store and its index in
 * alarm_store.h.
 *
 * Nothing here is thread-safe or shared: an alarm belongs to one owner. */
#ifndef VIGIL_ALARM_H
#define VIGIL_ALARM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vuuid.h"

/* Bounds on everything a client can send. */
#define ALARM_MAX_NAME_LENGTH 255          /* bytes, as Aodh's column */
#define ALARM_MAX_DESCRIPTION_LENGTH 1024
#define ALARM_MAX_ID_LENGTH 128            /* project_id, user_id */
#define ALARM_MAX_STATE_REASON_LENGTH 65536
#define ALARM_MAX_ACTIONS 16               /* per state */
#define ALARM_MAX_URL_LENGTH 2048
#define ALARM_MAX_EVENT_TYPE_LENGTH 255
#define ALARM_MAX_QUERIES 16
#define ALARM_MAX_FIELD_LENGTH 255         /* "traits.hostname" */
#define ALARM_MAX_VALUE_LENGTH 1024
#define ALARM_MAX_KEYS 32                  /* members of the body object */

/* Aodh's three states, in the order of its action lists. */
enum alarm_state {
    ALARM_STATE_OK,
    ALARM_STATE_ALARM,
    ALARM_STATE_INSUFFICIENT_DATA,
    ALARM_STATE_COUNT
};

enum alarm_severity {
    ALARM_SEVERITY_LOW,
    ALARM_SEVERITY_MODERATE,
    ALARM_SEVERITY_CRITICAL,
    ALARM_SEVERITY_COUNT
};

/* Comparison operators of a trait query (Aodh's operation_kind). */
enum alarm_op {
    ALARM_OP_EQ,
    ALARM_OP_NE,
    ALARM_OP_LT,
    ALARM_OP_LE,
    ALARM_OP_GT,
    ALARM_OP_GE,
    ALARM_OP_COUNT
};

/* The type a query converts its value to ("" means string). */
enum alarm_value_type {
    ALARM_VALUE_STRING,
    ALARM_VALUE_INTEGER,
    ALARM_VALUE_FLOAT,
    ALARM_VALUE_BOOLEAN,
    ALARM_VALUE_TYPE_COUNT
};

/* One condition of event_rule.query: "traits.<trait> <op> <value>". */
struct alarm_query {
    char *field;                 /* "traits.hostname" as given */
    const char *trait;           /* points into 'field' after "traits." */
    enum alarm_op op;
    enum alarm_value_type type;
    char *type_text;             /* the "type" as given; NULL when absent */
    char *value;                 /* the value as text, as Aodh keeps it */
    union {
        int64_t integer;
        double real;
        bool boolean;
    } converted;                 /* 'value' converted to 'type' */
};

/* A list of action URLs (http:// or https://), duplicates removed. */
struct alarm_actions {
    char **urls;
    size_t length;
};

struct alarm {
    char id[VUUID_STRING_SIZE];  /* "" until the API assigns one */
    char *name;
    char *description;
    char *project_id;            /* NULL when not given */
    char *user_id;               /* NULL when not given */
    bool enabled;
    enum alarm_state state;
    char *state_reason;          /* never NULL ("" by default) */
    enum alarm_severity severity;
    bool repeat_actions;
    struct alarm_actions actions[ALARM_STATE_COUNT];  /* by state */
    char *event_type;            /* fnmatch-style pattern, default "*" */
    struct alarm_query *queries;
    size_t n_queries;
    int64_t timestamp_ns;        /* epoch ns of the last definition change */
    int64_t state_timestamp_ns;  /* epoch ns of the last state change */
};

/* Text forms used by Aodh: "ok", "alarm", "insufficient data"; "low",
 * "moderate", "critical"; "eq", "ne", ...; "string", "integer", ... */
const char *alarm_state_to_string(enum alarm_state state);
const char *alarm_severity_to_string(enum alarm_severity severity);
const char *alarm_op_to_string(enum alarm_op op);
const char *alarm_value_type_to_string(enum alarm_value_type type);

/* Parse the text forms above; 0 or -EINVAL. */
int alarm_state_from_string(const char *text, enum alarm_state *state);
int alarm_severity_from_string(const char *text,
                               enum alarm_severity *severity);

/* Validates the Aodh alarm object 'obj' and builds an alarm from it, with
 * Aodh's defaults for what is absent (enabled true, state "insufficient
 * data", severity "low", repeat_actions false, empty action lists,
 * event_rule.event_type "*", query op "eq"). Only type "event" is accepted.
 * Read-only members that GET returns (alarm_id, project_id, user_id,
 * timestamp, state_timestamp) are checked and kept when present, so that a
 * fetched alarm can be sent back and a stored one reloaded; the API
 * overrides them as Aodh does. JSON null counts as absent.
 *
 * On success stores a new alarm (caller frees with alarm_free) in '*out' and
 * returns 0. Returns -EINVAL with a reason naming the field in 'err' (e.g.
 * "alarm_actions[2]: unsupported URL scheme, only http and https") for
 * malformed input, or -ENOMEM. */
int alarm_from_json(const json_t *obj, struct alarm **out, char *err,
                    size_t err_size);

/* The Aodh representation of 'alarm' (new reference), NULL on allocation
 * failure. */
json_t *alarm_to_json(const struct alarm *alarm);

/* The event_rule.query list as Aodh stores it (new reference), as used in
 * the reason of a notification. NULL on allocation failure. */
json_t *alarm_queries_to_json(const struct alarm *alarm);

/* Replaces 'alarm->state_reason' with a copy of 'reason'. 0 or -ENOMEM
 * (the old reason stays). */
int alarm_set_state_reason(struct alarm *alarm, const char *reason);

/* Frees 'alarm' and everything it owns. Accepts NULL. */
void alarm_free(struct alarm *alarm);

#endif
