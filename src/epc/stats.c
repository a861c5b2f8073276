/* stats.c -- the EPC counters outside the heap: the wire record that carries them from the
 * enclave to the host, and their text and JSON forms for `cloister enclave stats`. */
#include <cloister/epc.h>

#include <jansson.h>
#include <string.h>

#define STATS_MAGIC "CEPS"
#define STATS_VERSION 1

static const char *const pager_names[] = {"none", "userfaultfd", "sigsegv"};
enum { NPAGERS = sizeof pager_names / sizeof pager_names[0] };

static uint8_t pager_code(const char *name)
{
    for (uint8_t i = 0; i < NPAGERS; i++)
        if (name && strcmp(name, pager_names[i]) == 0)
            return i;
    return 0;
}

void epc_stats_encode(const struct epc_stats *s, struct wire_writer *w)
{
    wire_put_header(w, STATS_MAGIC, STATS_VERSION);
    wire_put_u8(w, pager_code(s->pager));
    wire_put_u8(w, s->unlimited ? 1 : 0);
    const uint64_t fields[] = {
        s->size,     s->budget_pages, s->resident_pages,  s->peak_resident_pages,
        s->faults,   s->evictions,    s->bytes_encrypted, s->bytes_decrypted,
        s->fault_ns, s->heap_in_use,  s->heap_peak};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        wire_put_varint(w, fields[i]);
}

int epc_stats_decode(struct epc_stats *out, const void *buf, size_t len, struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    wire_get_header(&r, STATS_MAGIC, STATS_VERSION);
    uint8_t pager = wire_get_u8(&r), unlimited = wire_get_u8(&r);
    if (wire_reader_ok(&r) && pager >= NPAGERS)
        wire_reader_fail(&r, "unknown pager");
    if (wire_reader_ok(&r) && unlimited > 1)
        wire_reader_fail(&r, "unlimited flag is not 0 or 1");
    struct epc_stats s = {.pager = pager_names[pager < NPAGERS ? pager : 0],
                          .unlimited = unlimited == 1};
    uint64_t *fields[] = {&s.size,     &s.budget_pages, &s.resident_pages,  &s.peak_resident_pages,
                          &s.faults,   &s.evictions,    &s.bytes_encrypted, &s.bytes_decrypted,
                          &s.fault_ns, &s.heap_in_use,  &s.heap_peak};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        *fields[i] = wire_get_varint(&r);
    if (wire_reader_finish(&r) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "EPC counters: %s", wire_reader_error(&r));
    *out = s;
    return 0;
}

void epc_stats_print(FILE *out, const struct epc_stats *s, const char *indent)
{
    char size[32], budget[32];
    epc_format_budget((size_t)s->size, size, sizeof size);
    epc_format_budget(s->unlimited ? EPC_BUDGET_UNLIMITED : (size_t)s->budget_pages * EPC_PAGE_SIZE,
                      budget, sizeof budget);
    fprintf(out, "%sEPC heap: %s, budget %s, pager %s\n", indent, size, budget, s->pager);
    fprintf(out, "%s  resident pages   %llu (peak %llu)\n", indent,
            (unsigned long long)s->resident_pages, (unsigned long long)s->peak_resident_pages);
    fprintf(out, "%s  faults           %llu", indent, (unsigned long long)s->faults);
    if (s->faults)
        fprintf(out, " (%.1f us each in the handler)",
                (double)s->fault_ns / (double)s->faults / 1e3);
    fprintf(out, "\n%s  evictions        %llu\n", indent, (unsigned long long)s->evictions);
    fprintf(out, "%s  bytes encrypted  %llu\n", indent, (unsigned long long)s->bytes_encrypted);
    fprintf(out, "%s  bytes decrypted  %llu\n", indent, (unsigned long long)s->bytes_decrypted);
    fprintf(out, "%s  heap in use      %llu bytes (peak %llu)\n", indent,
            (unsigned long long)s->heap_in_use, (unsigned long long)s->heap_peak);
}

struct json_t *epc_stats_json(const struct epc_stats *s)
{
    return json_pack(
        "{s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "pager", s->pager, "unlimited",
        s->unlimited, "size_bytes", (json_int_t)s->size, "budget_pages",
        (json_int_t)s->budget_pages, "resident_pages", (json_int_t)s->resident_pages,
        "peak_resident_pages", (json_int_t)s->peak_resident_pages, "faults", (json_int_t)s->faults,
        "evictions", (json_int_t)s->evictions, "bytes_encrypted", (json_int_t)s->bytes_encrypted,
        "bytes_decrypted", (json_int_t)s->bytes_decrypted, "fault_ns", (json_int_t)s->fault_ns,
        "heap_in_use", (json_int_t)s->heap_in_use, "heap_peak", (json_int_t)s->heap_peak);
}
