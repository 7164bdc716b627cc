import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DownloadError, downloadFile, downloadSplit } from "../../lib/data/download.js";
import { clearDatasetCache, loadDataset } from "../../lib/data/load.js";
import { gzip, idxBytes, patternBytes, tempDir, writeFile } from "./fixtures/writers.js";

const tmp = tempDir();
const payload = Buffer.from(patternBytes(200_000, 5));
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
let server: http.Server;
let base = "";
const hits: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits.push(req.url ?? "");
    const url = req.url ?? "";
    if (url === "/good.bin" || url === "/mirror/t10k-images-idx3-ubyte.gz") {
      res.writeHead(200, { "content-length": payload.length });
      res.end(payload);
    } else if (url === "/chunked.bin") {
      res.writeHead(200);
      res.write(payload.subarray(0, 1000));
      setTimeout(() => res.end(payload.subarray(1000)), 5);
    } else if (url === "/redirect") {
      res.writeHead(302, { location: "/good.bin" });
      res.end();
    } else if (url === "/partial.bin") {
      res.writeHead(200, { "content-length": payload.length });
      res.write(payload.subarray(0, 3000), () => setTimeout(() => res.socket?.destroy(), 20));
    } else {
      res.writeHead(404, { "content-type": "text/html" });
      res.end("<html>not found</html>");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<DownloadError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DownloadError);
    return e as DownloadError;
  }
  throw new Error("expected the download to fail");
}

describe("downloadFile (against a local HTTP server)", () => {
  it("saves the file when the checksum matches, leaving no .part file", async () => {
    const dest = join(tmp, "a", "good.bin");
    const r = await downloadFile(`${base}/good.bin`, dest, { md5: md5(payload), progress: false });
    expect(r).toEqual({ path: dest, bytes: payload.length, md5: md5(payload) });
    expect(readFileSync(dest).equals(payload)).toBe(true);
    expect(readdirSync(join(tmp, "a"))).toEqual(["good.bin"]);
  });

  it("follows redirects and accepts responses without content-length", async () => {
    const d1 = join(tmp, "r", "redirected.bin");
    await downloadFile(`${base}/redirect`, d1, { md5: md5(payload), progress: false });
    expect(readFileSync(d1).equals(payload)).toBe(true);
    const d2 = join(tmp, "r", "chunked.bin");
    await downloadFile(`${base}/chunked.bin`, d2, { md5: md5(payload), progress: false });
    expect(readFileSync(d2).equals(payload)).toBe(true);
  });

  it("deletes the file and says expected vs got on a checksum mismatch", async () => {
    const dest = join(tmp, "b", "bad.bin");
    const wrong = "f68b3c2dcbeaaa9fbdd348bbdeb94873";
    const e = await failure(downloadFile(`${base}/good.bin`, dest, { md5: wrong, progress: false }));
    expect(e.message).toContain(
      `Checksum mismatch for ${base}/good.bin: expected md5 ${wrong}, got ${md5(payload)} (200000 bytes); the partial file was deleted`,
    );
    expect(existsSync(dest)).toBe(false);
    expect(readdirSync(join(tmp, "b"))).toEqual([]);
  });

  it("reports a transfer cut short by the server (content-length mismatch) and deletes the partial file", async () => {
    const dest = join(tmp, "c", "partial.bin");
    const e = await failure(downloadFile(`${base}/partial.bin`, dest, { md5: md5(payload), progress: false }));
    expect(e.message).toMatch(new RegExp(`Download of ${base}/partial.bin was cut off after 3000 of 200000 bytes .*the partial file was deleted`));
    expect(readdirSync(join(tmp, "c"))).toEqual([]);
  });

  it("reports an HTTP error status", async () => {
    const e = await failure(downloadFile(`${base}/missing.bin`, join(tmp, "d", "x.bin"), { progress: false }));
    expect(e.message).toBe(`Cannot download ${base}/missing.bin: the server answered HTTP 404 Not Found. Check the URL, or try again later.`);
    expect(existsSync(join(tmp, "d", "x.bin"))).toBe(false);
  });

  it("reports a server that is down (connection refused), with the URL", async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const url = `http://127.0.0.1:${port}/mnist.gz`;
    const e = await failure(downloadFile(url, join(tmp, "e", "mnist.gz"), { progress: false }));
    expect(e.message).toBe(
      `Cannot download ${url}: connection refused by 127.0.0.1:${port} (the server is down or nothing listens on that port). Try again later, or fetch the file by hand.`,
    );
    expect(e.url).toBe(url);
  });

  it("shows progress on stderr only when asked (default: only on a TTY)", async () => {
    const spy = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      await downloadFile(`${base}/good.bin`, join(tmp, "p", "quiet.bin"), { progress: false });
      expect(spy).not.toHaveBeenCalled();
      await downloadFile(`${base}/good.bin`, join(tmp, "p", "loud.bin"), { progress: true });
      const text = spy.mock.calls.map((c) => String(c[0])).join("");
      expect(text).toContain("loud.bin: 0.2 / 0.2 MB 100%");
    } finally {
      spy.mockRestore();
    }
  });
});

