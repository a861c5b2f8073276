/* orch_pod.c -- pod specs: Kubernetes quantities and the JSON pod spec (orch.h).
 *
 * Everything here reads input from users and from the network (the extender's requests), so each
 * field is checked for its type and range and a refusal names the field; unknown fields are
 * refused too, so a typo ("memroy") is not silently a pod without memory. */
#include <cloister/orch.h>

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DURATION_MAX_S (7 * 86400.0)
#define DURATION_DEFAULT_S 10.0

int orch_quantity_parse(const char *text, uint64_t *bytes, struct cloister_err *err)
{
    static const struct {
        const char *suffix;
        double factor;
    } units[] = {{"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
                 {"k", 1e3},     {"M", 1e6},        {"G", 1e9},           {"T", 1e12},
                 {"", 1.0}};
    if (!text || !*text || !(isdigit((unsigned char)*text) || *text == '.') ||
        strpbrk(text, "xXpP")) /* strtod would read hexadecimal */
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "quantity '%.32s': a number of bytes, with k, Ki, M, Mi, G, Gi, T "
                             "or Ti",
                             text ? text : "");
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suffix) != 0)
            continue;
        double b = v * units[i].factor;
        if (errno || !isfinite(b) || b < 0 || b > 9.0e18)
            break;
        *bytes = (uint64_t)ceil(b);
        return CLOISTER_OK;
    }
    return cloister_errf(err, CLOISTER_E_INVALID,
                         "quantity '%.32s': a number of bytes, with k, Ki, M, Mi, G, Gi, T or Ti",
                         text);
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= ORCH_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

/* A quantity field: a string ("64Mi") or a non-negative integer of bytes. Absent: untouched. */
static int get_quantity(json_t *obj, const char *key, uint64_t *out, struct cloister_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return CLOISTER_OK;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return CLOISTER_OK;
    }
    if (!json_is_string(v))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "pod spec: '%s' must be a quantity (\"64Mi\") or bytes", key);
    int rc = orch_quantity_parse(json_string_value(v), out, err);
    return rc == CLOISTER_OK ? rc : cloister_err_wrap(err, "pod spec: '%s': ", key);
}

static int check_keys(json_t *obj, struct cloister_err *err)
{
    static const char *const known[] = {"name",    "sgx",        "epc",   "memory", "duration_s",
                                        "use_epc", "use_memory", "image", NULL};
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        size_t i = 0;
        while (known[i] && strcmp(known[i], key) != 0)
            i++;
        if (!known[i])
            return cloister_errf(err, CLOISTER_E_INVALID,
                                 "pod spec: unknown field '%.40s' (known: name, sgx, epc, "
                                 "memory, duration_s, use_epc, use_memory, image)",
                                 key);
    }
    return CLOISTER_OK;
}

static int pod_from_json(struct orch_pod *p, json_t *obj, struct cloister_err *err)
{
    if (!json_is_object(obj))
        return cloister_errf(err, CLOISTER_E_INVALID, "pod spec: a JSON object is needed");
    int rc = check_keys(obj, err);
    if (rc != CLOISTER_OK)
        return rc;
    json_t *name = json_object_get(obj, "name");
    if (!json_is_string(name) || !name_ok(json_string_value(name)))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "pod spec: 'name' must be 1-%d of letters, digits, '-', '_', '.'",
                             ORCH_NAME_MAX - 1);
    snprintf(p->name, sizeof p->name, "%s", json_string_value(name));
    json_t *sgx = json_object_get(obj, "sgx");
    if (sgx && !json_is_boolean(sgx))
        return cloister_errf(err, CLOISTER_E_INVALID, "pod spec: 'sgx' must be true or false");
    p->sgx = sgx && json_is_true(sgx);
    if (p->sgx && !json_object_get(obj, "epc"))
        return cloister_errf(err, CLOISTER_E_INVALID, "pod spec: an SGX pod needs 'epc'");
    if ((rc = get_quantity(obj, "epc", &p->epc_request, err)) != CLOISTER_OK ||
        (rc = get_quantity(obj, "memory", &p->mem_request, err)) != CLOISTER_OK)
        return rc;
    p->epc_use = p->epc_request;
    p->mem_use = p->mem_request;
    if ((rc = get_quantity(obj, "use_epc", &p->epc_use, err)) != CLOISTER_OK ||
        (rc = get_quantity(obj, "use_memory", &p->mem_use, err)) != CLOISTER_OK)
        return rc;
    if (!p->sgx && (p->epc_request || p->epc_use))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "pod spec: a standard pod (sgx false) has no 'epc'");
    json_t *image = json_object_get(obj, "image");
    if (image && (!json_is_string(image) || !name_ok(json_string_value(image)) ||
                  json_string_value(image)[0] == '.'))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "pod spec: 'image' must be 1-%d of letters, digits, '-', '_', '.', "
                             "not starting with '.'",
                             ORCH_NAME_MAX - 1);
    if (image)
        snprintf(p->image, sizeof p->image, "%s", json_string_value(image));
    json_t *d = json_object_get(obj, "duration_s");
    p->duration_s = DURATION_DEFAULT_S;
    if (d) {
        double v = json_is_number(d) ? json_number_value(d) : -1;
        if (!(v > 0 && v <= DURATION_MAX_S))
            return cloister_errf(err, CLOISTER_E_INVALID,
                                 "pod spec: 'duration_s' must be a number in (0, %.0f]",
                                 DURATION_MAX_S);
        p->duration_s = v;
    }
    return CLOISTER_OK;
}

int orch_pod_parse(struct orch_pod *out, const char *json, size_t len, struct cloister_err *err)
{
    json_error_t jerr;
    json_t *obj = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj)
        return cloister_errf(err, CLOISTER_E_INVALID, "pod spec: not JSON (line %d: %s)", jerr.line,
                             jerr.text);
    struct orch_pod p = {0};
    int rc = pod_from_json(&p, obj, err);
    json_decref(obj);
    if (rc == CLOISTER_OK)
        *out = p;
    return rc;
}

char *orch_pod_format(const struct orch_pod *p)
{
    json_t *j = json_pack("{s:s,s:b,s:I,s:I,s:f,s:I,s:I}", "name", p->name, "sgx", p->sgx, "memory",
                          (json_int_t)p->mem_request, "use_memory", (json_int_t)p->mem_use,
                          "duration_s", p->duration_s, "epc", (json_int_t)p->epc_request, "use_epc",
                          (json_int_t)p->epc_use);
    if (!j)
        return NULL;
    if (!p->sgx) {
        json_object_del(j, "epc");
        json_object_del(j, "use_epc");
    }
    if (p->image[0])
        json_object_set_new(j, "image", json_string(p->image));
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return s;
}
