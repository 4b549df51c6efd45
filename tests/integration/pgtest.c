/* pgtest.c - throwaway PostgreSQL clusters for tests, and the cmocka group around one;
 * see pgtest.h. Owns the cluster's directories and its postmaster process (a direct
 * child, reaped here). Runs on the test's main thread, except pgtest_exec(), which any
 * thread may call. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "pgtest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "testenv.h"

#define PGT_MAX_LIVE     16
#define PGT_WAIT_MS      60000 /* startup and shutdown limit */
#define PGT_SOCK_MAX     107   /* sun_path minus the NUL */
#define PGT_SOCK_NAMELEN 15    /* "/.s.PGSQL.65535" */

static pgtest_t *live[PGT_MAX_LIVE]; /* started and not yet destroyed */
static int atexit_done;
static int next_id; /* numbers this process's clusters */

static const char *bindir(void) {
    return testenv_get("CL_PG_BINDIR", "/usr/lib/postgresql/15/bin");
}

/* The OS user the server runs as: "postgres" when we are root, else ourselves. */
typedef struct pgt_user {
    int change; /* 1: switch to uid/gid in the child */
    uid_t uid;
    gid_t gid;
} pgt_user_t;

static int server_user(pgt_user_t *u) {
    memset(u, 0, sizeof *u);
    if (geteuid() != 0) return 0;
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwnam_r("postgres", &pw, buf, sizeof buf, &res) != 0 || !res) {
        fprintf(stderr, "pgtest: running as root but there is no \"postgres\" OS user\n");
        return -1;
    }
    u->change = 1;
    u->uid = pw.pw_uid;
    u->gid = pw.pw_gid;
    return 0;
}

/* In a forked child: become the server user. Async-signal-safe calls only. */
static int child_become(const pgt_user_t *u) {
    if (!u->change) return 0;
    if (setgroups(1, &u->gid) != 0 || setgid(u->gid) != 0 || setuid(u->uid) != 0) return -1;
    return 0;
}

/* Forks argv as the server user in cwd, stdout/stderr to logfd. With pdeath, the child
 * gets SIGQUIT (PostgreSQL's immediate shutdown) when the calling thread dies; it is set
 * after setuid(), which would clear it. Returns the pid or -1. */
static pid_t spawn(const pgt_user_t *u, char *const argv[], const char *cwd, int logfd,
                   int pdeath) {
    pid_t parent = getpid();
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "pgtest: fork: %s\n", strerror(errno));
        if (devnull >= 0) close(devnull);
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0); /* signals for the test's process group are not for the server */
        if (devnull >= 0) dup2(devnull, 0);
        if (logfd >= 0) {
            dup2(logfd, 1);
            dup2(logfd, 2);
        }
        if (child_become(u) != 0) _exit(126);
        if (pdeath) {
            if (prctl(PR_SET_PDEATHSIG, SIGQUIT) != 0) _exit(126);
            if (getppid() != parent) _exit(126); /* the test already died */
        }
        if (chdir(cwd) != 0) _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    if (devnull >= 0) close(devnull);
    return pid;
}

/* Waits up to ms for pid to exit; its wait status or -1 on timeout. */
static int wait_pid(pid_t pid, long ms) {
    uint64_t until = testenv_now_ms() + ms;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return st;
        if (r < 0 && errno != EINTR) return -1;
        if (testenv_now_ms() > until) return -1;
        testenv_sleep_ms(10);
    }
}

