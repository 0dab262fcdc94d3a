"""What one client may make ``hookyard serve`` hold: header bytes and count, time, connections.

Raw sockets against the real command, since the bounds live below the app (in the HTTP
protocol) and an HTTP client library would not send what these tests need to send.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.server import RunningServer, hookyard_command, start_server

LIMITS_CONFIG = """
[server]
header_timeout = "1s"
body_timeout = "1s"

[sources.demo]
"""
MAX_HEADER_BYTES = 65536  # the default
MAX_HEADERS = 100  # the default


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("limits"), config=LIMITS_CONFIG)
    yield running
    running.stop()


def connect(server: RunningServer, timeout: float = 10) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def head(headers: list[tuple[str, str]], path: str = "/in/demo") -> bytes:
    lines = [f"POST {path} HTTP/1.1"] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, lower-cased headers and body of one response (up to EOF or Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a response; got {data!r}")
        data += chunk
    raw_head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = raw_head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines)
    headers = {name.lower(): value for name, value in fields.items()}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(status_line.split()[1]), headers, body


def exchange(server: RunningServer, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with connect(server) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)  # refused mid-request, the answer is still to be read
        return read_response(sock)


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed its side (EOF or reset), reading what is left."""
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


def stored_count(server: RunningServer) -> int:
    return len(httpx.get(f"{server.url}/api/events?limit=1000").json()["events"])


