/* orch_nats.c -- the cluster over NATS (docs/orchestration.md, section 3b): node agents report
 * on the bus, a scheduler service keeps a bounded queue of pending pods and places them.
 *
 * Subjects and what JetStream keeps:
 *   orch.report.NODE  every period, a node's GET /node plus "agent": its HTTP endpoint and
 *                     "pod_list": its GET /pods (core NATS: live state, worthless once stale);
 *                     `orch ls --nats` listens to them and reads the scheduler's state
 *   orch.submit       a signed pod spec (orch_auth.h: an HMAC with a key derived from the token,
 *                     never the token), on the work-queue stream ORCH_SUBMIT: `orch submit`
 *                     returns once the stream stored it, the scheduler acks it once its own state
 *                     holds the pod, so a submission is never lost to a scheduler that is down
 *   KV ORCH_SCHED     key "state": the pending queue, the placements (node, agent, end time)
 *                     and the nonces seen, written after every change, before acks and before
 *                     each placement is posted
 *
 * The scheduler is one thread, so its tables need a lock only for orch_sched_where. A node's
 * last report is its truth; pods placed since then are charged to the scheduler's copy so that
 * a burst does not pile onto one node. The agent still applies the rule itself (409), so a
 * stale view delays a pod, never over-commits a node. A node silent for dead_ms is dropped and
 * the pods placed on it whose duration has not run out go back to the head of the queue (the
 * node may be gone, killed -9: nothing is asked of it).
 *
 * Restart (kill -9 at any point): the state read back gives the queue and the placements. A
 * placement is stored as "placing" before the agent is asked; after a crash the scheduler asks
 * that agent's GET /pods whether the pod runs there (kept), ended (forgotten) or never arrived
 * (back to the head of the queue), so no pod runs twice. A submission taken but not yet stored
 * is redelivered by the stream; one stored but not yet acked comes again and is recognised (its
 * name is known, its nonce seen). */
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
#include "orch/host/orch_auth.h"
#include "util/log.h"

#define SUBMIT_MAX (64u << 10)
#define SUBMIT_STREAM_BYTES (16u << 20)
#define NODES_MAX 1024
#define PLACED_MAX 4096
#define SUBJECT_SUBMIT "orch.submit"
#define SUBJECT_REPORT "orch.report."
#define STREAM_SUBMIT "ORCH_SUBMIT"
#define STATE_BUCKET "ORCH_SCHED"
#define STATE_KEY "state"
#define STATE_MAX (4 << 20)
#define STATE_BUCKET_BYTES (64 << 20)

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

/* The agent's answer to GET path, or NULL. */
static json_t *agent_get(const char *endpoint, const char *path)
{
    unsigned status = 0;
    char *reply = NULL;
    struct cloister_err err;
    json_t *j = NULL;
    if (orch_request(endpoint, "GET", path, NULL, NULL, &status, &reply, &err) == CLOISTER_OK &&
        status == 200)
        j = json_loads(reply, 0, NULL);
    free(reply);
    return j;
}

