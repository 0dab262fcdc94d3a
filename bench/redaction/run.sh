#!/usr/bin/env bash
# Header redaction on the ingest path: requests/s with it on and off, in one process.
#   ./run bench redaction [--requests 20000] [--rounds 5]
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHONPATH="$PWD/bench${PYTHONPATH:+:$PYTHONPATH}" exec .venv/bin/python bench/redaction/run.py "$@"
