// Where a process stands in a distributed run: torchrun's environment variables (the same names, so that
// `torchrun --no-python` and our own launcher start workers alike).

/** One process's place in the run. */
export interface DistEnv {
  /** 0..worldSize-1 over every machine; rank 0 serves the rendezvous store and writes the run folder. */
  rank: number;
  worldSize: number;
  /** Rank on this machine (the CUDA device of an NCCL run). */
  localRank: number;
  /** The machine of rank 0 and its store's port. */
  masterAddr: string;
  masterPort: number;
}

export const DEFAULT_MASTER_PORT = 29500;

/** The variables as a worker gets them (launch.ts sets them; torchrun does too). */
export function distEnvVars(e: DistEnv): Record<string, string> {
  return {
    RANK: String(e.rank),
    WORLD_SIZE: String(e.worldSize),
    LOCAL_RANK: String(e.localRank),
    MASTER_ADDR: e.masterAddr,
    MASTER_PORT: String(e.masterPort),
  };
}

const intIn = (name: string, v: string | undefined, lo: number, hi: number): number => {
  const n = Number(v);
  if (v === undefined || v.trim() === "" || !Number.isInteger(n) || n < lo || n > hi) {
    throw new Error(`distributed: ${name}=${v ?? "(unset)"} must be an integer from ${lo} to ${hi}`);
  }
  return n;
};

/**
 * This process's place from torchrun's variables, or null when WORLD_SIZE is unset (not a distributed
 * worker). RANK and WORLD_SIZE are required; LOCAL_RANK defaults to RANK, MASTER_ADDR to 127.0.0.1 and
 * MASTER_PORT to 29500. A bad value is an error that names the variable.
 */
export function distEnvFrom(env: NodeJS.ProcessEnv = process.env): DistEnv | null {
  if (env.WORLD_SIZE === undefined) return null;
  const worldSize = intIn("WORLD_SIZE", env.WORLD_SIZE, 1, 1 << 20);
  const rank = intIn("RANK", env.RANK, 0, worldSize - 1);
  return {
    rank,
    worldSize,
    localRank: env.LOCAL_RANK === undefined ? rank : intIn("LOCAL_RANK", env.LOCAL_RANK, 0, worldSize - 1),
    masterAddr: env.MASTER_ADDR?.trim() || "127.0.0.1",
    masterPort: env.MASTER_PORT === undefined ? DEFAULT_MASTER_PORT : intIn("MASTER_PORT", env.MASTER_PORT, 1, 65535),
  };
}

/** 127.x.x.x, ::1 and localhost: every rank is on this machine. */
export const isLoopback = (addr: string): boolean => /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(addr);
