/* heartbeat: host liveness between vigil-monitors.
 *
 * Both halves run on a thread of their own, at SCHED_FIFO
 * 'realtime_priority' when asked (as cluster heartbeat daemons do): a host
 * busy with other work must neither delay its heartbeats nor its
 * decisions about its peers. The Doctor events reach the caller's loop
 * through a handoff (bounded; an event that finds it full is logged and
 * dropped).
 *
 * Sender: every 'interval_us' (a CLOCK_MONOTONIC timerfd, so every slot is
 * accounted for: a slot the thread missed, e.g. while the process was
 * stopped, advances the sequence without a packet) one heartbeat_wire
 * packet goes to each destination (an observer's "host:port"): this
 * host's name, its incarnation (the wall clock when it started), the slot
 * number as sequence, and the HMAC with the shared key. At
 * heartbeat_free() it can send a LEAVING heartbeat, so that its observers
 * do not report a clean stop as a host fault.
 *
 * Observer: it receives on 'listen', authenticates each packet
 * (heartbeat_wire), refuses unknown senders, replays, old sequences and
 * older incarnations (each counted per reason, logged rate-limited: a
 * stray or forged packet changes nothing), and runs heartbeat_detect for
 * each configured peer. A one-shot timerfd is armed at the earliest time
 * at which a peer would be declared down if nothing more arrives; when it
 * fires, the socket is drained first (a heartbeat waiting there counts),
 * then every peer is checked. A peer that becomes DOWN is reported as
 * "compute.host.down", one that becomes UP again after being reported
 * down as "compute.host.up", T01 stamped at the decision.
 *
 * Events (besides hostevent's hostname = the PEER, status, monitor,
 * monitor_event_id): observer (this host), incarnation (16 hex digits),
 * last_seq, silent_ms; down adds missed, k, n, interval_us; up adds run,
 * down_ms and restarted (a new incarnation since it went down).
 *
 * Logs under the module tag "heartbeat". The functions below are called
 * from the thread of the loop given to heartbeat_new(); the internal
 * thread is theirs to start and stop. */
#ifndef VIGIL_HEARTBEAT_H
#define VIGIL_HEARTBEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heartbeat_detect.h"
#include "heartbeat_wire.h"
#include "hostevent.h"

struct event_base;
struct metrics_registry;

#define HEARTBEAT_MAX_DESTINATIONS 256
#define HEARTBEAT_MAX_PEERS 1024
/* Heartbeats read per wake-up at most, so that a flood cannot hold the
 * loop; the rest wait for the next round. */
#define HEARTBEAT_MAX_READ 1024

/* Why a received datagram was refused. The first values mirror enum
 * heartbeat_wire_error. */
enum heartbeat_reject {
    HEARTBEAT_REJECT_MALFORMED,       /* "malformed" */
    HEARTBEAT_REJECT_VERSION,         /* "version" */
    HEARTBEAT_REJECT_BAD_MAC,         /* "bad_mac" */
    HEARTBEAT_REJECT_UNKNOWN_SENDER,  /* "unknown_sender": valid MAC, not
                                       * a configured peer */
    HEARTBEAT_REJECT_REPLAYED,        /* "replayed" */
    HEARTBEAT_REJECT_TOO_OLD,         /* "too_old" */
    HEARTBEAT_REJECT_STALE,           /* "stale_incarnation" */
    HEARTBEAT_REJECT_COUNT
};

/* The metrics label of 'reason'; NULL when out of range. */
const char *heartbeat_reject_name(enum heartbeat_reject reason);

struct heartbeat_options {
    const char *hostname;            /* this host (heartbeat_wire rules) */
    const struct heartbeat_wire_key *key;   /* copied */
    uint32_t interval_us;            /* HEARTBEAT_WIRE_MIN..MAX_INTERVAL_US */
    int dscp;                        /* 0..63 on every heartbeat; -1: the
                                      * system default */
    int realtime_priority;           /* 1..99: the thread runs at
                                      * SCHED_FIFO with it (needs
                                      * CAP_SYS_NICE; logged if refused);
                                      * 0: normal scheduling */
    bool announce_leave;             /* send LEAVING at heartbeat_free() */
    /* Observers to send to, "host:port" (IPv6 as "[addr]:port"); names are
     * resolved once, at heartbeat_new(). None: not a sender. */
    const char *const *destinations;
    size_t destinations_length;      /* <= HEARTBEAT_MAX_DESTINATIONS */
    /* Where to receive, "host:port" (port 0: any); NULL: not an
     * observer. */
    const char *listen;
    const char *const *peers;        /* host names to observe */
    size_t peers_length;             /* <= HEARTBEAT_MAX_PEERS; >= 1 with
                                      * 'listen' */
    struct heartbeat_detect_params detect;
    /* Registers vigil_monitor_heartbeat* metrics; may be NULL. */
    struct metrics_registry *metrics;
};

/* Counters since creation (tests and diagnostics). */
struct heartbeat_stats {
    uint64_t sent;                   /* datagrams sent */
    uint64_t send_errors;            /* datagrams the kernel refused */
    uint64_t received;               /* heartbeats accepted */
    uint64_t rejected[HEARTBEAT_REJECT_COUNT];
    uint64_t missed;                 /* sequence gaps seen (heartbeats
                                      * that never came) */
    uint64_t restarts;               /* new incarnations of known peers */
    uint64_t downs;                  /* compute.host.down emitted */
    uint64_t ups;                    /* compute.host.up emitted */
};

struct heartbeat;

/* Opens the sockets and timers, starts the thread, which sends the first
 * heartbeat at once and keeps sending and observing from then on; events
 * go to 'emit(ev, arg)' on the loop of 'base'. NULL on failure with
 * '*error' (may be NULL) set: -EINVAL (bad options; names that do not
 * resolve), or the errno of a socket or thread call (e.g. -EADDRINUSE). */
struct heartbeat *heartbeat_new(struct event_base *base,
                                const struct heartbeat_options *options,
                                hostevent_fn *emit, void *arg, int *error);

/* Stops the thread, sends the LEAVING heartbeat (when configured), closes
 * everything and frees 'hb'. No event is emitted from here on; events not
 * yet delivered to the loop are logged and dropped. Accepts NULL. */
void heartbeat_free(struct heartbeat *hb);

/* The UDP port the observer is bound to (0: not an observer). */
uint16_t heartbeat_port(const struct heartbeat *hb);

/* This sender's incarnation number. */
uint64_t heartbeat_incarnation(const struct heartbeat *hb);

/* Fills 'stats' (a consistent snapshot). */
void heartbeat_get_stats(const struct heartbeat *hb,
                         struct heartbeat_stats *stats);

/* The state of observed peer 'name'. 0, or -ENOENT for a name that is not
 * a configured peer. */
int heartbeat_peer_state(const struct heartbeat *hb, const char *name,
                         enum heartbeat_detect_state *state);

#endif
