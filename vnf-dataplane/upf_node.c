/* upf_node: the PFCP node (see upf_node.h).
 *
 * One non-blocking UDP socket on the libevent loop; one periodic timer
 * for retransmissions, heartbeats, the response cache and the URR checks.
 * Decoding and encoding are the codec's (pfcp.h); sessions and rules are
 * upf_session's. This file is the message flow between them. */
#include "upf_node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_mbuf.h>

#include "metrics.h"
#include "pfcp.h"
#include "upf_dp.h"
#include "upf_pkt.h"
#include "upf_rcache.h"
#include "upf_session.h"
#include "vlog.h"
#include "vtime.h"

#define MOD "pfcp"
#define READ_BATCH 64           /* datagrams per read event */
#define MAX_PENDING 4096        /* our requests awaiting a response */

static const uint8_t known_types[] = {
    PFCP_MSG_HEARTBEAT_REQUEST, PFCP_MSG_HEARTBEAT_RESPONSE,
    PFCP_MSG_PFD_MANAGEMENT_REQUEST,
    PFCP_MSG_ASSOCIATION_SETUP_REQUEST, PFCP_MSG_ASSOCIATION_SETUP_RESPONSE,
    PFCP_MSG_ASSOCIATION_UPDATE_REQUEST,
    PFCP_MSG_ASSOCIATION_UPDATE_RESPONSE,
    PFCP_MSG_ASSOCIATION_RELEASE_REQUEST,
    PFCP_MSG_ASSOCIATION_RELEASE_RESPONSE,
    PFCP_MSG_VERSION_NOT_SUPPORTED_RESPONSE,
    PFCP_MSG_NODE_REPORT_REQUEST, PFCP_MSG_NODE_REPORT_RESPONSE,
    PFCP_MSG_SESSION_SET_DELETION_REQUEST,
    PFCP_MSG_SESSION_ESTABLISHMENT_REQUEST,
    PFCP_MSG_SESSION_ESTABLISHMENT_RESPONSE,
    PFCP_MSG_SESSION_MODIFICATION_REQUEST,
    PFCP_MSG_SESSION_MODIFICATION_RESPONSE,
    PFCP_MSG_SESSION_DELETION_REQUEST, PFCP_MSG_SESSION_DELETION_RESPONSE,
    PFCP_MSG_SESSION_REPORT_REQUEST, PFCP_MSG_SESSION_REPORT_RESPONSE,
};

struct upf_assoc {
    bool used;
    struct pfcp_node_id node_id;
    struct sockaddr_in addr;    /* where its requests come from */
    uint32_t recovery_time_stamp;
    uint64_t cp_features;
    int64_t setup_ns;
    int64_t next_heartbeat_ns;
    bool heartbeat_pending;
};

struct upf_pending {
    uint32_t seq;
    uint8_t type;
    struct sockaddr_in to;
    uint8_t *msg;
    size_t size;
    unsigned int retries;
    int64_t deadline_ns;
    int assoc;                  /* index, or -1 */
    uint64_t seid;              /* UP SEID of a session report */
    struct upf_pending *prev, *next;
};

struct upf_node {
    struct upf_node_conf conf;
    int fd;
    uint16_t port;
    struct event *read_ev;
    struct event *timer_ev;
    uint32_t recovery_time_stamp;
    uint32_t next_seq;
    struct upf_rcache *cache;
    struct upf_assoc *assocs;
    unsigned int assocs_length;     /* in use */
    struct upf_pending *pending;
    size_t pending_length;
    struct pfcp_msg *rx;
    struct pfcp_msg *tx;
    uint8_t *in;
    uint8_t *out;
    struct metrics_counter *received[PFCP_MSG_TYPE_COUNT];
    struct metrics_counter *sent[PFCP_MSG_TYPE_COUNT];
    struct metrics_counter *received_other;
    struct metrics_counter *malformed;
    struct metrics_counter *error_responses;
    struct metrics_counter *duplicates;
    struct metrics_counter *retransmitted;
    struct metrics_counter *timed_out;
    struct metrics_counter *send_failed;
    struct metrics_counter *peers_lost;
    struct metrics_counter *peers_restarted;
    struct metrics_gauge *associations;
};

static struct vlog_rate_limit rl_malformed = VLOG_RATE_LIMIT_INIT(5, 20);
static struct vlog_rate_limit rl_rejected = VLOG_RATE_LIMIT_INIT(5, 20);
static struct vlog_rate_limit rl_send = VLOG_RATE_LIMIT_INIT(1, 5);
/* Association and peer events: rare from a sane peer, but a peer decides
 * how often they happen. */
static struct vlog_rate_limit rl_peer = VLOG_RATE_LIMIT_INIT(10, 50);

static void node_report(void *arg, struct upf_session *session,
                        const struct pfcp_report_request *report);

static uint32_t
ntp_now(void)
{
    return (uint32_t) (vtime_real_ns() / 1000000000 + PFCP_NTP_UNIX_OFFSET);
}

static const char *
peer_text(const struct sockaddr_in *peer, char *buf, size_t size)
{
    char ip[INET_ADDRSTRLEN];

    inet_ntop(AF_INET, &peer->sin_addr, ip, sizeof ip);
    snprintf(buf, size, "%s:%u", ip, ntohs(peer->sin_port));
    return buf;
}

