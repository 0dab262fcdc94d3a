"""Run a user's own pytest suite in a fresh interpreter, as they would from their shell."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_user_suite(suite: Path) -> tuple[int, str]:
    """pytest's exit code for ``suite`` (run from inside it) and all it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)],
        cwd=suite,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr
