/* orch_nats.c -- the cluster over NATS (docs/orchestration.md, section 3b): node agents report
 * on the bus, a scheduler service keeps a bounded queue of pending pods and places them.
 *
 * Subjects (core NATS, bus_post/bus_subscribe: live state that is worthless once stale):
 *   orch.report.NODE  every period, a node's GET /node plus "agent": its HTTP endpoint
 *   orch.submit       {"token": T, "pod": SPEC} from `orch submit --nats`
 *
 * The scheduler is one thread, so its tables need a lock only for orch_sched_where. A node's
 * last report is its truth; pods placed since then are charged to the scheduler's copy so that
 * a burst does not pile onto one node. The agent still applies the rule itself (409), so a
 * stale view delays a pod, never over-commits a node. A node silent for dead_ms is dropped and
 * the pods placed on it whose duration has not run out go back to the head of the queue (the
 * node may be gone, killed -9: nothing is asked of it). Pods are placed with the agents' HTTP
 * POST /pods and the shared token; a submission carries the same token, checked in constant
 * time before anything else is read. */
#define CLOG_MODULE "orch"
#include <cloister/crypto.h>
#include <cloister/orch_serve.h>

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/bus.h"
#include "util/log.h"

#define SUBMIT_MAX (64u << 10)
#define NODES_MAX 1024
#define PLACED_MAX 4096
#define SUBJECT_SUBMIT "orch.submit"
#define SUBJECT_REPORT "orch.report."

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the node side: periodic reports ---- */

struct orch_reporter {
    struct bus *bus;
    char endpoint[128], subject[160];
    int64_t period_ms;
    atomic_bool stop;
    pthread_t thread;
};

static void report_once(orch_reporter *r)
{
    unsigned status = 0;
    char *reply = NULL;
    struct cloister_err err;
    json_t *node = NULL;
    if (orch_request(r->endpoint, "GET", "/node", NULL, NULL, &status, &reply, &err) ==
            CLOISTER_OK &&
        status == 200)
        node = json_loads(reply, 0, NULL);
    free(reply);
    if (!node)
        return;
    json_object_set_new(node, "agent", json_string(r->endpoint));
    char *text = json_dumps(node, JSON_COMPACT);
    json_decref(node);
    if (text && bus_post(r->bus, r->subject, text, strlen(text), &err) != CLOISTER_OK)
        clog_warn("report: %s", err.msg);
    free(text);
}

static void *report_loop(void *arg)
{
    orch_reporter *r = arg;
    while (!atomic_load(&r->stop)) {
        report_once(r);
        for (int64_t t = 0; t < r->period_ms && !atomic_load(&r->stop); t += 50)
            nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    }
    return NULL;
}

int orch_reporter_start(const char *nats, const char *endpoint, const char *name, int64_t period_ms,
                        orch_reporter **out, struct cloister_err *err)
{
    orch_reporter *r = calloc(1, sizeof *r);
    if (!r)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    snprintf(r->endpoint, sizeof r->endpoint, "%s", endpoint);
    snprintf(r->subject, sizeof r->subject, SUBJECT_REPORT "%.63s", name);
    r->period_ms = period_ms > 0 ? period_ms : 1000;
    struct bus_options bo = {.name = "cloister-orch-node", .max_reconnect = -1};
    if (!(r->bus = bus_connect(nats, &bo, err))) {
        free(r);
        return err->code;
    }
    if (pthread_create(&r->thread, NULL, report_loop, r) != 0) {
        bus_close(r->bus);
        free(r);
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot start the reporting thread");
    }
    *out = r;
    return CLOISTER_OK;
}

void orch_reporter_stop(orch_reporter *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    bus_close(r->bus);
    free(r);
}

/* ---- submitting ---- */

int orch_submit_nats(const char *nats, const char *token, const struct orch_pod *p,
                     struct cloister_err *err)
{
    char *spec = orch_pod_format(p);
    json_t *msg = spec ? json_pack("{s:s, s:o}", "token", token, "pod", json_loads(spec, 0, NULL))
                       : NULL;
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    free(spec);
    if (!text)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    struct bus *b = bus_connect(nats, NULL, err);
    int rc = b ? bus_post(b, SUBJECT_SUBMIT, text, strlen(text), err) : err->code;
    if (rc == CLOISTER_OK)
        rc = bus_flush(b, 5000, err);
    bus_close(b);
    crypto_wipe(text, strlen(text));
    free(text);
    return rc;
}

