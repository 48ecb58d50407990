/* bench-reservation: vigil-reservation with 1,000,000 reservations held.
 *
 * 1. Generates (or reuses) an SQLite file holding one zone with a pool
 *    large enough for everything and N reservations (default 1,000,000)
 *    over the coming year, written with resv_db in one transaction.
 * 2. In process, with reservation_core: loads the file into a
 *    resv_engine (the index rebuild the daemon does at start), then times
 *    availability checks (dry-run bookings: policy, then the O(log n)
 *    index check) and bookings (check + hold in the index + queueing for
 *    the group commit) one by one with CLOCK_MONOTONIC, and the commit of
 *    those bookings.
 * 3. Over HTTP: starts the real vigil-reservation on the file, reads its
 *    rebuild time (vigil_reservation_rebuild_milliseconds) and RSS, then
 *    runs C concurrent keep-alive connections that book (POST
 *    /v1/reservations) as fast as the daemon acknowledges for S seconds:
 *    every 201 is a durable booking (sent after its group commit, WAL,
 *    synchronous=FULL). Then one connection times availability checks
 *    (POST /v1/reservations?dry_run=true) round trip by round trip.
 *
 * It prints the figures, the machine and how they were measured, and ends
 * with one JSON line. It asserts nothing about timings; it fails only when
 * something does not work (a request refused, the daemon not starting).
 * scripts/bench-reservation.sh builds it (Release) and runs it. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "resv_db.h"
#include "resv_engine.h"
#include "resv_time.h"
#include "timeline.h"
#include "vlog.h"
#include "vtime.h"
#include "vuuid.h"

#define BENCH_ZONE "bench"
#define BENCH_MAX_CLIENTS 1024
#define BENCH_BUF_SIZE 8192
#define BENCH_DAY INT64_C(86400)

struct bench_options {
    const char *daemon;
    const char *db;
    size_t count;
    size_t checks;
    size_t bookings;
    unsigned int clients;
    unsigned int seconds;
    bool reuse;
    bool in_process;
};

/* Latency samples in nanoseconds. */
struct bench_samples {
    int64_t *v;
    size_t length, capacity;
};

static uint64_t bench_rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t
bench_rng(void)
{
    bench_rng_state ^= bench_rng_state << 13;
    bench_rng_state ^= bench_rng_state >> 7;
    bench_rng_state ^= bench_rng_state << 17;
    return bench_rng_state;
}

static int64_t
bench_rng_in(int64_t lo, int64_t hi)
{
    return lo + (int64_t) (bench_rng() % (uint64_t) (hi - lo));
}

static void
bench_add(struct bench_samples *s, int64_t ns)
{
    if (s->length == s->capacity) {
        size_t capacity = s->capacity ? s->capacity * 2 : 4096;
        int64_t *bigger = realloc(s->v, capacity * sizeof *bigger);

        if (!bigger) {
            fprintf(stderr, "out of memory\n");
            exit(EXIT_FAILURE);
        }
        s->v = bigger;
        s->capacity = capacity;
    }
    s->v[s->length++] = ns;
}

static int
bench_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

    return (x > y) - (x < y);
}

/* The q-quantile in microseconds (samples get sorted). */
static double
bench_quantile_us(struct bench_samples *s, double q)
{
    size_t i;

    if (!s->length) {
        return 0;
    }
    qsort(s->v, s->length, sizeof *s->v, bench_cmp);
    i = (size_t) (q * (double) (s->length - 1) + 0.5);
    return (double) s->v[i] / 1e3;
}

/* The daemon started by bench_start_daemon(), stopped when the bench
 * fails, and its log (the file's name plus ".log"). */
static pid_t bench_child = -1;
static char bench_log[4200];

static void __attribute__((noreturn, format(printf, 1, 2)))
bench_die(const char *fmt, ...)
{
    va_list args;

    if (bench_child > 0) {
        kill(bench_child, SIGKILL);
        waitpid(bench_child, NULL, 0);
    }
    va_start(args, fmt);
    fprintf(stderr, "bench-reservation: ");
    vfprintf(stderr, fmt, args);
    fprintf(stderr, "\n");
    va_end(args);
    exit(EXIT_FAILURE);
}

/* A random reservation over the coming year: 1 h to 7 d, 1-16 cores. */
static void
bench_random_window(int64_t now, int64_t *start, int64_t *end)
{
    *start = now + 3600 + bench_rng_in(0, 365 * BENCH_DAY);
    *end = *start + bench_rng_in(3600, 7 * BENCH_DAY);
}

/* ---- 1. the file ------------------------------------------------------ */

/* The most any instant holds of each of cores, ram, instances, from the
 * (time, delta) boundaries of every reservation. */
