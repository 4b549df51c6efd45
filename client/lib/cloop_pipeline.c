/* cloop_pipeline.c - the request runner (see cloop_pipeline.h).
 *
 * Per run the runner owns three arrays, freed before cl_pipeline_run returns: one state
 * per request (its request id, attempts, busy replies, where it is), a ring of request
 * indexes waiting to be sent, and the indexes in flight (at most the window). A request
 * is always in exactly one place: queued, in flight, or finished, so the ring of n + 1
 * slots never overflows. Replies are matched to the in-flight list by request id; a
 * reply to nothing of ours is dropped. Runs on the caller's thread, blocking in
 * cl_client_recv; the only other wait is the pause before a retry. */
#include "cloop_pipeline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_ATTEMPTS   2
#define DEFAULT_BUSY       8
#define DEFAULT_RECONNECTS 2
#define DEFAULT_PAUSE_MS   250

/* Where a request is. */
typedef enum req_state {
    REQ_QUEUED = 0, /* waiting in the ring to be sent */
    REQ_SENT,       /* in flight: sent, no final reply yet */
    REQ_DONE,       /* finished: on_reply has had it */
} req_state_t;

typedef struct req {
    uint32_t req_id;   /* of the send in flight */
    int attempts;      /* sends that counted (busy replies give theirs back) */
    int busy;          /* "too many in flight" replies so far */
    unsigned sends;    /* frames of it that went out */
    req_state_t state; /* see req_state_t */
} req_t;

/* What a reply means for its request. */
typedef enum verdict {
    V_FINAL, /* finished: deliver it */
    V_RETRY, /* queue it again */
    V_BUSY,  /* queue it again, and halve the window */
} verdict_t;

struct cl_pipeline {
    cl_pipeline_opts_t o;   /* options, defaults filled in */
    cl_client_t *c;         /* the connection in use (borrowed) */
    req_t *reqs;            /* n states, during a run */
    size_t n;               /* requests in this run */
    size_t *ring;           /* queued request indexes: ring[head..tail) modulo n + 1 */
    size_t head, tail;      /* ever-growing counters; slots are taken modulo n + 1 */
    size_t *inflight;       /* indexes in flight, unordered, ninflight of them */
    size_t ninflight;       /* never more than st.window */
    size_t finished;        /* requests delivered to on_reply */
    cl_pipeline_stats_t st; /* this run's counts */
    char err[512];          /* the last failure as one sentence */
};

/* The failure's sentence, kept for cl_pipeline_error(); returns rc. */
#define set_err(obj, rc, ...) cl_errf((obj)->err, sizeof(obj)->err, (rc), __VA_ARGS__)

int cl_pipeline_new(const cl_pipeline_opts_t *o, cl_pipeline_t **out, char *err, size_t errlen) {
    const char *why = NULL;
    int rc = CL_EINVAL;
    if (out) *out = NULL;
    if (!o || !out || !o->on_request || !o->on_reply)
        why = "a request runner needs on_request and on_reply";
    else if (o->window > CL_PIPELINE_MAX_WINDOW)
        why = "the request window is larger than the runner allows";
    else if (o->max_attempts < 0 || o->max_busy < 0 || o->max_reconnects < 0)
        why = "negative attempts, busy or reconnect limits";
    cl_pipeline_t *p = why ? NULL : calloc(1, sizeof *p);
    if (!why && !p) why = "out of memory", rc = CL_ENOMEM;
    if (why) {
        if (err && errlen) snprintf(err, errlen, "%s", why);
        return rc;
    }
    p->o = *o;
    if (!p->o.window) p->o.window = CL_PIPELINE_DEFAULT_WINDOW;
    if (!p->o.max_attempts) p->o.max_attempts = DEFAULT_ATTEMPTS;
    if (!p->o.max_busy) p->o.max_busy = DEFAULT_BUSY;
    if (!p->o.max_reconnects) p->o.max_reconnects = DEFAULT_RECONNECTS;
    if (!p->o.retry_pause_ms) p->o.retry_pause_ms = DEFAULT_PAUSE_MS;
    p->st.window = p->o.window;
    *out = p;
    return CL_OK;
}

