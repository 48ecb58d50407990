/* alarm_db: alarm definitions in SQLite (see alarm_db.h). */
#include "alarm_db.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct alarm_db {
    sqlite3 *sql;
    sqlite3_stmt *put;
    sqlite3_stmt *del;
};

static const char alarm_db_schema[] =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = FULL;"
    "CREATE TABLE IF NOT EXISTS alarms ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  alarm_id TEXT NOT NULL UNIQUE,"
    "  body TEXT NOT NULL);";

int
alarm_db_open(const char *path, struct alarm_db **out, char *err,
              size_t err_size)
{
    struct alarm_db *db = calloc(1, sizeof *db);
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
    sqlite3_busy_timeout(db->sql, 1000);
    if (sqlite3_exec(db->sql, alarm_db_schema, NULL, NULL, &message)
        != SQLITE_OK) {
        snprintf(err, err_size, "%s: %s", path,
                 message ? message : "cannot create the schema");
        goto out;
    }
    /* An update keeps the row (and so the alarm's place in the order). */
    if (sqlite3_prepare_v2(db->sql,
                           "INSERT INTO alarms (alarm_id, body) VALUES (?, ?)"
                           " ON CONFLICT (alarm_id) DO UPDATE"
                           " SET body = excluded.body", -1, &db->put, NULL)
        != SQLITE_OK ||
        sqlite3_prepare_v2(db->sql, "DELETE FROM alarms WHERE alarm_id = ?",
                           -1, &db->del, NULL) != SQLITE_OK) {
        snprintf(err, err_size, "%s: %s", path, sqlite3_errmsg(db->sql));
        goto out;
    }
    *out = db;
    db = NULL;
    ret = 0;
out:
    sqlite3_free(message);
    alarm_db_close(db);
    return ret;
}

void
alarm_db_close(struct alarm_db *db)
{
    if (!db) {
        return;
    }
    sqlite3_finalize(db->put);
    sqlite3_finalize(db->del);
    sqlite3_close(db->sql);
    free(db);
}

int
alarm_db_load(struct alarm_db *db, alarm_db_load_fn *fn, void *arg,
              size_t *skipped, char *err, size_t err_size)
{
    sqlite3_stmt *stmt = NULL;
    size_t bad = 0;
    int ret = -EIO, rc;

    if (sqlite3_prepare_v2(db->sql, "SELECT alarm_id, body FROM alarms "
                           "ORDER BY seq", -1, &stmt, NULL) != SQLITE_OK) {
        snprintf(err, err_size, "%s", sqlite3_errmsg(db->sql));
        goto out;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *id = (const char *) sqlite3_column_text(stmt, 0);
        const char *text = (const char *) sqlite3_column_text(stmt, 1);
        struct alarm *alarm = NULL;
        char why[256] = "";
        json_error_t jerr;
        json_t *body;
        int r;

        body = text ? json_loadb(text, (size_t) sqlite3_column_bytes(stmt, 1),
                                 JSON_REJECT_DUPLICATES, &jerr)
                    : NULL;
        if (!body) {
            snprintf(why, sizeof why, "malformed JSON");
        } else if (alarm_from_json(body, &alarm, why, sizeof why) == 0 &&
                   (!id || strcmp(alarm->id, id))) {
            snprintf(why, sizeof why, "alarm_id does not match the row");
            alarm_free(alarm);
            alarm = NULL;
        }
        json_decref(body);
        if (!alarm) {
            bad++;
            snprintf(err, err_size, "alarm %.40s: %s", id ? id : "?", why);
            continue;
        }
        r = fn(alarm, arg);
        if (r) {
            ret = r;
            goto out;
        }
    }
    if (rc != SQLITE_DONE) {
        snprintf(err, err_size, "%s", sqlite3_errmsg(db->sql));
        goto out;
    }
    if (skipped) {
        *skipped = bad;
    }
    ret = 0;
out:
    sqlite3_finalize(stmt);
    return ret;
}

/* Runs a prepared statement that returns no rows and resets it. */
static int
alarm_db_run(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);

    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int
alarm_db_put(struct alarm_db *db, const struct alarm *alarm)
{
    json_t *body = alarm_to_json(alarm);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int ret = -ENOMEM;

    if (!text) {
        goto out;
    }
    ret = -EIO;
    if (sqlite3_bind_text(db->put, 1, alarm->id, -1, SQLITE_STATIC)
        != SQLITE_OK ||
        sqlite3_bind_text(db->put, 2, text, -1, SQLITE_STATIC) != SQLITE_OK) {
        sqlite3_reset(db->put);
        sqlite3_clear_bindings(db->put);
        goto out;
    }
    ret = alarm_db_run(db->put);
out:
    free(text);
    json_decref(body);
    return ret;
}

int
alarm_db_delete(struct alarm_db *db, const char *id)
{
    if (sqlite3_bind_text(db->del, 1, id, -1, SQLITE_STATIC) != SQLITE_OK) {
        sqlite3_reset(db->del);
        return -EIO;
    }
    return alarm_db_run(db->del);
}
