#!/usr/bin/env bash
# Here, before a GPU check: packs what the device machine lacks into .gpu/ (git-ignored; pass
# `carry: [".gpu", "dist"]` to the device tool): this machine's node binary and the node_modules that the
# native build and vitest need (not TypeScript, not the report's plotting packages), both xz-compressed to
# stay under the 64 MiB a device call carries. Then run scripts/gpu-check.sh there.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build:ts >/dev/null
mkdir -p .gpu
xz -T2 -6 -c "$(command -v node)" > .gpu/node.xz
tar -c --exclude='node_modules/typescript' --exclude='node_modules/vega*' --exclude='node_modules/@types' \
  --exclude='node_modules/cmake-js' --exclude='node_modules/.cache' node_modules | xz -T2 -6 > .gpu/node_modules.tar.xz
# The reference scripts: the device machine has no ../shared.
rm -rf .gpu/bench && cp -r ../shared/bench .gpu/bench
du -ch .gpu/* dist | tail -1
