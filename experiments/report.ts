// One self-contained HTML page from the analyses written to a folder: every figure inlined as a data
// URI, every table, the verdicts against the paper (mismatches shown as plainly as matches), the notes,
// and the command that made each analysis.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ANALYSIS_NAMES, type AnalysisFile } from "./index.js";

const esc = (s: unknown) =>
  String(s ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");

const CSS = `body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-top:2px solid #ccc;padding-top:.6em;margin-top:2em}
code,pre{background:#f4f4f4;padding:2px 4px;border-radius:3px;font-size:.9em}pre{padding:.6em;white-space:pre-wrap;word-break:break-all}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#eee}
td:first-child,th:first-child{text-align:left}.ok{color:#186a1f}.bad{color:#b00020;font-weight:bold}
.verdict{margin:.3em 0}.figs{display:flex;flex-wrap:wrap;gap:14px}figure{margin:0;border:1px solid #ddd;padding:6px;background:#fff}
figcaption{font-size:.82em;color:#555;max-width:460px}.summary td,.summary th{text-align:left}.muted{color:#666;font-size:.9em}`;

function table(t: AnalysisFile["tables"][number]): string {
  return (
    `<p><b>${esc(t.title)}</b></p><table><tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>` +
    t.rows.map((r) => `<tr>${r.map((v) => `<td>${esc(v === null ? "" : v)}</td>`).join("")}</tr>`).join("") +
    "</table>"
  );
}

function figure(dir: string, f: AnalysisFile["figures"][number]): string {
  const p = join(dir, f.file);
  if (!existsSync(p)) return `<figure><p class="bad">missing figure ${esc(f.file)}</p></figure>`;
  const mime = f.file.endsWith(".png") ? "image/png" : "image/svg+xml";
  const uri = `data:${mime};base64,${readFileSync(p).toString("base64")}`;
  return `<figure><img alt="${esc(f.title)}" src="${uri}" style="max-width:540px"><figcaption><b>${esc(f.title)}</b>. ${esc(f.caption)}</figcaption></figure>`;
}

/** Reads every <name>.json analysis in dir; returns the HTML and writes dir/report.html. */
export function buildReport(dirIn: string, o: { out?: string; title?: string } = {}): { html: string; file: string; analyses: string[] } {
  const dir = resolve(dirIn);
  const files = readdirSync(dir).filter((f) => f.endsWith(".json") && !f.endsWith(".vl.json"));
  const analyses: AnalysisFile[] = [];
  for (const f of files) {
    try {
      const j = JSON.parse(readFileSync(join(dir, f), "utf8")) as AnalysisFile;
      if (j.format === "torchts-ood-analysis/1") analyses.push(j);
    } catch {
      /* not an analysis file */
    }
  }
  if (!analyses.length) throw new Error(`${dir} holds no analysis results (<name>.json from \`torchts-ood analyze\`)`);
  const order = (n: string) => {
    const i = ANALYSIS_NAMES.indexOf(n);
    return i < 0 ? 99 : i;
  };
  analyses.sort((a, b) => order(a.name) - order(b.name));
  const allVerdicts = analyses.flatMap((a) => a.verdicts.map((v) => ({ ...v, name: a.name })));
  const nBad = allVerdicts.filter((v) => !v.matchesPaper).length;
  const summary =
    `<h2 id="summary">Summary against the paper</h2><p>${allVerdicts.length - nBad} of ${allVerdicts.length} checked claims match the paper; ` +
    `<span class="${nBad ? "bad" : "ok"}">${nBad} differ</span>.</p><table class="summary"><tr><th>analysis</th><th>figure</th><th>matches the paper</th><th>claim</th></tr>` +
    analyses
      .map((a) =>
        a.verdicts
          .map(
            (v) =>
              `<tr><td><a href="#${esc(a.name)}">${esc(a.name)}</a></td><td>${esc(a.figure)}</td><td class="${v.matchesPaper ? "ok" : "bad"}">${v.matchesPaper ? "yes" : "NO"}</td><td>${esc(v.claim)}</td></tr>`,
          )
          .join(""),
      )
      .join("") +
    "</table>";
  const sections = analyses
    .map((a) => {
      const verdicts = a.verdicts
        .map(
          (v) =>
            `<div class="verdict"><span class="${v.matchesPaper ? "ok" : "bad"}">${v.matchesPaper ? "✓ matches the paper" : "✗ differs from the paper"}</span>: ${esc(v.claim)}. ${esc(v.sentence)}</div>`,
        )
        .join("");
      return (
        `<section id="${esc(a.name)}"><h2>${esc(a.name)} <span class="muted">(${esc(a.figure)})</span></h2><p>${esc(a.describe)}.</p>` +
        `<p class="muted">Made by <code>${esc(a.command)}</code> on ${esc(a.createdAt)} in ${a.seconds.toFixed(0)} s${a.limit ? `, at most ${a.limit} images per split` : ""}; runs: ${a.runs.map((r) => `${esc(r.dir)} (${esc(r.kind)}, ${esc(r.dataset)}, seed ${r.seed})`).join("; ") || "none"}.</p>` +
        verdicts +
        (a.notes.length ? `<ul>${a.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : "") +
        a.tables.map(table).join("") +
        `<div class="figs">${a.figures.map((f) => figure(dir, f)).join("")}</div></section>`
      );
    })
    .join("\n");
  const title = o.title ?? "Do Deep Generative Models Know What They Don't Know? Likelihood analyses";
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${CSS}</style></head><body>` +
    `<h1>${esc(title)}</h1><p class="muted">Nalisnick et al., ICLR 2019, reproduced with torchts-ood. Built from ${analyses.length} analyses in ${esc(dir)} on ${new Date().toISOString()}. ` +
    `Only MNIST's test split exists on this machine: where MNIST-train is wanted, mnist:test[:5000] trains and mnist:test[5000:] is held out.</p>` +
    `<p>${analyses.map((a) => `<a href="#${esc(a.name)}">${esc(a.name)}</a>`).join(" · ")}</p>` +
    summary +
    sections +
    "</body></html>\n";
  const file = o.out ?? join(dir, "report.html");
  writeFileSync(file, html);
  return { html, file, analyses: analyses.map((a) => a.name) };
}
