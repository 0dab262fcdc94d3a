"""Run the real ``hookyard`` CLI as a subprocess, on a free port, for acceptance tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from support.waiting import eventually


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def hookyard_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hookyard", *args]


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    config_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(
    workdir: Path,
    *,
    config: str | None = None,
    database: str | None = None,
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> RunningServer:
    port = port or free_port()
    args = ["serve", "--port", str(port)]
    config_path = None
    if config is not None:
        config_path = workdir / "hookyard.toml"
        config_path.write_text(config)
        args += ["--config", str(config_path)]
    if database is not None:
        args += ["--db", database]
    args += list(extra_args)
    log_path = workdir / f"server-{port}.log"
    full_env = {**os.environ, **(env or {})}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            hookyard_command(*args), cwd=workdir, stdout=log, stderr=subprocess.STDOUT, env=full_env
        )
    server = RunningServer(process, port, log_path, config_path, full_env)
    wait_ready(server)
    return server


def wait_ready(server: RunningServer, timeout: float = 20) -> None:
    def healthy() -> bool:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.logs()}")
        try:
            return httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        eventually(healthy, timeout=timeout)
    except AssertionError:
        server.stop(signal.SIGKILL)
        raise RuntimeError(f"server did not become ready:\n{server.logs()}") from None
