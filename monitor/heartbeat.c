/* heartbeat: UDP heartbeat sender and observer on a thread of their own
 * (see heartbeat.h). The wire format is heartbeat_wire's, the decisions
 * are heartbeat_detect's; this file owns the sockets, the thread, its two
 * timerfds, the peer table, the counters, the logs and the Doctor events,
 * which reach the caller's loop through a handoff. */
#include "heartbeat.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "daemon.h"
#include "doctor_event.h"
#include "handoff.h"
#include "metrics.h"
#include "vlog.h"
#include "vtime.h"

#define HEARTBEAT_MODULE "heartbeat"
#define HEARTBEAT_BATCH 32
#define HEARTBEAT_RCVBUF_SIZE (1024 * 1024)
/* After this long, peers never heard from are logged once. */
#define HEARTBEAT_SILENT_CHECK_S 10
/* LEAVING heartbeats sent at shutdown (one may be lost). */
#define HEARTBEAT_LEAVE_COUNT 3
/* Events waiting for the loop at most (a flapping peer cannot fill
 * memory). */
#define HEARTBEAT_HANDOFF_SIZE 1024
#define HEARTBEAT_ADDRESS_SIZE 300

struct heartbeat_destination {
    struct sockaddr_storage addr;
    socklen_t addr_size;
    int fd;                          /* borrowed: a socket of 'hb' */
    char label[HEARTBEAT_ADDRESS_SIZE];
};

struct heartbeat_peer {
    char name[HEARTBEAT_WIRE_HOSTNAME_SIZE];
    struct heartbeat_detect_peer detect;
    bool alarmed;                    /* down reported, up not yet */
    int64_t down_ns;                 /* when it was reported down */
    uint64_t down_incarnation;       /* its incarnation then */
    struct metrics_gauge *m_state;
};

struct heartbeat {
    struct event_base *base;
    char hostname[HEARTBEAT_WIRE_HOSTNAME_SIZE];
    struct heartbeat_wire_key key;
    uint32_t interval_us;
    bool announce_leave;
    struct heartbeat_detect_params detect;
    hostevent_fn *emit;
    void *arg;
    uint64_t incarnation;
    uint64_t seq;

    struct heartbeat_destination *destinations;
    size_t destinations_length;
    int send4_fd, send6_fd;          /* unbound senders, -1 when unused */
    int listen_fd;
    int listen_family;
    uint16_t port;
    struct heartbeat_peer *peers;    /* sorted by name */
    size_t peers_length;
    int send_timer_fd, detect_timer_fd;
    int64_t armed_ns;                /* detect timer, INT64_MAX: disarmed */
    int64_t silent_check_ns;         /* when to name unheard peers; 0:
                                      * done */

    /* The thread: while it runs, it alone sends and touches 'seq', and
     * it changes the peers and 'stats' under 'lock' only. */
    int realtime_priority;
    int stop_fd;                     /* eventfd: stop the thread */
    pthread_t thread;
    bool thread_running;
    pthread_mutex_t lock;
    bool lock_ready;
    struct handoff *handoff;         /* events: thread -> loop */
    _Atomic uint64_t sent, send_errors;

    struct heartbeat_stats stats;    /* not sent/send_errors */
    struct metrics_counter *m_sent, *m_send_errors, *m_received, *m_missed;
    struct metrics_counter *m_restarts, *m_downs, *m_ups;
    struct metrics_counter *m_rejected[HEARTBEAT_REJECT_COUNT];
    struct vlog_rate_limit reject_rl, error_rl, send_rl;  /* the thread's;
                                                          * the caller's
                                                          * after it */
};

static const char *const heartbeat_reject_names[] = {
    [HEARTBEAT_REJECT_MALFORMED] = "malformed",
    [HEARTBEAT_REJECT_VERSION] = "version",
    [HEARTBEAT_REJECT_BAD_MAC] = "bad_mac",
    [HEARTBEAT_REJECT_UNKNOWN_SENDER] = "unknown_sender",
    [HEARTBEAT_REJECT_REPLAYED] = "replayed",
    [HEARTBEAT_REJECT_TOO_OLD] = "too_old",
    [HEARTBEAT_REJECT_STALE] = "stale_incarnation",
};

const char *
heartbeat_reject_name(enum heartbeat_reject reason)
{
    return (unsigned) reason < HEARTBEAT_REJECT_COUNT
           ? heartbeat_reject_names[reason] : NULL;
}

/* ---- set-up ------------------------------------------------------------- */

