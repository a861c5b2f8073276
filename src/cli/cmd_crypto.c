/* cmd_crypto.c -- `cloister crypto`: the crypto self-test, and HPKE (RFC 9180) on files.
 *
 *   selftest      known-answer tests of every primitive of crypto.h
 *   hpke-keygen   --out-secret F --out-public F [--format text|binary]
 *   hpke-seal     --public F [--aead A] [--info S] [--aad S] [--auth-secret F] [--in F] [--out F]
 *   hpke-open     --secret F [--sender-public F] [--info S] [--aad S] [--in F] [--out F]
 *
 * The suite is DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and the AEAD given to hpke-seal. Keys and
 * sealed messages are versioned wire.h records (defined in src/crypto/hpke_wire.h; integers
 * big-endian, "bytes" = varint length + bytes):
 *
 *   public key     "CHPK" v1   u16 kem_id | bytes public_key
 *                  or, by default, the text "cloister-hpke1..." (Bech32 of the 32 bytes, one
 *                  line: util/bech32.h); readers take either
 *   secret key     "CHSK" v1   u16 kem_id | bytes secret_key | bytes public_key
 *   sealed message "CHPM" v1   u16 kem_id | u16 kdf_id | u16 aead_id | u8 mode | bytes enc |
 *                              bytes ciphertext
 *
 * mode is 0 (base) or 2 (auth: sealed with --auth-secret, opened with --sender-public). The info
 * and AAD strings are not stored; both sides pass the same ones. Secret keys and plaintexts are
 * written 0600, atomically; "-" means stdin or stdout, and status lines go to stderr so that
 * stdout carries only data. A file that does not decode is refused
 * with one line naming the file, the field and its offset. The demo step is in
 * cmd_crypto_demo.c. */
#include <cloister/crypto.h>
#include <cloister/hpke.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "crypto/hpke_wire.h"
#include "util/bech32.h"
#include "util/hex.h"

#define CRYPTO_CLI_MAX_INPUT (256u << 20)
#define KEY_FILE_MAX 4096

/* ---- keys ---- */

static int load_secret(const char *path, uint8_t sk[HPKE_SECRET_LEN], uint8_t pk[HPKE_PUBLIC_LEN])
{
    uint8_t *data;
    size_t len;
    const char *err;
    if (cli_read_secret(path, "the secret key", KEY_FILE_MAX, &data, &len) != CLI_OK)
        return CLI_FAIL;
    int rc = hpke_wire_get_secret(sk, pk, data, len, &err);
    crypto_wipe(data, len);
    free(data);
    return rc == 0 ? 0 : cli_fail("%s: not an HPKE secret key file: %s", path, err);
}

/* ---- verbs ---- */