describe("downloadSplit / loadDataset with download: true", () => {
  it("checks the official md5 of what a mirror serves and keeps nothing on mismatch", async () => {
    const cacheDir = join(tmp, "cache1");
    const e = await failure(downloadSplit("mnist", "test", { cacheDir, env: {}, mirror: `${base}/mirror/`, progress: false }));
    expect(e.message).toContain(`expected md5 9fb629c4189551a2d022fa330f9573f3, got ${md5(payload)}`);
    expect(readdirSync(join(cacheDir, "mnist"))).toEqual([]);
    clearDatasetCache();
    await expect(loadDataset("mnist", "test", { cacheDir, env: {}, download: true, mirror: `${base}/mirror`, progress: false })).rejects.toThrow(
      /Checksum mismatch .*t10k-images-idx3-ubyte\.gz: expected md5 9fb629c4189551a2d022fa330f9573f3/,
    );
  });

  it("does not fetch files already in the cache, and loads them from there", async () => {
    const cacheDir = join(tmp, "cache2");
    const images = patternBytes(10000 * 784, 2);
    writeFile(join(cacheDir, "mnist", "t10k-images-idx3-ubyte.gz"), gzip(idxBytes([10000, 28, 28], images)));
    writeFile(join(cacheDir, "mnist", "t10k-labels-idx1-ubyte.gz"), gzip(idxBytes([10000], new Uint8Array(10000).fill(3))));
    hits.length = 0;
    const paths = await downloadSplit("mnist", "test", { cacheDir, env: {}, mirror: `${base}/mirror`, progress: false });
    expect(paths).toEqual([join(cacheDir, "mnist", "t10k-images-idx3-ubyte.gz"), join(cacheDir, "mnist", "t10k-labels-idx1-ubyte.gz")]);
    expect(hits).toEqual([]);
    clearDatasetCache();
    // verify: false because these fixture bytes are not the official content (whose md5 the catalog knows)
    const ds = await loadDataset("mnist", "test", { cacheDir, env: {}, download: true, verify: false, mirror: `${base}/mirror` });
    expect(ds.n).toBe(10000);
    expect(hits).toEqual([]);
    await expect(loadDataset("mnist", "test", { cacheDir, env: {} })).rejects.toThrow(
      /decompressed content has md5 [0-9a-f]{32}, the official MNIST file has 2646ac647ad5339dbf082846283269ea/,
    );
  });

  it("explains that CelebA cannot be downloaded", async () => {
    await expect(downloadSplit("celeba", "train", { cacheDir: join(tmp, "cache3"), env: {} })).rejects.toThrow(/celeba cannot be downloaded automatically/);
  });
});