static int
heartbeat_validate(const struct heartbeat_options *o)
{
    if (!o || !heartbeat_wire_hostname_valid(o->hostname) || !o->key ||
        o->key->size < HEARTBEAT_WIRE_MIN_KEY_SIZE ||
        o->key->size > HEARTBEAT_WIRE_MAX_KEY_SIZE ||
        o->interval_us < HEARTBEAT_WIRE_MIN_INTERVAL_US ||
        o->interval_us > HEARTBEAT_WIRE_MAX_INTERVAL_US ||
        o->dscp < -1 || o->dscp > 63 || o->realtime_priority < 0 ||
        o->realtime_priority > 99 ||
        o->destinations_length > HEARTBEAT_MAX_DESTINATIONS ||
        (o->destinations_length && !o->destinations) ||
        (!o->destinations_length && !o->listen)) {
        return -EINVAL;
    }
    for (size_t i = 0; i < o->destinations_length; i++) {
        if (!o->destinations[i]) {
            return -EINVAL;
        }
    }
    if (!o->listen) {
        return 0;
    }
    if (!o->peers || o->peers_length == 0 ||
        o->peers_length > HEARTBEAT_MAX_PEERS ||
        !heartbeat_detect_params_valid(&o->detect)) {
        return -EINVAL;
    }
    for (size_t i = 0; i < o->peers_length; i++) {
        if (!heartbeat_wire_hostname_valid(o->peers[i]) ||
            !strcmp(o->peers[i], o->hostname)) {
            return -EINVAL;
        }
    }
    return 0;
}

static int
heartbeat_peer_cmp(const void *a, const void *b)
{
    const struct heartbeat_peer *pa = a, *pb = b;

    return strcmp(pa->name, pb->name);
}

static struct heartbeat_peer *
heartbeat_find(const struct heartbeat *hb, const char *name)
{
    struct heartbeat_peer key;

    if (!hb->peers_length || strlen(name) >= sizeof key.name) {
        return NULL;
    }
    snprintf(key.name, sizeof key.name, "%s", name);
    return bsearch(&key, hb->peers, hb->peers_length, sizeof *hb->peers,
                   heartbeat_peer_cmp);
}

/* A non-blocking UDP socket of 'family' with the configured DSCP. */
static int
heartbeat_socket(int family, int dscp, int *fd_out)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int ret = 0;

    if (fd < 0) {
        return -errno;
    }
    if (dscp >= 0) {
        int tos = dscp << 2;

        if (family == AF_INET) {
            ret = setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
        } else {
            ret = setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
        }
        if (ret) {
            ret = -errno;
            close(fd);
            return ret;
        }
    }
    *fd_out = fd;
    return 0;
}

/* Resolves "host:port" into one address. */
static int
heartbeat_resolve(const char *text, bool passive,
                  struct sockaddr_storage *addr, socklen_t *addr_size)
{
    struct addrinfo hints, *res = NULL;
    char host[256], port[8];
    unsigned short number;
    int ret = -EINVAL;

    if (daemon_split_hostport(text, host, sizeof host, &number)) {
        goto out;
    }
    snprintf(port, sizeof port, "%u", number);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    if (getaddrinfo(host[0] ? host : NULL, port, &hints, &res) || !res ||
        res->ai_addrlen > sizeof *addr) {
        goto out;
    }
    memset(addr, 0, sizeof *addr);
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *addr_size = res->ai_addrlen;
    ret = 0;
out:
    if (res) {
        freeaddrinfo(res);
    }
    return ret;
}

static int
heartbeat_open_listen(struct heartbeat *hb, const char *listen, int dscp)
{
    struct sockaddr_storage addr, bound;
    socklen_t addr_size, bound_size = sizeof bound;
    int size = HEARTBEAT_RCVBUF_SIZE;
    int ret;

    ret = heartbeat_resolve(listen, true, &addr, &addr_size);
    if (ret) {
        return ret;
    }
    ret = heartbeat_socket(addr.ss_family, dscp, &hb->listen_fd);
    if (ret) {
        return ret;
    }
    hb->listen_family = addr.ss_family;
    /* Room for a second of heartbeats from every peer while the loop is
     * busy; without privileges the system's cap applies. */
    if (setsockopt(hb->listen_fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
                   sizeof size)) {
        setsockopt(hb->listen_fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    if (bind(hb->listen_fd, (struct sockaddr *) &addr, addr_size) ||
        getsockname(hb->listen_fd, (struct sockaddr *) &bound,
                    &bound_size)) {
        return -errno;
    }
    hb->port = ntohs(bound.ss_family == AF_INET6
                     ? ((struct sockaddr_in6 *) &bound)->sin6_port
                     : ((struct sockaddr_in *) &bound)->sin_port);
    return 0;
}

/* The socket heartbeats to 'family' leave from: the observer's own when
 * it has that family (one port for both directions), else an unbound one. */
static int
heartbeat_send_fd(struct heartbeat *hb, int family, int dscp, int *fd)
{
    int *slot = family == AF_INET6 ? &hb->send6_fd : &hb->send4_fd;
    int ret;

    if (hb->listen_fd >= 0 && hb->listen_family == family) {
        *fd = hb->listen_fd;
        return 0;
    }
    if (*slot < 0) {
        ret = heartbeat_socket(family, dscp, slot);
        if (ret) {
            return ret;
        }
    }
    *fd = *slot;
    return 0;
}

static int
heartbeat_timerfd(int *fd)
{
    *fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    return *fd < 0 ? -errno : 0;
}

static struct timespec
heartbeat_timespec(int64_t ns)
{
    struct timespec ts = { (time_t) (ns / 1000000000),
                           (long) (ns % 1000000000) };

    return ts;
}

static void
heartbeat_register_metrics(struct heartbeat *hb, struct metrics_registry *reg)
{
    char labels[HEARTBEAT_WIRE_HOSTNAME_SIZE + 16];

    hb->m_sent = metrics_counter_new(reg,
        "vigil_monitor_heartbeats_sent_total",
        "Heartbeat datagrams sent to observers", NULL);
    hb->m_send_errors = metrics_counter_new(reg,
        "vigil_monitor_heartbeat_send_errors_total",
        "Heartbeat datagrams the kernel refused to send", NULL);
    hb->m_received = metrics_counter_new(reg,
        "vigil_monitor_heartbeats_received_total",
        "Heartbeats accepted from observed peers", NULL);
    for (int i = 0; i < HEARTBEAT_REJECT_COUNT; i++) {
        snprintf(labels, sizeof labels, "reason=\"%s\"",
                 heartbeat_reject_names[i]);
        hb->m_rejected[i] = metrics_counter_new(reg,
            "vigil_monitor_heartbeats_rejected_total",
            "Datagrams refused on the heartbeat port, by reason", labels);
    }
    hb->m_missed = metrics_counter_new(reg,
        "vigil_monitor_heartbeats_missed_total",
        "Heartbeats of observed peers that never came (sequence gaps)",
        NULL);
    hb->m_restarts = metrics_counter_new(reg,
        "vigil_monitor_heartbeat_restarts_total",
        "New incarnations of observed peers (restarted monitors)", NULL);
    hb->m_downs = metrics_counter_new(reg,
        "vigil_monitor_heartbeat_events_total",
        "compute.host.down and .up events raised for observed peers",
        "type=\"down\"");
    hb->m_ups = metrics_counter_new(reg,
        "vigil_monitor_heartbeat_events_total",
        "compute.host.down and .up events raised for observed peers",
        "type=\"up\"");
    for (size_t i = 0; i < hb->peers_length; i++) {
        snprintf(labels, sizeof labels, "peer=\"%s\"", hb->peers[i].name);
        hb->peers[i].m_state = metrics_gauge_new(reg,
            "vigil_monitor_heartbeat_peer_state",
            "State of each observed peer: 0 unknown, 1 up, 2 down, 3 left",
            labels);
    }
}

/* ---- sending ------------------------------------------------------------ */

static void
heartbeat_send(struct heartbeat *hb, uint8_t flags)
{
    struct heartbeat_wire_packet packet;
    uint8_t buf[HEARTBEAT_WIRE_MAX_SIZE];
    int size;

    if (!hb->destinations_length) {
        return;
    }
    memset(&packet, 0, sizeof packet);
    packet.flags = flags;
    packet.interval_us = hb->interval_us;
    packet.incarnation = hb->incarnation;
    packet.seq = hb->seq;
    packet.send_ns = (uint64_t) vtime_mono_ns();
    snprintf(packet.hostname, sizeof packet.hostname, "%s", hb->hostname);
    size = heartbeat_wire_encode(&packet, &hb->key, buf, sizeof buf);
    if (size < 0) {
        vlog_write_rl(&hb->send_rl, VLOG_LEVEL_ERR, HEARTBEAT_MODULE,
                      "cannot encode a heartbeat: %s", strerror(-size));
        return;
    }
    for (size_t i = 0; i < hb->destinations_length; i++) {
        const struct heartbeat_destination *d = &hb->destinations[i];

        if (sendto(d->fd, buf, (size_t) size, MSG_DONTWAIT,
                   (const struct sockaddr *) &d->addr, d->addr_size) < 0) {
            atomic_fetch_add_explicit(&hb->send_errors, 1,
                                      memory_order_relaxed);
            metrics_counter_add(hb->m_send_errors, 1);
            vlog_write_rl(&hb->send_rl, VLOG_LEVEL_WARN, HEARTBEAT_MODULE,
                          "cannot send a heartbeat to %s: %s", d->label,
                          strerror(errno));
        } else {
            atomic_fetch_add_explicit(&hb->sent, 1, memory_order_relaxed);
            metrics_counter_add(hb->m_sent, 1);
        }
    }
}

/* ---- observing ---------------------------------------------------------- */

static void
heartbeat_arm(struct heartbeat *hb, int64_t deadline_ns)
{
    struct itimerspec its;

    memset(&its, 0, sizeof its);
    if (deadline_ns != INT64_MAX) {
        /* 0 would disarm: a deadline is always after the epoch anyway. */
        its.it_value = heartbeat_timespec(deadline_ns > 0 ? deadline_ns : 1);
    }
    if (timerfd_settime(hb->detect_timer_fd, TFD_TIMER_ABSTIME, &its, NULL)) {
        vlog_write_rl(&hb->error_rl, VLOG_LEVEL_ERR, HEARTBEAT_MODULE,
                      "cannot arm the detection timer: %s", strerror(errno));
        return;
    }
    hb->armed_ns = deadline_ns;
}

static void
heartbeat_reject(struct heartbeat *hb, enum heartbeat_reject reason,
                 const struct sockaddr_storage *from, const char *name)
{
    char host[NI_MAXHOST] = "?", serv[NI_MAXSERV] = "?";

    hb->stats.rejected[reason]++;
    metrics_counter_add(hb->m_rejected[reason], 1);
    getnameinfo((const struct sockaddr *) from, sizeof *from, host,
                sizeof host, serv, sizeof serv,
                NI_NUMERICHOST | NI_NUMERICSERV);
    vlog_write_rl(&hb->reject_rl, VLOG_LEVEL_WARN, HEARTBEAT_MODULE,
                  "heartbeat from %s port %s refused (%s)%s%s", host, serv,
                  heartbeat_reject_names[reason], name ? ": sender " : "",
                  name ? name : "");
}

static void
heartbeat_incarnation_text(uint64_t incarnation, char buf[17])
{
    snprintf(buf, 17, "%016" PRIx64, incarnation);
}

/* Builds compute.host.down or .up for 'peer' and hands it to the loop. */
static void
heartbeat_emit(struct heartbeat *hb, struct heartbeat_peer *peer,
               const struct heartbeat_detect_change *change, int64_t now_ns,
               bool down)
{
    const struct heartbeat_detect_peer *d = &peer->detect;
    struct doctor_event ev, *copy;
    char incarnation[17];
    int ret;

    memset(&ev, 0, sizeof ev);
    heartbeat_incarnation_text(d->incarnation, incarnation);
    ret = hostevent_init(&ev, down ? "compute.host.down" : "compute.host.up",
                         peer->name, !down, now_ns, vtime_real_ns());
    if (ret ||
        (ret = hostevent_set_string(&ev, "observer", hb->hostname)) ||
        (ret = hostevent_set_string(&ev, "incarnation", incarnation)) ||
        (ret = hostevent_set_int(&ev, "last_seq",
                                 (int64_t) (d->last_seq & INT64_MAX))) ||
        (ret = hostevent_set_int(&ev, "silent_ms",
                                 change->silent_ns / 1000000))) {
        goto out;
    }
    if (down) {
        if ((ret = hostevent_set_int(&ev, "missed", change->missing)) ||
            (ret = hostevent_set_int(&ev, "k", hb->detect.k)) ||
            (ret = hostevent_set_int(&ev, "n", hb->detect.n)) ||
            (ret = hostevent_set_int(&ev, "interval_us",
                                     d->interval_ns / 1000))) {
            goto out;
        }
    } else if ((ret = hostevent_set_int(&ev, "run", change->run)) ||
               (ret = hostevent_set_int(&ev, "down_ms",
                                        (now_ns - peer->down_ns) / 1000000)) ||
               (ret = hostevent_set_bool(&ev, "restarted",
                                         d->incarnation !=
                                         peer->down_incarnation))) {
        goto out;
    }
    copy = malloc(sizeof *copy);
    if (!copy) {
        ret = -ENOMEM;
        goto out;
    }
    *copy = ev;
    memset(&ev, 0, sizeof ev);
    ret = handoff_push(hb->handoff, copy);
    if (ret) {
        doctor_event_clear(copy);
        free(copy);
    }
out:
    if (ret) {
        vlog_write_rl(&hb->error_rl, VLOG_LEVEL_ERR, HEARTBEAT_MODULE,
                      "cannot report the %s event of peer %s: %s",
                      down ? "down" : "up", peer->name,
                      ret == -ENOBUFS ? "the loop does not take events "
                                        "(queue full)" : strerror(-ret));
    }
    doctor_event_clear(&ev);
}

static void
heartbeat_on_change(struct heartbeat *hb, struct heartbeat_peer *peer,
                    const struct heartbeat_detect_change *change,
                    int64_t now_ns)
{
    char incarnation[17];

    if (change->to == change->from) {
        return;
    }
    metrics_gauge_set(peer->m_state, change->to);
    heartbeat_incarnation_text(peer->detect.incarnation, incarnation);
    switch (change->to) {
    case HEARTBEAT_DETECT_DOWN:
        peer->alarmed = true;
        peer->down_ns = now_ns;
        peer->down_incarnation = peer->detect.incarnation;
        hb->stats.downs++;
        metrics_counter_add(hb->m_downs, 1);
        VLOG_WARN(HEARTBEAT_MODULE, "peer %s DOWN: %u of its last %u "
                  "heartbeats missing, silent for %lld ms (last seq %"
                  PRIu64 ", incarnation %s)", peer->name, change->missing,
                  hb->detect.n, (long long) (change->silent_ns / 1000000),
                  peer->detect.last_seq, incarnation);
        heartbeat_emit(hb, peer, change, now_ns, true);
        break;
    case HEARTBEAT_DETECT_UP:
        if (peer->alarmed) {
            peer->alarmed = false;
            hb->stats.ups++;
            metrics_counter_add(hb->m_ups, 1);
            VLOG_INFO(HEARTBEAT_MODULE, "peer %s up again after %lld ms: "
                      "%u heartbeats in a row (incarnation %s%s)",
                      peer->name,
                      (long long) ((now_ns - peer->down_ns) / 1000000),
                      change->run, incarnation,
                      peer->detect.incarnation != peer->down_incarnation
                      ? ", restarted" : "");
            heartbeat_emit(hb, peer, change, now_ns, false);
        } else {
            VLOG_INFO(HEARTBEAT_MODULE, "peer %s up: %u heartbeats in a row "
                      "(incarnation %s)", peer->name, change->run,
                      incarnation);
        }
        break;
    case HEARTBEAT_DETECT_LEFT:
        VLOG_INFO(HEARTBEAT_MODULE, "peer %s left: its monitor stopped "
                  "cleanly (incarnation %s)", peer->name, incarnation);
        break;
    case HEARTBEAT_DETECT_UNKNOWN:
    case HEARTBEAT_DETECT_STATE_COUNT:
        break;
    }
}

static void
heartbeat_handle(struct heartbeat *hb, const uint8_t *buf, size_t size,
                 const struct sockaddr_storage *from, int64_t now_ns)
{
    static const enum heartbeat_reject wire_rejects[] = {
        [HEARTBEAT_WIRE_MALFORMED] = HEARTBEAT_REJECT_MALFORMED,
        [HEARTBEAT_WIRE_BAD_VERSION] = HEARTBEAT_REJECT_VERSION,
        [HEARTBEAT_WIRE_BAD_MAC] = HEARTBEAT_REJECT_BAD_MAC,
    };
    struct heartbeat_wire_packet packet;
    enum heartbeat_wire_error error = HEARTBEAT_WIRE_MALFORMED;
    struct heartbeat_detect_change change;
    struct heartbeat_detect_beat beat;
    enum heartbeat_detect_verdict verdict;
    struct heartbeat_peer *peer;
    char old[17], now_inc[17];
    uint64_t previous;
    int64_t deadline;

    if (heartbeat_wire_decode(buf, size, &hb->key, &packet, &error)) {
        heartbeat_reject(hb, wire_rejects[error], from, NULL);
        return;
    }
    peer = heartbeat_find(hb, packet.hostname);
    if (!peer) {
        heartbeat_reject(hb, HEARTBEAT_REJECT_UNKNOWN_SENDER, from,
                         packet.hostname);
        return;
    }
    beat.incarnation = packet.incarnation;
    beat.seq = packet.seq;
    beat.interval_ns = (int64_t) packet.interval_us * 1000;
    beat.leaving = packet.flags & HEARTBEAT_WIRE_LEAVING;
    previous = peer->detect.incarnation;
    verdict = heartbeat_detect_receive(&peer->detect, &hb->detect, &beat,
                                       now_ns, &change);
    switch (verdict) {
    case HEARTBEAT_DETECT_REPLAYED:
        heartbeat_reject(hb, HEARTBEAT_REJECT_REPLAYED, from, peer->name);
        return;
    case HEARTBEAT_DETECT_TOO_OLD:
        heartbeat_reject(hb, HEARTBEAT_REJECT_TOO_OLD, from, peer->name);
        return;
    case HEARTBEAT_DETECT_STALE:
        heartbeat_reject(hb, HEARTBEAT_REJECT_STALE, from, peer->name);
        return;
    case HEARTBEAT_DETECT_ACCEPTED:
    case HEARTBEAT_DETECT_NEW_INCARNATION:
    case HEARTBEAT_DETECT_VERDICT_COUNT:
        break;
    }
    hb->stats.received++;
    metrics_counter_add(hb->m_received, 1);
    if (change.gap) {
        hb->stats.missed += change.gap;
        metrics_counter_add(hb->m_missed, change.gap);
    }
    if (change.restarted) {
        hb->stats.restarts++;
        metrics_counter_add(hb->m_restarts, 1);
        heartbeat_incarnation_text(previous, old);
        heartbeat_incarnation_text(packet.incarnation, now_inc);
        VLOG_INFO(HEARTBEAT_MODULE, "peer %s restarted: incarnation %s -> %s",
                  peer->name, old, now_inc);
    }
    heartbeat_on_change(hb, peer, &change, now_ns);
    deadline = heartbeat_detect_down_at(&peer->detect, &hb->detect);
    if (deadline < hb->armed_ns) {
        heartbeat_arm(hb, deadline);
    }
}

/* Reads what waits on the heartbeat port (at most HEARTBEAT_MAX_READ). */
static void
heartbeat_drain(struct heartbeat *hb)
{
    uint8_t bufs[HEARTBEAT_BATCH][HEARTBEAT_WIRE_MAX_SIZE + 1];
    struct sockaddr_storage froms[HEARTBEAT_BATCH];
    struct mmsghdr msgs[HEARTBEAT_BATCH];
    struct iovec iovs[HEARTBEAT_BATCH];
    size_t total = 0;

    while (total < HEARTBEAT_MAX_READ) {
        int64_t now_ns;
        int n;

        memset(msgs, 0, sizeof msgs);
        for (int i = 0; i < HEARTBEAT_BATCH; i++) {
            iovs[i].iov_base = bufs[i];
            iovs[i].iov_len = sizeof bufs[i];
            msgs[i].msg_hdr.msg_iov = &iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &froms[i];
            msgs[i].msg_hdr.msg_namelen = sizeof froms[i];
        }
        n = recvmmsg(hb->listen_fd, msgs, HEARTBEAT_BATCH, MSG_DONTWAIT,
                     NULL);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                errno != EINTR) {
                vlog_write_rl(&hb->error_rl, VLOG_LEVEL_ERR,
                              HEARTBEAT_MODULE, "cannot read heartbeats: %s",
                              strerror(errno));
            }
            return;
        }
        now_ns = vtime_mono_ns();
        for (int i = 0; i < n; i++) {
            size_t size = msgs[i].msg_len;

            if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
                size = sizeof bufs[i];   /* over the maximum: malformed */
            }
            heartbeat_handle(hb, bufs[i], size, &froms[i], now_ns);
        }
        total += (size_t) n;
    }
}

