/* Unit tests for the monitor's heartbeats: heartbeat_wire (a known-answer
 * packet from an independent HMAC implementation, every corruption and
 * truncation refused, key files), heartbeat_detect (the k-of-n decision
 * and the steady run, replays, incarnations, leaving; a 10-minute
 * simulation at 5 % random loss with the defaults gives no false alarm
 * while a smaller k does; detection time equals the formula), and
 * heartbeat on a real loop over 127.0.0.1: a sender that dies is reported
 * down with the Doctor details, its restart (a new incarnation) up again,
 * forged, replayed, stale and unknown packets are counted and change
 * nothing, a clean stop is not a fault. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "doctor_event.h"
#include "heartbeat.h"
#include "heartbeat_detect.h"
#include "heartbeat_wire.h"
#include "vlog.h"
#include "vtime.h"
#include "vuuid.h"

#define MS 1000000LL
#define KEY "0123456789abcdef0123456789abcdef"

/* The defaults of vigil-monitor (see monitor/README.md). */
static const struct heartbeat_detect_params default_params = {
    .grace_ns = 2 * MS, .k = 7, .n = 7, .up_run = 20,
};
#define DEFAULT_INTERVAL_NS (5 * MS)

/* ---- heartbeat_wire --------------------------------------------------- */

/* Computed with Python's hmac module (HMAC-SHA256, first 16 bytes):
 * hostname "compute-1", interval 5000 us, incarnation 0x0102030405060708,
 * seq 42, send_ns 1000, key KEY. */
static const uint8_t known_packet[] = {
    0x56, 0x47, 0x48, 0x42, 0x01, 0x00, 0x09, 0x00, 0x00, 0x00, 0x13, 0x88,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8,
    0x63, 0x6f, 0x6d, 0x70, 0x75, 0x74, 0x65, 0x2d, 0x31, 0x4e, 0xb5, 0x24,
    0xdd, 0x77, 0x1b, 0x35, 0xf5, 0x3e, 0x2f, 0xd5, 0x6c, 0x1e, 0x30, 0x61,
    0x15,
};

static void
make_key(struct heartbeat_wire_key *key, const char *text)
{
    assert_int_equal(heartbeat_wire_key_set(key, text, strlen(text)), 0);
}

static void
known_packet_fields(struct heartbeat_wire_packet *p)
{
    memset(p, 0, sizeof *p);
    p->interval_us = 5000;
    p->incarnation = UINT64_C(0x0102030405060708);
    p->seq = 42;
    p->send_ns = 1000;
    snprintf(p->hostname, sizeof p->hostname, "compute-1");
}

static void
test_wire_known_answer(void **state)
{
    struct heartbeat_wire_packet in, out;
    struct heartbeat_wire_key key;
    uint8_t buf[HEARTBEAT_WIRE_MAX_SIZE];
    int size;

    (void) state;
    make_key(&key, KEY);
    known_packet_fields(&in);
    size = heartbeat_wire_encode(&in, &key, buf, sizeof buf);
    assert_int_equal(size, sizeof known_packet);
    assert_memory_equal(buf, known_packet, sizeof known_packet);
    assert_int_equal(heartbeat_wire_decode(known_packet, sizeof known_packet,
                                           &key, &out, NULL), 0);
    assert_int_equal(out.flags, 0);
    assert_int_equal(out.interval_us, 5000);
    assert_true(out.incarnation == UINT64_C(0x0102030405060708));
    assert_true(out.seq == 42);
    assert_true(out.send_ns == 1000);
    assert_string_equal(out.hostname, "compute-1");
    /* A buffer one byte short is refused. */
    assert_int_equal(heartbeat_wire_encode(&in, &key, buf, size - 1),
                     -ENOBUFS);
}

static void
test_wire_every_corruption_refused(void **state)
{
    struct heartbeat_wire_packet out;
    struct heartbeat_wire_key key, other;
    enum heartbeat_wire_error error;
    uint8_t buf[HEARTBEAT_WIRE_MAX_SIZE + 8];

    (void) state;
    make_key(&key, KEY);
    make_key(&other, "another key of 32 bytes, 0123456");
    /* Every bit of every byte. */
    for (size_t i = 0; i < sizeof known_packet; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(buf, known_packet, sizeof known_packet);
            buf[i] ^= (uint8_t) (1u << bit);
            memset(&out, 0x5a, sizeof out);
            assert_int_equal(heartbeat_wire_decode(buf, sizeof known_packet,
                                                   &key, &out, &error),
                             -EBADMSG);
            /* Nothing written on failure. */
            assert_int_equal(((uint8_t *) &out)[0], 0x5a);
            if (i == 4) {
                assert_int_equal(error, HEARTBEAT_WIRE_BAD_VERSION);
            } else if (i < 4 || i == 6) {
                assert_int_equal(error, HEARTBEAT_WIRE_MALFORMED);
            } else {
                assert_int_equal(error, HEARTBEAT_WIRE_BAD_MAC);
            }
        }
    }
    /* Every truncation, and one byte too many. */
    for (size_t size = 0; size < sizeof known_packet; size++) {
        assert_int_equal(heartbeat_wire_decode(known_packet, size, &key, &out,
                                               &error), -EBADMSG);
        assert_int_equal(error, HEARTBEAT_WIRE_MALFORMED);
    }
    memcpy(buf, known_packet, sizeof known_packet);
    buf[sizeof known_packet] = 0;
    assert_int_equal(heartbeat_wire_decode(buf, sizeof known_packet + 1, &key,
                                           &out, &error), -EBADMSG);
    assert_int_equal(error, HEARTBEAT_WIRE_MALFORMED);
    /* The wrong key. */
    assert_int_equal(heartbeat_wire_decode(known_packet, sizeof known_packet,
                                           &other, &out, &error), -EBADMSG);
    assert_int_equal(error, HEARTBEAT_WIRE_BAD_MAC);
    /* Oversized datagrams. */
    memset(buf, 0, sizeof buf);
    assert_int_equal(heartbeat_wire_decode(buf, sizeof buf, &key, &out,
                                           &error), -EBADMSG);
    assert_int_equal(error, HEARTBEAT_WIRE_MALFORMED);
    assert_string_equal(heartbeat_wire_error_name(error), "malformed");
    assert_null(heartbeat_wire_error_name(HEARTBEAT_WIRE_ERROR_COUNT));
}

static void
test_wire_fields_checked(void **state)
{
    struct heartbeat_wire_packet p;
    struct heartbeat_wire_key key;
    uint8_t buf[HEARTBEAT_WIRE_MAX_SIZE];
    char name[300];

    (void) state;
    make_key(&key, KEY);
    known_packet_fields(&p);
    p.interval_us = HEARTBEAT_WIRE_MIN_INTERVAL_US - 1;
    assert_int_equal(heartbeat_wire_encode(&p, &key, buf, sizeof buf),
                     -EINVAL);
    p.interval_us = HEARTBEAT_WIRE_MAX_INTERVAL_US + 1;
    assert_int_equal(heartbeat_wire_encode(&p, &key, buf, sizeof buf),
                     -EINVAL);
    known_packet_fields(&p);
    p.flags = 0x80;
    assert_int_equal(heartbeat_wire_encode(&p, &key, buf, sizeof buf),
                     -EINVAL);
    known_packet_fields(&p);
    snprintf(p.hostname, sizeof p.hostname, "bad host");
    assert_int_equal(heartbeat_wire_encode(&p, &key, buf, sizeof buf),
                     -EINVAL);
    /* The longest host name fits the largest packet. */
    memset(name, 'h', 255);
    name[255] = '\0';
    known_packet_fields(&p);
    memcpy(p.hostname, name, 256);
    p.flags = HEARTBEAT_WIRE_LEAVING;
    assert_int_equal(heartbeat_wire_encode(&p, &key, buf, sizeof buf),
                     HEARTBEAT_WIRE_MAX_SIZE);
    memset(&p, 0, sizeof p);
    assert_int_equal(heartbeat_wire_decode(buf, HEARTBEAT_WIRE_MAX_SIZE, &key,
                                           &p, NULL), 0);
    assert_int_equal(p.flags, HEARTBEAT_WIRE_LEAVING);
    assert_int_equal(strlen(p.hostname), 255);

    assert_true(heartbeat_wire_hostname_valid("compute-1.example_net"));
    assert_false(heartbeat_wire_hostname_valid(""));
    assert_false(heartbeat_wire_hostname_valid("a\"b"));
    assert_false(heartbeat_wire_hostname_valid("a/b"));
    name[255] = 'h';
    name[256] = '\0';
    assert_false(heartbeat_wire_hostname_valid(name));
    assert_int_equal(heartbeat_wire_key_set(&key, "short", 5), -EINVAL);
}

static void
write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

static void
test_wire_key_file(void **state)
{
    char path[] = "/tmp/vigil-hbkey-XXXXXX";
    struct heartbeat_wire_key key, direct;
    char big[HEARTBEAT_WIRE_MAX_KEY_SIZE + 2];
    int fd;

    (void) state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, KEY "\r\n", strlen(KEY) + 2);
    assert_int_equal(heartbeat_wire_key_load(&key, path), 0);
    make_key(&direct, KEY);
    assert_int_equal(key.size, direct.size);
    assert_memory_equal(key.bytes, direct.bytes, key.size);
    write_file(path, "too short\n", 10);
    assert_int_equal(heartbeat_wire_key_load(&key, path), -EINVAL);
    memset(big, 'k', sizeof big);
    write_file(path, big, sizeof big);
    assert_int_equal(heartbeat_wire_key_load(&key, path), -EFBIG);
    /* Exactly the largest key, with a newline. */
    big[HEARTBEAT_WIRE_MAX_KEY_SIZE] = '\n';
    write_file(path, big, HEARTBEAT_WIRE_MAX_KEY_SIZE + 1);
    assert_int_equal(heartbeat_wire_key_load(&key, path), 0);
    assert_int_equal(key.size, HEARTBEAT_WIRE_MAX_KEY_SIZE);
    unlink(path);
    assert_int_equal(heartbeat_wire_key_load(&key, path), -ENOENT);
}

/* ---- heartbeat_detect ------------------------------------------------- */

static enum heartbeat_detect_verdict
beat(struct heartbeat_detect_peer *peer,
     const struct heartbeat_detect_params *params, uint64_t incarnation,
     uint64_t seq, int64_t now, struct heartbeat_detect_change *change)
{
    struct heartbeat_detect_beat b = {
        .incarnation = incarnation, .seq = seq,
        .interval_ns = DEFAULT_INTERVAL_NS, .leaving = false,
    };

    return heartbeat_detect_receive(peer, params, &b, now, change);
}

/* A peer made UP by 'count' heartbeats from seq 0 at 0, I, 2I, ... */
static int64_t
bring_up(struct heartbeat_detect_peer *peer,
         const struct heartbeat_detect_params *params, unsigned int count)
{
    struct heartbeat_detect_change change;
    int64_t t = 0;

    memset(peer, 0, sizeof *peer);
    for (unsigned int seq = 0; seq < count; seq++) {
        t = (int64_t) seq * DEFAULT_INTERVAL_NS;
        assert_int_equal(beat(peer, params, 7, seq, t, &change),
                         seq ? HEARTBEAT_DETECT_ACCEPTED
                         : HEARTBEAT_DETECT_NEW_INCARNATION);
        if (seq + 1 < params->up_run) {
            assert_int_equal(peer->state, HEARTBEAT_DETECT_UNKNOWN);
        }
    }
    assert_int_equal(peer->state, HEARTBEAT_DETECT_UP);
    return t;
}

static void
test_detect_down_at_formula(void **state)
{
    const struct heartbeat_detect_params *p = &default_params;
    struct heartbeat_detect_change change;
    struct heartbeat_detect_peer peer;
    int64_t last, down_at;

    (void) state;
    assert_true(heartbeat_detect_params_valid(p));
    last = bring_up(&peer, p, 30);
    assert_int_equal(heartbeat_detect_run(&peer), 30);
    assert_int_equal(heartbeat_detect_missing(&peer, p, last), 0);
    /* Nothing more arrives: down at last + grace + k * interval. */
    down_at = heartbeat_detect_down_at(&peer, p);
    assert_true(down_at == last + p->grace_ns + 7 * DEFAULT_INTERVAL_NS);
    assert_false(heartbeat_detect_evaluate(&peer, p, down_at - 1, &change));
    assert_int_equal(change.missing, 6);
    assert_int_equal(peer.state, HEARTBEAT_DETECT_UP);
    assert_true(heartbeat_detect_evaluate(&peer, p, down_at, &change));
    assert_int_equal(change.from, HEARTBEAT_DETECT_UP);
    assert_int_equal(change.to, HEARTBEAT_DETECT_DOWN);
    assert_int_equal(change.missing, 7);
    assert_true(change.silent_ns == down_at - last);
    assert_true(heartbeat_detect_down_at(&peer, p) == INT64_MAX);
    /* A DOWN peer stays down without heartbeats. */
    assert_false(heartbeat_detect_evaluate(&peer, p, down_at + 1000 * MS,
                                           &change));
}

static void
test_detect_late_heartbeat_counts(void **state)
{
    /* 7 of 8: one late heartbeat makes the difference. */
    const struct heartbeat_detect_params p = {
        .grace_ns = 2 * MS, .k = 7, .n = 8, .up_run = 20,
    };
    struct heartbeat_detect_change change;
    struct heartbeat_detect_peer peer;
    int64_t last;

    (void) state;
    last = bring_up(&peer, &p, 20);         /* seqs 0..19 */
    /* 20..25 lost, 26 arrives on time: 6 missing of the last 8. */
    assert_int_equal(beat(&peer, &p, 7, 26, last + 7 * DEFAULT_INTERVAL_NS,
                          &change), HEARTBEAT_DETECT_ACCEPTED);
    assert_true(change.gap == 6);
    assert_int_equal(change.to, HEARTBEAT_DETECT_UP);
    last += 7 * DEFAULT_INTERVAL_NS;
    assert_int_equal(heartbeat_detect_missing(&peer, &p, last), 6);
    /* One overdue slot would make 7... */
    assert_true(heartbeat_detect_down_at(&peer, &p) ==
                last + p.grace_ns + DEFAULT_INTERVAL_NS);
    /* ...but 25 arrives late: it counts from then on, and now only 7
     * overdue heartbeats in a row make the peer down. */
    assert_int_equal(beat(&peer, &p, 7, 25, last + MS, &change),
                     HEARTBEAT_DETECT_ACCEPTED);
    assert_int_equal(heartbeat_detect_missing(&peer, &p, last + MS), 5);
    assert_true(heartbeat_detect_down_at(&peer, &p) ==
                last + p.grace_ns + 7 * DEFAULT_INTERVAL_NS);
    /* A replay of it, or of anything received in the window, changes
     * nothing (seq 3 is still inside the 64-heartbeat window). */
    assert_int_equal(beat(&peer, &p, 7, 25, last + 2 * MS, &change),
                     HEARTBEAT_DETECT_REPLAYED);
    assert_int_equal(beat(&peer, &p, 7, 26, last + 2 * MS, &change),
                     HEARTBEAT_DETECT_REPLAYED);
    assert_int_equal(beat(&peer, &p, 7, 3, last + 2 * MS, &change),
                     HEARTBEAT_DETECT_REPLAYED);
    assert_int_equal(heartbeat_detect_missing(&peer, &p, last + MS), 5);
    assert_true(peer.last_seq == 26);

    /* With n = k (the default), only k in a row count: after 26 the
     * gap before it no longer matters. */
    last = bring_up(&peer, &default_params, 20);
    beat(&peer, &default_params, 7, 26, last + 7 * DEFAULT_INTERVAL_NS,
         &change);
    last += 7 * DEFAULT_INTERVAL_NS;
    assert_int_equal(heartbeat_detect_missing(&peer, &default_params, last),
                     6);
    assert_true(heartbeat_detect_down_at(&peer, &default_params) ==
                last + default_params.grace_ns + 7 * DEFAULT_INTERVAL_NS);
}

