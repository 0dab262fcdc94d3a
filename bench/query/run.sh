#!/usr/bin/env bash
# Reproducible query benchmark: the event filters over 1,000,000 stored events, through the
# store API, on SQLite and PostgreSQL. Needs a few GB of free disk for the full size.
#   ./run bench query [--rows 1000000] [--repeat 20] [--no-postgres] [--analyze]
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHONPATH="$PWD/bench${PYTHONPATH:+:$PYTHONPATH}" exec .venv/bin/python bench/query/run.py "$@"
