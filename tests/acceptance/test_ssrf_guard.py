"""The SSRF guard from the command line: ``check-url``, and refusing to start with a
destination or alerts URL that every attempt would be refused for."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.netguard import LOOPBACK_SERVER_TABLE
from support.server import free_port, hookyard_command, start_server

LOOPBACK_DESTINATION = """
[sources.demo]
scheme = "none"

[destinations.local]
url = "http://127.0.0.1:9/hooks"
"""


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hookyard_command(*args), cwd=cwd, capture_output=True, text=True, timeout=30
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8080/x", "127.0.0.1  blocked: loopback"),
        ("http://localhost/", "127.0.0.1  blocked: loopback"),
        (
            "http://[::ffff:127.0.0.1]/",
            "::ffff:127.0.0.1  blocked: loopback (IPv4-mapped 127.0.0.1)",
        ),
        ("https://169.254.169.254/latest/", "169.254.169.254  blocked: cloud metadata"),
        ("http://10.0.0.7/", "10.0.0.7  blocked: private"),
        ("http://[64:ff9b::a00:1]/", "64:ff9b::a00:1  blocked: private (NAT64 10.0.0.1)"),
    ],
)
def test_check_url_names_the_rule_and_exits_1(tmp_path: Path, url: str, shown: str) -> None:
    done = run_cli("check-url", url, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert shown in done.stdout.splitlines()


def test_check_url_allows_public_addresses_and_what_allow_networks_lists(tmp_path: Path) -> None:
    done = run_cli("check-url", "http://93.184.215.14/", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "93.184.215.14  allowed\n")
    config = tmp_path / "hookyard.toml"
    config.write_text(LOOPBACK_SERVER_TABLE)
    done = run_cli("check-url", "http://127.0.0.1:8080/", "--config", str(config), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "127.0.0.1  allowed\n")
    done = run_cli("check-url", "http://10.1.1.1/", "--config", str(config), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (1, "10.1.1.1  blocked: private\n")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "is not an http:// or https:// URL with a host"),
        ("http:///nohost", "is not an http:// or https:// URL with a host"),
        ("http://no-such-host.invalid/", "the host does not resolve"),
    ],
)
def test_check_url_usage_errors_exit_2(tmp_path: Path, url: str, message: str) -> None:
    done = run_cli("check-url", url, cwd=tmp_path)
    assert done.returncode == 2 and message in one_line_error(done)


def test_a_bad_allow_networks_entry_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "hookyard.toml"
    config.write_text('[server]\nallow_networks = ["10.0.0.0/33"]\n')
    done = run_cli("check-url", "http://10.0.0.1/", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert "server.allow_networks: '10.0.0.0/33' is not an IP network" in one_line_error(done)


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_destination_on_loopback_is_refused_at_start(tmp_path: Path, command: str) -> None:
    config = tmp_path / "hookyard.toml"
    config.write_text(LOOPBACK_DESTINATION)
    args = (command, "--config", str(config), "--db", f"sqlite:///{tmp_path / 'h.db'}")
    done = (
        run_cli(*args, "--port", str(free_port()), cwd=tmp_path)
        if command == "serve"
        else (run_cli(*args, cwd=tmp_path))
    )
    assert done.returncode == 2
    line = one_line_error(done)
    assert "destinations.local.url: refused by the SSRF guard: 127.0.0.1 is loopback" in line
    assert "allow_networks" in line


def test_an_alerts_url_to_cloud_metadata_is_refused_at_start(tmp_path: Path) -> None:
    config = tmp_path / "hookyard.toml"
    config.write_text(
        f"{LOOPBACK_SERVER_TABLE}{LOOPBACK_DESTINATION}\n"
        '[alerts]\nurl = "http://[::ffff:169.254.169.254]/hook"\n'
    )
    done = run_cli("serve", "--config", str(config), "--port", str(free_port()), cwd=tmp_path)
    assert done.returncode == 2
    assert (
        "alerts.url: refused by the SSRF guard: ::ffff:169.254.169.254 is cloud metadata"
        " (IPv4-mapped 169.254.169.254)" in one_line_error(done)
    )


def test_allowed_dry_run_and_unresolvable_destinations_start(tmp_path: Path) -> None:
    config = f"""{LOOPBACK_SERVER_TABLE}{LOOPBACK_DESTINATION}
[destinations.rehearsal]
url = "http://10.9.9.9/never-sent"
dry_run = true

[destinations.later]
url = "http://not-resolvable-yet.invalid/hooks"
"""
    server = start_server(tmp_path, config=config)
    try:
        logs = server.logs()
        assert "destinations.later.url" in logs and "does not resolve now" in logs
    finally:
        assert server.stop() == 0


def test_cli_replay_may_target_localhost_but_not_the_private_network(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'h.db'}"
    done = run_cli(
        "replay", "01NOSUCHEVENT", "--url", "http://10.0.0.1/", "--db", database, cwd=tmp_path
    )
    assert done.returncode == 2
    assert "--url: refused by the SSRF guard: 10.0.0.1 is private" in one_line_error(done)
    # Loopback passes the guard (the CLI acts on the user's own machine): what stops
    # this replay is the unknown event id, after the target was accepted.
    done = run_cli(
        "replay", "01NOSUCHEVENT", "--url", "http://127.0.0.1:9/", "--db", database, cwd=tmp_path
    )
    assert done.returncode == 2 and "no event with id '01NOSUCHEVENT'" in one_line_error(done)
