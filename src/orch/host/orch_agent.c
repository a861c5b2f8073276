/* orch_agent.c -- the node agent (orch_serve.h).
 *
 * A pod is a record in a bounded table (POD_MAX; finished pods are forgotten oldest first when
 * room is needed). An SGX pod gets an EPC accounting group named after it whose limit is its
 * request plus the enclave's base pages and 256 KiB for the runtime's own heap (tee.h), then a pod enclave that
 * grows to what the pod really uses: a pod that lied about its EPC is refused at that growth,
 * its enclave destroyed and the pod marked "refused", while the node and the other pods go on.
 * A standard pod is a process (orch_proc.h) whose data is limited to its request by the kernel
 * (RLIMIT_DATA): one that allocates more is refused at that allocation and marked "refused";
 * its measured memory is what the process has allocated (VmData, less what it inherited).
 * A pod may name an image among those installed in the node's images directory: the program
 * its process runs, or the signed enclave image of its enclave (never a path: a name).
 * POST and DELETE are signed with a key derived from the token (orch_auth.h), their nonces
 * remembered for the window, so neither the token nor a replayed request gets anything done.
 * The node itself refuses a pod that does not fit by the scheduler's rule (409), so a stale
 * scheduling decision cannot over-commit it. Posting a pod that already runs here with the same
 * spec answers 200: a scheduler killed while its POST was in flight learns the pod runs. One mutex guards the table; launching (enclave
 * creation and growth) happens outside it, with the pod already counted as "starting". A reaper
 * thread ends pods after their duration. Measured EPC is what the groups have committed. */
#define CLOG_MODULE "orch"
#include <cloister/crypto.h>
#include <cloister/epc.h>
#include <cloister/orch_serve.h>
#include <cloister/wire.h>

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "orch/host/orch_auth.h"
#include "orch/host/orch_proc.h"
#include "util/log.h"

#define POD_MAX 256
#define BODY_MAX (64u << 10)
#define REAP_MS 100
#define POD_RUNTIME_PAGES 64 /* 256 KiB */

enum pod_state { POD_STARTING, POD_RUNNING, POD_DONE, POD_REFUSED, POD_FAILED, POD_STOPPED };
static const char *const state_names[] = {"starting", "running", "done",
                                          "refused",  "failed",  "stopped"};

struct pod {
    bool used;
    struct orch_pod spec;
    enum pod_state state;
    double started, ends; /* monotonic seconds */
    tee_epc_group *group;
    tee_enclave *enclave;
    pid_t pid;     /* a standard pod's process, 0 when none */
    uint64_t base; /* its data before the pod allocated */
    char message[CLOISTER_ERR_MAX];
};

