// The HTTP face of a ScoringPool: POST /score, GET /healthz and GET /metrics (Prometheus text, through
// prom-client). Fastify limits bodies and drains in-flight requests on close; Node's HTTP server times out
// slow headers, slow bodies and idle keep-alive connections. The content type alone decides how a body is
// read (content-type.ts). Every failure becomes a status and a message that says what was wrong and what
// to do. A reload starts a new pool on the run folder as it is now, and swaps it in whole: model and
// thresholds always change together.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import { bodyKind, unsupportedType } from "./content-type.js";
import { parseBackground } from "./decode-image.js";
import { serverMetrics } from "./metrics.js";
import {
  createScoringPool,
  PoolClosedError,
  QueueFullError,
  WorkerDiedError,
  type ImageScore,
  type PoolInfo,
  type PoolOptions,
  type ScoringPool,
} from "./pool.js";
import { BadInputError, requestImages } from "./request-images.js";

export interface ServerOptions extends PoolOptions {
  /** Port to listen on (default 8080; 0 picks a free one, see `url`). */
  port?: number;
  /** Address to listen on (default 127.0.0.1; 0.0.0.0 for every interface). */
  host?: string;
  /** Largest body taken; a larger one is answered 413 (default 4 MiB). */
  maxBodyBytes?: number;
  /** A request's headers must arrive within this (default 10 s); else 408 and the connection is closed. */
  headersTimeoutMs?: number;
  /** The whole request, body included, must arrive within this (default 30 s); else 408 and closed. */
  bodyTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** On close, requests still in flight after this are cut off (default 10 s). */
  drainTimeoutMs?: number;
  /** Where to report requests that failed on the server's side (500): default nowhere. */
  log?: (line: string) => void;
}

export interface ScoringServer {
  /** The address the server is bound to (http://0.0.0.0:PORT when bound to every interface). */
  url: string;
  /** The pool serving now (a reload replaces it). */
  readonly pool: ScoringPool;
  app: FastifyInstance;
  registry: Registry;
  /** Loads the run folder's checkpoint and thresholds as they are now into a new pool, then swaps it in. */
  reload(): Promise<PoolInfo>;
  /** Stops taking connections, answers what is in flight (at most drainTimeoutMs), then stops the workers. */
  close(): Promise<void>;
}

const DEFAULTS = { headersTimeoutMs: 10_000, bodyTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, drainTimeoutMs: 10_000 };
type Limits = typeof DEFAULTS;

function limitsOf(o: Partial<Limits>): Limits {
  const l = { ...DEFAULTS };
  for (const k of Object.keys(DEFAULTS) as (keyof Limits)[]) {
    const v = o[k] ?? DEFAULTS[k];
    if (!(Number.isInteger(v) && v > 0)) throw new RangeError(`startServer: ${k} must be a positive integer (milliseconds), got ${v}`);
    l[k] = v;
  }
  if (l.headersTimeoutMs > l.bodyTimeoutMs)
    throw new RangeError(
      `startServer: headersTimeoutMs (${l.headersTimeoutMs}) must not exceed bodyTimeoutMs (${l.bodyTimeoutMs}), which counts the headers too`,
    );
  return l;
}