static void
bench_peaks(struct timeline_entry **bounds, size_t length, int64_t *peaks)
{
    for (int k = 0; k < 3; k++) {
        size_t n = timeline_normalize(bounds[k], length);
        int64_t v = 0;

        peaks[k] = 0;
        for (size_t i = 0; i < n; i++) {
            v += bounds[k][i].delta;
            if (v > peaks[k]) {
                peaks[k] = v;
            }
        }
    }
}

static void
bench_generate(const struct bench_options *o, int64_t now)
{
    static const int keys[3] = { CAPVEC_CORES, CAPVEC_RAM, CAPVEC_INSTANCES };
    struct timeline_entry *bounds[3];
    struct resv_pool_record pool;
    struct resv_record r;
    struct resv_db *db = NULL;
    int64_t peaks[3];
    char err[512], extra[4096];
    int64_t t0 = vtime_mono_ns();

    for (int k = 0; k < 3; k++) {
        bounds[k] = calloc(2 * o->count, sizeof *bounds[k]);
        if (!bounds[k]) {
            bench_die("out of memory");
        }
    }
    unlink(o->db);
    snprintf(extra, sizeof extra, "%s-wal", o->db);
    unlink(extra);
    snprintf(extra, sizeof extra, "%s-shm", o->db);
    unlink(extra);
    if (resv_db_open(o->db, false, &db, err, sizeof err)) {
        bench_die("%s", err);
    }
    if (resv_db_begin(db)) {
        bench_die("BEGIN: %s", resv_db_error(db));
    }
    memset(&r, 0, sizeof r);
    snprintf(r.zone, sizeof r.zone, BENCH_ZONE);
    snprintf(r.project_id, sizeof r.project_id, "bench");
    r.status = RESV_STATUS_PENDING;
    r.created = r.updated = now;
    for (size_t i = 0; i < o->count; i++) {
        int64_t cores = bench_rng_in(1, 17);

        if (resv_record_new_id(r.id)) {
            bench_die("no random bytes");
        }
        bench_random_window(now, &r.start, &r.end);
        r.capacity.v[CAPVEC_CORES] = cores;
        r.capacity.v[CAPVEC_RAM] = cores * 2048;
        r.capacity.v[CAPVEC_INSTANCES] = bench_rng_in(1, 5);
        for (int k = 0; k < 3; k++) {
            bounds[k][2 * i].time = r.start;
            bounds[k][2 * i].delta = r.capacity.v[keys[k]];
            bounds[k][2 * i + 1].time = r.end;
            bounds[k][2 * i + 1].delta = -r.capacity.v[keys[k]];
        }
        if (resv_db_put_reservation(db, &r)) {
            bench_die("reservation: %s", resv_db_error(db));
        }
    }
    /* One pool: 5 % more than the busiest instant needs, so that the zone
     * is 95 % booked there, as a busy production zone would be. */
    bench_peaks(bounds, 2 * o->count, peaks);
    memset(&pool, 0, sizeof pool);
    if (resv_record_new_id(pool.id)) {
        bench_die("no random bytes");
    }
    snprintf(pool.zone, sizeof pool.zone, BENCH_ZONE);
    snprintf(pool.name, sizeof pool.name, "zone");
    pool.start = RESV_TIME_MIN;
    pool.end = RESV_TIME_MAX;
    for (int k = 0; k < 3; k++) {
        pool.capacity.v[keys[k]] = peaks[k] + peaks[k] / 20;
    }
    pool.created = now;
    if (resv_db_put_pool(db, &pool)) {
        bench_die("pool: %s", resv_db_error(db));
    }
    if (resv_db_commit(db)) {
        bench_die("COMMIT: %s", resv_db_error(db));
    }
    resv_db_close(db);
    for (int k = 0; k < 3; k++) {
        free(bounds[k]);
    }
    printf("generated %s in %.1f s: %zu reservations over a year; one pool "
           "of %" PRId64 " cores, %" PRId64 " MB of RAM, %" PRId64
           " instances: the busiest instant holds 95 %% of it\n", o->db,
           (double) (vtime_mono_ns() - t0) / 1e9, o->count,
           pool.capacity.v[CAPVEC_CORES], pool.capacity.v[CAPVEC_RAM],
           pool.capacity.v[CAPVEC_INSTANCES]);
}

/* ---- 2. in process ----------------------------------------------------- */

struct bench_engine_figures {
    double load_s;
    size_t boundaries;
    double check_p50, check_p99, check_max;
    double full_p50, full_p99, full_max, full_fit;
    double book_p50, book_p99, book_max;
    double commit_s;
};

static void
bench_request(struct resv_reservation_request *req, int64_t now)
{
    int64_t cores = bench_rng_in(1, 9);

    memset(req, 0, sizeof *req);
    snprintf(req->zone, sizeof req->zone, BENCH_ZONE);
    req->has_zone = req->has_capacity = true;
    req->capacity.v[CAPVEC_CORES] = cores;
    req->capacity.v[CAPVEC_RAM] = cores * 2048;
    req->capacity.v[CAPVEC_INSTANCES] = 1;
    req->has_start = req->has_end = true;
    bench_random_window(now, &req->start, &req->end);
}

