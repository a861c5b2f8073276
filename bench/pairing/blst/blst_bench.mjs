// blst_bench.mjs -- times blst (the native library behind @chainsafe/blst) on the work
// bench_pairing measures for cloister, so the two are compared in the same run:
//   verify  = hash to G2 + a two-term multi-pairing + one final exponentiation (BLS verify),
//   sign    = hash to G2 + a G2 multiplication.
// The package exposes no bare pairing nor group multiplication (toPublicKey also validates and
// serializes the key: 1 ms, not a G1 multiplication), so those have no blst figure.
// Prints "op,ms" lines; each figure is the median of batches of at least 5 ms of process CPU
// time (process.cpuUsage), as bench_pairing measures cloister: wall time on a loaded machine
// says more about the scheduler than about either library.
import { SecretKey, verify } from '@chainsafe/blst';

function cpuNs() {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1e3;
}

function msPerOp(fn, batches) {
  let iters = 1;
  for (;;) {
    const t0 = cpuNs();
    for (let i = 0; i < iters; i++) fn();
    if (cpuNs() - t0 >= 5e6) break;
    iters *= 2;
  }
  const samples = [];
  for (let b = 0; b < batches; b++) {
    const t0 = cpuNs();
    for (let i = 0; i < iters; i++) fn();
    samples.push((cpuNs() - t0) / iters / 1e6);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const sk = SecretKey.fromKeygen(new Uint8Array(32).fill(7));
const pk = sk.toPublicKey();
const msg = new TextEncoder().encode('message');
const sig = sk.sign(msg);
if (!verify(msg, pk, sig)) throw new Error('blst refused its own signature');

const rows = {
  verify: () => verify(msg, pk, sig),
  sign: () => sk.sign(msg),
};
for (const [op, fn] of Object.entries(rows)) console.log(`${op},${msPerOp(fn, 25).toFixed(4)}`);
