// What a new machine sees first: --help answers without loading LibTorch, and scripts/check-setup.sh
// names what is missing. Both run in child processes, as a user runs them.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../paths.js";

const COMMANDS = ["train", "eval", "sample", "analyze", "report", "demo"];

describe("start-up", () => {
  it("answers --help and every <command> --help without loading the native library", () => {
    // One process runs them all in turn, then reports whether the addon or any LibTorch library got mapped.
    const script = `
      import { runCli } from ${JSON.stringify(join(REPO_ROOT, "dist/bin/cli.js"))};
      import { isNativeLoaded } from ${JSON.stringify(join(REPO_ROOT, "dist/lib/tensor/native.js"))};
      import { readFileSync } from "node:fs";
      const codes = [await runCli(["--help"])];
      for (const c of ${JSON.stringify(COMMANDS)}) codes.push(await runCli([c, "--help"]));
      const maps = readFileSync("/proc/self/maps", "utf8");
      process.stderr.write(JSON.stringify({ codes, native: isNativeLoaded(), mapped: maps.match(/\\S*(libtorch|libc10|torchts\\.node)\\S*/g) ?? [] }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stderr.slice(r.stderr.lastIndexOf('{"codes"')));
    expect(report.codes).toEqual(COMMANDS.map(() => 0).concat(0));
    expect(report.native).toBe(false);
    expect(report.mapped).toEqual([]);
    for (const c of COMMANDS) expect(r.stdout).toContain(`torchts-ood ${c}`);
  });

  it("loads the native library on the first tensor", () => {
    const r = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `
      import * as torch from ${JSON.stringify(join(REPO_ROOT, "dist/lib/tensor/index.js"))};
      import { isNativeLoaded } from ${JSON.stringify(join(REPO_ROOT, "dist/lib/tensor/native.js"))};
      const before = isNativeLoaded();
      const sum = torch.ones([3]).sum().item();
      console.log(JSON.stringify({ before, after: isNativeLoaded(), sum }));`,
      ],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ before: false, after: true, sum: 3 });
  });

  it("check-setup.sh names a missing Python in one clear line and fails", () => {
    const r = spawnSync("bash", [join(REPO_ROOT, "scripts/check-setup.sh")], {
      encoding: "utf8",
      env: { ...process.env, PYTHON: "/nonexistent/python3" },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^check-setup: MISSING .*\/nonexistent\/python3/m);
  });
});
