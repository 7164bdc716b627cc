// Writing a run folder's files so that a kill at any moment leaves each one whole: every rewrite goes
// to NAME.tmp-PID in the same folder, is flushed to disk, then renamed over NAME (atomic on POSIX). A
// kill before the rename leaves only the temporary file, which the next run in the folder removes.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";

/** Replaces `path` with `data`, atomically and durably. */
export function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dirname(path));
}

/** Makes a rename in `dir` survive a power loss (the folder's entry is what changed). */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch {
    return; // folders cannot be opened on every platform (Windows); the rename is still atomic there
  }
  try {
    fsyncSync(fd);
  } catch {
    // some file systems refuse fsync on a folder; nothing more can be done
  } finally {
    closeSync(fd);
  }
}

const TEMP = /\.tmp-(\d+)$/;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // running, as another user
  }
}

/**
 * Removes the temporary files (NAME.tmp-PID) in `dir` whose writer is no longer running: what a kill
 * mid-write leaves. Those of running processes (this one included) may be writes in progress and stay.
 * Returns the names removed.
 */
export function removeStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const pid = Number(TEMP.exec(name)?.[1] ?? NaN);
    if (!Number.isInteger(pid) || pid === process.pid || isRunning(pid)) continue;
    rmSync(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
