/* test_tee_elf.c -- the ELF64 reader and the image audit: real binaries (the cloister binary,
 * /bin/true, fixture images) with their imports checked against `nm -D` as an oracle, refusal
 * of spawning/loading imports and of static images, targeted corruptions with their errors,
 * and thousands of random corruptions and truncations that must never crash (ASan build). */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cloister/tee_trust.h>

#include "helpers.h"

#define CLOISTER_BIN CLOISTER_BINARY_DIR "/src/cli/cloister"

static struct tee_audit audit_file(const char *path)
{
    size_t len;
    uint8_t *data = th_read(path, &len);
    struct tee_audit a;
    struct cloister_err err = {0};
    if (tee_audit_image(&a, data, len, &err))
        fail_msg("%s: %s", path, err.msg);
    free(data);
    return a;
}

static bool has(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static bool has_prefix(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strncmp(v[i], s, strlen(s)) == 0)
            return true;
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Oracle: the undefined dynamic symbols binutils reports, without versions, sorted, unique. */
static size_t nm_imports(const char *path, char ***out)
{
    char cmd[4200], line[512];
    snprintf(cmd, sizeof cmd, "nm -D --undefined-only '%s'", path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char **v = NULL;
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        char kind[8], name[400];
        if (sscanf(line, " %7s %399s", kind, name) != 2)
            continue;
        name[strcspn(name, "@")] = 0;
        v = realloc(v, (n + 1) * sizeof *v);
        v[n++] = strdup(name);
    }
    assert_int_equal(pclose(f), 0);
    qsort(v, n, sizeof *v, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u && strcmp(v[i], v[u - 1]) == 0)
            free(v[i]);
        else
            v[u++] = v[i];
    }
    *out = v;
    return u;
}

static void imports_match_nm(const char *path)
{
    struct tee_audit a = audit_file(path);
    char **want;
    size_t n = nm_imports(path, &want);
    assert_int_equal(a.n_imports, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(a.imports[i], want[i]);
        free(want[i]);
    }
    free(want);
    tee_audit_free(&a);
}

static void real_binaries(void **state)
{
    const char *paths[] = {"/bin/true", CLOISTER_BIN, FIXTURE_OK, FIXTURE_SPAWN};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        imports_match_nm(paths[i]);

    struct tee_audit a = audit_file("/bin/true");
    assert_true(a.dynamic);
    assert_true(a.pie);
    assert_int_equal(a.machine, EM_X86_64);
    assert_true(has(a.needed, a.n_needed, "libc.so.6"));
    assert_int_equal(a.n_ecalls, 0);
    assert_false(tee_audit_refused(&a));
    tee_audit_free(&a);

    a = audit_file(CLOISTER_BIN);
    assert_true(a.n_imports > 10);
    assert_true(has(a.needed, a.n_needed, "libc.so.6"));
    tee_audit_free(&a);
}

static void fixture_ecalls_and_refusals(void **state)
{
    struct tee_audit a = audit_file(FIXTURE_OK);
    assert_int_equal(a.n_ecalls, 2);
    assert_int_equal(a.ecalls[0].number, 1);
    assert_string_equal(a.ecalls[0].name, "greet");
    assert_int_equal(a.ecalls[1].number, 7);
    assert_string_equal(a.ecalls[1].name, "count");
    assert_false(tee_audit_refused(&a));
    tee_audit_free(&a);

    a = audit_file(FIXTURE_SPAWN);
    assert_true(tee_audit_refused(&a));
    const char *want[] = {"imports dlopen", "imports execvp", "imports fork", "imports system",
                          "ecall number 3 is declared twice"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!has_prefix(a.refused, a.n_refused, want[i]))
            fail_msg("missing refusal '%s'", want[i]);
    tee_audit_free(&a);

    a = audit_file(FIXTURE_STATIC);
    assert_false(a.dynamic);
    assert_true(a.has_symtab);
    assert_true(has_prefix(a.refused, a.n_refused, "statically contains execv"));
    tee_audit_free(&a);

    a = audit_file(FIXTURE_STATIC_PIE); /* has a dynamic section, but imports nothing */
    assert_true(a.dynamic);
    assert_int_equal(a.n_needed, 0);
    assert_true(has_prefix(a.refused, a.n_refused, "statically contains execv"));
    tee_audit_free(&a);

    a = audit_file(FIXTURE_STATIC_STRIPPED);
    assert_false(a.has_symtab);
    assert_true(has_prefix(a.refused, a.n_refused, "statically linked and stripped"));
    tee_audit_free(&a);
}