static void report_once(orch_reporter *r)
{
    struct cloister_err err;
    json_t *node = agent_get(r->endpoint, "/node"), *pods = agent_get(r->endpoint, "/pods");
    if (!node) {
        json_decref(pods);
        return;
    }
    json_object_set_new(node, "agent", json_string(r->endpoint));
    json_t *list = json_object_get(pods, "pods");
    json_object_set_new(node, "pod_list", list ? json_incref(list) : json_array());
    json_decref(pods);
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

static int submit_stream_ensure(struct bus *b, struct cloister_err *err)
{
    struct bus_stream_config sc = {.name = STREAM_SUBMIT,
                                   .subject = SUBJECT_SUBMIT,
                                   .retention = BUS_WORK_QUEUE,
                                   .max_bytes = SUBMIT_STREAM_BYTES,
                                   .max_msg_size = SUBMIT_MAX,
                                   .dedup_window_ms = ORCH_AUTH_WINDOW_S * 1000};
    return bus_stream_ensure(b, &sc, err);
}

int orch_submit_nats(const char *nats, const char *token, const struct orch_pod *p,
                     struct cloister_err *err)
{
    uint8_t key[ORCH_AUTH_KEY_LEN];
    char nonce[2 * ORCH_AUTH_NONCE_LEN + 1];
    int rc = orch_auth_key(key, token, err);
    char *text = rc == CLOISTER_OK ? orch_auth_seal(key, p, (int64_t)time(NULL), nonce) : NULL;
    crypto_wipe(key, sizeof key);
    if (rc != CLOISTER_OK)
        return rc;
    if (!text)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "pod %s: cannot sign the submission",
                             p->name);
    struct bus *b = bus_connect(nats, NULL, err);
    rc = b ? submit_stream_ensure(b, err) : err->code;
    if (rc == CLOISTER_OK) /* acked once stored: a scheduler that is down gets it later */
        rc = bus_publish(b, SUBJECT_SUBMIT, NULL, 0, text, strlen(text), nonce, NULL, err);
    bus_close(b);
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
    char node[ORCH_NAME_MAX], agent[128];
    double ends;  /* wall clock, so that it survives a restart */
    bool placing; /* posted (or about to be) to the agent, answer not yet recorded */
};

struct orch_sched {
    struct orch_sched_options o;
    char token[256];
    uint8_t key[ORCH_AUTH_KEY_LEN];
    struct orch_nonces *seen;
    struct bus *bus;
    struct bus_consumer *submits;
    struct bus_sub *reports;
    struct bus_kv *kv;
    pthread_mutex_t lock;
    struct sched_node *nodes;
    size_t nnodes;
    struct orch_pod *queue; /* pending, in order */
    size_t nqueue, queue_bytes;
    struct placed *placed;
    size_t nplaced;
    bool dirty; /* the state changed since it was last stored */
    double started;
    uint64_t rng;
    atomic_bool stop;
    pthread_t thread;
};

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t pod_cost(const struct orch_pod *p)
{
    return sizeof *p + strlen(p->name);
}

/* Inserts p in the queue at position at; refused when the queue is full. */
static int enqueue_locked(orch_sched *s, const struct orch_pod *p, size_t at,
                          struct cloister_err *err)
{
    if (s->nqueue >= s->o.queue_pods || s->queue_bytes + pod_cost(p) > s->o.queue_bytes)
        return cloister_errf(err, CLOISTER_E_TOO_BIG,
                             "pod %s: the pending queue is full (%zu pods)", p->name, s->nqueue);
    memmove(&s->queue[at + 1], &s->queue[at], (s->nqueue - at) * sizeof *s->queue);
    s->queue[at] = *p;
    s->nqueue++;
    s->queue_bytes += pod_cost(p);
    s->dirty = true;
    return CLOISTER_OK;
}

static void dequeue_locked(orch_sched *s, size_t i)
{
    s->queue_bytes -= pod_cost(&s->queue[i]);
    memmove(&s->queue[i], &s->queue[i + 1], (s->nqueue - i - 1) * sizeof *s->queue);
    s->nqueue--;
    s->dirty = true;
}

