#!/usr/bin/env bash
# scripts/device.sh: everything the CUDA path needs on the lent GPU machine, in ONE call (the device tool's command
# limit is 2000 characters). Phases (default: env build tests sanitize peer bench):
#   env       GPU, driver, nvcc, libcudnn (also PyTorch's wheel copy, put on LD_LIBRARY_PATH), torch, profilers
#   build     use the binaries in .devbin/ when they run here, else configure (sm_90a) and build from source
#   tests     gpu_emulator_test and gpu_dit_test (label gpu), full gtest output
#   sanitize  compute-sanitizer memcheck on gpu_dit_test, racecheck on its shared-memory kernels
#   qbench    cuda_bench (quantize / GEMM kernels against copy and cuBLASLt bf16); QBENCH_RUNS=N repeats it and
#             summarizes each row over the runs (scripts/qbench_summary.py)
#   sass      cuobjdump of the NVFP4 quantize kernels (te; fp32 and bf16 input) with an opcode histogram
#   profile   ncu (speed of light, occupancy, warp stall reasons) on one launch each of the NVFP4 quantize, INT8
#             per-row and tiled exact W4A4 kernels inside cuda_bench: the evidence for docs/perf-h100.md's bounds;
#             NCU_KERNELS="name:launch-skip ..." picks others, NCU_SOURCE=1 adds the per-instruction source view
#   peer      experiments/torch_peer.py (PyTorch eager bf16 peer, best SDPA backend) on wan2.1-1.3b
#   bench     build*/cuda/dit_e2e_bench on wan2.1-1.3b (480p, 81 frames) with the peer's JSON, attention bench
#   bench14   the same for wan2.1-14b (bf16 and dynamic 6-bit; peer too): memory and time per step
#   torchcmp  PyTorch (CPU, fp32) resamples the latents of `sixbit eval-world --out D` from the same seeds and reports
#             the PSNR of each against the C++ sampler's (copy D/samples.safetensors to the ignored .devdata/ and carry it)
#   small     the shipped small model (predictor + TDC, default settings) through `sixbit run` on the emulator,
#             cuda-verify and cuda backends; experiments/compare_reports.py says whether the precision tables, skip
#             maps and videos agree (verify: must be identical to the emulator's; fast: within its fidelity);
#             SMALL_ARGS adds `sixbit run` options (e.g. "--policy w8a8": the W8A8 GEMM end to end)
# Logs and JSON go to $OUT (at most 8 files come back); the summary is printed last. One command may run 10 minutes:
# each phase has its own timeout (T_TESTS, T_MEMCHECK, T_RACECHECK, T_PEER, T_BENCH seconds); choose phases to fit.
# Call (device tool): command "bash scripts/device.sh [phases]", carry [".deps", ".devbin"].
# Here, before the call: `bash scripts/device.sh --pack` builds the binaries for sm_90a with -march=x86-64-v3 in
# build-devbin/ and copies them to .devbin/ (ignored by git through .git/info/exclude), so the device skips compiling.
# .deps/ (ignored) is prepared on a networked machine: apt-get download libxtensor-dev xtl-dev into .deps/debs,
# then `dpkg -x <deb> .deps/root` for each (the GPU image has no xtensor and no network).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--pack" ]; then
  cmake -S . -B build-devbin -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90a -DSIXBIT_MARCH=x86-64-v3 >/dev/null &&
    cmake --build build-devbin -j"$(nproc)" --target gpu_dit_test gpu_emulator_test dit_e2e_bench cuda_bench sixbit || exit 1
  grep -qx '/.devbin/' .git/info/exclude 2>/dev/null || echo '/.devbin/' >>.git/info/exclude
  mkdir -p .devbin && cp build-devbin/tests/gpu/gpu_dit_test build-devbin/tests/gpu/gpu_emulator_test build-devbin/cuda/dit_e2e_bench \
    build-devbin/cuda/cuda_bench build-devbin/sixbit .devbin/ && git rev-parse HEAD >.devbin/COMMIT && ls -la .devbin && exit 0
fi

OUT=${OUT:-/tmp/sixbit-out}
mkdir -p "$OUT"
LOG=$OUT/device.log
SUMMARY=$OUT/summary.txt
: >"$LOG"
: >"$SUMMARY"
step() { echo "== $* ($(date +%T))" | tee -a "$LOG"; }
note() { echo "$*" | tee -a "$SUMMARY" >>"$LOG"; }
JOBS=$(nproc)
PHASES=${*:-env build tests sanitize peer bench}
has() { [[ " $PHASES " == *" $1 "* ]]; }
T0=$(date +%s)