/* A peer may be due: read what waits first (a heartbeat there counts),
 * then check every peer and re-arm for the earliest deadline. */
static void
heartbeat_on_detect_timer(struct heartbeat *hb)
{
    struct heartbeat_detect_change change;
    int64_t now_ns, earliest = INT64_MAX;
    uint64_t expirations;

    if (read(hb->detect_timer_fd, &expirations, sizeof expirations) < 0 &&
        errno == EAGAIN) {
        return;
    }
    hb->armed_ns = INT64_MAX;
    heartbeat_drain(hb);
    now_ns = vtime_mono_ns();
    for (size_t i = 0; i < hb->peers_length; i++) {
        struct heartbeat_peer *peer = &hb->peers[i];
        int64_t deadline;

        if (heartbeat_detect_evaluate(&peer->detect, &hb->detect, now_ns,
                                      &change)) {
            heartbeat_on_change(hb, peer, &change, now_ns);
        }
        deadline = heartbeat_detect_down_at(&peer->detect, &hb->detect);
        if (deadline < earliest) {
            earliest = deadline;
        }
    }
    if (earliest < hb->armed_ns) {
        heartbeat_arm(hb, earliest);
    }
}

/* Once, a while after start: names the peers never heard from. */
static void
heartbeat_check_silent(struct heartbeat *hb)
{
    hb->silent_check_ns = 0;
    for (size_t i = 0; i < hb->peers_length; i++) {
        if (!hb->peers[i].detect.heard) {
            VLOG_WARN(HEARTBEAT_MODULE, "no heartbeat from peer %s in the "
                      "first %d s: is its monitor running, and sending to "
                      "this host's port %u with the same key?",
                      hb->peers[i].name, HEARTBEAT_SILENT_CHECK_S, hb->port);
        }
    }
}

