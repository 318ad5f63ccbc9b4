#!/usr/bin/env bash
# Set everything up and run the whole test suite (PostgreSQL too when
# WORKBENCH_TEST_POSTGRES_URL is set; .ci/run sets it).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