static void
our_node_id(const struct upf_node *n, struct pfcp_node_id *id)
{
    memset(id, 0, sizeof *id);
    id->type = PFCP_NODE_ID_IPV4;
    id->ipv4.s_addr = htonl(n->conf.node_ipv4);
}

static uint32_t
next_seq(struct upf_node *n)
{
    n->next_seq = (n->next_seq + 1) & 0xffffff;
    return n->next_seq;
}

/* ---- sending ------------------------------------------------------------ */

static int
send_bytes(struct upf_node *n, const uint8_t *msg, size_t size,
           const struct sockaddr_in *to)
{
    char peer[64];

    if (sendto(n->fd, msg, size, 0, (const struct sockaddr *) to,
               sizeof *to) < 0) {
        metrics_counter_add(n->send_failed, 1);
        vlog_write_rl(&rl_send, VLOG_LEVEL_WARN, MOD, "send to %s: %s",
                      peer_text(to, peer, sizeof peer), strerror(errno));
        return -errno;
    }
    return 0;
}

/* Encodes n->tx into n->out. 0 with '*size' set, or a negative errno. */
static int
encode_tx(struct upf_node *n, size_t *size)
{
    int ret = pfcp_encode(n->tx, n->out, PFCP_MAX_MSG_SIZE, size);

    if (ret) {
        VLOG_ERR(MOD, "cannot encode %s: %s",
                 pfcp_msg_type_name(n->tx->header.type), strerror(-ret));
    }
    return ret;
}

/* Sends n->tx as the response to a request from 'to', and keeps it for
 * retransmissions of that request. */
static void
send_response(struct upf_node *n, const struct sockaddr_in *to)
{
    size_t size = 0;

    if (encode_tx(n, &size)) {
        return;
    }
    upf_rcache_put(n->cache, to, n->tx->header.sequence, n->out, size,
                   vtime_mono_ns());
    if (!send_bytes(n, n->out, size, to)) {
        metrics_counter_add(n->sent[n->tx->header.type], 1);
    }
}

static void
pending_unlink(struct upf_node *n, struct upf_pending *p)
{
    if (p->prev) {
        p->prev->next = p->next;
    } else {
        n->pending = p->next;
    }
    if (p->next) {
        p->next->prev = p->prev;
    }
    n->pending_length--;
    free(p->msg);
    free(p);
}

/* Sends n->tx as a request to association 'assoc' and retransmits it
 * until answered. */
static void
send_request(struct upf_node *n, int assoc, uint64_t seid)
{
    struct upf_pending *p;
    size_t size = 0;

    if (n->pending_length >= MAX_PENDING) {
        metrics_counter_add(n->send_failed, 1);
        vlog_write_rl(&rl_send, VLOG_LEVEL_WARN, MOD, "%zu requests "
                      "unanswered: not sending %s", n->pending_length,
                      pfcp_msg_type_name(n->tx->header.type));
        return;
    }
    if (encode_tx(n, &size)) {
        return;
    }
    p = calloc(1, sizeof *p);
    if (!p || !(p->msg = malloc(size))) {
        free(p);
        return;
    }
    memcpy(p->msg, n->out, size);
    p->size = size;
    p->seq = n->tx->header.sequence;
    p->type = n->tx->header.type;
    p->to = n->assocs[assoc].addr;
    p->assoc = assoc;
    p->seid = seid;
    p->deadline_ns = vtime_mono_ns() + (int64_t) n->conf.t1_ms * 1000000;
    p->next = n->pending;
    if (n->pending) {
        n->pending->prev = p;
    }
    n->pending = p;
    n->pending_length++;
    if (!send_bytes(n, p->msg, p->size, &p->to)) {
        metrics_counter_add(n->sent[p->type], 1);
    }
}

/* ---- associations ------------------------------------------------------- */

static int
find_assoc(const struct upf_node *n, const struct pfcp_node_id *id)
{
    for (unsigned int i = 0; i < n->conf.max_associations; i++) {
        if (n->assocs[i].used && pfcp_node_id_equal(&n->assocs[i].node_id,
                                                    id)) {
            return (int) i;
        }
    }
    return -1;
}

/* Forgets association 'i': its sessions and our requests to it go. */
static void
drop_assoc(struct upf_node *n, int i)
{
    struct upf_pending *p, *next;

    upf_sessions_delete_owner(n->conf.sessions, &n->assocs[i]);
    for (p = n->pending; p; p = next) {
        next = p->next;
        if (p->assoc == i) {
            pending_unlink(n, p);
        }
    }
    memset(&n->assocs[i], 0, sizeof n->assocs[i]);
    n->assocs_length--;
    metrics_gauge_set(n->associations, n->assocs_length);
}

/* A peer's Recovery Time Stamp changed: it restarted and lost its
 * sessions, so do we. */
static void
check_recovery(struct upf_node *n, int i, uint32_t recovery_time_stamp)
{
    struct upf_assoc *a = &n->assocs[i];
    char id[128];

    if (a->recovery_time_stamp == recovery_time_stamp) {
        return;
    }
    pfcp_node_id_to_string(&a->node_id, id, sizeof id);
    vlog_write_rl(&rl_peer, VLOG_LEVEL_WARN, MOD, "peer %s restarted "
                  "(recovery time stamp %u -> %u): deleting its sessions",
                  id, a->recovery_time_stamp, recovery_time_stamp);
    metrics_counter_add(n->peers_restarted, 1);
    upf_sessions_delete_owner(n->conf.sessions, a);
    a->recovery_time_stamp = recovery_time_stamp;
}

