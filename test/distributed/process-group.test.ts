// The process group (native/dist.cc through lib/distributed): collectives across ranks, and every failure
// a clear error within the timeout. The ranks here share this process (each its own store connection and
// Gloo context), which is enough to pin down the collectives and the errors; faults.test.ts kills real
// processes.
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { backends, DistributedError, init, type ProcessGroup } from "../../lib/distributed/index.js";
import { freePort, holdPort } from "./helpers.js";

const have = backends();

async function group(size: number, timeoutMs = 10_000): Promise<ProcessGroup[]> {
  const port = await freePort();
  return Promise.all(Array.from({ length: size }, (_, rank) => init({ rank, worldSize: size, masterAddr: "127.0.0.1", masterPort: port, timeoutMs })));
}

/** The error a promise rejects with, and how long it took. */
async function failure(p: Promise<unknown>): Promise<{ e: DistributedError; ms: number }> {
  const t0 = Date.now();
  try {
    await p;
  } catch (e) {
    return { e: e as DistributedError, ms: Date.now() - t0 };
  }
  throw new Error("expected a rejection");
}

describe.skipIf(!have.gloo)("process group (Gloo)", () => {
  it("broadcast gives every rank rank 0's exact bytes; allreduce sums (or takes the max) in place; barrier waits for all", async () => {
    const gs = await group(3);
    expect(gs.map((g) => [g.rank, g.size, g.backend])).toEqual([
      [0, 3, "gloo"],
      [1, 3, "gloo"],
      [2, 3, "gloo"],
    ]);
    torch.manualSeed(1);
    const src = torch.randn([1000]);
    const ts = gs.map((g) => (g.rank === 0 ? src.clone() : torch.zeros([1000])));
    await Promise.all(gs.map((g, r) => g.broadcast([ts[r]!], 0)));
    for (const t of ts) expect(t.toFlatArray()).toEqual(src.toFlatArray());

    // Several tensors in one call are reduced each on its own.
    const xs = gs.map((g) => torch.tensor([g.rank + 1, 10 * (g.rank + 1)]));
    const ys = gs.map((g) => torch.tensor([100 * g.rank]));
    const ms = gs.map((g) => torch.tensor([g.rank, 5 - g.rank]));
    await Promise.all(gs.map((g, r) => g.allreduce([xs[r]!, ys[r]!]).then(() => g.allreduce([ms[r]!], "max"))));
    for (const x of xs) expect(x.tolist()).toEqual([6, 60]);
    for (const y of ys) expect(y.tolist()).toEqual([300]);
    for (const m of ms) expect(m.tolist()).toEqual([2, 5]);

    await Promise.all(gs.map((g) => g.barrier()));
    await Promise.all(gs.map((g) => g.close()));
    torch.dispose([src, ts, xs, ys, ms]);
  });

  it("a closed group, a root that is not a rank and a bad op are errors, not crashes; close() twice is fine", async () => {
    const [a, b] = await group(2);
    const t = torch.zeros([2]);
    await expect(a!.broadcast([t], 5)).rejects.toThrow(/broadcast: root 5 is not a rank of this group of 2/);
    await expect(a!.allreduce([t], "avg" as never)).rejects.toThrow(/op must be sum, max, min or product, got avg/);
    await Promise.all([a!.close(), b!.close()]);
    await a!.close();
    await expect(a!.allreduce([t])).rejects.toThrow(/the process group is closed/);
    t.dispose();
  });

  it("a rank that leaves: the other's next collective fails at once, as a peer lost", async () => {
    const [a, b] = await group(2, 5000);
    const t = torch.ones([4]);
    await Promise.all([a!.allreduce([t]), b!.allreduce([t.clone()])]);
    await b!.close();
    const { e, ms } = await failure(a!.allreduce([t]));
    expect(e).toBeInstanceOf(DistributedError);
    expect(e.fault).toBe("peer-lost");
    expect(e.message).toMatch(/^rank 0 of 2: another rank left the run during allreduce/);
    expect(ms).toBeLessThan(5000);
    await a!.close();
    t.dispose();
  });

  it("a rank that never joins: rank 0 says how many joined, within the timeout", async () => {
    const port = await freePort();
    const { e, ms } = await failure(init({ rank: 0, worldSize: 2, masterPort: port, timeoutMs: 1500 }));
    expect(e.fault).toBe("join");
    expect(e.message).toMatch(/^rank 0 of 2: only 1 of 2 ranks joined within 1\.5 s/);
    expect(ms).toBeLessThan(1500 + 3000);
  });

  it("rank 0 that never comes: another rank cannot reach its store, and says so within the timeout", async () => {
    const port = await freePort();
    const { e, ms } = await failure(init({ rank: 1, worldSize: 2, masterPort: port, timeoutMs: 1500 }));
    expect(e.fault).toBe("join");
    expect(e.message).toMatch(new RegExp(`^rank 1 of 2: could not reach rank 0's store at 127\\.0\\.0\\.1:${port} within 1\\.5 s`));
    expect(ms).toBeLessThan(1500 + 3000);
  });

  it("a port already in use: rank 0 says so at once, the others that nothing answered there, within the timeout", async () => {
    const held = await holdPort();
    try {
      const [r0, r1] = await Promise.all([0, 1].map((rank) => failure(init({ rank, worldSize: 2, masterPort: held.port, timeoutMs: 1500 }))));
      expect(r0!.e.fault).toBe("port-in-use");
      expect(r0!.e.message).toBe(
        `rank 0 of 2: cannot serve the rendezvous store on port ${held.port}: the port is already in use (choose another with --master-port or MASTER_PORT)`,
      );
      expect(r0!.ms).toBeLessThan(1500);
      expect(r1!.e.fault).toBe("port-in-use");
      expect(r1!.e.message).toMatch(new RegExp(`^rank 1 of 2: nothing answered as rank 0's store at 127\\.0\\.0\\.1:${held.port} within 1\\.5 s`));
      expect(r1!.ms).toBeLessThan(1500 + 3000);
    } finally {
      await held.release();
    }
  });
});

describe.skipIf(have.gloo)("process group, in a build without Gloo", () => {
  it("init says why distributed training is missing and how to add it", async () => {
    await expect(init({ rank: 0, worldSize: 1, masterPort: await freePort() })).rejects.toThrow(/not in this build .*libgloo-dev/);
  });
});
