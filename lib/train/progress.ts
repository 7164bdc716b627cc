// Progress on a terminal: one updating line with rate and ETA; elsewhere (CI, pipes) a plain line now
// and then.
export interface ProgressInfo {
  step: number;
  total: number;
  loss: number;
  imagesPerSec: number;
  elapsed: number;
}

export class Progress {
  private lastPlain = 0;
  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly plainEverySec = 10,
    private readonly quiet = false,
  ) {}

  update(p: ProgressInfo): void {
    if (this.quiet) return;
    const eta = p.step > 0 ? (p.elapsed / p.step) * (p.total - p.step) : NaN;
    const msg =
      `step ${p.step}/${p.total}  loss ${p.loss.toFixed(3)} bits/dim  ${p.imagesPerSec.toFixed(0)} img/s  ` + `elapsed ${fmt(p.elapsed)}  eta ${fmt(eta)}`;
    if (this.out.isTTY) {
      const width = 30,
        done = Math.round((width * p.step) / p.total);
      this.out.write(`\r[${"#".repeat(done)}${".".repeat(width - done)}] ${msg}\x1b[K`);
      if (p.step === p.total) this.out.write("\n");
    } else if (p.elapsed - this.lastPlain >= this.plainEverySec || p.step === p.total) {
      this.lastPlain = p.elapsed;
      this.out.write(msg + "\n");
    }
  }

  line(msg: string): void {
    if (this.quiet) return;
    this.out.write((this.out.isTTY ? "\r\x1b[K" : "") + msg + "\n");
  }
}

function fmt(sec: number): string {
  if (!Number.isFinite(sec)) return "?";
  const s = Math.round(sec);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
    : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}
