/* alarm_match: does an event hit an alarm, and what happens when it does.
 *
 * These are Aodh's event-alarm evaluation rules (aodh/evaluator/event.py)
 * on one alarm at a time: event_type patterns with fnmatch wildcards, trait
 * queries compared after converting the query value to its declared type,
 * and the state machine. alarm_store.h uses them to find the alarms an event
 * hits without scanning every alarm; the evaluator applies the transitions
 * and hands notifications to the delivery sinks.
 *
 * Vigil's recovery extension: an event whose type ends in ".up" also counts
 * as the recovery of the matching ".down" type. An alarm that the event
 * does not hit directly, but whose event_type pattern matches that ".down"
 * type (and whose queries match the event's traits), goes from "alarm" to
 * "ok" and fires its ok_actions. Alarms the event hits directly are
 * evaluated exactly as Aodh would, so the extension only adds behaviour.
 *
 * Everything here is pure or touches only the alarm it is given. */
#ifndef VIGIL_ALARM_MATCH_H
#define VIGIL_ALARM_MATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alarm.h"

/* How an event relates to an alarm. */
enum alarm_match_kind {
    ALARM_MATCH_EVENT,     /* the event matches event_type and the query */
    ALARM_MATCH_RECOVERY,  /* a ".up" event whose ".down" type matches */
    ALARM_MATCH_KIND_COUNT
};

/* What applying a matching event does to an alarm. */
struct alarm_transition {
    enum alarm_state previous;
    enum alarm_state current;
    bool notify;           /* fire the actions of 'current' */
};

/* True when 'event_type' (an alarm's pattern) has wildcards ('*', '?' or
 * '['), false when it names exactly one type. */
bool alarm_match_is_pattern(const char *event_type);

/* True when 'event_type' matches the fnmatch-style 'pattern', as Python's
 * fnmatch.fnmatch does (case-sensitive, '\' is an ordinary character). */
bool alarm_match_event_type(const char *pattern, const char *event_type);

/* For a recovery type "<prefix>.up" writes "<prefix>.down" to 'buf' (of
 * 'size' bytes) and returns 0; -EINVAL when 'event_type' does not end in
 * ".up", -ENAMETOOLONG when 'buf' is too small. */
int alarm_match_recovery_type(const char *event_type, char *buf, size_t size);

/* True when the trait that 'query' names, looked up in 'traits' (a JSON
 * object of string, integer, real and boolean values, e.g. a Doctor event's
 * details), satisfies the query. As in Aodh (Python comparisons): numbers
 * and booleans compare by value with each other, strings with strings; a
 * missing trait or one of the other kind satisfies only "ne". */
bool alarm_match_query(const struct alarm_query *query, const json_t *traits);

/* True when every query of 'alarm' is satisfied (AND); an empty query list
 * is. */
bool alarm_match_queries(const struct alarm *alarm, const json_t *traits);

/* What an event that hits 'alarm' as 'kind' does, without changing it:
 * ALARM_MATCH_EVENT moves to "alarm" and notifies when the state changes or
 * repeat_actions is set; ALARM_MATCH_RECOVERY moves from "alarm" to "ok"
 * and notifies, and with repeat_actions moves to "ok" and notifies from any
 * state; otherwise nothing happens (notify false, state unchanged). */
void alarm_match_transition(const struct alarm *alarm,
                            enum alarm_match_kind kind,
                            struct alarm_transition *transition);

/* Applies 'transition' (from alarm_match_transition) to 'alarm': the new
 * state, state_reason = 'reason', and state_timestamp = 'now_ns' (epoch ns)
 * when the state changes. 0, or -ENOMEM with 'alarm' unchanged. */
int alarm_match_commit(struct alarm *alarm,
                       const struct alarm_transition *transition,
                       const char *reason, int64_t now_ns);

/* Aodh's reason text, "Event <id=ID,event_type=TYPE> hits the query
 * <query=[...]>.", with the query list as sorted-key JSON, cut to
 * ALARM_MAX_STATE_REASON_LENGTH bytes. Returns a string the caller frees,
 * or NULL on allocation failure. */
char *alarm_match_reason(const struct alarm *alarm, const char *event_id,
                         const char *event_type);

#endif
