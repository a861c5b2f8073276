/* cmd_enclave_trust.c -- the identity and verification verbs of `cloister enclave`:
 *
 *   keygen    --out KEY [--force]                    a signer key (Ed25519 seed, 0600)
 *   sign      IMAGE --key KEY [--config FILE] [--epc MIB|unlimited] [--out SIG] [--force]
 *   info      IMAGE [--sig SIG]
 *   verify    EVIDENCE --ca CERT [--mrenclave H]... [--mrsigner H]... [--product-id N]
 *             [--min-svn N] [--allow-debug] [--allow-simulated] [--nonce HEX] [--user-data HEX]
 *   platform                                         the simulated platform and its CA
 *
 * `sign` audits the image first and prints everything it is about to vouch for (measurement,
 * signer, config, linked libraries, declared ecalls, every imported symbol); an image that
 * imports process-spawning or code-loading functions is refused unless --force is given. All
 * take --json. Formats are those of tee_trust.h; the signature file defaults to IMAGE.sig. */
#include <cloister/crypto.h>
#include <cloister/epc.h>
#include <cloister/tee_trust.h>

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_enclave.h"
#include "http/http.h"
#include "util/fileio.h"
#include "util/hex.h"

#define IMAGE_MAX (1u << 30)
#define SMALL_FILE_MAX (1u << 20)

/* ---- helpers ---- */

static const char *hex32(char out[2 * TEE_HASH_LEN + 1], const uint8_t *h)
{
    hex_encode(out, h, TEE_HASH_LEN);
    return out;
}

static const char *machine_name(uint16_t m)
{
    switch (m) {
    case EM_X86_64: return "x86-64";
    case EM_AARCH64: return "aarch64";
    case EM_RISCV: return "riscv64";
    default: return "unknown machine";
    }
}

static json_t *config_json(const struct tee_config *c)
{
    json_t *j = json_pack("{s:I,s:I,s:i,s:i,s:i,s:b}", "heap_size", (json_int_t)c->heap_size,
                          "epc_budget", (json_int_t)c->epc_budget, "threads", c->threads,
                          "product_id", c->product_id, "security_version", c->svn, "debug",
                          c->debug);
    if (c->epc_budget == TEE_EPC_UNLIMITED)
        json_object_set_new(j, "epc_budget", json_string("unlimited"));
    return j;
}

static json_t *strings_json(char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *audit_json(const struct tee_audit *a)
{
    json_t *ecalls = json_array();
    for (size_t i = 0; i < a->n_ecalls; i++)
        json_array_append_new(ecalls,
                              json_pack("{s:I,s:s}", "number", (json_int_t)a->ecalls[i].number,
                                        "name", a->ecalls[i].name));
    return json_pack("{s:s,s:b,s:b,s:b,s:o,s:o,s:o,s:o}", "machine", machine_name(a->machine),
                     "pie", a->pie, "dynamic", a->dynamic, "symbols", a->has_symtab, "needed",
                     strings_json(a->needed, a->n_needed), "ecalls", ecalls, "imports",
                     strings_json(a->imports, a->n_imports), "refused",
                     strings_json(a->refused, a->n_refused));
}

/* "  label      first line\n             next line..." */
static void print_field(const char *label, const char *text)
{
    printf("  %-10s ", label);
    for (const char *p = text; *p; p++) {
        putchar(*p);
        if (*p == '\n' && p[1])
            printf("  %-10s ", "");
    }
    if (!*text || text[strlen(text) - 1] != '\n')
        putchar('\n');
}

/* "label      N: a, b, c," wrapped under the label. */
static void print_words(const char *label, char **words, size_t n)
{
    printf("  %-10s %zu", label, n);
    size_t col = 16;
    for (size_t i = 0; i < n; i++) {
        size_t w = strlen(words[i]) + 2;
        if (i && col + w > 96) {
            printf(",\n  %-10s ", "");
            col = 13;
        } else {
            printf(i ? ", " : ": ");
        }
        fputs(words[i], stdout);
        col += w;
    }
    putchar('\n');
}

static void print_ecalls(const struct tee_audit *a)
{
    char(*text)[TEE_ECALL_NAME_MAX + 16] = calloc(a->n_ecalls + 1, sizeof *text);
    char **words = calloc(a->n_ecalls + 1, sizeof *words);
    size_t n = text && words ? a->n_ecalls : 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(text[i], sizeof text[i], "0x%04x %s", a->ecalls[i].number, a->ecalls[i].name);
        words[i] = text[i];
    }
    print_words("ecalls", words, n);
    free(words);
    free(text);
}

