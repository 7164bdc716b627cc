// One formatter for the repository (Prettier, .prettierrc.json), applied: `npm run format` fixes what this finds.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./paths.js";

describe("formatting", () => {
  it("every source file is as Prettier writes it", () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, "node_modules/prettier/bin/prettier.cjs"), "--check", "."], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(r.status, `${r.stdout}${r.stderr}\nrun npm run format`).toBe(0);
  }, 60_000);
});
