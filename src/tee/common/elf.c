/* elf.c -- see elf.h. One helper, range(), decides whether [off, off+size) lies inside the
 * buffer; every other function reaches the file's bytes only through ranges it approved. */
#include "tee/common/elf.h"

#include <string.h>

#include "tee/common/common.h"

/* True when [off, off + count * size) lies inside the file. */
static bool range(const struct elf_file *f, uint64_t off, uint64_t count, uint64_t size)
{
    if (off > f->len)
        return false;
    return size == 0 || count <= (f->len - off) / size;
}

const char *elf_string(const uint8_t *tab, size_t size, uint64_t off)
{
    if (!tab || off >= size)
        return NULL;
    return memchr(tab + off, 0, size - off) ? (const char *)tab + off : NULL;
}

static int read_shdr(const struct elf_file *f, size_t index, Elf64_Shdr *sh,
                     struct cloister_err *err)
{
    if (index >= f->shnum)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "ELF: section index %zu out of range (%zu sections)", index, f->shnum);
    memcpy(sh, f->buf + f->eh.e_shoff + index * sizeof *sh, sizeof *sh);
    return 0;
}

static int section_data(const struct elf_file *f, const Elf64_Shdr *sh, size_t index,
                        const uint8_t **data, size_t *size, struct cloister_err *err)
{
    *data = NULL;
    *size = 0;
    if (sh->sh_type == SHT_NOBITS || sh->sh_type == SHT_NULL)
        return 0;
    if (!range(f, sh->sh_offset, 1, sh->sh_size))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "ELF: section %zu: data [%llu, +%llu) lies outside the file", index,
                             (unsigned long long)sh->sh_offset, (unsigned long long)sh->sh_size);
    *data = f->buf + sh->sh_offset;
    *size = (size_t)sh->sh_size;
    return 0;
}

int elf_open(struct elf_file *f, const void *buf, size_t len, struct cloister_err *err)
{
    memset(f, 0, sizeof *f);
    f->buf = buf;
    f->len = len;
    Elf64_Ehdr *eh = &f->eh;
    if (len < sizeof *eh || memcmp(buf, ELFMAG, SELFMAG) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "not an ELF file");
    memcpy(eh, buf, sizeof *eh);
    if (eh->e_ident[EI_CLASS] != ELFCLASS64)
        return cloister_errf(err, CLOISTER_E_INVALID, "ELF: only 64-bit images are supported");
    if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "ELF: only little-endian images are supported");
    if (eh->e_ident[EI_VERSION] != EV_CURRENT)
        return cloister_errf(err, CLOISTER_E_INVALID, "ELF: unknown version %u",
                             eh->e_ident[EI_VERSION]);
    if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
        return cloister_errf(err, CLOISTER_E_INVALID, "ELF: not an executable (type %u)",
                             eh->e_type);
    if (eh->e_shoff == 0)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "ELF: no section headers, the image cannot be audited");
    if (eh->e_shentsize != sizeof(Elf64_Shdr))
        return cloister_errf(err, CLOISTER_E_INVALID, "ELF: section header size %u, expected %zu",
                             eh->e_shentsize, sizeof(Elf64_Shdr));
    if (!range(f, eh->e_shoff, 1, sizeof(Elf64_Shdr)))
        return cloister_errf(err, CLOISTER_E_INVALID, "ELF: section headers lie outside the file");
    /* Extended numbering: counts that do not fit 16 bits live in section 0. */
    Elf64_Shdr sh0;
    memcpy(&sh0, f->buf + eh->e_shoff, sizeof sh0);
    uint64_t shnum = eh->e_shnum ? eh->e_shnum : sh0.sh_size;
    uint64_t shstrndx = eh->e_shstrndx == SHN_XINDEX ? sh0.sh_link : eh->e_shstrndx;
    uint64_t phnum = eh->e_phnum == PN_XNUM ? sh0.sh_info : eh->e_phnum;
    if (!range(f, eh->e_shoff, shnum, sizeof(Elf64_Shdr)))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "ELF: %llu section headers at offset %llu lie outside the file",
                             (unsigned long long)shnum, (unsigned long long)eh->e_shoff);
    if (phnum && eh->e_phentsize != sizeof(Elf64_Phdr))
        return cloister_errf(err, CLOISTER_E_INVALID, "ELF: program header size %u, expected %zu",
                             eh->e_phentsize, sizeof(Elf64_Phdr));
    if (phnum && !range(f, eh->e_phoff, phnum, sizeof(Elf64_Phdr)))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "ELF: %llu program headers at offset %llu lie outside the file",
                             (unsigned long long)phnum, (unsigned long long)eh->e_phoff);
    f->shnum = (size_t)shnum;
    f->phnum = (size_t)phnum;
    Elf64_Shdr strsh;
    if (shstrndx == SHN_UNDEF || read_shdr(f, (size_t)shstrndx, &strsh, NULL))
        return cloister_errf(err, CLOISTER_E_INVALID, "ELF: bad section name table index %llu",
                             (unsigned long long)shstrndx);
    if (strsh.sh_type != SHT_STRTAB)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "ELF: section name table is not a string table");
    return section_data(f, &strsh, (size_t)shstrndx, &f->shstrtab, &f->shstrtab_size, err);
}

