// `npm run bench:check [-- --runs N] [-- --quick] [-- --json]`: the speed regression check a developer runs
// before they stop (issue 25). A benchmark, not a test: it never runs in vitest or CI.
//
// It runs each paired comparison against the Python references in ../shared/bench N times in one sitting,
// ours and Python's alternately (ours first in odd runs, Python first in even ones, so a drift in the
// machine's load falls on both sides), each side in a fresh process, and prints one ratio per comparison:
// the median over the N pairs of ours / Python (each pair's ratio taken within the pair), its goal, and
// whether it is above the goal.
//
//   small ops        node dist/bench/ops.js --no-reference  vs  ops_reference.py               (us per call, 1 thread)   <= 0.80
//   training step    node dist/bench/glow.js --steps 10     vs  glow_reference.py --steps 10 --clip-norm 50
//                    (the trainer's step: clipping at 50, loss and norm read back), 1 and 2 threads                 <= 0.90
//   scoring          node dist/bench/glow.js --eval         vs  glow_reference.py --eval (batch 256, bin centres,
//                    1 thread): time per batch, ours / Python; the goal >= 1.3x Python's images/s is <= 1/1.3
//
// Exit status: 0 when every goal is met, 1 when a ratio is above its goal, 2 when a side failed to run.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { requireBenchDir } from "./reference.js";

const HELP = `npm run bench:check [-- --runs N] [-- --quick] [-- --json]
  Runs the paired speed comparisons against ../shared/bench's Python references N times (default 3),
  ours and Python alternately, and prints each ratio ours/Python (median of the N paired runs), its goal
  and whether it is above it. About 1.5 minutes a run on an idle 2-core machine (5 for the default 3 runs);
  run it on a quiet machine: a loaded one says nothing, above all at 2 threads.
  --runs N   paired runs per comparison (default 3)
  --quick    tiny counts (a smoke run of the machinery, not a measurement: ratios are meaningless)
  --json     one JSON object with every run's numbers instead of the table
  Exit status: 0 every goal met, 1 some ratio above its goal, 2 a side failed to run.`;

const argv = process.argv.slice(2);
if (argv.includes("--help")) {
  console.log(HELP);
  process.exit(0);
}
const runsAt = argv.indexOf("--runs");
const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 3;
if (!(Number.isInteger(runs) && runs >= 1)) throw new Error("--runs needs a whole number, at least 1");
const quick = argv.includes("--quick");
const json = argv.includes("--json");

const here = dirname(fileURLToPath(import.meta.url));
const benchDir = requireBenchDir();
const python = process.env.PYTHON ?? "python3";
const CLIP_NORM = 50;
const TRAIN_STEPS = quick ? 2 : 10;
const EVAL_BATCH = quick ? 16 : 256;
const EVAL_STEPS = quick ? 2 : 10;
const WARMUP = quick ? 1 : 3;
const SCORING_SPEEDUP = 1.3;

/** One side of a comparison: a command whose last JSON line holds the measurement. */
interface Side {
  cmd: string;
  args: string[];
}

/** A paired comparison: ours against Python, each side's JSON turned into named values (lower is better). */
interface Comparison {
  title: string;
  ours: Side;
  python: Side;
  /** Named measurements of one side's output: times (us or ms), lower is better. */
  values: (out: Record<string, unknown>) => Record<string, number>;
  goal: number;
  unit: string;
}

const node = (script: string, args: string[]): Side => ({ cmd: process.execPath, args: [join(here, script), ...args] });
const py = (script: string, args: string[]): Side => ({ cmd: python, args: [join(benchDir, script), ...args] });

// In quick mode the Python ops reference times each case for 0.02 s instead of 0.5 s (its protocol is
// otherwise the same); the script has no flag for it, so its module is imported and its bench() called.
const quickOpsPython: Side = {
  cmd: python,
  args: [
    "-c",
    "import json, sys, torch; sys.path.insert(0, sys.argv[1]); import ops_reference as r; torch.set_num_threads(1); " +
      'print(json.dumps({"impl": "pytorch-python", "torch": torch.__version__, "us_per_op": ' +
      "{n: round(min(r.bench(f, 0.02) for _ in range(3)), 3) for n, f in r.CASES.items()}}))",
    benchDir,
  ],
};

const usPerOp = (o: Record<string, unknown>) => o.us_per_op as Record<string, number>;
const trainArgs = ["--steps", String(TRAIN_STEPS), "--warmup", String(WARMUP)];
const evalArgs = ["--eval", "--eval-batch", String(EVAL_BATCH), "--steps", String(EVAL_STEPS), "--warmup", String(WARMUP), "--threads", "1"];

const COMPARISONS: Comparison[] = [
  {
    title: "small ops (us per call, 1 thread)",
    ours: node("ops.js", ["--json", "--no-reference", ...(quick ? ["--seconds", "0.02"] : [])]),
    python: quick ? quickOpsPython : py("ops_reference.py", []),
    values: usPerOp,
    goal: 0.8,
    unit: "us",
  },
  ...[1, 2].map((threads): Comparison => ({
    title: `glow-small training step, clip ${CLIP_NORM}, ${threads} thread${threads > 1 ? "s" : ""} (ms)`,
    ours: node("glow.js", [...trainArgs, "--threads", String(threads)]),
    python: py("glow_reference.py", [...trainArgs, "--clip-norm", String(CLIP_NORM), "--threads", String(threads)]),
    values: (o) => ({ [`train_step_${threads}t`]: o.step_ms_median as number }),
    goal: 0.9,
    unit: "ms",
  })),
  {
    title: `scoring, batch ${EVAL_BATCH}, bin centres, 1 thread (ms per batch; goal >= ${SCORING_SPEEDUP}x Python's images/s)`,
    ours: node("glow.js", evalArgs),
    python: py("glow_reference.py", evalArgs),
    values: (o) => ({ [`scoring_b${EVAL_BATCH}`]: o.eval_ms_median as number }),
    goal: 1 / SCORING_SPEEDUP,
    unit: "ms",
  },
];

