// `torchts-ood serve` over real HTTP on a real port: the answers are eval's numbers, requests that arrive
// together share a model call, every bad input is a 400/413/503 that says what to do, and a worker that
// dies fails only its own requests (500) and is replaced.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import jpeg from "jpeg-js";
import sharp from "sharp";
import type { Worker } from "node:worker_threads";
import { startServer, type ScoringServer } from "../../lib/serve/server.js";
import { oodFileName } from "../../lib/ood/ood-scores.js";
import type { ImageDataset } from "../../lib/data/index.js";
import { close, imageBytes, png, post, servingFixture } from "./helpers.js";

let run = "";
let images: ImageDataset;
let reference: Float64Array; // eval's log p(x) of each test image, at bin centres
beforeAll(async () => void ({ run, images, reference } = await servingFixture(8)));

describe("POST /score", () => {
  let server: ScoringServer;
  beforeAll(async () => {
    server = await startServer(run, { port: 0, workers: 2, maxBatch: 16, maxBodyBytes: 200_000 });
  });
  afterAll(() => server.close());

  it("answers a PNG, raw bytes and a JSON batch with eval's log p(x), bits/dim and the combined detector's verdict", async () => {
    const fromPng = await post(`${server.url}/score`, png(imageBytes(images, 0)), "image/png");
    const fromRaw = await post(`${server.url}/score`, imageBytes(images, 1), "application/octet-stream");
    const batch = await post(
      `${server.url}/score`,
      JSON.stringify({ images: Array.from({ length: 8 }, (_, i) => Array.from(imageBytes(images, i))) }),
      "application/json",
    );
    expect([fromPng.status, fromRaw.status, batch.status]).toEqual([200, 200, 200]);
    expect(close(fromPng.body.logPx, reference[0]!)).toBe(true);
    expect(close(fromRaw.body.logPx, reference[1]!)).toBe(true);
    expect(batch.body.results).toHaveLength(8);
    batch.body.results.forEach((r: { logPx: number; bitsPerDim: number }, i: number) => {
      expect(close(r.logPx, reference[i]!)).toBe(true);
      expect(r.bitsPerDim).toBeCloseTo(-r.logPx / (784 * Math.LN2), 9);
    });
    // The default verdict is the combined detector's, the very score `ood` gave this image (the in set is
    // fashion-mnist:test, scored at bin centres as the service scores).
    const report = JSON.parse(readFileSync(join(run, "ood", oodFileName("fashion-mnist:train[-5000:]", "fashion-mnist:test", "mnist:test", 200)), "utf8"));
    const verdict = fromRaw.body.ood;
    expect(verdict.score).toBe("combined");
    expect(verdict.threshold).toBe(report.scores.combined.threshold);
    expect(Math.abs(verdict.value - report.perExample.combined.in[1]) / report.perExample.combined.in[1]).toBeLessThan(1e-6);
    expect(verdict.isOod).toBe(verdict.value > verdict.threshold);
  });

  it("answers a JPEG with the scores of the pixels it decodes to", async () => {
    const pixels = imageBytes(images, 2);
    const rgba = new Uint8Array(784 * 4).map((_, k) => (k % 4 === 3 ? 255 : pixels[k >> 2]!));
    const file = Buffer.from(jpeg.encode({ data: rgba, width: 28, height: 28 }, 95).data);
    // The server decodes with sharp (libjpeg): its pixels may differ from jpeg-js's by a level or two.
    const decoded = new Uint8Array(await sharp(file).extractChannel(0).raw().toBuffer());
    expect(decoded).toHaveLength(784);
    const [fromJpeg, fromBytes] = await Promise.all([
      post(`${server.url}/score`, file, "image/jpeg"),
      post(`${server.url}/score`, decoded, "application/octet-stream"),
    ]);
    expect(fromJpeg.status).toBe(200);
    expect(close(fromJpeg.body.logPx, fromBytes.body.logPx)).toBe(true);
  });

  it.each([
    ["a PNG of another size", () => png(new Uint8Array(32 * 32), 32, 32), "image/png", /PNG is 32x32 pixels, this model scores 28x28.*resize/],
    ["a colour PNG for a grayscale model", () => png(new Uint8Array(784).fill(100), 28, 28, true), "image/png", /colour.*grayscale/],
    ["a truncated PNG", () => png(new Uint8Array(784).fill(7)).subarray(0, 60), "image/png", /cannot decode the PNG.*damaged or truncated/],
    ["bytes that start like a JPEG", () => Buffer.from([0xff, 0xd8, 0xff, 1, 2, 3, 4, 5]), "image/jpeg", /cannot decode the JPEG/],
    ["raw bytes of the wrong length", () => new Uint8Array(500), "application/octet-stream", /octet-stream must be the 784 raw bytes.*500 bytes/],
    ["an empty body", () => new Uint8Array(0), "application/octet-stream", /empty body: send one PNG or JPEG/],
    ["an empty JSON body", () => "", "application/json", /empty body/],
    ["NaN in JSON", () => `{"images": [[${"NaN,".repeat(783)}NaN]]}`, "application/json", /not valid JSON.*NaN and Infinity are not JSON/],
    [
      "a pixel that is a string",
      () => JSON.stringify({ images: [["NaN", ...Array(783).fill(0)]] }),
      "application/json",
      /images\[0\]\[0\] is "NaN", expected an integer pixel 0-255/,
    ],
    ["a pixel over 255", () => JSON.stringify({ images: [[300, ...Array(783).fill(0)]] }), "application/json", /images\[0\]\[0\] is 300.*"scale": "unit"/],
    [
      "a unit-scale value over 1",
      () => JSON.stringify({ scale: "unit", images: [[1.5, ...Array(783).fill(0)]] }),
      "application/json",
      /images\[0\]\[0\] is 1.5, expected a number in \[0, 1\]/,
    ],
    [
      "a JSON image of the wrong size",
      () => JSON.stringify({ images: [Array(10).fill(0)] }),
      "application/json",
      /images\[0\] has 10 values, an image of this model has 784/,
    ],
    ["JSON without images", () => JSON.stringify({ pixels: [] }), "application/json", /must be an object \{"images"/],
  ])("refuses %s with 400 and what to send", async (_, body, type, message) => {
    const r = await post(`${server.url}/score`, body(), type);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(message);
  });

  it("refuses a body over the limit with 413", async () => {
    const r = await post(`${server.url}/score`, new Uint8Array(300_000), "application/octet-stream");
    expect(r.status).toBe(413);
    expect(r.body.error).toMatch(/over 200000 bytes.*fewer images per request/);
  });

  it("still scores after refusing bad input, and says which routes exist", async () => {
    expect((await post(`${server.url}/score`, imageBytes(images, 3), "application/octet-stream")).status).toBe(200);
    const r = await fetch(`${server.url}/nope`);
    expect(r.status).toBe(404);
    expect((await r.json()).error).toMatch(/POST \/score, GET \/healthz and GET \/metrics/);
  });

  it("GET /healthz and GET /metrics (Prometheus text: requests, latency, batch sizes, queue depth)", async () => {
    const health = await (await fetch(`${server.url}/healthz`)).json();
    expect(health).toMatchObject({ status: "ok", kind: "glow", workers: { up: 2, configured: 2 }, ood: { score: "combined" } });
    const r = await fetch(`${server.url}/metrics`);
    expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await r.text();
    expect(text).toMatch(/torchts_serve_requests_total\{route="\/score",method="POST",status="200"\} \d+/);
    expect(text).toMatch(/torchts_serve_requests_total\{route="\/score",method="POST",status="400"\} \d+/);
    expect(text).toMatch(/torchts_serve_request_duration_seconds_bucket\{le="0.1",route="\/score"\} \d+/);
    expect(text).toMatch(/torchts_serve_batch_size_images_bucket\{le="8"\} \d+/);
    expect(text).toMatch(/torchts_serve_queue_depth_images 0/);
    expect(text).toMatch(/nodejs_eventloop_lag_p99_seconds/);
  });
});

describe("dynamic batching", () => {
  it("scores requests that arrive together in one model call, each with its own answer", async () => {
    // One worker and a long wait: the eight requests queue up and go as one batch.
    const server = await startServer(run, { port: 0, workers: 1, maxBatch: 16, maxWaitMs: 300 });
    try {
      const batches: number[] = [];
      server.pool.on("batch", (_n: number, requests: number) => batches.push(requests));
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => post(`${server.url}/score`, imageBytes(images, i), "application/octet-stream")));
      expect(batches).toEqual([8]);
      answers.forEach((a, i) => {
        expect(a.status).toBe(200);
        expect(close(a.body.logPx, reference[i]!)).toBe(true);
      });
      expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/torchts_serve_batch_size_requests_bucket\{le="8"\} 1/);
    } finally {
      await server.close();
    }
  });

  it("answers 503 with Retry-After when the queue is full", async () => {
    const server = await startServer(run, { port: 0, workers: 1, maxBatch: 64, maxWaitMs: 500, maxQueue: 8 });
    try {
      const four = JSON.stringify({ images: Array.from({ length: 4 }, (_, i) => Array.from(imageBytes(images, i))) });
      const answers = await Promise.all(Array.from({ length: 4 }, () => post(`${server.url}/score`, four, "application/json")));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 503, 503]);
      const full = answers.find((a) => a.status === 503)!;
      expect(full.headers.get("retry-after")).toBe("1");
      expect(full.body.error).toMatch(/queue holds 8 images \(at most 8\): try again shortly/);
    } finally {
      await server.close();
    }
  });
});

