#!/usr/bin/env bash
# Ingest with a mirror of sample_rate = 1 to a local sink against ingest without one, on
# SQLite and PostgreSQL, in one run; and the lane's copies per second. Installs wrk
# (Debian package) when missing.
#   ./run bench mirror [--duration 10] [--rounds 2] [--connections 32] [--no-postgres]
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v wrk >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq wrk
fi
PYTHONPATH="$PWD/bench${PYTHONPATH:+:$PYTHONPATH}" exec .venv/bin/python bench/mirror/run.py "$@"