static void
test_detect_too_old_and_stale(void **state)
{
    const struct heartbeat_detect_params *p = &default_params;
    struct heartbeat_detect_change change;
    struct heartbeat_detect_peer peer, before;
    int64_t last;

    (void) state;
    last = bring_up(&peer, p, 100);          /* seqs 0..99 */
    before = peer;
    assert_int_equal(beat(&peer, p, 7, 99 - 64, last, &change),
                     HEARTBEAT_DETECT_TOO_OLD);
    assert_int_equal(beat(&peer, p, 6, 1000, last, &change),
                     HEARTBEAT_DETECT_STALE);
    assert_memory_equal(&peer, &before, sizeof peer);
    assert_int_equal(change.from, change.to);
    assert_string_equal(heartbeat_detect_verdict_name(
                            HEARTBEAT_DETECT_STALE), "stale");
    assert_null(heartbeat_detect_verdict_name(
                    HEARTBEAT_DETECT_VERDICT_COUNT));
}

static void
test_detect_up_after_steady_run(void **state)
{
    const struct heartbeat_detect_params *p = &default_params;
    struct heartbeat_detect_change change;
    struct heartbeat_detect_peer peer;
    int64_t t;
    uint64_t seq;

    (void) state;
    t = bring_up(&peer, p, 20);
    assert_true(heartbeat_detect_evaluate(&peer, p, t + 100 * MS, &change));
    assert_int_equal(peer.state, HEARTBEAT_DETECT_DOWN);
    /* The sender comes back (it was stopped: its slots moved on). A gap
     * in the run starts it again. */
    t += 500 * MS;
    seq = 19 + 100;
    for (unsigned int i = 0; i < 10; i++, seq++, t += DEFAULT_INTERVAL_NS) {
        beat(&peer, p, 7, seq, t, &change);
    }
    seq++;                                   /* one lost */
    for (unsigned int i = 0; i < 19; i++, seq++, t += DEFAULT_INTERVAL_NS) {
        beat(&peer, p, 7, seq, t, &change);
        assert_int_equal(peer.state, HEARTBEAT_DETECT_DOWN);
    }
    assert_int_equal(heartbeat_detect_run(&peer), 19);
    beat(&peer, p, 7, seq, t, &change);
    assert_int_equal(change.from, HEARTBEAT_DETECT_DOWN);
    assert_int_equal(change.to, HEARTBEAT_DETECT_UP);
    assert_int_equal(change.run, 20);
    assert_false(change.restarted);
    /* The window starts afresh: the lost one no longer counts. */
    assert_int_equal(heartbeat_detect_missing(&peer, p, t), 0);
    assert_true(heartbeat_detect_down_at(&peer, p) ==
                t + p->grace_ns + 7 * DEFAULT_INTERVAL_NS);
}

static void
test_detect_incarnations(void **state)
{
    const struct heartbeat_detect_params *p = &default_params;
    struct heartbeat_detect_change change;
    struct heartbeat_detect_peer peer;
    int64_t t;

    (void) state;
    t = bring_up(&peer, p, 40);
    /* A quick restart (faster than detection): stays UP, new window. */
    t += DEFAULT_INTERVAL_NS;
    assert_int_equal(beat(&peer, p, 8, 0, t, &change),
                     HEARTBEAT_DETECT_NEW_INCARNATION);
    assert_true(change.restarted);
    assert_int_equal(change.to, HEARTBEAT_DETECT_UP);
    assert_int_equal(heartbeat_detect_missing(&peer, p, t), 0);
    assert_int_equal(heartbeat_detect_run(&peer), 1);
    /* The old incarnation is refused from now on. */
    assert_int_equal(beat(&peer, p, 7, 41, t, &change),
                     HEARTBEAT_DETECT_STALE);
    /* A slow restart: down, then the new incarnation's run brings it up. */
    assert_true(heartbeat_detect_evaluate(&peer, p, t + 60 * MS, &change));
    t += 2000 * MS;
    for (uint64_t seq = 0; seq < 20; seq++, t += DEFAULT_INTERVAL_NS) {
        assert_int_equal(beat(&peer, p, 9, seq, t, &change),
                         seq ? HEARTBEAT_DETECT_ACCEPTED
                         : HEARTBEAT_DETECT_NEW_INCARNATION);
        if (seq == 0) {
            assert_true(change.restarted);
        }
        assert_int_equal(change.to, seq < 19 ? HEARTBEAT_DETECT_DOWN
                                              : HEARTBEAT_DETECT_UP);
    }
}

static void
test_detect_leaving(void **state)
{
    const struct heartbeat_detect_params *p = &default_params;
    struct heartbeat_detect_change change;
    struct heartbeat_detect_peer peer;
    struct heartbeat_detect_beat b = {
        .incarnation = 7, .seq = 30, .interval_ns = DEFAULT_INTERVAL_NS,
        .leaving = true,
    };
    int64_t t;

    (void) state;
    t = bring_up(&peer, p, 30);
    assert_int_equal(heartbeat_detect_receive(&peer, p, &b, t + MS, &change),
                     HEARTBEAT_DETECT_ACCEPTED);
    assert_int_equal(change.to, HEARTBEAT_DETECT_LEFT);
    assert_true(heartbeat_detect_down_at(&peer, p) == INT64_MAX);
    assert_false(heartbeat_detect_evaluate(&peer, p, t + 10000 * MS,
                                           &change));
    assert_int_equal(peer.state, HEARTBEAT_DETECT_LEFT);
    assert_string_equal(heartbeat_detect_state_name(peer.state), "left");
}

