/* store.c -- A-Sky's membership store (store.h) on SQLite or PostgreSQL.
 *
 * Both backends run the same SQL (parameters $1..$n, which SQLite binds by name; BYTEA is a
 * blob to SQLite) through one small primitive,
 * exec: a statement, its parameters (blobs or integers), a callback per result row and the
 * number of rows changed. What differs is only how a transaction begins: SQLite takes the
 * write lock at once (BEGIN IMMEDIATE), PostgreSQL reads a snapshot (REPEATABLE READ) and
 * orders user changes with a table lock, so user sequence numbers commit in order. Writes are
 * durable on return (SQLite: WAL, synchronous FULL; PostgreSQL: its commit). */
#include "asky/host/store.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#define BLOB_MAX ((size_t)64 << 20)
#define INT8_OID 20

struct aval {
    const uint8_t *p; /* a blob (NULL: the integer i; NULL with null set: SQL NULL) */
    size_t len;
    int64_t i;
    bool null;
};

typedef int (*row_fn)(void *arg, const struct aval *cols, int ncols);

#define POOL 4 /* connections per store: requests of several threads at once */

struct conn {
    sqlite3 *lite;
    PGconn *pg;
};

struct astore {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    struct conn conns[POOL];
    bool busy[POOL];
    bool pg;
};

static const char *const SCHEMA[] = {
    "CREATE TABLE IF NOT EXISTS asky_meta (name TEXT PRIMARY KEY, value BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS asky_epoch (one INTEGER PRIMARY KEY CHECK (one = 1), "
    "counter BIGINT NOT NULL, rec BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS asky_groups (id BYTEA PRIMARY KEY, version BIGINT NOT NULL, "
    "rec BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS asky_users (id BYTEA PRIMARY KEY, seq BIGINT NOT NULL, rec BYTEA)",
    "CREATE INDEX IF NOT EXISTS asky_users_seq ON asky_users (seq)",
};

uint64_t astore_be64(const uint8_t *p, size_t len, size_t off)
{
    uint64_t v = 0;
    for (size_t i = 0; len >= off + 8 && i < 8; i++)
        v = v << 8 | p[off + i];
    return v;
}

/* ---- SQLite ---------------------------------------------------------------------------------- */

static int lite_fail(struct conn *st, struct cloister_err *err)
{
    int code = sqlite3_errcode(st->lite);
    return cloister_errf(err, code == SQLITE_BUSY ? CLOISTER_E_BUSY : CLOISTER_E_FAILED,
                         "membership store (sqlite): %s", sqlite3_errmsg(st->lite));
}

static int lite_exec(struct conn *st, const char *sql, const struct aval *in, int nin, row_fn row,
                     void *arg, long *changes, struct cloister_err *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->lite, sql, -1, &s, NULL) != SQLITE_OK)
        return lite_fail(st, err);
    for (int i = 0; i < nin; i++) { /* "$n" is a name to SQLite: bound by its name */
        char name[16];
        snprintf(name, sizeof name, "$%d", i + 1);
        int at = sqlite3_bind_parameter_index(s, name);
        if (at == 0)
            continue;
        if (in[i].null)
            sqlite3_bind_null(s, at);
        else if (in[i].p)
            sqlite3_bind_blob(s, at, in[i].p, (int)in[i].len, SQLITE_STATIC);
        else
            sqlite3_bind_int64(s, at, in[i].i);
    }
    int rc = CLOISTER_OK, step;
    while (rc == CLOISTER_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        struct aval cols[4] = {{0}};
        int n = sqlite3_column_count(s) < 4 ? sqlite3_column_count(s) : 4;
        for (int c = 0; c < n; c++) {
            int t = sqlite3_column_type(s, c);
            cols[c].null = t == SQLITE_NULL;
            cols[c].i = sqlite3_column_int64(s, c);
            if (t == SQLITE_BLOB) {
                cols[c].p = sqlite3_column_blob(s, c);
                cols[c].len = (size_t)sqlite3_column_bytes(s, c);
            }
        }
        rc = row ? row(arg, cols, n) : CLOISTER_OK;
    }
    if (rc == CLOISTER_OK && step != SQLITE_DONE)
        rc = lite_fail(st, err);
    if (changes)
        *changes = sqlite3_changes(st->lite);
    sqlite3_finalize(s);
    return rc;
}

