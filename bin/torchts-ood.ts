#!/usr/bin/env node
// The torchts-ood command line (see bin/cli.ts). Loaded dynamically so that a failure while loading the
// library (no native addon built, a bad TORCHTS_OOD_MALLOC) is one line, like every other error.
import { hideBin } from "yargs/helpers";

try {
  const { runCli } = await import("./cli.js");
  process.exitCode = await runCli(hideBin(process.argv));
} catch (e) {
  console.error(`torchts-ood: ${(e as Error).message}`);
  process.exitCode = 1;
}
