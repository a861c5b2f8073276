// generate.mjs -- cross-check vectors for cloister's BLS12-381 library, computed with an
// independent implementation (@noble/curves). Deterministic: every scalar and message is derived
// from SHA-256 of a counter, so a regeneration gives the same file.
//
//   npm ci && node generate.mjs ../../tests/vectors/pairing
//
// Writes noble.json (scalar multiplications, pairings, GT powers, MSM, hashes, encodings) and
// checks the RFC 9380 vectors of rfc9380.json against noble before accepting them.
import { bls12_381 as bls } from '@noble/curves/bls12-381.js';
import { hash_to_field, expand_message_xmd } from '@noble/curves/abstract/hash-to-curve.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const outDir = process.argv[2] ?? '../../tests/vectors/pairing';
const { Fp, Fr, Fp12 } = bls.fields;
const G1 = bls.G1.Point;
const G2 = bls.G2.Point;
const R = Fr.ORDER;
const Z = 0xd201000000010000n;

const hex = (u8) => Buffer.from(u8).toString('hex');
const be32 = (n) => n.toString(16).padStart(64, '0');
const enc = new TextEncoder();
let counter = 0;
function draw(label) {
  return sha256(enc.encode(`cloister-pairing-vectors/${label}/${counter++}`));
}
function scalar(label) {
  const a = BigInt('0x' + hex(draw(label)));
  const b = BigInt('0x' + hex(draw(label)));
  return ((a << 256n) | b) % R;
}
const mulG1 = (k) => (k === 0n ? G1.ZERO : G1.BASE.multiply(k));
const mulG2 = (k) => (k === 0n ? G2.ZERO : G2.BASE.multiply(k));
const gtHex = (e) => hex(Fp12.toBytes(e));

// Scalar multiplication: edge scalars, then random ones.
const edge = [0n, 1n, 2n, 3n, R - 1n, R - 2n, (R - 1n) / 2n, Z, Z * Z, Z * Z - 1n, Z * Z + 1n,
  (1n << 128n) - 1n, 1n << 128n, (1n << 254n), R - Z * Z];
const scalars = [...edge];
for (let i = 0; i < 17; i++) scalars.push(scalar('mul'));
const mul = scalars.map((k) => ({
  k: be32(k), g1: hex(mulG1(k).toBytes(true)), g2: hex(mulG2(k).toBytes(true)),
}));

// Point addition of independent multiples (exercises the group law away from the generator).
const add = [];
for (let i = 0; i < 6; i++) {
  const a = scalar('add'), b = scalar('add');
  add.push({
    a: be32(a), b: be32(b),
    g1: hex(mulG1(a).add(mulG1(b)).toBytes(true)),
    g2: hex(mulG2(a).add(mulG2(b)).toBytes(true)),
  });
}

// Pairings: e(aG1, bG2), including the generators (noble refuses the identity).
const pairing = [];
for (const [a, b] of [[1n, 1n], [2n, 3n], [R - 1n, 1n], [1n, R - 1n]]) {
  pairing.push({ a: be32(a), b: be32(b), gt: gtHex(bls.pairing(mulG1(a), mulG2(b))) });
}
for (let i = 0; i < 4; i++) {
  const a = scalar('pair'), b = scalar('pair');
  pairing.push({ a: be32(a), b: be32(b), gt: gtHex(bls.pairing(mulG1(a), mulG2(b))) });
}

// GT exponentiation of e(G1, G2).
const e11 = bls.pairing(G1.BASE, G2.BASE);
const gtExp = [];
for (const k of [0n, 1n, 2n, R - 1n, Z * Z, scalar('gt'), scalar('gt'), scalar('gt')]) {
  gtExp.push({ k: be32(k), gt: gtHex(Fp12.pow(e11, k)) });
}