/* ---- the thread --------------------------------------------------------- */

/* Loop: a host event from the thread. */
static void
heartbeat_deliver(void *item, void *arg)
{
    struct doctor_event *ev = item;
    struct heartbeat *hb = arg;

    hb->emit(ev, hb->arg);
    doctor_event_clear(ev);
    free(ev);
}

static void
heartbeat_free_event(void *item)
{
    doctor_event_clear(item);
    free(item);
}

/* The thread: one heartbeat per slot of the periodic timerfd (slots
 * missed while it did not run are skipped: the expiration count advances
 * the sequence and the observers see the gap), the heartbeats arriving on
 * the observer's socket, and the detection timer, until 'stop_fd' is
 * written. Sending comes first in each round. It runs at SCHED_FIFO
 * 'realtime_priority' when asked, so that a busy host neither delays its
 * heartbeats nor its decisions. */
static void *
heartbeat_main(void *arg)
{
    enum { SEND, LISTEN, DETECT, STOP, FDS };
    struct heartbeat *hb = arg;
    struct pollfd fds[FDS] = {
        [SEND] = { .fd = hb->send_timer_fd, .events = POLLIN },
        [LISTEN] = { .fd = hb->listen_fd, .events = POLLIN },
        [DETECT] = { .fd = hb->detect_timer_fd, .events = POLLIN },
        [STOP] = { .fd = hb->stop_fd, .events = POLLIN },
    };

    if (hb->realtime_priority > 0) {
        struct sched_param param = {
            .sched_priority = hb->realtime_priority,
        };
        int ret = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);

        if (ret) {
            VLOG_WARN(HEARTBEAT_MODULE, "cannot run the heartbeats at "
                      "real-time priority %d (%s): on a busy host they may "
                      "be late, and this host taken for down",
                      hb->realtime_priority, strerror(ret));
        }
    }
    heartbeat_send(hb, 0);
    for (;;) {
        int timeout = -1;
        uint64_t expirations = 0;

        if (hb->silent_check_ns) {
            int64_t left = hb->silent_check_ns - vtime_mono_ns();

            timeout = left > 0 ? (int) (left / 1000000) + 1 : 0;
        }
        if (poll(fds, FDS, timeout) < 0) {
            if (errno == EINTR) {
                continue;
            }
            VLOG_ERR(HEARTBEAT_MODULE, "heartbeats stop: poll: %s",
                     strerror(errno));
            break;
        }
        if (fds[STOP].revents) {
            break;
        }
        if (fds[SEND].revents &&
            read(hb->send_timer_fd, &expirations, sizeof expirations) ==
            (ssize_t) sizeof expirations && expirations) {
            hb->seq += expirations;
            heartbeat_send(hb, 0);
        }
        pthread_mutex_lock(&hb->lock);
        if (fds[LISTEN].revents) {
            heartbeat_drain(hb);
        }
        if (fds[DETECT].revents) {
            heartbeat_on_detect_timer(hb);
        }
        if (hb->silent_check_ns && vtime_mono_ns() >= hb->silent_check_ns) {
            heartbeat_check_silent(hb);
        }
        pthread_mutex_unlock(&hb->lock);
    }
    return NULL;
}