/** Starts a pool on `run` and an HTTP server over it; resolves once both are up. */
export async function startServer(run: string, o: ServerOptions = {}): Promise<ScoringServer> {
  const limits = limitsOf(o);
  let pool = await createScoringPool(run, o);
  const retired = new Set<Promise<void>>();
  try {
    const { app, registry, watch } = scoringApp(() => pool, o);
    watch(pool);
    // Keep-alive connections of requests in flight would hold close() open: their answers end them.
    let closing: Promise<void> | null = null;
    app.addHook("onSend", async (_req, reply) => {
      if (closing) reply.header("connection", "close");
    });
    await app.listen({ port: o.port ?? 8080, host: o.host ?? "127.0.0.1" });
    let reloading: Promise<PoolInfo> | null = null;
    const reload = () =>
      (reloading ??= (async () => {
        if (closing) throw new PoolClosedError("reload: the server is closing");
        const next = await createScoringPool(run, o); // the old pool serves until the new one is up
        const old = pool;
        pool = next;
        watch(next);
        const done = old.close(); // answers what it holds
        retired.add(done);
        void done.finally(() => retired.delete(done));
        return next.info;
      })().finally(() => (reloading = null)));
    const close = () =>
      (closing ??= (async () => {
        const drained = app.close();
        const cut = setTimeout(() => app.server.closeAllConnections(), limits.drainTimeoutMs);
        await drained;
        clearTimeout(cut);
        await reloading?.catch(() => {});
        await Promise.all([pool.close(), ...retired]);
      })());
    return {
      url: boundUrl(app.server.address() as AddressInfo),
      get pool() {
        return pool;
      },
      app,
      registry,
      reload,
      close,
    };
  } catch (e) {
    await pool.close();
    throw e;
  }
}