/* ---- the scheduler ---- */

struct sched_node {
    struct orch_node n; /* last report, plus what was placed since */
    char agent[128];
    double seen;
};

struct placed {
    struct orch_pod pod;
    char node[ORCH_NAME_MAX];
    double ends;
};

struct orch_sched {
    struct orch_sched_options o;
    char token[256];
    struct bus *bus;
    struct bus_sub *submits, *reports;
    pthread_mutex_t lock;
    struct sched_node *nodes;
    size_t nnodes;
    struct orch_pod *queue; /* pending, in order */
    size_t nqueue, queue_bytes;
    struct placed *placed;
    size_t nplaced;
    uint64_t rng;
    atomic_bool stop;
    pthread_t thread;
};

static size_t pod_cost(const struct orch_pod *p)
{
    return sizeof *p + strlen(p->name);
}

/* Adds p to the queue (at its head for a rescheduled pod); refused when the queue is full. */
static int enqueue_locked(orch_sched *s, const struct orch_pod *p, bool head,
                          struct cloister_err *err)
{
    if (s->nqueue >= s->o.queue_pods || s->queue_bytes + pod_cost(p) > s->o.queue_bytes)
        return cloister_errf(err, CLOISTER_E_TOO_BIG,
                             "pod %s: the pending queue is full (%zu pods)", p->name, s->nqueue);
    if (head)
        memmove(&s->queue[1], &s->queue[0], s->nqueue * sizeof *s->queue);
    s->queue[head ? 0 : s->nqueue] = *p;
    s->nqueue++;
    s->queue_bytes += pod_cost(p);
    return CLOISTER_OK;
}

static void dequeue_locked(orch_sched *s, size_t i)
{
    s->queue_bytes -= pod_cost(&s->queue[i]);
    memmove(&s->queue[i], &s->queue[i + 1], (s->nqueue - i - 1) * sizeof *s->queue);
    s->nqueue--;
}

static bool known_locked(orch_sched *s, const char *name)
{
    for (size_t i = 0; i < s->nqueue; i++)
        if (strcmp(s->queue[i].name, name) == 0)
            return true;
    for (size_t i = 0; i < s->nplaced; i++)
        if (strcmp(s->placed[i].pod.name, name) == 0)
            return true;
    return false;
}

static void on_submit(orch_sched *s, const uint8_t *data, size_t len)
{
    json_t *msg = len <= SUBMIT_MAX ? json_loadb((const char *)data, len, 0, NULL) : NULL;
    const char *token = json_string_value(json_object_get(msg, "token"));
    size_t tlen = strlen(s->token);
    if (!token || strlen(token) != tlen || !crypto_memeq(token, s->token, tlen)) {
        clog_warn("submission refused: no valid token");
        json_decref(msg);
        return;
    }
    char *spec = json_dumps(json_object_get(msg, "pod"), JSON_COMPACT);
    json_decref(msg);
    struct orch_pod p;
    struct cloister_err err;
    int rc = spec ? orch_pod_parse(&p, spec, strlen(spec), &err)
                  : cloister_errf(&err, CLOISTER_E_INVALID, "submission: 'pod' is missing");
    free(spec);
    pthread_mutex_lock(&s->lock);
    if (rc == CLOISTER_OK && known_locked(s, p.name))
        rc = cloister_errf(&err, CLOISTER_E_EXISTS, "pod %s: already submitted", p.name);
    if (rc == CLOISTER_OK)
        rc = enqueue_locked(s, &p, false, &err);
    pthread_mutex_unlock(&s->lock);
    if (rc == CLOISTER_OK)
        clog_info("pod %s: pending", p.name);
    else
        clog_warn("submission refused: %s", err.msg);
}

static struct sched_node *node_find_locked(orch_sched *s, const char *name)
{
    for (size_t i = 0; i < s->nnodes; i++)
        if (strcmp(s->nodes[i].n.name, name) == 0)
            return &s->nodes[i];
    return NULL;
}

