#!/usr/bin/env bash
# Every GPU check of the CUDA backend in one pass, for a machine lent for minutes (the device tool): the
# steps that tell the most come first, each under its own time limit so that a hang costs one step, and
# mbarrier waits trap instead of hanging (AXE_CUDA_WAIT_LIMIT). Logs go to $OUT (default ./gpu-logs).
#
#   bash benchmarks/gpu_session.sh [quick]      # quick: correctness only, no benchmarks or sanitizer
#
# Uses the machine's python3 (torch, cuda-bindings, NVRTC); the repository's pure-Python dependencies that
# are missing there (lark) come from wheels in .whl/ (see docs/cuda-backend.md, "Checking on a GPU").
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-logs}
mkdir -p "$OUT"
PY=${PY:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export AXE_CUDA_WAIT_LIMIT=${AXE_CUDA_WAIT_LIMIT:-268435456} AXE_CACHE_DIR=${AXE_CACHE_DIR:-/tmp/axe-cache}
if ! $PY -c "import lark" 2>/dev/null; then
  if ls .whl/lark-*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --target /tmp/axe-site .whl/*.whl && export PYTHONPATH="$PYTHONPATH:/tmp/axe-site"
  else
    echo "lark is missing and there is no .whl/lark-*.whl to install"; exit 2
  fi
fi

step() {   # step NAME SECONDS COMMAND...: run, keep the log, print its tail and the exit status
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  echo "== $name: exit $rc after $((SECONDS - t0)) s (limit $limit s)"
  tail -n "${TAIL:-25}" "$OUT/$name.log"
}

step device 30 nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv
# one process per kernel: a trap leaves the CUDA context unusable, and would hide the kernels after it
for kern in gemm_hopper gemm_hopper_pipelined gemm_hopper_ws gemm_hopper_ws_bf16 gemm_hopper_persistent \
    gemm_hopper_pingpong; do
  step "$kern" 45 $PY examples/gemm_hopper.py 1024 "$kern" --backend cuda
done
step gpu_tests 240 $PY -m pytest -q -x -m gpu -k "not sanitizer" tests/backends
[ "${1:-}" = quick ] && exit 0
# the benchmarks are compiled without the wait limit's trap test, as users run them
AXE_CUDA_WAIT_LIMIT= step gemm_bench 180 $PY benchmarks/gemm.py --reps 20
AXE_CUDA_WAIT_LIMIT= step memory_bench 60 $PY benchmarks/memory_bound.py
step sanitizer 240 $PY -m pytest -q -m gpu -k "sanitizer and (gemm_hopper or gemm or softmax)" tests/backends