static void
handle_association_setup(struct upf_node *n, const struct sockaddr_in *peer)
{
    const struct pfcp_association_setup_request *req =
        &n->rx->association_setup_request;
    struct pfcp_association_setup_response *resp;
    int i = find_assoc(n, &req->node_id);
    uint8_t cause = PFCP_CAUSE_REQUEST_ACCEPTED;
    char id[128], from[64];

    pfcp_node_id_to_string(&req->node_id, id, sizeof id);
    if (i >= 0) {
        check_recovery(n, i, req->recovery_time_stamp);
    } else {
        for (unsigned int j = 0; j < n->conf.max_associations; j++) {
            if (!n->assocs[j].used) {
                i = (int) j;
                break;
            }
        }
        if (i < 0) {
            cause = PFCP_CAUSE_NO_RESOURCES_AVAILABLE;
            vlog_write_rl(&rl_rejected, VLOG_LEVEL_WARN, MOD,
                          "association from %s refused: %u associations "
                          "already", id, n->conf.max_associations);
        } else {
            memset(&n->assocs[i], 0, sizeof n->assocs[i]);
            n->assocs[i].used = true;
            n->assocs_length++;
            metrics_gauge_set(n->associations, n->assocs_length);
        }
    }
    if (i >= 0) {
        struct upf_assoc *a = &n->assocs[i];

        a->node_id = req->node_id;
        a->addr = *peer;
        a->recovery_time_stamp = req->recovery_time_stamp;
        a->cp_features = req->has_cp_features ? req->cp_features : 0;
        a->setup_ns = vtime_mono_ns();
        a->heartbeat_pending = false;
        a->next_heartbeat_ns = a->setup_ns
                               + (int64_t) n->conf.heartbeat_interval_ms
                                 * 1000000;
        vlog_write_rl(&rl_peer, VLOG_LEVEL_INFO, MOD, "association with %s "
                      "(from %s) set up", id,
                      peer_text(peer, from, sizeof from));
    }
    pfcp_msg_init(n->tx, PFCP_MSG_ASSOCIATION_SETUP_RESPONSE, 0,
                  n->rx->header.sequence);
    resp = &n->tx->association_setup_response;
    our_node_id(n, &resp->node_id);
    resp->cause = cause;
    resp->recovery_time_stamp = n->recovery_time_stamp;
    resp->has_up_features = true;
    resp->up_features = PFCP_UP_FEATURE_BUCP | PFCP_UP_FEATURE_FTUP
                        | PFCP_UP_FEATURE_EMPU;
    resp->up_ip_resources_length = 1;
    resp->up_ip_resources[0].flags = PFCP_UP_IP_V4 | PFCP_UP_IP_ASSOSI;
    resp->up_ip_resources[0].ipv4.s_addr = htonl(n->conf.n3_ipv4);
    resp->up_ip_resources[0].source_interface = PFCP_INTERFACE_ACCESS;
    send_response(n, peer);
}

static void
handle_association_update(struct upf_node *n, const struct sockaddr_in *peer)
{
    const struct pfcp_association_update_request *req =
        &n->rx->association_update_request;
    struct pfcp_association_update_response *resp;
    int i = find_assoc(n, &req->node_id);

    pfcp_msg_init(n->tx, PFCP_MSG_ASSOCIATION_UPDATE_RESPONSE, 0,
                  n->rx->header.sequence);
    resp = &n->tx->association_update_response;
    our_node_id(n, &resp->node_id);
    if (i < 0) {
        resp->cause = PFCP_CAUSE_NO_ESTABLISHED_ASSOCIATION;
    } else {
        if (req->has_cp_features) {
            n->assocs[i].cp_features = req->cp_features;
        }
        n->assocs[i].addr = *peer;
        resp->cause = PFCP_CAUSE_REQUEST_ACCEPTED;
        resp->has_up_features = true;
        resp->up_features = PFCP_UP_FEATURE_BUCP | PFCP_UP_FEATURE_FTUP
                            | PFCP_UP_FEATURE_EMPU;
    }
    send_response(n, peer);
}

static void
handle_association_release(struct upf_node *n, const struct sockaddr_in *peer)
{
    const struct pfcp_association_release_request *req =
        &n->rx->association_release_request;
    int i = find_assoc(n, &req->node_id);
    uint8_t cause = PFCP_CAUSE_NO_ESTABLISHED_ASSOCIATION;
    char id[128];

    if (i >= 0) {
        pfcp_node_id_to_string(&req->node_id, id, sizeof id);
        vlog_write_rl(&rl_peer, VLOG_LEVEL_INFO, MOD,
                      "association with %s released", id);
        drop_assoc(n, i);
        cause = PFCP_CAUSE_REQUEST_ACCEPTED;
    }
    pfcp_msg_init(n->tx, PFCP_MSG_ASSOCIATION_RELEASE_RESPONSE, 0,
                  n->rx->header.sequence);
    our_node_id(n, &n->tx->association_release_response.node_id);
    n->tx->association_release_response.cause = cause;
    send_response(n, peer);
}

