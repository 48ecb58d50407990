/* heartbeat_detect: k-of-n down detection and steady-run up detection (see
 * heartbeat_detect.h). */
#include "heartbeat_detect.h"

#include <stddef.h>
#include <string.h>

static const char *const heartbeat_detect_state_names[] = {
    [HEARTBEAT_DETECT_UNKNOWN] = "unknown",
    [HEARTBEAT_DETECT_UP] = "up",
    [HEARTBEAT_DETECT_DOWN] = "down",
    [HEARTBEAT_DETECT_LEFT] = "left",
};

static const char *const heartbeat_detect_verdict_names[] = {
    [HEARTBEAT_DETECT_ACCEPTED] = "accepted",
    [HEARTBEAT_DETECT_NEW_INCARNATION] = "new_incarnation",
    [HEARTBEAT_DETECT_REPLAYED] = "replayed",
    [HEARTBEAT_DETECT_TOO_OLD] = "too_old",
    [HEARTBEAT_DETECT_STALE] = "stale",
};

const char *
heartbeat_detect_state_name(enum heartbeat_detect_state state)
{
    return (unsigned) state < HEARTBEAT_DETECT_STATE_COUNT
           ? heartbeat_detect_state_names[state] : NULL;
}

const char *
heartbeat_detect_verdict_name(enum heartbeat_detect_verdict verdict)
{
    return (unsigned) verdict < HEARTBEAT_DETECT_VERDICT_COUNT
           ? heartbeat_detect_verdict_names[verdict] : NULL;
}

bool
heartbeat_detect_params_valid(const struct heartbeat_detect_params *p)
{
    return p && p->grace_ns >= 0 && p->n >= 1 &&
           p->n <= HEARTBEAT_DETECT_MAX_WINDOW && p->k >= 1 && p->k <= p->n &&
           p->up_run >= 1 && p->up_run <= HEARTBEAT_DETECT_MAX_WINDOW;
}

/* The low 'width' bits set (width 0..64). */
static uint64_t
heartbeat_detect_mask(unsigned int width)
{
    return width >= 64 ? UINT64_MAX : (UINT64_C(1) << width) - 1;
}

/* Expected heartbeats after last_seq that are overdue at 'now_ns'. */
static uint64_t
heartbeat_detect_overdue(const struct heartbeat_detect_peer *peer,
                         const struct heartbeat_detect_params *params,
                         int64_t now_ns)
{
    int64_t late = now_ns - peer->last_ns - params->grace_ns;

    if (late < peer->interval_ns || peer->interval_ns <= 0) {
        return 0;
    }
    return (uint64_t) (late / peer->interval_ns);
}

/* Missing heartbeats among the last n expected when 'overdue' of them are
 * overdue: those plus the gaps in the rest of the window. */
static unsigned int
heartbeat_detect_missing_with(const struct heartbeat_detect_peer *peer,
                              const struct heartbeat_detect_params *params,
                              uint64_t overdue)
{
    unsigned int width;

    if (overdue >= params->n) {
        return params->n;
    }
    width = params->n - (unsigned int) overdue;
    return (unsigned int) overdue + width -
           (unsigned int) __builtin_popcountll(peer->received &
                                               heartbeat_detect_mask(width));
}

unsigned int
heartbeat_detect_missing(const struct heartbeat_detect_peer *peer,
                         const struct heartbeat_detect_params *params,
                         int64_t now_ns)
{
    if (!peer->heard) {
        return params->n;
    }
    return heartbeat_detect_missing_with(
        peer, params, heartbeat_detect_overdue(peer, params, now_ns));
}

unsigned int
heartbeat_detect_run(const struct heartbeat_detect_peer *peer)
{
    unsigned int run;
    uint64_t span;

    if (!peer->heard) {
        return 0;
    }
    run = peer->received == UINT64_MAX
          ? 64 : (unsigned int) __builtin_ctzll(~peer->received);
    span = peer->last_seq - peer->first_seq + 1;
    if (span < run) {
        run = (unsigned int) span;
    }
    return run;
}

int64_t
heartbeat_detect_down_at(const struct heartbeat_detect_peer *peer,
                         const struct heartbeat_detect_params *params)
{
    unsigned int overdue;

    if (peer->state != HEARTBEAT_DETECT_UP || !peer->heard) {
        return INT64_MAX;
    }
    /* missing(overdue) does not decrease as 'overdue' grows (each step
     * adds one overdue heartbeat and drops one from the window) and
     * reaches n >= k at overdue = n. */
    for (overdue = 0; overdue < params->n; overdue++) {
        if (heartbeat_detect_missing_with(peer, params, overdue) >=
            params->k) {
            break;
        }
    }
    if (overdue == 0) {
        return peer->last_ns;
    }
    return peer->last_ns + params->grace_ns +
           (int64_t) overdue * peer->interval_ns;
}