struct orch_agent {
    struct orch_agent_options o;
    char name[ORCH_NAME_MAX];
    char *image, *signature, *images;
    uint8_t key[ORCH_AUTH_KEY_LEN]; /* of the signed requests, from the token */
    pthread_mutex_t lock;
    struct orch_nonces seen; /* of the signed requests, within the window */
    struct pod pods[POD_MAX];
    struct http_server *http;
    pthread_t reaper;
    _Atomic bool stopping;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool live(const struct pod *p)
{
    return p->used && (p->state == POD_STARTING || p->state == POD_RUNNING);
}

/* What a standard pod's process has allocated. */
static uint64_t pod_memory(const struct pod *p)
{
    uint64_t data = orch_proc_data(p->pid);
    return data > p->base ? data - p->base : 0;
}

/* The node as the scheduler sees it. Lock held. */
static void node_locked(orch_agent *a, struct orch_node *n)
{
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", a->name);
    n->sgx = a->o.sgx;
    n->epc_alloc = a->o.sgx ? a->o.epc : 0;
    n->mem_alloc = a->o.mem;
    for (size_t i = 0; i < POD_MAX; i++) {
        const struct pod *p = &a->pods[i];
        if (!live(p))
            continue;
        orch_node_charge(n, &p->spec, +1);
        n->mem_measured += p->pid ? pod_memory(p) : p->spec.mem_use;
        if (p->group) {
            struct tee_epc_group_stats s;
            tee_epc_group_stats(p->group, &s);
            n->epc_measured += s.committed_pages * ORCH_EPC_PAGE;
        }
    }
}

/* Ends a pod's enclave and group; the caller marks its state. The pod must not be launching. */
static void pod_release(struct pod *p)
{
    if (p->pid > 0)
        orch_proc_stop(p->pid);
    p->pid = 0;
    tee_destroy(p->enclave);
    p->enclave = NULL;
    tee_epc_group_free(p->group);
    p->group = NULL;
}

/* A free slot, forgetting the oldest finished pod when needed. Lock held. */
static struct pod *slot_locked(orch_agent *a)
{
    struct pod *oldest = NULL;
    for (size_t i = 0; i < POD_MAX; i++) {
        struct pod *p = &a->pods[i];
        if (!p->used)
            return p;
        if (!live(p) && (!oldest || p->started < oldest->started))
            oldest = p;
    }
    if (oldest)
        pod_release(oldest);
    return oldest;
}

static struct pod *find_locked(orch_agent *a, const char *name)
{
    for (size_t i = 0; i < POD_MAX; i++)
        if (a->pods[i].used && strcmp(a->pods[i].spec.name, name) == 0)
            return &a->pods[i];
    return NULL;
}

static int grow(tee_enclave *e, uint64_t bytes, struct cloister_err *err)
{
    uint8_t in[8];
    struct wire_writer w;
    wire_writer_init_fixed(&w, in, sizeof in);
    wire_put_u64(&w, bytes);
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc = tee_ecall(e, ORCH_POD_ECALL_GROW, in, sizeof in, &out, &outlen, err);
    free(out);
    return rc;
}

/* The path of the pod's image with suffix in the node's images; refused when the node has none
 * or not that one (the message names the image, not the directory). */
static int image_path(orch_agent *a, const struct orch_pod *spec, const char *suffix, char *out,
                      size_t cap, struct cloister_err *err)
{
    if (!a->images)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND, "pod %s: node %s runs no images",
                             spec->name, a->name);
    int n = snprintf(out, cap, "%s/%s%s", a->images, spec->image, suffix);
    if (n < 0 || (size_t)n >= cap || access(out, spec->sgx ? R_OK : X_OK) != 0)
        return cloister_errf(err, CLOISTER_E_NOT_FOUND, "pod %s: node %s has no image '%s'",
                             spec->name, a->name, spec->image);
    return CLOISTER_OK;
}

/* Creates the pod's enclave, from its image or the built-in pod enclave, in its group and grows
 * it to its use. No lock held: the enclave is the caller's to publish. A refused enclave is
 * destroyed; its group keeps the refusal. */
static int launch(orch_agent *a, const struct orch_pod *spec, tee_epc_group *g, tee_enclave **out,
                  struct cloister_err *err)
{
    char image[4096], sig[4096];
    struct tee_options o;
    tee_options_init(&o);
    o.backend = a->o.backend;
    o.image = a->image;
    o.signature = a->signature;
    if (spec->image[0]) {
        int rc = image_path(a, spec, ".enclave", image, sizeof image, err);
        if (rc == CLOISTER_OK)
            rc = image_path(a, spec, ".sig", sig, sizeof sig, err);
        if (rc != CLOISTER_OK)
            return rc;
        o.image = image;
        o.signature = sig;
    }
    o.enclave = a->o.enclave;
    o.epc_group = g;
    tee_enclave *e = NULL;
    int rc = tee_create(&o, &e, err);
    if (rc == CLOISTER_OK && spec->epc_use)
        rc = grow(e, spec->epc_use, err);
    if (rc != CLOISTER_OK) {
        tee_destroy(e);
        e = NULL;
    }
    *out = e;
    return rc;
}

/* A standard pod's process: its image, or the built-in workload that allocates its use. */
static int start_process(orch_agent *a, const struct orch_pod *spec, pid_t *pid, uint64_t *base,
                         struct cloister_err *err)
{
    char exe[4096];
    if (spec->image[0] && image_path(a, spec, "", exe, sizeof exe, err) != CLOISTER_OK)
        return err->code;
    return orch_proc_start(spec->name, spec->mem_request, spec->mem_use,
                           spec->image[0] ? exe : NULL, pid, base, err);
}

