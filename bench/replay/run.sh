#!/usr/bin/env bash
# Reproducible replay benchmark: hookyard replay to a local sink vs plain httpx, SQLite and
# PostgreSQL, in one run.
#   ./run bench replay [--events 20000] [--concurrency 32] [--no-postgres]
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHONPATH="$PWD/bench${PYTHONPATH:+:$PYTHONPATH}" exec .venv/bin/python bench/replay/run.py "$@"
