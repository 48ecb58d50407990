/* upf_session: the PFCP sessions of vigil-upf and their rules.
 *
 * A session holds what an SMF (or SGW-C/PGW-C) installed with Session
 * Establishment and Modification Requests -- PDRs, FARs, QERs, URRs, in a
 * compact form taken from the decoded messages (pfcp.h) -- and turns them
 * into the data plane's snapshots (struct upf_pdr_rt in upf_dp.h):
 *
 *   - a PDR from the access side is keyed by its local F-TEID (allocated
 *     here when the F-TEID has CH set, equal for equal CHOOSE IDs) in the
 *     uplink table; one from the core side by its UE IPv4 address in the
 *     downlink table. When two PDRs of a session share a key, the one with
 *     the lowest precedence value is installed (SDF filters are not
 *     evaluated; see docs/upf.md).
 *   - its FAR decides forward (decapsulate towards the core, or
 *     encapsulate with the Outer Header Creation towards the access side),
 *     drop, or buffer (downlink packets are held here, a Downlink Data
 *     Report is sent, and they are sent or dropped when the FAR changes).
 *   - its QERs' gates and MBRs (rte_meter trTCM) apply per direction; the
 *     first QER with a QFI gives the downlink PDU Session Container QFI.
 *   - its URRs measure forwarded volume and packets per direction, are
 *     reported on a volume threshold (VOLTH) or periodically (PERIO) with a
 *     Session Report Request, on a Query URR and on removal of the URR or
 *     the session.
 *
 * Every change is validated on a copy and applied all at once or not at
 * all: new snapshots are published, removed keys deleted, then after one
 * RCU grace period (upf_dp_synchronize) the old snapshots and removed
 * counters and meters are freed and usage is read exactly.
 *
 * Threading: main lcore only. */
#ifndef VIGIL_UPF_SESSION_H
#define VIGIL_UPF_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pfcp.h"

struct rte_mbuf;
struct upf_dp;
struct upf_session;
struct upf_sessions;

struct upf_sessions_conf {
    struct upf_dp *dp;
    uint32_t max_sessions;
    uint32_t n3_ipv4;           /* the F-TEID address (host order) */
    uint32_t meter_burst_ms;    /* MBR bucket depth, in ms at the rate */
    uint32_t buffer_packets;    /* downlink packets held per session */
};

/* Sends 'report' (a Session Report Request body) for 'session' to its
 * CP function. */
typedef void upf_session_report_fn(void *arg, struct upf_session *session,
                                   const struct pfcp_report_request *report);

struct upf_sessions_stats {
    uint64_t sessions;          /* now */
    uint64_t established;       /* since start */
    uint64_t modified;
    uint64_t deleted;
    uint64_t rejected;          /* establishments and modifications */
    uint64_t reports;           /* Session Report Requests asked for */
    uint64_t buffered;          /* downlink packets held */
    uint64_t buffer_dropped;
    uint64_t end_markers;       /* sent */
};

/* Creates the store. NULL with '*error' set. */
struct upf_sessions *upf_sessions_new(const struct upf_sessions_conf *conf,
                                      int *error);

/* Deletes every session (without reports) and frees the store. Accepts
 * NULL. */
void upf_sessions_free(struct upf_sessions *ss);

/* Establishes the session 'req' asks for, owned by 'owner' (the PFCP
 * association: sessions of an owner can be deleted together). Fills
 * 'resp' (cause, Offending IE or Failed Rule ID, Created PDRs; the caller
 * adds the Node ID and the F-SEID address) and returns 0 with '*session'
 * set, or a negative errno when the request was rejected (the cause is in
 * 'resp'). */
int upf_sessions_establish(struct upf_sessions *ss, const void *owner,
                           const struct pfcp_establishment_request *req,
                           struct pfcp_establishment_response *resp,
                           struct upf_session **session);

/* Applies 'req' to 'session', all or nothing, filling 'resp' (cause,
 * Created PDRs, Usage Reports for queried and removed URRs). 0 or a
 * negative errno (rejected, 'session' unchanged). */
int upf_sessions_modify(struct upf_sessions *ss, struct upf_session *session,
                        const struct pfcp_modification_request *req,
                        struct pfcp_modification_response *resp);

/* Deletes 'session'; when 'resp' is not NULL fills in the final Usage
 * Reports (trigger TERMR) and the cause. */
void upf_sessions_delete(struct upf_sessions *ss, struct upf_session *session,
                         struct pfcp_deletion_response *resp);

/* Deletes every session of 'owner' (association release or loss). */
void upf_sessions_delete_owner(struct upf_sessions *ss, const void *owner);

/* The session with the UP SEID 'seid', or NULL. */
struct upf_session *upf_sessions_find(const struct upf_sessions *ss,
                                      uint64_t seid);

/* Measures the URRs with thresholds or periods and calls 'report' for
 * each session that has something to report; 'now_ns' is
 * CLOCK_MONOTONIC. Call periodically. */
void upf_sessions_tick(struct upf_sessions *ss, int64_t now_ns,
                       upf_session_report_fn *report, void *arg);

/* Takes a downlink packet punted for a buffering FAR (UPF_PUNT_BUFFER):
 * holds it (up to buffer_packets per session, else drops it) and asks
 * 'report' for a Downlink Data Report on the first one. Takes ownership. */
void upf_sessions_buffer(struct upf_sessions *ss, struct rte_mbuf *m,
                         upf_session_report_fn *report, void *arg);

/* An Error Indication from peer 'peer_ipv4' for 'teid': when a session
 * sends to that F-TEID, 'report' gets an Error Indication Report for it.
 * 0, or -ENOENT when no session uses it. */
int upf_sessions_error_indication(struct upf_sessions *ss, uint32_t teid,
                                  uint32_t peer_ipv4,
                                  upf_session_report_fn *report, void *arg);

/* Called when the CP function answered a Session Report Request about
 * 'session' (lets a new Downlink Data Report be sent later). */
void upf_sessions_report_answered(struct upf_sessions *ss,
                                  struct upf_session *session);

void upf_sessions_get_stats(const struct upf_sessions *ss,
                            struct upf_sessions_stats *stats);

/* Accessors. */
uint64_t upf_session_seid(const struct upf_session *session);
uint64_t upf_session_cp_seid(const struct upf_session *session);
const void *upf_session_owner(const struct upf_session *session);

/* The session as JSON (SEIDs, rules, per-PDR counters), for the REST
 * API. NULL on allocation failure. */
json_t *upf_session_to_json(const struct upf_sessions *ss,
                            const struct upf_session *session);

/* The first 'limit' sessions (in creation order) as a JSON array of
 * summaries. NULL on allocation failure. */
json_t *upf_sessions_to_json(const struct upf_sessions *ss, size_t limit);

#endif
