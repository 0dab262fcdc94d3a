"""What ``serve`` and ``worker`` print at start: the database URL without its password, and
one warning line when the config file holds a secret in clear and others may read it.

PostgreSQL here trusts local connections, so a URL with a made-up password connects and
the real processes print their real start lines.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from support.netguard import ALLOW_LOOPBACK
from support.pg import truncate_postgres
from support.server import hookyard_command, start_server
from support.waiting import eventually

pytestmark = pytest.mark.slow

PASSWORD = "hunter2-not-shown"
CONFIG = f"""
[server]
admin_token = "tok_literal_in_clear"
{ALLOW_LOOPBACK}

[sources.demo]
scheme = "none"

[destinations.app]
url = "http://127.0.0.1:9/app"
"""


def with_password(url: str) -> str:
    scheme, _, rest = url.partition("://")
    user, _, host = rest.partition("@")
    return f"{scheme}://{user}:{PASSWORD}@{host}"


def test_serve_and_worker_mask_the_password_and_warn_of_a_readable_secret(
    tmp_path: Path, pg_database: str
) -> None:
    truncate_postgres(pg_database)
    database = with_password(pg_database)
    umask = os.umask(0o022)  # the config file start_server writes is readable by others
    try:
        server = start_server(
            tmp_path, config=CONFIG, database=database, extra_args=("--no-worker",)
        )
    finally:
        os.umask(umask)
    try:
        masked = database.replace(PASSWORD, "***")
        eventually(lambda: f"(database {masked})" in server.logs(), timeout=10)
        assert server.config_path is not None
        worker_log = tmp_path / "worker.log"
        with worker_log.open("wb") as log:
            worker = subprocess.Popen(
                hookyard_command("worker", "--config", str(server.config_path), "--db", database),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            eventually(lambda: f"(database {masked})" in worker_log.read_text(), timeout=20)
        finally:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0
    finally:
        server.stop()
    for output in (server.logs(), worker_log.read_text()):
        assert PASSWORD not in output and "tok_literal_in_clear" not in output
        warnings = [line for line in output.splitlines() if "holds a secret in clear" in line]
        assert len(warnings) == 1, output
        assert "(server.admin_token)" in warnings[0]
