#!/usr/bin/env bash
# Reproducible signature benchmark: verifications per second per scheme, one core.
#   ./run bench signatures [--seconds 0.3] [--repeat 3] [--sizes 1024,65536]
set -euo pipefail
cd "$(dirname "$0")/../.."
exec .venv/bin/python bench/signatures/run.py "$@"
