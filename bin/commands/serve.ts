// `torchts-ood serve RUN`: an HTTP server that scores images with a trained run (lib/serve/server.ts).
import type { CommandModule } from "yargs";
import { existsSync } from "node:fs";
import { dataOptions, positiveInt } from "./options.js";

interface ServeArgs {
  run: string;
  port: number;
  host: string;
  workers?: number;
  threads?: number;
  "worker-nice": number;
  "max-batch": number;
  "max-wait-ms": number;
  "max-queue": number;
  "max-body-bytes": number;
  "ood-score": string;
  "ood-file"?: string;
  "data-dir"?: string;
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: "serve <run>",
  describe: "Serve log p(x), bits/dim and an OOD verdict over HTTP (POST /score, GET /healthz, GET /metrics)",
  builder: (y) =>
    y
      .positional("run", { type: "string", demandOption: true, describe: "run folder written by `train` (thresholds from RUN/ood/*.json, written by `ood`)" })
      .option("port", { type: "number", default: 8080, describe: "0 picks a free port (printed at start)" })
      .option("host", { type: "string", default: "127.0.0.1", describe: "0.0.0.0 to listen on every interface" })
      .option("workers", { type: "number", describe: "worker threads, each with its own copy of the model (default: cores / threads)" })
      .option("threads", { type: "number", describe: "LibTorch threads per worker (default 1); workers x threads should fit the cores" })
      .option("worker-nice", { type: "number", default: 10, describe: "nice value 0-19 of the scoring threads: the thread that answers requests runs first" })
      .option("max-batch", { type: "number", default: 64, describe: "most images scored in one model call" })
      .option("max-wait-ms", { type: "number", default: 2, describe: "how long a request may wait for others to share its batch" })
      .option("max-queue", { type: "number", default: 2048, describe: "most images waiting; past it requests are answered 503 with Retry-After" })
      .option("max-body-bytes", { type: "number", default: 4 * 1024 * 1024, describe: "larger bodies are answered 413" })
      .option("ood-score", {
        type: "string",
        default: "combined",
        describe:
          "the score of the verdict: combined (the detector judged by its worst pair, README), log-likelihood, typicality, input-complexity, input-complexity-brotli or flow-terms",
      })
      .option("ood-file", { type: "string", describe: "the ood report with the threshold (default: the newest in RUN/ood/ with the score)" })
      .option("data-dir", { type: "string", describe: "data sets (flow-terms evaluates the held-out data again at start)" }) as never,
  handler: async (a) => {
    if (!existsSync(a.run)) throw new Error(`no run folder at ${a.run}`);
    if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new Error(`--port must be an integer 0-65535, got ${a.port}`);
    if (!(Number.isFinite(a["max-wait-ms"]) && a["max-wait-ms"] >= 0)) throw new Error(`--max-wait-ms must be a number >= 0, got ${a["max-wait-ms"]}`);
    // Imported here, not at the top: --help must not load the scoring stack.
    const [{ startServer }, { isScoreName }, { SCORE_NAMES }] = await Promise.all([
      import("../../lib/serve/server.js"),
      import("../../lib/serve/ood-rule.js"),
      import("../../lib/ood/scores.js"),
    ]);
    if (!isScoreName(a["ood-score"])) throw new Error(`--ood-score: unknown score '${a["ood-score"]}'; the scores are ${SCORE_NAMES.join(", ")}`);
    const server = await startServer(a.run, {
      port: a.port,
      host: a.host,
      maxBatch: positiveInt("max-batch", a["max-batch"])!,
      maxWaitMs: a["max-wait-ms"],
      maxQueue: positiveInt("max-queue", a["max-queue"])!,
      maxBodyBytes: positiveInt("max-body-bytes", a["max-body-bytes"])!,
      ...(a.workers !== undefined ? { workers: positiveInt("workers", a.workers)! } : {}),
      ...(a.threads !== undefined ? { threads: positiveInt("threads", a.threads)! } : {}),
      workerNice: a["worker-nice"],
      oodScore: a["ood-score"],
      ...(a["ood-file"] ? { oodFile: a["ood-file"] } : {}),
      data: dataOptions(a["data-dir"], false),
      log: (line) => console.error(`torchts-ood serve: ${line}`),
    });
    const i = server.pool.info;
    console.log(
      `torchts-ood serve: ${i.kind} run ${i.run} (step ${i.step}) on ${server.url} with ${i.workers} worker${i.workers > 1 ? "s" : ""} x ${i.threads} thread${i.threads > 1 ? "s" : ""}, batches up to ${i.maxBatch} images or ${i.maxWaitMs} ms`,
    );
    console.log(
      "ood" in i && "note" in i.ood
        ? `torchts-ood serve: ${i.ood.note}`
        : `torchts-ood serve: verdict: ${(i.ood as { score: string }).score} > ${(i.ood as { threshold: number }).threshold} is OOD (${(i.ood as { file: string }).file})`,
    );
    // SIGTERM (or Ctrl-C): answer what is in flight, stop the workers, exit 0.
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        console.log(`torchts-ood serve: ${signal}: draining in-flight requests`);
        server.close().then(resolve, (e) => {
          console.error(`torchts-ood serve: while closing: ${(e as Error).message}`);
          resolve();
        });
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
    console.log("torchts-ood serve: stopped");
  },
};