static int
heartbeat_start_thread(struct heartbeat *hb)
{
    struct itimerspec its;
    int ret;

    hb->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (hb->stop_fd < 0) {
        return -errno;
    }
    if (hb->send_timer_fd >= 0) {
        memset(&its, 0, sizeof its);
        its.it_interval = heartbeat_timespec((int64_t) hb->interval_us *
                                             1000);
        its.it_value = its.it_interval;
        if (timerfd_settime(hb->send_timer_fd, 0, &its, NULL)) {
            return -errno;
        }
    }
    ret = pthread_create(&hb->thread, NULL, heartbeat_main, hb);
    if (ret) {
        return -ret;
    }
    hb->thread_running = true;
    return 0;
}

static void
heartbeat_stop_thread(struct heartbeat *hb)
{
    uint64_t one = 1;

    if (!hb->thread_running) {
        return;
    }
    if (write(hb->stop_fd, &one, sizeof one) != (ssize_t) sizeof one) {
        /* An eventfd write fails only on overflow: it is readable then. */
    }
    pthread_join(hb->thread, NULL);
    hb->thread_running = false;
}

/* ---- lifecycle ---------------------------------------------------------- */

static int
heartbeat_setup(struct heartbeat *hb, const struct heartbeat_options *o)
{
    int ret;

    if (o->listen) {
        ret = heartbeat_open_listen(hb, o->listen, o->dscp);
        if (ret) {
            return ret;
        }
    }
    hb->destinations = calloc(o->destinations_length ? o->destinations_length
                              : 1, sizeof *hb->destinations);
    if (!hb->destinations) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < o->destinations_length; i++) {
        struct heartbeat_destination *d = &hb->destinations[i];

        ret = heartbeat_resolve(o->destinations[i], false, &d->addr,
                                &d->addr_size);
        if (ret) {
            return ret;
        }
        ret = heartbeat_send_fd(hb, d->addr.ss_family, o->dscp, &d->fd);
        if (ret) {
            return ret;
        }
        snprintf(d->label, sizeof d->label, "%s", o->destinations[i]);
        hb->destinations_length++;
    }
    if (o->metrics) {
        heartbeat_register_metrics(hb, o->metrics);
    }
    if (hb->destinations_length) {
        ret = heartbeat_timerfd(&hb->send_timer_fd);
        if (ret) {
            return ret;
        }
    }
    if (hb->listen_fd >= 0) {
        ret = heartbeat_timerfd(&hb->detect_timer_fd);
        if (ret) {
            return ret;
        }
        hb->handoff = handoff_new(hb->base, HEARTBEAT_HANDOFF_SIZE,
                                  heartbeat_deliver, heartbeat_free_event,
                                  hb, &ret);
        if (!hb->handoff) {
            return ret;
        }
        hb->silent_check_ns = vtime_mono_ns() +
                              HEARTBEAT_SILENT_CHECK_S * 1000000000LL;
    }
    ret = pthread_mutex_init(&hb->lock, NULL);
    if (ret) {
        return -ret;
    }
    hb->lock_ready = true;
    /* Last: the thread sends the first heartbeat at once. */
    return heartbeat_start_thread(hb);
}

