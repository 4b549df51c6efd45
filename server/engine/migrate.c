/* migrate.c - applies the embedded SQL migrations with blocking libpq at start-up (before
 * the loop serves anything). The advisory lock is a session lock held across all files,
 * so a second daemon starting at the same moment waits, then finds nothing left to do. */
#include "migrate.h"

#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "cl_sql.h"
#include "log.h"

#define MIGRATION_LOCK_ID 7443001 /* pg_advisory_lock key owned by closeloop migrations */

/* A blocking connection, or NULL with one sentence in err. */
static PGconn *connect_blocking(const char *conninfo, char *err, size_t errlen) {
    PGconn *pg = PQconnectdb(conninfo);
    if (PQstatus(pg) == CONNECTION_OK) return pg;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(pg));
    msg[strcspn(msg, "\n")] = 0;
    snprintf(err, errlen, "cannot connect to the database: %s", msg);
    PQfinish(pg);
    return NULL;
}

/* Runs sql; on failure writes "what: error" to err. */
static int run(PGconn *pg, const char *sql, const char *what, char *err, size_t errlen) {
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        snprintf(err, errlen, "%s: %s", what, msg ? msg : PQerrorMessage(pg));
    }
    PQclear(r);
    return ok ? CL_OK : CL_EINTERNAL;
}

static int applied_already(PGconn *pg, const char *name, int *yes, char *err, size_t errlen) {
    const char *params[] = {name};
    PGresult *r = PQexecParams(pg, "SELECT 1 FROM schema_migrations WHERE name = $1", 1, NULL,
                               params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "reading schema_migrations: %s", PQerrorMessage(pg));
        PQclear(r);
        return CL_EINTERNAL;
    }
    *yes = PQntuples(r) > 0;
    PQclear(r);
    return CL_OK;
}

/* One file in one transaction, recorded in the same transaction. */
static int apply_one(PGconn *pg, const cl_migration_t *m, char *err, size_t errlen) {
    char what[256];
    snprintf(what, sizeof what, "migration %s", m->name);
    if (run(pg, "BEGIN", what, err, errlen) != CL_OK) return CL_EINTERNAL;
    /* The triggers need an actor for any seed rows a migration writes. */
    if (run(pg,
            "SELECT set_config('closeloop.actor', '{\"user_id\":0,\"username\":\"migration\"}', "
            "true)",
            what, err, errlen) != CL_OK ||
        run(pg, m->sql, what, err, errlen) != CL_OK) {
        PQclear(PQexec(pg, "ROLLBACK"));
        return CL_EINTERNAL;
    }
    const char *params[] = {m->name};
    PGresult *r = PQexecParams(pg, "INSERT INTO schema_migrations (name) VALUES ($1)", 1, NULL,
                               params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok || run(pg, "COMMIT", what, err, errlen) != CL_OK) {
        if (!ok) snprintf(err, errlen, "%s: cannot record it: %s", what, PQerrorMessage(pg));
        PQclear(PQexec(pg, "ROLLBACK"));
        return CL_EINTERNAL;
    }
    return CL_OK;
}

int cl_migrate(const char *conninfo, int *applied, char *err, size_t errlen) {
    *applied = 0;
    PGconn *pg = connect_blocking(conninfo, err, errlen);
    if (!pg) return CL_EUNAVAIL;
    PQclear(PQexec(pg, "SET client_min_messages = warning"));
    char lock[128];
    snprintf(lock, sizeof lock, "SELECT pg_advisory_lock(%d)", MIGRATION_LOCK_ID);
    int rc = run(pg, lock, "taking the migration lock", err, errlen);
    if (rc == CL_OK)
        rc = run(pg,
                 "CREATE TABLE IF NOT EXISTS schema_migrations ("
                 " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                 "creating schema_migrations", err, errlen);
    for (const cl_migration_t *m = cl_migrations; rc == CL_OK && m->name; m++) {
        int done = 0;
        rc = applied_already(pg, m->name, &done, err, errlen);
        if (rc != CL_OK || done) continue;
        rc = apply_one(pg, m, err, errlen);
        if (rc == CL_OK) {
            (*applied)++;
            cl_log_info("migration_applied", "name=%s", m->name);
        }
    }
    /* The areas' functions, as this build has them, in one transaction (still under the
     * lock): every start brings them in line with the statements that call them. */
    if (rc == CL_OK) rc = run(pg, "BEGIN", "defining the areas' functions", err, errlen);
    for (const cl_db_function_t *f = cl_sql_functions; rc == CL_OK && f->name; f++) {
        char what[160];
        snprintf(what, sizeof what, "function %s (%s)", f->name, f->where);
        rc = run(pg, f->sql, what, err, errlen);
    }
    if (rc == CL_OK) rc = run(pg, "COMMIT", "defining the areas' functions", err, errlen);
    PQfinish(pg); /* ends the session (rolling back a failed definition), releasing the lock */
    return rc;
}

int cl_migrate_check_statements(const char *conninfo, const cl_db_stmt_t *stmts, size_t n,
                                char *err, size_t errlen) {
    PGconn *pg = connect_blocking(conninfo, err, errlen);
    if (!pg) return CL_EUNAVAIL;
    int rc = CL_OK;
    for (size_t i = 0; i < n && rc == CL_OK; i++) {
        const cl_db_stmt_t *s = &stmts[i];
        PGresult *r = PQprepare(pg, s->name, s->sql, 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
            snprintf(err, errlen, "statement %s (%s) does not prepare: %s", s->name, s->where,
                     msg ? msg : PQerrorMessage(pg));
            rc = CL_EINTERNAL;
        }
        PQclear(r);
        if (rc != CL_OK) break;
        r = PQdescribePrepared(pg, s->name);
        if (cl_db_stmt_check(s, r, err, errlen) != 0) rc = CL_EINTERNAL;
        PQclear(r);
    }
    PQfinish(pg);
    return rc;
}

int cl_bootstrap_admin(const char *conninfo, const char *username, const char *password_hash,
                       char *err, size_t errlen) {
    PGconn *pg = connect_blocking(conninfo, err, errlen);
    if (!pg) return CL_EUNAVAIL;
    /* One implicit transaction: the actor setting and the upsert commit together. */
    const char *params[] = {username, password_hash};
    PGresult *r = PQexecParams(
        pg,
        "WITH actor AS (SELECT set_config('closeloop.actor',"
        "  '{\"user_id\":0,\"username\":\"bootstrap\"}', true))"
        " INSERT INTO users (username, display_name, role, password_hash)"
        " SELECT $1, $1, 'hq_admin', $2 FROM actor"
        " ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
        "   role = 'hq_admin', company_id = NULL, contractor_id = NULL, disabled = false",
        2, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) {
        const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        snprintf(err, errlen, "cannot create the administrator: %s",
                 msg ? msg : PQerrorMessage(pg));
    }
    PQclear(r);
    PQfinish(pg);
    return ok ? CL_OK : CL_EINTERNAL;
}
