/* resv_db: pools, reservations and allocations in SQLite (see resv_db.h).
 *
 * The SQL is assembled once at open from the key names of capvec.h, so a
 * new resource key is a new column everywhere at once. Every statement
 * is prepared once and reused. */
#include "resv_db.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESV_DB_SQL_SIZE 4096

enum resv_db_stmt {
    RESV_DB_BEGIN,
    RESV_DB_COMMIT,
    RESV_DB_ROLLBACK,
    RESV_DB_PUT_RESV,
    RESV_DB_PUT_POOL,
    RESV_DB_PUT_ALLOC,
    RESV_DB_DEL_POOL,
    RESV_DB_DEL_ALLOC,
    RESV_DB_DEL_ALLOCS_OF,
    RESV_DB_GET_RESV,
    RESV_DB_LOAD_RESV,
    RESV_DB_LOAD_LIVE,
    RESV_DB_LOAD_POOLS,
    RESV_DB_LOAD_ALLOCS,
    RESV_DB_STMT_COUNT
};

struct resv_db {
    sqlite3 *sql;
    sqlite3_stmt *stmts[RESV_DB_STMT_COUNT];
    char resv_columns[RESV_DB_SQL_SIZE];   /* SELECT list of a record */
};

/* Appends printf output to 'buf' (of RESV_DB_SQL_SIZE bytes). */
static void __attribute__((format(printf, 2, 3)))
resv_db_append(char *buf, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list args;

    va_start(args, fmt);
    vsnprintf(buf + used, RESV_DB_SQL_SIZE - used, fmt, args);
    va_end(args);
}

/* ", cores, ram, ..." with 'prefix' before each name; with 'excluded',
 * ", cores = excluded.cores, ...". */
static void
resv_db_keys(char *buf, const char *prefix, bool excluded)
{
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        const char *name = capvec_key_name((enum capvec_key) k);

        if (excluded) {
            resv_db_append(buf, ", %s%s = excluded.%s%s", prefix, name,
                           prefix, name);
        } else {
            resv_db_append(buf, ", %s%s", prefix, name);
        }
    }
}

/* ", ?, ?, ..." for 'n' parameters. */
static void
resv_db_params(char *buf, int n)
{
    for (int i = 0; i < n; i++) {
        resv_db_append(buf, ", ?");
    }
}

static const char resv_db_base_columns[] =
    "id, zone, project_id, name, status, start_time, end_time, expiry, "
    "expired, created, updated";
#define RESV_DB_BASE_COLUMNS 11

static int
resv_db_schema(struct resv_db *db, char *err, size_t err_size)
{
    char sql[RESV_DB_SQL_SIZE] = "";
    char *message = NULL;
    int rc;

    resv_db_append(sql, "CREATE TABLE IF NOT EXISTS reservations ("
                   "seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
                   "zone TEXT NOT NULL, project_id TEXT NOT NULL, "
                   "name TEXT NOT NULL, status TEXT NOT NULL, "
                   "start_time INTEGER NOT NULL, end_time INTEGER NOT NULL, "
                   "expiry INTEGER NOT NULL, expired INTEGER NOT NULL, "
                   "created INTEGER NOT NULL, updated INTEGER NOT NULL");
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        resv_db_append(sql, ", %s INTEGER NOT NULL DEFAULT 0",
                       capvec_key_name((enum capvec_key) k));
    }
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        resv_db_append(sql, ", a_%s INTEGER NOT NULL DEFAULT 0",
                       capvec_key_name((enum capvec_key) k));
    }
    resv_db_append(sql, ");"
                   "CREATE INDEX IF NOT EXISTS reservations_zone "
                   "ON reservations (zone, seq);"
                   "CREATE TABLE IF NOT EXISTS pools ("
                   "id TEXT PRIMARY KEY, zone TEXT NOT NULL, "
                   "name TEXT NOT NULL, start_time INTEGER NOT NULL, "
                   "end_time INTEGER NOT NULL, created INTEGER NOT NULL");
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        resv_db_append(sql, ", %s INTEGER NOT NULL DEFAULT 0",
                       capvec_key_name((enum capvec_key) k));
    }
    resv_db_append(sql, ");"
                   "CREATE TABLE IF NOT EXISTS allocations ("
                   "id TEXT PRIMARY KEY, reservation_id TEXT, "
                   "zone TEXT NOT NULL, instance TEXT NOT NULL, "
                   "start_time INTEGER NOT NULL, end_time INTEGER NOT NULL, "
                   "created INTEGER NOT NULL");
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        resv_db_append(sql, ", %s INTEGER NOT NULL DEFAULT 0",
                       capvec_key_name((enum capvec_key) k));
    }
    resv_db_append(sql, ");"
                   "CREATE INDEX IF NOT EXISTS allocations_reservation "
                   "ON allocations (reservation_id);");
    rc = sqlite3_exec(db->sql, sql, NULL, NULL, &message);
    if (rc != SQLITE_OK) {
        snprintf(err, err_size, "cannot create the schema: %s",
                 message ? message : sqlite3_errstr(rc));
        sqlite3_free(message);
        return -EIO;
    }
    return 0;
}

