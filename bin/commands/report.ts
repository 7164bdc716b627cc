// `torchts-ood report DIR`: one self-contained HTML page from the analyses written to DIR.
import type { CommandModule } from "yargs";

interface ReportArgs {
  dir: string;
  out?: string;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: "report <dir>",
  describe: "Build one self-contained HTML page from the analyses in DIR",
  builder: (y) =>
    y
      .positional("dir", { type: "string", demandOption: true, describe: "folder written by `analyze --out`" })
      .option("out", { type: "string", describe: "HTML file (default DIR/report.html)" }) as never,
  handler: async (a) => {
    const { buildReport } = await import("../../experiments/report.js"); // the plotting library: not for --help
    const r = buildReport(a.dir, a.out ? { out: a.out } : {});
    console.log(`wrote ${r.file} (${r.analyses.length} analyses: ${r.analyses.join(", ")})`);
  },
};