class SideFailed extends Error {}

function runSide(side: Side): Record<string, unknown> {
  const r = spawnSync(side.cmd, side.args, { encoding: "utf8", maxBuffer: 16 << 20 });
  const line = (r.stdout ?? "")
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .pop();
  if (r.status !== 0 || !line) {
    throw new SideFailed(
      `${[side.cmd, ...side.args].join(" ")} failed (status ${r.status}${r.signal ? `, ${r.signal}` : ""}):\n${(r.stderr ?? "").trim().slice(-2000)}`,
    );
  }
  return JSON.parse(line) as Record<string, unknown>;
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Row {
  name: string;
  comparison: string;
  goal: number;
  unit: string;
  ours: number[];
  python: number[];
  ratios: number[];
}

const rows = new Map<string, Row>();
const meta: { torch?: string; python_torch?: string; allocator?: string } = {};
const log = (m: string) => {
  if (!json) process.stderr.write(m + "\n");
};
const started = new Date();
log(
  `bench:check: ${runs} paired run${runs > 1 ? "s" : ""} per comparison${quick ? " (--quick: smoke run, ratios meaningless)" : ""}, ${started.toISOString()}`,
);

try {
  for (const c of COMPARISONS) {
    for (let run = 1; run <= runs; run++) {
      const t0 = performance.now();
      // alternate who goes first: ours in odd runs, Python in even ones
      const order = run % 2 ? (["ours", "python"] as const) : (["python", "ours"] as const);
      const out: Record<"ours" | "python", Record<string, unknown>> = { ours: {}, python: {} };
      for (const who of order) out[who] = runSide(c[who]);
      if (out.ours.params !== undefined && out.ours.params !== out.python.params)
        throw new SideFailed(`${c.title}: parameter count differs from the reference: ${String(out.ours.params)} vs ${String(out.python.params)}`);
      meta.torch ??= out.ours.torch as string;
      meta.allocator ??= out.ours.allocator as string | undefined;
      meta.python_torch ??= out.python.torch as string;
      const ours = c.values(out.ours),
        theirs = c.values(out.python);
      for (const [name, v] of Object.entries(ours)) {
        const p = theirs[name];
        if (!(v > 0 && p !== undefined && p > 0)) throw new SideFailed(`${c.title}: no value for ${name} (ours ${v}, Python ${p})`);
        const row = rows.get(name) ?? { name, comparison: c.title, goal: c.goal, unit: c.unit, ours: [], python: [], ratios: [] };
        row.ours.push(v);
        row.python.push(p);
        row.ratios.push(v / p);
        rows.set(name, row);
      }
      log(`  ${c.title}: run ${run}/${runs} (${order.join(" then ")}) ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
} catch (e) {
  if (!(e instanceof SideFailed)) throw e;
  console.error(`bench:check: ${e.message}`);
  process.exit(2);
}

const results = [...rows.values()].map((r) => {
  const ratio = median(r.ratios);
  return { ...r, ratio, above: ratio > r.goal };
});
const above = results.filter((r) => r.above);

if (json) {
  console.log(JSON.stringify({ date: started.toISOString(), runs, quick, ...meta, results }));
} else {
  const f2 = (v: number) => v.toFixed(2),
    f3 = (v: number) => (v >= 100 ? v.toFixed(1) : v.toFixed(3));
  console.log(
    `\nbench:check ${started.toISOString()}: LibTorch ${meta.torch} (allocator ${meta.allocator ?? "?"}) against Python PyTorch ${meta.python_torch}; ` +
      `ratio = median over ${runs} paired run${runs > 1 ? "s" : ""} of ours / Python${quick ? " (--quick: NOT a measurement)" : ""}\n`,
  );
  const head = ["case", "ours (median)", "Python (median)", "ratio per run", "ratio", "goal", "status"];
  const body = results.map((r) => [
    r.name,
    `${f3(median(r.ours))} ${r.unit}`,
    `${f3(median(r.python))} ${r.unit}`,
    r.ratios.map(f2).join(" "),
    f2(r.ratio),
    `<= ${f2(r.goal)}`,
    r.above ? "ABOVE GOAL" : "ok",
  ]);
  console.log(`| ${head.join(" | ")} |\n|${head.map((_, i) => (i === 0 || i === 3 || i === 6 ? " --- |" : " ---: |")).join("")}`);
  for (const b of body) console.log(`| ${b.join(" | ")} |`);
  const scoring = results.find((r) => r.name.startsWith("scoring"));
  if (scoring) {
    const ips = (ms: number) => (EVAL_BATCH * 1000) / ms;
    console.log(
      `\nscoring: ${ips(median(scoring.ours)).toFixed(1)} images/s against Python's ${ips(median(scoring.python)).toFixed(1)}: ` +
        `${(1 / scoring.ratio).toFixed(2)}x (goal >= ${SCORING_SPEEDUP}x, i.e. ratio <= ${f2(1 / SCORING_SPEEDUP)})`,
    );
  }
  console.log(
    above.length
      ? `\n${above.length} of ${results.length} ratios above their goal: ${above.map((r) => `${r.name} ${f2(r.ratio)} > ${f2(r.goal)}`).join(", ")}`
      : `\nevery ratio meets its goal (${results.length})`,
  );
}
// --quick measures nothing, so only a failure to run says anything there
process.exitCode = above.length && !quick ? 1 : 0;
