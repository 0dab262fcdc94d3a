#!/usr/bin/env bash
# Dashboard page times at 1,000,000 stored events, on SQLite and PostgreSQL (the query
# benchmark's data set), in-process through the real admin app.
#   ./run bench dashboard [--rows 1000000] [--repeat 20] [--no-postgres] [--no-sqlite]
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHONPATH="$PWD/bench${PYTHONPATH:+:$PYTHONPATH}" exec .venv/bin/python bench/dashboard/run.py "$@"
