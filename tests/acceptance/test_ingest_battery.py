"""Never a 500 on input: every kind of body and header arrives, answered on purpose, stored as sent."""

from __future__ import annotations

import gzip
import socket
import threading
import time

import httpx
import pytest

from support.server import RunningServer

pytestmark = pytest.mark.slow


def post(
    server: RunningServer, body: bytes, headers: dict[str, str] | None = None, source: str = "demo"
) -> httpx.Response:
    return httpx.post(f"{server.url}/in/{source}", content=body, headers=headers or {}, timeout=10)


def stored_body(server: RunningServer, event_id: str) -> bytes:
    return httpx.get(f"{server.url}/api/events/{event_id}/body", timeout=10).content


def stored_headers(server: RunningServer, event_id: str) -> list[list[str]]:
    record = httpx.get(f"{server.url}/api/events/{event_id}", timeout=10).json()
    headers: list[list[str]] = record["headers"]
    return headers


BODIES = {
    "empty": (b"", "application/json"),
    "invalid-utf8": (b'{"a": "\xff\xfe\xc3\x28"}', "application/json"),
    "top-level-array": (b"[1, 2, 3]", "application/json"),
    "top-level-string": (b'"just a string"', "application/json"),
    "top-level-null": (b"null", "application/json"),
    "deep-nesting": (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    "huge-number": (b'{"n": ' + b"9" * 5000 + b"}", "application/json"),
    "form": (b"a=1&b=%E2%9C%93&b=2&empty=", "application/x-www-form-urlencoded"),
    "xml": (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', "text/xml"),
    "binary": (bytes(range(256)) * 8, "application/octet-stream"),
    "truncated-json": (b'{"type": "order.created", "id": ', "application/json"),
}


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_any_body_is_accepted_and_stored_byte_for_byte(
    battery_server: RunningServer, kind: str
) -> None:
    body, content_type = BODIES[kind]
    response = post(battery_server, body, {"Content-Type": content_type})
    assert response.status_code == 202, response.text
    event_id = response.json()["id"]
    assert response.headers["x-hookyard-id"] == event_id
    assert stored_body(battery_server, event_id) == body


def test_gzip_encoded_body_is_stored_compressed_as_sent(battery_server: RunningServer) -> None:
    body = gzip.compress(b'{"type": "zipped"}')
    response = post(
        battery_server, body, {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    )
    assert response.status_code == 202
    assert stored_body(battery_server, response.json()["id"]) == body


def test_event_type_is_parsed_when_it_can_be(battery_server: RunningServer) -> None:
    response = post(
        battery_server, b'{"type": "order.created"}', {"Content-Type": "application/json"}
    )
    record = httpx.get(f"{battery_server.url}/api/events/{response.json()['id']}").json()
    assert record["event_type"] == "order.created"
    assert record["verdict"] == "unsigned"


def test_over_limit_body_is_413(battery_server: RunningServer) -> None:
    response = post(battery_server, b"x" * 262145, {"Content-Type": "text/plain"})
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_body_exactly_at_the_limit_is_accepted(battery_server: RunningServer) -> None:
    assert post(battery_server, b"x" * 262144).status_code == 202


def raw_request(server: RunningServer, data: bytes, read_timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=read_timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                break
        return b"".join(chunks)


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def response_id(response: bytes) -> str:
    for line in response.split(b"\r\n"):
        if line.lower().startswith(b"x-hookyard-id:"):
            return line.split(b":", 1)[1].strip().decode()
    raise AssertionError(f"no x-hookyard-id in {response!r}")


def test_header_case_order_and_repeats_are_kept(battery_server: RunningServer) -> None:
    body = b'{"ok": true}'
    request = (
        b"POST /in/demo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"X-Custom-CASE: First\r\nx-custom-case: second\r\nX-Custom-Case: third\r\n"
        b"X-Latin: caf\xe9 \xff\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    response = raw_request(battery_server, request)
    assert response.startswith(b"HTTP/1.1 202"), response
    headers = stored_headers(battery_server, response_id(response))
    names = [n for n, _ in headers]
    assert names[:5] == ["Host", "X-Custom-CASE", "x-custom-case", "X-Custom-Case", "X-Latin"]
    assert [v for n, v in headers if n.lower() == "x-custom-case"] == ["First", "second", "third"]
    assert ["X-Latin", "caf\u00e9 \u00ff"] in headers  # latin-1 view of the exact bytes


def test_chunked_transfer_is_reassembled_exactly(battery_server: RunningServer) -> None:
    parts = [b'{"type": "chunk', b'ed", "n": [1,', b" 2]}"]
    chunked = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts) + b"0\r\n\r\n"
    request = (
        b"POST /in/demo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunked
    )
    response = raw_request(battery_server, request)
    assert response.startswith(b"HTTP/1.1 202"), response
    assert stored_body(battery_server, response_id(response)) == b"".join(parts)


def test_a_slow_client_does_not_stall_other_requests(battery_server: RunningServer) -> None:
    body = b'{"slow": true}'
    sock = socket.create_connection(("127.0.0.1", battery_server.port), timeout=10)
    sock.sendall(
        b"POST /in/demo HTTP/1.1\r\nHost: x\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body[:3]
    )
    try:
        started = time.monotonic()
        for _ in range(20):
            assert post(battery_server, b"{}").status_code == 202
        assert time.monotonic() - started < 5  # generous: the point is "not blocked"
        sock.sendall(body[3:])
        assert sock.recv(4096).startswith(b"HTTP/1.1 202")
    finally:
        sock.close()


def test_unknown_source_is_404_with_json_error(battery_server: RunningServer) -> None:
    response = post(battery_server, b"{}", source="nope")
    assert response.status_code == 404
    assert response.json() == {"error": "unknown_source", "detail": "no source named 'nope'"}
    assert post(battery_server, b"{}", source="").status_code == 404


def test_wrong_method_is_405(battery_server: RunningServer) -> None:
    response = httpx.get(f"{battery_server.url}/in/demo")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_duplicate_provider_id_answers_200_with_the_original(battery_server: RunningServer) -> None:
    headers = {"X-Event-Id": f"evt-{time.time_ns()}"}
    first = post(battery_server, b'{"a": 1}', headers)
    second = post(battery_server, b'{"a": 1}', headers)
    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json() == {"id": first.json()["id"], "duplicate": True}
    assert second.headers["x-hookyard-id"] == first.json()["id"]
    record = httpx.get(f"{battery_server.url}/api/events/{first.json()['id']}").json()
    assert record["duplicate_count"] == 1
    assert record["provider_event_id"] == headers["X-Event-Id"]


def test_a_sender_s_id_in_the_json_body_deduplicates(battery_server: RunningServer) -> None:
    """``id_field``/``type_field``: senders that put the event id in the body, not a header."""
    event_id = time.time_ns()  # an integer id, as many senders send it
    body = f'{{"event": "user.created", "data": {{"id": {event_id}}}}}'.encode()
    first = httpx.post(f"{battery_server.url}/in/internal", content=body)
    again = httpx.post(f"{battery_server.url}/in/internal", content=body)
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == {"id": first.json()["id"], "duplicate": True}
    record = httpx.get(f"{battery_server.url}/api/events/{first.json()['id']}").json()
    assert record["provider_event_id"] == str(event_id)
    assert record["event_type"] == "user.created"
    assert record["duplicate_count"] == 1


def test_concurrent_identical_requests_are_stored_once(battery_server: RunningServer) -> None:
    headers = {"X-Event-Id": f"evt-burst-{time.time_ns()}"}
    results: list[httpx.Response] = []

    def send() -> None:
        results.append(post(battery_server, b'{"burst": 1}', headers))

    threads = [threading.Thread(target=send) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [200] * 19 + [202]
    assert len({r.json()["id"] for r in results}) == 1


def test_bad_signature_is_401_recorded_as_rejected(battery_server: RunningServer) -> None:
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": "v1,AAAA",
    }
    response = post(battery_server, b'{"type": "x"}', headers, source="signed")
    assert response.status_code == 401
    payload = response.json()
    assert payload["error"] == "invalid_signature" and payload["detail"] == "signature mismatch"
    record = httpx.get(f"{battery_server.url}/api/events/{payload['id']}").json()
    assert record["verdict"] == "invalid" and record["status"] == "rejected"
    assert record["verdict_detail"]["received"] == "AAAA"


def test_valid_signature_is_accepted(battery_server: RunningServer) -> None:
    from hookyard.signatures import create_scheme

    body = b'{"type": "invoice.paid"}'
    headers = dict(
        create_scheme("standard-webhooks").sign(
            body, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", msg_id=f"msg_{time.time_ns()}"
        )
    )
    response = post(battery_server, body, headers, source="signed")
    assert response.status_code == 202, response.text
    record = httpx.get(f"{battery_server.url}/api/events/{response.json()['id']}").json()
    assert record["verdict"] == "valid" and record["event_type"] == "invoice.paid"
    assert record["verdict_detail"]["secret_index"] == 0