static int
resv_db_prepare_all(struct resv_db *db, char *err, size_t err_size)
{
    char sql[RESV_DB_STMT_COUNT][RESV_DB_SQL_SIZE];

    memset(sql, 0, sizeof sql);
    snprintf(db->resv_columns, sizeof db->resv_columns, "seq, %s",
             resv_db_base_columns);
    resv_db_keys(db->resv_columns, "", false);
    resv_db_keys(db->resv_columns, "a_", false);

    resv_db_append(sql[RESV_DB_BEGIN], "BEGIN");
    resv_db_append(sql[RESV_DB_COMMIT], "COMMIT");
    resv_db_append(sql[RESV_DB_ROLLBACK], "ROLLBACK");

    resv_db_append(sql[RESV_DB_PUT_RESV], "INSERT INTO reservations (%s",
                   resv_db_base_columns);
    resv_db_keys(sql[RESV_DB_PUT_RESV], "", false);
    resv_db_keys(sql[RESV_DB_PUT_RESV], "a_", false);
    resv_db_append(sql[RESV_DB_PUT_RESV], ") VALUES (?");
    resv_db_params(sql[RESV_DB_PUT_RESV],
                   RESV_DB_BASE_COLUMNS - 1 + 2 * CAPVEC_KEY_COUNT);
    resv_db_append(sql[RESV_DB_PUT_RESV], ") ON CONFLICT (id) DO UPDATE SET "
                   "zone = excluded.zone, project_id = excluded.project_id, "
                   "name = excluded.name, status = excluded.status, "
                   "start_time = excluded.start_time, "
                   "end_time = excluded.end_time, expiry = excluded.expiry, "
                   "expired = excluded.expired, updated = excluded.updated");
    resv_db_keys(sql[RESV_DB_PUT_RESV], "", true);
    resv_db_keys(sql[RESV_DB_PUT_RESV], "a_", true);

    resv_db_append(sql[RESV_DB_PUT_POOL], "INSERT OR REPLACE INTO pools "
                   "(id, zone, name, start_time, end_time, created");
    resv_db_keys(sql[RESV_DB_PUT_POOL], "", false);
    resv_db_append(sql[RESV_DB_PUT_POOL], ") VALUES (?");
    resv_db_params(sql[RESV_DB_PUT_POOL], 5 + CAPVEC_KEY_COUNT);
    resv_db_append(sql[RESV_DB_PUT_POOL], ")");

    resv_db_append(sql[RESV_DB_PUT_ALLOC], "INSERT OR REPLACE INTO "
                   "allocations (id, reservation_id, zone, instance, "
                   "start_time, end_time, created");
    resv_db_keys(sql[RESV_DB_PUT_ALLOC], "", false);
    resv_db_append(sql[RESV_DB_PUT_ALLOC], ") VALUES (?");
    resv_db_params(sql[RESV_DB_PUT_ALLOC], 6 + CAPVEC_KEY_COUNT);
    resv_db_append(sql[RESV_DB_PUT_ALLOC], ")");

    resv_db_append(sql[RESV_DB_DEL_POOL], "DELETE FROM pools WHERE id = ?");
    resv_db_append(sql[RESV_DB_DEL_ALLOC],
                   "DELETE FROM allocations WHERE id = ?");
    resv_db_append(sql[RESV_DB_DEL_ALLOCS_OF],
                   "DELETE FROM allocations WHERE reservation_id = ?");
    resv_db_append(sql[RESV_DB_GET_RESV], "SELECT %s FROM reservations "
                   "WHERE id = ?", db->resv_columns);
    resv_db_append(sql[RESV_DB_LOAD_RESV], "SELECT %s FROM reservations "
                   "ORDER BY seq", db->resv_columns);
    resv_db_append(sql[RESV_DB_LOAD_LIVE], "SELECT %s FROM reservations "
                   "WHERE status IN ('pending', 'active') ORDER BY seq",
                   db->resv_columns);
    resv_db_append(sql[RESV_DB_LOAD_POOLS], "SELECT id, zone, name, "
                   "start_time, end_time, created");
    resv_db_keys(sql[RESV_DB_LOAD_POOLS], "", false);
    resv_db_append(sql[RESV_DB_LOAD_POOLS], " FROM pools ORDER BY rowid");
    resv_db_append(sql[RESV_DB_LOAD_ALLOCS], "SELECT id, reservation_id, "
                   "zone, instance, start_time, end_time, created");
    resv_db_keys(sql[RESV_DB_LOAD_ALLOCS], "", false);
    resv_db_append(sql[RESV_DB_LOAD_ALLOCS],
                   " FROM allocations ORDER BY rowid");

    for (int i = 0; i < RESV_DB_STMT_COUNT; i++) {
        if (sqlite3_prepare_v3(db->sql, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &db->stmts[i], NULL) != SQLITE_OK) {
            snprintf(err, err_size, "cannot prepare statement %d: %s", i,
                     sqlite3_errmsg(db->sql));
            return -EIO;
        }
    }
    return 0;
}

