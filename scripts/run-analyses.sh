#!/usr/bin/env bash
# Runs every analysis of experiments/ on the trained runs given (default: the run folders under
# $RUNS (default runs/) that hold a checkpoint and whose <name>.log beside them says "trained"), and builds
# the report. Usage:
#   scripts/run-analyses.sh [OUT=$RUNS/analysis] [RUN_DIR...]
# LIMIT (images per split, default 1000) and PROBES (Hutchinson, default 32) come from the environment.
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-runs}
out=${1:-$RUNS/analysis}
shift || true
runs=("$@")
if [ ${#runs[@]} -eq 0 ]; then
  for d in "$RUNS"/*/; do
    d=${d%/}; n=$(basename "$d")
    [ -f "$d/config.json" ] && [ -f "$d/checkpoint.safetensors" ] && grep -q "trained" "$RUNS/$n.log" 2>/dev/null && runs+=("$d")
  done
fi
export TORCHTS_OOD_DATA=${TORCHTS_OOD_DATA:-../shared/datasets}
cli="node dist/bin/torchts-ood.js"
mkdir -p "$out"
echo "runs: ${runs[*]:-none}"
for name in $($cli analyze --list); do
  case $name in
    dataset-stats|two-moons) args=() ;;
    *) args=(--runs "${runs[@]}" --limit "${LIMIT:-1000}") ;;
  esac
  [ "$name" = second-order ] && args+=(--probes "${PROBES:-32}")
  echo "== $name"
  $cli analyze "$name" "${args[@]}" --out "$out" 2>&1 | grep -v '^  scored' || echo "($name did not run)"
done
$cli report "$out"