static json_t *pod_json(const struct pod *p, double now)
{
    json_t *j = json_pack("{s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:f,s:f}", "name", p->spec.name, "state",
                          state_names[p->state], "sgx", p->spec.sgx, "epc_request",
                          (json_int_t)p->spec.epc_request, "epc_use", (json_int_t)p->spec.epc_use,
                          "mem_request", (json_int_t)p->spec.mem_request, "mem_use",
                          (json_int_t)p->spec.mem_use, "duration_s", p->spec.duration_s,
                          "running_s", live(p) ? now - p->started : 0.0);
    if (j && p->message[0])
        json_object_set_new(j, "message", json_string(p->message));
    if (j && p->pid)
        json_object_set_new(j, "pid", json_integer(p->pid));
    if (j && p->spec.image[0])
        json_object_set_new(j, "image", json_string(p->spec.image));
    if (j && p->pid)
        json_object_set_new(j, "memory_measured", json_integer((json_int_t)pod_memory(p)));
    return j;
}

static char *dump(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

static bool same_spec(const struct orch_pod *x, const struct orch_pod *y)
{
    char *fx = orch_pod_format(x), *fy = orch_pod_format(y);
    bool same = fx && fy && strcmp(fx, fy) == 0;
    free(fx);
    free(fy);
    return same;
}

static void submit(orch_agent *a, const char *text, unsigned *status, char **body)
{
    struct orch_pod spec;
    struct cloister_err err;
    if (orch_pod_parse(&spec, text, strlen(text), &err) != CLOISTER_OK) {
        *status = 400;
        *body = http_error_json(err.msg);
        return;
    }
    pthread_mutex_lock(&a->lock);
    struct orch_node n;
    node_locked(a, &n);
    struct pod *p = NULL, *same = find_locked(a, spec.name);
    if (same && live(same) && same_spec(&same->spec, &spec)) {
        *body = dump(pod_json(same, now_s()));
        pthread_mutex_unlock(&a->lock);
        *status = 200;
        return;
    }
    const char *why = same && live(same)           ? "a pod of that name runs here"
                      : !orch_fits(&n, &spec, 1.0) ? "does not fit this node (EPC or memory)"
                      : !(p = slot_locked(a))      ? "too many pods on this node"
                                                   : NULL;
    if (why) {
        pthread_mutex_unlock(&a->lock);
        char msg[160];
        snprintf(msg, sizeof msg, "pod %s: %s", spec.name, why);
        *status = 409;
        *body = http_error_json(msg);
        return;
    }
    struct pod *old = find_locked(a, spec.name);
    if (old) { /* a finished pod of the same name: forgotten */
        pod_release(old);
        old->used = false;
    }
    *p = (struct pod){.used = true, .spec = spec, .state = POD_STARTING, .started = now_s()};
    /* The group's limit: the request, plus the enclave's base pages and the runtime's own heap
     * (its state and buffers, in growth chunks): a pod asks for what its code uses. */
    uint64_t pages = (spec.epc_request + ORCH_EPC_PAGE - 1) / ORCH_EPC_PAGE;
    int rc = spec.sgx && !(p->group = tee_epc_group_new(
                               spec.name, pages + TEE_EPC_BASE_PAGES + POD_RUNTIME_PAGES, &err))
                 ? err.code
                 : CLOISTER_OK;
    pthread_mutex_unlock(&a->lock);

    tee_enclave *e = NULL;
    pid_t pid = 0;
    uint64_t base = 0;
    if (rc == CLOISTER_OK && spec.sgx)
        rc = launch(a, &spec, p->group, &e, &err);
    else if (rc == CLOISTER_OK)
        rc = start_process(a, &spec, &pid, &base, &err);
    pthread_mutex_lock(&a->lock);
    p->enclave = e;
    p->pid = pid;
    p->base = base;
    p->started = now_s();
    p->ends = p->started + spec.duration_s;
    bool refused = p->group ? strstr(err.msg, "EPC group") != NULL : rc == CLOISTER_E_TOO_BIG;
    p->state = rc == CLOISTER_OK ? POD_RUNNING : refused ? POD_REFUSED : POD_FAILED;
    if (rc != CLOISTER_OK)
        snprintf(p->message, sizeof p->message, "%s", err.msg);
    clog_info("pod %s: %s%s%s", spec.name, state_names[p->state], p->message[0] ? ": " : "",
              p->message);
    *body = dump(pod_json(p, p->started));
    pthread_mutex_unlock(&a->lock);
    *status = rc == CLOISTER_OK ? 201 : 200;
}

static void stop_pod(orch_agent *a, const char *name, unsigned *status, char **body)
{
    pthread_mutex_lock(&a->lock);
    struct pod *p = find_locked(a, name);
    if (!p || p->state != POD_RUNNING) {
        pthread_mutex_unlock(&a->lock);
        *status = 404;
        *body = http_error_json("no running pod of that name");
        return;
    }
    pod_release(p);
    p->state = POD_STOPPED;
    *body = dump(pod_json(p, now_s()));
    pthread_mutex_unlock(&a->lock);
    *status = 200;
}

static json_t *group_json(const struct pod *p)
{
    struct tee_epc_group_stats s;
    tee_epc_group_stats(p->group, &s);
    json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "group", s.name, "pod_state",
                          state_names[p->state], "limit_pages", (json_int_t)s.limit_pages,
                          "committed_pages", (json_int_t)s.committed_pages, "peak_committed_pages",
                          (json_int_t)s.peak_committed_pages, "enclaves", (json_int_t)s.enclaves,
                          "refusals", (json_int_t)s.refusals);
    if (s.last_refusal[0])
        json_object_set_new(j, "last_refusal", json_string(s.last_refusal));
    json_t *list = json_array();
    struct tee_epc_member m[4];
    size_t n = tee_epc_group_members(p->group, m, 4);
    for (size_t i = 0; i < n && i < 4; i++) {
        json_t *e = json_pack("{s:s,s:i,s:I,s:I}", "enclave", m[i].name, "pid", m[i].pid,
                              "committed_pages", (json_int_t)m[i].committed_pages, "refusals",
                              (json_int_t)m[i].refusals);
        struct epc_stats es;
        if (p->enclave && tee_epc_stats(p->enclave, &es, NULL) == CLOISTER_OK)
            json_object_set_new(e, "epc", epc_stats_json(&es));
        json_array_append_new(list, e);
    }
    json_object_set_new(j, "members", list);
    return j;
}