static int lite_open(struct conn *st, const char *dir, struct cloister_err *err)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/asky.db", dir) >= (int)sizeof path)
        return cloister_errf(err, CLOISTER_E_INVALID, "store path too long");
    if (sqlite3_open_v2(path, &st->lite, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK)
        return lite_fail(st, err);
    sqlite3_busy_timeout(st->lite, 30000);
    return lite_exec(st, "PRAGMA journal_mode=WAL", NULL, 0, NULL, NULL, NULL, err) ||
                   lite_exec(st, "PRAGMA synchronous=FULL", NULL, 0, NULL, NULL, NULL, err)
               ? CLOISTER_E_FAILED
               : CLOISTER_OK;
}

/* ---- PostgreSQL ------------------------------------------------------------------------------ */

static int pg_fail(struct conn *st, PGresult *r, struct cloister_err *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    /* 40001 serialization failure, 40P01 deadlock, 23505 a concurrent insert won */
    bool busy = state &&
                (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "23505"));
    char msg[200];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(st->pg));
    msg[strcspn(msg, "\n")] = '\0';
    PQclear(r);
    return cloister_errf(err, busy ? CLOISTER_E_BUSY : CLOISTER_E_FAILED,
                         "membership store (postgresql): %s", msg);
}

static int pg_exec(struct conn *st, const char *sql, const struct aval *in, int nin, row_fn row,
                   void *arg, long *changes, struct cloister_err *err)
{
    const char *vals[8];
    int lens[8], fmts[8];
    char ints[8][24];
    for (int i = 0; i < nin && i < 8; i++) {
        fmts[i] = in[i].p ? 1 : 0;
        lens[i] = (int)in[i].len;
        snprintf(ints[i], sizeof ints[i], "%" PRId64, in[i].i);
        vals[i] = in[i].null ? NULL : in[i].p ? (const char *)in[i].p : ints[i];
    }
    PGresult *r = PQexecParams(st->pg, sql, nin, NULL, vals, lens, fmts, 1);
    ExecStatusType t = PQresultStatus(r);
    if (t != PGRES_TUPLES_OK && t != PGRES_COMMAND_OK)
        return pg_fail(st, r, err);
    int rc = CLOISTER_OK, n = PQnfields(r) < 4 ? PQnfields(r) : 4;
    for (int i = 0; rc == CLOISTER_OK && i < PQntuples(r); i++) {
        struct aval cols[4] = {{0}};
        for (int c = 0; c < n; c++) {
            const uint8_t *v = (const uint8_t *)PQgetvalue(r, i, c);
            size_t len = (size_t)PQgetlength(r, i, c);
            cols[c].null = PQgetisnull(r, i, c);
            if (PQftype(r, c) == INT8_OID)
                cols[c].i = (int64_t)astore_be64(v, len, 0);
            else if (!cols[c].null) {
                cols[c].p = v;
                cols[c].len = len;
            }
        }
        rc = row ? row(arg, cols, n) : CLOISTER_OK;
    }
    if (changes)
        *changes = atol(PQcmdTuples(r));
    PQclear(r);
    return rc;
}

static int pg_open(struct conn *st, const char *conninfo, struct cloister_err *err)
{
    st->pg = PQconnectdb(conninfo);
    if (PQstatus(st->pg) != CONNECTION_OK)
        return pg_fail(st, NULL, err);
    PQclear(PQexec(st->pg, "SET client_min_messages = warning"));
    return CLOISTER_OK;
}

/* ---- one interface --------------------------------------------------------------------------- */

static int exec(struct conn *st, const char *sql, const struct aval *in, int nin, row_fn row,
                void *arg, long *changes, struct cloister_err *err)
{
    return st->pg ? pg_exec(st, sql, in, nin, row, arg, changes, err)
                  : lite_exec(st, sql, in, nin, row, arg, changes, err);
}

static int run(struct conn *st, const char *sql, struct cloister_err *err)
{
    return exec(st, sql, NULL, 0, NULL, NULL, NULL, err);
}

/* A transaction: writes take the write lock first (SQLite) or order user changes (PostgreSQL,
 * users set); reads see one snapshot. */
