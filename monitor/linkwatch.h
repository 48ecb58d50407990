/* linkwatch: the link state of configured network interfaces, from
 * rtnetlink link events, on the libevent loop (no polling).
 *
 * A NETLINK_ROUTE socket subscribed to RTMGRP_LINK sits in the loop. At
 * start, a RTM_GETLINK dump reads every link; from then on the kernel's
 * RTM_NEWLINK / RTM_DELLINK messages say what changed. A link counts as up
 * when it is administratively up (IFF_UP) and operationally running
 * (IFF_RUNNING: operstate UP, or UNKNOWN for drivers without carrier
 * reporting); a link that is down, has lost its carrier, or is gone
 * (deleted, renamed away) is down. When the kernel had to drop messages
 * (ENOBUFS: the socket overflowed) the links are dumped again and any
 * change found is reported.
 *
 * Events: "compute.host.nic.down" when a configured interface goes from
 * up to down, "compute.host.nic.up" when it comes back, with hostname =
 * this host and details interface, operstate (UNKNOWN, NOTPRESENT, DOWN,
 * LOWERLAYERDOWN, TESTING, DORMANT, UP), carrier (bool), admin_up (bool),
 * ifindex (absent when the interface is gone) and netlink_event (NEWLINK,
 * DELLINK, or DUMP for what a dump found). An interface found down or
 * missing by the first dump is reported down at once (with "initial":
 * true): nobody else would report it.
 *
 * Logs under the module tag "link". Single-threaded: use it on the loop it
 * was made with. */
#ifndef VIGIL_LINKWATCH_H
#define VIGIL_LINKWATCH_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostevent.h"

struct event_base;
struct metrics_registry;

#define LINKWATCH_MAX_INTERFACES 64

struct linkwatch_options {
    const char *hostname;            /* this host, in events */
    const char *const *interfaces;   /* names to watch */
    size_t interfaces_length;        /* 1..LINKWATCH_MAX_INTERFACES */
    /* Registers vigil_monitor_nic_* metrics; may be NULL. */
    struct metrics_registry *metrics;
};

/* What is known of one watched interface. */
struct linkwatch_link {
    bool known;                      /* read at least once */
    bool present;                    /* exists now */
    bool up;                         /* admin_up && running */
    bool admin_up;                   /* IFF_UP */
    bool carrier;                    /* IFLA_CARRIER (or IFF_LOWER_UP) */
    uint8_t operstate;               /* IF_OPER_* (RFC 2863) */
    int ifindex;                     /* 0 when not present */
};

struct linkwatch_stats {
    uint64_t messages;               /* link messages read */
    uint64_t dumps;                  /* dumps completed (the first
                                      * included) */
    uint64_t overflows;              /* ENOBUFS from the kernel */
    uint64_t downs, ups;             /* events emitted */
};

struct linkwatch;

/* True when 'name' can be a watched interface: 1..IFNAMSIZ-1 printable
 * bytes, none of them blank, '/', '"' or '\\'. */
bool linkwatch_name_valid(const char *name);

/* "UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT",
 * "UP"; NULL for another value. */
const char *linkwatch_operstate_name(unsigned int operstate);

/* Opens the netlink socket on the loop of 'base' and asks for the first
 * dump; events go to 'emit(ev, arg)' on the loop. NULL on failure with
 * '*error' (may be NULL) set: -EINVAL for bad options, or the errno of a
 * socket call. */
struct linkwatch *linkwatch_new(struct event_base *base,
                                const struct linkwatch_options *options,
                                hostevent_fn *emit, void *arg, int *error);

/* Closes the socket and frees 'lw'. Accepts NULL. */
void linkwatch_free(struct linkwatch *lw);

/* Copies what is known of watched interface 'name' into '*link'. 0, or
 * -ENOENT when 'name' is not watched. */
int linkwatch_get_link(const struct linkwatch *lw, const char *name,
                       struct linkwatch_link *link);

/* Fills 'stats'. */
void linkwatch_get_stats(const struct linkwatch *lw,
                         struct linkwatch_stats *stats);

#endif