struct heartbeat *
heartbeat_new(struct event_base *base, const struct heartbeat_options *o,
              hostevent_fn *emit, void *arg, int *error)
{
    struct heartbeat *hb = NULL;
    int ret;

    ret = heartbeat_validate(o);
    if (ret || !base || !emit) {
        ret = -EINVAL;
        goto out;
    }
    hb = calloc(1, sizeof *hb);
    if (!hb) {
        ret = -ENOMEM;
        goto out;
    }
    hb->base = base;
    hb->send4_fd = hb->send6_fd = hb->listen_fd = -1;
    hb->send_timer_fd = hb->detect_timer_fd = hb->stop_fd = -1;
    hb->realtime_priority = o->realtime_priority;
    hb->armed_ns = INT64_MAX;
    snprintf(hb->hostname, sizeof hb->hostname, "%s", o->hostname);
    hb->key = *o->key;
    hb->interval_us = o->interval_us;
    hb->announce_leave = o->announce_leave;
    hb->detect = o->detect;
    hb->emit = emit;
    hb->arg = arg;
    hb->reject_rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(1, 5);
    hb->send_rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(1, 5);
    hb->error_rl = (struct vlog_rate_limit) VLOG_RATE_LIMIT_INIT(1, 5);
    /* Wall clock at start: a restarted monitor has a larger one. */
    hb->incarnation = (uint64_t) vtime_real_ns();
    if (o->listen) {
        hb->peers = calloc(o->peers_length, sizeof *hb->peers);
        if (!hb->peers) {
            ret = -ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < o->peers_length; i++) {
            snprintf(hb->peers[i].name, sizeof hb->peers[i].name, "%s",
                     o->peers[i]);
        }
        hb->peers_length = o->peers_length;
        qsort(hb->peers, hb->peers_length, sizeof *hb->peers,
              heartbeat_peer_cmp);
        for (size_t i = 1; i < hb->peers_length; i++) {
            if (!strcmp(hb->peers[i - 1].name, hb->peers[i].name)) {
                ret = -EINVAL;
                goto out;
            }
        }
    }
    ret = heartbeat_setup(hb, o);
out:
    if (ret) {
        if (hb) {
            hb->announce_leave = false;
        }
        heartbeat_free(hb);
        hb = NULL;
        if (error) {
            *error = ret;
        }
    }
    return hb;
}