int
resv_db_open(const char *path, bool durable, struct resv_db **out, char *err,
             size_t err_size)
{
    struct resv_db *db = calloc(1, sizeof *db);
    char *message = NULL;
    int ret = -EIO;

    if (!db) {
        snprintf(err, err_size, "out of memory");
        return -ENOMEM;
    }
    if (sqlite3_open_v2(path, &db->sql, SQLITE_OPEN_READWRITE |
                        SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK) {
        snprintf(err, err_size, "%s: %s", path,
                 db->sql ? sqlite3_errmsg(db->sql) : "cannot open");
        goto out;
    }
    sqlite3_busy_timeout(db->sql, 5000);
    /* A 64 MiB page cache keeps the upper levels of the tables and of
     * their indexes in memory with a million reservations. */
    if (sqlite3_exec(db->sql, durable ? "PRAGMA journal_mode = WAL;"
                                        "PRAGMA synchronous = FULL;"
                                        "PRAGMA cache_size = -65536;"
                                      : "PRAGMA journal_mode = WAL;"
                                        "PRAGMA synchronous = OFF;"
                                        "PRAGMA cache_size = -65536;",
                     NULL, NULL, &message) != SQLITE_OK) {
        snprintf(err, err_size, "%s: %s", path,
                 message ? message : "cannot set WAL mode");
        goto out;
    }
    if (resv_db_schema(db, err, err_size) ||
        resv_db_prepare_all(db, err, err_size)) {
        goto out;
    }
    *out = db;
    db = NULL;
    ret = 0;
out:
    sqlite3_free(message);
    resv_db_close(db);
    return ret;
}

void
resv_db_close(struct resv_db *db)
{
    if (!db) {
        return;
    }
    for (int i = 0; i < RESV_DB_STMT_COUNT; i++) {
        sqlite3_finalize(db->stmts[i]);
    }
    sqlite3_close(db->sql);
    free(db);
}

const char *
resv_db_error(const struct resv_db *db)
{
    return sqlite3_errmsg(db->sql);
}

/* Steps a statement that returns no rows, then resets it. */
static int
resv_db_run(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);

    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int
resv_db_begin(struct resv_db *db)
{
    return resv_db_run(db->stmts[RESV_DB_BEGIN]);
}

int
resv_db_commit(struct resv_db *db)
{
    return resv_db_run(db->stmts[RESV_DB_COMMIT]);
}

void
resv_db_rollback(struct resv_db *db)
{
    if (!sqlite3_get_autocommit(db->sql)) {
        resv_db_run(db->stmts[RESV_DB_ROLLBACK]);
    }
}

/* Binds 'vec' to parameters first.. of 'stmt'; false on failure. */
static bool
resv_db_bind_vec(sqlite3_stmt *stmt, int first, const struct capvec *vec)
{
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        if (sqlite3_bind_int64(stmt, first + k, vec->v[k]) != SQLITE_OK) {
            return false;
        }
    }
    return true;
}

