// The torchts-ood command line as a function: bin/torchts-ood.ts runs it; tests call it in-process.
import yargs from "yargs";
import { demoCommand } from "./commands/demo.js";
import { trainCommand } from "./commands/train.js";
import { evalCommand } from "./commands/eval.js";
import { sampleCommand } from "./commands/sample.js";
import { analyzeCommand } from "./commands/analyze.js";
import { reportCommand } from "./commands/report.js";
import { oodCommand } from "./commands/ood.js";
import { serveCommand } from "./commands/serve.js";
import { DatasetNotFoundError } from "../lib/data/locate.js";

/** Runs the CLI on argv (without node and the script); resolves to the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let failed = false;
  let exitCode = 1;
  const cli = yargs(argv)
    .scriptName("torchts-ood")
    .command(trainCommand)
    .command(evalCommand)
    .command(sampleCommand)
    .command(oodCommand)
    .command(serveCommand)
    .command(analyzeCommand)
    .command(reportCommand)
    .command(demoCommand)
    .demandCommand(1, "Name a command (see --help).")
    .strict()
    .help()
    .exitProcess(false)
    .fail((msg, err) => {
      failed = true;
      exitCode = exitCodeOf(err);
      // One line: what was wrong; usage stays behind --help.
      console.error(
        `torchts-ood: ${err ? err.message.split("\n")[0] : msg}${err ? restOf(err.message) + rerunHint(err, argv) : "\n(run with --help for usage)"}`,
      );
      // Throwing stops yargs here: without it, exitProcess(false) would go on to run the command.
      throw new CliFailure();
    });
  try {
    await cli.parseAsync();
  } catch (e) {
    if (!failed && !(e instanceof CliFailure)) {
      console.error(`torchts-ood: ${(e as Error).message}${rerunHint(e, argv)}`);
      exitCode = exitCodeOf(e);
    }
    failed = true;
  }
  return failed ? exitCode : 0;
}

// Multi-line messages (a data set not found: every place looked) keep their detail after the first line.
const restOf = (m: string) => (m.includes("\n") ? "\n" + m.split("\n").slice(1).join("\n") : "");

class CliFailure extends Error {}

/** An error's own exit code (an interrupted launcher: 130 for SIGINT, 143 for SIGTERM), else 1. */
const exitCodeOf = (e: unknown): number => {
  const code = (e as { exitCode?: unknown } | undefined)?.exitCode;
  return typeof code === "number" && Number.isInteger(code) && code > 0 && code < 256 ? code : 1;
};

/** For a data set that --download can fetch: the exact command to run again, so a new user's first command works. */
function rerunHint(e: unknown, argv: string[]): string {
  // A distributed run's error comes from a worker: it carries the DatasetNotFoundError's `downloadable`.
  const downloadable = e instanceof DatasetNotFoundError ? e.downloadable : (e as { downloadable?: unknown } | undefined)?.downloadable === true;
  if (!downloadable || argv.includes("--download")) return "";
  const quoted = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`));
  return `\nTo download it (official URLs, md5-checked), run:\n  npx torchts-ood ${[...quoted, "--download"].join(" ")}`;
}