static void groups(orch_agent *a, const char *only, unsigned *status, char **body)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < POD_MAX; i++)
        if (a->pods[i].used && a->pods[i].group &&
            (!only || strcmp(a->pods[i].spec.name, only) == 0))
            json_array_append_new(arr, group_json(&a->pods[i]));
    pthread_mutex_unlock(&a->lock);
    if (only && json_array_size(arr) == 0) {
        json_decref(arr);
        *status = 404;
        *body = http_error_json("no EPC group of that name on this node");
        return;
    }
    *status = 200;
    *body = dump(only ? json_incref(json_array_get(arr, 0)) : json_pack("{s:o}", "groups", arr));
    if (only)
        json_decref(arr);
}

/* Prometheus text exposition format, version 0.0.4. */
static char *metrics(orch_agent *a)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    pthread_mutex_lock(&a->lock);
    struct orch_node n;
    node_locked(a, &n);
    fprintf(f,
            "# HELP cloister_node_epc_bytes EPC of the node: allocatable, requested, measured.\n"
            "# TYPE cloister_node_epc_bytes gauge\n"
            "cloister_node_epc_bytes{node=\"%s\",kind=\"allocatable\"} %llu\n"
            "cloister_node_epc_bytes{node=\"%s\",kind=\"requested\"} %llu\n"
            "cloister_node_epc_bytes{node=\"%s\",kind=\"measured\"} %llu\n",
            n.name, (unsigned long long)n.epc_alloc, n.name, (unsigned long long)n.epc_requested,
            n.name, (unsigned long long)n.epc_measured);
    static const char *const gauges[][2] = {
        {"cloister_epc_group_limit_pages", "EPC pages a group may commit."},
        {"cloister_epc_group_committed_pages", "EPC pages the group's enclaves have committed."},
        {"cloister_epc_group_refusals_total", "Enclave creations and growths refused."},
        {"cloister_epc_enclave_resident_pages", "Resident EPC pages of the group's enclave."},
        {"cloister_epc_enclave_faults_total", "EPC faults of the group's enclave."}};
    for (size_t g = 0; g < 5; g++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", gauges[g][0], gauges[g][1], gauges[g][0],
                strstr(gauges[g][0], "_total") ? "counter" : "gauge");
        for (size_t i = 0; i < POD_MAX; i++) {
            const struct pod *p = &a->pods[i];
            if (!p->used || !p->group)
                continue;
            struct tee_epc_group_stats s;
            tee_epc_group_stats(p->group, &s);
            struct epc_stats es = {0};
            if (g >= 3 && (!p->enclave || tee_epc_stats(p->enclave, &es, NULL) != CLOISTER_OK))
                continue;
            uint64_t v[] = {s.limit_pages, s.committed_pages, s.refusals, es.resident_pages,
                            es.faults};
            fprintf(f, "%s{node=\"%s\",group=\"%s\"} %llu\n", gauges[g][0], n.name, s.name,
                    (unsigned long long)v[g]);
        }
    }
    pthread_mutex_unlock(&a->lock);
    fclose(f);
    return buf;
}

