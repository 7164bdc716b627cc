#!/usr/bin/env bash
# On the lent GPU machine (the device tool runs this in a copy of the working tree, with .gpu/ and dist/
# carried; see scripts/gpu-pack.sh): unpack node, build the addon against that machine's CUDA LibTorch
# with plain CMake (no header download), run the CUDA tests and the GPU benchmark, and leave the logs
# under $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT" /tmp/nb
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }
export TORCHTS_BENCH_DIR=$PWD/.gpu/bench
xz -dc .gpu/node.xz > /tmp/nb/node && chmod +x /tmp/nb/node && export PATH=/tmp/nb:$PATH
[ -d node_modules ] || xz -dc .gpu/node_modules.tar.xz | tar -x
log "node $(node --version), $(python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())')"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> "$OUT/summary.txt" 2>&1
# CMakeLists.txt takes LibTorch from python3's torch; cmake-js's variables are given by hand here.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_JS_INC="$PWD/node_modules/node-api-headers/include" \
  -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$PWD/build/Release" > "$OUT/cmake.log" 2>&1 \
  && cmake --build build > "$OUT/build.log" 2>&1
log "build rc=$? ($(grep -c 'linking CUDA' "$OUT/cmake.log") CUDA link line)"
node -e 'import("./dist/lib/tensor/index.js").then(t => console.log("cuda devices seen by the addon:", t.cuda.isAvailable()))' 2>&1 | tee -a "$OUT/summary.txt"
NO_COLOR=1 timeout 240 npx vitest run test/tensor > "$OUT/tests.log" 2>&1
log "tests rc=$? $(grep -E 'Tests ' "$OUT/tests.log" | tail -1)"
timeout 240 node dist/bench/gpu.js > "$OUT/bench-gpu.log" 2>&1
log "bench:gpu rc=$?"
cat "$OUT/bench-gpu.log" >> "$OUT/summary.txt"
cat "$OUT/summary.txt"