# libcudnn: the system's, else the copy inside PyTorch's wheel (nvidia/cudnn/lib), for our dlopen.
if ! ldconfig -p 2>/dev/null | grep -q 'libcudnn.so.9'; then
  TORCH_NV=$(python3 -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]) + "/nvidia")' 2>/dev/null || true)
  for d in "$TORCH_NV/cudnn/lib" $(find / -name 'libcudnn.so.9' -path '*cudnn*' -printf '%h\n' 2>/dev/null | head -3); do
    [ -f "$d/libcudnn.so.9" ] && export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}" && break
  done
fi

if has env; then
  step "env"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | tee -a "$LOG" | tail -1 | sed 's/^/GPU: /' >>"$SUMMARY"
  nvcc --version 2>&1 | tail -2 >>"$LOG"
  { ldconfig -p | grep -E 'libcudnn.so|libcublasLt.so' ; echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"; ls /usr/include/cudnn*.h /usr/local/cuda/include/cudnn*.h 2>&1 | head -3;
    find / -name 'cudnn_frontend.h' 2>/dev/null | head -2; which compute-sanitizer ncu nsys cuobjdump 2>&1;
    python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())' 2>&1;
    lscpu | grep -E 'Model name|Flags' | cut -c1-200; } >>"$LOG" 2>&1
  note "torch/cudnn: $(python3 -c 'import torch; print(torch.__version__, "cudnn", torch.backends.cudnn.version())' 2>&1 | tail -1)"
fi

# ---- binaries ----
BIN_DIT=""; BIN_EMU=""; BIN_BENCH=""; BIN_QB=""
if [ -x .devbin/gpu_dit_test ] && .devbin/gpu_dit_test --gtest_list_tests >/dev/null 2>&1; then
  BIN_DIT=.devbin/gpu_dit_test; BIN_EMU=.devbin/gpu_emulator_test; BIN_BENCH=.devbin/dit_e2e_bench; BIN_QB=.devbin/cuda_bench
  note "binaries: prebuilt .devbin (commit $(cat .devbin/COMMIT 2>/dev/null | cut -c1-9))"