/* Times 'count' dry-run bookings; counts those that fit in '*fits'. */
static void
bench_checks(struct resv_engine *engine, size_t count, int64_t now,
             struct bench_samples *out, size_t *fits)
{
    for (size_t i = 0; i < count; i++) {
        struct resv_engine_error err = { .message = "" };
        struct resv_reservation_request req;
        struct resv_record rec;
        int64_t a, b;
        int ret;

        bench_request(&req, now);
        a = vtime_mono_ns();
        ret = resv_engine_reserve(engine, &req, true, &rec, NULL, NULL,
                                  &err);
        b = vtime_mono_ns();
        if (ret && ret != -EBUSY) {
            bench_die("check failed: %s", err.message);
        }
        if (!ret && fits) {
            (*fits)++;
        }
        bench_add(out, b - a);
    }
}

/* Adds a negative pool (forced) so that the zone's busiest instant of the
 * year is booked to the last core, MB and instance: a check then has to
 * look inside the index instead of answering from its root. The largest
 * vector that fits the whole year, as a 409's offer gives it, is exactly
 * what the negative pool takes away. */
static void
bench_saturate(struct resv_engine *engine, int64_t now, char *pool_id)
{
    struct resv_engine_error err = { .message = "" };
    struct resv_reservation_request req;
    struct resv_pool_request pr;
    struct resv_pool_record rec;
    struct resv_record dummy;

    memset(&req, 0, sizeof req);
    snprintf(req.zone, sizeof req.zone, BENCH_ZONE);
    req.has_zone = req.has_capacity = req.has_start = req.has_end = true;
    req.capacity.v[CAPVEC_CORES] = CAPVEC_MAX;
    req.start = now + 3600;
    req.end = now + 373 * BENCH_DAY;
    if (resv_engine_reserve(engine, &req, true, &dummy, NULL, NULL, &err) !=
        -EBUSY || !err.has_offer) {
        bench_die("expected a 409 with an offer");
    }
    memset(&pr, 0, sizeof pr);
    snprintf(pr.zone, sizeof pr.zone, BENCH_ZONE);
    capvec_neg(&pr.capacity, &err.largest);
    pr.force = true;
    if (resv_engine_pool_create(engine, &pr, &rec, NULL, NULL, &err) ||
        resv_engine_flush(engine)) {
        bench_die("saturating pool: %s", err.message);
    }
    memcpy(pool_id, rec.id, VUUID_STRING_SIZE);
}

static void
bench_in_process(const struct bench_options *o, int64_t now,
                 struct bench_engine_figures *f)
{
    struct resv_engine_options eo = { 0 };
    struct resv_engine_error err = { .message = "" };
    struct bench_samples checks = { 0 }, books = { 0 };
    struct resv_engine_stats stats;
    struct resv_engine *engine = NULL;
    struct resv_db *db = NULL;
    char why[512], pool_id[VUUID_STRING_SIZE];
    size_t fits = 0;
    int64_t t0;

    if (resv_db_open(o->db, true, &db, why, sizeof why)) {
        bench_die("%s", why);
    }
    eo.db = db;
    eo.max_duration = 400 * BENCH_DAY;
    eo.max_future_start = 400 * BENCH_DAY;
    eo.max_past_start = 300;
    eo.max_reservations = (size_t) CAPVEC_MAX_OBJECTS;
    eo.max_pools = 10;
    eo.max_allocations = 10;
    eo.max_zones = 10;
    eo.max_pending = o->bookings + 1;
    eo.batch_max_ops = 4096;
    eo.offer_max_jumps = 200;
    eo.lifecycle_max_per_turn = 1000;
    eo.default_project_id = "bench";
    t0 = vtime_mono_ns();
    if (resv_engine_new(&eo, &engine, &err)) {
        bench_die("engine: %s", err.message);
    }
    f->load_s = (double) (vtime_mono_ns() - t0) / 1e9;
    resv_engine_get_stats(engine, &stats);
    f->boundaries = stats.index_boundaries;
    if (stats.reservations < o->count) {
        bench_die("only %zu reservations loaded", stats.reservations);
    }

