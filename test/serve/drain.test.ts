// `torchts-ood serve` in a child process: SIGTERM stops new connections, answers every request already in
// flight, stops the workers and exits 0.
import { beforeAll, expect, it } from "vitest";
import { imageBytes, post, serveProcess, testImages, tinyRunWithThresholds } from "./helpers.js";

let run = "";
beforeAll(async () => {
  run = await tinyRunWithThresholds();
});

it("SIGTERM drains in-flight requests, then exits 0", async () => {
  const images = await testImages(6);
  // A long --max-wait-ms keeps the requests queued while SIGTERM arrives.
  const { child, url, exited, out } = await serveProcess(run, ["--max-wait-ms", "1500"]);
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
  expect(out()).toMatch(/SIGTERM: draining in-flight requests[\s\S]*stopped/);
  await expect(fetch(`${url}/healthz`)).rejects.toThrow(); // nobody listens any more
});
