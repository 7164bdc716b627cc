/**
 * Downloads into the cache over http/https: follows redirects, streams to "<dest>.part" while
 * hashing, and renames to <dest> only once the md5 matches, so a file in the cache is always
 * complete. Progress goes to stderr only when it is a terminal (logs stay clean).
 */
import { createHash } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type BaseSplit, getCatalogEntry } from "./catalog.js";
import { DatasetNotFoundError, type LocateOptions, cacheRoot, notFoundMessage } from "./locate.js";

export class DownloadError extends Error {
  constructor(
    readonly url: string,
    message: string,
  ) {
    super(message);
    this.name = "DownloadError";
  }
}

export interface DownloadOptions {
  /** Expected md5 (hex) of the whole file; the file is kept only when it matches. */
  md5?: string;
  /** Show progress on stderr; default: when stderr is a TTY. */
  progress?: boolean;
  /** Give up when no bytes arrive for this long; default 60 s. */
  idleTimeoutMs?: number;
  maxRedirects?: number;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  md5: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function networkMessage(url: string, e: NodeJS.ErrnoException): string {
  const u = new URL(url);
  const where = `${u.hostname}:${u.port || (u.protocol === "https:" ? 443 : 80)}`;
  switch (e.code) {
    case "ECONNREFUSED":
      return `Cannot download ${url}: connection refused by ${where} (the server is down or nothing listens on that port). Try again later, or fetch the file by hand.`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `Cannot download ${url}: host ${u.hostname} not found (no network or DNS?). Fetch the file by hand on a machine with network access.`;
    case "ECONNRESET":
      return `Cannot download ${url}: the connection to ${where} was reset. Try again.`;
    default:
      return `Cannot download ${url}: ${e.code ? `${e.code} ` : ""}${e.message}`;
  }
}

/** GET with redirects; resolves with a 200 response. */
function get(url: string, idleTimeoutMs: number, redirectsLeft: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new DownloadError(url, `Cannot download "${url}": not a valid URL`));
      return;
    }
    const mod = u.protocol === "https:" ? https : u.protocol === "http:" ? http : undefined;
    if (!mod) {
      reject(new DownloadError(url, `Cannot download ${url}: only http and https URLs are supported`));
      return;
    }
    const req = mod.get(u, { headers: { "user-agent": "torchts-ood", "accept-encoding": "identity" } }, (res) => {
      const status = res.statusCode ?? 0;
      if (REDIRECTS.has(status) && res.headers.location) {
        res.resume();
        if (redirectsLeft <= 0) {
          reject(new DownloadError(url, `Cannot download ${url}: too many redirects`));
          return;
        }
        get(new URL(res.headers.location, u).toString(), idleTimeoutMs, redirectsLeft - 1).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        reject(
          new DownloadError(
            url,
            `Cannot download ${url}: the server answered HTTP ${status} ${res.statusMessage ?? ""}`.trimEnd() + ". Check the URL, or try again later.",
          ),
        );
        return;
      }
      resolve(res);
    });
    req.setTimeout(idleTimeoutMs, () => req.destroy(Object.assign(new Error(`no data for ${idleTimeoutMs / 1000} s`), { code: "ETIMEDOUT" })));
    req.on("error", (e: NodeJS.ErrnoException) => reject(new DownloadError(url, networkMessage(url, e))));
  });
}

/** A one-line progress display on stderr, redrawn at most 10 times a second. */
class Progress {
  private last = 0;
  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly enabled: boolean,
  ) {}
  update(bytes: number, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const mb = (b: number): string => (b / 1e6).toFixed(1);
    const pct = this.total ? ` ${Math.floor((100 * bytes) / this.total)}%` : "";
    process.stderr.write(`\r${this.label}: ${mb(bytes)}${this.total ? ` / ${mb(this.total)}` : ""} MB${pct}   `);
  }
  end(bytes: number): void {
    if (!this.enabled) return;
    this.update(bytes, true);
    process.stderr.write("\n");
  }
}

/** Downloads `url` to `dest` (via `dest.part`); rejects with a DownloadError that says what went wrong. */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const part = `${dest}.part`;
  const idle = opts.idleTimeoutMs ?? 60_000;
  const res = await get(url, idle, opts.maxRedirects ?? 10);
  const lengthHeader = res.headers["content-length"];
  const expectedBytes = lengthHeader !== undefined ? Number(lengthHeader) : undefined;
  const hash = createHash("md5");
  let bytes = 0;
  const progress = new Progress(dest.split(/[\\/]/).pop() ?? dest, expectedBytes, opts.progress ?? process.stderr.isTTY === true);
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      progress.update(bytes);
      done(null, chunk);
    },
  });
  await mkdir(join(dest, ".."), { recursive: true });
  try {
    await pipeline(res, count, createWriteStream(part));
  } catch (e) {
    await rm(part, { force: true });
    progress.end(bytes);
    const err = e as NodeJS.ErrnoException;
    if (expectedBytes !== undefined && bytes < expectedBytes) {
      throw new DownloadError(
        url,
        `Download of ${url} was cut off after ${bytes} of ${expectedBytes} bytes (${err.code === "ETIMEDOUT" ? err.message : "the connection closed early"}); the partial file was deleted. Try again.`,
      );
    }
    throw new DownloadError(url, `${networkMessage(url, err)} (after ${bytes} bytes; the partial file was deleted)`);
  }
  progress.end(bytes);
  if (expectedBytes !== undefined && bytes !== expectedBytes) {
    await rm(part, { force: true });
    throw new DownloadError(
      url,
      `Download of ${url} is incomplete: got ${bytes} bytes, the server announced ${expectedBytes}; the partial file was deleted. Try again.`,
    );
  }
  const md5 = hash.digest("hex");
  if (opts.md5 && md5 !== opts.md5.toLowerCase()) {
    await rm(part, { force: true });
    throw new DownloadError(
      url,
      `Checksum mismatch for ${url}: expected md5 ${opts.md5}, got ${md5} (${bytes} bytes); the partial file was deleted. The server may have sent an error page or a changed file; try again, or fetch the file by hand and check it.`,
    );
  }
  await rename(part, dest);
  return { path: dest, bytes, md5 };
}

export interface DownloadSplitOptions extends LocateOptions {
  progress?: boolean;
  /** Base URL to fetch the official file names from instead of the official URLs (a mirror). */
  mirror?: string;
  idleTimeoutMs?: number;
}

/**
 * Downloads the official files of a split into <cache root>/<name>/ (files already there are kept)
 * and returns their paths. Data sets without a direct download raise the placement instructions.
 */
export async function downloadSplit(name: string, split: BaseSplit, opts: DownloadSplitOptions = {}): Promise<string[]> {
  const entry = getCatalogEntry(name);
  const files = entry.splits[split].downloads;
  if (files.length === 0) throw new DatasetNotFoundError(`${notFoundMessage(name, split, opts)}\n(${name} cannot be downloaded automatically.)`);
  const dir = join(cacheRoot(opts), entry.name);
  const paths: string[] = [];
  for (const f of files) {
    const dest = join(dir, f.file);
    if (!existsSync(dest)) {
      const url = opts.mirror ? `${opts.mirror.replace(/\/+$/, "")}/${f.file}` : f.url;
      await downloadFile(url, dest, { md5: f.md5, progress: opts.progress, idleTimeoutMs: opts.idleTimeoutMs });
    }
    paths.push(dest);
  }
  return paths;
}