def refused_metric(server: RunningServer, reason: str) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    match = re.search(rf'^hookyard_http_refused_total\{{reason="{reason}"\}} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def sized_request(total: int, count: int = 3) -> bytes:
    """A POST whose header names + values add up to exactly ``total`` bytes in ``count``."""
    body = b"{}"
    fixed = [("Host", "127.0.0.1"), ("Content-Length", str(len(body)))]
    fillers = [(f"X-Fill-{n:03d}", "v") for n in range(count - len(fixed) - 1)]
    used = sum(len(name) + len(value) for name, value in fixed + fillers) + len("X-Pad")
    assert total - used >= 1
    return head([*fixed, *fillers, ("X-Pad", "p" * (total - used))]) + body


def test_ten_thousand_headers_are_431_at_once_and_nothing_is_stored(
    server: RunningServer,
) -> None:
    before, counted = stored_count(server), refused_metric(server, "headers_too_large")
    headers = [("Host", "127.0.0.1"), ("Content-Length", "2")]
    headers += [(f"X-H{n}", "x") for n in range(10_000)]
    started = time.monotonic()
    status, response_headers, body = exchange(server, head(headers) + b"{}")
    assert time.monotonic() - started < 2
    assert status == 431
    assert response_headers["connection"] == "close"
    assert response_headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == "headers_too_large"
    assert "max_headers" in json.loads(body)["detail"]
    assert stored_count(server) == before
    assert refused_metric(server, "headers_too_large") == counted + 1
    assert '"reason":"headers_too_large"' in server.logs()


def test_a_one_megabyte_header_value_is_431(server: RunningServer) -> None:
    before = stored_count(server)
    headers = [("Host", "127.0.0.1"), ("Content-Length", "2"), ("X-Big", "b" * 1_000_000)]
    status, _, body = exchange(server, head(headers) + b"{}")
    assert status == 431 and json.loads(body)["error"] == "headers_too_large"
    assert stored_count(server) == before


def test_headers_exactly_at_the_byte_bound_are_accepted_one_more_byte_is_431(
    server: RunningServer,
) -> None:
    status, _, body = exchange(server, sized_request(MAX_HEADER_BYTES))
    assert status == 202, body
    status, _, body = exchange(server, sized_request(MAX_HEADER_BYTES + 1))
    assert status == 431 and "max_header_bytes" in json.loads(body)["detail"]


def test_exactly_max_headers_are_accepted_one_more_is_431(server: RunningServer) -> None:
    status, _, body = exchange(server, sized_request(4000, count=MAX_HEADERS))
    assert status == 202, body
    status, _, body = exchange(server, sized_request(4000, count=MAX_HEADERS + 1))
    assert status == 431 and "max_headers" in json.loads(body)["detail"]


def server_peak_rss_kib(server: RunningServer) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB$", status, re.M)
    assert match, status
    return int(match.group(1))


def test_a_fifty_megabyte_header_is_refused_before_it_is_sent_and_never_buffered(
    server: RunningServer,
) -> None:
    peak_before = server_peak_rss_kib(server)
    chunk = b"a" * 65536
    sent = 0
    with connect(server) as sock:
        sock.sendall(b"POST /in/demo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: ")
        sock.settimeout(0.05)
        answer = b""
        while sent < 50_000_000 and not answer:
            try:
                sent += sock.send(chunk)
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.settimeout(5)
        if not answer:
            answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert sent < 10_000_000, f"the server read {sent} bytes before refusing"
    assert server_peak_rss_kib(server) - peak_before < 20_000


def test_a_client_trickling_its_headers_gets_408_within_the_timeout(
    server: RunningServer,
) -> None:
    counted = refused_metric(server, "header_timeout")
    with connect(server) as sock:
        sock.sendall(b"POST /in/demo HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        sock.settimeout(0.2)
        answer = b""
        for byte in b"X-Slow: " + b"s" * 100:
            try:
                sock.send(bytes([byte]))
                answer = sock.recv(65536)
                break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"connection: close" in answer.lower()
    assert 0.8 < elapsed < 3, elapsed
    assert refused_metric(server, "header_timeout") == counted + 1


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    server: RunningServer,
) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        sock.settimeout(5)
        assert sock.recv(65536) == b""  # closed without an answer: there was no request
        assert time.monotonic() - started < 3


@pytest.mark.slow
def test_an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout(
    server: RunningServer,
) -> None:
    with connect(server) as sock:
        sock.sendall(head([("Host", "127.0.0.1"), ("Content-Length", "2")]) + b"{}")
        status, headers, _ = read_response(sock)
        assert status == 202 and headers.get("connection") != "close"
        started = time.monotonic()
        sock.settimeout(10)
        assert sock.recv(65536) == b""
        assert 4 < time.monotonic() - started < 7  # 5 s, uvicorn's keep-alive timeout


def test_a_stalled_body_gets_408_and_is_not_stored(server: RunningServer) -> None:
    before, counted = stored_count(server), refused_metric(server, "body_timeout")
    with connect(server) as sock:
        sock.sendall(head([("Host", "127.0.0.1"), ("Content-Length", "100")]) + b'{"half": ')
        started = time.monotonic()
        status, headers, body = read_response(sock)
        elapsed = time.monotonic() - started
        assert closed_by_server(sock)
    assert status == 408 and headers["connection"] == "close"
    assert json.loads(body)["error"] == "request_timeout"
    assert 0.8 < elapsed < 3, elapsed
    assert stored_count(server) == before
    assert refused_metric(server, "body_timeout") == counted + 1


def test_normal_requests_are_answered_while_slow_clients_hang(server: RunningServer) -> None:
    answers: list[bytes] = []

    def trickle() -> None:
        with connect(server) as sock:
            sock.sendall(b"POST /in/demo HTTP/1.1\r\n")
            sock.settimeout(0.1)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    sock.send(b"x")
                    answers.append(sock.recv(65536))
                    return
                except TimeoutError:
                    continue
                except OSError:
                    return

    slow = [threading.Thread(target=trickle) for _ in range(20)]
    for thread in slow:
        thread.start()
    try:
        with httpx.Client(timeout=5) as client:
            for n in range(20):
                started = time.monotonic()
                response = client.post(f"{server.url}/in/demo", json={"n": n})
                assert response.status_code == 202
                assert time.monotonic() - started < 1
    finally:
        for thread in slow:
            thread.join()
    # ... and the slow ones were cut off by the header timeout.
    assert len(answers) == 20 and all(a.startswith(b"HTTP/1.1 408 ") for a in answers)


def test_connections_beyond_the_cap_are_refused_and_idle_ones_do_not_hold_it(
    tmp_path: Path,
) -> None:
    config = '[server]\nmax_connections = 10\nheader_timeout = "3s"\n[sources.demo]\n'
    capped = start_server(tmp_path, config=config)
    try:
        time.sleep(0.2)  # the readiness probe's connection is gone
        idle = [connect(capped) for _ in range(10)]
        try:
            with connect(capped) as extra:
                started = time.monotonic()
                extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                status, headers, body = read_response(extra)
                assert time.monotonic() - started < 1
            assert status == 503 and headers["connection"] == "close"
            assert headers["retry-after"] == "1"
            assert json.loads(body)["error"] == "too_many_connections"
            # The idle ones are dropped after the header timeout, and the slots come back.
            for sock in idle:
                sock.settimeout(6)
                assert sock.recv(65536) == b""
        finally:
            for sock in idle:
                sock.close()
        assert httpx.get(f"{capped.url}/healthz").status_code == 200
        assert refused_metric(capped, "too_many_connections") == 1
    finally:
        capped.stop()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max_header_bytes = 10", "server.max_header_bytes: must be at least 1024, got 10"),
        ("max_headers = 0", "server.max_headers: must be at least 1, got 0"),
        ("max_connections = 'many'", "server.max_connections: must be an integer"),
        ("header_timeout = 'soon'", "server.header_timeout: expected a duration"),
        ("body_timeout = 0", "server.body_timeout: must be more than 0"),
    ],
)
def test_bad_limits_fail_at_start_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f"[server]\n{text}\n")
    result = subprocess.run(
        hookyard_command("serve", "--config", str(path)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert f"{path}: {message}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