describe("a worker that dies", () => {
  it("fails only the requests it held (500), is replaced, and the server goes on", async () => {
    const server = await startServer(run, { port: 0, workers: 1, maxBatch: 64, maxWaitMs: 0 });
    try {
      // Kill the worker the moment it is handed a batch: what a crash in the middle of scoring does.
      const slot = (server.pool as unknown as { slots: { worker: Worker }[] }).slots[0]!;
      const postMessage = slot.worker.postMessage.bind(slot.worker);
      slot.worker.postMessage = (m: { x?: unknown }) => {
        postMessage(m);
        if (m.x) void slot.worker.terminate();
      };
      const big = JSON.stringify({ images: Array.from({ length: 64 }, (_, i) => Array.from(imageBytes(images, i % 8))) });
      const died = await post(`${server.url}/score`, big, "application/json");
      expect(died.status).toBe(500);
      expect(died.body.error).toMatch(/worker scoring this request stopped.*replaced: send the request again/);
      for (let t = 0; t < 200 && server.pool.stats().workers < 1; t++) await new Promise((r) => setTimeout(r, 50));
      const again = await post(`${server.url}/score`, imageBytes(images, 0), "application/octet-stream");
      expect(again.status).toBe(200);
      expect(close(again.body.logPx, reference[0]!)).toBe(true);
      const health = await (await fetch(`${server.url}/healthz`)).json();
      expect(health.workers).toMatchObject({ up: 1, restarts: 1 });
      expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/torchts_serve_worker_restarts_total 1/);
    } finally {
      await server.close();
    }
  });
});
