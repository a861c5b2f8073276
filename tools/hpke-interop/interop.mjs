// interop.mjs -- cloister's HPKE against an independent implementation, @hpke/core.
//
//   node interop.mjs CLOISTER_BINARY WORKDIR
//
// For each AEAD (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305) in base and auth mode, and a few
// plaintext sizes: (a) @hpke/core seals and `cloister crypto hpke-open` must open, (b) `cloister
// crypto hpke-seal` seals and @hpke/core must open. Keys come from `cloister crypto hpke-keygen`.
// Files use the CLI's formats (src/crypto/hpke_wire.h): wire.h records with a 4-byte magic, a
// big-endian u16 version, big-endian integers and varint-prefixed byte strings.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { Aes128Gcm, Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";

const [cloister, workdir] = process.argv.slice(2);
if (!cloister || !workdir) {
  console.error("usage: node interop.mjs CLOISTER_BINARY WORKDIR");
  process.exit(2);
}
mkdirSync(workdir, { recursive: true });
const file = (name) => join(workdir, name);
const run = (...args) => execFileSync(cloister, ["crypto", ...args], { stdio: ["ignore", "pipe", "pipe"] });

// ---- the wire.h codec, just what the HPKE files need ----

class Reader {
  constructor(buf) { this.buf = buf; this.off = 0; }
  take(n) {
    if (n > this.buf.length - this.off) throw new Error(`truncated at offset ${this.off}`);
    const out = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
  u8() { return this.take(1)[0]; }
  u16() { const b = this.take(2); return (b[0] << 8) | b[1]; }
  varint() {
    let v = 0, shift = 0;
    for (;;) {
      const b = this.u8();
      v += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return v;
      shift += 7;
    }
  }
  bytes() { return this.take(this.varint()); }
  header(magic) {
    const m = Buffer.from(this.take(4)).toString("latin1");
    if (m !== magic) throw new Error(`expected a ${magic} record, got ${JSON.stringify(m)}`);
    const version = this.u16();
    if (version !== 1) throw new Error(`unsupported ${magic} version ${version}`);
  }
  end() { if (this.off !== this.buf.length) throw new Error("trailing bytes"); }
}

const varint = (n) => {
  const out = [];
  do { let b = n % 128; n = Math.floor(n / 128); if (n) b |= 0x80; out.push(b); } while (n);
  return Buffer.from(out);
};
const u16 = (v) => Buffer.from([v >> 8, v & 0xff]);
const bytes = (b) => Buffer.concat([varint(b.length), Buffer.from(b)]);

// BIP-173 Bech32, written from the spec, independently of src/util/bech32.c: the key text
// "HRP1" + data + 6-character checksum, data = the key's bytes in 5-bit groups.
const BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const bech32Polymod = (values) => {
  const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i];
  }
  return chk >>> 0;
};
const bech32Key = (text, hrp) => {
  const sep = text.lastIndexOf("1");
  if (text.slice(0, sep) !== hrp) throw new Error(`expected a ${hrp} key, got ${JSON.stringify(text)}`);
  const data = [...text.slice(sep + 1)].map((c) => {
    const v = BECH32.indexOf(c);
    if (v < 0) throw new Error(`bad bech32 character ${JSON.stringify(c)}`);
    return v;
  });
  const expand = [...hrp].map((c) => c.charCodeAt(0) >> 5).concat([0], [...hrp].map((c) => c.charCodeAt(0) & 31));
  if (bech32Polymod(expand.concat(data)) !== 1) throw new Error("bech32 checksum mismatch");
  let acc = 0, bits = 0;
  const out = [];
  for (const v of data.slice(0, -6)) {
    acc = (acc << 5) | v; bits += 5;
    if (bits >= 8) { bits -= 8; out.push((acc >> bits) & 0xff); }
  }
  return Buffer.from(out);
};

const KEM = 0x0020, KDF = 0x0001;
const readKey = (path, magic) => {
  const r = new Reader(readFileSync(path));
  r.header(magic);
  if (r.u16() !== KEM) throw new Error(`${path}: not an X25519 key`);
  const key = r.bytes();
  const pub = magic === "CHSK" ? r.bytes() : key;
  r.end();
  return { key, pub };
};
const encodeMessage = (aead, mode, enc, ct) =>
  Buffer.concat([Buffer.from("CHPM", "latin1"), u16(1), u16(KEM), u16(KDF), u16(aead),
                 Buffer.from([mode]), bytes(new Uint8Array(enc)), bytes(new Uint8Array(ct))]);
