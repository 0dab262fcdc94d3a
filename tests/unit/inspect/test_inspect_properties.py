"""Properties that must hold for any input, since every body is attacker-supplied."""

from __future__ import annotations

import gzip
import io
import json
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from hookyard.inspect import (
    DiffSide,
    diff_events,
    hex_dump,
    mask_headers,
    parse_pointer,
    pointer_token,
    pretty_body,
    render_body,
    render_diff,
    sanitize_body,
)
from hookyard.inspect.diff import diff_json
from hookyard.inspect.exact_json import JsonObject, load_json

CONTENT_TYPES = st.sampled_from(
    [
        "",
        "application/json",
        "application/json; charset=utf-8",
        "text/plain; charset=latin-1",
        "text/plain; charset=utf-7",
        "application/x-www-form-urlencoded",
        "application/xml",
        "text/xml; charset=utf-16",
        "application/octet-stream",
        "image/png",
        "multipart/form-data; boundary=x",
        ";;;charset=",
    ]
)

HEADER_NAMES = st.sampled_from(
    [b"Content-Type", b"content-type", b"Authorization", b"Cookie", b"X-Api-Key", b"Via",
     b"Stripe-Signature", b"Content-Encoding", b"X-Custom"]
)  # fmt: skip
HEADERS = st.lists(st.tuples(HEADER_NAMES, st.binary(max_size=40)), max_size=6).map(tuple)

# Bytes that are often almost-JSON, sometimes gzip, sometimes garbage.
JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)
BODIES = st.one_of(
    st.binary(max_size=300),
    JSONISH.map(lambda v: json.dumps(v).encode()),
    JSONISH.map(lambda v: gzip.compress(json.dumps(v).encode())),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)

QUIET = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def render(renderable: object) -> str:
    console = Console(width=80, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


@QUIET
@given(HEADERS, BODIES, CONTENT_TYPES)
def test_a_request_compared_with_itself_has_no_differences(
    headers: Any, body: bytes, content_type: str
) -> None:
    side = DiffSide(headers, body, content_type)
    diff = diff_events(side, side)
    assert diff.is_empty and not diff.headers and diff.body.bytes_identical


@QUIET
@given(HEADERS, BODIES, CONTENT_TYPES, HEADERS, BODIES, CONTENT_TYPES)
def test_diff_never_raises(
    headers_a: Any, body_a: bytes, type_a: str, headers_b: Any, body_b: bytes, type_b: str
) -> None:
    diff = diff_events(DiffSide(headers_a, body_a, type_a), DiffSide(headers_b, body_b, type_b))
    json.loads(diff.to_json())
    json.dumps(diff.to_dict(), ensure_ascii=False).encode("utf-8")  # how Starlette encodes
    text = render(render_diff(diff))
    assert "\x1b" not in text
    if body_a != body_b:
        assert diff.body.mode != "identical" or not diff.body.bytes_identical


@QUIET
@given(JSONISH, JSONISH)
def test_json_changes_are_empty_exactly_when_documents_are_equal(a: Any, b: Any) -> None:
    def canonical(value: Any) -> str:
        return json.dumps(value, sort_keys=True)

    body_a, body_b = json.dumps(a).encode(), json.dumps(b, indent=1).encode()
    diff = diff_events(DiffSide((), body_a), DiffSide((), body_b))
    assert diff.body.mode in ("json", "identical")
    assert (not diff.body.changes) == (canonical(a) == canonical(b))


@QUIET
@given(JSONISH, JSONISH)
def test_every_change_path_resolves(a: Any, b: Any) -> None:
    value_a = load_json(json.dumps(a).encode()).value
    value_b = load_json(json.dumps(b).encode()).value
    changes, _ = diff_json(value_a, value_b)
    for change in changes:
        tokens = parse_pointer(change.path)
        if change.kind != "added":
            assert resolve(value_a, tokens) is change.old
        if change.kind != "removed":
            assert resolve(value_b, tokens) is change.new


def resolve(value: Any, tokens: tuple[str, ...]) -> Any:
    for token in tokens:
        value = value[int(token)] if isinstance(value, list) else value[token]
    return value


@QUIET
@given(st.binary(max_size=2000), CONTENT_TYPES, HEADERS)
def test_pretty_body_never_raises_and_is_terminal_safe(
    body: bytes, content_type: str, headers: Any
) -> None:
    shown = pretty_body(body, content_type, headers, max_bytes=1000)
    json.dumps(shown.as_dict(), ensure_ascii=False).encode("utf-8")
    assert "\x1b" not in shown.text and "\x00" not in shown.text
    render(render_body(shown))


@QUIET
@given(st.binary(max_size=600), st.integers(min_value=0, max_value=2**28))
def test_hex_dump_round_trips(data: bytes, start: int) -> None:
    lines = hex_dump(data, start=start).splitlines()
    restored = b"".join(bytes.fromhex(line[10:58]) for line in lines)
    assert restored == data
    assert all(int(line[:8], 16) == start + 16 * i for i, line in enumerate(lines))


SECRET = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=6, max_size=60)


@QUIET
@given(
    st.sampled_from(["Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "X-Some-Token"]),
    st.sampled_from(["", "Bearer ", "Basic ", "sid="]),
    SECRET,
)
def test_masked_headers_never_show_the_secret(name: str, prefix: str, secret: str) -> None:
    shown = mask_headers(((name.encode(), (prefix + secret).encode()),))
    assert secret not in shown[0][1]


@QUIET
@given(st.binary(max_size=500), CONTENT_TYPES, st.sets(st.text(max_size=5), max_size=3))
def test_sanitize_never_raises(body: bytes, content_type: str, keys: set[str]) -> None:
    result = sanitize_body(body, content_type, mask_keys=keys, mask_pointers=["/a/0"])
    assert result.changed == (result.body != body)


@QUIET
@given(JSONISH, st.sets(st.sampled_from(["", "a", "B", "key"]), min_size=1))
def test_sanitised_output_has_every_masked_key_replaced(value: Any, keys: set[str]) -> None:
    body = json.dumps(value).encode()
    result = sanitize_body(body, "application/json", mask_keys=keys)
    assert result.is_json
    if not result.changed:
        assert result.body is body
        return
    folded = {k.casefold() for k in keys}
    stack = [load_json(result.body, keep_duplicates=True).value]
    while stack:
        node = stack.pop()
        if isinstance(node, JsonObject):
            for key, member in node.members:
                if key.casefold() in folded:
                    assert member == "***"
                else:
                    stack.append(member)
        elif isinstance(node, list):
            stack.extend(node)


@QUIET
@given(st.lists(st.text(max_size=6), max_size=5))
def test_pointer_tokens_round_trip(keys: list[str]) -> None:
    pointer = "".join(f"/{pointer_token(key)}" for key in keys)
    assert parse_pointer(pointer) == tuple(keys)


MARKUP = st.text(alphabet="<>/ab:=\"'&;!?[]-x#\n", max_size=60)


@QUIET
@given(
    st.sampled_from(["", "<?xml version='1.0'?>", "<a>", "<!DOCTYPE a>"]),
    MARKUP,
    st.sampled_from(["application/xml", "", "application/x-www-form-urlencoded"]),
)
def test_pretty_body_never_raises_on_markup(prefix: str, text: str, content_type: str) -> None:
    shown = pretty_body((prefix + text).encode(), content_type)
    if "DOCTYPE" in prefix:
        assert shown.kind != "xml"
