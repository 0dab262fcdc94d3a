#!/usr/bin/env bash
# What reading the event id and type costs per request with the gzip check, on one core.
#   ./run bench encoding [--seconds 0.5] [--repeat 5]
set -euo pipefail
cd "$(dirname "$0")/../.."
exec .venv/bin/python bench/encoding/run.py "$@"