static void unplace_locked(orch_sched *s, size_t i)
{
    s->placed[i] = s->placed[--s->nplaced];
    s->dirty = true;
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

/* ---- the state in the KV bucket: the queue, the placements, the nonces seen ---- */

static json_t *spec_json(const struct orch_pod *p)
{
    char *spec = orch_pod_format(p);
    json_t *j = spec ? json_string(spec) : NULL;
    free(spec);
    return j;
}

static char *state_dump_locked(orch_sched *s)
{
    json_t *queue = json_array(), *placed = json_array();
    for (size_t i = 0; i < s->nqueue; i++)
        json_array_append_new(queue, spec_json(&s->queue[i]));
    for (size_t i = 0; i < s->nplaced; i++) {
        const struct placed *p = &s->placed[i];
        json_array_append_new(placed, json_pack("{s:o, s:s, s:s, s:f, s:b}", "spec",
                                                spec_json(&p->pod), "node", p->node, "agent",
                                                p->agent, "ends", p->ends, "placing", p->placing));
    }
    json_t *state = json_pack("{s:o, s:o, s:o}", "queue", queue, "placed", placed, "nonces",
                              orch_nonces_to_json(s->seen));
    char *text = state ? json_dumps(state, JSON_COMPACT) : NULL;
    json_decref(state);
    return text;
}

/* Stores the state when it changed; on failure it stays dirty, to be stored next time. */
static int persist(orch_sched *s)
{
    struct cloister_err err;
    pthread_mutex_lock(&s->lock);
    char *text = s->dirty ? state_dump_locked(s) : NULL;
    bool was = s->dirty;
    s->dirty = false;
    pthread_mutex_unlock(&s->lock);
    if (!was)
        return CLOISTER_OK;
    int rc = text ? bus_kv_put(s->kv, STATE_KEY, text, strlen(text), BUS_KV_ANY, NULL, &err)
                  : cloister_errf(&err, CLOISTER_E_NO_MEMORY, "out of memory");
    free(text);
    if (rc != CLOISTER_OK) {
        clog_warn("cannot store the scheduler's state: %s", err.msg);
        pthread_mutex_lock(&s->lock);
        s->dirty = true;
        pthread_mutex_unlock(&s->lock);
    }
    return rc;
}

static int spec_parse(const json_t *j, struct orch_pod *p, struct cloister_err *err)
{
    const char *spec = json_string_value(j);
    return spec ? orch_pod_parse(p, spec, strlen(spec), err)
                : cloister_errf(err, CLOISTER_E_INVALID, "stored state: a pod spec is missing");
}

/* What the agent says of a pod posted before a crash: 1 running, 0 absent (never posted), -1
 * finished there, or the agent does not answer (its node is then left to the liveness check). */
static int placing_outcome(const struct placed *p)
{
    json_t *o = agent_get(p->agent, "/pods"), *pods = json_object_get(o, "pods");
    if (!o)
        return 1;
    int out = 0;
    for (size_t i = 0; i < json_array_size(pods); i++) {
        const char *name = json_string_value(json_object_get(json_array_get(pods, i), "name"));
        const char *state = json_string_value(json_object_get(json_array_get(pods, i), "state"));
        if (name && strcmp(name, p->pod.name) == 0)
            out = state && strcmp(state, "running") == 0 ? 1 : -1;
    }
    json_decref(o);
    return out;
}

static void recover_placed(orch_sched *s, const json_t *e)
{
    struct placed p = {.ends = json_real_value(json_object_get(e, "ends")),
                       .placing = json_is_true(json_object_get(e, "placing"))};
    struct cloister_err err;
    const char *node = json_string_value(json_object_get(e, "node"));
    const char *agent = json_string_value(json_object_get(e, "agent"));
    if (spec_parse(json_object_get(e, "spec"), &p.pod, &err) != CLOISTER_OK || !node || !agent ||
        s->nplaced == PLACED_MAX) {
        clog_warn("stored state: a placement is unreadable: dropped");
        return;
    }
    snprintf(p.node, sizeof p.node, "%s", node);
    snprintf(p.agent, sizeof p.agent, "%s", agent);
    int r = p.placing ? placing_outcome(&p) : 1;
    p.placing = false;
    if (r > 0)
        s->placed[s->nplaced++] = p;
    else if (r == 0 && enqueue_locked(s, &p.pod, 0, &err) != CLOISTER_OK)
        clog_warn("%s: dropped", err.msg);
    clog_info("pod %s: recovered, %s", p.pod.name,
              r > 0    ? "placed"
              : r == 0 ? "pending (never reached its node)"
                       : "finished");
}

/* Reads the state a previous run stored: its queue, placements and the nonces seen. */
static int recover(orch_sched *s, struct cloister_err *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = bus_kv_get(s->kv, STATE_KEY, &data, &len, NULL, err);
    if (rc == CLOISTER_E_NOT_FOUND)
        return CLOISTER_OK;
    if (rc != CLOISTER_OK)
        return rc;
    json_t *st = json_loadb((const char *)data, len, 0, NULL);
    free(data);
    if (!st)
        return cloister_errf(err, CLOISTER_E_INVALID, "the scheduler's stored state is not JSON");
    json_t *queue = json_object_get(st, "queue"), *placed = json_object_get(st, "placed");
    for (size_t i = 0; i < json_array_size(queue); i++) {
        struct orch_pod p;
        if (spec_parse(json_array_get(queue, i), &p, err) != CLOISTER_OK ||
            enqueue_locked(s, &p, s->nqueue, err) != 0)
            clog_warn("stored state: %s: dropped", err->msg);
    }
    for (size_t i = 0; i < json_array_size(placed); i++)
        recover_placed(s, json_array_get(placed, i));
    orch_nonces_from_json(s->seen, json_object_get(st, "nonces"));
    json_decref(st);
    clog_info("recovered %zu pending and %zu placed pods", s->nqueue, s->nplaced);
    s->dirty = true;
    return CLOISTER_OK;
}

/* ---- messages ---- */

/* 1 when the submission is queued (or already known: a redelivery), 0 when refused. */
static int on_submit(orch_sched *s, const uint8_t *data, size_t len)
{
    struct orch_pod p;
    struct cloister_err err;
    pthread_mutex_lock(&s->lock);
    int rc = orch_auth_open(s->key, s->seen, (int64_t)time(NULL), data, len, &p, &err);
    bool known = rc == CLOISTER_OK && known_locked(s, p.name);
    if (rc == CLOISTER_OK && !known)
        rc = enqueue_locked(s, &p, s->nqueue, &err);
    s->dirty = s->dirty || rc == CLOISTER_OK; /* the nonce at least */
    pthread_mutex_unlock(&s->lock);
    if (rc != CLOISTER_OK)
        clog_warn("%s", err.msg);
    else if (known)
        clog_warn("submission refused: pod %s: already submitted", p.name);
    else
        clog_info("pod %s: pending", p.name);
    return rc == CLOISTER_OK;
}

static struct sched_node *node_find_locked(orch_sched *s, const char *name)
{
    for (size_t i = 0; i < s->nnodes; i++)
        if (strcmp(s->nodes[i].n.name, name) == 0)
            return &s->nodes[i];
    return NULL;
}

static void reconcile(orch_sched *s, const char *node, const char *agent, json_t *pods);

static void on_report(orch_sched *s, const uint8_t *data, size_t len)
{
    struct orch_node n;
    struct cloister_err err;
    json_t *o = json_loadb((const char *)data, len, 0, NULL);
    const char *agent = json_string_value(json_object_get(o, "agent"));
    int rc = agent && strlen(agent) < sizeof s->nodes->agent
                 ? orch_node_from_json(&n, (const char *)data, len, &err)
                 : cloister_errf(&err, CLOISTER_E_INVALID, "node report: 'agent' is missing");
    bool joined = false;
    if (rc == CLOISTER_OK) {
        pthread_mutex_lock(&s->lock);
        struct sched_node *sn = node_find_locked(s, n.name);
        if (!sn && s->nnodes < NODES_MAX) {
            sn = &s->nodes[s->nnodes++];
            joined = true;
            clog_info("node %s: joined (%s)", n.name, agent);
        }
        if (sn) {
            sn->n = n;
            snprintf(sn->agent, sizeof sn->agent, "%s", agent);
            sn->seen = now_s();
        }
        pthread_mutex_unlock(&s->lock);
        if (joined)
            reconcile(s, n.name, agent, json_object_get(o, "pod_list"));
    } else {
        clog_warn("%s", err.msg);
    }
    json_decref(o);
}

/* Drops pods whose duration has run out and nodes that stopped reporting; pods placed on a node
 * that does not report (dropped, or silent since this scheduler started) go back to the head of
 * the queue. */
static void expire_locked(orch_sched *s)
{
    double now = now_s(), wall = wall_s(), dead = (double)s->o.dead_ms / 1000;
    for (size_t i = 0; i < s->nnodes;) {
        if (now - s->nodes[i].seen < dead) {
            i++;
            continue;
        }
        clog_warn("node %s: no report for %.1f s: rescheduling its pods", s->nodes[i].n.name,
                  now - s->nodes[i].seen);
        s->nodes[i] = s->nodes[--s->nnodes];
    }
    for (size_t i = 0; i < s->nplaced;) {
        struct placed *p = &s->placed[i];
        struct cloister_err err;
        if (p->ends <= wall) {
            unplace_locked(s, i);
        } else if (!node_find_locked(s, p->node) && now - s->started >= dead) {
            if (enqueue_locked(s, &p->pod, 0, &err) != CLOISTER_OK)
                clog_warn("%s: dropped", err.msg);
            else
                clog_info("pod %s: back to the queue (node %s does not report)", p->pod.name,
                          p->node);
            unplace_locked(s, i);
        } else {
            i++;
        }
    }
}

/* Whether the agent's answer says the pod runs (or starts) there: 201 for a new pod, 200 for
 * one that already ran there with this spec (a POST of a killed scheduler got through) or one
 * that failed to start (its state says which). */
static bool runs_there(unsigned status, const char *reply)
{
    if (status == 201)
        return true;
    json_t *o = status == 200 && reply ? json_loads(reply, 0, NULL) : NULL;
    const char *state = json_string_value(json_object_get(o, "state"));
    bool runs = state && (strcmp(state, "running") == 0 || strcmp(state, "starting") == 0);
    json_decref(o);
    return runs;
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
    int out = rc != CLOISTER_OK || status == 409 ? 0 : runs_there(status, reply) ? 1 : -1;
    if (rc != CLOISTER_OK)
        clog_warn("pod %s: agent %s: %s", p->name, agent, err.msg);
    else if (out <= 0)
        clog_warn("pod %s: agent %s answered %u: %s", p->name, agent, status, reply);
    free(spec);
    free(reply);
    return out;
}

static size_t placed_find_locked(orch_sched *s, const char *name)
{
    size_t k = 0;
    while (k < s->nplaced && strcmp(s->placed[k].pod.name, name) != 0)
        k++;
    return k;
}

static size_t queue_find_locked(orch_sched *s, const char *name)
{
    size_t q = 0;
    while (q < s->nqueue && strcmp(s->queue[q].name, name) != 0)
        q++;
    return q;
}

/* Stops pod on the agent (a signed DELETE); the node's next report shows it gone. */
static void unplace_remote(orch_sched *s, const char *agent, const char *pod)
{
    char path[16 + ORCH_NAME_MAX], *reply = NULL;
    unsigned status = 0;
    struct cloister_err err;
    snprintf(path, sizeof path, "/pods/%s", pod);
    if (orch_request(agent, "DELETE", path, s->token, NULL, &status, &reply, &err) != CLOISTER_OK)
        clog_warn("pod %s: agent %s: %s", pod, agent, err.msg);
    free(reply);
}

/* A node that joins (again after a partition, or when this scheduler starts) may run pods
 * that were given up on it meanwhile: a pod back in the queue is adopted where it runs (out of
 * the queue, placed there); a pod since placed on another node is stopped on the joiner, so
 * that no pod runs twice. Pods this scheduler does not know are left alone. */
static void reconcile(orch_sched *s, const char *node, const char *agent, json_t *pods)
{
    size_t i;
    json_t *p;
    json_array_foreach(pods, i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        const char *state = json_string_value(json_object_get(p, "state"));
        if (!name || !state || strcmp(state, "running") != 0)
            continue;
        pthread_mutex_lock(&s->lock);
        size_t k = placed_find_locked(s, name), q = queue_find_locked(s, name);
        bool twice = k < s->nplaced && strcmp(s->placed[k].node, node) != 0;
        if (q < s->nqueue && s->nplaced < PLACED_MAX) {
            double left = s->queue[q].duration_s -
                          json_number_value(json_object_get(p, "running_s"));
            struct placed *pl = &s->placed[s->nplaced++];
            *pl = (struct placed){.pod = s->queue[q], .ends = wall_s() + (left > 0 ? left : 0)};
            snprintf(pl->node, sizeof pl->node, "%s", node);
            snprintf(pl->agent, sizeof pl->agent, "%s", agent);
            dequeue_locked(s, q);
            clog_info("pod %s: adopted on %s, where it still runs", name, node);
        }
        pthread_mutex_unlock(&s->lock);
        if (twice) {
            clog_warn("pod %s: runs on %s, which is back, and was placed elsewhere: stopped on %s",
                      name, node, node);
            unplace_remote(s, agent, name);
        }
    }
}

/* Places queue[q] on node i: recorded as "placing" and stored before the agent is asked, so
 * that a scheduler killed during the call finds out from the agent, after its restart, whether
 * the pod runs (never placing it twice). Returns the queue index to try next, or -1 to stop. */
static long place_one(orch_sched *s, struct orch_node *view, size_t i, size_t q, const char *why)
{
    struct orch_pod p = s->queue[q];
    struct placed *pl = &s->placed[s->nplaced++];
    *pl = (struct placed){.pod = p, .ends = wall_s() + p.duration_s, .placing = true};
    snprintf(pl->node, sizeof pl->node, "%s", view[i].name);
    snprintf(pl->agent, sizeof pl->agent, "%s", s->nodes[i].agent);
    char agent[128];
    snprintf(agent, sizeof agent, "%s", pl->agent);
    dequeue_locked(s, q);
    pthread_mutex_unlock(&s->lock); /* calls out, without holding up orch_sched_where */
    int stored = persist(s);
    int r = stored == CLOISTER_OK ? place(s, agent, &p) : 0;
    pthread_mutex_lock(&s->lock);
    size_t k = placed_find_locked(s, p.name);
    struct cloister_err err;
    if (r > 0) {
        s->placed[k].placing = false;
        s->placed[k].ends = wall_s() + p.duration_s;
        s->dirty = true;
        orch_node_charge(&view[i], &p, 1);
        struct sched_node *sn = node_find_locked(s, view[i].name);
        if (sn)
            orch_node_charge(&sn->n, &p, 1);
        clog_info("pod %s: placed on %s (%s)", p.name, view[i].name, why);
        return (long)q;
    }
    unplace_locked(s, k);
    if (r < 0) {
        clog_warn("pod %s: refused by node %s: dropped", p.name, view[i].name);
        return (long)q;
    }
    if (enqueue_locked(s, &p, q, &err) != CLOISTER_OK)
        clog_warn("%s: dropped", err.msg);
    return stored == CLOISTER_OK ? (long)q + 1 : -1;
}

/* Tries every pending pod in order on the nodes that report. */
static void schedule(orch_sched *s)
{
    pthread_mutex_lock(&s->lock);
    size_t nnodes = s->nnodes;
    struct orch_node *view = malloc((nnodes ? nnodes : 1) * sizeof *view);
    for (size_t i = 0; view && i < nnodes; i++)
        view[i] = s->nodes[i].n;
    for (long q = 0; view && q >= 0 && (size_t)q < s->nqueue && s->nplaced < PLACED_MAX;) {
        char why[256];
        int i = orch_pick(s->o.policy, view, nnodes, &s->queue[q], s->o.overcommit, &s->rng, why,
                          sizeof why);
        q = i < 0 ? q + 1 : place_one(s, view, (size_t)i, (size_t)q, why);
    }
    pthread_mutex_unlock(&s->lock);
    free(view);
}

/* Takes the submissions that came, stores the state, then acknowledges them: a submission is
 * acked only once the queue that holds it is stored. Refused ones are terminated. */
static void take_submissions(orch_sched *s)
{
    struct bus_msg *m[64];
    size_t n = 0;
    int keep[64];
    struct cloister_err err;
    if (bus_fetch(s->submits, m, 64, 50, &n, &err) != CLOISTER_OK) {
        clog_warn("%s", err.msg);
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const uint8_t *data = bus_msg_data(m[i], &len);
        keep[i] = on_submit(s, data, len);
    }
    int stored = n ? persist(s) : CLOISTER_OK;
    for (size_t i = 0; i < n; i++) {
        if (!keep[i])
            bus_msg_term(m[i], &err);
        else if (stored == CLOISTER_OK)
            bus_msg_ack(m[i], &err);
        bus_msg_free(m[i]); /* not stored: redelivered after the ack deadline */
    }
}

static void take_reports(orch_sched *s)
{
    for (int k = 0; k < 64; k++) {
        uint8_t *data = NULL;
        size_t len = 0;
        struct cloister_err err;
        if (bus_sub_next(s->reports, 0, NULL, 0, &data, &len, &err) != CLOISTER_OK || !data)
            return;
        on_report(s, data, len);
        free(data);
    }
}

static void *sched_loop(void *arg)
{
    orch_sched *s = arg;
    while (!atomic_load(&s->stop)) {
        take_submissions(s);
        take_reports(s);
        pthread_mutex_lock(&s->lock);
        expire_locked(s);
        pthread_mutex_unlock(&s->lock);
        schedule(s);
        persist(s);
    }
    return NULL;
}

static void sched_free(orch_sched *s)
{
    bus_sub_close(s->reports);
    bus_consumer_close(s->submits);
    bus_kv_close(s->kv);
    bus_close(s->bus);
    pthread_mutex_destroy(&s->lock);
    free(s->nodes);
    free(s->queue);
    free(s->placed);
    free(s->seen);
    crypto_wipe(s->token, sizeof s->token);
    crypto_wipe(s->key, sizeof s->key);
    free(s);
}

/* The bus side: the submission stream and its durable consumer, the state bucket (read back),
 * the reports. */
static int sched_connect(orch_sched *s, struct cloister_err *err)
{
    struct bus_options bo = {.name = "cloister-orch-scheduler", .max_reconnect = -1};
    struct bus_consumer_config cc = {.stream = STREAM_SUBMIT,
                                     .durable = "scheduler",
                                     .ack_wait_ms = 30000};
    if (!(s->bus = bus_connect(s->o.nats, &bo, err)) || submit_stream_ensure(s->bus, err) != 0 ||
        !(s->kv = bus_kv_open(s->bus, STATE_BUCKET, STATE_BUCKET_BYTES, STATE_MAX, err)) ||
        recover(s, err) != CLOISTER_OK || persist(s) != CLOISTER_OK ||
        !(s->submits = bus_consumer_open(s->bus, &cc, err)) ||
        !(s->reports = bus_subscribe(s->bus, SUBJECT_REPORT ">", err)))
        return err->code ? err->code : CLOISTER_E_FAILED;
    return CLOISTER_OK;
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
    s->started = now_s();
    pthread_mutex_init(&s->lock, NULL);
    s->nodes = calloc(NODES_MAX, sizeof *s->nodes);
    s->queue = calloc(s->o.queue_pods, sizeof *s->queue);
    s->placed = calloc(PLACED_MAX, sizeof *s->placed);
    s->seen = calloc(1, sizeof *s->seen);
    int rc = s->nodes && s->queue && s->placed && s->seen
                 ? orch_auth_key(s->key, s->token, err)
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (rc == CLOISTER_OK)
        rc = sched_connect(s, err);
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
            rc = s->placed[i].placing ? 0 : 1;
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

/* ---- listing the cluster from the bus ---- */

/* A pending pod in the shape of an agent's GET /pods entries. */
static json_t *pending_json(const json_t *spec)
{
    struct orch_pod p;
    struct cloister_err err;
    if (spec_parse(spec, &p, &err) != CLOISTER_OK)
        return NULL;
    json_t *j = json_pack("{s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:f}", "name", p.name, "state", "pending",
                          "sgx", p.sgx, "epc_request", (json_int_t)p.epc_request, "epc_use",
                          (json_int_t)p.epc_use, "mem_request", (json_int_t)p.mem_request,
                          "mem_use", (json_int_t)p.mem_use, "duration_s", p.duration_s);
    if (j && p.image[0])
        json_object_set_new(j, "image", json_string(p.image));
    return j;
}

/* The scheduler's pending queue from its stored state (empty when it has stored none). */
static json_t *ls_pending(struct bus *b, struct cloister_err *err)
{
    struct bus_kv *kv = bus_kv_open(b, STATE_BUCKET, STATE_BUCKET_BYTES, STATE_MAX, err);
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = kv ? bus_kv_get(kv, STATE_KEY, &data, &len, NULL, err) : err->code;
    bus_kv_close(kv);
    json_t *out = json_array();
    json_t *st = rc == CLOISTER_OK ? json_loadb((const char *)data, len, 0, NULL) : NULL;
    json_t *queue = json_object_get(st, "queue");
    for (size_t i = 0; out && i < json_array_size(queue); i++) {
        json_t *p = pending_json(json_array_get(queue, i));
        if (p)
            json_array_append_new(out, p);
    }
    json_decref(st);
    free(data);
    if (rc != CLOISTER_OK && rc != CLOISTER_E_NOT_FOUND) {
        json_decref(out);
        return NULL;
    }
    return out;
}

int orch_ls_nats(const char *nats, int64_t wait_ms, char **out, struct cloister_err *err)
{
    struct bus_options bo = {.name = "cloister-orch-ls"};
    struct bus *b = bus_connect(nats, &bo, err);
    struct bus_sub *sub = b ? bus_subscribe(b, SUBJECT_REPORT ">", err) : NULL;
    json_t *pending = sub ? ls_pending(b, err) : NULL, *nodes = json_object();
    int rc = pending && nodes ? CLOISTER_OK : err->code ? err->code : CLOISTER_E_NO_MEMORY;
    for (double end = now_s() + (double)wait_ms / 1000; rc == CLOISTER_OK && now_s() < end;) {
        uint8_t *data = NULL;
        size_t len = 0;
        if (bus_sub_next(sub, 50, NULL, 0, &data, &len, err) != CLOISTER_OK) {
            rc = err->code;
            break;
        }
        json_t *r = data ? json_loadb((const char *)data, len, 0, NULL) : NULL;
        const char *name = json_string_value(json_object_get(r, "name"));
        if (name && json_is_array(json_object_get(r, "pod_list")))
            json_object_set_new(nodes, name,
                                json_pack("{s:s,s:O,s:O}", "node", name, "agent",
                                          json_object_get(r, "agent"), "pods",
                                          json_object_get(r, "pod_list")));
        json_decref(r);
        free(data);
    }
    json_t *list = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(nodes, key, v) json_array_append(list, v);
    json_t *all = json_pack("{s:o,s:o}", "nodes", list, "pending",
                            pending ? pending : json_array());
    *out = rc == CLOISTER_OK && all ? json_dumps(all, JSON_COMPACT) : NULL;
    json_decref(all);
    json_decref(nodes);
    bus_sub_close(sub);
    bus_close(b);
    if (rc == CLOISTER_OK && !*out)
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    return rc;
}
