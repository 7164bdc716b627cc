// A process group over PyTorch's c10d (native/dist.cc): init() joins one from torchrun's variables or
// options; its collectives are promises that settle when every rank has taken part, and a failure (a rank
// that left, one that never joined, a port already taken, a timeout) rejects them with a DistributedError
// that says which rank saw what, in words, with c10d's own message after.
import { native, type NativeProcessGroup } from "../tensor/native.js";
import type { Tensor } from "../tensor/index.js";
import { distEnvFrom, isLoopback } from "./env.js";

export type Backend = "gloo" | "nccl";
export type ReduceOp = "sum" | "max" | "min" | "product";

/** What went wrong, for callers that react to it (the launcher tells a cause from its consequences). */
export type DistributedFault =
  /** Another rank left mid-run (killed, crashed or stopped): this rank's error is a consequence. */
  | "peer-lost"
  /** A collective or the rendezvous waited longer than the timeout. */
  | "timeout"
  /** Rank 0 could not serve the store on its port. */
  | "port-in-use"
  /** Not every rank joined within the timeout. */
  | "join"
  | "other";

export class DistributedError extends Error {
  constructor(
    message: string,
    readonly fault: DistributedFault,
    readonly rank: number,
    readonly detail: string,
  ) {
    super(message);
    this.name = "DistributedError";
  }
}

/** 5 minutes: long enough for rank 0 to evaluate and write a checkpoint while the others wait. */
export const DEFAULT_TIMEOUT_MS = 300_000;

export interface InitOptions {
  /** Default: $RANK. */
  rank?: number;
  /** Default: $WORLD_SIZE. */
  worldSize?: number;
  /** Default: $LOCAL_RANK, else rank (the CUDA device of an NCCL group). */
  localRank?: number;
  /** Rank 0's address. Default: $MASTER_ADDR, else 127.0.0.1. */
  masterAddr?: string;
  /** The store's port on rank 0. Default: $MASTER_PORT, else 29500. */
  masterPort?: number;
  /** Bounds the rendezvous and every collective (default 5 minutes). */
  timeoutMs?: number;
  /** gloo (CPU tensors, the default) or nccl (CUDA tensors). */
  backend?: Backend;
  /**
   * gloo: the address this rank listens on for its peers, or "iface:NAME". Default: 127.0.0.1 when the
   * master is on this machine, else $GLOO_SOCKET_IFNAME's interface, else this host's name.
   */
  bind?: string;
  env?: NodeJS.ProcessEnv;
}

/** Which process groups this build of the native addon can make, and why Gloo is missing if it is. */
export function backends(): { gloo: boolean; nccl: boolean; missing: string } {
  return native.distBackends();
}

/** Joins the process group of rank, worldSize at masterAddr:masterPort; resolves when every rank has joined. */
export async function init(o: InitOptions = {}): Promise<ProcessGroup> {
  const env = o.env ?? process.env;
  const fromEnv = distEnvFrom(env);
  const worldSize = o.worldSize ?? fromEnv?.worldSize ?? 1;
  const rank = o.rank ?? fromEnv?.rank ?? 0;
  const host = o.masterAddr ?? fromEnv?.masterAddr ?? "127.0.0.1";
  const port = o.masterPort ?? fromEnv?.masterPort ?? 29500;
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const backend = o.backend ?? "gloo";
  const bind = o.bind ?? (isLoopback(host) ? "127.0.0.1" : env.GLOO_SOCKET_IFNAME ? `iface:${env.GLOO_SOCKET_IFNAME.split(",")[0]}` : "");
  const have = backends();
  if (!have.gloo)
    throw new Error(
      `distributed training is not in this build of the native addon: ${have.missing}. ` +
        "Install gloo's headers (apt-get install libgloo-dev, or bash scripts/setup.sh) and rebuild: npm run build:native",
    );
  const who = `rank ${rank} of ${worldSize}`;
  try {
    const g = await native.distInit({
      host,
      port,
      rank,
      size: worldSize,
      timeoutMs,
      backend,
      bind,
      ...(backend === "nccl" ? { device: o.localRank ?? fromEnv?.localRank ?? rank } : {}),
    });
    return new ProcessGroup(g, timeoutMs);
  } catch (e) {
    throw initError(e as Error, who, rank, host, port, timeoutMs);
  }
}

const seconds = (ms: number) => `${+(ms / 1000).toFixed(1)} s`;