static int begin(struct conn *st, bool write, bool users, struct cloister_err *err)
{
    if (!st->pg)
        return run(st, write ? "BEGIN IMMEDIATE" : "BEGIN", err);
    int rc = run(st, write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
    if (rc == CLOISTER_OK && users)
        rc = run(st, "LOCK TABLE asky_users IN SHARE ROW EXCLUSIVE MODE", err);
    return rc;
}

/* Ends the transaction begun: COMMIT when rc is CLOISTER_OK, ROLLBACK otherwise. */
static int end(struct conn *st, int rc, struct cloister_err *err)
{
    if (rc != CLOISTER_OK) {
        run(st, "ROLLBACK", NULL);
        return rc;
    }
    rc = run(st, "COMMIT", err);
    if (rc != CLOISTER_OK)
        run(st, "ROLLBACK", NULL);
    return rc;
}

static int schema(struct conn *st, struct cloister_err *err)
{
    int rc = begin(st, true, false, err);
    if (rc == CLOISTER_OK && st->pg) /* replicas starting together */
        rc = run(st, "SELECT pg_advisory_xact_lock(4150)", err);
    for (size_t i = 0; rc == CLOISTER_OK && i < sizeof SCHEMA / sizeof *SCHEMA; i++)
        rc = run(st, SCHEMA[i], err);
    return end(st, rc, err);
}

/* A free connection of the pool (waits for one). */
static struct conn *conn_get(struct astore *st)
{
    pthread_mutex_lock(&st->lock);
    for (;;) {
        for (int i = 0; i < POOL; i++)
            if (!st->busy[i]) {
                st->busy[i] = true;
                pthread_mutex_unlock(&st->lock);
                return &st->conns[i];
            }
        pthread_cond_wait(&st->freed, &st->lock);
    }
}

static void conn_put(struct astore *st, struct conn *c)
{
    pthread_mutex_lock(&st->lock);
    st->busy[c - st->conns] = false;
    pthread_cond_signal(&st->freed);
    pthread_mutex_unlock(&st->lock);
}

int astore_open(const char *dir, const char *conninfo, struct astore **out,
                struct cloister_err *err)
{
    struct astore *st = calloc(1, sizeof *st);
    if (!st)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->freed, NULL);
    st->pg = conninfo && *conninfo;
    int rc = CLOISTER_OK;
    for (int i = 0; i < POOL && rc == CLOISTER_OK; i++) {
        rc = st->pg ? pg_open(&st->conns[i], conninfo, err) : lite_open(&st->conns[i], dir, err);
        if (rc == CLOISTER_OK && i == 0)
            rc = schema(&st->conns[0], err);
    }
    if (rc != CLOISTER_OK) {
        astore_close(st);
        return rc;
    }
    *out = st;
    return CLOISTER_OK;
}