static int
assoc_by_addr(const struct upf_node *n, const struct sockaddr_in *peer)
{
    for (unsigned int i = 0; i < n->conf.max_associations; i++) {
        if (n->assocs[i].used
            && n->assocs[i].addr.sin_addr.s_addr == peer->sin_addr.s_addr) {
            return (int) i;
        }
    }
    return -1;
}

static void
handle_heartbeat(struct upf_node *n, const struct sockaddr_in *peer)
{
    int i = assoc_by_addr(n, peer);

    if (i >= 0) {
        check_recovery(n, i,
                       n->rx->heartbeat_request.recovery_time_stamp);
    }
    pfcp_msg_init(n->tx, PFCP_MSG_HEARTBEAT_RESPONSE, 0,
                  n->rx->header.sequence);
    n->tx->heartbeat_response.recovery_time_stamp = n->recovery_time_stamp;
    send_response(n, peer);
}

/* ---- sessions ----------------------------------------------------------- */

static void
handle_establishment(struct upf_node *n, const struct sockaddr_in *peer)
{
    const struct pfcp_establishment_request *req =
        &n->rx->establishment_request;
    struct pfcp_establishment_response *resp;
    struct upf_session *session = NULL;
    int i = find_assoc(n, &req->node_id);

    pfcp_msg_init(n->tx, PFCP_MSG_SESSION_ESTABLISHMENT_RESPONSE,
                  req->cp_fseid.seid, n->rx->header.sequence);
    resp = &n->tx->establishment_response;
    our_node_id(n, &resp->node_id);
    if (i < 0) {
        resp->cause = PFCP_CAUSE_NO_ESTABLISHED_ASSOCIATION;
    } else if (upf_sessions_establish(n->conf.sessions, &n->assocs[i], req,
                                      resp, &session)) {
        vlog_write_rl(&rl_rejected, VLOG_LEVEL_WARN, MOD,
                      "session establishment (CP SEID 0x%llx) rejected: "
                      "%s%s", (unsigned long long) req->cp_fseid.seid,
                      pfcp_cause_name(resp->cause),
                      resp->has_failed_rule_id ? " (see Failed Rule ID)" : "");
    } else {
        resp->up_fseid.ipv4.s_addr = htonl(n->conf.node_ipv4);
    }
    send_response(n, peer);
}

static void
handle_modification(struct upf_node *n, const struct sockaddr_in *peer)
{
    struct upf_session *s = upf_sessions_find(n->conf.sessions,
                                              n->rx->header.seid);
    struct pfcp_modification_response *resp;

    pfcp_msg_init(n->tx, PFCP_MSG_SESSION_MODIFICATION_RESPONSE,
                  s ? upf_session_cp_seid(s) : 0, n->rx->header.sequence);
    resp = &n->tx->modification_response;
    if (!s) {
        resp->cause = PFCP_CAUSE_SESSION_CONTEXT_NOT_FOUND;
    } else if (upf_sessions_modify(n->conf.sessions, s,
                                   &n->rx->modification_request, resp)) {
        vlog_write_rl(&rl_rejected, VLOG_LEVEL_WARN, MOD,
                      "session 0x%llx modification rejected: %s",
                      (unsigned long long) n->rx->header.seid,
                      pfcp_cause_name(resp->cause));
    }
    send_response(n, peer);
}

static void
handle_deletion(struct upf_node *n, const struct sockaddr_in *peer)
{
    struct upf_session *s = upf_sessions_find(n->conf.sessions,
                                              n->rx->header.seid);

    pfcp_msg_init(n->tx, PFCP_MSG_SESSION_DELETION_RESPONSE,
                  s ? upf_session_cp_seid(s) : 0, n->rx->header.sequence);
    if (!s) {
        n->tx->deletion_response.cause = PFCP_CAUSE_SESSION_CONTEXT_NOT_FOUND;
    } else {
        upf_sessions_delete(n->conf.sessions, s, &n->tx->deletion_response);
    }
    send_response(n, peer);
}

/* ---- errors ------------------------------------------------------------- */

