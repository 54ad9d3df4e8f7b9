#!/usr/bin/env bash
# scripts/device.sh: everything the CUDA path needs on the lent GPU machine, in ONE call (the device tool's
# command limit is 2000 characters): point CMake at the carried deps, build GoogleTest from the image's sources,
# configure for sm_90a only (compile time), build the CUDA targets, run the gpu tests, compute-sanitizer
# memcheck + racecheck on them, the benchmark; the full log goes to $OUT/device.log, a short table is printed last.
# Call (device tool): command "bash scripts/device.sh", carry [".deps"].
# .deps/ (ignored) is prepared on a networked machine: apt-get download libxtensor-dev xtl-dev into .deps/debs,
# then `dpkg -x <deb> .deps/root` for each (the GPU image has no xtensor and no network).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/sixbit-out}
mkdir -p "$OUT"
LOG=$OUT/device.log
SUMMARY=$OUT/summary.txt
: >"$LOG"
: >"$SUMMARY"
step() { echo "== $*" | tee -a "$LOG"; }
note() { echo "$*" | tee -a "$SUMMARY" >>"$LOG"; }
JOBS=$(nproc)

step "device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >>"$LOG" 2>&1
nvcc --version | tail -2 >>"$LOG"

DEPS=$PWD/.deps/root/usr
if [ ! -d "$DEPS/include/xtensor" ]; then
  note "FAIL: .deps/root has no xtensor (carry .deps; see the header of this script)"; cat "$SUMMARY"; exit 1
fi
# GoogleTest: the image ships sources only; build them once into /tmp/gtest.
if [ ! -f /tmp/gtest/lib/cmake/GTest/GTestConfig.cmake ] && ! ls /usr/lib/*/cmake/GTest/GTestConfig.cmake >/dev/null 2>&1; then
  step "build googletest from /usr/src/googletest"
  cmake -S /usr/src/googletest -B /tmp/gtest-build -DCMAKE_INSTALL_PREFIX=/tmp/gtest -DCMAKE_BUILD_TYPE=Release >>"$LOG" 2>&1 &&
    cmake --build /tmp/gtest-build -j"$JOBS" >>"$LOG" 2>&1 && cmake --install /tmp/gtest-build >>"$LOG" 2>&1 || { note "FAIL: googletest build"; }
fi

B=build-device
step "configure ($B, sm_90a)"
t0=$(date +%s)
if ! cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90a \
    -DCMAKE_PREFIX_PATH="$DEPS;$DEPS/share/cmake;$DEPS/lib/x86_64-linux-gnu/cmake;/tmp/gtest" >>"$LOG" 2>&1; then
  note "FAIL: configure (see device.log)"; tail -40 "$LOG"; exit 1
fi
step "build"
if ! cmake --build $B -j"$JOBS" --target sixbit_cuda gpu_emulator_test cuda_bench >>"$LOG" 2>&1; then
  note "FAIL: build (see device.log)"; grep -E "error|Error" "$LOG" | head -40; exit 1
fi
note "build: $(( $(date +%s) - t0 )) s"

step "gpu tests"
ctest --test-dir $B -L gpu --output-on-failure >"$OUT/ctest-gpu.log" 2>&1
rc=$?
cat "$OUT/ctest-gpu.log" >>"$LOG"
note "ctest -L gpu: rc=$rc, $(grep -E 'tests passed|tests failed' "$OUT/ctest-gpu.log" | tail -1)"
"$B/tests/gpu/gpu_emulator_test" >>"$LOG" 2>&1 || true   # direct run: full gtest output with messages

T=$B/tests/gpu/gpu_emulator_test
for tool in memcheck racecheck; do
  step "compute-sanitizer $tool"
  timeout 240 compute-sanitizer --tool $tool --error-exitcode 9 "$T" >"$OUT/sanitizer-$tool.log" 2>&1
  src=$?
  cat "$OUT/sanitizer-$tool.log" >>"$LOG"
  note "compute-sanitizer $tool: rc=$src; $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/sanitizer-$tool.log" | tail -1)"
done

step "benchmark"
timeout 300 "$B/cuda/cuda_bench" >"$OUT/bench.txt" 2>&1
note "cuda_bench: rc=$?"
cat "$OUT/bench.txt" >>"$LOG"

echo
echo "===== summary ====="
cat "$SUMMARY"
echo
cat "$OUT/bench.txt"