void astore_close(struct astore *st)
{
    if (!st)
        return;
    for (int i = 0; i < POOL; i++) {
        if (st->conns[i].pg)
            PQfinish(st->conns[i].pg);
        if (st->conns[i].lite)
            sqlite3_close(st->conns[i].lite);
    }
    pthread_cond_destroy(&st->freed);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

const char *astore_kind(const struct astore *st)
{
    return st->pg ? "postgresql" : "sqlite";
}

/* A copy of the first column of the first row (a blob). */
struct blob {
    uint8_t *p;
    size_t len;
    bool found;
};

static int blob_row(void *arg, const struct aval *cols, int ncols)
{
    struct blob *b = arg;
    if (b->found || ncols < 1)
        return CLOISTER_OK;
    b->found = true;
    if (cols[0].len > BLOB_MAX || !(b->p = malloc(cols[0].len ? cols[0].len : 1)))
        return CLOISTER_E_NO_MEMORY;
    if (cols[0].len)
        memcpy(b->p, cols[0].p, cols[0].len);
    b->len = cols[0].len;
    return CLOISTER_OK;
}

/* One blob, locked: CLOISTER_E_NOT_FOUND when no row. */
static int get_blob(struct conn *st, const char *sql, const struct aval *in, int nin, uint8_t **out,
                    size_t *len, struct cloister_err *err)
{
    struct blob b = {0};
    int rc = exec(st, sql, in, nin, blob_row, &b, NULL, err);
    if (rc == CLOISTER_E_NO_MEMORY)
        cloister_errf(err, rc, "out of memory");
    if (rc == CLOISTER_OK && !b.found)
        rc = CLOISTER_E_NOT_FOUND;
    if (rc != CLOISTER_OK) {
        free(b.p);
        b.p = NULL;
        b.len = 0;
    }
    *out = b.p;
    *len = b.len;
    return rc;
}

int astore_master_get(struct astore *st, uint8_t **blob, size_t *len, struct cloister_err *err)
{
    struct conn *c = conn_get(st);
    int rc = get_blob(c, "SELECT value FROM asky_meta WHERE name = 'master'", NULL, 0, blob, len,
                      err);
    conn_put(st, c);
    return rc;
}

int astore_master_set(struct astore *st, const uint8_t *blob, size_t len, struct cloister_err *err)
{
    struct aval in[] = {{.p = blob, .len = len}};
    long changes = 0;
    struct conn *c = conn_get(st);
    int rc = exec(c,
                  "INSERT INTO asky_meta (name, value) VALUES ('master', $1) "
                  "ON CONFLICT (name) DO NOTHING",
                  in, 1, NULL, NULL, &changes, err);
    conn_put(st, c);
    return rc == CLOISTER_OK && changes == 0 ? CLOISTER_E_EXISTS : rc;
}

static int epoch_locked(struct conn *st, uint8_t **rec, size_t *len, struct cloister_err *err)
{
    int rc = get_blob(st, "SELECT rec FROM asky_epoch WHERE one = 1", NULL, 0, rec, len, err);
    return rc == CLOISTER_E_NOT_FOUND ? CLOISTER_OK : rc;
}

int astore_epoch(struct astore *st, uint8_t **rec, size_t *len, struct cloister_err *err)
{
    struct conn *c = conn_get(st);
    int rc = epoch_locked(c, rec, len, err);
    conn_put(st, c);
    return rc;
}

/* The row of astore_group: three columns copied out. */
struct snapshot {
    struct blob epoch, group;
    uint64_t users_seq;
};

static int snapshot_row(void *arg, const struct aval *cols, int ncols)
{
    struct snapshot *s = arg;
    if (ncols < 3)
        return CLOISTER_E_PROTOCOL;
    s->users_seq = (uint64_t)cols[2].i;
    int rc = cols[0].null ? CLOISTER_OK : blob_row(&s->epoch, &cols[0], 1);
    if (rc == CLOISTER_OK && !cols[1].null)
        rc = blob_row(&s->group, &cols[1], 1);
    return rc;
}

int astore_group(struct astore *st, const uint8_t gid[ASTORE_ID_LEN], uint8_t **epoch, size_t *elen,
                 uint8_t **rec, size_t *len, uint64_t *users_seq, struct cloister_err *err)
{
    struct aval in[] = {{.p = gid, .len = ASTORE_ID_LEN}};
    struct snapshot s;
    memset(&s, 0, sizeof s);
    struct conn *c = conn_get(st); /* one statement: one snapshot, one round trip */
    int rc = exec(c,
                  "SELECT (SELECT rec FROM asky_epoch WHERE one = 1), "
                  "(SELECT rec FROM asky_groups WHERE id = $1), "
                  "(SELECT COALESCE(MAX(seq), 0) FROM asky_users)",
                  in, 1, snapshot_row, &s, NULL, err);
    conn_put(st, c);
    if (rc == CLOISTER_E_NO_MEMORY || rc == CLOISTER_E_PROTOCOL)
        cloister_errf(err, rc, "membership store: reading a group failed");
    if (rc == CLOISTER_OK && !s.group.found)
        rc = CLOISTER_E_NOT_FOUND;
    if (rc != CLOISTER_OK) {
        free(s.epoch.p);
        free(s.group.p);
        memset(&s, 0, sizeof s);
    }
    *epoch = s.epoch.p;
    *elen = s.epoch.len;
    *rec = s.group.p;
    *len = s.group.len;
    *users_seq = s.users_seq;
    return rc;
}

/* A user change under the users' order (the next sequence number): 0 rows changed gives
 * none_rc. */
static int user_change(struct astore *st, const char *sql, const struct aval *in, int nin,
                       int none_rc, struct cloister_err *err)
{
    long changes = 0;
    struct conn *c = conn_get(st);
    int rc = begin(c, true, true, err);
    if (rc == CLOISTER_OK)
        rc = exec(c, sql, in, nin, NULL, NULL, &changes, err);
    if (rc == CLOISTER_OK && changes == 0)
        rc = none_rc;
    rc = end(c, rc, err);
    conn_put(st, c);
    return rc;
}

int astore_user_add(struct astore *st, const uint8_t uid[ASTORE_ID_LEN], const uint8_t *rec,
                    size_t len, struct cloister_err *err)
{
    struct aval in[] = {{.p = uid, .len = ASTORE_ID_LEN}, {.p = rec, .len = len}};
    return user_change(st,
                       "INSERT INTO asky_users (id, seq, rec) VALUES ($1, "
                       "(SELECT COALESCE(MAX(seq), 0) + 1 FROM asky_users), $2) "
                       "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, rec = excluded.rec "
                       "WHERE asky_users.rec IS NULL",
                       in, 2, CLOISTER_E_EXISTS, err);
}

int astore_user_remove(struct astore *st, const uint8_t uid[ASTORE_ID_LEN],
                       struct cloister_err *err)
{
    struct aval in[] = {{.p = uid, .len = ASTORE_ID_LEN}};
    return user_change(st,
                       "UPDATE asky_users SET rec = NULL, "
                       "seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM asky_users) "
                       "WHERE id = $1 AND rec IS NOT NULL",
                       in, 1, CLOISTER_E_NOT_FOUND, err);
}

struct users_walk {
    astore_user_fn each;
    void *arg;
    uint64_t seq;
};

static int user_row(void *arg, const struct aval *cols, int ncols)
{
    struct users_walk *w = arg;
    if (ncols < 3 || cols[0].len != ASTORE_ID_LEN)
        return CLOISTER_E_PROTOCOL;
    int rc = w->each(w->arg, cols[0].p, cols[2].null ? NULL : cols[2].p, cols[2].len);
    if (rc == CLOISTER_OK)
        w->seq = (uint64_t)cols[1].i;
    return rc;
}

int astore_users_since(struct astore *st, uint64_t *seq, astore_user_fn each, void *arg,
                       struct cloister_err *err)
{
    struct users_walk w = {each, arg, *seq};
    struct aval in[] = {{.i = (int64_t)*seq}};
    struct conn *c = conn_get(st);
    int rc = exec(c, "SELECT id, seq, rec FROM asky_users WHERE seq > $1 ORDER BY seq", in, 1,
                  user_row, &w, NULL, err);
    conn_put(st, c);
    if (rc == CLOISTER_E_PROTOCOL)
        cloister_errf(err, rc, "membership store: a malformed user row");
    *seq = w.seq;
    return rc;
}

int astore_commit(struct astore *st, const uint8_t gid[ASTORE_ID_LEN], uint64_t old_version,
                  const uint8_t *grec, size_t glen, uint64_t old_counter, const uint8_t *erec,
                  size_t elen, struct cloister_err *err)
{
    struct aval g[] = {{.p = gid, .len = ASTORE_ID_LEN},
                       {.i = (int64_t)astore_be64(grec, glen, ASTORE_ID_LEN)},
                       {.p = grec, .len = glen},
                       {.i = (int64_t)old_version}};
    struct aval e[] = {{.i = (int64_t)astore_be64(erec, elen, 0)},
                       {.p = erec, .len = elen},
                       {.i = (int64_t)old_counter}};
    long gchanged = 0, echanged = 0;
    struct conn *c = conn_get(st);
    int rc = begin(c, true, false, err);
    if (rc == CLOISTER_OK)
        rc = old_version == 0
                 ? exec(c,
                        "INSERT INTO asky_groups (id, version, rec) VALUES ($1, $2, $3) "
                        "ON CONFLICT (id) DO NOTHING",
                        g, 3, NULL, NULL, &gchanged, err)
                 : exec(c,
                        "UPDATE asky_groups SET version = $2, rec = $3 "
                        "WHERE id = $1 AND version = $4",
                        g, 4, NULL, NULL, &gchanged, err);
    if (rc == CLOISTER_OK)
        rc = old_counter == 0 ? exec(c,
                                     "INSERT INTO asky_epoch (one, counter, rec) VALUES (1, $1, "
                                     "$2) ON CONFLICT (one) DO NOTHING",
                                     e, 2, NULL, NULL, &echanged, err)
                              : exec(c,
                                     "UPDATE asky_epoch SET counter = $1, rec = $2 "
                                     "WHERE one = 1 AND counter = $3",
                                     e, 3, NULL, NULL, &echanged, err);
    if (rc == CLOISTER_OK && (gchanged != 1 || echanged != 1))
        rc = cloister_errf(err, CLOISTER_E_BUSY,
                           "the membership store changed meanwhile (another replica)");
    rc = end(c, rc, err);
    conn_put(st, c);
    return rc;
}