static void print_audit(const struct tee_audit *a)
{
    printf("  %-10s ELF64 %s, %s, %s\n", "format", machine_name(a->machine),
           a->pie ? "position-independent" : "fixed address",
           a->dynamic ? "dynamically linked" : "statically linked");
    print_words("needs", a->needed, a->n_needed);
    print_ecalls(a);
    print_words("imports", a->imports, a->n_imports);
    if (!a->n_refused)
        printf("  %-10s none (no process spawning or code loading imported)\n", "refusals");
    for (size_t i = 0; i < a->n_refused; i++)
        printf("  %-10s %s\n", i ? "" : "REFUSALS", a->refused[i]);
}

static void print_config(const struct tee_config *c)
{
    char text[512];
    tee_config_format(c, text, sizeof text);
    print_field("config", text);
}

static int audit_image(const char *path, const uint8_t *image, size_t len, struct tee_audit *a)
{
    struct cloister_err err = {0};
    if (tee_audit_image(a, image, len, &err))
        return cli_fail("%s: cannot audit the image: %s", path, err.msg);
    return 0;
}

/* ---- keygen ---- */

int cmd_enclave_keygen(int argc, char **argv)
{
    const char *out = NULL;
    bool force = false, json = false;
    const struct opt_def opts[] = {
        {"out", OPT_STRING, &out, "KEY", "signer key file to create (0600)", OPT_REQUIRED, 0, 0},
        {"force", OPT_FLAG, &force, NULL, "replace an existing key file", 0, 0, 0},
        {"json", OPT_FLAG, &json, NULL, "print the result as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "enclave keygen",
        "",
        "Create an enclave signer key (Ed25519); its hash is MRSIGNER.",
        opts,
        0,
        0,
        "An enclave signer key signs images (cloister enclave sign); verifiers trust an image by\n"
        "its signer's hash (--mrsigner) as SGX does. An existing key file is kept unless --force.",
        "cloister enclave keygen --out signer.key\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if (cli_hold_secrets() != CLI_OK)
        return CLI_FAIL;
    if (cli_check_new_secret(out, force) != CLI_OK)
        return CLI_FAIL;
    uint8_t pk[TEE_PUBKEY_LEN], mrsigner[TEE_HASH_LEN];
    struct cloister_err err = {0};
    if (tee_signer_keygen(out, pk, &err))
        return cli_fail("%s", err.msg);
    tee_mrsigner(mrsigner, pk);
    char h1[65], h2[65];
    if (json)
        return cli_json_print(json_pack("{s:s,s:s,s:s}", "key", out, "public_key", hex32(h1, pk),
                                        "mrsigner", hex32(h2, mrsigner)));
    printf("signer key %s\n  public key %s\n  MRSIGNER   %s\n", out, hex32(h1, pk),
           hex32(h2, mrsigner));
    return CLI_OK;
}

/* ---- sign ---- */

static int load_config(const char *path, struct tee_config *c)
{
    tee_config_default(c);
    if (!path)
        return 0;
    uint8_t *text;
    size_t len;
    if (cli_read_file(path, "the config", SMALL_FILE_MAX, &text, &len))
        return CLI_FAIL;
    struct cloister_err err = {0};
    int rc = tee_config_parse(c, (const char *)text, len, &err);
    free(text);
    return rc ? cli_fail("%s: %s", path, err.msg) : 0;
}

static int sign_loaded(const char *image_path, const uint8_t *image, size_t len,
                       const struct tee_audit *a, const char *key_path, const char *config_path,
                       const size_t *epc_budget, const char *out, bool force, bool json)
{
    struct tee_config c;
    uint8_t seed[TEE_SEED_LEN], pk[TEE_PUBKEY_LEN];
    struct cloister_err err = {0};
    if (load_config(config_path, &c))
        return CLI_FAIL;
    if (epc_budget) /* --epc overrides the config's epc_budget */
        c.epc_budget = *epc_budget == EPC_BUDGET_UNLIMITED ? TEE_EPC_UNLIMITED : *epc_budget;
    if (tee_signer_load(key_path, seed, pk, &err))
        return cli_fail("%s", err.msg);
    struct tee_sigstruct s;
    int rc = tee_sign(&s, image, len, &c, seed, NULL);
    crypto_wipe(seed, sizeof seed);
    if (rc)
        return cli_fail("%s: signing failed", image_path);
    uint8_t mrsigner[TEE_HASH_LEN];
    tee_mrsigner(mrsigner, pk);
    char h1[65], h2[65];
    if (!json) {
        printf("Vouching for enclave image %s (%zu bytes):\n", image_path, len);
        printf("  %-10s %s\n  %-10s %s\n", "MRENCLAVE", hex32(h1, s.mrenclave), "MRSIGNER",
               hex32(h2, mrsigner));
        print_config(&c);
        print_audit(a);
    }
    if (tee_audit_refused(a) && !force)
        return cli_fail("%s: refusing to sign: %s%s (review the image; --force signs anyway)",
                        image_path, a->refused[0], a->n_refused > 1 ? ", and more" : "");
    uint8_t *sig;
    size_t siglen;
    if (tee_sigstruct_encode(&s, &sig, &siglen, NULL))
        return cli_fail("%s: encoding the signature file failed", image_path);
    rc = cli_write_file(out, "the signature file", sig, siglen, 0644);
    free(sig);
    if (rc)
        return rc;
    if (json)
        return cli_json_print(json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:b}", "image", image_path,
                                        "signature", out, "mrenclave", hex32(h1, s.mrenclave),
                                        "mrsigner", hex32(h2, mrsigner), "config", config_json(&c),
                                        "audit", audit_json(a), "forced", tee_audit_refused(a)));
    printf("%ssigned: %s\n", tee_audit_refused(a) ? "FORCED despite the refusals above, " : "",
           out);
    return CLI_OK;
}

