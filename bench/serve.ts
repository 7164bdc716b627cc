// `npm run bench:serve [-- RUN] [--workers N] [--requests N] [--seconds S] [--isolation process] [--ood-score NAME]`:
// `torchts-ood serve` on loopback under autocannon at 1, 8 and 64 connections, against the same model
// scored in a plain loop (the ceiling); then 8 connections again while bombs and slow clients are refused
// (the hostile row). Also the server's event-loop delay while it scores, and its RSS after 10,000 and after
// --requests requests. The run is copied (and given fresh thresholds), never written into.
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { Worker } from "node:worker_threads";
import { loadSplit } from "../lib/train/run.js";
import { oodScores } from "../lib/ood/ood-scores.js";
import { jpegBomb, pngBomb } from "./hostile-bodies.js";

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const source = process.argv[2] && !process.argv[2].startsWith("--") ? process.argv[2] : "/work/runs/glow-fm";
const seconds = arg("seconds", 15),
  totalRequests = arg("requests", 100_000),
  maxBatch = arg("max-batch", 64);
const cores = availableParallelism();
const workers = arg("workers", cores),
  threads = arg("threads", 1);
const isolation = process.argv.includes("--isolation") ? process.argv[process.argv.indexOf("--isolation") + 1]! : "thread";
// The verdict's score (default: the server's default, the combined detector).
const oodScore = process.argv.includes("--ood-score") ? process.argv[process.argv.indexOf("--ood-score") + 1]! : "combined";
if (!existsSync(join(source, "checkpoint.safetensors")))
  throw new Error(`bench:serve: no trained run at ${source}; train one (\`torchts-ood train glow --preset cpu --out DIR\`) and pass DIR`);

// A copy, so `ood` writes its thresholds there and not into the source run.
const run = join(mkdtempSync(join(tmpdir(), "torchts-bench-serve-")), "run");
cpSync(source, run, { recursive: true });
rmSync(join(run, "ood"), { recursive: true, force: true });
const data = { ...(process.env.TORCHTS_OOD_DATA ? { dataDir: process.env.TORCHTS_OOD_DATA } : {}) };
// The thresholds and the combined detector's density are fitted on the run's validation split (or its training
// split's last 5,000 for a run made before validation splits), 5,000 images as `ood` takes by default: the
// density's cost per served image grows with them. 500 images of each tested set are enough for a benchmark.
const config = JSON.parse(readFileSync(join(run, "config.json"), "utf8")) as { valSplit?: string };
await oodScores({
  run,
  in: "fashion-mnist:test[:500]",
  ood: "mnist:test[:500]",
  heldOut: config.valSplit ?? "fashion-mnist:train[-5000:]",
  scores: ["log-likelihood", "typicality", "combined"],
  data,
});
const test = await loadSplit("fashion-mnist:test[:64]", data);
const bodies = Array.from({ length: 64 }, (_, i) => Buffer.from(test.images.subarray(i * 784, (i + 1) * 784)));

/**
 * Images per second of the model in plain loops, batches of 64, no HTTP: the better of one loop with every
 * thread the server has (workers x threads) and one loop per server worker, side by side, each with its
 * threads (on a busy machine, one loop over many threads can be much slower).
 */
async function loopCeiling(): Promise<{ rate: number; how: string }> {
  const loops = (count: number, each: number) =>
    Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<number>((resolve, reject) => {
            const w = new Worker(fileURLToPath(new URL("./serve-loop.js", import.meta.url)), {
              workerData: { run, images: test.images, threads: each, seconds },
            });
            w.once("message", resolve);
            w.once("error", reject);
          }),
      ),
    ).then((rates) => rates.reduce((a, b) => a + b, 0));
  const one = await loops(1, workers * threads);
  const side = workers > 1 ? await loops(workers, threads) : 0;
  return one >= side
    ? { rate: one, how: `one loop, ${workers * threads} thread(s)` }
    : { rate: side, how: `${workers} loops side by side, ${threads} thread(s) each` };
}