static json_t *node_json(const struct orch_node *n, size_t pods)
{
    return json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "name", n->name, "sgx", n->sgx,
                     "epc_alloc", (json_int_t)n->epc_alloc, "mem_alloc", (json_int_t)n->mem_alloc,
                     "epc_requested", (json_int_t)n->epc_requested, "mem_requested",
                     (json_int_t)n->mem_requested, "epc_measured", (json_int_t)n->epc_measured,
                     "mem_measured", (json_int_t)n->mem_measured, "pods", (json_int_t)pods);
}

static void reads(orch_agent *a, const char *url, unsigned *status, char **body, const char **type)
{
    *status = 200;
    if (strcmp(url, "/metrics") == 0) {
        *type = "text/plain; version=0.0.4";
        *body = metrics(a);
        return;
    }
    if (strcmp(url, "/groups") == 0 || strncmp(url, "/groups/", 8) == 0) {
        groups(a, url[7] ? url + 8 : NULL, status, body);
        return;
    }
    json_t *arr = json_array();
    size_t running = 0;
    double now = now_s();
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < POD_MAX; i++)
        if (a->pods[i].used) {
            running += live(&a->pods[i]);
            json_array_append_new(arr, pod_json(&a->pods[i], now));
        }
    struct orch_node n;
    node_locked(a, &n);
    pthread_mutex_unlock(&a->lock);
    if (strcmp(url, "/node") == 0) {
        json_decref(arr);
        *body = dump(node_json(&n, running));
    } else if (strcmp(url, "/pods") == 0) {
        *body = dump(json_pack("{s:s,s:o}", "node", n.name, "pods", arr));
    } else {
        json_decref(arr);
        *status = 404;
        *body = http_error_json("no such route (GET /node, /pods, /groups, /groups/NAME, "
                                "/metrics)");
    }
}

