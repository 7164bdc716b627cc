// `torchts-ood serve` in a child process: SIGTERM stops new connections, answers every request already in
// flight, stops the workers and exits 0.
import { beforeAll, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../paths.js";
import { imageBytes, post, testImages, tinyRunWithThresholds } from "./helpers.js";

let run = "";
beforeAll(async () => {
  run = await tinyRunWithThresholds();
});

it("SIGTERM drains in-flight requests, then exits 0", async () => {
  const images = await testImages(6);
  // A long --max-wait-ms keeps the requests queued while SIGTERM arrives.
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, "dist", "bin", "torchts-ood.js"), "serve", run, "--port", "0", "--workers", "1", "--max-wait-ms", "1500"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
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
  const inFlight = Array.from({ length: 6 }, (_, i) => post(`${url}/score`, imageBytes(images, i), "application/octet-stream"));
  let queued = false;
  for (let t = 0; t < 100 && !queued; t++) {
    queued = /torchts_serve_queue_depth_requests 6/.test(await (await fetch(`${url}/metrics`)).text());
    if (!queued) await new Promise((r) => setTimeout(r, 20));
  }
  expect(queued).toBe(true); // all six wait for their batch when SIGTERM comes
  child.kill("SIGTERM");
  const answers = await Promise.all(inFlight);
  expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
  expect(answers.every((a) => Number.isFinite(a.body.logPx))).toBe(true);
  expect(await exited).toBe(0);
  expect(stdout).toMatch(/SIGTERM: draining in-flight requests[\s\S]*stopped/);
  await expect(fetch(`${url}/healthz`)).rejects.toThrow(); // nobody listens any more
});