static void on_report(orch_sched *s, const uint8_t *data, size_t len)
{
    struct orch_node n;
    struct cloister_err err;
    json_t *o = json_loadb((const char *)data, len, 0, NULL);
    const char *agent = json_string_value(json_object_get(o, "agent"));
    int rc = agent && strlen(agent) < sizeof s->nodes->agent
                 ? orch_node_from_json(&n, (const char *)data, len, &err)
                 : cloister_errf(&err, CLOISTER_E_INVALID, "node report: 'agent' is missing");
    if (rc == CLOISTER_OK) {
        pthread_mutex_lock(&s->lock);
        struct sched_node *sn = node_find_locked(s, n.name);
        if (!sn && s->nnodes < NODES_MAX) {
            sn = &s->nodes[s->nnodes++];
            clog_info("node %s: joined (%s)", n.name, agent);
        }
        if (sn) {
            sn->n = n;
            snprintf(sn->agent, sizeof sn->agent, "%s", agent);
            sn->seen = now_s();
        }
        pthread_mutex_unlock(&s->lock);
    } else {
        clog_warn("%s", err.msg);
    }
    json_decref(o);
}

/* Drops pods whose duration has run out and nodes that stopped reporting, requeueing the pods
 * still running on those. */
static void expire_locked(orch_sched *s)
{
    double now = now_s();
    for (size_t i = 0; i < s->nplaced;)
        if (s->placed[i].ends <= now)
            s->placed[i] = s->placed[--s->nplaced];
        else
            i++;
    for (size_t i = 0; i < s->nnodes;) {
        if (now - s->nodes[i].seen < (double)s->o.dead_ms / 1000) {
            i++;
            continue;
        }
        clog_warn("node %s: no report for %.1f s: rescheduling its pods", s->nodes[i].n.name,
                  now - s->nodes[i].seen);
        for (size_t j = 0; j < s->nplaced;) {
            struct cloister_err err;
            if (strcmp(s->placed[j].node, s->nodes[i].n.name) != 0) {
                j++;
                continue;
            }
            if (enqueue_locked(s, &s->placed[j].pod, true, &err) != CLOISTER_OK)
                clog_warn("%s: dropped", err.msg);
            s->placed[j] = s->placed[--s->nplaced];
        }
        s->nodes[i] = s->nodes[--s->nnodes];
    }
}

/* Posts p to the agent; 1 when it runs there, 0 when the agent says it does not fit now, -1
 * when the agent refused it for good (or did not answer: the node is then left to expire). */
static int place(orch_sched *s, const char *agent, const struct orch_pod *p)
{
    char *spec = orch_pod_format(p), *reply = NULL;
    unsigned status = 0;
    struct cloister_err err;
    int rc = spec ? orch_request(agent, "POST", "/pods", s->token, spec, &status, &reply, &err)
                  : cloister_errf(&err, CLOISTER_E_NO_MEMORY, "out of memory");
    int out = rc != CLOISTER_OK || status == 409 ? 0 : status == 201 ? 1 : -1;
    if (rc != CLOISTER_OK)
        clog_warn("pod %s: agent %s: %s", p->name, agent, err.msg);
    else if (out <= 0)
        clog_warn("pod %s: agent %s answered %u: %s", p->name, agent, status, reply);
    free(spec);
    free(reply);
    return out;
}

/* Tries every pending pod in order on the nodes that report. */
static void schedule(orch_sched *s)
{
    pthread_mutex_lock(&s->lock);
    struct orch_node view[NODES_MAX];
    for (size_t i = 0; i < s->nnodes; i++)
        view[i] = s->nodes[i].n;
    for (size_t q = 0; q < s->nqueue && s->nplaced < PLACED_MAX;) {
        char why[256];
        struct orch_pod p = s->queue[q];
        int i = orch_pick(s->o.policy, view, s->nnodes, &p, s->o.overcommit, &s->rng, why,
                          sizeof why);
        if (i < 0) {
            q++;
            continue;
        }
        char agent[128];
        snprintf(agent, sizeof agent, "%s", s->nodes[i].agent);
        pthread_mutex_unlock(&s->lock); /* the HTTP call, without holding up orch_sched_where */
        int r = place(s, agent, &p);
        pthread_mutex_lock(&s->lock);
        if (r == 0) {
            q++;
            continue;
        }
        dequeue_locked(s, q);
        struct sched_node *sn = node_find_locked(s, view[i].name);
        if (r > 0 && sn) {
            orch_node_charge(&view[i], &p, 1);
            orch_node_charge(&sn->n, &p, 1);
            s->placed[s->nplaced++] = (struct placed){.pod = p, .ends = now_s() + p.duration_s};
            snprintf(s->placed[s->nplaced - 1].node, ORCH_NAME_MAX, "%s", view[i].name);
            clog_info("pod %s: placed on %s (%s)", p.name, view[i].name, why);
        } else {
            clog_warn("pod %s: refused by node %s: dropped", p.name, view[i].name);
        }
    }
    pthread_mutex_unlock(&s->lock);
}

