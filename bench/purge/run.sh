#!/usr/bin/env bash
# Purge benchmark: `hookyard purge` over 1,000,000 old events beside a server under
# fixed-rate ingest, on SQLite and PostgreSQL. Needs a few GB of free disk.
#   ./run bench purge [--rows 1000000] [--rate 500] [--no-postgres] [--no-sqlite]
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHONPATH="$PWD/bench${PYTHONPATH:+:$PYTHONPATH}" exec .venv/bin/python bench/purge/run.py "$@"