static int open_log(const pgtest_t *pg, const pgt_user_t *u) {
    int fd = open(pg->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        fprintf(stderr, "pgtest: %s: %s\n", pg->log, strerror(errno));
    else if (u->change && fchown(fd, u->uid, u->gid) != 0) {
        /* root writes it through the inherited fd anyway */
    }
    return fd;
}

/* The end of the cluster's log, for failure messages. */
static void print_log_tail(const pgtest_t *pg) {
    FILE *f = fopen(pg->log, "r");
    if (!f) return;
    char buf[4096];
    if (fseek(f, 0, SEEK_END) == 0) {
        long end = ftell(f);
        fseek(f, end > (long)sizeof buf - 1 ? end - (long)sizeof buf + 1 : 0, SEEK_SET);
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    fprintf(stderr, "pgtest: --- %s (end) ---\n%s\npgtest: ---\n", pg->log, buf);
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT)
        fprintf(stderr, "pgtest: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

static void rm_tree(const char *path) {
    if (path[0]) nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Makes dir (removing a stale one of the same name) owned by the server user, 0700. */
static int make_private_dir(const char *dir, const pgt_user_t *u) {
    rm_tree(dir);
    if (mkdir(dir, 0700) != 0) {
        fprintf(stderr, "pgtest: mkdir %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (u->change && chown(dir, u->uid, u->gid) != 0) {
        fprintf(stderr, "pgtest: chown %s: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Whether the server user can reach files under dir (search rights on every parent). */
static int user_can_enter(const pgt_user_t *u, const char *dir) {
    if (!u->change) return access(dir, X_OK | W_OK) == 0;
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) {
        if (child_become(u) != 0) _exit(1);
        _exit(access(dir, X_OK) == 0 ? 0 : 1);
    }
    int st = wait_pid(pid, 10000);
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* SIGQUITs the postmaster of a stale cluster (not our child) if it still runs there. */
static void stop_stale_postmaster(const char *datadir) {
    char path[1100], cmd[4096];
    snprintf(path, sizeof path, "%s/postmaster.pid", datadir);
    FILE *f = fopen(path, "r");
    if (!f) return;
    long pm = 0;
    int ok = fscanf(f, "%ld", &pm) == 1 && pm > 1;
    fclose(f);
    if (!ok) return;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pm);
    f = fopen(path, "r");
    if (!f) return;
    size_t n = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (cmd[i] == '\0') cmd[i] = ' ';
    cmd[n] = '\0';
    if (!strstr(cmd, "postgres") || !strstr(cmd, datadir)) return; /* pid reused */
    kill((pid_t)pm, SIGQUIT);
    for (int i = 0; i < 1000 && kill((pid_t)pm, 0) == 0; i++)
        testenv_sleep_ms(10);
}

/* Removes clpg-<pid>-<n> / clpgs-<pid>-<n> entries in base left by dead processes. */
static void clean_stale(const char *base) {
    DIR *d = opendir(base);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *rest;
        if (strncmp(e->d_name, "clpg-", 5) == 0)
            rest = e->d_name + 5;
        else if (strncmp(e->d_name, "clpgs-", 6) == 0)
            rest = e->d_name + 6;
        else
            continue;
        int owner = 0, n = 0;
        if (sscanf(rest, "%d-%d", &owner, &n) != 2 || owner <= 1 || owner == (int)getpid())
            continue;
        if (kill((pid_t)owner, 0) == 0 || errno != ESRCH) continue; /* owner alive */
        char path[600];
        snprintf(path, sizeof path, "%s/%s/data", base, e->d_name);
        stop_stale_postmaster(path);
        snprintf(path, sizeof path, "%s/%s", base, e->d_name);
        rm_tree(path);
    }
    closedir(d);
}

/* The port only names the socket file, so any number will do when none is free. */
static int socket_port(void) {
    int port = testenv_free_port();
    return port > 0 ? port : 54320 + (int)(getpid() % 1000);
}

static void conninfo_for(const pgtest_t *pg, const char *db, char *buf, size_t len) {
    snprintf(buf, len, "host=%s port=%d dbname=%s user=postgres connect_timeout=10", pg->sockdir,
             pg->port, db);
}

static int exec_on(const char *conninfo, const char *sql) {
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pgtest: connect (%s): %s", conninfo, PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    int rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? 0 : -1;
    if (rc != 0) fprintf(stderr, "pgtest: SQL failed: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return rc;
}

/* Starts the postmaster on the existing data dir and waits until it accepts sessions. */
static int server_up(pgtest_t *pg) {
    pgt_user_t u;
    if (server_user(&u) != 0) return -1;
    char exe[512], port[16];
    snprintf(exe, sizeof exe, "%s/postgres", bindir());
    snprintf(port, sizeof port, "%d", pg->port);
    /* clang-format off */
    char *argv[] = {exe, "-D", pg->datadir, "-p", port, "-k", pg->sockdir,
                    "-c", "listen_addresses=", "-c", "fsync=off", "-c", "full_page_writes=off",
                    "-c", "max_connections=200", NULL};
    /* clang-format on */
    int logfd = open_log(pg, &u);
    if (logfd < 0) return -1;
    pg->pid = spawn(&u, argv, pg->dir, logfd, 1);
    close(logfd);
    if (pg->pid < 0) {
        pg->pid = 0;
        return -1;
    }
    char ci[600];
    conninfo_for(pg, "postgres", ci, sizeof ci);
    uint64_t until = testenv_now_ms() + PGT_WAIT_MS;
    for (;;) {
        int st;
        if (waitpid(pg->pid, &st, WNOHANG) == pg->pid) {
            fprintf(stderr, "pgtest: postgres exited during startup (status 0x%x)\n", st);
            pg->pid = 0;
            print_log_tail(pg);
            return -1;
        }
        if (PQping(ci) == PQPING_OK) return 0;
        if (testenv_now_ms() > until) {
            fprintf(stderr, "pgtest: postgres not ready after %d ms\n", PGT_WAIT_MS);
            print_log_tail(pg);
            pgtest_stop(pg, PGTEST_IMMEDIATE);
            return -1;
        }
        testenv_sleep_ms(20);
    }
}

static void destroy_all(void) {
    for (int i = 0; i < PGT_MAX_LIVE; i++)
        if (live[i]) pgtest_destroy(live[i]);
}

static int register_live(pgtest_t *pg) {
    if (!atexit_done) {
        if (atexit(destroy_all) != 0) return -1;
        atexit_done = 1;
    }
    for (int i = 0; i < PGT_MAX_LIVE; i++)
        if (live[i] == pg) live[i] = NULL; /* started again without a destroy */
    for (int i = 0; i < PGT_MAX_LIVE; i++)
        if (!live[i]) {
            live[i] = pg;
            pg->registered = 1;
            return 0;
        }
    fprintf(stderr, "pgtest: more than %d clusters at once\n", PGT_MAX_LIVE);
    return -1;
}

int pgtest_start(pgtest_t *pg) {
    memset(pg, 0, sizeof *pg);
    pgt_user_t u;
    if (server_user(&u) != 0 || register_live(pg) != 0) return -1;

    const char *base = testenv_get("CL_TEST_TMP", NULL);
    if (base) {
        mkdir(base, 0755);
        if (!user_can_enter(&u, base) || strlen(base) > 150) base = "/tmp";
    } else {
        base = "/tmp";
    }
    clean_stale(base);
    if (strcmp(base, "/tmp") != 0) clean_stale("/tmp");

    int id = ++next_id, me = (int)getpid();
    snprintf(pg->dir, sizeof pg->dir, "%s/clpg-%d-%d", base, me, id);
    snprintf(pg->datadir, sizeof pg->datadir, "%s/data", pg->dir);
    snprintf(pg->log, sizeof pg->log, "%s/postgres.log", pg->dir);
    if (make_private_dir(pg->dir, &u) != 0) goto fail;
    if (strlen(pg->dir) + PGT_SOCK_NAMELEN <= PGT_SOCK_MAX) {
        snprintf(pg->sockdir, sizeof pg->sockdir, "%s", pg->dir);
    } else {
        snprintf(pg->sockdir, sizeof pg->sockdir, "/tmp/clpgs-%d-%d", me, id);
        if (make_private_dir(pg->sockdir, &u) != 0) goto fail;
    }
    pg->port = socket_port();
    snprintf(pg->conninfo, sizeof pg->conninfo, "host=%s port=%d dbname=closeloop user=postgres",
             pg->sockdir, pg->port);

    char exe[512];
    snprintf(exe, sizeof exe, "%s/initdb", bindir());
    /* clang-format off */
    char *argv[] = {exe, "-D", pg->datadir, "-E", "UTF8", "--locale=C.UTF-8", "-A", "trust",
                    "-U", "postgres", "--no-sync", "--no-instructions", NULL};
    /* clang-format on */
    int logfd = open_log(pg, &u);
    if (logfd < 0) goto fail;
    pid_t pid = spawn(&u, argv, pg->dir, logfd, 0);
    close(logfd);
    int st = pid > 0 ? wait_pid(pid, PGT_WAIT_MS) : -1;
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        if (pid > 0 && st == -1) {
            kill(pid, SIGKILL);
            wait_pid(pid, PGT_WAIT_MS);
        }
        fprintf(stderr, "pgtest: initdb failed\n");
        print_log_tail(pg);
        goto fail;
    }
    if (server_up(pg) != 0) goto fail;
    char ci[600];
    conninfo_for(pg, "postgres", ci, sizeof ci);
    if (exec_on(ci, "CREATE DATABASE closeloop") != 0) goto fail;
    return 0;

fail:
    pgtest_destroy(pg);
    return -1;
}

int pgtest_stop(pgtest_t *pg, int mode) {
    if (pg->pid <= 0) return 0;
    /* The postmaster exits only after all its children have (after an immediate stop
     * it SIGKILLs stragglers after 5 s), so reaping it means the cluster is down. */
    kill(pg->pid, mode == PGTEST_IMMEDIATE ? SIGQUIT : SIGINT);
    int st = wait_pid(pg->pid, PGT_WAIT_MS);
    if (st == -1) {
        fprintf(stderr, "pgtest: postgres %d did not stop; killing it\n", (int)pg->pid);
        kill(pg->pid, SIGKILL);
        wait_pid(pg->pid, PGT_WAIT_MS);
        pg->pid = 0;
        return -1;
    }
    pg->pid = 0;
    return 0;
}

int pgtest_restart_after_kill(pgtest_t *pg) {
    if (pg->pid > 0) {
        fprintf(stderr, "pgtest: restart: the server is still running\n");
        return -1;
    }
    if (!pg->dir[0]) {
        fprintf(stderr, "pgtest: restart: no cluster\n");
        return -1;
    }
    return server_up(pg);
}

void pgtest_destroy(pgtest_t *pg) {
    if (pg->pid > 0) pgtest_stop(pg, PGTEST_IMMEDIATE);
    if (pg->sockdir[0] && strcmp(pg->sockdir, pg->dir) != 0) rm_tree(pg->sockdir);
    rm_tree(pg->dir);
    pg->dir[0] = pg->sockdir[0] = pg->datadir[0] = '\0';
    if (pg->registered) {
        for (int i = 0; i < PGT_MAX_LIVE; i++)
            if (live[i] == pg) live[i] = NULL;
        pg->registered = 0;
    }
}

int pgtest_exec(pgtest_t *pg, const char *sql) {
    return exec_on(pg->conninfo, sql);
}

long long pgtest_int(pgtest_t *pg, const char *sql) {
    PGconn *c = PQconnectdb(pg->conninfo);
    long long v = -1;
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        fprintf(stderr, "pgtest_int: %s: %s\n", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return v;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0) len = ftell(f);
    if (len >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)len + 1)) != NULL) {
        if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        } else {
            buf[len] = '\0';
        }
    }
    fclose(f);
    return buf;
}

/* One file in one transaction, with the actor the daemon's migrator sets (the tracking
 * triggers refuse seed rows without one). */
static int apply_one(pgtest_t *pg, const char *sql) {
    static const char head[] = "BEGIN; SELECT set_config('closeloop.actor', "
                               "'{\"user_id\":0,\"username\":\"migration\"}', true);\n";
    static const char tail[] = "\n;\nCOMMIT"; /* the file may end inside a -- comment */
    size_t len = strlen(sql);
    char *all = malloc(sizeof head + len + sizeof tail);
    if (!all) return -1;
    memcpy(all, head, sizeof head - 1);
    memcpy(all + sizeof head - 1, sql, len);
    memcpy(all + sizeof head - 1 + len, tail, sizeof tail);
    int rc = pgtest_exec(pg, all);
    free(all);
    return rc;
}

int pgtest_apply_migrations(pgtest_t *pg) {
    char pattern[1024];
    snprintf(pattern, sizeof pattern, "%s/server/migrations/*.sql",
             testenv_get("CL_SOURCE_DIR", "."));
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
        fprintf(stderr, "pgtest: no migrations match %s (is CL_SOURCE_DIR set?)\n", pattern);
        globfree(&g);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) { /* glob sorts by name */
        char *sql = read_file(g.gl_pathv[i]);
        if (!sql) {
            fprintf(stderr, "pgtest: cannot read %s\n", g.gl_pathv[i]);
            rc = -1;
        } else if (apply_one(pg, sql) != 0) {
            fprintf(stderr, "pgtest: migration %s failed\n", g.gl_pathv[i]);
            rc = -1;
        }
        free(sql);
    }
    globfree(&g);
    return rc;
}

/* ---- a cmocka group around one cluster ---- */

static const pgtest_group_t *group; /* the group pgtest_run_group() runs; cmocka's fixtures
                                     * take no argument of ours */

static int group_setup(void **state) {
    (void)state;
    pgtest_t *pg = group->pg;
    if (pgtest_start(pg) != 0) return -1;
    if (group->migrate && pgtest_apply_migrations(pg) != 0) return -1;
    return group->ready ? group->ready(pg) : 0;
}

static int group_teardown(void **state) {
    (void)state;
    int rc = group->done ? group->done(group->pg) : 0;
    pgtest_destroy(group->pg);
    return rc;
}

int pgtest_run_group(const pgtest_group_t *g, const struct CMUnitTest *tests, size_t n) {
    group = g;
    /* What cmocka_run_group_tests_name() expands to, for an array given by pointer. */
    int failed =
        _cmocka_run_group_tests(g->name ? g->name : "tests", tests, n, group_setup, group_teardown);
    group = NULL;
    return failed;
}
