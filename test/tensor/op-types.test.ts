// Typed ops: lib/tensor/op-types.generated.ts is current (every op the code calls by name is in it), and a
// wrong argument to a typed op is a compile error.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../paths.js";

describe("op types generated from LibTorch's schemas", () => {
  it("are current: every op the sources call is typed from the linked LibTorch", () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, "scripts/gen-op-types.mjs"), "--check"], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
  });

  it("make a wrong argument a compile error", () => {
    const tsc = join(REPO_ROOT, "node_modules/typescript/bin/tsc");
    const r = spawnSync(
      process.execPath,
      [
        tsc,
        "--noEmit",
        "--strict",
        "--target",
        "es2022",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--types",
        "node",
        "--skipLibCheck",
        join(REPO_ROOT, "test/tensor/fixtures/wrong-op-argument.ts"),
      ],
      { encoding: "utf8", cwd: REPO_ROOT },
    );
    const errors = r.stdout
      .split("\n")
      .filter((l) => l.includes("error TS"))
      .map((l) => l.replace(/^.*wrong-op-argument\.ts/, ""));
    expect(errors).toEqual([
      "(7,16): error TS2345: Argument of type 'string' is not assignable to parameter of type 'Tensor'.",
      expect.stringMatching(/^\(8,\d+\): error TS2345: Argument of type '"yes"' is not assignable to parameter of type 'boolean/),
    ]);
  }, 120_000);
});
