#!/usr/bin/env bash
# Ingest with encryption at rest on and off, same run. Installs wrk (Debian package) when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v wrk >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq wrk
fi
PYTHONPATH="$PWD/bench${PYTHONPATH:+:$PYTHONPATH}" exec .venv/bin/python bench/encryption/run.py "$@"
