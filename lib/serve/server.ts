// The HTTP face of a ScoringPool: POST /score, GET /healthz and GET /metrics (Prometheus text, through
// prom-client). Fastify parses and limits bodies and drains in-flight requests on close; every failure
// becomes a status and a message that says what was wrong and what to do.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { createScoringPool, PoolClosedError, QueueFullError, WorkerDiedError, type ImageScore, type PoolOptions, type ScoringPool } from "./pool.js";
import { BadInputError, imagesFromBytes, imagesFromJson } from "./request-images.js";

export interface ServerOptions extends PoolOptions {
  /** Port to listen on (default 8080; 0 picks a free one, see `url`). */
  port?: number;
  /** Address to listen on (default 127.0.0.1; 0.0.0.0 for every interface). */
  host?: string;
  /** Largest body taken; a larger one is answered 413 (default 4 MiB). */
  maxBodyBytes?: number;
  /** Where to report requests that failed on the server's side (500): default nowhere. */
  log?: (line: string) => void;
}

export interface ScoringServer {
  url: string;
  pool: ScoringPool;
  app: FastifyInstance;
  registry: Registry;
  /** Stops taking connections, answers what is in flight, then stops the workers. */
  close(): Promise<void>;
}

/** Starts a pool on `run` and an HTTP server over it; resolves once both are up. */
export async function startServer(run: string, o: ServerOptions = {}): Promise<ScoringServer> {
  const pool = await createScoringPool(run, o);
  try {
    const { app, registry } = scoringApp(pool, o);
    // Keep-alive connections of requests in flight would hold close() open forever: their answers end them.
    let closing: Promise<void> | null = null;
    app.addHook("onSend", async (_req, reply) => {
      if (closing) reply.header("connection", "close");
    });
    const url = await app.listen({ port: o.port ?? 8080, host: o.host ?? "127.0.0.1" });
    return { url, pool, app, registry, close: () => (closing ??= app.close().then(() => pool.close())) };
  } catch (e) {
    await pool.close();
    throw e;
  }
}

/** A Fastify app over an existing pool (not listening yet): its routes, metrics and error answers. */
export function scoringApp(pool: ScoringPool, o: Pick<ServerOptions, "maxBodyBytes" | "log"> = {}): { app: FastifyInstance; registry: Registry } {
  const maxBody = o.maxBodyBytes ?? 4 * 1024 * 1024;
  const app = Fastify({ bodyLimit: maxBody, logger: false, return503OnClosing: true });
  const registry = new Registry();
  const m = metrics(registry, pool);
  const shape = pool.info.imageShape;
  const d = shape[0] * shape[1] * shape[2];
  const send = `send a PNG or JPEG of ${shape[2]}x${shape[1]}, ${d} raw bytes, or JSON {"images": [[...${d} pixels 0-255], ...]}`;

  // Anything that is not JSON arrives as bytes; request-images.ts tells PNG, JPEG and raw bytes apart.
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  app.addHook("onResponse", (req, reply, done) => {
    const route = req.routeOptions.url ?? "unmatched";
    m.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    m.latency.observe({ route }, reply.elapsedTime / 1000);
    done();
  });

  app.post("/score", async (req, reply) => {
    const json = (req.headers["content-type"] ?? "").startsWith("application/json");
    const body = json ? imagesFromJson(req.body, shape, pool.info.maxQueue) : imagesFromBytes((req.body as Buffer) ?? Buffer.alloc(0), shape);
    const scores = await pool.score(body.images, body.n).catch((e: Error) => {
      // The pool's own checks of the images (size, values) are the client's mistake too.
      throw e instanceof RangeError || e instanceof TypeError ? new BadInputError(e.message) : e;
    });
    m.images.inc(body.n);
    return reply.send(body.batch ? { results: scores.map(jsonSafe) } : jsonSafe(scores[0]!));
  });

  app.get("/healthz", async (_req, reply) => {
    const s = pool.stats();
    const { run, kind, step, imageShape, workers, threads, maxBatch, maxWaitMs, ood } = pool.info;
    return reply.code(s.workers > 0 ? 200 : 503).send({
      status: s.workers > 0 ? "ok" : "no worker is up",
      run,
      kind,
      step,
      imageShape,
      workers: { up: s.workers, configured: workers, threads, restarts: s.restarts },
      maxBatch,
      maxWaitMs,
      queue: s.queuedImages,
      ood,
    });
  });

  app.get("/metrics", async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  app.setErrorHandler((err: FastifyError, req, reply) => answerError(err, req.url, reply, { maxBody, send, log: o.log }));
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: `no route ${req.method} ${req.url}: the routes are POST /score, GET /healthz and GET /metrics` }),
  );
  return { app, registry };
}