function initError(e: Error, who: string, rank: number, host: string, port: number, timeoutMs: number): Error {
  const detail = e.message;
  const at = `${host}:${port}`;
  if (/EADDRINUSE|address already in use/i.test(detail)) {
    return new DistributedError(
      `${who}: cannot serve the rendezvous store on port ${port}: the port is already in use ` + `(choose another with --master-port or MASTER_PORT)`,
      "port-in-use",
      rank,
      detail,
    );
  }
  const joined = /(\d+)\/(\d+) clients joined/.exec(detail);
  if (joined) {
    return new DistributedError(
      `${who}: only ${joined[1]} of ${joined[2]} ranks joined within ${seconds(timeoutMs)}: ` +
        "a rank never started, failed before joining, or cannot reach " +
        at,
      "join",
      rank,
      detail,
    );
  }
  if (/Ping failed|invalid value returned from server/i.test(detail)) {
    return new DistributedError(
      `${who}: something at ${at} answered that is not a rendezvous store: another program holds that port, ` +
        "or the address is not rank 0's machine (choose another --master-port or MASTER_PORT, or check --master-addr)",
      "port-in-use",
      rank,
      detail,
    );
  }
  if (/no rendezvous store answered/.test(detail)) {
    return new DistributedError(
      `${who}: nothing answered as rank 0's store at ${at} within ${seconds(timeoutMs)}: ` +
        "another program holds that port (rank 0 could not serve it), or the address is wrong",
      "port-in-use",
      rank,
      detail,
    );
  }
  if (/^store: .*(timed out|Timed out|connect)/s.test(detail)) {
    return new DistributedError(
      `${who}: could not reach rank 0's store at ${at} within ${seconds(timeoutMs)}: ` +
        "rank 0 never started or failed (see its error), or the address or port is wrong",
      "join",
      rank,
      detail,
    );
  }
  const fault = faultOf(detail);
  return new DistributedError(
    `${who}: joining the process group at ${at} failed: ${fault === "peer-lost" ? "another rank left during the rendezvous" : fault === "timeout" ? `not every rank joined within ${seconds(timeoutMs)}` : shortDetail(detail)}`,
    fault === "other" ? "join" : fault,
    rank,
    detail,
  );
}

function faultOf(detail: string): DistributedFault {
  // gloo's words for a connection that went away (pair.cc): the other end closed it or died.
  if (
    /closed by peer|reset by peer|Broken pipe|Connection refused|got 0 bytes|Connection was likely closed|Socket (unexpectedly )?closed|Read error|Write error|EOF/i.test(
      detail,
    )
  )
    return "peer-lost";
  if (/timed out|timeout/i.test(detail)) return "timeout";
  return "other";
}

/** c10d/gloo's message without the source position and the closing boilerplate. */
const shortDetail = (d: string) =>
  d
    .replace(/\[[^\]]*\.(cc|cpp|h|hpp):\d+\]\s*/g, "")
    .replace(/\s*This is typically caused by.*$/s, "")
    .trim();

/** A joined process group: this process is `rank` of `size`. */
export class ProcessGroup {
  readonly rank: number;
  readonly size: number;
  readonly backend: Backend;
  private closed: Promise<void> | null = null;

  constructor(
    private readonly g: NativeProcessGroup,
    readonly timeoutMs: number,
  ) {
    this.rank = g.rank;
    this.size = g.size;
    this.backend = g.backend;
  }

  /** Reduces each tensor in place over every rank (sum by default). Tensors must not be used until it settles. */
  allreduce(tensors: Tensor[], op: ReduceOp = "sum"): Promise<void> {
    return this.call("allreduce", () =>
      this.g.allreduce(
        tensors.map((t) => t.handle),
        op,
      ),
    );
  }

  /** Each tensor takes rank `root`'s values, in place. */
  broadcast(tensors: Tensor[], root = 0): Promise<void> {
    return this.call("broadcast", () =>
      this.g.broadcast(
        tensors.map((t) => t.handle),
        root,
      ),
    );
  }

  /** Settles when every rank has reached it. */
  barrier(): Promise<void> {
    return this.call("barrier", () => this.g.barrier());
  }

  /** Leaves the group (off the JS thread: gloo's threads are joined). Safe to call twice. */
  close(): Promise<void> {
    this.closed ??= this.g.close();
    return this.closed;
  }

  private async call(what: string, f: () => Promise<void>): Promise<void> {
    try {
      await f();
    } catch (e) {
      const detail = (e as Error).message;
      const fault = faultOf(detail);
      const who = `rank ${this.rank} of ${this.size}`;
      const said =
        fault === "peer-lost"
          ? `another rank left the run during ${what} (it was stopped, killed or failed: its own error says why)`
          : fault === "timeout"
            ? `${what} timed out after ${seconds(this.timeoutMs)}: another rank stopped responding`
            : `${what} failed`;
      throw new DistributedError(`${who}: ${said} [${this.backend}: ${shortDetail(detail)}]`, fault, this.rank, detail);
    }
  }
}