static int cmd_selftest(int argc, char **argv)
{
    bool json = false;
    const struct opt_def opts[] = {
        {"json", OPT_FLAG, &json, NULL, "print the result as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "crypto selftest",
        "",
        "Run the known-answer tests of every crypto primitive.",
        opts,
        0,
        0,
        "Checks SHA-256/512, HMAC, HKDF, AES-GCM, ChaCha20-Poly1305, X25519 and Ed25519\n"
        "against published test vectors, and that getrandom works. Exits 1 if any differs.",
        "cloister crypto selftest\n"
        "cloister crypto selftest --json\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    const char *what = NULL;
    int failed = crypto_selftest(&what);
    if (json) {
        json_t *j = json_pack("{s:b}", "ok", !failed);
        if (failed)
            json_object_set_new(j, "failed", json_string(what));
        cli_json_print(j);
    } else if (!failed) {
        printf("crypto self-test: ok (SHA-256/512, HMAC, HKDF, AES-GCM, ChaCha20-Poly1305, "
               "X25519, Ed25519, getrandom)\n");
    }
    return failed ? cli_fail("crypto self-test failed: %s", what) : CLI_OK;
}

static int cmd_keygen(int argc, char **argv)
{
    const char *secret_path = NULL, *public_path = NULL;
    bool json = false, force = false;
    struct opt_choice format = {cli_key_formats, CLI_KEY_TEXT};
    const struct opt_def opts[] = {
        {"out-secret", OPT_STRING, &secret_path, "FILE", "secret key file (written 0600)",
         OPT_REQUIRED, 0, 0},
        {"force", OPT_FLAG, &force, NULL, "replace an existing secret key file", 0, 0, 0},
        {"out-public", OPT_STRING, &public_path, "FILE", "public key file", OPT_REQUIRED, 0, 0},
        {"format", OPT_CHOICE, &format, "F", "the public key file's form", 0, 0, 0},
        {"json", OPT_FLAG, &json, NULL, "print the public key as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "crypto hpke-keygen",
        "",
        "Create an HPKE key pair (DHKEM(X25519, HKDF-SHA256)).",
        opts,
        0,
        0,
        "Writes the secret key (0600; an existing one is kept unless --force) and the public key.\n"
        "The public key is text by default (cloister-hpke1..., bech32 like age's keys) so that it\n"
        "survives copy and paste; every verb that reads one also accepts the 32 raw bytes.",
        "cloister crypto hpke-keygen --out-secret me.sk --out-public me.pub\n"
        "cloister crypto hpke-keygen --out-secret me.sk --out-public - --json\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if (cli_hold_secrets() != CLI_OK)
        return CLI_FAIL;
    if (strcmp(secret_path, "-") == 0 && strcmp(public_path, "-") == 0)
        return cli_fail("--out-secret and --out-public cannot both be stdout");
    if (cli_check_new_secret(secret_path, force) != CLI_OK)
        return CLI_FAIL;

    uint8_t pk[HPKE_PUBLIC_LEN], sk[HPKE_SECRET_LEN];
    struct wire_writer sec, pub;
    wire_writer_init(&sec);
    wire_writer_init(&pub);
    rc = hpke_keypair(pk, sk) == 0 ? CLI_OK : cli_fail("cannot generate a key pair");
    if (rc == CLI_OK) {
        hpke_wire_put_secret(&sec, sk, pk);
        hpke_wire_put_public(&pub, pk);
        if (!wire_writer_ok(&sec) || !wire_writer_ok(&pub))
            rc = cli_fail("out of memory");
    }
    if (rc == CLI_OK)
        rc = cli_write_file(secret_path, "the secret key", sec.buf, sec.len, 0600);
    if (rc == CLI_OK && format.index == CLI_KEY_TEXT)
        rc = cli_write_key(public_path, "the public key", CLI_KEY_TEXT, BECH32_HRP_HPKE_PUBLIC, pk,
                           sizeof pk, 0644);
    else if (rc == CLI_OK)
        rc = cli_write_file(public_path, "the public key", pub.buf, pub.len, 0644);
    crypto_wipe(sk, sizeof sk);
    wire_writer_free(&sec);
    wire_writer_free(&pub);
    if (rc != CLI_OK)
        return rc;

    char hex[2 * HPKE_PUBLIC_LEN + 1], text[128];
    hex_encode(hex, pk, sizeof pk);
    bech32_key_encode(text, sizeof text, BECH32_HRP_HPKE_PUBLIC, pk, sizeof pk);
    text[strcspn(text, "\n")] = '\0';
    bool stdout_used = strcmp(secret_path, "-") == 0 || strcmp(public_path, "-") == 0;
    if (json && !stdout_used)
        return cli_json_print(
            json_pack("{s:s,s:i,s:s,s:s,s:s,s:s}", "kem", "DHKEM(X25519, HKDF-SHA256)", "kem_id",
                      HPKE_KEM_X25519_HKDF_SHA256, "public_key", hex, "public_key_text", text,
                      "secret_file", secret_path, "public_file", public_path));
    fprintf(stderr, "wrote %s (secret, 0600) and %s; public key %s\n", secret_path, public_path,
            text);
    return CLI_OK;
}

/* The --aead words and the AEAD each names. */
static const char *const aead_names[] = {"aes128gcm", "aes256gcm", "chacha20poly1305", NULL};
static const enum hpke_aead aead_ids[] = {HPKE_AEAD_AES128GCM, HPKE_AEAD_AES256GCM,
                                          HPKE_AEAD_CHACHA20POLY1305};

static int cmd_seal(int argc, char **argv)
{
    const char *public_path = NULL, *info = "", *aad = "", *auth_path = NULL, *in = "-", *out = "-";
    struct opt_choice aead_choice = {aead_names, 0};
    const struct opt_def opts[] = {
        {"public", OPT_STRING, &public_path, "FILE", "recipient's public key file", OPT_REQUIRED, 0,
         0},
        {"aead", OPT_CHOICE, &aead_choice, "AEAD", "the AEAD", 0, 0, 0},
        {"info", OPT_STRING, &info, "S", "application info string, bound into the keys", 0, 0, 0},
        {"aad", OPT_STRING, &aad, "S", "associated data, authenticated but not encrypted", 0, 0, 0},
        {"auth-secret", OPT_STRING, &auth_path, "FILE",
         "sender's secret key file: auth mode, the recipient can check who sealed", 0, 0, 0},
        {"in", OPT_STRING, &in, "FILE", "plaintext (default stdin)", 0, 0, 0},
        {"out", OPT_STRING, &out, "FILE", "sealed message (default stdout)", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "crypto hpke-seal",
        "",
        "Encrypt a file to a public key with HPKE (RFC 9180).",
        opts,
        0,
        0,
        "Seals a file to the holder of the secret key (base mode), or also proves who sealed\n"
        "it (auth mode, --auth-secret). --info and --aad must be given again to hpke-open.",
        "cloister crypto hpke-seal --public bob.pub --in report.pdf --out report.pdf.hpke\n"
        "echo hello | cloister crypto hpke-seal --public bob.pub --aead chacha20poly1305 > "
        "msg.hpke\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if (cli_hold_secrets() != CLI_OK)
        return CLI_FAIL;
    enum hpke_aead aead = aead_ids[aead_choice.index];

    uint8_t pk_r[HPKE_PUBLIC_LEN], sk_s[HPKE_SECRET_LEN], pk_s[HPKE_PUBLIC_LEN];
    uint8_t *pt = NULL, *ct = NULL;
    size_t pt_len = 0;
    struct hpke_auth auth = {.sender_secret = sk_s};
    struct hpke_message m = {.aead = aead, .mode = auth_path ? HPKE_MODE_AUTH : HPKE_MODE_BASE};
    struct wire_writer w;
    wire_writer_init(&w);
    rc = cli_read_hpke_public(public_path, pk_r);
    if (rc == CLI_OK && auth_path)
        rc = load_secret(auth_path, sk_s, pk_s);
    if (rc == CLI_OK)
        rc = cli_read_file(in, "the plaintext", CRYPTO_CLI_MAX_INPUT, &pt, &pt_len);
    if (rc == CLI_OK && !(ct = malloc(pt_len + HPKE_TAG_LEN)))
        rc = cli_fail("out of memory");
    if (rc == CLI_OK && hpke_seal(m.enc, ct, aead, pk_r, info, strlen(info), aad, strlen(aad), pt,
                                  pt_len, auth_path ? &auth : NULL) != 0)
        rc = cli_fail("%s: HPKE seal failed (is it a valid X25519 public key?)", public_path);
    if (rc == CLI_OK) {
        m.ct = ct;
        m.ct_len = pt_len + HPKE_TAG_LEN;
        hpke_wire_put_message(&w, &m);
        rc = wire_writer_ok(&w) ? cli_write_file(out, "the sealed message", w.buf, w.len, 0644)
                                : cli_fail("out of memory");
    }
    crypto_wipe(sk_s, sizeof sk_s);
    if (pt)
        crypto_wipe(pt, pt_len);
    free(pt);
    free(ct);
    wire_writer_free(&w);
    return rc;
}

static const char *mode_name(enum hpke_mode mode)
{
    static const char *names[] = {"base", "psk", "auth", "auth_psk"};
    return names[mode & 3];
}

static int cmd_open(int argc, char **argv)
{
    const char *secret_path = NULL, *sender_path = NULL, *info = "", *aad = "", *in = "-",
               *out = "-";
    const struct opt_def opts[] = {
        {"secret", OPT_STRING, &secret_path, "FILE", "recipient's secret key file", OPT_REQUIRED, 0,
         0},
        {"sender-public", OPT_STRING, &sender_path, "FILE",
         "sender's public key file, for messages sealed in auth mode", 0, 0, 0},
        {"info", OPT_STRING, &info, "S", "application info string given to hpke-seal", 0, 0, 0},
        {"aad", OPT_STRING, &aad, "S", "associated data given to hpke-seal", 0, 0, 0},
        {"in", OPT_STRING, &in, "FILE", "sealed message (default stdin)", 0, 0, 0},
        {"out", OPT_STRING, &out, "FILE", "plaintext (default stdout, files written 0600)", 0, 0,
         0},
        {0}};
    const struct opt_cmd cmd = {
        "crypto hpke-open",
        "",
        "Decrypt a message sealed by hpke-seal (or any RFC 9180 sender "
        "using the same file format).",
        opts,
        0,
        0,
        "Opens a message with the recipient's secret key. A message altered or truncated, or\n"
        "sealed with another --info or --aad, is refused and nothing is written.",
        "cloister crypto hpke-open --secret bob.sk --in report.pdf.hpke --out report.pdf\n"
        "cloister crypto hpke-open --secret bob.sk --sender-public alice.pub < msg.hpke\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if (cli_hold_secrets() != CLI_OK)
        return CLI_FAIL;

    uint8_t sk_r[HPKE_SECRET_LEN], pk_r[HPKE_PUBLIC_LEN], pk_s[HPKE_PUBLIC_LEN];
    uint8_t *data = NULL, *pt = NULL;
    size_t len = 0;
    const char *err, *src = strcmp(in, "-") == 0 ? "stdin" : in;
    struct hpke_message m = {0};
    struct hpke_auth auth = {.sender_public = pk_s};
    rc = load_secret(secret_path, sk_r, pk_r);
    if (rc == CLI_OK && sender_path)
        rc = cli_read_hpke_public(sender_path, pk_s);
    if (rc == CLI_OK)
        rc = cli_read_file(in, "the sealed message", CRYPTO_CLI_MAX_INPUT, &data, &len);
    if (rc == CLI_OK && hpke_wire_get_message(&m, data, len, &err) != 0)
        rc = cli_fail("%s: not an HPKE sealed message: %s", src, err);
    if (rc == CLI_OK && m.mode != HPKE_MODE_BASE && m.mode != HPKE_MODE_AUTH)
        rc = cli_fail("%s: sealed in %s mode, which needs a pre-shared key this command does "
                      "not take",
                      src, mode_name(m.mode));
    if (rc == CLI_OK && m.mode == HPKE_MODE_AUTH && !sender_path)
        rc = cli_fail("%s: sealed in auth mode: --sender-public is required", src);
    if (rc == CLI_OK && m.mode == HPKE_MODE_BASE && sender_path)
        rc = cli_fail("%s: sealed in base mode, so the sender is not authenticated; drop "
                      "--sender-public to open it anyway",
                      src);
    if (rc == CLI_OK && !(pt = malloc(m.ct_len - HPKE_TAG_LEN + 1)))
        rc = cli_fail("out of memory");
    if (rc == CLI_OK && hpke_open(pt, m.aead, m.enc, sk_r, info, strlen(info), aad, strlen(aad),
                                  m.ct, m.ct_len, m.mode == HPKE_MODE_AUTH ? &auth : NULL) != 0)
        rc = cli_fail("%s: cannot open: wrong secret key, sender key, --info or --aad, or the "
                      "message was altered",
                      src);
    if (rc == CLI_OK)
        rc = cli_write_file(out, "the plaintext", pt, m.ct_len - HPKE_TAG_LEN, 0600);
    if (pt)
        crypto_wipe(pt, m.ct_len - HPKE_TAG_LEN);
    free(pt);
    free(data);
    crypto_wipe(sk_r, sizeof sk_r);
    return rc;
}

static const struct cli_command crypto_commands[] = {
    {"selftest", "run the known-answer tests of every primitive", cmd_selftest},
    {"hpke-keygen", "create an HPKE key pair (X25519)", cmd_keygen},
    {"hpke-seal", "encrypt a file to a public key (HPKE base or auth mode)", cmd_seal},
    {"hpke-open", "decrypt a sealed message with a secret key", cmd_open},
    {0},
};

const struct cli_system cli_crypto_system = {
    "crypto",
    "Crypto primitives self-test and HPKE (RFC 9180) public-key encryption of files.",
    crypto_commands,
    cli_crypto_demo,
};