async function startServe(): Promise<{ child: ChildProcess; url: string }> {
  const cli = fileURLToPath(new URL("../bin/torchts-ood.js", import.meta.url));
  const child = spawn(
    process.execPath,
    // Short header and body timeouts: the hostile row's slow clients are cut off while it runs.
    [
      cli,
      "serve",
      run,
      "--port",
      "0",
      "--workers",
      String(workers),
      "--threads",
      String(threads),
      "--max-batch",
      String(maxBatch),
      "--isolation",
      isolation,
      "--ood-score",
      oodScore,
      "--headers-timeout-ms",
      "1000",
      "--body-timeout-ms",
      "2000",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (b: Buffer) => {
      out += String(b);
      const m = /on (http:\/\/[\d.:]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}`)));
  });
  return { child, url };
}

/** One value of the server's /metrics (scraping also resets prom-client's event-loop delay histogram). */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

function load(url: string, connections: number, o: { duration?: number; amount?: number }): Promise<autocannon.Result> {
  let i = 0;
  return autocannon({
    url: `${url}/score`,
    connections,
    ...o,
    method: "POST",
    headers: { "content-type": "application/octet-stream" },
    // Each request one of 64 test images, in turn.
    requests: [{ setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }) }],
  } as autocannon.Options);
}

const rows: string[] = [];
const before = await loopCeiling();
const ceilingBefore = before.rate;
console.log(`plain loop (batch 64, ${before.how}): ${ceilingBefore.toFixed(0)} images/s`);
const { child, url } = await startServe();
await load(url, 8, { duration: 3 }); // warm-up
for (const c of [1, 8, 64]) {
  await metric(url, "nodejs_eventloop_lag_p99_seconds"); // resets the delay histogram
  const [batchSum0, batchCount0] = [await metric(url, "torchts_serve_batch_size_images_sum"), await metric(url, "torchts_serve_batch_size_images_count")];
  const r = await load(url, c, { duration: seconds });
  const lagP99 = await metric(url, "nodejs_eventloop_lag_p99_seconds");
  const meanBatch =
    ((await metric(url, "torchts_serve_batch_size_images_sum")) - batchSum0) / ((await metric(url, "torchts_serve_batch_size_images_count")) - batchCount0);
  const row = `| ${c} | ${r.requests.average.toFixed(0)} | ${((100 * r.requests.average) / ceilingBefore).toFixed(0)}% | ${r.latency.p50} | ${r.latency.p99} | ${meanBatch.toFixed(1)} | ${(lagP99 * 1000).toFixed(1)} | ${r.non2xx + r.errors} |`;
  rows.push(row);
  console.log(row);
}

/**
 * 8 connections of ordinary requests while a side loop sends decompression bombs (interlaced and plain PNGs
 * inflating to 1 GiB, a 2000x2000 JPEG) one after another as fast as they are answered, and 16 clients send
 * full headers and then one body byte every 500 ms (each cut off by --body-timeout-ms and replaced). With
 * `junk`, the side loop sends the same bytes as raw bytes of the wrong length instead: what receiving the
 * bodies costs, without any image in them.
 */
async function hostileRow(url: string, junk: boolean): Promise<string> {
  const GiB = 2 ** 30;
  const images = [pngBomb({ interlaced: true, inflated: GiB }), pngBomb({ interlaced: false, inflated: GiB }), await jpegBomb(2000)];
  const bombs = junk ? images.map((b) => Buffer.alloc(b.length, 7)) : images;
  const types = junk ? Array(3).fill("application/octet-stream") : ["image/png", "image/png", "image/jpeg"];
  let stop = false,
    sent = 0,
    refused = 0,
    cutOff = 0;
  const bombing = (async () => {
    while (!stop) {
      const k = sent++ % bombs.length;
      const r = await fetch(`${url}/score`, { method: "POST", body: bombs[k], headers: { "content-type": types[k]! } });
      if (r.status === 400) refused++;
      await r.arrayBuffer();
    }
  })();
  const u = new URL(url);
  const slowClient = (): void => {
    if (stop) return;
    const s = connect(Number(u.port), u.hostname);
    s.on("error", () => {});
    s.write(`POST /score HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/octet-stream\r\nContent-Length: 784\r\n\r\n`);
    const t = setInterval(() => s.write("0"), 500);
    s.once("close", () => {
      clearInterval(t);
      if (!stop) cutOff++;
      slowClient();
    });
    sockets.add(s);
  };
  const sockets = new Set<ReturnType<typeof connect>>();
  for (let k = 0; k < 16; k++) slowClient();
  await metric(url, "nodejs_eventloop_lag_p99_seconds"); // resets the delay histogram
  const r = await load(url, 8, { duration: seconds });
  const lagP99 = await metric(url, "nodejs_eventloop_lag_p99_seconds");
  stop = true;
  await bombing;
  for (const s of sockets) s.destroy();
  const what = junk ? "bodies of the bombs' sizes, not images," : "bombs";
  return `| 8 + ${junk ? "junk" : "hostile"} | ${r.requests.average.toFixed(0)} | ${r.latency.p50} | ${r.latency.p99} | ${(lagP99 * 1000).toFixed(1)} | ${refused} of ${sent} ${what} refused (400), ${cutOff} slow clients cut off | ${r.non2xx + r.errors} |`;
}
const hostile = [await hostileRow(url, false), await hostileRow(url, true)];
console.log(hostile.join("\n"));

// Memory: RSS after 10,000 requests, then after totalRequests (64 connections throughout).
const t0 = performance.now();
// Every 10,000 requests: RSS (the whole process, workers included) and the main thread's V8 heap.
const series: { rss: number; heap: number }[] = [];
for (let done = 0; done + 10_000 <= totalRequests; done += 10_000) {
  // --requests 0 skips the memory run
  await load(url, 64, { amount: 10_000 });
  series.push({ rss: await metric(url, "process_resident_memory_bytes"), heap: await metric(url, "nodejs_heap_size_used_bytes") });
  console.log(
    `${(done + 10_000).toLocaleString("en")} requests: RSS ${(series.at(-1)!.rss / 2 ** 20).toFixed(0)} MiB, V8 heap used ${(series.at(-1)!.heap / 2 ** 20).toFixed(0)} MiB`,
  );
}
const rss10k = series[0]?.rss ?? NaN,
  rssEnd = series.at(-1)?.rss ?? NaN;
const minutes = (performance.now() - t0) / 60_000;
child.kill("SIGTERM");
const after = await loopCeiling();

console.log(
  `\n${workers} worker(s) x ${threads} thread(s) (isolation ${isolation}), max batch ${maxBatch}, ${seconds} s per row; ${cores} cores, load average ${loadavg()
    .map((v) => v.toFixed(1))
    .join(" ")} at the end`,
);
console.log(
  `plain loop: ${ceilingBefore.toFixed(0)} images/s before (${before.how}), ${after.rate.toFixed(0)} after (${after.how}); "of the loop" is against the one before\n`,
);
console.log("| connections | requests/s | of the loop | p50 ms | p99 ms | mean batch | event-loop p99 ms | non-2xx |");
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const row of rows) console.log(row);
console.log("\n| connections | requests/s | p50 ms | p99 ms | event-loop p99 ms | hostile traffic | non-2xx |\n| --- | --- | --- | --- | --- | --- | --- |");
console.log(hostile.join("\n"));
const mib = (b: number) => (b / 2 ** 20).toFixed(0);
console.log(
  series.length === 0
    ? `\nno memory run (--requests ${totalRequests}: fewer than 10,000)`
    : `\nRSS after 10,000 requests ${mib(rss10k)} MiB, after ${(series.length * 10_000).toLocaleString("en")} ${mib(rssEnd)} MiB (${(100 * (rssEnd / rss10k - 1)).toFixed(1)}%), ${minutes.toFixed(1)} min; every 10,000: ${series.map((p) => mib(p.rss)).join(", ")} MiB`,
);
rmSync(join(run, ".."), { recursive: true, force: true });