static bool
resv_db_bind_text(sqlite3_stmt *stmt, int i, const char *text)
{
    return sqlite3_bind_text(stmt, i, text, -1, SQLITE_STATIC) == SQLITE_OK;
}

/* Runs 'stmt' after binding went 'ok'; resets it either way. */
static int
resv_db_finish(sqlite3_stmt *stmt, bool ok)
{
    if (!ok) {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        return -EIO;
    }
    return resv_db_run(stmt);
}

int
resv_db_put_reservation(struct resv_db *db, const struct resv_record *r)
{
    sqlite3_stmt *s = db->stmts[RESV_DB_PUT_RESV];
    bool ok = resv_db_bind_text(s, 1, r->id) &&
              resv_db_bind_text(s, 2, r->zone) &&
              resv_db_bind_text(s, 3, r->project_id) &&
              resv_db_bind_text(s, 4, r->name) &&
              resv_db_bind_text(s, 5, resv_status_name(r->status)) &&
              sqlite3_bind_int64(s, 6, r->start) == SQLITE_OK &&
              sqlite3_bind_int64(s, 7, r->end) == SQLITE_OK &&
              sqlite3_bind_int64(s, 8, r->expiry) == SQLITE_OK &&
              sqlite3_bind_int(s, 9, r->expired) == SQLITE_OK &&
              sqlite3_bind_int64(s, 10, r->created) == SQLITE_OK &&
              sqlite3_bind_int64(s, 11, r->updated) == SQLITE_OK &&
              resv_db_bind_vec(s, 12, &r->capacity) &&
              resv_db_bind_vec(s, 12 + CAPVEC_KEY_COUNT, &r->allocated);

    return resv_db_finish(s, ok);
}

int
resv_db_put_pool(struct resv_db *db, const struct resv_pool_record *p)
{
    sqlite3_stmt *s = db->stmts[RESV_DB_PUT_POOL];
    bool ok = resv_db_bind_text(s, 1, p->id) &&
              resv_db_bind_text(s, 2, p->zone) &&
              resv_db_bind_text(s, 3, p->name) &&
              sqlite3_bind_int64(s, 4, p->start) == SQLITE_OK &&
              sqlite3_bind_int64(s, 5, p->end) == SQLITE_OK &&
              sqlite3_bind_int64(s, 6, p->created) == SQLITE_OK &&
              resv_db_bind_vec(s, 7, &p->capacity);

    return resv_db_finish(s, ok);
}

int
resv_db_put_allocation(struct resv_db *db, const struct resv_alloc_record *a)
{
    sqlite3_stmt *s = db->stmts[RESV_DB_PUT_ALLOC];
    bool ok = resv_db_bind_text(s, 1, a->id) &&
              (a->reservation_id[0]
                   ? resv_db_bind_text(s, 2, a->reservation_id)
                   : sqlite3_bind_null(s, 2) == SQLITE_OK) &&
              resv_db_bind_text(s, 3, a->zone) &&
              resv_db_bind_text(s, 4, a->instance) &&
              sqlite3_bind_int64(s, 5, a->start) == SQLITE_OK &&
              sqlite3_bind_int64(s, 6, a->end) == SQLITE_OK &&
              sqlite3_bind_int64(s, 7, a->created) == SQLITE_OK &&
              resv_db_bind_vec(s, 8, &a->capacity);

    return resv_db_finish(s, ok);
}

static int
resv_db_delete_by(struct resv_db *db, enum resv_db_stmt which,
                  const char *id)
{
    sqlite3_stmt *s = db->stmts[which];

    return resv_db_finish(s, resv_db_bind_text(s, 1, id));
}

