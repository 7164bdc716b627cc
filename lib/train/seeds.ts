// Seed sweeps: one run per seed, for ensembles (WAIC, Choi et al. 2018, wants M >= 5 models that differ
// only in their seed). Each run is an ordinary run folder, SWEEP/seed-N.
import { join } from "node:path";

/** "1,2,3", "1-5" or both ("1-3,7") -> [1, 2, 3, ...] in the order given. */
export function parseSeeds(spec: string): number[] {
  const seeds: number[] = [];
  const hint = "give integers >= 0 separated by commas, or ranges, e.g. --seeds 1,2,3,4,5 or --seeds 1-5";
  if (!spec.trim()) throw new Error(`--seeds needs seeds: ${hint}`);
  for (const part of spec.split(",").map((p) => p.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`--seeds ${spec}: '${part}' is not a seed or a range: ${hint}`);
    const [lo, hi] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (hi < lo) throw new Error(`--seeds ${spec}: the range ${part} is empty: write it low-high, e.g. ${hi}-${lo}`);
    if (!Number.isSafeInteger(hi)) throw new Error(`--seeds ${spec}: ${hi} is too large for a seed`);
    // A typo like 1-50000 would queue hours of training: ask for it in pieces instead.
    if (hi - lo >= 1000) throw new Error(`--seeds ${spec}: the range ${part} holds ${hi - lo + 1} seeds; at most 1000 in one range`);
    for (let s = lo; s <= hi; s++) {
      if (seeds.includes(s)) throw new Error(`--seeds ${spec}: seed ${s} is listed twice; each seed trains one run`);
      seeds.push(s);
    }
  }
  return seeds;
}

/** The run folder of one seed of a sweep. */
export const seedRunDir = (sweep: string, seed: number): string => join(sweep, `seed-${seed}`);

/** A path as one shell word, so that a printed command can be pasted as it is. */
export const shellWord = (p: string): string => (/^[\w./:@%+=,-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`);
