#!/usr/bin/env node
// The torchts-ood command line.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { demoCommand } from "./commands/demo.js";
import { trainCommand } from "./commands/train.js";
import { evalCommand } from "./commands/eval.js";
import { sampleCommand } from "./commands/sample.js";

await yargs(hideBin(process.argv))
  .scriptName("torchts-ood")
  .command(trainCommand)
  .command(evalCommand)
  .command(sampleCommand)
  .command(demoCommand)
  .demandCommand(1, "Name a command (see --help).")
  .strict()
  .help()
  .fail((msg, err, y) => {
    if (err) {
      console.error(`torchts-ood: ${err.message}`);
    } else {
      console.error(`torchts-ood: ${msg}\n(run with --help for usage)`);
    }
    void y;
    process.exit(1);
  })
  .parseAsync();