// Multi-scalar multiplication: 24 random points with random scalars, one repeated point.
const msmPoints = [], msmScalars = [];
let acc1 = G1.ZERO, acc2 = G2.ZERO;
for (let i = 0; i < 24; i++) {
  const p = scalar('msm-point'), k = i === 5 ? 0n : scalar('msm-scalar');
  msmPoints.push(be32(p));
  msmScalars.push(be32(k));
  acc1 = acc1.add(k === 0n ? G1.ZERO : mulG1(p).multiply(k));
  acc2 = acc2.add(k === 0n ? G2.ZERO : mulG2(p).multiply(k));
}
const msm = { point_scalars: msmPoints, scalars: msmScalars,
  g1: hex(acc1.toBytes(true)), g2: hex(acc2.toBytes(true)) };

// Hashes with a cloister DST: to G1, to G2, and hash_to_field into Fr (L = 48) and Fp2.
const dst = 'CLOISTER-PAIRING-TEST-V01';
const hashes = [];
for (let i = 0; i < 6; i++) {
  const msg = i === 0 ? new Uint8Array(0) : draw('msg').subarray(0, 1 + (i * 7) % 32);
  const fr = hash_to_field(msg, 1, { DST: dst, p: R, m: 1, k: 128, expand: 'xmd', hash: sha256 });
  const fp2 = hash_to_field(msg, 2, { DST: dst, p: Fp.ORDER, m: 2, k: 128, expand: 'xmd', hash: sha256 });
  hashes.push({
    msg: hex(msg),
    g1: hex(bls.G1.hashToCurve(msg, { DST: dst }).toBytes(true)),
    g2: hex(bls.G2.hashToCurve(msg, { DST: dst }).toBytes(true)),
    fr: be32(fr[0][0]),
    fp2_u: fp2.map((e) => e.map((c) => c.toString(16).padStart(96, '0'))),
    xmd_100: hex(expand_message_xmd(msg, enc.encode(dst), 100, sha256)),
  });
}

// Encodings of special points.
const encodings = {
  g1_identity: hex(G1.ZERO.toBytes(true)), g2_identity: hex(G2.ZERO.toBytes(true)),
  g1_gen: hex(G1.BASE.toBytes(true)), g2_gen: hex(G2.BASE.toBytes(true)),
  g1_neg_gen: hex(G1.BASE.negate().toBytes(true)), g2_neg_gen: hex(G2.BASE.negate().toBytes(true)),
};

// The RFC 9380 vectors must agree with noble before they are trusted by the C tests.
const rfc = JSON.parse(readFileSync(join(outDir, 'rfc9380.json'), 'utf8'));
for (const set of rfc.expand_message_xmd) {
  for (const t of set.tests) {
    const got = hex(expand_message_xmd(enc.encode(t.msg), enc.encode(set.dst), t.len_in_bytes, sha256));
    if (got !== t.uniform_bytes) throw new Error(`RFC expand_message_xmd mismatch for ${t.msg}`);
  }
}
for (const [suite, group] of [['g1', bls.G1], ['g2', bls.G2]]) {
  const s = rfc[suite];
  for (const t of s.tests) {
    const p = group.hashToCurve(enc.encode(t.msg), { DST: s.dst }).toAffine();
    const coords = suite === 'g1' ? [p.x, p.y] : [p.x.c0, p.x.c1, p.y.c0, p.y.c1];
    const want = suite === 'g1' ? [t.x, t.y] : [t.x_c0, t.x_c1, t.y_c0, t.y_c1];
    coords.forEach((c, i) => {
      if (c.toString(16).padStart(96, '0') !== want[i]) throw new Error(`RFC ${suite} mismatch for ${t.msg}`);
    });
  }
}

const doc = {
  generator: 'tools/pairing-vectors/generate.mjs with @noble/curves ' +
    JSON.parse(readFileSync(new URL('./node_modules/@noble/curves/package.json', import.meta.url))).version,
  note: 'scalars and field elements big-endian hex; points ZCash-compressed; GT as noble Fp12.toBytes',
  dst, mul, add, pairing, gt_exp: gtExp, msm, hashes, encodings,
};
writeFileSync(join(outDir, 'noble.json'), JSON.stringify(doc, null, 1) + '\n');
console.log(`wrote ${join(outDir, 'noble.json')}; RFC 9380 vectors agree with noble`);
