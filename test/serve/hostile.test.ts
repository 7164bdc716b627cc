// `torchts-ood serve` against hostile and careless traffic, over real HTTP (issue 23): decompression
// bombs, content types, alpha, wrong methods, clients that hang up, a checkpoint changed under a running
// server, and a scoring worker that dies by a signal.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpSync, mkdtempSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { ChildProcess } from "node:child_process";
import * as torch from "../../lib/tensor/index.js";
import { startServer, type ScoringServer } from "../../lib/serve/server.js";
import type { ImageDataset } from "../../lib/data/index.js";
import { close, evalAtBinCentres, imageBytes, png, post, servingFixture } from "./helpers.js";
import { canvasDigit, digitAlpha, jpegBomb, pngBomb, rgbaPng } from "../../bench/hostile-bodies.js";

let run = "";
let images: ImageDataset;
let reference: Float64Array;
beforeAll(async () => void ({ run, images, reference } = await servingFixture(4)));

/** eval's log p(x) of one 784-byte image. */
const evalOf = (dir: string, pixels: Uint8Array) => evalAtBinCentres(dir, { ...images, images: pixels, n: 1 })[0]!;
const GiB = 2 ** 30;

describe("hostile bodies", () => {
  let server: ScoringServer;
  beforeAll(async () => {
    server = await startServer(run, { port: 0, workers: 1, maxWaitMs: 0 }); // the default 4 MiB body limit
  });
  afterAll(() => server.close());

  it("refuses PNG bombs (interlaced and not) and a 2000x2000 JPEG with 400, with bounded memory and event-loop delay", async () => {
    const bombs: [string, Buffer, string, RegExp][] = [
      ["interlaced PNG, 1 GiB inflated", pngBomb({ interlaced: true, inflated: GiB }), "image/png", /compressed pixel data.*at most/],
      ["PNG, 1 GiB inflated", pngBomb({ interlaced: false, inflated: GiB }), "image/png", /compressed pixel data.*at most/],
      ["interlaced PNG, 3.9 GiB inflated", pngBomb({ interlaced: true, inflated: 4000 * 2 ** 20 }), "image/png", /compressed pixel data.*at most/],
      ["PNG of 30000x30000", pngBomb({ interlaced: false, inflated: 1 << 20, width: 30000, height: 30000 }), "image/png", /30000x30000.*28x28/],
      ["JPEG of 2000x2000", await jpegBomb(2000), "image/jpeg", /2000x2000.*28x28/],
    ];
    expect(bombs[2]![1].length).toBeLessThan(4 * 1024 * 1024); // under the default body limit
    const rss0 = process.memoryUsage().rss;
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    let slowestHealth = 0;
    const health = (async () => {
      for (let k = 0; k < 10; k++) {
        const t = performance.now();
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
        slowestHealth = Math.max(slowestHealth, performance.now() - t);
      }
    })();
    for (const [what, body, type, message] of bombs) {
      const t = performance.now();
      const r = await post(`${server.url}/score`, body, type);
      expect(r.status, what).toBe(400);
      expect(r.body.error, what).toMatch(message);
      expect(performance.now() - t, what).toBeLessThan(2000);
    }
    await health;
    delay.disable();
    // Bounds with room for a shared two-core machine, where a process not scheduled for a while shows up
    // to ~300 ms of delay with no bomb (seen under the full suite at load 16): before the fix, one
    // interlaced bomb blocked the loop for 7 s and RSS grew by 2 GB.
    expect(delay.max / 1e6).toBeLessThan(1000);
    expect(slowestHealth).toBeLessThan(1000);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(200 * 2 ** 20);
    expect((await post(`${server.url}/score`, png(imageBytes(images, 0)), "image/png")).status).toBe(200);
  });

  it("lets the content type choose the parser, case-insensitively and with parameters", async () => {
    const json = JSON.stringify({ images: [Array.from(imageBytes(images, 0))] });
    const a = await post(`${server.url}/score`, json, "Application/JSON; charset=UTF-8");
    expect(a.status).toBe(200);
    expect(close(a.body.results[0].logPx, reference[0]!)).toBe(true);
    const b = await post(`${server.url}/score`, png(imageBytes(images, 1)), "IMAGE/PNG");
    expect(b.status).toBe(200);
    expect(close(b.body.logPx, reference[1]!)).toBe(true);
  });

  it("never sniffs declared raw bytes: 784 bytes that start like a PNG or a JPEG are pixels", async () => {
    for (const head of [
      [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
      [0xff, 0xd8, 0xff],
    ]) {
      const pixels = Uint8Array.from(imageBytes(images, 2));
      pixels.set(head);
      const r = await post(`${server.url}/score`, pixels, "application/octet-stream");
      expect(r.status).toBe(200);
      expect(close(r.body.logPx, evalOf(run, pixels))).toBe(true);
    }
  });

  it("believes the declared image type: a JPEG sent as image/png is a 400 that says so", async () => {
    const r = await post(`${server.url}/score`, await jpegBomb(28), "image/png");
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/sent as image\/png.*is a JPEG.*content-type: image\/jpeg/);
  });

  it.each([
    ["text/plain", "x".repeat(784), /415|unsupported/i],
    ["application/x-www-form-urlencoded", "images=1,2,3", /form.*send .*application\/json/],
    ["multipart/form-data; boundary=x", "--x\r\n\r\n--x--", /form.*send .*application\/json/],
    ["application/xml", "<images/>", /application\/xml/],
  ])("answers %s with 415 listing the types it takes", async (type, body, message) => {
    const r = await post(`${server.url}/score`, body, type);
    expect(r.status).toBe(415);
    expect(r.body.error).toMatch(message);
    expect(r.body.error).toMatch(/application\/json, image\/png, image\/jpeg, application\/octet-stream/);
  });

  it("answers a body without a content type with 415", async () => {
    const r = await fetch(`${server.url}/score`, { method: "POST", body: new Blob([imageBytes(images, 0)]) }); // a Blob without a type sends none
    expect(r.status).toBe(415);
    expect((await r.json()).error).toMatch(/no content-type.*application\/octet-stream/);
  });

  it('reads a JSON "__proto__" key as a plain key: ignored like any other, never taken for "images" or "scale"', async () => {
    const pixels = Array.from(imageBytes(images, 0));
    const extra = `{"__proto__": {"scale": "unit"}, "images": [${JSON.stringify(pixels)}]}`;
    const r = await post(`${server.url}/score`, extra, "application/json");
    expect(r.status).toBe(200);
    expect(close(r.body.results[0].logPx, reference[0]!)).toBe(true);
    const hidden = await post(`${server.url}/score`, `{"__proto__": {"images": [${JSON.stringify(pixels)}]}}`, "application/json");
    expect(hidden.status).toBe(400);
    expect(hidden.body.error).toMatch(/must be an object \{"images"/);
  });

  it("refuses an image with transparent pixels unless the background is stated, then composites over it and says so", async () => {
    const transparent = await rgbaPng(
      () => 200,
      () => 0,
    );
    const refused = await post(`${server.url}/score`, transparent, "image/png");
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/784 of 784 pixels are not opaque.*\?background=black/);

    const half = await rgbaPng((i) => imageBytes(images, 0)[i]!, digitAlpha);
    const over = await post(`${server.url}/score?background=black`, half, "image/png");
    expect(over.status).toBe(200);
    const a = (i: number) => digitAlpha(i) / 255;
    const composited = Uint8Array.from(imageBytes(images, 0), (p, i) => Math.round(p * a(i)));
    expect(close(over.body.logPx, evalOf(run, composited))).toBe(true);
    expect(over.body.note).toMatch(/composited over black \(0\): \d+ of 784 pixels were not opaque/);

    const white = await post(`${server.url}/score?background=255`, half, "image/png");
    expect(white.status).toBe(200);
    expect(white.body.note).toMatch(/composited over white \(255\)/);

    const opaque = await post(
      `${server.url}/score`,
      await rgbaPng(
        (i) => imageBytes(images, 1)[i]!,
        () => 255,
      ),
      "image/png",
    );
    expect(opaque.status).toBe(200);
    expect(opaque.body.note ?? "").not.toMatch(/composited/);
    expect(close(opaque.body.logPx, reference[1]!)).toBe(true);
  });

  it("never scores a digit drawn only in alpha (an HTML canvas export) as a blank image", async () => {
    const digit = await canvasDigit();
    for (const q of ["", "?background=black"]) {
      const r = await post(`${server.url}/score${q}`, digit, "image/png");
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(q ? /only in its alpha channel/ : /not opaque/);
    }
  });

  it("refuses a background that is not black, white or 0-255", async () => {
    const r = await post(`${server.url}/score?background=purple`, png(imageBytes(images, 0)), "image/png");
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/background.*black, white or a gray level 0-255/);
  });

  it("answers a wrong method on a known path with 405 and Allow", async () => {
    const get = await fetch(`${server.url}/score`);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect((await get.json()).error).toMatch(/POST \/score/);
    const p = await fetch(`${server.url}/healthz`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    expect(p.status).toBe(405);
    expect(p.headers.get("allow")).toBe("GET, HEAD");
  });
});