int elf_section(const struct elf_file *f, size_t index, struct elf_section *s,
                struct cloister_err *err)
{
    memset(s, 0, sizeof *s);
    if (read_shdr(f, index, &s->hdr, err))
        return -1;
    s->index = index;
    s->name = elf_string(f->shstrtab, f->shstrtab_size, s->hdr.sh_name);
    if (!s->name)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "ELF: section %zu: name offset %u is outside the name table", index,
                             s->hdr.sh_name);
    return section_data(f, &s->hdr, index, &s->data, &s->size, err);
}

int elf_segment(const struct elf_file *f, size_t index, Elf64_Phdr *ph, struct cloister_err *err)
{
    if (index >= f->phnum)
        return cloister_errf(err, CLOISTER_E_INVALID, "ELF: program header %zu out of range",
                             index);
    memcpy(ph, f->buf + f->eh.e_phoff + index * sizeof *ph, sizeof *ph);
    return 0;
}

int elf_linked_strtab(const struct elf_file *f, const struct elf_section *s, const uint8_t **tab,
                      size_t *size, struct cloister_err *err)
{
    struct elf_section str;
    if (s->hdr.sh_link == s->index || elf_section(f, s->hdr.sh_link, &str, err))
        return cloister_errf(err, CLOISTER_E_INVALID, "ELF: section '%s': bad string table link %u",
                             s->name, s->hdr.sh_link);
    if (str.hdr.sh_type != SHT_STRTAB || !str.data)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "ELF: section '%s': linked section %u is not a string table", s->name,
                             s->hdr.sh_link);
    *tab = str.data;
    *size = str.size;
    return 0;
}

int elf_symtab_open(const struct elf_file *f, const struct elf_section *s, struct elf_symtab *t,
                    struct cloister_err *err)
{
    memset(t, 0, sizeof *t);
    if (!s->data || s->hdr.sh_entsize != sizeof(Elf64_Sym) || s->size % sizeof(Elf64_Sym))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "ELF: symbol table '%s': bad entry size or table size", s->name);
    if (elf_linked_strtab(f, s, &t->strtab, &t->strtab_size, err))
        return -1;
    t->syms = s->data;
    t->count = s->size / sizeof(Elf64_Sym);
    return 0;
}

int elf_symbol(const struct elf_symtab *t, size_t index, Elf64_Sym *sym, const char **name,
               struct cloister_err *err)
{
    if (index >= t->count)
        return cloister_errf(err, CLOISTER_E_INVALID, "ELF: symbol %zu out of range", index);
    memcpy(sym, t->syms + index * sizeof *sym, sizeof *sym);
    *name = elf_string(t->strtab, t->strtab_size, sym->st_name);
    if (!*name)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "ELF: symbol %zu: name offset %u is outside its string table", index,
                             sym->st_name);
    return 0;
}
