#!/usr/bin/env bash
# What metrics cost on the ingest path: hookyard with [server] metrics on vs off, one run.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v wrk >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq wrk
fi
PYTHONPATH="$PWD/bench${PYTHONPATH:+:$PYTHONPATH}" exec .venv/bin/python bench/metrics/run.py "$@"