int cmd_enclave_sign(int argc, char **argv)
{
    const char *key = NULL, *config = NULL, *out = NULL, *epc = NULL;
    bool force = false, json = false;
    const struct opt_def opts[] = {
        {"key", OPT_STRING, &key, "KEY", "signer key (from 'cloister enclave keygen')",
         OPT_REQUIRED, 0, 0},
        {"config", OPT_STRING, &config, "FILE",
         "enclave config (key = value lines; default: "
         "the defaults)",
         0, 0, 0},
        {"epc", OPT_STRING, &epc, "MIB",
         "EPC budget in MiB, or 'unlimited' (default 93.5, "
         "SGX1's usable EPC; overrides the config)",
         0, 0, 0},
        {"out", OPT_STRING, &out, "SIG", "signature file (default IMAGE.sig)", 0, 0, 0},
        {"force", OPT_FLAG, &force, NULL, "sign even if the audit refuses the image", 0, 0, 0},
        {"json", OPT_FLAG, &json, NULL, "print the result as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "enclave sign",
        "IMAGE",
        "Audit an enclave image, show what is vouched for, and sign it.",
        opts,
        1,
        1,
        "Reads the image (ELF), prints its MRENCLAVE, config, libraries, ecalls and every import\n"
        "(refusing dangerous ones unless --force), then writes IMAGE.sig. IMAGE is a path or the "
        "name\n"
        "of an installed image (hello).",
        "cloister enclave sign hello --key signer.key --out hello.sig\n"
        "cloister enclave sign app.enclave --key signer.key --epc 32\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if (cli_hold_secrets() != CLI_OK)
        return CLI_FAIL;
    size_t epc_budget;
    if (epc && epc_parse_budget(epc, &epc_budget) != 0) {
        fprintf(stderr,
                "cloister enclave sign: --epc expects a budget in MiB (at least 0.0625) "
                "or 'unlimited', got '%s'\n",
                epc);
        return CLI_USAGE;
    }
    const char *image_path;
    char found[4096], default_out[4096];
    if (cmd_enclave_image(argv[0], found, sizeof found, &image_path) != CLI_OK)
        return CLI_FAIL;
    if (!out) {
        if (snprintf(default_out, sizeof default_out, "%s.sig", image_path) >=
            (int)sizeof default_out)
            return cli_fail("%s: path too long", image_path);
        out = default_out;
    }
    uint8_t *image;
    size_t len;
    if (cli_read_file(image_path, "the image", IMAGE_MAX, &image, &len))
        return CLI_FAIL;
    struct tee_audit a;
    rc = audit_image(image_path, image, len, &a);
    if (rc == 0) {
        rc = sign_loaded(image_path, image, len, &a, key, config, epc ? &epc_budget : NULL, out,
                         force, json);
        tee_audit_free(&a);
    }
    free(image);
    return rc;
}

/* ---- info ---- */

int cmd_enclave_info(int argc, char **argv)
{
    const char *sig_path = NULL;
    bool json = false;
    const struct opt_def opts[] = {
        {"sig", OPT_STRING, &sig_path, "SIG", "signature file (default IMAGE.sig)", 0, 0, 0},
        {"json", OPT_FLAG, &json, NULL, "print the result as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "enclave info",
        "IMAGE",
        "Show an enclave image's identity (when signed) and its audit.",
        opts,
        1,
        1,
        "Shows MRENCLAVE, MRSIGNER and the config vouched for by the signature, and the audit of\n"
        "the image, without launching it.",
        "cloister enclave info hello --sig hello.sig\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    const char *image_path;
    char found[4096], default_sig[4096];
    if (cmd_enclave_image(argv[0], found, sizeof found, &image_path) != CLI_OK)
        return CLI_FAIL;
    bool explicit_sig = sig_path != NULL;
    if (!sig_path) {
        if (snprintf(default_sig, sizeof default_sig, "%s.sig", image_path) >=
            (int)sizeof default_sig)
            return cli_fail("%s: path too long", image_path);
        sig_path = default_sig;
    }
    uint8_t *image, *sig = NULL;
    size_t len, siglen = 0;
    if (cli_read_file(image_path, "the image", IMAGE_MAX, &image, &len))
        return CLI_FAIL;
    struct tee_audit a;
    if (audit_image(image_path, image, len, &a)) {
        free(image);
        return CLI_FAIL;
    }
    /* A missing default signature file means "unsigned"; any other problem is an error. */
    bool signed_image = file_read_all(sig_path, SMALL_FILE_MAX, &sig, &siglen) == 0;
    if (!signed_image && (explicit_sig || errno != ENOENT))
        rc = cli_fail("%s: cannot read the signature file: %s", sig_path, strerror(errno));
    struct tee_identity id;
    struct cloister_err err = {0};
    if (!rc && signed_image && tee_image_verify(&id, image, len, sig, siglen, &err))
        rc = cli_fail("%s: %s", image_path, err.msg);
    char h1[65], h2[65], h3[65];
    if (!rc && json) {
        json_t *j = json_pack("{s:s,s:I,s:o}", "image", image_path, "size", (json_int_t)len,
                              "audit", audit_json(&a));
        if (signed_image)
            json_object_set_new(
                j, "identity",
                json_pack("{s:s,s:s,s:s,s:s,s:o}", "signature", sig_path, "mrenclave",
                          hex32(h1, id.mrenclave), "mrsigner", hex32(h2, id.mrsigner), "signer_key",
                          hex32(h3, id.signer_key), "config", config_json(&id.config)));
        rc = cli_json_print(j);
    } else if (!rc) {
        printf("Enclave image %s (%zu bytes):\n", image_path, len);
        if (signed_image) {
            printf("  %-10s %s (valid)\n  %-10s %s\n  %-10s %s\n", "signature", sig_path,
                   "MRENCLAVE", hex32(h1, id.mrenclave), "MRSIGNER", hex32(h2, id.mrsigner));
            print_config(&id.config);
        } else {
            printf("  %-10s none (%s not found): no identity yet\n", "signature", sig_path);
        }
        print_audit(&a);
    }
    free(sig);
    free(image);
    tee_audit_free(&a);
    return rc;
}

/* ---- verify ---- */

static json_t *claims_json(const struct tee_claims *c)
{
    char attrs[24];
    snprintf(attrs, sizeof attrs, "0x%016llx", (unsigned long long)c->attributes);
    return json_pack(
        "{s:b,s:s,s:o,s:o,s:i,s:i,s:s,s:b,s:b,s:o,s:o}", "accepted", 1, "format",
        tee_evidence_format_name(c->format), "mrenclave", http_json_hex(c->mrenclave, TEE_HASH_LEN),
        "mrsigner", http_json_hex(c->mrsigner, TEE_HASH_LEN), "product_id", c->product_id,
        "security_version", c->svn, "attributes", attrs, "debug", c->debug, "simulated",
        c->simulated, "report_data", http_json_hex(c->report_data, TEE_REPORT_DATA_LEN),
        "platform_key", http_json_hex(c->platform_key, TEE_PUBKEY_LEN));
}

static void print_claims(const char *path, const struct tee_claims *c)
{
    char h[2 * TEE_REPORT_DATA_LEN + 1];
    printf("evidence %s accepted (%s%s%s)\n", path, tee_evidence_format_name(c->format),
           c->simulated ? ", SIMULATED: no hardware protection" : "",
           c->debug ? ", DEBUG enclave" : "");
    printf("  %-12s %s\n", "MRENCLAVE", hex32(h, c->mrenclave));
    printf("  %-12s %s\n", "MRSIGNER", hex32(h, c->mrsigner));
    printf("  %-12s %u\n  %-12s %u\n", "product id", c->product_id, "svn", c->svn);
    printf("  %-12s 0x%016llx\n", "attributes", (unsigned long long)c->attributes);
    hex_encode(h, c->report_data, TEE_REPORT_DATA_LEN);
    printf("  %-12s %s\n", "report data", h);
    printf("  %-12s %s\n", "platform key", hex32(h, c->platform_key));
}

int cmd_enclave_verify(int argc, char **argv)
{
    const char *ca = NULL, *nonce_hex = NULL, *data_hex = NULL;
    struct opt_list mre = {0}, mrs = {0};
    long long product = -1, min_svn = 0;
    bool debug = false, simulated = false, json = false;
    const struct opt_def opts[] = {
        {"ca", OPT_STRING, &ca, "CERT", "trusted platform CA certificate (PEM or DER)",
         OPT_REQUIRED, 0, 0},
        {"mrenclave", OPT_LIST, &mre, "H", "allowed MRENCLAVE (64 hex digits)", 0, 0, 0},
        {"mrsigner", OPT_LIST, &mrs, "H", "allowed MRSIGNER (64 hex digits)", 0, 0, 0},
        {"product-id", OPT_INT, &product, "N", "required product id", 0, 0, 65535},
        {"min-svn", OPT_INT, &min_svn, "N", "minimum security version", 0, 0, 65535},
        {"allow-debug", OPT_FLAG, &debug, NULL, "accept debug enclaves", 0, 0, 0},
        {"allow-simulated", OPT_FLAG, &simulated, NULL,
         "accept simulated evidence (no hardware protection)", 0, 0, 0},
        {"nonce", OPT_STRING, &nonce_hex, "HEX", "freshness nonce the evidence must bind", 0, 0, 0},
        {"user-data", OPT_STRING, &data_hex, "HEX",
         "data bound with the nonce (report data = SHA-512(data || nonce))", 0, 0, 0},
        {"json", OPT_FLAG, &json, NULL, "print the claims as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "enclave verify",
        "EVIDENCE",
        "Verify enclave evidence against a trusted CA and a policy.",
        opts,
        1,
        1,
        "Checks the evidence's certificate chain against --ca (from cloister enclave platform),\n"
        "its freshness and the policy (identity, product, version, debug). Exits 1 when refused.",
        "cloister enclave verify hello.evidence --ca ca.pem --mrsigner $MRSIGNER --allow-simulated "
        "--nonce 00112233\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    const char *path = argv[0];
    uint8_t mrenclave[OPT_LIST_MAX][TEE_HASH_LEN], mrsigner[OPT_LIST_MAX][TEE_HASH_LEN];
    uint8_t nonce[64], data[256], rd[TEE_REPORT_DATA_LEN];
    size_t nonce_len, data_len;
    if (cli_parse_hashes("mrenclave", &mre, mrenclave) ||
        cli_parse_hashes("mrsigner", &mrs, mrsigner) ||
        cli_parse_hex("nonce", nonce_hex, nonce, sizeof nonce, &nonce_len) ||
        cli_parse_hex("user-data", data_hex, data, sizeof data, &data_len))
        return CLI_USAGE;
    if (data_hex && !nonce_hex) {
        cli_fail("--user-data needs --nonce");
        return CLI_USAGE;
    }
    struct tee_policy p;
    tee_policy_default(&p);
    p.mrenclave = (const uint8_t(*)[TEE_HASH_LEN])mrenclave;
    p.n_mrenclave = (size_t)mre.n;
    p.mrsigner = (const uint8_t(*)[TEE_HASH_LEN])mrsigner;
    p.n_mrsigner = (size_t)mrs.n;
    p.allow_any_identity = !mre.n && !mrs.n;
    p.product_id = (int32_t)product;
    p.min_svn = (uint16_t)min_svn;
    p.allow_debug = debug;
    p.allow_simulated = simulated;
    if (nonce_hex) {
        tee_bind_report_data(rd, data, data_len, nonce, nonce_len);
        p.report_data = rd;
    }
    if (p.allow_any_identity && !json)
        fprintf(stderr, "note: no --mrenclave or --mrsigner given: any enclave identity is "
                        "accepted\n");
    if (!nonce_hex)
        fprintf(stderr, "warning: no --nonce given: nothing shows this evidence is fresh (it may "
                        "be a replay of an old one)\n");
    uint8_t *ev;
    size_t len;
    if (cli_read_file(path, "the evidence", SMALL_FILE_MAX, &ev, &len))
        return CLI_FAIL;
    struct cloister_err err = {0};
    tee_verifier *v = tee_verifier_new_file(ca, &err);
    if (!v) {
        free(ev);
        return cli_fail("%s", err.msg);
    }
    struct tee_claims c;
    rc = tee_verify_evidence(v, ev, len, &p, &c, &err);
    tee_verifier_free(v);
    free(ev);
    if (rc && json)
        cli_json_print(json_pack("{s:b,s:s}", "accepted", 0, "error", err.msg));
    if (rc)
        return cli_fail("%s: refused: %s", path, err.msg);
    if (json)
        return cli_json_print(claims_json(&c));
    print_claims(path, &c);
    return CLI_OK;
}

/* ---- platform ---- */

int cmd_enclave_platform(int argc, char **argv)
{
    bool json = false;
    const struct opt_def opts[] = {
        {"json", OPT_FLAG, &json, NULL, "print the result as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "enclave platform",
        "",
        "Show the simulated platform (created on first use under "
        "$CLOISTER_HOME) and its CA certificate.",
        opts,
        0,
        0,
        "The simulated platform is a CA key kept under $CLOISTER_HOME/platform (default\n"
        "~/.local/share/cloister): it signs evidence. Hand its certificate to verifiers (--ca).",
        "cloister enclave platform\n"
        "CLOISTER_HOME=/tmp/try cloister enclave platform --json\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct cloister_err err = {0};
    tee_platform *p = tee_platform_open(NULL, &err);
    if (!p)
        return cli_fail("%s", err.msg);
    uint8_t pk[TEE_PUBKEY_LEN];
    tee_platform_attestation_key(p, pk);
    char h[65];
    if (json)
        rc = cli_json_print(json_pack("{s:s,s:s,s:b}", "ca", tee_platform_ca_path(p),
                                      "attestation_key", hex32(h, pk), "simulated", 1));
    else
        printf("simulated platform (SIMULATED: keys are files of this user, not CPU fuses)\n"
               "  %-16s %s\n  %-16s %s\n",
               "CA certificate", tee_platform_ca_path(p), "attestation key", hex32(h, pk));
    tee_platform_free(p);
    return rc;
}