/* Answers a request the codec refused, with the response of its type. */
static void
reply_error(struct upf_node *n, const struct sockaddr_in *peer,
            const struct pfcp_decode_error *err)
{
    uint32_t seq = err->header.sequence;
    uint8_t cause = err->cause;
    bool has_ie = err->offending_ie != 0;
    uint16_t ie = err->offending_ie;
    struct upf_session *s;

    metrics_counter_add(n->error_responses, 1);
    switch (err->header.type) {
    case PFCP_MSG_ASSOCIATION_SETUP_REQUEST:
        pfcp_msg_init(n->tx, PFCP_MSG_ASSOCIATION_SETUP_RESPONSE, 0, seq);
        our_node_id(n, &n->tx->association_setup_response.node_id);
        n->tx->association_setup_response.cause = cause;
        n->tx->association_setup_response.has_offending_ie = has_ie;
        n->tx->association_setup_response.offending_ie = ie;
        n->tx->association_setup_response.recovery_time_stamp =
            n->recovery_time_stamp;
        break;
    case PFCP_MSG_ASSOCIATION_UPDATE_REQUEST:
        pfcp_msg_init(n->tx, PFCP_MSG_ASSOCIATION_UPDATE_RESPONSE, 0, seq);
        our_node_id(n, &n->tx->association_update_response.node_id);
        n->tx->association_update_response.cause = cause;
        n->tx->association_update_response.has_offending_ie = has_ie;
        n->tx->association_update_response.offending_ie = ie;
        break;
    case PFCP_MSG_ASSOCIATION_RELEASE_REQUEST:
        pfcp_msg_init(n->tx, PFCP_MSG_ASSOCIATION_RELEASE_RESPONSE, 0, seq);
        our_node_id(n, &n->tx->association_release_response.node_id);
        n->tx->association_release_response.cause = cause;
        n->tx->association_release_response.has_offending_ie = has_ie;
        n->tx->association_release_response.offending_ie = ie;
        break;
    case PFCP_MSG_NODE_REPORT_REQUEST:
        pfcp_msg_init(n->tx, PFCP_MSG_NODE_REPORT_RESPONSE, 0, seq);
        our_node_id(n, &n->tx->node_report_response.node_id);
        n->tx->node_report_response.cause = cause;
        n->tx->node_report_response.has_offending_ie = has_ie;
        n->tx->node_report_response.offending_ie = ie;
        break;
    case PFCP_MSG_SESSION_ESTABLISHMENT_REQUEST:
        /* The CP F-SEID may be what is wrong: answer with SEID 0. */
        pfcp_msg_init(n->tx, PFCP_MSG_SESSION_ESTABLISHMENT_RESPONSE, 0,
                      seq);
        our_node_id(n, &n->tx->establishment_response.node_id);
        n->tx->establishment_response.cause = cause;
        n->tx->establishment_response.has_offending_ie = has_ie;
        n->tx->establishment_response.offending_ie = ie;
        break;
    case PFCP_MSG_SESSION_MODIFICATION_REQUEST:
        s = upf_sessions_find(n->conf.sessions, err->header.seid);
        pfcp_msg_init(n->tx, PFCP_MSG_SESSION_MODIFICATION_RESPONSE,
                      s ? upf_session_cp_seid(s) : 0, seq);
        n->tx->modification_response.cause = cause;
        n->tx->modification_response.has_offending_ie = has_ie;
        n->tx->modification_response.offending_ie = ie;
        break;
    case PFCP_MSG_SESSION_DELETION_REQUEST:
        s = upf_sessions_find(n->conf.sessions, err->header.seid);
        pfcp_msg_init(n->tx, PFCP_MSG_SESSION_DELETION_RESPONSE,
                      s ? upf_session_cp_seid(s) : 0, seq);
        n->tx->deletion_response.cause = cause;
        n->tx->deletion_response.has_offending_ie = has_ie;
        n->tx->deletion_response.offending_ie = ie;
        break;
    case PFCP_MSG_SESSION_REPORT_REQUEST:
        s = upf_sessions_find(n->conf.sessions, err->header.seid);
        pfcp_msg_init(n->tx, PFCP_MSG_SESSION_REPORT_RESPONSE,
                      s ? upf_session_cp_seid(s) : 0, seq);
        n->tx->report_response.cause = cause;
        n->tx->report_response.has_offending_ie = has_ie;
        n->tx->report_response.offending_ie = ie;
        break;
    default:
        /* A Heartbeat Request has no cause to answer with. */
        return;
    }
    send_response(n, peer);
}

/* ---- responses to our requests ------------------------------------------ */

static void
handle_response(struct upf_node *n, const struct sockaddr_in *peer,
                const uint8_t *buf, size_t size)
{
    struct pfcp_decode_error err;
    struct upf_pending *p;
    char text[64];

    for (p = n->pending; p; p = p->next) {
        if (p->seq == n->rx->header.sequence
            && p->to.sin_addr.s_addr == peer->sin_addr.s_addr
            && p->type + 1 == n->rx->header.type) {
            break;
        }
    }
    if (!p) {
        /* Late (after the last retransmission) or unsolicited. */
        return;
    }
    if (pfcp_decode(buf, size, n->rx, &err)) {
        metrics_counter_add(n->malformed, 1);
        vlog_write_rl(&rl_malformed, VLOG_LEVEL_WARN, MOD,
                      "malformed %s from %s: %s",
                      pfcp_msg_type_name(err.header.type),
                      peer_text(peer, text, sizeof text), err.text);
        return;
    }
    if (p->type == PFCP_MSG_HEARTBEAT_REQUEST && p->assoc >= 0
        && n->assocs[p->assoc].used) {
        struct upf_assoc *a = &n->assocs[p->assoc];

        a->heartbeat_pending = false;
        a->next_heartbeat_ns = vtime_mono_ns()
                               + (int64_t) n->conf.heartbeat_interval_ms
                                 * 1000000;
        check_recovery(n, p->assoc,
                       n->rx->heartbeat_response.recovery_time_stamp);
    } else if (p->type == PFCP_MSG_SESSION_REPORT_REQUEST) {
        struct upf_session *s = upf_sessions_find(n->conf.sessions, p->seid);

        if (s && n->rx->report_response.cause
                 == PFCP_CAUSE_SESSION_CONTEXT_NOT_FOUND) {
            vlog_write_rl(&rl_peer, VLOG_LEVEL_WARN, MOD, "session 0x%llx "
                          "unknown to its CP function: deleting it",
                          (unsigned long long) p->seid);
            upf_sessions_delete(n->conf.sessions, s, NULL);
        } else if (s) {
            upf_sessions_report_answered(n->conf.sessions, s);
        }
    }
    pending_unlink(n, p);
}