int
resv_db_delete_pool(struct resv_db *db, const char *id)
{
    return resv_db_delete_by(db, RESV_DB_DEL_POOL, id);
}

int
resv_db_delete_allocation(struct resv_db *db, const char *id)
{
    return resv_db_delete_by(db, RESV_DB_DEL_ALLOC, id);
}

int
resv_db_delete_allocations_of(struct resv_db *db, const char *reservation_id)
{
    return resv_db_delete_by(db, RESV_DB_DEL_ALLOCS_OF, reservation_id);
}

static void
resv_db_column_name(sqlite3_stmt *s, int i, char *out)
{
    const unsigned char *text = sqlite3_column_text(s, i);

    resv_record_copy_name(out, (const char *) text);
}

static void
resv_db_column_vec(sqlite3_stmt *s, int first, struct capvec *vec)
{
    for (int k = 0; k < CAPVEC_KEY_COUNT; k++) {
        vec->v[k] = sqlite3_column_int64(s, first + k);
    }
}

/* Reads a row of db->resv_columns; -EINVAL when it makes no sense. */
static int
resv_db_read_record(sqlite3_stmt *s, struct resv_record *r, int64_t *seq)
{
    const unsigned char *id = sqlite3_column_text(s, 1);
    const unsigned char *status = sqlite3_column_text(s, 5);

    memset(r, 0, sizeof *r);
    *seq = sqlite3_column_int64(s, 0);
    if (!id || strlen((const char *) id) != VUUID_STRING_SIZE - 1 ||
        !status ||
        resv_status_from_name((const char *) status, &r->status)) {
        return -EINVAL;
    }
    memcpy(r->id, id, VUUID_STRING_SIZE);
    resv_db_column_name(s, 2, r->zone);
    resv_db_column_name(s, 3, r->project_id);
    resv_db_column_name(s, 4, r->name);
    r->start = sqlite3_column_int64(s, 6);
    r->end = sqlite3_column_int64(s, 7);
    r->expiry = sqlite3_column_int64(s, 8);
    r->expired = sqlite3_column_int(s, 9) != 0;
    r->created = sqlite3_column_int64(s, 10);
    r->updated = sqlite3_column_int64(s, 11);
    resv_db_column_vec(s, 12, &r->capacity);
    resv_db_column_vec(s, 12 + CAPVEC_KEY_COUNT, &r->allocated);
    return 0;
}

int
resv_db_get_reservation(struct resv_db *db, const char *id,
                        struct resv_record *out, int64_t *seq)
{
    sqlite3_stmt *s = db->stmts[RESV_DB_GET_RESV];
    struct resv_record r;
    int64_t n = 0;
    int ret = -EIO, rc;

    if (!resv_db_bind_text(s, 1, id)) {
        goto out;
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        ret = -ENOENT;
    } else if (rc == SQLITE_ROW) {
        ret = resv_db_read_record(s, &r, &n) ? -EIO : 0;
    }
out:
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (!ret) {
        *out = r;
        if (seq) {
            *seq = n;
        }
    }
    return ret;
}

/* Steps 's' over its rows, calling 'fn' on each record. */
static int
resv_db_each_record(sqlite3_stmt *s, resv_db_record_fn *fn, void *arg)
{
    int ret = 0, rc;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct resv_record r;
        int64_t seq;

        if (resv_db_read_record(s, &r, &seq)) {
            ret = -EIO;
            break;
        }
        ret = fn(&r, seq, arg);
        if (ret) {
            break;
        }
    }
    if (!ret && rc != SQLITE_DONE) {
        ret = -EIO;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return ret;
}

int
resv_db_load_reservations(struct resv_db *db, bool live_only,
                          resv_db_record_fn *fn, void *arg)
{
    return resv_db_each_record(db->stmts[live_only ? RESV_DB_LOAD_LIVE
                                                   : RESV_DB_LOAD_RESV],
                               fn, arg);
}