void cl_pipeline_free(cl_pipeline_t *p) {
    free(p);
}

cl_client_t *cl_pipeline_client(const cl_pipeline_t *p) {
    return p->c;
}

void *cl_pipeline_data(const cl_pipeline_t *p) {
    return p->o.data;
}

const char *cl_pipeline_error(const cl_pipeline_t *p) {
    return p ? p->err : "no request runner";
}

void cl_pipeline_stats(const cl_pipeline_t *p, cl_pipeline_stats_t *out) {
    *out = p->st;
}

/* ---- the queue and the window ---------------------------------------------------- */

static void enqueue(cl_pipeline_t *p, size_t i) {
    p->reqs[i].state = REQ_QUEUED;
    p->ring[p->tail++ % (p->n + 1)] = i;
}

static int queued(const cl_pipeline_t *p) {
    return p->head < p->tail;
}

static size_t dequeue(cl_pipeline_t *p) {
    return p->ring[p->head++ % (p->n + 1)];
}

/* Takes the in-flight request with request id id out of the window; 0 when none. */
static int take_inflight(cl_pipeline_t *p, uint32_t id, size_t *i) {
    for (size_t k = 0; k < p->ninflight; k++) {
        if (p->reqs[p->inflight[k]].req_id != id) continue;
        *i = p->inflight[k];
        p->inflight[k] = p->inflight[--p->ninflight];
        return 1;
    }
    return 0;
}

static void finish(cl_pipeline_t *p, size_t i, int status, cl_reply_t *reply) {
    p->reqs[i].state = REQ_DONE;
    p->finished++;
    p->o.on_reply(p, status, i, reply);
}

/* Finishes every queued request with status (the sentence is already in p->err). */
static void fail_queued(cl_pipeline_t *p, int status) {
    while (queued(p))
        finish(p, dequeue(p), status, NULL);
}

/* ---- one request ----------------------------------------------------------------- */

/* Sends request i. CL_OK when it is in flight or finished here (on_request refused it,
 * or the connection refused to encode it); a negative code when the connection broke,
 * i then being in flight like the others. */
static int send_one(cl_pipeline_t *p, size_t i) {
    req_t *r = &p->reqs[i];
    uint16_t type = 0;
    const ProtobufCMessage *msg = NULL;
    int rc = p->o.on_request(p, i, &type, &msg);
    if (rc < 0) {
        set_err(p, rc, "request %zu could not be built: %s", i, cl_strerror(rc));
        finish(p, i, rc, NULL);
        return CL_OK;
    }
    r->req_id = cl_client_next_id(p->c);
    r->attempts++;
    r->state = REQ_SENT;
    p->inflight[p->ninflight++] = i;
    rc = cl_client_send(p->c, r->req_id, type, msg);
    if (rc < 0 && cl_client_is_open(p->c)) { /* this request, not the connection */
        take_inflight(p, r->req_id, &i);
        set_err(p, rc, "%s", cl_client_error(p->c));
        finish(p, i, rc, NULL);
        return CL_OK;
    }
    if (rc < 0) return rc;
    p->st.sent++;
    if (r->sends++ > 0) p->st.resent++;
    if (p->ninflight > p->st.peak) p->st.peak = p->ninflight;
    return CL_OK;
}

/* What reply rp means for request r (see the rules in cloop_pipeline.h). */
static verdict_t judge(const cl_pipeline_t *p, req_t *r, const cl_reply_t *rp) {
    if (rp->err == CL_OK || rp->err == CL_ECONFLICT) return V_FINAL;
    if (rp->err == CL_ETOOMANY && r->busy < p->o.max_busy) {
        r->busy++;
        r->attempts--; /* refused at the door: it was not tried */
        return V_BUSY;
    }
    if ((rp->retryable || cl_err_retryable(rp->err)) && r->attempts < p->o.max_attempts)
        return V_RETRY;
    return V_FINAL;
}