static void
heartbeat_close(int fd)
{
    if (fd >= 0) {
        close(fd);
    }
}

void
heartbeat_free(struct heartbeat *hb)
{
    if (!hb) {
        return;
    }
    heartbeat_stop_thread(hb);
    /* The thread is gone: the sequence, sockets and peers are ours. */
    if (hb->announce_leave) {
        for (int i = 0; i < HEARTBEAT_LEAVE_COUNT; i++) {
            hb->seq++;
            heartbeat_send(hb, HEARTBEAT_WIRE_LEAVING);
        }
    }
    if (hb->handoff && handoff_length(hb->handoff)) {
        VLOG_WARN(HEARTBEAT_MODULE, "%zu heartbeat events not reported at "
                  "shutdown", handoff_length(hb->handoff));
    }
    handoff_free(hb->handoff);
    if (hb->lock_ready) {
        pthread_mutex_destroy(&hb->lock);
    }
    heartbeat_close(hb->send_timer_fd);
    heartbeat_close(hb->stop_fd);
    heartbeat_close(hb->detect_timer_fd);
    heartbeat_close(hb->listen_fd);
    heartbeat_close(hb->send4_fd);
    heartbeat_close(hb->send6_fd);
    memset(&hb->key, 0, sizeof hb->key);
    free(hb->destinations);
    free(hb->peers);
    free(hb);
}

uint16_t
heartbeat_port(const struct heartbeat *hb)
{
    return hb->port;
}

uint64_t
heartbeat_incarnation(const struct heartbeat *hb)
{
    return hb->incarnation;
}

void
heartbeat_get_stats(const struct heartbeat *hb, struct heartbeat_stats *stats)
{
    struct heartbeat *mutable = (struct heartbeat *) hb;

    pthread_mutex_lock(&mutable->lock);
    *stats = hb->stats;
    pthread_mutex_unlock(&mutable->lock);
    stats->sent = atomic_load_explicit(&hb->sent, memory_order_relaxed);
    stats->send_errors = atomic_load_explicit(&hb->send_errors,
                                              memory_order_relaxed);
}

int
heartbeat_peer_state(const struct heartbeat *hb, const char *name,
                     enum heartbeat_detect_state *state)
{
    const struct heartbeat_peer *peer = heartbeat_find(hb, name);
    struct heartbeat *mutable = (struct heartbeat *) hb;

    if (!peer) {
        return -ENOENT;
    }
    pthread_mutex_lock(&mutable->lock);
    *state = peer->detect.state;
    pthread_mutex_unlock(&mutable->lock);
    return 0;
}
