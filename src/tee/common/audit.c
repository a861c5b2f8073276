/* audit.c -- what an enclave image needs, imports and exposes, and whether to refuse it.
 *
 * An enclave that can start processes or load code can run anything, whatever its
 * measurement says, so a signer should never vouch for one by accident. The audit reads:
 * DT_NEEDED libraries and undefined .dynsym symbols (the imports), the ecall manifest section
 * (TEE_ECALL_SECTION), and for an image that needs no library (static or static-pie) the
 * functions defined in .symtab. It trusts
 * nothing in the file (see elf.c). Refusal is advisory data here; the signer decides (--force). */
#include "tee/common/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tee/common/elf.h"

static const char *const refused_exact[] = {
    "system", "popen",  "dlopen",  "dlmopen", "__libc_dlopen_mode", "fork", "vfork", "_Fork",
    "clone",  "clone3", "__clone", "fexecve",
};
static const char *const refused_prefix[] = {"exec", "posix_spawn"};

bool tee_audit_is_refused_symbol(const char *name)
{
    size_t n = strcspn(name, "@"); /* "execve@GLIBC_2.2.5" in a .symtab */
    for (size_t i = 0; i < sizeof refused_exact / sizeof refused_exact[0]; i++)
        if (strlen(refused_exact[i]) == n && memcmp(name, refused_exact[i], n) == 0)
            return true;
    for (size_t i = 0; i < sizeof refused_prefix / sizeof refused_prefix[0]; i++)
        if (strncmp(name, refused_prefix[i], strlen(refused_prefix[i])) == 0)
            return true;
    return false;
}

/* A growing list of owned strings. */
struct strlist {
    char **v;
    size_t n, cap;
};

static int strlist_add(struct strlist *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s)))
        return -1;
    l->n++;
    return 0;
}

static int strlist_addf(struct strlist *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int strlist_addf(struct strlist *l, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return strlist_add(l, line);
}

static void strlist_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strlist_sort_unique(struct strlist *l)
{
    if (!l->n)
        return;
    qsort(l->v, l->n, sizeof *l->v, cmp_str);
    size_t out = 1;
    for (size_t i = 1; i < l->n; i++) {
        if (strcmp(l->v[i], l->v[out - 1]) == 0)
            free(l->v[i]);
        else
            l->v[out++] = l->v[i];
    }
    l->n = out;
}

struct audit_state {
    struct elf_file f;
    struct strlist needed, imports, refused, static_funcs;
    struct tee_audit_ecall *ecalls;
    size_t n_ecalls;
    bool has_dynsym, has_symtab, dynamic, has_manifest;
};

static int oom(struct cloister_err *err)
{
    return cloister_errf(err, CLOISTER_E_NO_MEMORY, "image audit: out of memory");
}

static int read_symbols(struct audit_state *st, const struct elf_section *s,
                        struct cloister_err *err)
{
    struct elf_symtab t;
    if (elf_symtab_open(&st->f, s, &t, err))
        return -1;
    bool dyn = s->hdr.sh_type == SHT_DYNSYM;
    for (size_t i = 1; i < t.count; i++) {
        Elf64_Sym sym;
        const char *name;
        if (elf_symbol(&t, i, &sym, &name, err))
            return -1;
        int bind = ELF64_ST_BIND(sym.st_info), type = ELF64_ST_TYPE(sym.st_info);
        if (!*name || (bind != STB_GLOBAL && bind != STB_WEAK))
            continue;
        if (dyn && sym.st_shndx == SHN_UNDEF && strlist_add(&st->imports, name))
            return oom(err);
        if (!dyn && sym.st_shndx != SHN_UNDEF && type == STT_FUNC &&
            tee_audit_is_refused_symbol(name) && strlist_add(&st->static_funcs, name))
            return oom(err);
    }
    return 0;
}

static int read_needed(struct audit_state *st, const struct elf_section *s,
                       struct cloister_err *err)
{
    const uint8_t *strtab;
    size_t strsize;
    if (!s->data || s->hdr.sh_entsize != sizeof(Elf64_Dyn) || s->size % sizeof(Elf64_Dyn))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "ELF: dynamic section: bad entry size or table size");
    if (elf_linked_strtab(&st->f, s, &strtab, &strsize, err))
        return -1;
    for (size_t i = 0; i < s->size / sizeof(Elf64_Dyn); i++) {
        Elf64_Dyn d;
        memcpy(&d, s->data + i * sizeof d, sizeof d);
        if (d.d_tag == DT_NULL)
            break;
        if (d.d_tag != DT_NEEDED)
            continue;
        const char *lib = elf_string(strtab, strsize, d.d_un.d_val);
        if (!lib)
            return cloister_errf(err, CLOISTER_E_INVALID,
                                 "ELF: dynamic entry %zu: library name outside the table", i);
        if (strlist_add(&st->needed, lib))
            return oom(err);
    }
    return 0;
}

static int cmp_ecall(const void *a, const void *b)
{
    const struct tee_audit_ecall *x = a, *y = b;
    return x->number < y->number ? -1 : x->number > y->number;
}

