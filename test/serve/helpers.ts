// A tiny trained run with OOD thresholds, and images to send, for the serving tests.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { trainRun, loadSplit, openRun } from "../../lib/train/run.js";
import { evaluate } from "../../lib/train/evaluate.js";
import { oodScores } from "../../lib/ood/ood-scores.js";
import type { ImageDataset } from "../../lib/data/index.js";
import { REPO_ROOT, SHARED_DATASETS } from "../paths.js";

export const DATA = { dataDir: SHARED_DATASETS };

/** A 3-step Glow run with RUN/ood/ thresholds from 200 held-out images (a few seconds). */
export async function tinyRunWithThresholds(): Promise<string> {
  const out = join(mkdtempSync(join(tmpdir(), "torchts-serve-")), "run");
  await trainRun({ kind: "glow", preset: "tiny", out, quiet: true, overrides: { steps: 3 }, evalSplits: [], data: DATA });
  await oodScores({
    run: out,
    in: "fashion-mnist:test",
    ood: "mnist:test",
    limit: 200,
    scores: ["combined", "log-likelihood", "typicality", "input-complexity", "flow-terms"],
    data: DATA,
  });
  return out;
}

export const testImages = (n: number): Promise<ImageDataset> => loadSplit(`fashion-mnist:test[:${n}]`, DATA);

/** What the serving tests start from: the tiny run, its first n test images, and eval's log p(x) of each at bin centres. */
export async function servingFixture(n: number): Promise<{ run: string; images: ImageDataset; reference: Float64Array }> {
  const run = await tinyRunWithThresholds();
  const images = await testImages(n);
  return { run, images, reference: evalAtBinCentres(run, images) };
}

/** Image i of a data set: its 784 bytes. */
export const imageBytes = (d: ImageDataset, i: number) => d.images.slice(i * 784, (i + 1) * 784);

/** What `eval` computes, at bin centres (eval's default adds dequantization noise). */
export function evalAtBinCentres(run: string, d: ImageDataset): Float64Array {
  const r = openRun(run, "cpu");
  try {
    return evaluate(r.model, d, { dequantize: false, batchSize: 256 }).logPx;
  } finally {
    r.model.dispose();
  }
}

/** A gray PNG of w x h bytes; `rgb` makes a colour PNG with the red channel raised. */
export function png(pixels: Uint8Array, w = 28, h = 28, rgb = false): Buffer {
  const img = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) {
    img.data[4 * i] = rgb ? Math.min(255, pixels[i]! + 40) : pixels[i]!;
    img.data[4 * i + 1] = img.data[4 * i + 2] = pixels[i]!;
    img.data[4 * i + 3] = 255;
  }
  return PNG.sync.write(img);
}

/** POSTs to url; resolves with status, headers and the parsed JSON answer. */
export async function post(url: string, body: string | Uint8Array, type: string) {
  const r = await fetch(url, { method: "POST", body, headers: { "content-type": type } });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, headers: r.headers, body: json };
}

/** Relative closeness: LibTorch may sum in another order for another batch size. */
export const close = (a: number, b: number, rel = 1e-7) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));

/** Starts `torchts-ood serve DIR --port 0 --workers 1 ...flags` in a child; resolves with its url once it prints the start line. */
export async function serveProcess(dir: string, flags: string[] = []) {
  const child = spawn(process.execPath, [join(REPO_ROOT, "dist", "bin", "torchts-ood.js"), "serve", dir, "--port", "0", "--workers", "1", ...flags], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "",
    stderr = "";
  child.stderr.on("data", (b: Buffer) => {
    stderr += String(b);
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (b: Buffer) => {
      stdout += String(b);
      const m = /on (http:\/\/[\d.:]+)/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code} before listening: ${stderr}`)));
  });
  return { child, url, exited, out: () => stdout };
}
