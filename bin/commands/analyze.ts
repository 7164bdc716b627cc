// `torchts-ood analyze <name> --runs DIR... [--out DIR]`: one of the paper's analyses (experiments/),
// written as <out>/<name>.json with its figures; `analyze --list` prints the names.
import type { CommandModule } from "yargs";
import { dataOptions, deviceOption, positiveInt } from "./options.js";

interface AnalyzeArgs {
  name?: string;
  list: boolean;
  runs?: string[];
  out: string;
  limit?: number;
  probes?: number;
  "batch-size"?: number;
  device?: string;
  "data-dir"?: string;
  download: boolean;
}

const shellQuote = (s: string) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

export const analyzeCommand: CommandModule<object, AnalyzeArgs> = {
  command: "analyze [name]",
  describe: "Run one of the paper's analyses on trained runs (see --list)",
  builder: (y) =>
    y
      .positional("name", { type: "string", describe: "analysis name (see --list)" })
      .option("list", { type: "boolean", default: false, describe: "print the analysis names, one a line" })
      .option("runs", { type: "string", array: true, describe: "run folders written by `train`" })
      .option("out", { type: "string", default: "analysis", describe: "folder for <name>.json and its figures" })
      .option("limit", { type: "number", describe: "images per split (default 2000; some analyses use less)" })
      .option("probes", { type: "number", describe: "second-order: Hutchinson probes (default 64)" })
      .option("batch-size", { type: "number" })
      .option("device", { type: "string" })
      .option("data-dir", { type: "string" })
      .option("download", { type: "boolean", default: false }) as never,
  handler: async (a) => {
    // Imported here, not at the top: the analyses bring the plotting library, which --help does not need.
    const { ANALYSES, ANALYSIS_NAMES, missingKinds, runAnalysis } = await import("../../experiments/index.js");
    if (a.list) {
      for (const n of ANALYSIS_NAMES) console.log(n);
      return;
    }
    if (!a.name) throw new Error("name an analysis (see `analyze --list`)");
    if (!ANALYSES[a.name]) throw new Error(`unknown analysis '${a.name}'; one of: ${ANALYSIS_NAMES.join(", ")}`);
    const runs = a.runs ?? [];
    const miss = missingKinds(a.name, runs);
    if (miss) throw new Error(miss);
    const device = deviceOption(a.device);
    const command = ["torchts-ood", ...process.argv.slice(2)].map(shellQuote).join(" ");
    const t0 = Date.now();
    const r = await runAnalysis(a.name, {
      runs,
      out: a.out,
      command,
      data: dataOptions(a["data-dir"], a.download),
      ...(a.limit !== undefined ? { limit: positiveInt("limit", a.limit)! } : {}),
      ...(a.probes !== undefined ? { probes: positiveInt("probes", a.probes)! } : {}),
      ...(a["batch-size"] !== undefined ? { batchSize: positiveInt("batch-size", a["batch-size"])! } : {}),
      ...(device ? { device } : {}),
      log: (l: string) => process.stderr.write(l + "\n"),
    });
    for (const v of r.verdicts) console.log(`${v.matchesPaper ? "matches the paper" : "DIFFERS from the paper"}: ${v.sentence}`);
    for (const n of r.notes) console.log(`note: ${n}`);
    console.log(`wrote ${a.out}/${a.name}.json and ${r.figures.length} figure(s) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  },
};