static void
test_detect_k_of_n(void **state)
{
    const struct heartbeat_detect_params p = {
        .grace_ns = 2 * MS, .k = 3, .n = 8, .up_run = 4,
    };
    struct heartbeat_detect_change change;
    struct heartbeat_detect_peer peer;
    int64_t t;

    (void) state;
    assert_true(heartbeat_detect_params_valid(&p));
    t = bring_up(&peer, &p, 4);              /* 0..3 */
    /* Two scattered losses in the window: still up. */
    t += 2 * DEFAULT_INTERVAL_NS;
    beat(&peer, &p, 7, 5, t, &change);       /* 4 lost */
    t += 2 * DEFAULT_INTERVAL_NS;
    beat(&peer, &p, 7, 7, t, &change);       /* 6 lost */
    assert_int_equal(change.to, HEARTBEAT_DETECT_UP);
    assert_int_equal(heartbeat_detect_missing(&peer, &p, t), 2);
    /* A third in the last 8: down, although heartbeats keep coming. */
    t += 2 * DEFAULT_INTERVAL_NS;
    beat(&peer, &p, 7, 9, t, &change);       /* 8 lost */
    assert_int_equal(change.from, HEARTBEAT_DETECT_UP);
    assert_int_equal(change.to, HEARTBEAT_DETECT_DOWN);
    assert_int_equal(change.missing, 3);

    /* Invalid parameters. */
    struct heartbeat_detect_params bad = p;
    bad.k = 9;
    assert_false(heartbeat_detect_params_valid(&bad));
    bad = p;
    bad.n = 65;
    assert_false(heartbeat_detect_params_valid(&bad));
    bad = p;
    bad.up_run = 0;
    assert_false(heartbeat_detect_params_valid(&bad));
}

/* xorshift64*: a fixed, portable stream of random numbers. */
static uint64_t
rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

/* Feeds 'slots' heartbeats at 'interval', each lost with probability
 * 'loss_permille', each delayed by 50 us + up to 'jitter_ns'; evaluates
 * the peer exactly when the observer's timer would. Returns the number of
 * times the peer went DOWN. */
static unsigned int
simulate(const struct heartbeat_detect_params *p, int64_t interval,
         uint64_t slots, unsigned int loss_permille, int64_t jitter_ns,
         uint64_t seed)
{
    struct heartbeat_detect_change change;
    struct heartbeat_detect_peer peer;
    struct heartbeat_detect_beat b = { .incarnation = 1,
                                       .interval_ns = interval };
    unsigned int downs = 0;

    memset(&peer, 0, sizeof peer);
    for (uint64_t seq = 0; seq < slots; seq++) {
        int64_t arrival = (int64_t) seq * interval + 50000 +
                          (int64_t) (rng_next(&seed) % (uint64_t)
                                     (jitter_ns + 1));
        int64_t due = heartbeat_detect_down_at(&peer, p);

        if (due <= arrival &&
            heartbeat_detect_evaluate(&peer, p, due, &change)) {
            downs++;
        }
        if (rng_next(&seed) % 1000 < loss_permille) {
            continue;
        }
        b.seq = seq;
        heartbeat_detect_receive(&peer, p, &b, arrival, &change);
        if (change.to == HEARTBEAT_DETECT_DOWN &&
            change.from != HEARTBEAT_DETECT_DOWN) {
            downs++;
        }
    }
    return downs;
}

static void
test_detect_no_false_alarm_at_5_percent_loss(void **state)
{
    const uint64_t ten_minutes = 600 * 1000 / 5;      /* 5 ms slots */
    struct heartbeat_detect_params small = default_params;
    unsigned int downs;

    (void) state;
    /* The defaults: expected 120,000 * 0.95 * 0.05^7 = 9e-5 per peer. */
    for (uint64_t seed = 1; seed <= 4; seed++) {
        assert_int_equal(simulate(&default_params, DEFAULT_INTERVAL_NS,
                                  ten_minutes, 50, 1 * MS, seed), 0);
    }
    /* The same loss with k = n = 3: expected 120,000 * 0.95 * 0.05^3 =
     * 14 false alarms; the simulation does count them. */
    small.k = small.n = 3;
    small.up_run = 3;
    downs = simulate(&small, DEFAULT_INTERVAL_NS, ten_minutes, 50, 1 * MS,
                     1);
    assert_true(downs >= 4 && downs <= 40);
}

static void
test_detect_detection_time(void **state)
{
    const struct heartbeat_detect_params *p = &default_params;
    struct heartbeat_detect_change change;
    struct heartbeat_detect_peer peer;
    uint64_t seed = 42;

    (void) state;
    /* The sender dies at a random point of its last slot; the observer
     * decides (k-1) * I + grace .. k * I + grace after the death, plus
     * the latency of the last heartbeat. */
    for (int round = 0; round < 1000; round++) {
        int64_t last = bring_up(&peer, p, 20);
        int64_t death = last + (int64_t) (rng_next(&seed) %
                                          DEFAULT_INTERVAL_NS);
        int64_t due = heartbeat_detect_down_at(&peer, p);

        assert_true(due - death > 6 * DEFAULT_INTERVAL_NS + p->grace_ns);
        assert_true(due - death <= 7 * DEFAULT_INTERVAL_NS + p->grace_ns);
        assert_true(due - death <= 37 * MS);
        assert_true(heartbeat_detect_evaluate(&peer, p, due, &change));
    }
}

/* ---- heartbeat on a loop ----------------------------------------------- */

#define MAX_CAPTURED 16

struct captured {
    char type[DOCTOR_TYPE_SIZE];
    char hostname[DOCTOR_HOSTNAME_SIZE];
    int64_t t01;
    json_t *details;
};