static void handle(void *arg, const struct http_request *r, unsigned *status, char **body,
                   const char **type)
{
    orch_agent *a = arg;
    *type = NULL;
    if (strcmp(r->method, "GET") == 0) {
        reads(a, r->url, status, body, type);
        return;
    }
    bool post = strcmp(r->method, "POST") == 0 && strcmp(r->url, "/pods") == 0;
    bool del = strcmp(r->method, "DELETE") == 0 && strncmp(r->url, "/pods/", 6) == 0;
    char label[ORCH_AUTH_LABEL_MAX], *text = NULL;
    struct cloister_err err;
    orch_auth_request_label(label, sizeof label, r->method, r->url);
    int rc = CLOISTER_OK;
    if (post || del) {
        pthread_mutex_lock(&a->lock);
        rc = orch_auth_open_text(a->key, label, &a->seen, (int64_t)time(NULL), r->body, r->len,
                                 &text, &err);
        pthread_mutex_unlock(&a->lock);
    }
    if (!post && !del) {
        *status = 405;
        *body = http_error_json("POST /pods or DELETE /pods/NAME");
    } else if (rc != CLOISTER_OK) {
        *status = 401;
        cloister_err_wrap(&err, "request");
        *body = http_error_json(err.msg);
    } else if (atomic_load(&a->stopping)) {
        *status = 503;
        *body = http_error_json("the node is stopping");
    } else if (post) {
        submit(a, text, status, body);
    } else {
        stop_pod(a, r->url + 6, status, body);
    }
    free(text);
}

static void *reap(void *arg)
{
    orch_agent *a = arg;
    while (!atomic_load(&a->stopping)) {
        usleep(REAP_MS * 1000);
        double now = now_s();
        pthread_mutex_lock(&a->lock);
        for (size_t i = 0; i < POD_MAX; i++) {
            struct pod *p = &a->pods[i];
            if (p->used && p->state == POD_RUNNING && p->pid && !orch_proc_alive(p->pid)) {
                p->pid = 0; /* reaped */
                pod_release(p);
                p->state = POD_FAILED;
                snprintf(p->message, sizeof p->message, "its process exited");
                clog_warn("pod %s: failed: its process exited", p->spec.name);
            } else if (p->used && p->state == POD_RUNNING && now >= p->ends) {
                pod_release(p);
                p->state = POD_DONE;
                clog_info("pod %s: done", p->spec.name);
            }
        }
        pthread_mutex_unlock(&a->lock);
    }
    return NULL;
}

static void agent_free(orch_agent *a)
{
    crypto_wipe(a->key, sizeof a->key);
    free(a->image);
    free(a->signature);
    free(a->images);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

int orch_agent_start(const struct orch_agent_options *o, orch_agent **out, struct cloister_err *err)
{
    if (!o->name || !*o->name || strlen(o->name) >= ORCH_NAME_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "node agent: a name of 1-63 bytes");
    if (!o->token || strlen(o->token) < 16)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "node agent: the token must have at least 16 characters");
    if (o->sgx && (!o->image || !o->signature || !o->epc))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "node agent: an SGX node needs its EPC and the pod image");
    orch_agent *a = calloc(1, sizeof *a);
    if (!a)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    a->o = *o;
    snprintf(a->name, sizeof a->name, "%s", o->name);
    a->image = o->image ? strdup(o->image) : NULL;
    a->signature = o->signature ? strdup(o->signature) : NULL;
    a->images = o->images ? strdup(o->images) : NULL;
    pthread_mutex_init(&a->lock, NULL);
    int rc = orch_auth_key(a->key, o->token, err);
    if (rc == CLOISTER_OK)
        rc = http_server_start(o->listen, NULL, BODY_MAX, handle, a, &a->http, err);
    if (rc == CLOISTER_OK && pthread_create(&a->reaper, NULL, reap, a) != 0) {
        http_server_stop(a->http);
        rc = cloister_errf(err, CLOISTER_E_SYSTEM, "node agent: no thread");
    }
    if (rc != CLOISTER_OK) {
        agent_free(a);
        return rc;
    }
    a->o.token = NULL; /* the caller's */
    *out = a;
    return CLOISTER_OK;
}

uint16_t orch_agent_port(const orch_agent *a)
{
    return http_server_port(a->http);
}

void orch_agent_stop(orch_agent *a)
{
    if (!a)
        return;
    atomic_store(&a->stopping, true);
    http_server_stop(a->http); /* waits for requests in flight */
    pthread_join(a->reaper, NULL);
    for (size_t i = 0; i < POD_MAX; i++)
        if (a->pods[i].used)
            pod_release(&a->pods[i]);
    agent_free(a);
}
