/* migrate.h - numbered SQL migrations (server/migrations/NNN_name.sql, embedded at build
 * time), applied in order at start-up, each in its own transaction, under an advisory
 * lock so that two daemons starting together cannot race, and recorded in
 * schema_migrations. Runs before the loop serves anything, so it may block. */
#ifndef CL_MIGRATE_H
#define CL_MIGRATE_H

#include <stddef.h>

#include "cl_err.h"
#include "db.h"

typedef struct cl_migration {
    const char *name; /* "001_org.sql" */
    const char *sql;
} cl_migration_t;

/* NULL-name terminated, sorted by name. */
extern const cl_migration_t cl_migrations[];

/* Connects with conninfo and applies every migration not yet recorded, then defines the
 * areas' functions (cl_sql_functions, CREATE OR REPLACE) in one transaction. *applied gets
 * how many migrations ran. On failure writes one sentence (with the file name, or the
 * function and where it is written) to err. */
CL_MUSTCHECK int cl_migrate(const char *conninfo, int *applied, char *err, size_t errlen);

/* Prepares and describes every statement of stmts[0..n) on one blocking connection and
 * compares each with its table entry (cl_db_stmt_check), so that a daemon whose SQL and C
 * disagree with the schema fails at start, not on one request in production. On failure
 * writes one sentence naming the statement (and the column) to err. */
CL_MUSTCHECK int cl_migrate_check_statements(const char *conninfo, const cl_db_stmt_t *stmts,
                                             size_t n, char *err, size_t errlen);

/* Creates or resets the HQ administrator USERNAME with an Argon2id hash (blocking), for
 * the first start of a new installation: `closeloopd --bootstrap-admin USER`. */
CL_MUSTCHECK int cl_bootstrap_admin(const char *conninfo, const char *username,
                                    const char *password_hash, char *err, size_t errlen);

#endif
