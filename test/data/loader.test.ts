import { describe, expect, it } from "vitest";
import { type Batch, BatchLoader, type BatchLoaderOptions } from "../../lib/data/loader.js";
import type { ImageDataset } from "../../lib/data/types.js";
import { patternBytes } from "./fixtures/writers.js";

const n = 23;
const ds: ImageDataset = {
  name: "toy",
  split: "train",
  images: patternBytes(n * 2 * 3 * 3, 77),
  labels: Uint8Array.from({ length: n }, (_, i) => i % 10),
  n,
  channels: 2,
  height: 3,
  width: 3,
};
const size = 18;

const take = (l: BatchLoader, k: number): Batch[] => Array.from({ length: k }, () => l.next());
const flat = (bs: Batch[]) =>
  bs.map((b) => ({ x: Array.from(b.x), idx: Array.from(b.indices), labels: Array.from(b.labels ?? []), epoch: b.epoch, step: b.step, shape: b.shape }));
const tick = () => new Promise<void>((r) => setImmediate(r));

describe("BatchLoader", () => {
  it("checks its options by schema: a typo is an error naming the allowed values, not a default", () => {
    expect(() => new BatchLoader(ds, { batchSize: 2, range: "centred" as never })).toThrow(/^BatchLoader options: "range" .*"unit"\|"centered".*got "centred"/);
    expect(() => new BatchLoader(ds, { batchSize: 2, shufle: false } as never)).toThrow(/unknown field\(s\) "shufle"/);
    expect(() => new BatchLoader(ds, { batchSize: 0 })).toThrow(/"batchSize" must be an integer >= 1, got 0/);
  });

  it("covers every image once per epoch, reshuffled each epoch, with a smaller last batch", () => {
    const l = new BatchLoader(ds, { batchSize: 5, seed: 1, prefetch: false });
    expect(l.batchesPerEpoch).toBe(5);
    const e0 = take(l, 5);
    const e1 = take(l, 5);
    expect(e0.map((b) => b.shape[0])).toEqual([5, 5, 5, 5, 3]);
    expect(e0.map((b) => [b.epoch, b.step])).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [0, 3],
      [0, 4],
    ]);
    expect(e1[0].epoch).toBe(1);
    const idx0 = e0.flatMap((b) => [...b.indices]);
    const idx1 = e1.flatMap((b) => [...b.indices]);
    expect([...idx0].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect([...idx1].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(idx0).not.toEqual(idx1);
  });

  it("builds x, shape and labels from the indexed images: (x + 0.5)/256 without noise, minus 0.5 when centered", () => {
    for (const range of ["unit", "centered"] as const) {
      const l = new BatchLoader(ds, { batchSize: 4, seed: 2, dequantize: false, range, prefetch: false });
      const b = l.next();
      expect(b.shape).toEqual([4, 2, 3, 3]);
      b.indices.forEach((src, i) => {
        expect(b.labels![i]).toBe(ds.labels![src]);
        for (let j = 0; j < size; j++) {
          expect(b.x[i * size + j]).toBe(Math.fround((ds.images[src * size + j] + 0.5) / 256 - (range === "centered" ? 0.5 : 0)));
        }
      });
    }
  });

  it("dequantizes inside each pixel's bin, with fresh noise every epoch", () => {
    const l = new BatchLoader(ds, { batchSize: n, seed: 3, shuffle: false, prefetch: false });
    const [a, b] = take(l, 2);
    expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
    for (let k = 0; k < n * size; k++) {
      expect(a.x[k]).toBeGreaterThanOrEqual(ds.images[k] / 256);
      expect(a.x[k]).toBeLessThanOrEqual((ds.images[k] + 1) / 256);
    }
    expect(Array.from(a.x)).not.toEqual(Array.from(b.x));
  });

  it("keeps data set order without shuffle, and drops the last partial batch when asked", () => {
    const l = new BatchLoader(ds, { batchSize: 5, shuffle: false, dropLast: true, prefetch: false });
    expect(l.batchesPerEpoch).toBe(4);
    const e = [...l];
    expect(e.map((b) => b.shape[0])).toEqual([5, 5, 5, 5]);
    expect(e.flatMap((b) => [...b.indices])).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const next = [...l];
    expect(next.length).toBe(4);
    expect(next[0].epoch).toBe(1);
    expect(() => new BatchLoader(ds, { batchSize: 30, dropLast: true })).toThrow(/gives no batches/);
  });

  it("is deterministic for a seed and differs between seeds", () => {
    const opts: BatchLoaderOptions = { batchSize: 6, seed: 11, prefetch: false };
    expect(flat(take(new BatchLoader(ds, opts), 9))).toEqual(flat(take(new BatchLoader(ds, opts), 9)));
    expect(flat(take(new BatchLoader(ds, { ...opts, seed: 12 }), 9))).not.toEqual(flat(take(new BatchLoader(ds, opts), 9)));
  });

  it("resumes exactly from a JSON state, mid-epoch and at an epoch boundary", () => {
    const opts: BatchLoaderOptions = { batchSize: 5, seed: 5, prefetch: false };
    for (const stopAfter of [0, 2, 5, 7, 10]) {
      const ref = new BatchLoader(ds, opts);
      const all = take(ref, 14);
      const first = new BatchLoader(ds, opts);
      take(first, stopAfter);
      const saved = JSON.parse(JSON.stringify(first.state()));
      const resumed = new BatchLoader(ds, opts);
      resumed.restore(saved);
      expect(flat(take(resumed, 14 - stopAfter))).toEqual(flat(all.slice(stopAfter)));
    }
  });

  it("mutates pixels at the given rate, afresh each time an image is drawn, and resumes on the same mutations", () => {
    const big: ImageDataset = { name: "flat", split: "train", images: new Uint8Array(4 * 1 * 50 * 50).fill(9), n: 4, channels: 1, height: 50, width: 50 };
    const opts: BatchLoaderOptions = { batchSize: 4, seed: 3, shuffle: false, dequantize: false, prefetch: false, mutationRate: 0.2 };
    const pixels = (b: Batch) => Array.from(b.x, (v) => Math.round(v * 256 - 0.5));
    const l = new BatchLoader(big, opts);
    const [e0, e1] = take(l, 2).map(pixels);
    const changed = e0.filter((v) => v !== 9).length / e0.length;
    expect(changed).toBeGreaterThan(0.17);
    expect(changed).toBeLessThan(0.23);
    expect(e1).not.toEqual(e0); // the same images, drawn again: other mutations
    expect(flat(take(new BatchLoader(big, opts), 2))).toEqual(flat(take(new BatchLoader(big, opts), 2)));
    const saved = JSON.parse(JSON.stringify(new BatchLoader(big, opts).state()));
    expect(saved.mutationRate).toBe(0.2);
    const resumed = new BatchLoader(big, opts);
    resumed.next();
    resumed.restore(saved);
    expect(pixels(resumed.next())).toEqual(e0);
    expect(() => new BatchLoader(big, { ...opts, mutationRate: 0.3 }).restore(saved)).toThrow(/mutationRate = 0.2, this loader has 0.3/);
    expect(() => new BatchLoader(big, { ...opts, mutationRate: 0 }).restore(saved)).toThrow(/mutationRate = 0.2, this loader has 0/);
    expect(() => new BatchLoader(big, { ...opts, mutationRate: 2 })).toThrow(/"mutationRate" must be in \[0, 1\], got 2/);
    // without mutations the state is as before (checkpoints of earlier runs restore unchanged)
    expect("mutationRate" in new BatchLoader(big, { ...opts, mutationRate: 0 }).state()).toBe(false);
  });

  it("refuses a state from a loader with other options", () => {
    const a = new BatchLoader(ds, { batchSize: 5, seed: 5, prefetch: false });
    a.next();
    const b = new BatchLoader(ds, { batchSize: 4, seed: 5, prefetch: false });
    expect(() => b.restore(a.state())).toThrow(/batchSize = 5, this loader has 4/);
    const c = new BatchLoader(ds, { batchSize: 5, seed: 6, prefetch: false });
    expect(() => c.restore(a.state())).toThrow(/seed = 5, this loader has 6/);
  });

  it("prefetching changes nothing: same batches whether the prefetch ran or not", async () => {
    const opts: BatchLoaderOptions = { batchSize: 4, seed: 8 };
    const eager = new BatchLoader(ds, opts);
    const got: Batch[] = [];
    for (let i = 0; i < 15; i++) {
      await tick(); // lets the prefetched batch be built
      got.push(eager.next());
    }
    const plain = new BatchLoader(ds, { ...opts, prefetch: false });
    expect(flat(got)).toEqual(flat(take(plain, 15)));
    // and a resume taken while a batch was prefetched is exact too
    await tick();
    const saved = eager.state();
    const cont = take(eager, 4);
    const resumed = new BatchLoader(ds, opts);
    resumed.restore(saved);
    expect(flat(take(resumed, 4))).toEqual(flat(cont));
    eager.dispose();
    resumed.dispose();
  });

  it("hands out a batch that was prefetched (built before it was asked for)", async () => {
    const l = new BatchLoader(ds, { batchSize: 4, seed: 8 });
    l.next();
    await tick();
    const internals = l as unknown as { pending?: { batch: Batch } };
    const pending = internals.pending?.batch;
    expect(pending).toBeDefined();
    expect(l.next()).toBe(pending);
    l.dispose();
  });

  it("with reused buffers hands out the same batches, each valid until the next call, prefetch or not", async () => {
    for (const prefetch of [false, true]) {
      const plain = new BatchLoader(ds, { batchSize: 5, seed: 4, prefetch });
      const reused = new BatchLoader(ds, { batchSize: 5, seed: 4, prefetch, reuseBuffers: true });
      const seen: Float32Array[] = [];
      for (let k = 0; k < 12; k++) {
        // over two epochs, through the short last batch
        const a = plain.next(),
          b = reused.next();
        expect(flat([b])).toEqual(flat([a]));
        seen.push(b.x);
        await tick(); // the prefetch of the next batch runs here, and must not touch b
        expect(Array.from(b.x)).toEqual(Array.from(a.x));
      }
      // Two buffers in turn: batch k and k+2 share memory.
      expect(seen[0]!.buffer).toBe(seen[2]!.buffer);
      expect(seen[0]!.buffer).not.toBe(seen[1]!.buffer);
    }
  });
});