    bench_checks(engine, o->checks, now, &checks, NULL);
    f->check_p50 = bench_quantile_us(&checks, 0.50);
    f->check_p99 = bench_quantile_us(&checks, 0.99);
    f->check_max = bench_quantile_us(&checks, 1.0);
    checks.length = 0;
    bench_saturate(engine, now, pool_id);
    bench_checks(engine, o->checks, now, &checks, &fits);
    f->full_p50 = bench_quantile_us(&checks, 0.50);
    f->full_p99 = bench_quantile_us(&checks, 0.99);
    f->full_max = bench_quantile_us(&checks, 1.0);
    f->full_fit = 100.0 * (double) fits / (double) o->checks;
    if (resv_engine_pool_delete(engine, pool_id, true, NULL, NULL, &err) ||
        resv_engine_flush(engine)) {
        bench_die("cannot remove the saturating pool: %s", err.message);
    }
    for (size_t i = 0; i < o->bookings; i++) {
        struct resv_reservation_request req;
        struct resv_record rec;
        int64_t a, b;
        int ret;

        bench_request(&req, now);
        a = vtime_mono_ns();
        ret = resv_engine_reserve(engine, &req, false, &rec, NULL, NULL,
                                  &err);
        b = vtime_mono_ns();
        if (ret && ret != -EBUSY) {
            bench_die("booking failed: %s", err.message);
        }
        bench_add(&books, b - a);
    }
    t0 = vtime_mono_ns();
    if (resv_engine_flush(engine)) {
        bench_die("commit failed");
    }
    f->commit_s = (double) (vtime_mono_ns() - t0) / 1e9;
    f->book_p50 = bench_quantile_us(&books, 0.50);
    f->book_p99 = bench_quantile_us(&books, 0.99);
    f->book_max = bench_quantile_us(&books, 1.0);
    free(checks.v);
    free(books.v);
    resv_engine_free(engine);
    resv_db_close(db);
}

/* ---- 3. over HTTP ------------------------------------------------------ */

struct bench_daemon {
    pid_t pid;
    uint16_t port;
};

static uint16_t
bench_free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t size = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    uint16_t port;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) ||
        getsockname(fd, (struct sockaddr *) &sa, &size)) {
        bench_die("no free port: %s", strerror(errno));
    }
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static int
bench_connect(uint16_t port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    if (fd < 0) {
        return -1;
    }
    if (connect(fd, (struct sockaddr *) &sa, sizeof sa)) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* One HTTP connection with a request in flight at most. */
struct bench_conn {
    int fd;
    char out[BENCH_BUF_SIZE];
    size_t out_size, out_sent;
    char in[BENCH_BUF_SIZE];
    size_t in_size;
    int64_t sent_ns;
};

/* Formats a request into c->out. */
static void
bench_format(struct bench_conn *c, const char *method, const char *path,
             const char *body)
{
    int n = snprintf(c->out, sizeof c->out,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s", method, path,
                     body ? strlen(body) : 0, body ? body : "");

    c->out_size = n > 0 && (size_t) n < sizeof c->out ? (size_t) n : 0;
    c->out_sent = 0;
    c->in_size = 0;
}

/* When c->in holds a whole response: its status (> 0) and the body in
 * '*body'; 0 when more is needed; -1 when it is malformed. */
static int
bench_response(struct bench_conn *c, const char **body)
{
    char *end, *cl;
    long status, length = 0;

    c->in[c->in_size] = '\0';
    end = strstr(c->in, "\r\n\r\n");
    if (!end) {
        return c->in_size >= sizeof c->in - 1 ? -1 : 0;
    }
    if (strncmp(c->in, "HTTP/1.1 ", 9)) {
        return -1;
    }
    status = strtol(c->in + 9, NULL, 10);
    cl = strcasestr(c->in, "\r\nContent-Length:");
    if (cl && cl < end) {
        length = strtol(cl + 17, NULL, 10);
    }
    if ((size_t) (end + 4 - c->in) + (size_t) length > c->in_size) {
        return 0;
    }
    *body = end + 4;
    return (int) status;
}

/* Sends c->out and reads one response, blocking. */
static int
bench_roundtrip(struct bench_conn *c, const char **body)
{
    int status;

    while (c->out_sent < c->out_size) {
        ssize_t n = send(c->fd, c->out + c->out_sent,
                         c->out_size - c->out_sent, MSG_NOSIGNAL);

        if (n <= 0) {
            return -1;
        }
        c->out_sent += (size_t) n;
    }
    while ((status = bench_response(c, body)) == 0) {
        ssize_t n = recv(c->fd, c->in + c->in_size,
                         sizeof c->in - 1 - c->in_size, 0);

        if (n <= 0) {
            return -1;
        }
        c->in_size += (size_t) n;
    }
    return status;
}

static void
bench_booking_body(char *buf, size_t size, int64_t now)
{
    int64_t start, end, cores = bench_rng_in(1, 9);

    bench_random_window(now, &start, &end);
    snprintf(buf, size, "{\"zone\": \"" BENCH_ZONE "\", \"start\": %" PRId64
             ", \"end\": %" PRId64 ", \"capacity\": {\"cores\": %" PRId64
             ", \"ram\": %" PRId64 ", \"instances\": 1}}", start, end,
             cores, cores * 2048);
}

/* GET /metrics (HTTP/1.0: the server closes after the answer) and the
 * value of the series 'name', or -1. */
static double
bench_metric(uint16_t port, const char *name)
{
    static const char request[] = "GET /metrics HTTP/1.0\r\n\r\n";
    size_t size = 0, capacity = 1 << 20;
    char *text = malloc(capacity + 1);
    double value = -1;
    const char *p;
    int fd = bench_connect(port);

    if (!text || fd < 0 ||
        send(fd, request, sizeof request - 1, MSG_NOSIGNAL) < 0) {
        goto out;
    }
    for (;;) {
        ssize_t n = recv(fd, text + size, capacity - size, 0);

        if (n <= 0) {
            break;
        }
        size += (size_t) n;
        if (size == capacity) {
            break;
        }
    }
    text[size] = '\0';
    for (p = strstr(text, name); p; p = strstr(p + 1, name)) {
        if ((p == text || p[-1] == '\n') && p[strlen(name)] == ' ') {
            value = strtod(p + strlen(name) + 1, NULL);
            break;
        }
    }
out:
    if (fd >= 0) {
        close(fd);
    }
    free(text);
    return value;
}

/* VmRSS or VmHWM of 'pid' in MiB. */
static double
bench_rss_mib(pid_t pid, const char *field)
{
    char path[64], line[256];
    double kib = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, field, strlen(field))) {
            kib = strtod(line + strlen(field) + 1, NULL);
        }
    }
    fclose(f);
    return kib / 1024;
}