function answerError(err: FastifyError, url: string, reply: FastifyReply, o: { maxBody: number; send: string; log?: ((line: string) => void) | undefined }) {
  const fail = (status: number, error: string) => reply.code(status).send({ error });
  if (err instanceof BadInputError) return fail(400, err.message);
  if (err instanceof QueueFullError || err instanceof PoolClosedError) {
    reply.header("Retry-After", "1");
    return fail(503, err.message);
  }
  if (err instanceof WorkerDiedError) {
    o.log?.(`${url}: 500: ${err.message}`);
    return fail(500, err.message);
  }
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return fail(
        413,
        `the body is over ${o.maxBody} bytes, the most this server takes: send fewer images per request (or start it with a larger --max-body-bytes)`,
      );
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return fail(400, `empty body: ${o.send}`);
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return fail(400, `the body is not valid JSON (${err.message}); NaN and Infinity are not JSON: send numbers only`);
  }
  if (err instanceof SyntaxError) return fail(400, `the body is not valid JSON (${err.message}); NaN and Infinity are not JSON: send numbers only`);
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

function metrics(registry: Registry, pool: ScoringPool) {
  // Event-loop delay sampled every millisecond: a scoring call that blocked the loop would show here.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1 });
  const requests = new Counter({
    name: "torchts_serve_requests_total",
    help: "HTTP requests answered, by route, method and status",
    labelNames: ["route", "method", "status"],
    registers: [registry],
  });
  const latency = new Histogram({
    name: "torchts_serve_request_duration_seconds",
    help: "Time from request to answer",
    labelNames: ["route"],
    registers: [registry],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const images = new Counter({ name: "torchts_serve_images_scored_total", help: "Images scored and answered", registers: [registry] });
  const batchImages = new Histogram({
    name: "torchts_serve_batch_size_images",
    help: "Images per model call",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  });
  const batchRequests = new Histogram({
    name: "torchts_serve_batch_size_requests",
    help: "Requests per model call",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  });
  const restarts = new Counter({ name: "torchts_serve_worker_restarts_total", help: "Workers that died and were replaced", registers: [registry] });
  new Gauge({
    name: "torchts_serve_queue_depth_images",
    help: "Images waiting for a worker",
    registers: [registry],
    collect() {
      this.set(pool.stats().queuedImages);
    },
  });
  new Gauge({
    name: "torchts_serve_queue_depth_requests",
    help: "Requests waiting for a worker",
    registers: [registry],
    collect() {
      this.set(pool.stats().queuedRequests);
    },
  });
  new Gauge({
    name: "torchts_serve_workers_busy",
    help: "Workers scoring a batch now",
    registers: [registry],
    collect() {
      this.set(pool.stats().busyWorkers);
    },
  });
  new Gauge({
    name: "torchts_serve_workers_up",
    help: "Workers loaded and serving",
    registers: [registry],
    collect() {
      this.set(pool.stats().workers);
    },
  });
  pool.on("batch", (n: number, requests: number) => {
    batchImages.observe(n);
    batchRequests.observe(requests);
  });
  pool.on("restart", () => restarts.inc());
  return { requests, latency, images };
}