const boundUrl = (a: AddressInfo) => `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;

/** The routes and the methods each takes (HEAD comes with GET): any other method is a 405 with Allow. */
const ROUTES: Record<string, string> = { "/score": "POST", "/healthz": "GET, HEAD", "/metrics": "GET, HEAD" };

class UnsupportedTypeError extends Error {
  override name = "UnsupportedTypeError";
}

/**
 * A Fastify app over the pool `pool()` returns (the one serving now), not listening yet: its routes,
 * metrics, timeouts and error answers. `watch` must be called on each pool it serves, for the metrics.
 */
export function scoringApp(
  pool: () => ScoringPool,
  o: Pick<ServerOptions, "maxBodyBytes" | "log" | keyof Limits> = {},
): { app: FastifyInstance; registry: Registry; watch: (p: ScoringPool) => void } {
  const maxBody = o.maxBodyBytes ?? 4 * 1024 * 1024;
  const l = limitsOf(o);
  const app = Fastify({
    bodyLimit: maxBody,
    logger: false,
    return503OnClosing: true,
    requestTimeout: l.bodyTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    // Node checks the timeouts above every connectionsCheckingInterval (30 s by default): often enough here.
    http: { headersTimeout: l.headersTimeoutMs, connectionsCheckingInterval: Math.max(50, Math.min(1000, l.headersTimeoutMs / 4)) },
  });
  const registry = new Registry();
  const m = serverMetrics(registry, pool);
  const send = (shape: readonly number[]) => {
    const d = shape[0]! * shape[1]! * shape[2]!;
    return `send a PNG or JPEG of ${shape[2]}x${shape[1]}, ${d} raw bytes, or JSON {"images": [[...${d} pixels 0-255], ...]}`;
  };

  // Bodies arrive as bytes; the declared content type says what they are (request-images.ts). A type
  // that is not taken is refused before its body is read.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  // Every request is counted once its connection is done with it, answered or not.
  app.addHook("onRequest", (req, reply, done) => {
    const route = req.routeOptions.url ?? "unmatched";
    reply.raw.once("close", () => {
      const status = reply.raw.writableFinished ? String(reply.raw.statusCode) : "aborted";
      m.requests.inc({ route, method: req.method, status });
      m.latency.observe({ route }, reply.elapsedTime / 1000);
    });
    done();
  });

  app.post(
    "/score",
    {
      preParsing: async (req) => {
        if (!bodyKind(req.headers["content-type"])) throw new UnsupportedTypeError(unsupportedType(req.headers["content-type"]));
      },
    },
    async (req, reply) => {
      const kind = bodyKind(req.headers["content-type"]);
      if (!kind) throw new UnsupportedTypeError(unsupportedType(req.headers["content-type"])); // a POST without a body skips parsing
      const background = parseBackground((req.query as Record<string, unknown>).background);
      const body = await requestImages(kind, req.body, pool().info.imageShape, pool().info.maxQueue, background);
      const scores = await scoreOn(pool, body.images, body.n).catch((e: Error) => {
        // The pool's own checks of the images (size, values) are the client's mistake too.
        throw e instanceof RangeError || e instanceof TypeError ? new BadInputError(e.message) : e;
      });
      m.images.inc(body.n);
      const answers = scores.map((s) => jsonSafe(body.note ? { ...s, note: [body.note, s.note].filter(Boolean).join("; ") } : s));
      return reply.send(body.batch ? { results: answers } : answers[0]!);
    },
  );

  app.get("/healthz", async (_req, reply) => {
    const p = pool();
    const s = p.stats();
    const { run, kind, step, checkpoint, imageShape, isolation, workers, threads, maxBatch, maxWaitMs, ood } = p.info;
    return reply.code(s.workers > 0 ? 200 : 503).send({
      status: s.workers > 0 ? "ok" : "no worker is up",
      run,
      kind,
      step,
      checkpoint,
      imageShape,
      workers: { up: s.workers, configured: workers, threads, isolation, restarts: s.restarts },
      maxBatch,
      maxWaitMs,
      queue: s.queuedImages,
      ood,
    });
  });

  app.get("/metrics", async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  app.setErrorHandler((err: FastifyError, req, reply) => answerError(err, req.url, reply, { maxBody, send: send(pool().info.imageShape), log: o.log }));
  app.setNotFoundHandler((req, reply) => {
    const allow = ROUTES[req.url.split("?")[0]!];
    if (allow) {
      reply.header("allow", allow);
      return reply.code(405).send({ error: `${req.method} is not taken here: ${allow.split(", ")[0]} ${req.url.split("?")[0]}` });
    }
    return reply.code(404).send({ error: `no route ${req.method} ${req.url}: the routes are POST /score, GET /healthz and GET /metrics` });
  });
  return { app, registry, watch: m.watch };
}

/** Scores on the pool serving now; a request caught by a reload's swap goes to the new pool. */
async function scoreOn(pool: () => ScoringPool, images: Uint8Array | Float32Array, n: number): Promise<ImageScore[]> {
  const p = pool();
  try {
    return await p.score(images, n);
  } catch (e) {
    if (e instanceof PoolClosedError && pool() !== p) return pool().score(images, n);
    throw e;
  }
}

function answerError(err: FastifyError, url: string, reply: FastifyReply, o: { maxBody: number; send: string; log?: ((line: string) => void) | undefined }) {
  const fail = (status: number, error: string) => reply.code(status).send({ error });
  if (err instanceof BadInputError) return fail(400, err.message);
  if (err instanceof UnsupportedTypeError) return fail(415, err.message);
  if (err instanceof QueueFullError || err instanceof PoolClosedError) {
    reply.header("Retry-After", "1");
    return fail(503, err.message);
  }
  if (err instanceof WorkerDiedError) {
    o.log?.(`${url}: 500: ${err.message}`);
    return fail(500, err.message);
  }
  if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE")
    return fail(
      413,
      `the body is over ${o.maxBody} bytes, the most this server takes: send fewer images per request (or start it with a larger --max-body-bytes)`,
    );
  if (err.statusCode && err.statusCode < 500) return fail(err.statusCode, err.message);
  o.log?.(`${url}: 500: ${err.stack ?? err.message}`);
  return fail(500, `the server failed to score this request (${err.message}); it keeps serving: try again, and report it if it repeats`);
}

// JSON has no Infinity: a log-likelihood beyond float range is sent as null, and the note says so.
function jsonSafe(s: ImageScore): ImageScore {
  if (Number.isFinite(s.logPx) && (!s.ood || Number.isFinite(s.ood.value))) return s;
  return {
    ...s,
    note: [s.note, "values beyond float range (log p(x) = -Infinity: the image leaves the model's support) are sent as null"].filter(Boolean).join("; "),
  };
}
