/* evidence.c -- the evidence envelope {format, evidence, endorsements} (RATS: one format id per
 * kind of evidence). Decoding only checks the envelope; what a format's evidence means is the
 * verifier's business, so a new format (sgx-dcap, tdx, snp) is a new name here and a new
 * checker there. */
#include "tee/common/common.h"

#include <string.h>

#define EVIDENCE_MAX (64 * 1024)
#define ENDORSEMENT_MAX (16 * 1024)

static const char *const format_names[] = {
    [TEE_EVIDENCE_SIM_V1] = "cloister-sim-v1",
    [TEE_EVIDENCE_SGX_DCAP] = "sgx-dcap",
    [TEE_EVIDENCE_TDX] = "tdx",
    [TEE_EVIDENCE_SNP] = "snp",
};
#define NFORMATS (sizeof format_names / sizeof format_names[0])

const char *tee_evidence_format_name(enum tee_evidence_format f)
{
    return (size_t)f < NFORMATS && format_names[f] ? format_names[f] : "unknown";
}

void tee_evidence_put_head(struct wire_writer *w, enum tee_evidence_format f,
                           const uint8_t *evidence, size_t len)
{
    wire_put_header(w, "CLEV", 1);
    wire_put_str(w, tee_evidence_format_name(f));
    wire_put_bytes(w, evidence, len);
}

void tee_evidence_put_endorsements(struct wire_writer *w, const uint8_t *const *ders,
                                   const size_t *lens, size_t n)
{
    wire_put_varint(w, n);
    for (size_t i = 0; i < n; i++)
        wire_put_bytes(w, ders[i], lens[i]);
}

int tee_evidence_decode(struct tee_evidence_view *v, const void *buf, size_t len,
                        struct cloister_err *err)
{
    memset(v, 0, sizeof *v);
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    char name[TEE_FORMAT_NAME_MAX];
    wire_get_header(&r, "CLEV", 1);
    wire_get_str(&r, name, sizeof name);
    v->evidence = wire_get_bytes(&r, EVIDENCE_MAX, &v->evidence_len);
    v->n_endorsements = wire_get_count(&r, 1, TEE_ENDORSEMENTS_MAX);
    for (size_t i = 0; i < v->n_endorsements; i++)
        v->endorsements[i] = wire_get_bytes(&r, ENDORSEMENT_MAX, &v->endorsement_lens[i]);
    if (tee_wire_finish(&r, "evidence is malformed", err)) {
        memset(v, 0, sizeof *v);
        return -1;
    }
    for (size_t f = 1; f < NFORMATS; f++)
        if (strcmp(name, format_names[f]) == 0)
            v->format = (enum tee_evidence_format)f;
    if (!v->format)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "unknown evidence format '%s' (known: cloister-sim-v1, sgx-dcap, "
                             "tdx, snp)",
                             name);
    return 0;
}
