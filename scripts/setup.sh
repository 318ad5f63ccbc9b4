#!/usr/bin/env bash
# Create .venv in the repository root and install the workbench with its test tools.
# PyTorch is installed first, pinned, so nothing later pulls a CUDA build on a CPU machine
# (on these machines `torch==2.13.0` is a CPU wheel from local files).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ "$(cat .venv/.setup-stamp 2>/dev/null || true)" != "$stamp" ]; then
  echo "Setting up .venv (first run takes a minute)..." >&2
  .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" >&2 || true
  .venv/bin/python -m pip install --quiet "torch==2.13.0" 2>&1 | grep -v "is ignored" >&2 || true
  .venv/bin/python -m pip install --quiet -e ".[test]" 2>&1 | grep -v "is ignored" >&2 || true
  .venv/bin/python -c "import workbench, sqlalchemy, spacy, streamlit" \
    || { echo "setup failed: see the pip messages above" >&2; exit 1; }
  echo "$stamp" > .venv/.setup-stamp
fi