static void
heartbeat_detect_enter(struct heartbeat_detect_peer *peer,
                       enum heartbeat_detect_state state, int64_t now_ns)
{
    if (peer->state != state) {
        peer->state = state;
        peer->since_ns = now_ns;
    }
}

static void
heartbeat_detect_fill(const struct heartbeat_detect_peer *peer,
                      const struct heartbeat_detect_params *params,
                      int64_t now_ns, struct heartbeat_detect_change *change)
{
    change->to = peer->state;
    change->missing = heartbeat_detect_missing(peer, params, now_ns);
    change->run = heartbeat_detect_run(peer);
    change->silent_ns = peer->heard ? now_ns - peer->last_ns : 0;
}

/* Applies a fresh heartbeat to the state. */
static void
heartbeat_detect_transition(struct heartbeat_detect_peer *peer,
                            const struct heartbeat_detect_params *params,
                            bool leaving, int64_t now_ns)
{
    unsigned int run;

    if (leaving) {
        heartbeat_detect_enter(peer, HEARTBEAT_DETECT_LEFT, now_ns);
        return;
    }
    if (peer->state == HEARTBEAT_DETECT_UP) {
        /* Only k-of-n with n > k can get here: gaps in the sequence. */
        if (heartbeat_detect_missing(peer, params, now_ns) >= params->k) {
            heartbeat_detect_enter(peer, HEARTBEAT_DETECT_DOWN, now_ns);
        }
        return;
    }
    run = heartbeat_detect_run(peer);
    if (run >= params->up_run) {
        /* The window starts afresh with the run. */
        peer->received |= ~heartbeat_detect_mask(run);
        heartbeat_detect_enter(peer, HEARTBEAT_DETECT_UP, now_ns);
    }
}

enum heartbeat_detect_verdict
heartbeat_detect_receive(struct heartbeat_detect_peer *peer,
                         const struct heartbeat_detect_params *params,
                         const struct heartbeat_detect_beat *beat,
                         int64_t now_ns,
                         struct heartbeat_detect_change *change)
{
    enum heartbeat_detect_verdict verdict;
    unsigned int run;

    memset(change, 0, sizeof *change);
    change->from = peer->state;
    if (!peer->heard || beat->incarnation > peer->incarnation) {
        change->restarted = peer->heard;
        peer->heard = true;
        peer->incarnation = beat->incarnation;
        peer->first_seq = beat->seq;
        peer->last_seq = beat->seq;
        peer->last_ns = now_ns;
        /* Nothing before the first heartbeat was expected. */
        peer->received = UINT64_MAX;
        verdict = HEARTBEAT_DETECT_NEW_INCARNATION;
    } else if (beat->incarnation < peer->incarnation) {
        verdict = HEARTBEAT_DETECT_STALE;
    } else if (beat->seq > peer->last_seq) {
        uint64_t shift = beat->seq - peer->last_seq;

        change->gap = shift - 1;
        peer->received = shift >= 64 ? 1 : (peer->received << shift) | 1;
        peer->last_seq = beat->seq;
        peer->last_ns = now_ns;
        verdict = HEARTBEAT_DETECT_ACCEPTED;
    } else {
        uint64_t age = peer->last_seq - beat->seq;

        if (age >= 64) {
            verdict = HEARTBEAT_DETECT_TOO_OLD;
        } else if (peer->received & (UINT64_C(1) << age)) {
            verdict = HEARTBEAT_DETECT_REPLAYED;
        } else {
            /* Late, but within the window: it counts from now on. */
            peer->received |= UINT64_C(1) << age;
            verdict = HEARTBEAT_DETECT_ACCEPTED;
        }
    }
    run = heartbeat_detect_run(peer);
    if (verdict == HEARTBEAT_DETECT_ACCEPTED ||
        verdict == HEARTBEAT_DETECT_NEW_INCARNATION) {
        if (beat->interval_ns > 0) {
            peer->interval_ns = beat->interval_ns;
        }
        heartbeat_detect_transition(peer, params, beat->leaving, now_ns);
    }
    heartbeat_detect_fill(peer, params, now_ns, change);
    /* The run that counted, before a recovery wiped the window's past. */
    change->run = run;
    return verdict;
}

bool
heartbeat_detect_evaluate(struct heartbeat_detect_peer *peer,
                          const struct heartbeat_detect_params *params,
                          int64_t now_ns,
                          struct heartbeat_detect_change *change)
{
    memset(change, 0, sizeof *change);
    change->from = peer->state;
    if (peer->state == HEARTBEAT_DETECT_UP && peer->heard &&
        heartbeat_detect_missing(peer, params, now_ns) >= params->k) {
        heartbeat_detect_enter(peer, HEARTBEAT_DETECT_DOWN, now_ns);
    }
    heartbeat_detect_fill(peer, params, now_ns, change);
    return change->to != change->from;
}