/* ---- input -------------------------------------------------------------- */

static void
handle_datagram(struct upf_node *n, const struct sockaddr_in *peer,
                const uint8_t *buf, size_t size)
{
    struct pfcp_decode_error err;
    struct pfcp_header header;
    const uint8_t *cached;
    size_t cached_size;
    char text[64];
    int ret;

    ret = pfcp_decode_header(buf, size, &header);
    if (ret == -EPROTONOSUPPORT) {
        metrics_counter_add(n->malformed, 1);
        pfcp_msg_init(n->tx, PFCP_MSG_VERSION_NOT_SUPPORTED_RESPONSE, 0,
                      header.sequence);
        send_response(n, peer);
        return;
    }
    if (ret) {
        metrics_counter_add(n->malformed, 1);
        vlog_write_rl(&rl_malformed, VLOG_LEVEL_WARN, MOD,
                      "dropped %zu bytes from %s: not a PFCP header", size,
                      peer_text(peer, text, sizeof text));
        return;
    }
    metrics_counter_add(n->received[header.type] ? n->received[header.type]
                                                 : n->received_other, 1);
    if (!pfcp_msg_type_is_request(header.type)) {
        n->rx->header = header;
        handle_response(n, peer, buf, size);
        return;
    }
    cached = upf_rcache_get(n->cache, peer, header.sequence, &cached_size,
                            vtime_mono_ns());
    if (cached) {
        metrics_counter_add(n->duplicates, 1);
        send_bytes(n, cached, cached_size, peer);
        return;
    }
    ret = pfcp_decode(buf, size, n->rx, &err);
    if (ret == -EOPNOTSUPP) {
        return;     /* a message type the UPF does not implement */
    }
    if (ret) {
        metrics_counter_add(n->malformed, 1);
        vlog_write_rl(&rl_malformed, VLOG_LEVEL_WARN, MOD,
                      "malformed %s from %s: %s (cause %s)",
                      pfcp_msg_type_name(err.header.type),
                      peer_text(peer, text, sizeof text), err.text,
                      pfcp_cause_name(err.cause));
        if (err.has_header) {
            reply_error(n, peer, &err);
        }
        return;
    }
    switch (header.type) {
    case PFCP_MSG_HEARTBEAT_REQUEST:
        handle_heartbeat(n, peer);
        break;
    case PFCP_MSG_ASSOCIATION_SETUP_REQUEST:
        handle_association_setup(n, peer);
        break;
    case PFCP_MSG_ASSOCIATION_UPDATE_REQUEST:
        handle_association_update(n, peer);
        break;
    case PFCP_MSG_ASSOCIATION_RELEASE_REQUEST:
        handle_association_release(n, peer);
        break;
    case PFCP_MSG_SESSION_ESTABLISHMENT_REQUEST:
        handle_establishment(n, peer);
        break;
    case PFCP_MSG_SESSION_MODIFICATION_REQUEST:
        handle_modification(n, peer);
        break;
    case PFCP_MSG_SESSION_DELETION_REQUEST:
        handle_deletion(n, peer);
        break;
    default: {
        /* A request a UPF does not serve (e.g. a Node Report Request,
         * which UPFs send): Service not supported. */
        struct pfcp_decode_error e = { .has_header = true, .header = header,
                                       .cause =
                                           PFCP_CAUSE_SERVICE_NOT_SUPPORTED };

        reply_error(n, peer, &e);
        break;
    }
    }
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
    struct upf_node *n = arg;

    (void) what;
    for (int i = 0; i < READ_BATCH; i++) {
        struct sockaddr_in peer;
        socklen_t length = sizeof peer;
        ssize_t got = recvfrom(fd, n->in, PFCP_MAX_MSG_SIZE, 0,
                               (struct sockaddr *) &peer, &length);

        if (got < 0) {
            return;     /* EAGAIN, or an ICMP error from a peer */
        }
        if (length != sizeof peer || peer.sin_family != AF_INET) {
            continue;
        }
        handle_datagram(n, &peer, n->in, (size_t) got);
    }
}

/* ---- timers ------------------------------------------------------------- */

static void
retransmit(struct upf_node *n, int64_t now_ns)
{
    struct upf_pending *p, *next;

    for (p = n->pending; p; p = next) {
        next = p->next;
        if (now_ns < p->deadline_ns) {
            continue;
        }
        if (p->retries < n->conf.n1) {
            p->retries++;
            p->deadline_ns = now_ns + (int64_t) n->conf.t1_ms * 1000000;
            metrics_counter_add(n->retransmitted, 1);
            send_bytes(n, p->msg, p->size, &p->to);
            continue;
        }
        metrics_counter_add(n->timed_out, 1);
        if (p->type == PFCP_MSG_HEARTBEAT_REQUEST && p->assoc >= 0
            && n->assocs[p->assoc].used) {
            char id[128];
            int i = p->assoc;

            pfcp_node_id_to_string(&n->assocs[i].node_id, id, sizeof id);
            VLOG_WARN(MOD, "peer %s answers no heartbeat: association and "
                      "its sessions deleted", id);
            metrics_counter_add(n->peers_lost, 1);
            /* drop_assoc() frees the pending requests of the peer, this
             * one and maybe 'next' too: restart the walk. */
            drop_assoc(n, i);
            next = n->pending;
            continue;
        }
        VLOG_WARN(MOD, "%s (seq %u) unanswered after %u retransmissions",
                  pfcp_msg_type_name(p->type), p->seq, n->conf.n1);
        pending_unlink(n, p);
    }
}