/* CPU time (user + system) 'pid' has used, in seconds. */
static double
bench_cpu_s(pid_t pid)
{
    unsigned long long utime = 0, stime = 0;
    char path[64], buf[1024], *p;
    FILE *f;
    size_t n;

    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                     "%llu %llu", &utime, &stime) != 2) {
        return -1;
    }
    return (double) (utime + stime) / (double) sysconf(_SC_CLK_TCK);
}

static void
bench_start_daemon(const struct bench_options *o, struct bench_daemon *d,
                   double *ready_s)
{
    char listen[64], database[4200];
    int64_t t0 = vtime_mono_ns();

    snprintf(bench_log, sizeof bench_log, "%s.log", o->db);
    d->port = bench_free_port();
    snprintf(listen, sizeof listen, "--api.listen=127.0.0.1:%u",
             (unsigned) d->port);
    snprintf(database, sizeof database, "--reservation.database=%s", o->db);
    d->pid = fork();
    if (d->pid < 0) {
        bench_die("fork: %s", strerror(errno));
    }
    if (d->pid == 0) {
        char *argv[] = { (char *) o->daemon, listen, database,
                         (char *) "--notifier.url=",
                         (char *) "--log-level", (char *) "warning",
                         (char *) "--policy.max_future_start=34560000",
                         (char *) "--reservation.max_reservations=4194304",
                         (char *) "--reservation.max_pending=1000000",
                         NULL };
        int fd = open(bench_log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execv(o->daemon, argv);
        _exit(127);
    }
    bench_child = d->pid;
    for (;;) {
        int fd = bench_connect(d->port), status;

        if (fd >= 0) {
            close(fd);
            if (bench_metric(d->port, "vigil_reservation_reservations") >=
                0) {
                break;
            }
        }
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            bench_child = -1;
            bench_die("%s exited before answering (see %s)", o->daemon,
                      bench_log);
        }
        if (vtime_mono_ns() - t0 > INT64_C(300) * 1000000000) {
            bench_die("%s did not answer within 300 s", o->daemon);
        }
        usleep(10000);
    }
    *ready_s = (double) (vtime_mono_ns() - t0) / 1e9;
}

static void
bench_stop_daemon(struct bench_daemon *d)
{
    int status = 0;

    kill(d->pid, SIGTERM);
    if (waitpid(d->pid, &status, 0) != d->pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        bench_child = -1;
        bench_die("the daemon did not exit cleanly (status %d, see %s)",
                  status, bench_log);
    }
    bench_child = -1;
}

struct bench_http_figures {
    double ready_s, rebuild_s;
    double rss_loaded_mib, rss_after_mib, hwm_mib;
    uint64_t booked, refused;
    double elapsed_s, per_second;
    double book_p50, book_p99, book_max;
    double check_p50, check_p99, check_max;
    double commit_ops_mean;
    double commit_ms_mean;
    double daemon_cpu_s, client_cpu_s;
};

