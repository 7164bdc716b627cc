// The NCCL process group on one rank: made on a CUDA device, its collectives run there. Skipped, with the
// reason in its name, where this build has no NCCL or no CUDA device is seen (a GPU check runs it).
import { describe, expect, it } from "vitest";
import * as torch from "../../lib/tensor/index.js";
import { backends, init } from "../../lib/distributed/index.js";
import { freePort } from "./helpers.js";

const skip = !backends().nccl ? "this build has no NCCL process group" : !torch.cuda.isAvailable() ? "no CUDA device is seen" : "";

describe("process group (NCCL)", () => {
  it.skipIf(skip !== "")(`one rank on cuda:0: allreduce, broadcast and barrier on the device${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    const g = await init({ rank: 0, worldSize: 1, localRank: 0, masterPort: await freePort(), backend: "nccl", timeoutMs: 60_000 });
    expect([g.rank, g.size, g.backend]).toEqual([0, 1, "nccl"]);
    const t = torch.tensor([1, 2, 3], { dtype: "float32" }).to("cuda:0");
    await g.allreduce([t]);
    await g.broadcast([t], 0);
    await g.barrier();
    expect(t.cpu().tolist()).toEqual([1, 2, 3]);
    await g.close();
    t.dispose();
  });
});