static int read_ecalls(struct audit_state *st, const struct elf_section *s,
                       struct cloister_err *err)
{
    enum { REC = sizeof(struct tee_ecall_manifest) };
    if (!s->data || s->size % REC)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "ELF: section '%s': size %zu is not a multiple of %d", s->name,
                             s->size, REC);
    size_t n = s->size / REC;
    struct tee_audit_ecall *v = n ? calloc(n, sizeof *v) : NULL;
    if (n && !v)
        return oom(err);
    st->ecalls = v;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *rec = s->data + i * REC;
        const char *name = (const char *)rec + 8;
        if (tee_get_le(rec, 4) != TEE_ECALL_MAGIC || !memchr(name, 0, TEE_ECALL_NAME_MAX) || !*name)
            return cloister_errf(err, CLOISTER_E_INVALID,
                                 "ELF: section '%s': record %zu is not an ecall manifest", s->name,
                                 i);
        v[i].number = (uint32_t)tee_get_le(rec + 4, 4);
        memcpy(v[i].name, name, TEE_ECALL_NAME_MAX);
        st->n_ecalls++;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_ecall);
    for (size_t i = 1; i < n; i++) {
        if (v[i].number != v[i - 1].number)
            continue;
        if (strlist_addf(&st->refused, "ecall number %u is declared twice (%s, %s)", v[i].number,
                         v[i - 1].name, v[i].name))
            return oom(err);
    }
    return 0;
}

static int walk(struct audit_state *st, const void *image, size_t len, struct cloister_err *err)
{
    if (elf_open(&st->f, image, len, err))
        return -1;
    for (size_t i = 0; i < st->f.phnum; i++) {
        Elf64_Phdr ph;
        if (elf_segment(&st->f, i, &ph, err))
            return -1;
        st->dynamic |= ph.p_type == PT_DYNAMIC;
    }
    for (size_t i = 1; i < st->f.shnum; i++) {
        struct elf_section s;
        if (elf_section(&st->f, i, &s, err))
            return -1;
        int rc = 0;
        if (s.hdr.sh_type == SHT_DYNSYM) {
            st->has_dynsym = true;
            rc = read_symbols(st, &s, err);
        } else if (s.hdr.sh_type == SHT_SYMTAB) {
            st->has_symtab = true;
            rc = read_symbols(st, &s, err);
        } else if (s.hdr.sh_type == SHT_DYNAMIC) {
            rc = read_needed(st, &s, err);
        } else if (strcmp(s.name, TEE_ECALL_SECTION) == 0) {
            if (st->has_manifest)
                return cloister_errf(err, CLOISTER_E_INVALID, "ELF: more than one '%s' section",
                                     TEE_ECALL_SECTION);
            st->has_manifest = true;
            rc = read_ecalls(st, &s, err);
        }
        if (rc)
            return -1;
    }
    return 0;
}

/* Decides what to refuse once the whole file has been read. */
static int judge(struct audit_state *st, struct cloister_err *err)
{
    strlist_sort_unique(&st->imports);
    strlist_sort_unique(&st->static_funcs);
    /* No DT_NEEDED library: all the code is in the file (static, or static-pie). */
    bool is_static = st->needed.n == 0;
    for (size_t i = 0; i < st->imports.n; i++)
        if (tee_audit_is_refused_symbol(st->imports.v[i]) &&
            strlist_addf(&st->refused, "imports %s (process spawning or code loading)",
                         st->imports.v[i]))
            return oom(err);
    if (is_static && !st->has_symtab &&
        strlist_add(&st->refused, "statically linked and stripped: what it calls cannot be "
                                  "audited"))
        return oom(err);
    for (size_t i = 0; is_static && i < st->static_funcs.n; i++)
        if (strlist_addf(&st->refused, "statically contains %s (process spawning or code loading)",
                         st->static_funcs.v[i]))
            return oom(err);
    return 0;
}

int tee_audit_image(struct tee_audit *a, const void *image, size_t len, struct cloister_err *err)
{
    memset(a, 0, sizeof *a);
    struct audit_state st = {0};
    int rc = walk(&st, image, len, err);
    if (!rc)
        rc = judge(&st, err);
    strlist_free(st.static_funcs.v, st.static_funcs.n);
    if (rc) {
        strlist_free(st.needed.v, st.needed.n);
        strlist_free(st.imports.v, st.imports.n);
        strlist_free(st.refused.v, st.refused.n);
        free(st.ecalls);
        return -1;
    }
    *a = (struct tee_audit){.machine = st.f.eh.e_machine,
                            .pie = st.f.eh.e_type == ET_DYN,
                            .dynamic = st.dynamic,
                            .has_symtab = st.has_symtab,
                            .needed = st.needed.v,
                            .n_needed = st.needed.n,
                            .imports = st.imports.v,
                            .n_imports = st.imports.n,
                            .ecalls = st.ecalls,
                            .n_ecalls = st.n_ecalls,
                            .refused = st.refused.v,
                            .n_refused = st.refused.n};
    return 0;
}

bool tee_audit_refused(const struct tee_audit *a)
{
    return a->n_refused > 0;
}

void tee_audit_free(struct tee_audit *a)
{
    strlist_free(a->needed, a->n_needed);
    strlist_free(a->imports, a->n_imports);
    strlist_free(a->refused, a->n_refused);
    free(a->ecalls);
    memset(a, 0, sizeof *a);
}