/* C connections booking for S seconds; every answer must be 201. */
static void
bench_storm(const struct bench_options *o, const struct bench_daemon *d,
            int64_t now, struct bench_http_figures *f)
{
    struct bench_conn *conns = calloc(o->clients, sizeof *conns);
    struct pollfd *fds = calloc(o->clients, sizeof *fds);
    struct bench_samples lat = { 0 };
    int64_t t0, deadline;
    unsigned int open_conns;
    char body[512];

    if (!conns || !fds) {
        bench_die("out of memory");
    }
    for (unsigned int i = 0; i < o->clients; i++) {
        conns[i].fd = bench_connect(d->port);
        if (conns[i].fd < 0) {
            bench_die("connect: %s", strerror(errno));
        }
        fcntl(conns[i].fd, F_SETFL, O_NONBLOCK);
    }
    t0 = vtime_mono_ns();
    deadline = t0 + (int64_t) o->seconds * 1000000000;
    for (unsigned int i = 0; i < o->clients; i++) {
        bench_booking_body(body, sizeof body, now);
        bench_format(&conns[i], "POST", "/v1/reservations", body);
        conns[i].sent_ns = vtime_mono_ns();
    }
    open_conns = o->clients;
    while (open_conns) {
        for (unsigned int i = 0; i < o->clients; i++) {
            struct bench_conn *c = &conns[i];

            fds[i].fd = c->fd;
            fds[i].events = c->fd < 0 ? 0
                            : c->out_sent < c->out_size ? POLLOUT : POLLIN;
        }
        if (poll(fds, o->clients, 1000) < 0 && errno != EINTR) {
            bench_die("poll: %s", strerror(errno));
        }
        for (unsigned int i = 0; i < o->clients; i++) {
            struct bench_conn *c = &conns[i];
            const char *reply;
            int status;

            if (c->fd < 0 || !fds[i].revents) {
                continue;
            }
            if (c->out_sent < c->out_size) {
                ssize_t n = send(c->fd, c->out + c->out_sent,
                                 c->out_size - c->out_sent, MSG_NOSIGNAL);

                if (n < 0 && errno != EAGAIN) {
                    bench_die("send: %s", strerror(errno));
                }
                c->out_sent += n > 0 ? (size_t) n : 0;
                continue;
            }
            {
                ssize_t n = recv(c->fd, c->in + c->in_size,
                                 sizeof c->in - 1 - c->in_size, 0);

                if (n == 0 || (n < 0 && errno != EAGAIN)) {
                    bench_die("the daemon closed a connection");
                }
                c->in_size += n > 0 ? (size_t) n : 0;
            }
            status = bench_response(c, &reply);
            if (status == 0) {
                continue;
            }
            if (status == 409) {
                f->refused++;      /* that window is full: fine, next */
            } else if (status != 201) {
                bench_die("booking answered %d: %.200s", status,
                          status > 0 ? reply : "(malformed)");
            } else {
                bench_add(&lat, vtime_mono_ns() - c->sent_ns);
                f->booked++;
            }
            if (vtime_mono_ns() >= deadline) {
                close(c->fd);
                c->fd = -1;
                open_conns--;
                continue;
            }
            bench_booking_body(body, sizeof body, now);
            bench_format(c, "POST", "/v1/reservations", body);
            c->sent_ns = vtime_mono_ns();
        }
    }
    f->elapsed_s = (double) (vtime_mono_ns() - t0) / 1e9;
    f->per_second = (double) f->booked / f->elapsed_s;
    f->book_p50 = bench_quantile_us(&lat, 0.50);
    f->book_p99 = bench_quantile_us(&lat, 0.99);
    f->book_max = bench_quantile_us(&lat, 1.0);
    free(lat.v);
    free(conns);
    free(fds);
}

/* Sequential dry-run checks on one connection. */
static void
bench_http_checks(const struct bench_options *o, const struct bench_daemon *d,
                  int64_t now, struct bench_http_figures *f)
{
    struct bench_conn *c = calloc(1, sizeof *c);
    struct bench_samples lat = { 0 };
    char body[512];
    size_t n = o->checks < 20000 ? o->checks : 20000;

    if (!c) {
        bench_die("out of memory");
    }
    c->fd = bench_connect(d->port);
    if (c->fd < 0) {
        bench_die("connect: %s", strerror(errno));
    }
    for (size_t i = 0; i < n; i++) {
        const char *reply;
        int64_t a;
        int status;

        bench_booking_body(body, sizeof body, now);
        bench_format(c, "POST", "/v1/reservations?dry_run=true", body);
        a = vtime_mono_ns();
        status = bench_roundtrip(c, &reply);
        if (status != 200 && status != 409) {
            bench_die("check answered %d", status);
        }
        bench_add(&lat, vtime_mono_ns() - a);
    }
    close(c->fd);
    f->check_p50 = bench_quantile_us(&lat, 0.50);
    f->check_p99 = bench_quantile_us(&lat, 0.99);
    f->check_max = bench_quantile_us(&lat, 1.0);
    free(lat.v);
    free(c);
}

