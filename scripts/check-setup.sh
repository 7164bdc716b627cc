#!/usr/bin/env bash
# Checks that everything the tests call is here, before they start: one line for each thing missing,
# saying what to do, and exit 1. `.ci/run` and scripts/setup.sh run it; so can you.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
bad=0
miss() { printf 'check-setup: MISSING %s\n' "$*" >&2; bad=1; }

node_version=$(node -p 'process.versions.node' 2>/dev/null) || node_version=""
[ -n "$node_version" ] || miss "Node.js: install Node.js 20.17 or newer"
if [ -n "$node_version" ] && ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 17) ? 0 : 1)'; then
  miss "Node.js 20.17 or newer (found $node_version; package.json's engines)"
fi
if ! command -v "$PY" >/dev/null 2>&1; then
  miss "Python at '$PY' (the interop test and the speed references run it): install Python 3, or set PYTHON"
else
  for m in torch numpy safetensors.torch; do
    "$PY" -c "import $m" >/dev/null 2>&1 || miss "Python module '$m' in $PY: run bash scripts/setup.sh (or $PY -m pip install ${m%%.*})"
  done
fi
[ -d node_modules/vitest ] || miss "npm packages (node_modules/vitest): run npm ci"
[ -f dist/bin/torchts-ood.js ] || miss "the TypeScript build (dist/): run npm run build:ts"
if [ ! -f build/Release/torchts.node ]; then
  miss "the native addon build/Release/torchts.node: run npm run build:native"
elif ! out=$(node -e 'require("./build/Release/torchts.node").version()' 2>&1); then
  miss "a native addon that loads: build/Release/torchts.node fails with: $(printf '%s' "$out" | grep -m1 -i 'error' || printf '%s' "$out" | head -1). Rebuild: npm run build:native"
elif ! node -e 'process.exit(require("./build/Release/torchts.node").distBackends().gloo ? 0 : 1)' >/dev/null 2>&1; then
  # Not an error: everything but distributed training works, and its tests are skipped.
  printf 'check-setup: note: the native addon has no distributed training (gloo headers were missing when it was built: apt-get install libgloo-dev, then npm run build:native)\n' >&2
fi
# The data the tests read (test/paths.ts): FashionMNIST from Debian's package or $TORCHTS_OOD_DATA, MNIST's
# test split from ../shared/datasets.
fm=""
for d in /usr/share/datasets/fashion-mnist ${TORCHTS_OOD_DATA:+$(printf '%s' "$TORCHTS_OOD_DATA" | tr ':' '\n' | sed 's|$|/fashion-mnist|')}; do
  [ -f "$d/train-images-idx3-ubyte.gz" ] && fm=$d
done
[ -n "$fm" ] || miss "FashionMNIST (train-images-idx3-ubyte.gz in /usr/share/datasets/fashion-mnist or \$TORCHTS_OOD_DATA/fashion-mnist): apt-get install dataset-fashion-mnist"
[ -f ../shared/datasets/mnist/t10k-images-idx3-ubyte.gz ] || miss "MNIST's test split at ../shared/datasets/mnist (beside the repository; see ../shared/datasets/README.md)"

# The LibTorch the tests were checked against is pinned in scripts/python-constraints.txt. Another one (an
# installed torch of another version, or LIBTORCH) is allowed, with a warning: its float results and speed
# were never checked here.
pinned=$(sed -n 's/^torch==\([0-9.]*\).*/\1/p' scripts/python-constraints.txt)
found_py=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null)
found_addon=$(node -e 'process.stdout.write(require("./build/Release/torchts.node").version())' 2>/dev/null)
printf 'check-setup: LibTorch pinned %s; Python torch %s; the addon links %s%s\n' "$pinned" "${found_py:-none}" \
  "${found_addon:-nothing (not built)}" "${LIBTORCH:+ (LIBTORCH=$LIBTORCH)}" >&2
for v in "$found_py" "$found_addon"; do
  if [ -n "$v" ] && [ "$v" != "$pinned" ]; then
    printf 'check-setup: WARNING: LibTorch %s is not the pinned %s (scripts/python-constraints.txt): the tests and BENCHMARKS.md were checked against %s only. To use the pin: %s -m pip install -c scripts/python-constraints.txt torch, then npm run build:native\n' "$v" "$pinned" "$pinned" "$PY" >&2
    break
  fi
done

[ $bad = 0 ] && printf 'check-setup: everything the tests call is here (%s, Node.js %s)\n' "$("$PY" -c 'import torch; print("PyTorch " + torch.__version__)' 2>/dev/null)" "$node_version" >&2
exit $bad