describe("metrics", () => {
  it("count a request whose client hung up before the answer", async () => {
    const server = await startServer(run, { port: 0, workers: 1, maxWaitMs: 400 });
    try {
      const gone = new AbortController();
      const sent = fetch(`${server.url}/score`, {
        method: "POST",
        body: imageBytes(images, 0),
        headers: { "content-type": "application/octet-stream" },
        signal: gone.signal,
      }).catch(() => null);
      await new Promise((r) => setTimeout(r, 150));
      gone.abort();
      await sent;
      await new Promise((r) => setTimeout(r, 600)); // the batch is scored, and the answer has nowhere to go
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toMatch(/torchts_serve_requests_total\{route="\/score",method="POST",status="aborted"\} 1/);
    } finally {
      await server.close();
    }
  });

  it("the server's url is the address it is bound to", async () => {
    const server = await startServer(run, { port: 0, host: "0.0.0.0", workers: 1 });
    try {
      expect(server.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

/** A copy of the run, and a checkpoint of another model (weights scaled, step 99) for it. */
function copyWithOtherCheckpoint(): { dir: string; other: string } {
  const dir = join(mkdtempSync(join(tmpdir(), "torchts-serve-reload-")), "run");
  cpSync(run, dir, { recursive: true, preserveTimestamps: true });
  const other = join(dir, "..", "other.safetensors");
  const { tensors, metadata } = torch.loadSafetensors(join(run, "checkpoint.safetensors"));
  const scaled = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, k.startsWith("model.") && t.dtype === "float32" ? t.mul(1.05) : t]));
  torch.saveSafetensors(other, scaled, { ...metadata, step: "99" });
  torch.dispose([tensors, scaled]);
  return { dir, other };
}
const sha256 = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");

describe("the checkpoint a server announced", () => {
  it("is what a restarted worker scores, whatever is on disk now; a reload swaps model and thresholds together", async () => {
    const { dir, other } = copyWithOtherCheckpoint();
    const announced = sha256(join(dir, "checkpoint.safetensors"));
    const server = await startServer(dir, { port: 0, workers: 1, maxWaitMs: 0 });
    try {
      const before = await post(`${server.url}/score`, imageBytes(images, 0), "application/octet-stream");
      expect(close(before.body.logPx, reference[0]!)).toBe(true);
      cpSync(other, join(dir, "checkpoint.safetensors"));
      // End the worker: its replacement loads while another checkpoint is on disk.
      const slot = (server.pool as unknown as { slots: { worker: { terminate(): unknown } }[] }).slots[0]!;
      await slot.worker.terminate();
      for (let t = 0; t < 200 && (server.pool.stats().workers < 1 || server.pool.stats().restarts < 1); t++) await new Promise((r) => setTimeout(r, 50));
      const after = await post(`${server.url}/score`, imageBytes(images, 0), "application/octet-stream");
      expect(after.status).toBe(200);
      expect(after.body.logPx).toBe(before.body.logPx);
      const health = await (await fetch(`${server.url}/healthz`)).json();
      expect(health).toMatchObject({ step: 3, checkpoint: { sha256: announced }, workers: { up: 1, restarts: 1 }, ood: { score: "combined" } });

      await server.reload();
      const reloaded = await (await fetch(`${server.url}/healthz`)).json();
      expect(reloaded).toMatchObject({ step: 99, checkpoint: { sha256: sha256(other) } });
      expect(reloaded.ood.note).toMatch(/older than the run.s checkpoint.*belong to another model/); // the old thresholds go with the old model
      const now = await post(`${server.url}/score`, imageBytes(images, 0), "application/octet-stream");
      expect(close(now.body.logPx, evalOf(dir, imageBytes(images, 0)))).toBe(true);
      expect(now.body.ood).toBeNull();
      expect(Math.abs(now.body.logPx - before.body.logPx)).toBeGreaterThan(1);
    } finally {
      await server.close();
    }
  });
});

describe("--isolation process", () => {
  it("a worker killed by SIGSEGV fails only its own requests (500), is replaced, and the server goes on", async () => {
    const server = await startServer(run, { port: 0, workers: 1, maxWaitMs: 0, isolation: "process" });
    try {
      const ok = await post(`${server.url}/score`, imageBytes(images, 0), "application/octet-stream");
      expect(ok.status).toBe(200);
      expect(close(ok.body.logPx, reference[0]!)).toBe(true);
      // A native fault in the middle of scoring: the worker process gets SIGSEGV as it is handed a batch.
      const slot = (server.pool as unknown as { slots: { worker: { process: ChildProcess; postMessage(m: unknown): void } }[] }).slots[0]!;
      const child = slot.worker.process;
      const postMessage = slot.worker.postMessage.bind(slot.worker);
      slot.worker.postMessage = (m: { x?: unknown }) => {
        postMessage(m);
        if (m.x) child.kill("SIGSEGV");
      };
      const died = await post(`${server.url}/score`, imageBytes(images, 1), "application/octet-stream");
      expect(died.status).toBe(500);
      expect(died.body.error).toMatch(/worker scoring this request stopped \(signal SIGSEGV\).*replaced/);
      for (let t = 0; t < 200 && server.pool.stats().workers < 1; t++) await new Promise((r) => setTimeout(r, 50));
      const again = await post(`${server.url}/score`, imageBytes(images, 1), "application/octet-stream");
      expect(again.status).toBe(200);
      expect(close(again.body.logPx, reference[1]!)).toBe(true);
      expect((await (await fetch(`${server.url}/healthz`)).json()).workers).toMatchObject({ up: 1, restarts: 1, isolation: "process" });
    } finally {
      await server.close();
    }
  });
});