static void
send_heartbeats(struct upf_node *n, int64_t now_ns)
{
    if (!n->conf.heartbeat_interval_ms) {
        return;
    }
    for (unsigned int i = 0; i < n->conf.max_associations; i++) {
        struct upf_assoc *a = &n->assocs[i];

        if (!a->used || a->heartbeat_pending
            || now_ns < a->next_heartbeat_ns) {
            continue;
        }
        pfcp_msg_init(n->tx, PFCP_MSG_HEARTBEAT_REQUEST, 0, next_seq(n));
        n->tx->heartbeat_request.recovery_time_stamp =
            n->recovery_time_stamp;
        a->heartbeat_pending = true;
        send_request(n, (int) i, 0);
    }
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct upf_node *n = arg;
    int64_t now_ns = vtime_mono_ns();

    (void) fd;
    (void) what;
    upf_rcache_expire(n->cache, now_ns);
    retransmit(n, now_ns);
    send_heartbeats(n, now_ns);
    upf_sessions_tick(n->conf.sessions, now_ns, node_report, n);
}

/* Sends a Session Report Request for 'session' to its CP function. */
static void
node_report(void *arg, struct upf_session *session,
            const struct pfcp_report_request *report)
{
    struct upf_node *n = arg;
    const struct upf_assoc *a = upf_session_owner(session);
    int i = (int) (a - n->assocs);

    if (i < 0 || (unsigned int) i >= n->conf.max_associations
        || !a->used) {
        return;
    }
    pfcp_msg_init(n->tx, PFCP_MSG_SESSION_REPORT_REQUEST,
                  upf_session_cp_seid(session), next_seq(n));
    n->tx->report_request = *report;
    send_request(n, i, upf_session_seid(session));
}

void
upf_node_punt(void *arg, struct rte_mbuf *m)
{
    struct upf_node *n = arg;
    struct upf_mbuf_priv *priv = upf_mbuf_priv(m);
    const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
    struct upf_pkt_meta meta;
    uint32_t teid, peer;

    if (priv->reason == UPF_PUNT_BUFFER) {
        upf_sessions_buffer(n->conf.sessions, m, node_report, n);
        return;
    }
    if (upf_pkt_parse(frame, m->data_len, UPF_PKT_PARSE_L4, &meta)
            == UPF_PKT_OK
        && meta.kind == UPF_PKT_KIND_GTPU
        && meta.gtpu.type == UPF_PKT_GTPU_ERROR_INDICATION
        && !upf_pkt_parse_error_indication(frame + meta.gtpu.payload_offset,
                                           meta.gtpu.payload_size, &teid,
                                           &peer)) {
        upf_sessions_error_indication(n->conf.sessions, teid, peer,
                                      node_report, n);
    }
    rte_pktmbuf_free(m);
}

/* ---- setup -------------------------------------------------------------- */

static int
node_metrics(struct upf_node *n)
{
    struct metrics_registry *reg = n->conf.metrics;
    char labels[96];

    for (size_t i = 0; i < sizeof known_types; i++) {
        uint8_t t = known_types[i];

        snprintf(labels, sizeof labels, "type=\"%s\"", pfcp_msg_type_name(t));
        n->received[t] = metrics_counter_new(
            reg, "vigil_upf_pfcp_received_total",
            "PFCP messages received, by type.", labels);
        n->sent[t] = metrics_counter_new(
            reg, "vigil_upf_pfcp_sent_total",
            "PFCP messages sent (first transmissions), by type.", labels);
        if (!n->received[t] || !n->sent[t]) {
            return -ENOMEM;
        }
    }
    n->received_other = metrics_counter_new(
        reg, "vigil_upf_pfcp_received_total",
        "PFCP messages received, by type.", "type=\"other\"");
    n->malformed = metrics_counter_new(
        reg, "vigil_upf_pfcp_malformed_total",
        "PFCP messages refused by the decoder (answered with a cause when "
        "their header was readable).", NULL);
    n->error_responses = metrics_counter_new(
        reg, "vigil_upf_pfcp_error_responses_total",
        "Responses sent with a cause for a malformed or unserved request.",
        NULL);
    n->duplicates = metrics_counter_new(
        reg, "vigil_upf_pfcp_duplicates_total",
        "Retransmitted requests answered from the response cache.", NULL);
    n->retransmitted = metrics_counter_new(
        reg, "vigil_upf_pfcp_retransmissions_total",
        "Requests of ours sent again after T1.", NULL);
    n->timed_out = metrics_counter_new(
        reg, "vigil_upf_pfcp_requests_timed_out_total",
        "Requests of ours unanswered after N1 retransmissions.", NULL);
    n->send_failed = metrics_counter_new(
        reg, "vigil_upf_pfcp_send_failed_total",
        "Messages that could not be sent.", NULL);
    n->peers_lost = metrics_counter_new(
        reg, "vigil_upf_pfcp_peers_lost_total",
        "Associations dropped because the peer answered no heartbeat.",
        NULL);
    n->peers_restarted = metrics_counter_new(
        reg, "vigil_upf_pfcp_peers_restarted_total",
        "Peers seen with a new Recovery Time Stamp (their sessions were "
        "deleted).", NULL);
    n->associations = metrics_gauge_new(
        reg, "vigil_upf_pfcp_associations", "PFCP associations set up.",
        NULL);
    if (!n->received_other || !n->malformed || !n->error_responses
        || !n->duplicates || !n->retransmitted || !n->timed_out
        || !n->send_failed || !n->peers_lost || !n->peers_restarted
        || !n->associations) {
        return -ENOMEM;
    }
    return 0;
}