static void
bench_usage(FILE *out)
{
    fprintf(out,
            "usage: bench-reservation --daemon PATH [--db FILE] [--count N]\n"
            "       [--checks N] [--bookings N] [--clients N] [--seconds S]\n"
            "       [--reuse]\n"
            "  --daemon PATH   vigil-reservation to run (Release build)\n"
            "  --db FILE       SQLite file (default "
            "/tmp/vigil-bench-reservation.db)\n"
            "  --count N       reservations in the file (default 1000000)\n"
            "  --checks N      in-process checks timed (default 100000)\n"
            "  --bookings N    in-process bookings timed (default 20000)\n"
            "  --clients N     concurrent HTTP clients (default 64)\n"
            "  --seconds S     duration of the HTTP booking storm (default "
            "10)\n"
            "  --reuse         use the file of an earlier run if it exists\n"
            "                  (it then also holds that run's bookings)\n"
            "  --http-only     skip the in-process measurements\n");
}

static void
bench_parse(int argc, char **argv, struct bench_options *o)
{
    static const struct option longopts[] = {
        { "daemon", required_argument, NULL, 'd' },
        { "db", required_argument, NULL, 'f' },
        { "count", required_argument, NULL, 'n' },
        { "checks", required_argument, NULL, 'c' },
        { "bookings", required_argument, NULL, 'b' },
        { "clients", required_argument, NULL, 'C' },
        { "seconds", required_argument, NULL, 's' },
        { "reuse", no_argument, NULL, 'r' },
        { "http-only", no_argument, NULL, 'H' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;

    o->db = "/tmp/vigil-bench-reservation.db";
    o->count = 1000000;
    o->checks = 100000;
    o->bookings = 20000;
    o->clients = 64;
    o->seconds = 10;
    o->in_process = true;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            o->daemon = optarg;
            break;
        case 'f':
            o->db = optarg;
            break;
        case 'n':
            o->count = strtoul(optarg, NULL, 10);
            break;
        case 'c':
            o->checks = strtoul(optarg, NULL, 10);
            break;
        case 'b':
            o->bookings = strtoul(optarg, NULL, 10);
            break;
        case 'C':
            o->clients = (unsigned int) strtoul(optarg, NULL, 10);
            break;
        case 's':
            o->seconds = (unsigned int) strtoul(optarg, NULL, 10);
            break;
        case 'r':
            o->reuse = true;
            break;
        case 'H':
            o->in_process = false;
            break;
        case 'h':
            bench_usage(stdout);
            exit(EXIT_SUCCESS);
        default:
            bench_usage(stderr);
            exit(EXIT_FAILURE);
        }
    }
    if (!o->daemon || !o->count || o->count > 4000000 || !o->checks ||
        !o->clients || o->clients > BENCH_MAX_CLIENTS || !o->seconds) {
        bench_usage(stderr);
        exit(EXIT_FAILURE);
    }
}