elif has build || has tests || has bench || has bench14 || has sanitize; then
  step "build from source"
  DEPS=$PWD/.deps/root/usr
  [ -d "$DEPS/include/xtensor" ] || { note "FAIL: no prebuilt binaries and .deps/root has no xtensor"; cat "$SUMMARY"; exit 1; }
  if [ ! -f /tmp/gtest/lib/cmake/GTest/GTestConfig.cmake ] && ! ls /usr/lib/*/cmake/GTest/GTestConfig.cmake >/dev/null 2>&1; then
    cmake -S /usr/src/googletest -B /tmp/gtest-build -DCMAKE_INSTALL_PREFIX=/tmp/gtest -DCMAKE_BUILD_TYPE=Release >>"$LOG" 2>&1 &&
      cmake --build /tmp/gtest-build -j"$JOBS" >>"$LOG" 2>&1 && cmake --install /tmp/gtest-build >>"$LOG" 2>&1 || note "FAIL: googletest build"
  fi
  B=build-device
  t0=$(date +%s)
  cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90a \
    -DCMAKE_PREFIX_PATH="$DEPS;$DEPS/share/cmake;$DEPS/lib/x86_64-linux-gnu/cmake;/tmp/gtest" >>"$LOG" 2>&1 || { note "FAIL: configure"; tail -30 "$LOG"; exit 1; }
  cmake --build $B -j"$JOBS" --target gpu_dit_test gpu_emulator_test dit_e2e_bench cuda_bench >>"$LOG" 2>&1 ||
    { note "FAIL: build"; grep -E "error" "$LOG" | head -30; exit 1; }
  note "build from source: $(( $(date +%s) - t0 )) s"
  BIN_DIT=$B/tests/gpu/gpu_dit_test; BIN_EMU=$B/tests/gpu/gpu_emulator_test; BIN_BENCH=$B/cuda/dit_e2e_bench; BIN_QB=$B/cuda/cuda_bench
fi

if has tests; then
  step "gpu tests"
  TESTS_TO_RUN="$BIN_EMU $BIN_DIT"; [ -n "${SKIP_EMU:-}" ] && TESTS_TO_RUN="$BIN_DIT"
  for t in $TESTS_TO_RUN; do
    timeout ${T_TESTS:-200} "$t" >"$OUT/tests-one.log" 2>&1
    rc=$?
    cat "$OUT/tests-one.log" >>"$OUT/tests.log"
    note "$(basename "$t"): rc=$rc; $(grep -E '^\[  PASSED  \]|^\[  FAILED  \]|tests? ran' "$OUT/tests-one.log" | tail -3 | tr '\n' ' ')"
  done
  rm -f "$OUT/tests-one.log"
  grep -E '^\[  FAILED  \]|Failure|error:' "$OUT/tests.log" | head -20 >>"$SUMMARY"
  grep -E '^\s+\[' "$OUT/tests.log" | head -60 >>"$SUMMARY"
fi

if has sanitize; then
  step "compute-sanitizer"
  timeout ${T_MEMCHECK:-240} compute-sanitizer --tool memcheck --error-exitcode 9 "$BIN_DIT" --gtest_filter='-GlibcMath.*:*TinyAndSmall*:CudaDitMemory.*' >"$OUT/sanitizer.log" 2>&1
  note "memcheck gpu_dit_test: rc=$?; $(grep -E 'ERROR SUMMARY' "$OUT/sanitizer.log" | tail -1)"
  # the quantize and GEMM kernels (tiled exact GEMMs, coalesced quantizers) on the shapes that stay quick under memcheck
  timeout ${T_MEMCHECK:-240} compute-sanitizer --tool memcheck --error-exitcode 9 "$BIN_EMU" \
    --gtest_filter='GpuQuantize*:GpuDequantize*:GpuGemm.*:GpuGemmFast.*:GpuGemmSm90.*:GpuGemmSm90Exact.*:*K16*:*K48*:*K64*:*K80*-*LargerThanItKeepsOnChip*' >"$OUT/sanitizer-emu.log" 2>&1
  note "memcheck gpu_emulator_test: rc=$?; $(grep -E 'ERROR SUMMARY' "$OUT/sanitizer-emu.log" | tail -1)"
  timeout ${T_RACECHECK:-150} compute-sanitizer --tool racecheck --error-exitcode 9 "$BIN_EMU" \
    --gtest_filter='*K48*:*K80*:GpuQuantizeMore.Int8*:GpuQuantizeMore.Nvfp4Fp32RowMajor*:GpuDequantize*:GpuGemmSm90.*:GpuGemmSm90Exact.*' >>"$OUT/sanitizer-emu.log" 2>&1
  note "racecheck gpu_emulator_test (tiled GEMM staging, row reductions, one-launch NVFP4, sm90 epilogue staging): rc=$?; $(grep -E 'RACECHECK SUMMARY' "$OUT/sanitizer-emu.log" | tail -1)"
  timeout ${T_RACECHECK:-150} compute-sanitizer --tool racecheck --error-exitcode 9 "$BIN_DIT" --gtest_filter='FastAttention.Own*:FastFixture.Fused*:FastFixture.SubAndDiffNorms:FastFixture.Gated*' >>"$OUT/sanitizer.log" 2>&1
  note "racecheck gpu_dit_test (own flash, row programs, reductions; cuDNN's kernels excluded): rc=$?; $(grep -E 'RACECHECK SUMMARY' "$OUT/sanitizer.log" | tail -1)"
fi

if has small; then
  step "small model: emulator vs cuda-verify vs cuda"
  SIXBIT=.devbin/sixbit; [ -x "$SIXBIT" ] || SIXBIT=${B:-build-device}/sixbit
  for be in emulator cuda-verify cuda; do
    rm -rf "/tmp/small-$be"
    timeout ${T_SMALL:-150} "$SIXBIT" run --no-progress --backend $be --out "/tmp/small-$be" ${SMALL_ARGS:-} >"/tmp/small-$be.txt" 2>&1
    note "sixbit run --backend $be: rc=$? $(grep -E 'PSNR|skipped' "/tmp/small-$be.txt" | tr -s ' ' | tr '\n' ' ')"
  done
  python3 experiments/compare_reports.py /tmp/small-emulator/report.json /tmp/small-cuda-verify/report.json >>"$SUMMARY" 2>&1
  python3 experiments/compare_reports.py /tmp/small-emulator/report.json /tmp/small-cuda/report.json >>"$SUMMARY" 2>&1
  cp /tmp/small-cuda/report.json "$OUT/small-cuda-report.json" 2>/dev/null
fi

if has torchcmp; then
  step "C++ vs PyTorch sampling of the shipped model"
  timeout ${T_TORCHCMP:-300} python3 experiments/sample_small.py --model models/sixbit-small.safetensors \
    --compare .devdata/eval_samples.safetensors --threads "$JOBS" >"$OUT/torchcmp.txt" 2>&1
  note "sample_small.py --compare (48 eval samples): rc=$?; $(tail -2 "$OUT/torchcmp.txt" | tr '\n' ' ')"
fi

if has qbench; then
  # QBENCH_RUNS (default 1) whole runs of cuda_bench; with several, scripts/qbench_summary.py prints each row's median,
  # min and max ratio across runs (memory-bound rows moved by up to 15% between runs on the H100).
  for r in $(seq 1 "${QBENCH_RUNS:-1}"); do
    step "cuda_bench run $r"
    timeout 300 "$BIN_QB" >"$OUT/qbench-$r.txt" 2>&1
    note "cuda_bench run $r: rc=$?"
    cat "$OUT/qbench-$r.txt" >>"$LOG"
  done
  [ "${QBENCH_RUNS:-1}" -gt 1 ] && python3 scripts/qbench_summary.py "$OUT"/qbench-*.txt >"$OUT/qbench-summary.txt" 2>&1 && cat "$OUT/qbench-summary.txt" >>"$SUMMARY"
  [ "${QBENCH_RUNS:-1}" -eq 1 ] && grep -E '^--|baseline|W8A8|W4A4 fast|W4A8 fast|exact|one launch|two launches' "$OUT/qbench-1.txt" >>"$SUMMARY"
fi

if has profile; then
  step "ncu"
  # launch-skip 1: the first quantize launch of cuda_bench is the weight (1536 x 1536), the second the M = 32760 input
  # NCU_KERNELS="name:launch-skip ..." picks others; NCU_ARGS="--kernel-name-base mangled" matches template arguments
  # (e.g. NCU_KERNELS="W8A8Sm90EfE:0": gemm_sm90_kernel<W8A8Sm90, float>).
  # NCU_SOURCE=1 also collects SourceCounters and digests the source view (stall samples and executions per SASS
  # instruction; scripts/ncu_source_digest.py) into ncu-source.txt, the head of each digest into the summary.
  for k in ${NCU_KERNELS:-nvfp4_quantize_kernel:1 int8_quantize_rows_regs_kernel:1 gemm_exact_tiled_kernel:0}; do
    SRC_ARGS=(); [ -n "${NCU_SOURCE:-}" ] && SRC_ARGS=(--section SourceCounters -o /tmp/ncu-one -f)
    timeout ${T_PROFILE:-150} ncu ${NCU_ARGS:-} --kernel-name "regex:${k%:*}" --launch-skip "${k#*:}" --launch-count 1 --section SpeedOfLight --section Occupancy \
      --section WarpStateStats --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section LaunchStats "${SRC_ARGS[@]}" \
      "$BIN_QB" >>"$OUT/ncu.txt" 2>&1
    note "ncu ${k%:*}: rc=$?"
    if [ -n "${NCU_SOURCE:-}" ] && [ -f /tmp/ncu-one.ncu-rep ]; then
      ncu --import /tmp/ncu-one.ncu-rep --page details >>"$OUT/ncu.txt" 2>&1
      ncu --import /tmp/ncu-one.ncu-rep --page source --print-source sass --csv >/tmp/ncu-one.csv 2>&1
      echo "== ${k}" >>"$OUT/ncu-source.txt"
      python3 scripts/ncu_source_digest.py /tmp/ncu-one.csv --top 25 >>"$OUT/ncu-source.txt" 2>&1
      python3 scripts/ncu_source_digest.py /tmp/ncu-one.csv --top 5 2>&1 | head -12 | sed "s|^|  |" >>"$SUMMARY"
      rm -f /tmp/ncu-one.ncu-rep /tmp/ncu-one.csv
    fi
  done
fi

if has sass; then
  step "sass"
  # The NVFP4 quantizer's machine code (te recipe, fp32 and bf16 input) and its opcode histogram: which instructions
  # a bit-exact encode costs per element (docs/perf-h100.md).
  cuobjdump -sass "$BIN_QB" 2>/dev/null | awk '/Function : /{keep = ($0 ~ /nvfp4_quantize_kernel/ && $0 ~ /RecipeE0/)} keep' >"$OUT/sass-nvfp4.txt"
  python3 - "$OUT/sass-nvfp4.txt" >>"$SUMMARY" <<'PY'
import collections, re, sys
fun, hist = None, collections.OrderedDict()
for line in open(sys.argv[1]):
    if "Function : " in line:
        fun = line.split("Function : ")[1].strip(); hist[fun] = collections.Counter(); continue
    m = re.match(r"\s+/\*[0-9a-f]{4}\*/\s+(@!?U?P\w+\s+)?([A-Z][A-Z0-9_]*)(\.[A-Z0-9_.]+)?", line)
    if fun and m: hist[fun][m.group(2)] += 1
