/* pgtest.h - a throwaway PostgreSQL 15 cluster for C tests: initdb into a private
 * directory, run postgres on a Unix socket only (trust auth, fsync off), create the
 * database "closeloop", stop it cleanly or kill it like a crash, start it again, and
 * remove everything at the end. pgtest_run_group() runs a cmocka group around one.
 *
 * Ownership: the caller owns the pgtest_t and must keep it alive (static or heap) until
 * pgtest_destroy(); pgtest_start() registers it so an atexit handler destroys whatever a
 * failing test left behind. The postmaster is a direct child of the thread that called
 * pgtest_start()/pgtest_restart_after_kill() and gets SIGQUIT if that thread dies, so a
 * crashed or killed test leaves no server running; its directory is removed by the next
 * pgtest_start(). Call these functions from one thread (the test's main thread);
 * pgtest_exec() may be called from any thread.
 *
 * As root, the server runs as the "postgres" OS user (PostgreSQL refuses root); the
 * cluster lives under $CL_TEST_TMP when that user can enter it, else under /tmp. The
 * binaries come from $CL_PG_BINDIR, else /usr/lib/postgresql/15/bin. */
#ifndef CL_TEST_PGTEST_H
#define CL_TEST_PGTEST_H

#include <stddef.h>
#include <sys/types.h>

struct CMUnitTest;

enum pgtest_stop_mode {
    PGTEST_FAST = 0,      /* clean shutdown: sessions end, checkpoint written */
    PGTEST_IMMEDIATE = 1, /* SIGQUIT: like a crash, recovery runs on the next start */
};

typedef struct pgtest {
    char dir[256];      /* our private directory (clpg-<pid>-<n>), owned by postgres */
    char datadir[300];  /* <dir>/data */
    char sockdir[300];  /* <dir>, or a short /tmp dir when <dir> is too long for a socket */
    char log[300];      /* <dir>/postgres.log: initdb and server output */
    char conninfo[512]; /* host=<sockdir> port=<port> dbname=closeloop user=postgres */
    int port;           /* only names the socket file; no TCP listener */
    pid_t pid;          /* the postmaster, or 0 when not running */
    int registered;     /* on the atexit list */
} pgtest_t;

/* initdb, start, CREATE DATABASE closeloop. 0, or -1 with the reason on stderr (and
 * nothing left behind). */
int pgtest_start(pgtest_t *pg);

/* Stops the server: PGTEST_FAST or PGTEST_IMMEDIATE. Waits until the postmaster and all
 * its children have exited. 0 or -1. */
int pgtest_stop(pgtest_t *pg, int mode);

/* Starts the server again on the same data directory, socket and port (conninfo is
 * unchanged), after pgtest_stop(). 0 or -1. */
int pgtest_restart_after_kill(pgtest_t *pg);

/* Stops the server if running (immediately) and removes its directories. Idempotent,
 * safe from an atexit handler and on a pgtest_t whose start failed or never ran
 * (if zero-initialised). */
void pgtest_destroy(pgtest_t *pg);

/* Runs sql (may hold several statements; run as one implicit transaction) on the
 * closeloop database over a fresh blocking libpq connection. 0, or -1 with the error
 * on stderr. */
int pgtest_exec(pgtest_t *pg, const char *sql);

/* The one integer a query returns, over a fresh blocking connection; -1 (with the error
 * on stderr) when it returns anything else. */
long long pgtest_int(pgtest_t *pg, const char *sql);

/* Applies every $CL_SOURCE_DIR/server/migrations/NNN_name.sql file in name order, each in one
 * transaction with closeloop.actor set to the migration user, as the daemon does (but
 * without its schema_migrations bookkeeping). For tests that do not run the daemon,
 * which migrates by itself. 0/-1. */
int pgtest_apply_migrations(pgtest_t *pg);

/* A cmocka group around one cluster: started before the group's first test, destroyed
 * after its last. */
typedef struct pgtest_group {
    const char *name;           /* cmocka's name for the group; NULL: "tests" */
    pgtest_t *pg;               /* the cluster: static, so the atexit cleanup reaches it */
    int migrate;                /* nonzero: pgtest_apply_migrations() once it runs */
    int (*ready)(pgtest_t *pg); /* optional, the setup's last step (another migrator, a
                                 * shared connection, the daemon): 0 or -1 */
    int (*done)(pgtest_t *pg);  /* optional, the teardown's first step, undoing ready:
                                 * 0 or -1; the cluster is destroyed either way */
} pgtest_group_t;

/* Runs tests[0..n) as the cmocka group g: pgtest_start(), the migrations if g asks,
 * g->ready; the tests; g->done, pgtest_destroy(). Returns cmocka's count of failed tests
 * (a failed setup fails them all). One group at a time, from the main thread. */
int pgtest_run_group(const pgtest_group_t *g, const struct CMUnitTest *tests, size_t n);

#endif
