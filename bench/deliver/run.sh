#!/usr/bin/env bash
# Reproducible delivery benchmark, end to end (ingest → store → worker → local sink), on
# SQLite and PostgreSQL, with the sink's own capacity as the baseline. Installs wrk (Debian
# package) when missing.
#   ./run bench deliver [--duration 15] [--rates 500,2000] [--max-in-flight 32] [--no-postgres]
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v wrk >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq wrk
fi
PYTHONPATH="$PWD/bench${PYTHONPATH:+:$PYTHONPATH}" exec .venv/bin/python bench/deliver/run.py "$@"