for f, c in hist.items():
    print(f"sass {f[:90]}: {sum(c.values())} instructions; " + ", ".join(f"{k} {v}" for k, v in c.most_common(24)))
PY
  note "sass: $(grep -c 'Function :' "$OUT/sass-nvfp4.txt") kernels dumped"
  # The Hopper GEMMs must run on the tensor cores' warpgroup path: IGMMA (int8 wgmma, W8A8) and HGMMA (bf16, W4A8
  # fast), no IMMA/HMMA, no local memory.
  cuobjdump -sass "$BIN_QB" 2>/dev/null | awk '/Function : /{keep = ($0 ~ /gemm_sm90_kernel|pingpong_kernel/)} keep' >"$OUT/sass-sm90.txt"
  note "sass sm90 GEMM kernels: $(grep -c 'Function :' "$OUT/sass-sm90.txt") kernels, IGMMA $(grep -c IGMMA "$OUT/sass-sm90.txt"), HGMMA $(grep -c HGMMA "$OUT/sass-sm90.txt"), IMMA/HMMA $(grep -cE ' (IMMA|HMMA)' "$OUT/sass-sm90.txt"), local memory (LDL/STL) $(grep -cE 'LDL|STL' "$OUT/sass-sm90.txt")"
fi

if has peer; then
  step "torch peer 1.3b"
  PYTHONUNBUFFERED=1 timeout ${T_PEER:-150} python3 experiments/torch_peer.py --preset 1.3b --steps ${STEPS:-4} --warmup 2 --json "$OUT/peer.json" >>"$LOG" 2>&1
  note "torch peer 1.3b: rc=$?; $(tail -1 "$LOG")"
