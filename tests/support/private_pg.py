"""A PostgreSQL server of the test's own, so it can be stopped and restarted for real.

The shared server at 127.0.0.1:5432 serves every other test (and other checkouts on this
machine): restarting it would break them. This one lives in a temporary directory on a
free port, runs as the ``postgres`` user when the tests run as root (``initdb`` refuses
root), and is stopped and removed at the end.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from support.server import free_port


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def available() -> str | None:
    """Why a private server cannot run here, or None when it can."""
    if _bindir() is None:
        return "PostgreSQL server binaries are not installed"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    return None


@dataclass
class PrivatePostgres:
    directory: Path
    port: int
    bindir: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl", "-D", str(self.directory / "data"), "-o", options,
            "-l", str(self.directory / "log"), "-w", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", mode, "-w", "stop")


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    bindir = _bindir()
    assert bindir is not None, available()
    directory = Path(tempfile.mkdtemp(prefix="hookyard-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    server = PrivatePostgres(directory, free_port(), bindir)
    try:
        server._run(
            "initdb", "-D", str(directory / "data"), "-A", "trust", "-U", "postgres",
            "--no-sync", "-N",
        )  # fmt: skip
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            server.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
