/* heartbeat_detect: when an observer declares a peer down or up, from the
 * arrival times of the peer's heartbeats. Pure: no clock, no socket, no
 * allocation; heartbeat.c feeds it packets and times, and the unit tests
 * feed it arrival schedules.
 *
 * Model. A sender numbers its heartbeats by time slot: heartbeat 'seq' is
 * sent at start + seq * interval, and a slot the sender missed (it was
 * stopped, starved) is skipped, not sent late. The observer expects
 * heartbeat last_seq + j at last_ns + j * interval, where last_seq is the
 * highest sequence received and last_ns its arrival; once that time plus
 * 'grace' has passed, the heartbeat is overdue and counts as missing. A
 * heartbeat that arrives late but within the window still counts as
 * received from then on. The observer looks at the last 'n' expected
 * heartbeats (those up to the newest overdue one) and declares the peer
 * DOWN when 'k' of them are missing; n = k means k consecutive. A peer
 * that is not UP becomes UP after 'up_run' consecutive heartbeats (by
 * sequence, so by time slot); from then on, misses before that run no
 * longer count.
 *
 * Incarnations. Each sender start has an incarnation number that grows
 * (its start time). A heartbeat of a larger incarnation resets the window
 * (nothing before it was expected); one of a smaller incarnation is
 * refused (STALE). Within an incarnation, a sequence already received is
 * REPLAYED and one older than the 64-heartbeat window TOO_OLD: neither
 * changes anything. A LEAVING heartbeat (the sender stops cleanly) puts the
 * peer in LEFT: nothing is expected of it until it runs again.
 *
 * Not thread-safe per peer; no shared state. */
#ifndef VIGIL_HEARTBEAT_DETECT_H
#define VIGIL_HEARTBEAT_DETECT_H

#include <stdbool.h>
#include <stdint.h>

/* Largest n and up_run: the window is a 64-bit map. */
#define HEARTBEAT_DETECT_MAX_WINDOW 64

struct heartbeat_detect_params {
    int64_t grace_ns;          /* how late an expected heartbeat may be
                                * before it counts as missing, >= 0 */
    unsigned int k;            /* missing heartbeats (of the last n) that
                                * make a peer DOWN, 1..n */
    unsigned int n;            /* window, 1..HEARTBEAT_DETECT_MAX_WINDOW */
    unsigned int up_run;       /* consecutive heartbeats that make a peer
                                * UP, 1..HEARTBEAT_DETECT_MAX_WINDOW */
};

enum heartbeat_detect_state {
    HEARTBEAT_DETECT_UNKNOWN,  /* not heard yet, or not a steady run yet */
    HEARTBEAT_DETECT_UP,
    HEARTBEAT_DETECT_DOWN,
    HEARTBEAT_DETECT_LEFT,     /* said it stops; nothing expected */
    HEARTBEAT_DETECT_STATE_COUNT
};

/* What an arriving heartbeat is. */
enum heartbeat_detect_verdict {
    HEARTBEAT_DETECT_ACCEPTED,        /* a fresh heartbeat */
    HEARTBEAT_DETECT_NEW_INCARNATION, /* the first of an incarnation */
    HEARTBEAT_DETECT_REPLAYED,        /* its sequence was received */
    HEARTBEAT_DETECT_TOO_OLD,         /* older than the window */
    HEARTBEAT_DETECT_STALE,           /* of an older incarnation */
    HEARTBEAT_DETECT_VERDICT_COUNT
};

/* What the observer knows of one peer. Zeroed = UNKNOWN, never heard. */
struct heartbeat_detect_peer {
    enum heartbeat_detect_state state;
    bool heard;                /* an incarnation is known */
    uint64_t incarnation;
    uint64_t first_seq;        /* first sequence of this incarnation */
    uint64_t last_seq;         /* highest sequence received */
    int64_t last_ns;           /* when it arrived (observer's clock) */
    uint64_t received;         /* bit i: sequence last_seq - i received
                                * (or not expected) */
    int64_t interval_ns;       /* the sender's interval */
    int64_t since_ns;          /* when 'state' was entered */
};

/* A heartbeat as heartbeat_detect sees it. */
struct heartbeat_detect_beat {
    uint64_t incarnation;
    uint64_t seq;
    int64_t interval_ns;       /* > 0 */
    bool leaving;
};

/* The peer's state before and after a call ('from' == 'to': no change),
 * with the figures at that moment. */
struct heartbeat_detect_change {
    enum heartbeat_detect_state from;
    enum heartbeat_detect_state to;
    unsigned int missing;      /* missing among the last n expected */
    unsigned int run;          /* consecutive heartbeats up to the last */
    int64_t silent_ns;         /* since the last heartbeat arrived */
    bool restarted;            /* a new incarnation of a peer heard before */
    uint64_t gap;              /* sequences skipped by this heartbeat */
};

/* "unknown", "up", "down", "left"; NULL when out of range. */
const char *heartbeat_detect_state_name(enum heartbeat_detect_state state);

/* "accepted", "new_incarnation", "replayed", "too_old", "stale"; NULL when
 * out of range. */
const char *heartbeat_detect_verdict_name(
    enum heartbeat_detect_verdict verdict);

/* True when 'params' are within the bounds above. */
bool heartbeat_detect_params_valid(const struct heartbeat_detect_params *p);

/* Applies a heartbeat that arrived at 'now_ns' (the observer's
 * CLOCK_MONOTONIC) to 'peer' and returns its verdict. Only ACCEPTED and
 * NEW_INCARNATION change 'peer'. '*change' is always filled: the peer may
 * become UP (a steady run) or LEFT (a LEAVING heartbeat). */
enum heartbeat_detect_verdict heartbeat_detect_receive(
    struct heartbeat_detect_peer *peer,
    const struct heartbeat_detect_params *params,
    const struct heartbeat_detect_beat *beat, int64_t now_ns,
    struct heartbeat_detect_change *change);

/* Checks an UP peer at 'now_ns': when k of its last n expected heartbeats
 * are missing it becomes DOWN. Returns true (and '*change' says so) when
 * the state changed; '*change' is always filled. */
bool heartbeat_detect_evaluate(struct heartbeat_detect_peer *peer,
                               const struct heartbeat_detect_params *params,
                               int64_t now_ns,
                               struct heartbeat_detect_change *change);

/* Heartbeats missing among the last n expected at 'now_ns' (0..n); n for a
 * peer never heard. */
unsigned int heartbeat_detect_missing(
    const struct heartbeat_detect_peer *peer,
    const struct heartbeat_detect_params *params, int64_t now_ns);

/* Consecutive heartbeats received up to the last one (0 never heard). */
unsigned int heartbeat_detect_run(const struct heartbeat_detect_peer *peer);

/* When an UP peer will be declared DOWN if no heartbeat arrives from now
 * on: the first time at which heartbeat_detect_evaluate() makes it DOWN.
 * INT64_MAX for a peer that is not UP. */
int64_t heartbeat_detect_down_at(const struct heartbeat_detect_peer *peer,
                                 const struct heartbeat_detect_params *params);

#endif
