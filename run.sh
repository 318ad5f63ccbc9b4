#!/usr/bin/env bash
# Set everything up, build the sample study into workbench.db if it is empty, start the app.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
.venv/bin/workbench demo --if-empty
exec .venv/bin/python -m workbench.ui.serve "$@"  # streamlit run app.py, with nothing leaving the machine