int
main(int argc, char **argv)
{
    struct bench_options o = { 0 };
    struct bench_engine_figures e = { 0 };
    struct bench_http_figures h = { 0 };
    struct bench_daemon d = { 0 };
    struct utsname uts;
    struct stat st;
    int64_t now = resv_time_now();
    double commits, ops, load[3];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    bench_parse(argc, argv, &o);
    setvbuf(stdout, NULL, _IOLBF, 0);     /* progress shows when piped */
    vlog_init("bench-reservation", VLOG_LEVEL_WARN);
    uname(&uts);
    printf("bench-reservation: vigil-reservation with %zu reservations "
           "held\n", o.count);
    if (getloadavg(load, 3) != 3) {
        load[0] = load[1] = load[2] = -1;
    }
    printf("machine: %s %s %s, %ld CPUs, load average %.2f %.2f %.2f "
           "(other processes share these CPUs: figures move with it)\n",
           uts.sysname, uts.release, uts.machine, cpus, load[0], load[1],
           load[2]);
    if (!o.reuse || stat(o.db, &st)) {
        bench_generate(&o, now);
    } else {
        printf("reusing %s\n", o.db);
    }

    if (o.in_process) {
        printf("\n== in process (reservation_core, one thread, "
               "CLOCK_MONOTONIC per call)\n");
        bench_in_process(&o, now, &e);
        printf("load + index rebuild: %.2f s (%zu index boundaries)\n",
               e.load_s, e.boundaries);
        printf("availability check (dry-run booking of 1-8 cores for 1 h "
               "to 7 d in the coming year, %zu calls)\n", o.checks);
        printf("  zone 95 %% booked at its busiest: p50 %.2f us, p99 %.2f "
               "us, max %.1f us\n", e.check_p50, e.check_p99, e.check_max);
        printf("  zone booked to the last core at its busiest (%.0f %% "
               "fit, the rest get a 409 with its offer): p50 %.2f us, p99 "
               "%.2f us, max %.1f us\n", e.full_fit, e.full_p50,
               e.full_p99, e.full_max);
        printf("booking (check + hold + queue, %zu calls): p50 %.2f us, p99 "
               "%.2f us, max %.1f us; their commit: %.2f s\n", o.bookings,
               e.book_p50, e.book_p99, e.book_max, e.commit_s);
    }

    printf("\n== over HTTP (%s)\n", o.daemon);
    bench_start_daemon(&o, &d, &h.ready_s);
    h.rebuild_s = bench_metric(d.port,
                               "vigil_reservation_rebuild_milliseconds")
                  / 1e3;
    h.rss_loaded_mib = bench_rss_mib(d.pid, "VmRSS:");
    printf("start to first answer: %.2f s, of which load + index rebuild "
           "%.2f s; RSS %.0f MiB\n", h.ready_s, h.rebuild_s,
           h.rss_loaded_mib);
    {
        double cpu0 = bench_cpu_s(d.pid), self0 = bench_cpu_s(getpid());

        bench_storm(&o, &d, now, &h);
        h.daemon_cpu_s = bench_cpu_s(d.pid) - cpu0;
        h.client_cpu_s = bench_cpu_s(getpid()) - self0;
    }
    commits = bench_metric(d.port, "vigil_reservation_commits_total");
    ops = bench_metric(d.port, "vigil_reservation_commit_ops_sum");
    h.commit_ops_mean = commits > 0 ? ops / commits : 0;
    h.commit_ms_mean = commits > 0
                           ? bench_metric(d.port,
                                          "vigil_reservation_commit_latency_"
                                          "seconds_sum") * 1e3 / commits
                           : 0;
    printf("durable bookings: %" PRIu64 " acknowledged (201 after COMMIT) "
           "by %u keep-alive clients in %.1f s = %.0f/s (%" PRIu64 " more "
           "refused with 409 where the zone was full); latency of a 201 "
           "p50 %.0f us, p99 %.0f us, max %.0f us; %.1f bookings per group "
           "commit, %.2f ms per commit (BEGIN to COMMIT)\n", h.booked,
           o.clients, h.elapsed_s, h.per_second, h.refused, h.book_p50,
           h.book_p99, h.book_max, h.commit_ops_mean, h.commit_ms_mean);
    printf("CPU during the storm: daemon %.1f s (%.0f us per booking), "
           "load generator %.1f s, over %.1f s on %ld CPUs\n",
           h.daemon_cpu_s, h.booked ? h.daemon_cpu_s * 1e6 / (double) h.booked
                                    : 0, h.client_cpu_s, h.elapsed_s, cpus);
    bench_http_checks(&o, &d, now, &h);
    printf("availability check round trip (POST ?dry_run=true, one "
           "connection, sequential): p50 %.0f us, p99 %.0f us, max %.0f "
           "us\n", h.check_p50, h.check_p99, h.check_max);
    h.rss_after_mib = bench_rss_mib(d.pid, "VmRSS:");
    h.hwm_mib = bench_rss_mib(d.pid, "VmHWM:");
    printf("RSS after: %.0f MiB (peak %.0f MiB)\n", h.rss_after_mib,
           h.hwm_mib);
    bench_stop_daemon(&d);

    printf("\ntargets: availability check p99 <= 100 us (in process: %.2f "
           "us, %.2f us in a saturated zone); >= 10,000 durable bookings/s "
           "(%.0f/s)\n", e.check_p99, e.full_p99, h.per_second);
    printf("{\"bench\": \"reservation\", \"reservations\": %zu, "
           "\"index_boundaries\": %zu, \"rebuild_s\": %.3f, "
           "\"daemon_ready_s\": %.3f, \"check_p50_us\": %.3f, "
           "\"check_p99_us\": %.3f, \"saturated_check_p50_us\": %.3f, "
           "\"saturated_check_p99_us\": %.3f, \"book_p50_us\": %.3f, "
           "\"book_p99_us\": %.3f, \"http_check_p50_us\": %.1f, "
           "\"http_check_p99_us\": %.1f, \"durable_bookings_per_s\": %.0f, "
           "\"http_book_p50_us\": %.1f, \"http_book_p99_us\": %.1f, "
           "\"clients\": %u, \"bookings_per_commit\": %.1f, "
           "\"rss_mib\": %.0f, \"rss_peak_mib\": %.0f, \"cpus\": %ld, "
           "\"load_average\": %.2f}\n",
           o.count, e.boundaries, h.rebuild_s, h.ready_s, e.check_p50,
           e.check_p99, e.full_p50, e.full_p99, e.book_p50, e.book_p99,
           h.check_p50, h.check_p99,
           h.per_second, h.book_p50, h.book_p99, o.clients,
           h.commit_ops_mean, h.rss_loaded_mib, h.hwm_mib, cpus, load[0]);
    return EXIT_SUCCESS;
}
