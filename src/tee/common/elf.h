/* elf.h -- a bounds-checked reader of ELF64 little-endian files, for the image audit.
 *
 * Nothing in the file is trusted: every header is copied out with memcpy (the buffer may be
 * unaligned), every offset and size is checked against the buffer before use (without
 * overflow), every table's entry size is checked, and every string must end inside its table.
 * Functions return 0 or -1 with a message naming the section or entry at fault. */
#ifndef CLOISTER_TEE_ELF_H
#define CLOISTER_TEE_ELF_H

#include <cloister/error.h>

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file {
    const uint8_t *buf;
    size_t len;
    Elf64_Ehdr eh;
    size_t shnum, phnum;
    const uint8_t *shstrtab; /* section names */
    size_t shstrtab_size;
};

struct elf_section {
    Elf64_Shdr hdr;
    size_t index;
    const char *name;
    const uint8_t *data; /* NULL for SHT_NOBITS */
    size_t size;
};

struct elf_symtab {
    const uint8_t *syms;
    size_t count;
    const uint8_t *strtab;
    size_t strtab_size;
};

int elf_open(struct elf_file *f, const void *buf, size_t len, struct cloister_err *err);
int elf_section(const struct elf_file *f, size_t index, struct elf_section *s,
                struct cloister_err *err);
int elf_segment(const struct elf_file *f, size_t index, Elf64_Phdr *ph, struct cloister_err *err);
/* A section's linked string table (sh_link), checked to be SHT_STRTAB. */
int elf_linked_strtab(const struct elf_file *f, const struct elf_section *s, const uint8_t **tab,
                      size_t *size, struct cloister_err *err);
/* For a SHT_SYMTAB or SHT_DYNSYM section. */
int elf_symtab_open(const struct elf_file *f, const struct elf_section *s, struct elf_symtab *t,
                    struct cloister_err *err);
int elf_symbol(const struct elf_symtab *t, size_t index, Elf64_Sym *sym, const char **name,
               struct cloister_err *err);
/* The NUL-terminated string at off in a string table, or NULL if it does not end inside. */
const char *elf_string(const uint8_t *tab, size_t size, uint64_t off);

#endif