static void refusal_list(void **state)
{
    const char *yes[] = {"execve", "execl",  "execvpe",     "fexecve",      "system",
                         "popen",  "dlopen", "dlmopen",     "fork",         "vfork",
                         "clone",  "clone3", "posix_spawn", "posix_spawnp", "execve@GLIBC_2.2.5"};
    const char *no[] = {"printf",   "open",   "systemd_x", "dlsym",
                        "forkpty_", "pclose", "mmap",      "clone_x"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(tee_audit_is_refused_symbol(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(tee_audit_is_refused_symbol(no[i]));
}

/* ---- corruptions ---- */

struct image {
    uint8_t *data;
    size_t len;
};

static struct image load(const char *path)
{
    struct image im;
    im.data = th_read(path, &im.len);
    return im;
}

static Elf64_Ehdr *ehdr(struct image *im)
{
    return (Elf64_Ehdr *)im->data; /* file buffers from malloc are suitably aligned */
}

static Elf64_Shdr *shdr(struct image *im, size_t i)
{
    return (Elf64_Shdr *)(im->data + ehdr(im)->e_shoff) + i;
}

static size_t find_section(struct image *im, uint32_t type)
{
    for (size_t i = 1; i < ehdr(im)->e_shnum; i++)
        if (shdr(im, i)->sh_type == type)
            return i;
    fail_msg("no section of type %u", type);
    return 0;
}

static void expect_audit_error(struct image *im, const char *want)
{
    struct tee_audit a;
    struct cloister_err err = {0};
    assert_int_equal(tee_audit_image(&a, im->data, im->len, &err), -1);
    if (!strstr(err.msg, want))
        fail_msg("got '%s', want '%s'", err.msg, want);
}

typedef void (*corrupt_fn)(struct image *im);

static void expect_corruption(corrupt_fn fn, const char *want)
{
    struct image im = load(FIXTURE_OK);
    fn(&im);
    expect_audit_error(&im, want);
    free(im.data);
}

static void c_class(struct image *im)
{
    im->data[EI_CLASS] = ELFCLASS32;
}
static void c_endian(struct image *im)
{
    im->data[EI_DATA] = ELFDATA2MSB;
}
static void c_magic(struct image *im)
{
    im->data[1] = 'X';
}
static void c_type(struct image *im)
{
    ehdr(im)->e_type = ET_REL;
}
static void c_shoff(struct image *im)
{
    ehdr(im)->e_shoff = im->len - 10;
}
static void c_shoff_huge(struct image *im)
{
    ehdr(im)->e_shoff = UINT64_MAX - 8;
}
static void c_shnum(struct image *im)
{
    ehdr(im)->e_shnum = 0xfff0;
}
static void c_shentsize(struct image *im)
{
    ehdr(im)->e_shentsize = 40;
}
static void c_phnum(struct image *im)
{
    ehdr(im)->e_phnum = 0xfff0;
}
static void c_shstrndx(struct image *im)
{
    ehdr(im)->e_shstrndx = ehdr(im)->e_shnum + 3;
}
static void c_no_sections(struct image *im)
{
    ehdr(im)->e_shoff = 0;
}
static void c_name(struct image *im)
{
    shdr(im, 1)->sh_name = 0x7fffffff;
}
static void c_dynsym_size(struct image *im)
{
    shdr(im, find_section(im, SHT_DYNSYM))->sh_size += 5;
}
static void c_dynsym_entsize(struct image *im)
{
    shdr(im, find_section(im, SHT_DYNSYM))->sh_entsize = 16;
}
static void c_dynsym_offset(struct image *im)
{
    shdr(im, find_section(im, SHT_DYNSYM))->sh_offset = UINT64_MAX - 100;
}
static void c_dynsym_link(struct image *im)
{
    Elf64_Shdr *s = shdr(im, find_section(im, SHT_DYNSYM));
    s->sh_link = 60000;
}
static void c_dynsym_link_self(struct image *im)
{
    size_t i = find_section(im, SHT_DYNSYM);
    shdr(im, i)->sh_link = (uint32_t)i;
}
static void c_symbol_name(struct image *im)
{
    Elf64_Shdr *s = shdr(im, find_section(im, SHT_DYNSYM));
    Elf64_Sym *sym = (Elf64_Sym *)(im->data + s->sh_offset) + 1;
    sym->st_name = 0xfffffff0;
}
static void c_strtab_unterminated(struct image *im)
{
    Elf64_Shdr *s = shdr(im, find_section(im, SHT_DYNSYM));
    Elf64_Shdr *str = shdr(im, s->sh_link);
    Elf64_Sym *sym = (Elf64_Sym *)(im->data + s->sh_offset) + 1;
    memset(im->data + str->sh_offset + sym->st_name, 'A', str->sh_size - sym->st_name);
}
static void c_dynamic_entsize(struct image *im)
{
    shdr(im, find_section(im, SHT_DYNAMIC))->sh_entsize = 8;
}
static void c_needed(struct image *im)
{
    Elf64_Shdr *s = shdr(im, find_section(im, SHT_DYNAMIC));
    Elf64_Dyn *d = (Elf64_Dyn *)(im->data + s->sh_offset);
    for (; d->d_tag != DT_NULL; d++)
        if (d->d_tag == DT_NEEDED)
            d->d_un.d_val = 0x7fffffff;
}
static void c_ecall_record(struct image *im)
{
    for (size_t i = 1; i < ehdr(im)->e_shnum; i++) {
        Elf64_Shdr *s = shdr(im, i);
        const char *names = (const char *)im->data + shdr(im, ehdr(im)->e_shstrndx)->sh_offset;
        if (strcmp(names + s->sh_name, TEE_ECALL_SECTION) == 0)
            im->data[s->sh_offset] ^= 0xff; /* magic */
    }
}
static void c_ecall_size(struct image *im)
{
    for (size_t i = 1; i < ehdr(im)->e_shnum; i++) {
        Elf64_Shdr *s = shdr(im, i);
        const char *names = (const char *)im->data + shdr(im, ehdr(im)->e_shstrndx)->sh_offset;
        if (strcmp(names + s->sh_name, TEE_ECALL_SECTION) == 0)
            s->sh_size -= 1;
    }
}

static void targeted_corruptions(void **state)
{
    expect_corruption(c_class, "only 64-bit");
    expect_corruption(c_endian, "only little-endian");
    expect_corruption(c_magic, "not an ELF file");
    expect_corruption(c_type, "not an executable");
    expect_corruption(c_shoff, "section headers lie outside the file");
    expect_corruption(c_shoff_huge, "section headers lie outside the file");
    expect_corruption(c_shnum, "section headers at offset");
    expect_corruption(c_shentsize, "section header size 40");
    expect_corruption(c_phnum, "program headers at offset");
    expect_corruption(c_shstrndx, "bad section name table index");
    expect_corruption(c_no_sections, "no section headers");
    expect_corruption(c_name, "name offset 2147483647 is outside the name table");
    expect_corruption(c_dynsym_size, "bad entry size or table size");
    expect_corruption(c_dynsym_entsize, "bad entry size or table size");
    expect_corruption(c_dynsym_offset, "lies outside the file");
    expect_corruption(c_dynsym_link, "bad string table link");
    expect_corruption(c_dynsym_link_self, "bad string table link");
    expect_corruption(c_symbol_name, "outside its string table");
    expect_corruption(c_strtab_unterminated, "outside its string table");
    expect_corruption(c_dynamic_entsize, "dynamic section: bad entry size");
    expect_corruption(c_needed, "library name outside the table");
    expect_corruption(c_ecall_record, "is not an ecall manifest");
    expect_corruption(c_ecall_size, "is not a multiple of 64");

    struct image im = load(FIXTURE_OK);
    for (size_t n = 0; n < sizeof(Elf64_Ehdr); n++) {
        struct tee_audit a;
        assert_int_equal(tee_audit_image(&a, im.data, n, NULL), -1);
    }
    free(im.data);
}

/* Random damage: the audit may succeed or fail, but never crash or read out of bounds. */
static void random_corruptions(void **state)
{
    const char *paths[] = {FIXTURE_OK, FIXTURE_SPAWN, "/bin/true"};
#ifdef __SANITIZE_ADDRESS__
    const int rounds = 1000;
#else
    const int rounds = 3000;
#endif
    srand(12345);
    size_t ok = 0, refused = 0;
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        struct image orig = load(paths[p]);
        Elf64_Ehdr *eh = ehdr(&orig);
        size_t sh_start = eh->e_shoff, sh_len = (size_t)eh->e_shnum * sizeof(Elf64_Shdr);
        for (int r = 0; r < rounds; r++) {
            uint8_t *copy = malloc(orig.len);
            memcpy(copy, orig.data, orig.len);
            int flips = 1 + rand() % 8;
            for (int f = 0; f < flips; f++) {
                size_t at;
                switch (rand() % 3) {
                case 0: at = (size_t)rand() % 64; break;                /* ELF header */
                case 1: at = sh_start + (size_t)rand() % sh_len; break; /* sections */
                default: at = (size_t)rand() % orig.len; break;         /* anywhere */
                }
                copy[at] = (uint8_t)rand();
            }
            size_t len = rand() % 4 == 0 ? (size_t)rand() % orig.len : orig.len;
            uint8_t *exact = malloc(len ? len : 1); /* exact size so ASan sees any overread */
            memcpy(exact, copy, len);
            struct tee_audit a;
            if (tee_audit_image(&a, exact, len, NULL) == 0) {
                ok++;
                tee_audit_free(&a);
            } else {
                refused++;
            }
            free(exact);
            free(copy);
        }
        free(orig.data);
    }
    assert_true(ok > 0 && refused > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_binaries),      cmocka_unit_test(fixture_ecalls_and_refusals),
        cmocka_unit_test(refusal_list),       cmocka_unit_test(targeted_corruptions),
        cmocka_unit_test(random_corruptions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