static void pause_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- the run --------------------------------------------------------------------- */

/* The connection broke with status brc: requeue or fail what was in flight, then get a
 * new connection. CL_OK to go on; negative when the run ends (everything finished). */
static int broken(cl_pipeline_t *p, int brc, int *reconnects) {
    set_err(p, brc, "%s", cl_client_error(p->c));
    for (size_t k = 0; k < p->ninflight; k++) {
        size_t i = p->inflight[k];
        if (p->reqs[i].attempts < p->o.max_attempts)
            enqueue(p, i);
        else
            finish(p, i, brc, NULL);
    }
    p->ninflight = 0;
    if (!p->o.on_reconnect || (*reconnects)++ >= p->o.max_reconnects || brc == CL_EUNAUTH) {
        fail_queued(p, brc);
        return brc;
    }
    cl_client_t *nc = p->c;
    int rc = p->o.on_reconnect(p, brc, &nc);
    p->c = nc; /* on failure too: NULL when the callback closed the old one */
    if (rc < 0 || !nc) {
        set_err(p, brc, "cannot reconnect");
        fail_queued(p, brc);
        return brc;
    }
    p->st.reconnects++;
    return CL_OK;
}

static void run_free(cl_pipeline_t *p) {
    free(p->reqs);
    free(p->ring);
    free(p->inflight);
    p->reqs = NULL;
    p->ring = p->inflight = NULL;
}

int cl_pipeline_run(cl_pipeline_t *p, cl_client_t *c, size_t n) {
    memset(&p->st, 0, sizeof p->st);
    p->st.window = p->o.window;
    p->err[0] = '\0';
    if (!c) return set_err(p, CL_EINVAL, "no connection to send the requests on");
    if (n >= SIZE_MAX / sizeof(req_t)) return set_err(p, CL_ENOMEM, "out of memory");
    p->c = c;
    p->n = n;
    p->head = p->tail = p->ninflight = p->finished = 0;
    p->reqs = calloc(n ? n : 1, sizeof *p->reqs);
    p->ring = calloc(n + 1, sizeof *p->ring);
    p->inflight = calloc(p->o.window, sizeof *p->inflight);
    if (!p->reqs || !p->ring || !p->inflight) {
        run_free(p);
        return set_err(p, CL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        enqueue(p, i);
    int reconnects = 0, pause = 0;
    while (p->finished < n) {
        int brc = CL_OK;
        if (pause && queued(p) && p->o.retry_pause_ms > 0) pause_ms(p->o.retry_pause_ms);
        pause = 0;
        while (brc == CL_OK && p->ninflight < p->st.window && queued(p))
            brc = send_one(p, dequeue(p));
        if (brc == CL_OK && p->ninflight > 0) {
            cl_reply_t r;
            memset(&r, 0, sizeof r);
            brc = cl_client_recv(p->c, &r, -1);
            size_t i;
            if (brc == CL_OK && take_inflight(p, r.req_id, &i)) {
                verdict_t v = judge(p, &p->reqs[i], &r);
                if (v == V_FINAL) {
                    finish(p, i, r.err, &r);
                } else {
                    enqueue(p, i);
                    pause = 1;
                    if (v == V_BUSY) {
                        p->st.busy++;
                        if (p->st.window > 1) p->st.window /= 2;
                    }
                }
            } /* a reply to nothing of ours (a push, a stray) is dropped */
            cl_reply_clear(&r);
        }
        if (brc != CL_OK && broken(p, brc, &reconnects) < 0) break;
        /* Every request is queued, in flight or finished: never all three empty here. */
        if (p->finished < n && !queued(p) && p->ninflight == 0) abort();
    }
    run_free(p);
    return CL_OK;
}