fi

if has bench; then
  step "dit_e2e_bench 1.3b"
  timeout ${T_BENCH:-300} "$BIN_BENCH" --preset wan2.1-1.3b --steps ${STEPS:-3} --warmup 2 --configs ${CONFIGS:-bf16,w8a8,w4a4,dyn6,dyn6+tdc} --full ${FULL:-bf16,dyn6+tdc} \
    --tdc-threshold ${TDC:-0.05} --peer "$OUT/peer.json" --json "$OUT/bench.json" --attention-bench >"$OUT/bench.txt" 2>&1
  note "dit_e2e_bench 1.3b: rc=$?"
  cat "$OUT/bench.txt" >>"$LOG"
fi

if has bench14; then
  step "14b"
  if [ -z "${SKIP_PEER14:-}" ]; then
    PYTHONUNBUFFERED=1 timeout ${T_PEER:-150} python3 experiments/torch_peer.py --preset 14b --steps 2 --warmup 1 --json "$OUT/peer14.json" >>"$LOG" 2>&1
    note "torch peer 14b: rc=$?; $(tail -1 "$LOG")"
  fi
  timeout ${T_BENCH:-300} "$BIN_BENCH" --preset wan2.1-14b --steps 2 --warmup 1 --configs bf16,dyn6 --peer "$OUT/peer14.json" --json "$OUT/bench14.json" \
    >"$OUT/bench14.txt" 2>&1
  note "dit_e2e_bench 14b: rc=$?"
  cat "$OUT/bench14.txt" >>"$LOG"; tail -40 "$OUT/bench14.txt" >>"$SUMMARY"; rm -f "$OUT/bench14.txt"
fi

note "device script: $(( $(date +%s) - T0 )) s"
echo
echo "===== summary ====="
cat "$SUMMARY"
if [ -f "$OUT/bench.txt" ]; then echo; cat "$OUT/bench.txt"; rm -f "$OUT/bench.txt"; fi  # also in device.log (8 files come back)
