// `torchts-ood serve` in a child process against slow clients (issue 23): headers, bodies and idle
// keep-alive connections are timed out; SIGTERM drains within --drain-timeout-ms and then closes what is
// left; SIGHUP reloads the checkpoint; the start line names the address the server is bound to.
import { beforeAll, expect, it } from "vitest";
import { cpSync, mkdtempSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../../lib/tensor/index.js";
import { imageBytes, post, serveProcess, testImages, tinyRunWithThresholds } from "./helpers.js";

let run = "";
beforeAll(async () => {
  run = await tinyRunWithThresholds();
});

/** A raw TCP connection to url; `closed` resolves with the ms it stayed open and what it received. */
function socketTo(url: string): { socket: Socket; closed: Promise<{ ms: number; received: string }> } {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname === "0.0.0.0" ? "127.0.0.1" : u.hostname);
  const t0 = performance.now();
  let received = "";
  socket.on("data", (b) => {
    received += String(b);
  });
  socket.on("error", () => {});
  return { socket, closed: new Promise((r) => socket.once("close", () => r({ ms: performance.now() - t0, received }))) };
}

/** Sends one byte every `everyMs` until the socket closes. */
function trickle(socket: Socket, everyMs: number): void {
  const t = setInterval(() => (socket.destroyed ? clearInterval(t) : socket.write("0")), everyMs);
  socket.once("close", () => clearInterval(t));
}

const headers = (url: string, length: number) =>
  `POST /score HTTP/1.1\r\nHost: ${new URL(url).host}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`;

it("times out slow headers, slow bodies and idle keep-alive connections, and prints the address it is bound to", async () => {
  const s = await serveProcess(run, ["--host", "0.0.0.0", "--headers-timeout-ms", "1000", "--body-timeout-ms", "2000", "--keep-alive-timeout-ms", "500"]);
  try {
    expect(s.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    // Full headers, then one body byte every 400 ms: never finishes on its own.
    const body = socketTo(s.url);
    body.socket.write(headers(s.url, 784));
    trickle(body.socket, 400);
    // Headers that never end.
    const head = socketTo(s.url);
    head.socket.write(`POST /score HTTP/1.1\r\nHost: x\r\n`);
    trickle(head.socket, 300);
    // One answered request, then an idle keep-alive connection.
    const idle = socketTo(s.url);
    idle.socket.write(headers(s.url, 784));
    idle.socket.write(Buffer.from(imageBytes(await testImages(1), 0)));

    const [b, h, i] = await Promise.all([body.closed, head.closed, idle.closed]);
    expect(b.received).toMatch(/^HTTP\/1.1 408/);
    expect(b.ms).toBeGreaterThan(1900);
    expect(b.ms).toBeLessThan(4500);
    expect(h.ms).toBeGreaterThan(900);
    expect(h.ms).toBeLessThan(3500);
    expect(i.received).toMatch(/^HTTP\/1.1 200/);
    expect(i.ms).toBeLessThan(5000); // scoring, then 500 ms idle (before: 72 s, fastify's default)
    expect(s.child.exitCode).toBeNull(); // still serving
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  } finally {
    s.child.kill("SIGTERM");
    await s.exited;
  }
});

it("SIGTERM answers what is in flight, then closes a slow client after --drain-timeout-ms, and exits 0", async () => {
  const s = await serveProcess(run, ["--body-timeout-ms", "60000", "--drain-timeout-ms", "1000"]);
  const slow = socketTo(s.url);
  slow.socket.write(headers(s.url, 784));
  trickle(slow.socket, 300);
  await new Promise((r) => setTimeout(r, 300));
  const t0 = performance.now();
  s.child.kill("SIGTERM");
  expect(await s.exited).toBe(0);
  expect(performance.now() - t0).toBeLessThan(6000); // 1 s of drain, then the workers stop; the slow client would hold it 60 s
  expect((await slow.closed).ms).toBeLessThan(7000);
  expect(s.out()).toMatch(/SIGTERM: draining[\s\S]*stopped/);
});

it("SIGHUP reloads the checkpoint on disk and its thresholds together; until then the announced one is served", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "torchts-serve-hup-")), "run");
  cpSync(run, dir, { recursive: true, preserveTimestamps: true });
  const images = await testImages(1);
  const s = await serveProcess(dir, []);
  try {
    const before = await post(`${s.url}/score`, imageBytes(images, 0), "application/octet-stream");
    const { tensors, metadata } = torch.loadSafetensors(join(dir, "checkpoint.safetensors"));
    const scaled = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, k.startsWith("model.") && t.dtype === "float32" ? t.mul(1.05) : t]));
    torch.saveSafetensors(join(dir, "checkpoint.safetensors"), scaled, { ...metadata, step: "99" });
    torch.dispose([tensors, scaled]);
    expect((await (await fetch(`${s.url}/healthz`)).json()).step).toBe(3);
    s.child.kill("SIGHUP");
    let health: { step: number; ood: { note?: string } } = { step: 3, ood: {} };
    for (let t = 0; t < 200 && health.step !== 99; t++) {
      await new Promise((r) => setTimeout(r, 50));
      health = await (await fetch(`${s.url}/healthz`)).json();
    }
    expect(health.step).toBe(99);
    expect(health.ood.note).toMatch(/older than the run.s checkpoint.*belong to another model/);
    const after = await post(`${s.url}/score`, imageBytes(images, 0), "application/octet-stream");
    expect(Math.abs(after.body.logPx - before.body.logPx)).toBeGreaterThan(1);
    expect(s.out()).toMatch(/SIGHUP: reloaded .* step 99/);
  } finally {
    s.child.kill("SIGTERM");
    await s.exited;
  }
});