struct capture {
    struct captured events[MAX_CAPTURED];
    size_t length;
};

static void
on_event(const struct doctor_event *ev, void *arg)
{
    struct capture *c = arg;
    struct captured *e;

    assert_true(c->length < MAX_CAPTURED);
    e = &c->events[c->length++];
    snprintf(e->type, sizeof e->type, "%s", ev->type);
    snprintf(e->hostname, sizeof e->hostname, "%s", ev->hostname);
    e->t01 = ev->stamps[DOCTOR_T01];
    e->details = json_deep_copy(ev->details);
    assert_non_null(e->details);
}

static void
capture_clear(struct capture *c)
{
    for (size_t i = 0; i < c->length; i++) {
        json_decref(c->events[i].details);
    }
    c->length = 0;
}

static const char *
detail_string(const struct captured *e, const char *key)
{
    const char *v = json_string_value(json_object_get(e->details, key));

    assert_non_null(v);
    return v;
}

static json_int_t
detail_int(const struct captured *e, const char *key)
{
    json_t *v = json_object_get(e->details, key);

    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

/* Runs 'base' until 'done(arg)' or 'timeout_ms' (the fixture's tick
 * bounds each round). */
static bool
run_until(struct event_base *base, bool (*done)(void *), void *arg,
          int64_t timeout_ms)
{
    int64_t deadline = vtime_mono_ns() + timeout_ms * MS;

    while (!done(arg)) {
        if (vtime_mono_ns() >= deadline) {
            return false;
        }
        event_base_loop(base, EVLOOP_ONCE);
    }
    return true;
}

static void
run_for(struct event_base *base, int64_t ms)
{
    int64_t deadline = vtime_mono_ns() + ms * MS;

    while (vtime_mono_ns() < deadline) {
        event_base_loop(base, EVLOOP_ONCE);
    }
}

struct peer_wait {
    struct heartbeat *observer;
    const char *name;
    enum heartbeat_detect_state state;
};

static bool
peer_in_state(void *arg)
{
    struct peer_wait *w = arg;
    enum heartbeat_detect_state state;

    return heartbeat_peer_state(w->observer, w->name, &state) == 0 &&
           state == w->state;
}

struct event_wait {
    struct capture *capture;
    size_t count;
};

static bool
has_events(void *arg)
{
    struct event_wait *w = arg;

    return w->capture->length >= w->count;
}

struct loop_fixture {
    struct event_base *base;
    struct event *tick;              /* wakes the loop every 10 ms */
    struct heartbeat_wire_key key;
    struct heartbeat *observer;      /* "host-b", observes "host-a" */
    struct capture capture;
    char destination[64];
};

static struct heartbeat *
start_sender(struct loop_fixture *f, bool announce_leave)
{
    const char *destinations[] = { f->destination };
    struct heartbeat_options o = {
        .hostname = "host-a", .key = &f->key, .interval_us = 5000,
        .dscp = 48, .announce_leave = announce_leave,
        .realtime_priority = 1,
        .destinations = destinations, .destinations_length = 1,
    };
    struct heartbeat *hb;
    int err = 0;

    hb = heartbeat_new(f->base, &o, on_event, &f->capture, &err);
    assert_int_equal(err, 0);
    assert_non_null(hb);
    assert_int_equal(heartbeat_port(hb), 0);
    return hb;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    (void) arg;
}

static int
loop_setup(void **state)
{
    struct loop_fixture *f = calloc(1, sizeof *f);
    struct timeval tick = { 0, 10000 };
    const char *peers[] = { "host-a", "host-c" };
    struct heartbeat_options o = {
        .hostname = "host-b", .interval_us = 5000, .dscp = -1,
        .listen = "127.0.0.1:0", .peers = peers, .peers_length = 2,
        /* A generous grace: the test machine may be loaded. */
        .detect = { .grace_ns = 20 * MS, .k = 7, .n = 7, .up_run = 10 },
        .metrics = NULL,
    };
    int err = 0;

    assert_non_null(f);
    make_key(&f->key, KEY);
    o.key = &f->key;
    f->base = event_base_new();
    assert_non_null(f->base);
    f->tick = event_new(f->base, -1, EV_PERSIST, on_tick, NULL);
    assert_non_null(f->tick);
    assert_int_equal(event_add(f->tick, &tick), 0);
    f->observer = heartbeat_new(f->base, &o, on_event, &f->capture, &err);
    assert_int_equal(err, 0);
    assert_non_null(f->observer);
    assert_true(heartbeat_port(f->observer) > 0);
    snprintf(f->destination, sizeof f->destination, "127.0.0.1:%u",
             heartbeat_port(f->observer));
    *state = f;
    return 0;
}

static int
loop_teardown(void **state)
{
    struct loop_fixture *f = *state;

    heartbeat_free(f->observer);
    event_free(f->tick);
    capture_clear(&f->capture);
    event_base_free(f->base);
    free(f);
    return 0;
}

static void
send_datagram(uint16_t port, const void *data, size_t size)
{
    struct sockaddr_in to = { .sin_family = AF_INET,
                              .sin_port = htons(port) };
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    assert_true(fd >= 0);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(sendto(fd, data, size, 0, (struct sockaddr *) &to,
                            sizeof to), (ssize_t) size);
    close(fd);
}

/* Sends a heartbeat for 'name' built with 'key'. */
static void
send_forged(uint16_t port, const struct heartbeat_wire_key *key,
            const char *name, uint64_t incarnation, uint64_t seq)
{
    struct heartbeat_wire_packet p = { .interval_us = 5000,
                                       .incarnation = incarnation,
                                       .seq = seq };
    uint8_t buf[HEARTBEAT_WIRE_MAX_SIZE];
    int size;

    snprintf(p.hostname, sizeof p.hostname, "%s", name);
    size = heartbeat_wire_encode(&p, key, buf, sizeof buf);
    assert_true(size > 0);
    send_datagram(port, buf, (size_t) size);
}

static void
test_loop_down_restart_up(void **state)
{
    struct loop_fixture *f = *state;
    struct peer_wait up = { f->observer, "host-a", HEARTBEAT_DETECT_UP };
    struct peer_wait down = { f->observer, "host-a", HEARTBEAT_DETECT_DOWN };
    struct event_wait one = { &f->capture, 1 }, two = { &f->capture, 2 };
    struct heartbeat_stats stats;
    struct heartbeat *sender;
    char first_incarnation[17];
    int64_t killed;

    sender = start_sender(f, false);
    snprintf(first_incarnation, sizeof first_incarnation, "%016llx",
             (unsigned long long) heartbeat_incarnation(sender));
    assert_true(run_until(f->base, peer_in_state, &up, 5000));
    /* Coming up for the first time is not an event. */
    assert_int_equal(f->capture.length, 0);

    /* The sender dies without a word. */
    heartbeat_free(sender);
    killed = vtime_mono_ns();
    assert_true(run_until(f->base, has_events, &one, 5000));
    assert_true(peer_in_state(&down));
    assert_string_equal(f->capture.events[0].type, "compute.host.down");
    assert_string_equal(f->capture.events[0].hostname, "host-a");
    assert_true(f->capture.events[0].t01 > killed);
    assert_string_equal(detail_string(&f->capture.events[0], "status"),
                        "down");
    assert_string_equal(detail_string(&f->capture.events[0], "monitor"),
                        "vigil-monitor");
    assert_true(vuuid_is_valid(detail_string(&f->capture.events[0],
                                             "monitor_event_id")));
    assert_string_equal(detail_string(&f->capture.events[0], "observer"),
                        "host-b");
    assert_string_equal(detail_string(&f->capture.events[0], "incarnation"),
                        first_incarnation);
    assert_int_equal(detail_int(&f->capture.events[0], "missed"), 7);
    assert_int_equal(detail_int(&f->capture.events[0], "k"), 7);
    assert_int_equal(detail_int(&f->capture.events[0], "n"), 7);
    assert_int_equal(detail_int(&f->capture.events[0], "interval_us"), 5000);
    assert_true(detail_int(&f->capture.events[0], "last_seq") >= 9);
    assert_true(detail_int(&f->capture.events[0], "silent_ms") >= 35);

    /* It restarts: a new incarnation, up again after the steady run. */
    sender = start_sender(f, false);
    assert_true(run_until(f->base, has_events, &two, 5000));
    assert_true(peer_in_state(&up));
    assert_string_equal(f->capture.events[1].type, "compute.host.up");
    assert_string_equal(f->capture.events[1].hostname, "host-a");
    assert_string_equal(detail_string(&f->capture.events[1], "status"), "up");
    assert_true(json_is_true(json_object_get(f->capture.events[1].details,
                                             "restarted")));
    assert_string_not_equal(detail_string(&f->capture.events[1],
                                          "incarnation"), first_incarnation);
    assert_true(detail_int(&f->capture.events[1], "run") >= 10);
    assert_true(detail_int(&f->capture.events[1], "down_ms") >= 0);
    heartbeat_get_stats(f->observer, &stats);
    assert_true(stats.downs == 1 && stats.ups == 1);
    assert_true(stats.restarts == 1);
    assert_true(stats.received >= 20);
    heartbeat_free(sender);
}

static void
test_loop_forged_packets_change_nothing(void **state)
{
    struct loop_fixture *f = *state;
    struct peer_wait up = { f->observer, "host-a", HEARTBEAT_DETECT_UP };
    struct peer_wait down = { f->observer, "host-a", HEARTBEAT_DETECT_DOWN };
    struct event_wait one = { &f->capture, 1 };
    uint16_t port = heartbeat_port(f->observer);
    struct heartbeat_wire_key wrong;
    struct heartbeat_stats stats;
    struct heartbeat *sender;
    uint64_t incarnation;
    uint8_t garbage[40];
    enum heartbeat_detect_state state_c;

    make_key(&wrong, "not the key, but long enough....");
    sender = start_sender(f, false);
    incarnation = heartbeat_incarnation(sender);
    assert_true(run_until(f->base, peer_in_state, &up, 5000));
    memset(garbage, 0xab, sizeof garbage);
    send_datagram(port, garbage, sizeof garbage);                /* short */
    send_forged(port, &wrong, "host-a", incarnation + 1, 1);     /* MAC */
    send_forged(port, &f->key, "host-x", 1, 1);                  /* who? */
    send_forged(port, &f->key, "host-a", incarnation, 0);        /* replay */
    send_forged(port, &f->key, "host-a", incarnation - 1, 100);  /* stale */
    run_for(f->base, 100);
    heartbeat_get_stats(f->observer, &stats);
    assert_true(stats.rejected[HEARTBEAT_REJECT_MALFORMED] == 1);
    assert_true(stats.rejected[HEARTBEAT_REJECT_BAD_MAC] == 1);
    assert_true(stats.rejected[HEARTBEAT_REJECT_UNKNOWN_SENDER] == 1);
    assert_true(stats.rejected[HEARTBEAT_REJECT_REPLAYED] +
                stats.rejected[HEARTBEAT_REJECT_TOO_OLD] == 1);
    assert_true(stats.rejected[HEARTBEAT_REJECT_STALE] == 1);
    assert_true(stats.restarts == 0);
    assert_true(peer_in_state(&up));
    assert_int_equal(f->capture.length, 0);

    /* Down: forged heartbeats do not bring it back. */
    heartbeat_free(sender);
    assert_true(run_until(f->base, has_events, &one, 5000));
    for (int i = 0; i < 30; i++) {
        send_forged(port, &wrong, "host-a", incarnation + 1, (uint64_t) i);
    }
    run_for(f->base, 100);
    assert_true(peer_in_state(&down));
    assert_int_equal(f->capture.length, 1);
    heartbeat_get_stats(f->observer, &stats);
    assert_true(stats.rejected[HEARTBEAT_REJECT_BAD_MAC] == 31);
    /* The other peer was never heard: unknown, never reported. */
    assert_int_equal(heartbeat_peer_state(f->observer, "host-c", &state_c),
                     0);
    assert_int_equal(state_c, HEARTBEAT_DETECT_UNKNOWN);
    assert_int_equal(heartbeat_peer_state(f->observer, "host-x", &state_c),
                     -ENOENT);
}

static void
test_loop_clean_stop_is_not_a_fault(void **state)
{
    struct loop_fixture *f = *state;
    struct peer_wait up = { f->observer, "host-a", HEARTBEAT_DETECT_UP };
    struct peer_wait left = { f->observer, "host-a", HEARTBEAT_DETECT_LEFT };
    struct heartbeat *sender;

    sender = start_sender(f, true);
    assert_true(run_until(f->base, peer_in_state, &up, 5000));
    heartbeat_free(sender);
    assert_true(run_until(f->base, peer_in_state, &left, 5000));
    run_for(f->base, 200);                    /* well past detection */
    assert_true(peer_in_state(&left));
    assert_int_equal(f->capture.length, 0);
    /* Back (a new incarnation): up, and not a recovery either. */
    sender = start_sender(f, true);
    assert_true(run_until(f->base, peer_in_state, &up, 5000));
    assert_int_equal(f->capture.length, 0);
    heartbeat_free(sender);
}

static void
test_loop_options_checked(void **state)
{
    struct loop_fixture *f = *state;
    const char *peers[] = { "host-a", "host-a" };
    const char *self[] = { "host-b" };
    const char *bad_dest[] = { "no-port-here" };
    struct heartbeat_options o = {
        .hostname = "host-b", .key = &f->key, .interval_us = 5000,
        .dscp = -1, .listen = "127.0.0.1:0", .peers = peers,
        .peers_length = 2,
        .detect = default_params,
    };
    int err = 0;

    /* Duplicate peers. */
    assert_null(heartbeat_new(f->base, &o, on_event, NULL, &err));
    assert_int_equal(err, -EINVAL);
    /* Observing oneself. */
    o.peers = self;
    o.peers_length = 1;
    assert_null(heartbeat_new(f->base, &o, on_event, NULL, &err));
    assert_int_equal(err, -EINVAL);
    /* A destination without a port. */
    o.peers = peers;
    o.peers_length = 1;
    o.destinations = bad_dest;
    o.destinations_length = 1;
    assert_null(heartbeat_new(f->base, &o, on_event, NULL, &err));
    assert_int_equal(err, -EINVAL);
    /* The observer's port is taken. */
    o.destinations_length = 0;
    snprintf(f->destination, sizeof f->destination, "127.0.0.1:%u",
             heartbeat_port(f->observer));
    o.listen = f->destination;
    assert_null(heartbeat_new(f->base, &o, on_event, NULL, &err));
    assert_int_equal(err, -EADDRINUSE);
    /* Nothing to do at all. */
    o.listen = NULL;
    assert_null(heartbeat_new(f->base, &o, on_event, NULL, &err));
    assert_int_equal(err, -EINVAL);
    heartbeat_free(NULL);
    assert_string_equal(heartbeat_reject_name(HEARTBEAT_REJECT_STALE),
                        "stale_incarnation");
    assert_null(heartbeat_reject_name(HEARTBEAT_REJECT_COUNT));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_known_answer),
        cmocka_unit_test(test_wire_every_corruption_refused),
        cmocka_unit_test(test_wire_fields_checked),
        cmocka_unit_test(test_wire_key_file),
        cmocka_unit_test(test_detect_down_at_formula),
        cmocka_unit_test(test_detect_late_heartbeat_counts),
        cmocka_unit_test(test_detect_too_old_and_stale),
        cmocka_unit_test(test_detect_up_after_steady_run),
        cmocka_unit_test(test_detect_incarnations),
        cmocka_unit_test(test_detect_leaving),
        cmocka_unit_test(test_detect_k_of_n),
        cmocka_unit_test(test_detect_no_false_alarm_at_5_percent_loss),
        cmocka_unit_test(test_detect_detection_time),
        cmocka_unit_test_setup_teardown(test_loop_down_restart_up,
                                        loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(
            test_loop_forged_packets_change_nothing, loop_setup,
            loop_teardown),
        cmocka_unit_test_setup_teardown(test_loop_clean_stop_is_not_a_fault,
                                        loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_loop_options_checked,
                                        loop_setup, loop_teardown),
    };

    vlog_init("test_monitor_heartbeat", VLOG_LEVEL_ERR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