int
resv_db_load_pools(struct resv_db *db, resv_db_pool_fn *fn, void *arg)
{
    sqlite3_stmt *s = db->stmts[RESV_DB_LOAD_POOLS];
    int ret = 0, rc;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct resv_pool_record p;
        const unsigned char *id = sqlite3_column_text(s, 0);

        memset(&p, 0, sizeof p);
        if (!id || strlen((const char *) id) != VUUID_STRING_SIZE - 1) {
            ret = -EIO;
            break;
        }
        memcpy(p.id, id, VUUID_STRING_SIZE);
        resv_db_column_name(s, 1, p.zone);
        resv_db_column_name(s, 2, p.name);
        p.start = sqlite3_column_int64(s, 3);
        p.end = sqlite3_column_int64(s, 4);
        p.created = sqlite3_column_int64(s, 5);
        resv_db_column_vec(s, 6, &p.capacity);
        ret = fn(&p, arg);
        if (ret) {
            break;
        }
    }
    if (!ret && rc != SQLITE_DONE) {
        ret = -EIO;
    }
    sqlite3_reset(s);
    return ret;
}

int
resv_db_load_allocations(struct resv_db *db, resv_db_alloc_fn *fn, void *arg)
{
    sqlite3_stmt *s = db->stmts[RESV_DB_LOAD_ALLOCS];
    int ret = 0, rc;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct resv_alloc_record a;
        const unsigned char *id = sqlite3_column_text(s, 0);
        const unsigned char *rid = sqlite3_column_text(s, 1);

        memset(&a, 0, sizeof a);
        if (!id || strlen((const char *) id) != VUUID_STRING_SIZE - 1 ||
            (rid && strlen((const char *) rid) != VUUID_STRING_SIZE - 1)) {
            ret = -EIO;
            break;
        }
        memcpy(a.id, id, VUUID_STRING_SIZE);
        if (rid) {
            memcpy(a.reservation_id, rid, VUUID_STRING_SIZE);
        }
        resv_db_column_name(s, 2, a.zone);
        resv_db_column_name(s, 3, a.instance);
        a.start = sqlite3_column_int64(s, 4);
        a.end = sqlite3_column_int64(s, 5);
        a.created = sqlite3_column_int64(s, 6);
        resv_db_column_vec(s, 7, &a.capacity);
        ret = fn(&a, arg);
        if (ret) {
            break;
        }
    }
    if (!ret && rc != SQLITE_DONE) {
        ret = -EIO;
    }
    sqlite3_reset(s);
    return ret;
}

int
resv_db_list_reservations(struct resv_db *db,
                          const struct resv_db_filter *f,
                          resv_db_record_fn *fn, void *arg)
{
    char sql[RESV_DB_SQL_SIZE] = "";
    sqlite3_stmt *s = NULL;
    int i = 1, ret = -EIO;
    bool ok = true;

    resv_db_append(sql, "SELECT %s FROM reservations WHERE seq > ?",
                   db->resv_columns);
    if (f->zone) {
        resv_db_append(sql, " AND zone = ?");
    }
    if (f->project_id) {
        resv_db_append(sql, " AND project_id = ?");
    }
    if (f->has_status) {
        resv_db_append(sql, " AND status = ?");
    }
    if (f->has_window) {
        resv_db_append(sql, " AND start_time < ? AND end_time > ?");
    }
    resv_db_append(sql, " ORDER BY seq LIMIT ?");
    if (sqlite3_prepare_v2(db->sql, sql, -1, &s, NULL) != SQLITE_OK) {
        return -EIO;
    }
    ok = sqlite3_bind_int64(s, i++, f->after_seq) == SQLITE_OK;
    if (ok && f->zone) {
        ok = resv_db_bind_text(s, i++, f->zone);
    }
    if (ok && f->project_id) {
        ok = resv_db_bind_text(s, i++, f->project_id);
    }
    if (ok && f->has_status) {
        ok = resv_db_bind_text(s, i++, resv_status_name(f->status));
    }
    if (ok && f->has_window) {
        ok = sqlite3_bind_int64(s, i++, f->end) == SQLITE_OK &&
             sqlite3_bind_int64(s, i++, f->start) == SQLITE_OK;
    }
    if (ok) {
        ok = sqlite3_bind_int64(s, i, (sqlite3_int64) f->limit) == SQLITE_OK;
    }
    if (ok) {
        ret = resv_db_each_record(s, fn, arg);
    }
    sqlite3_finalize(s);
    return ret;
}
