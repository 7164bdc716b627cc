#!/usr/bin/env node
// The torchts-ood command line (see bin/cli.ts).
import { hideBin } from "yargs/helpers";
import { runCli } from "./cli.js";

process.exitCode = await runCli(hideBin(process.argv));