static int
node_socket(struct upf_node *n)
{
    struct sockaddr_in addr = { .sin_family = AF_INET };
    socklen_t length = sizeof addr;
    int fd;

    if (inet_pton(AF_INET, n->conf.address, &addr.sin_addr) != 1) {
        return -EINVAL;
    }
    addr.sin_port = htons(n->conf.port);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    if (bind(fd, (struct sockaddr *) &addr, sizeof addr)
        || getsockname(fd, (struct sockaddr *) &addr, &length)) {
        int ret = -errno;

        close(fd);
        return ret;
    }
    n->fd = fd;
    n->port = ntohs(addr.sin_port);
    return 0;
}

struct upf_node *
upf_node_new(const struct upf_node_conf *conf, int *error)
{
    struct upf_node *n = calloc(1, sizeof *n);
    struct timeval tick;
    int ret = -ENOMEM;

    if (!n) {
        goto out;
    }
    n->fd = -1;
    n->conf = *conf;
    n->conf.address = NULL;
    n->recovery_time_stamp = ntp_now();
    n->assocs = calloc(conf->max_associations ? conf->max_associations : 1,
                       sizeof *n->assocs);
    n->rx = malloc(sizeof *n->rx);
    n->tx = malloc(sizeof *n->tx);
    n->in = malloc(PFCP_MAX_MSG_SIZE);
    n->out = malloc(PFCP_MAX_MSG_SIZE);
    n->cache = upf_rcache_new(conf->cache_entries, PFCP_MAX_MSG_SIZE,
                              (int64_t) conf->cache_ttl_ms * 1000000);
    if (!n->assocs || !n->rx || !n->tx || !n->in || !n->out || !n->cache) {
        goto out;
    }
    ret = node_metrics(n);
    if (ret) {
        goto out;
    }
    n->conf.address = conf->address;
    ret = node_socket(n);
    n->conf.address = NULL;
    if (ret) {
        goto out;
    }
    ret = -ENOMEM;
    n->read_ev = event_new(conf->base, n->fd, EV_READ | EV_PERSIST, on_read,
                           n);
    n->timer_ev = event_new(conf->base, -1, EV_PERSIST, on_timer, n);
    tick.tv_sec = conf->tick_ms / 1000;
    tick.tv_usec = (suseconds_t) (conf->tick_ms % 1000) * 1000;
    if (!n->read_ev || !n->timer_ev || event_add(n->read_ev, NULL)
        || event_add(n->timer_ev, &tick)) {
        goto out;
    }
    return n;

out:
    upf_node_free(n);
    *error = ret;
    return NULL;
}

void
upf_node_free(struct upf_node *n)
{
    if (!n) {
        return;
    }
    if (n->read_ev) {
        event_free(n->read_ev);
    }
    if (n->timer_ev) {
        event_free(n->timer_ev);
    }
    if (n->fd >= 0) {
        close(n->fd);
    }
    while (n->pending) {
        pending_unlink(n, n->pending);
    }
    upf_rcache_free(n->cache);
    free(n->assocs);
    free(n->rx);
    free(n->tx);
    free(n->in);
    free(n->out);
    free(n);
}

uint16_t
upf_node_port(const struct upf_node *n)
{
    return n->port;
}

uint32_t
upf_node_recovery_time_stamp(const struct upf_node *n)
{
    return n->recovery_time_stamp;
}

json_t *
upf_node_associations_to_json(const struct upf_node *n)
{
    json_t *list = json_array();
    int64_t now = vtime_mono_ns();

    for (unsigned int i = 0; list && i < n->conf.max_associations; i++) {
        const struct upf_assoc *a = &n->assocs[i];
        char id[128], addr[64];
        json_t *o;

        if (!a->used) {
            continue;
        }
        pfcp_node_id_to_string(&a->node_id, id, sizeof id);
        o = json_pack("{s:s, s:s, s:I, s:f}", "node_id", id,
                      "address", peer_text(&a->addr, addr, sizeof addr),
                      "recovery_time_stamp",
                      (json_int_t) a->recovery_time_stamp,
                      "age_s", (double) (now - a->setup_ns) / 1e9);
        if (!o || json_array_append_new(list, o)) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}