static void drain(orch_sched *s, struct bus_sub *sub,
                  void (*fn)(orch_sched *, const uint8_t *, size_t))
{
    for (int k = 0; k < 64; k++) {
        uint8_t *data = NULL;
        size_t len = 0;
        struct cloister_err err;
        if (bus_sub_next(sub, k == 0 ? 50 : 0, NULL, 0, &data, &len, &err) != CLOISTER_OK || !data)
            return;
        fn(s, data, len);
        crypto_wipe(data, len);
        free(data);
    }
}

static void *sched_loop(void *arg)
{
    orch_sched *s = arg;
    while (!atomic_load(&s->stop)) {
        drain(s, s->submits, on_submit);
        drain(s, s->reports, on_report);
        pthread_mutex_lock(&s->lock);
        expire_locked(s);
        pthread_mutex_unlock(&s->lock);
        schedule(s);
    }
    return NULL;
}

static void sched_free(orch_sched *s)
{
    bus_sub_close(s->reports);
    bus_sub_close(s->submits);
    bus_close(s->bus);
    pthread_mutex_destroy(&s->lock);
    free(s->nodes);
    free(s->queue);
    free(s->placed);
    crypto_wipe(s->token, sizeof s->token);
    free(s);
}

int orch_sched_start(const struct orch_sched_options *o, orch_sched **out, struct cloister_err *err)
{
    if (!o->token || strlen(o->token) < 16 || strlen(o->token) >= 256)
        return cloister_errf(err, CLOISTER_E_INVALID, "the token must have 16 to 255 characters");
    orch_sched *s = calloc(1, sizeof *s);
    if (!s)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    s->o = *o;
    s->o.token = NULL;
    snprintf(s->token, sizeof s->token, "%s", o->token);
    s->o.overcommit = o->overcommit > 0 ? o->overcommit : 1.0;
    s->o.queue_pods = o->queue_pods ? o->queue_pods : 1024;
    s->o.queue_bytes = o->queue_bytes ? o->queue_bytes : (1u << 20);
    s->o.dead_ms = o->dead_ms > 0 ? o->dead_ms : 5000;
    s->rng = o->seed;
    pthread_mutex_init(&s->lock, NULL);
    s->nodes = calloc(NODES_MAX, sizeof *s->nodes);
    s->queue = calloc(s->o.queue_pods, sizeof *s->queue);
    s->placed = calloc(PLACED_MAX, sizeof *s->placed);
    struct bus_options bo = {.name = "cloister-orch-scheduler", .max_reconnect = -1};
    int rc = s->nodes && s->queue && s->placed
                 ? CLOISTER_OK
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (rc == CLOISTER_OK && !(s->bus = bus_connect(o->nats, &bo, err)))
        rc = err->code;
    if (rc == CLOISTER_OK && !(s->submits = bus_subscribe(s->bus, SUBJECT_SUBMIT, err)))
        rc = err->code;
    if (rc == CLOISTER_OK && !(s->reports = bus_subscribe(s->bus, SUBJECT_REPORT ">", err)))
        rc = err->code;
    if (rc == CLOISTER_OK && pthread_create(&s->thread, NULL, sched_loop, s) != 0)
        rc = cloister_errf(err, CLOISTER_E_SYSTEM, "cannot start the scheduler thread");
    if (rc != CLOISTER_OK) {
        sched_free(s);
        return rc;
    }
    *out = s;
    return CLOISTER_OK;
}

int orch_sched_where(orch_sched *s, const char *pod, char *node, size_t cap)
{
    int rc = CLOISTER_E_NOT_FOUND;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nqueue && rc < 0; i++)
        if (strcmp(s->queue[i].name, pod) == 0)
            rc = 0;
    for (size_t i = 0; i < s->nplaced && rc < 0; i++)
        if (strcmp(s->placed[i].pod.name, pod) == 0) {
            snprintf(node, cap, "%s", s->placed[i].node);
            rc = 1;
        }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

size_t orch_sched_nodes(orch_sched *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->nnodes;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void orch_sched_stop(orch_sched *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    sched_free(s);
}