const decodeMessage = (buf) => {
  const r = new Reader(buf);
  r.header("CHPM");
  const m = { kem: r.u16(), kdf: r.u16(), aead: r.u16(), mode: r.u8(), enc: r.bytes(), ct: r.bytes() };
  r.end();
  return m;
};

// ---- the checks ----

const AEADS = [
  { name: "aes128gcm", id: 1, make: () => new Aes128Gcm() },
  { name: "aes256gcm", id: 2, make: () => new Aes256Gcm() },
  { name: "chacha20poly1305", id: 3, make: () => new Chacha20Poly1305() },
];
const MODES = [{ name: "base", id: 0 }, { name: "auth", id: 2 }];
const SIZES = [0, 1, 1000, 70000];
const info = "cloister interop v1", aad = "header 42";
const te = new TextEncoder();

// r's public key in the binary record, s's in the default text form (checked by bech32Key).
run("hpke-keygen", "--out-secret", file("r.sk"), "--out-public", file("r.pk"), "--format", "binary");
run("hpke-keygen", "--out-secret", file("s.sk"), "--out-public", file("s.pk"));
const r = readKey(file("r.sk"), "CHSK"), s = readKey(file("s.sk"), "CHSK");
if (Buffer.compare(readKey(file("r.pk"), "CHPK").key, r.pub) !== 0) throw new Error("r.pk != r.sk");
const sText = readFileSync(file("s.pk"), "latin1").trim();
if (Buffer.compare(bech32Key(sText, "cloister-hpke"), s.pub) !== 0) throw new Error("s.pk != s.sk");

let passed = 0, failed = 0;
const check = async (what, fn) => {
  try { await fn(); passed++; } catch (e) { failed++; console.error(`FAIL ${what}: ${e.message ?? e}`); }
};
const same = (a, b, what) => {
  if (Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0) throw new Error(`${what} differs`);
};

for (const aead of AEADS) {
  const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: aead.make() });
  const pkR = await suite.kem.deserializePublicKey(r.pub);
  const keyR = { privateKey: await suite.kem.deserializePrivateKey(r.key), publicKey: pkR };
  const pkS = await suite.kem.deserializePublicKey(s.pub);
  const keyS = { privateKey: await suite.kem.deserializePrivateKey(s.key), publicKey: pkS };
  for (const mode of MODES) {
    const auth = mode.id === 2;
    for (const size of SIZES) {
      const tag = `${aead.name}/${mode.name}/${size}B`;
      const pt = randomBytes(size);
      writeFileSync(file("pt"), pt);

      await check(`@hpke/core seals, cloister opens (${tag})`, async () => {
        const sender = await suite.createSenderContext({
          recipientPublicKey: pkR, info: te.encode(info), ...(auth ? { senderKey: keyS } : {}) });
        const ct = await sender.seal(pt, te.encode(aad));
        writeFileSync(file("js.bin"), encodeMessage(aead.id, mode.id, sender.enc, ct));
        run("hpke-open", "--secret", file("r.sk"), ...(auth ? ["--sender-public", file("s.pk")] : []),
            "--info", info, "--aad", aad, "--in", file("js.bin"), "--out", file("js.out"));
        same(readFileSync(file("js.out")), pt, "plaintext");
      });

      await check(`cloister seals, @hpke/core opens (${tag})`, async () => {
        run("hpke-seal", "--public", file("r.pk"), ...(auth ? ["--auth-secret", file("s.sk")] : []),
            "--aead", aead.name, "--info", info, "--aad", aad, "--in", file("pt"), "--out", file("c.bin"));
        const m = decodeMessage(readFileSync(file("c.bin")));
        if (m.kem !== KEM || m.kdf !== KDF || m.aead !== aead.id || m.mode !== mode.id)
          throw new Error(`header ${JSON.stringify([m.kem, m.kdf, m.aead, m.mode])}`);
        const params = { recipientKey: keyR, enc: m.enc, info: te.encode(info),
                         ...(auth ? { senderPublicKey: pkS } : {}) };
        const opened = await (await suite.createRecipientContext(params)).open(m.ct, te.encode(aad));
        same(opened, pt, "plaintext");
        // The check has teeth: the same message with another AAD must be refused.
        let refused = false;
        try { await (await suite.createRecipientContext(params)).open(m.ct, te.encode("other")); }
        catch { refused = true; }
        if (!refused) throw new Error("opened with the wrong AAD");
      });
    }
  }
}

console.log(`interop: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
