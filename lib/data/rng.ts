/**
 * Seeded pseudo-random numbers: xoshiro128** (Blackman & Vigna), 32-bit arithmetic only, so it is
 * fast in JS and its whole state is four uint32 words that serialise to JSON. Used for shuffling and
 * dequantization noise, where exact reproducibility across a stopped-and-resumed run matters.
 */

/** JSON-serialisable generator state. */
export interface RngState {
  algorithm: "xoshiro128**";
  s: [number, number, number, number];
}

/** splitmix32 step: spreads an arbitrary 32-bit seed over the state (xoshiro must not start at all zeros). */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/**
 * Mixes several integers (a seed and stream ids such as epoch and batch index) into one 32-bit seed,
 * so derived generators are independent of each other without storing any state.
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x6a09e667;
  for (const p of parts) {
    if (!Number.isSafeInteger(p)) throw new Error(`mixSeed: ${p} is not a safe integer seed`);
    const lo = p >>> 0;
    const hi = Math.floor(p / 0x100000000) >>> 0;
    h = splitmix32(h ^ lo);
    h = splitmix32(h ^ hi);
  }
  return h;
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(s: readonly number[]) {
    [this.s0, this.s1, this.s2, this.s3] = s.map((v) => v | 0) as [number, number, number, number];
  }

  /** A generator for `seed`; extra `streams` (e.g. epoch, batch) give independent derived generators. */
  static seeded(seed: number, ...streams: number[]): Rng {
    let x = mixSeed(seed, ...streams);
    const s: number[] = [];
    for (let i = 0; i < 4; i++) {
      x = splitmix32(x);
      s.push(x);
    }
    if (!s.some((v) => v !== 0)) s[0] = 1;
    return new Rng(s);
  }

  static fromState(state: RngState): Rng {
    const ok =
      state?.algorithm === "xoshiro128**" &&
      Array.isArray(state.s) &&
      state.s.length === 4 &&
      state.s.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff) &&
      state.s.some((v) => v !== 0);
    if (!ok) throw new Error(`Rng.fromState: not a saved xoshiro128** state: ${JSON.stringify(state)}`);
    return new Rng(state.s);
  }

  state(): RngState {
    return { algorithm: "xoshiro128**", s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0] };
  }

  clone(): Rng {
    return new Rng([this.s0, this.s1, this.s2, this.s3]);
  }

  /** Uniform integer in [0, 2^32). */
  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  /** Uniform float in [0, 1) with 32 random bits. */
  float(): number {
    return this.uint32() / 0x100000000;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling), for 1 <= n <= 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const r = this.uint32();
      if (r < limit) return r % n;
    }
  }

  /** Standard normal (Box-Muller; the second value is dropped so the state stays four words). */
  normal(): number {
    const u = 1 - this.float(); // (0, 1], keeps log finite
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles in place (Fisher-Yates) and returns the array. */
  shuffle<T extends { length: number; [i: number]: any }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}
