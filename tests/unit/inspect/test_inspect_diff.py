from __future__ import annotations

import gzip
import io
import json

import pytest
from rich.console import Console

from hookyard.inspect import (
    DiffSide,
    EventDiff,
    diff_events,
    diff_headers,
    diff_json,
    is_volatile_header,
    render_diff,
)
from hookyard.inspect.diff import MAX_JSON_CHANGES, MAX_TEXT_DIFF_OUTPUT_LINES
from hookyard.inspect.exact_json import JsonNumber, load_json
from hookyard.models import HeaderList
from support.factories import captured

# --------------------------------------------------------------- provider payloads

STRIPE_FAILED_V1 = b"""{
  "id": "evt_1PqFJ2LkdIwHu7ix0bXcA9Sd",
  "object": "event",
  "api_version": "2024-06-20",
  "created": 1718020011,
  "data": {
    "object": {
      "id": "in_1PqFJ0LkdIwHu7ixVt3u1Q0f",
      "object": "invoice",
      "amount_due": 2000,
      "amount_paid": 0,
      "attempt_count": 1,
      "billing_reason": "subscription_cycle",
      "currency": "usd",
      "customer": "cus_QH2nVb4gGQ7m1c",
      "customer_email": "jenny.rosen@example.com",
      "next_payment_attempt": 1718279211,
      "lines": {
        "object": "list",
        "data": [
          {"id": "il_1", "amount": 2000, "description": "1 x Pro (at $20.00 / month)"}
        ],
        "has_more": false
      },
      "status": "open"
    }
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": {"id": null, "idempotency_key": null},
  "type": "invoice.payment_failed"
}"""

# Same invoice a month later: the provider started sending amount_due as a string
# and next_payment_attempt as null, and added a field.
STRIPE_FAILED_V2 = b"""{
  "id": "evt_1PzQaX2LkdIwHu7ixQ1w2E3r",
  "object": "event",
  "api_version": "2024-06-20",
  "created": 1720612011,
  "data": {
    "object": {
      "id": "in_1PqFJ0LkdIwHu7ixVt3u1Q0f",
      "object": "invoice",
      "amount_due": "2000",
      "amount_paid": 0,
      "attempt_count": 4,
      "billing_reason": "subscription_cycle",
      "currency": "usd",
      "customer": "cus_QH2nVb4gGQ7m1c",
      "customer_email": "jenny.rosen@example.com",
      "next_payment_attempt": null,
      "lines": {
        "object": "list",
        "data": [
          {"id": "il_1", "amount": 2000, "description": "1 x Pro (at $20.00 / month)"}
        ],
        "has_more": false
      },
      "status": "open",
      "last_finalization_error": null
    }
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": {"id": null, "idempotency_key": null},
  "type": "invoice.payment_failed"
}"""


def stripe_headers(timestamp: int, signature: str, length: int) -> HeaderList:
    return (
        (b"Host", b"hooks.example.com"),
        (b"User-Agent", b"Stripe/1.0 (+https://stripe.com/docs/webhooks)"),
        (b"Content-Length", str(length).encode()),
        (b"Accept", b"*/*; q=0.5, application/xml"),
        (b"Cache-Control", b"no-cache"),
        (b"Content-Type", b"application/json; charset=utf-8"),
        (b"Stripe-Signature", f"t={timestamp},v1={signature}".encode()),
    )


def github_push(extra_repository_key: bool) -> bytes:
    repository: dict[str, object] = {
        "id": 1296269,
        "name": "Hello-World",
        "full_name": "octocat/Hello-World",
        "private": False,
        "default_branch": "main",
    }
    if extra_repository_key:
        repository["custom_properties"] = {"team": "payments"}
    payload = {
        "ref": "refs/heads/main",
        "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        "repository": repository,
        "pusher": {"name": "octocat", "email": "octocat@github.com"},
        "created": False,
        "deleted": False,
        "forced": False,
        "commits": [{"id": "0d1a26e6", "message": "Fix all the bugs", "distinct": True}],
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def github_headers(delivery: str, signature: str) -> HeaderList:
    return (
        (b"Accept", b"*/*"),
        (b"Content-Type", b"application/json"),
        (b"User-Agent", b"GitHub-Hookshot/a1b2c3d"),
        (b"X-GitHub-Delivery", delivery.encode()),
        (b"X-GitHub-Event", b"push"),
        (b"X-GitHub-Hook-ID", b"292430182"),
        (b"X-Hub-Signature-256", f"sha256={signature}".encode()),
    )


def side(body: bytes, content_type: str = "application/json", headers: HeaderList = ()) -> DiffSide:
    return DiffSide(headers, body, content_type)


def by_path(diff: EventDiff) -> dict[str, tuple[str, object, object]]:
    return {c.path: (c.kind, c.old, c.new) for c in diff.body.changes}


# ------------------------------------------------------------------- real payloads


def test_stripe_schema_drift_shows_type_changes() -> None:
    a = DiffSide(stripe_headers(1718020011, "5257a869e7", len(STRIPE_FAILED_V1)), STRIPE_FAILED_V1)
    b = DiffSide(stripe_headers(1720612011, "9f3c1d0b2a", len(STRIPE_FAILED_V2)), STRIPE_FAILED_V2)
    diff = diff_events(a, b)

    assert diff.body.mode == "json"
    changes = {c.path: c for c in diff.body.changes}
    amount = changes["/data/object/amount_due"]
    assert amount.kind == "type_changed"
    assert (amount.old_type, amount.new_type) == ("number", "string")
    assert amount.old == JsonNumber("2000") and amount.new == "2000"
    attempt = changes["/data/object/next_payment_attempt"]
    assert (attempt.kind, attempt.old_type, attempt.new_type) == ("type_changed", "number", "null")
    assert changes["/data/object/attempt_count"].kind == "changed"
    added = changes["/data/object/last_finalization_error"]
    assert (added.kind, added.old_type, added.new_type) == ("added", None, "null")
    assert set(changes) == {
        "/id",
        "/created",
        "/data/object/amount_due",
        "/data/object/attempt_count",
        "/data/object/next_payment_attempt",
        "/data/object/last_finalization_error",
    }
    # Changes come out in document order.
    assert [c.path for c in diff.body.changes][:2] == ["/id", "/created"]

    headers = {h.name: h for h in diff.headers}
    assert set(headers) == {"content-length", "stripe-signature"}
    assert all(h.volatile for h in headers.values())


def test_stripe_drift_machine_output() -> None:
    diff = diff_events(side(STRIPE_FAILED_V1), side(STRIPE_FAILED_V2))
    data = json.loads(diff.to_json())
    assert data["identical"] is False
    amount = next(c for c in data["body"]["changes"] if c["path"] == "/data/object/amount_due")
    assert amount == {
        "path": "/data/object/amount_due",
        "kind": "type_changed",
        "old": 2000,
        "old_type": "number",
        "new": "2000",
        "new_type": "string",
    }
    added = next(c for c in data["body"]["changes"] if c["kind"] == "added")
    # An absent side has no "old" key at all: null would claim a JSON null was there.
    assert "old" not in added and added["new"] is None and added["new_type"] == "null"


def test_github_push_with_added_key() -> None:
    a = DiffSide(github_headers("72d3162e-cc78-11e3-81ab-4c9367dc0958", "aa"), github_push(False))
    b = DiffSide(github_headers("9a0b5d1c-cc78-11e3-81ab-4c9367dc0958", "bb"), github_push(True))
    diff = diff_events(a, b)

    assert [(c.path, c.kind) for c in diff.body.changes] == [
        ("/repository/custom_properties", "added")
    ]
    assert diff.body.changes[0].new == {"team": "payments"}
    assert {h.name for h in diff.headers} == {"x-github-delivery", "x-hub-signature-256"}
    assert all(h.volatile for h in diff.headers)
    assert diff.to_dict()["body"]["changes"][0]["new"] == {"team": "payments"}


# ---------------------------------------------------------------- JSON structure


def test_identical_requests_have_an_empty_diff() -> None:
    a = DiffSide(stripe_headers(1, "x", 10), STRIPE_FAILED_V1, "application/json")
    diff = diff_events(a, a)
    assert diff.is_empty and diff.body.mode == "identical" and diff.body.bytes_identical
    assert diff.to_dict()["identical"] is True


def test_removed_null_is_distinct_from_absent() -> None:
    diff = diff_events(side(b'{"a":null,"b":1}'), side(b'{"b":1}'))
    (change,) = diff.body.changes
    assert (change.path, change.kind, change.old_type, change.new_type) == (
        "/a",
        "removed",
        "null",
        None,
    )


def test_arrays_compare_by_index() -> None:
    diff = diff_events(side(b"[1, 2, 3]"), side(b"[1, 3]"))
    assert by_path(diff) == {
        "/1": ("changed", JsonNumber("2"), JsonNumber("3")),
        "/2": ("removed", JsonNumber("3"), None),
    }
    grown = diff_events(side(b"[]"), side(b'["x"]'))
    assert by_path(grown) == {"/0": ("added", None, "x")}


def test_paths_escape_slash_and_tilde() -> None:
    diff = diff_events(side(b'{"a/b": 1, "m~n": {"": 1}}'), side(b'{"a/b": 2, "m~n": {"": 2}}'))
    assert [c.path for c in diff.body.changes] == ["/a~1b", "/m~0n/"]


def test_root_type_change_has_empty_path() -> None:
    diff = diff_events(side(b"1"), side(b'"1"'))
    (change,) = diff.body.changes
    assert (change.path, change.kind) == ("", "type_changed")


def test_object_to_array_is_a_type_change_not_a_cascade() -> None:
    diff = diff_events(side(b'{"items": {"a": 1}}'), side(b'{"items": [1]}'))
    assert by_path(diff) == {"/items": ("type_changed", {"a": JsonNumber("1")}, [JsonNumber("1")])}


@pytest.mark.parametrize(
    ("old", "new", "changed"),
    [
        (b"1.50", b"1.5", False),  # same number, different spelling
        (b"1e2", b"100.0", False),
        (b"10.10", b"10.1", False),
        (b"100", b"100.0", True),  # an integer turning into a float breaks strict parsers
        (b"0.1000000000000000001", b"0.1", True),  # equal as floats, not as numbers
        (b"-0", b"0", False),
        (b"1e999999999999999999999", b"1e999999999999999999998", True),  # beyond Decimal
    ],
)
def test_number_comparison(old: bytes, new: bytes, changed: bool) -> None:
    diff = diff_events(side(b'{"n":' + old + b"}"), side(b'{"n":' + new + b"}"))
    assert diff.body.mode == "json"
    assert bool(diff.body.changes) is changed


def test_numbers_over_int_max_str_digits() -> None:
    huge = b"9" * 5000
    same = diff_events(side(b'{"n":' + huge + b"}"), side(b'{"n": ' + huge + b"}"))
    assert same.body.mode == "json" and not same.body.changes

    diff = diff_events(side(b'{"n":' + huge + b"}"), side(b'{"n":' + huge + b"8}"))
    (change,) = diff.body.changes
    assert change.kind == "changed"
    data = json.loads(diff.to_json())
    # Too many digits for a plain int in every consumer: the text is given, typed.
    assert data["body"]["changes"][0]["old"] == "9" * 5000
    assert data["body"]["changes"][0]["old_type"] == "number"
    render_to_text(diff)


def test_hundred_thousand_deep_arrays_fall_back_to_text() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    diff = diff_events(side(deep), side(deep[:-1] + b"]]"))
    assert diff.body.mode == "text"
    assert any("too deeply" in note for note in diff.body.notes)
    json.loads(diff.to_json())
    assert "more chars" in render_to_text(diff)


def test_nesting_just_past_the_limit_falls_back_without_crashing() -> None:
    deep = b"[" * 300 + b"1" + b"]" * 300
    diff = diff_events(side(deep), side(deep.replace(b"1", b"2")))
    assert diff.body.mode == "text"
    assert any("deeper than" in note for note in diff.body.notes)


def test_diff_json_is_iterative() -> None:
    # Built in Python, so no parser limit applies: the walker itself must not recurse.
    def nest(leaf: object, depth: int) -> object:
        value = leaf
        for _ in range(depth):
            value = [value]
        return value

    changes, truncated = diff_json(nest(1, 100_000), nest(2, 100_000))
    assert not truncated
    (change,) = changes
    assert change.path == "/0" * 100_000 and change.kind == "changed"


def test_change_list_is_capped() -> None:
    a = json.dumps(list(range(MAX_JSON_CHANGES + 50))).encode()
    b = json.dumps([-n for n in range(1, MAX_JSON_CHANGES + 51)]).encode()
    diff = diff_events(side(a), side(b))
    assert diff.body.truncated and len(diff.body.changes) == MAX_JSON_CHANGES
    assert any("stopped after" in note for note in diff.body.notes)


def test_exactly_the_cap_is_not_truncated() -> None:
    changes, truncated = diff_json(list(range(5)), [-1, -2, -3, -4, -5], limit=5)
    assert len(changes) == 5 and not truncated


def test_whitespace_and_key_order_are_not_changes() -> None:
    diff = diff_events(side(b'{"a":1,"b":[1,2]}'), side(b'{\n  "b": [1, 2],\n  "a": 1\n}'))
    assert diff.body.mode == "json" and diff.body.is_empty and not diff.body.bytes_identical
    assert diff.body.summary is not None
    assert any("not in structure" in note for note in diff.body.notes)


def test_duplicate_keys_are_noted() -> None:
    diff = diff_events(side(b'{"a":1,"a":2}'), side(b'{"a":2}'))
    assert not diff.body.changes
    assert any("repeats an object key" in note for note in diff.body.notes)


def test_nan_is_not_json() -> None:
    diff = diff_events(side(b'{"a": NaN}'), side(b'{"a": NaN}'))
    assert diff.body.mode == "identical"
    diff = diff_events(side(b'{"a": NaN}'), side(b'{"a": 1}'))
    assert diff.body.mode == "text"
    assert any("NaN" in note for note in diff.body.notes)


def test_invalid_utf8_falls_back_to_bytes_with_a_note() -> None:
    diff = diff_events(side(b'{"name": "caf\xe9"}'), side(b'{"name": "cafe"}'))
    assert diff.body.mode == "binary"
    notes = " ".join(diff.body.notes)
    assert "not valid UTF-8 (byte 13)" in notes and "compared as bytes" in notes
    assert diff.body.summary is not None and diff.body.summary.first_difference == 13
    json.loads(diff.to_json())


def test_json_against_non_json_says_why() -> None:
    diff = diff_events(side(b'{"a":1}'), side(b"<html>502 Bad Gateway</html>", "text/html"))
    assert diff.body.mode == "text"
    assert any(note.startswith("body B is not usable JSON") for note in diff.body.notes)


# ---------------------------------------------------------------- text and bytes


def test_text_bodies_get_a_unified_diff() -> None:
    a = side(b"line one\nline two\nline three\n", "text/plain")
    b = side(b"line one\nline 2\nline three\n", "text/plain")
    diff = diff_events(a, b)
    assert diff.body.mode == "text"
    assert diff.body.unified[:2] == ("--- a", "+++ b")
    assert "-line two" in diff.body.unified and "+line 2" in diff.body.unified
    assert not diff.body.notes  # plain text: nobody expected JSON


def test_form_bodies_do_not_mention_json() -> None:
    form = "application/x-www-form-urlencoded"
    diff = diff_events(side(b"a=1&b=2", form), side(b"a=1&b=3", form))
    assert diff.body.mode == "text" and diff.body.notes == ()


def test_line_ending_and_final_newline_differences_show() -> None:
    crlf = diff_events(side(b"a\r\nb", "text/plain"), side(b"a\nb", "text/plain"))
    assert "-a\r" in crlf.body.unified
    assert "\\r" in render_to_text(crlf)
    final = diff_events(side(b"a\n", "text/plain"), side(b"a", "text/plain"))
    assert final.body.unified and not final.body.is_empty


def test_declared_charset_is_used_for_text() -> None:
    a = side("café".encode("latin-1"), "text/plain; charset=iso-8859-1")
    b = side("cafè".encode("latin-1"), "text/plain; charset=iso-8859-1")
    diff = diff_events(a, b)
    assert diff.body.mode == "text" and "+cafè" in diff.body.unified


def test_same_text_in_two_charsets() -> None:
    a = side("café".encode("latin-1"), "text/plain; charset=latin-1")
    b = side("café".encode(), "text/plain; charset=utf-8")
    diff = diff_events(a, b)
    assert diff.body.mode == "text" and not diff.body.unified
    assert any("same text" in note for note in diff.body.notes)


def test_unified_output_is_capped() -> None:
    a = "\n".join(f"a{i}" for i in range(MAX_TEXT_DIFF_OUTPUT_LINES)).encode()
    b = "\n".join(f"b{i}" for i in range(MAX_TEXT_DIFF_OUTPUT_LINES)).encode()
    diff = diff_events(side(a, "text/plain"), side(b, "text/plain"))
    assert diff.body.truncated and len(diff.body.unified) == MAX_TEXT_DIFF_OUTPUT_LINES


def test_too_many_lines_gives_a_byte_summary() -> None:
    a = b"x\n" * 30_000
    diff = diff_events(side(a, "text/plain"), side(a + b"y", "text/plain"))
    assert diff.body.mode == "binary" and diff.body.summary is not None
    assert diff.body.summary.first_difference == len(a)


def test_binary_summary() -> None:
    a, b = bytes(range(256)) * 40, bytearray(bytes(range(256)) * 40)
    b[9000] ^= 0xFF
    diff = diff_events(side(a, "application/octet-stream"), side(bytes(b), "image/png"))
    summary = diff.body.summary
    assert diff.body.mode == "binary" and summary is not None
    assert summary.first_difference == 9000
    assert (summary.size_a, summary.size_b) == (10240, 10240)
    assert summary.sha256_a != summary.sha256_b and len(summary.sha256_a) == 64
    assert diff.content_type_changed


def test_prefix_binary_summary_points_at_end_of_shorter() -> None:
    diff = diff_events(side(b"\x00\x01", ""), side(b"\x00\x01\x02", ""))
    assert diff.body.summary is not None and diff.body.summary.first_difference == 2


# --------------------------------------------------------------------- encodings


def test_gzip_and_plain_copies_of_one_payload_are_identical() -> None:
    body = github_push(False)
    gz = DiffSide(((b"Content-Encoding", b"gzip"),), gzip.compress(body), "application/json")
    diff = diff_events(gz, side(body))
    assert diff.body.mode == "identical" and not diff.body.bytes_identical
    assert any("Content-Encoding" in note for note in diff.body.notes)
    assert [h.name for h in diff.headers] == ["content-encoding"]


def test_gzip_bodies_are_compared_decoded() -> None:
    a = DiffSide(((b"Content-Encoding", b"gzip"),), gzip.compress(github_push(False)))
    b = DiffSide(((b"Content-Encoding", b"gzip"),), gzip.compress(github_push(True)))
    diff = diff_events(a, b)
    assert [c.path for c in diff.body.changes] == ["/repository/custom_properties"]


def test_gzip_bomb_is_capped_in_a_diff() -> None:
    bomb = gzip.compress(b"\x00" * (17 * 1024 * 1024), compresslevel=1)
    a = DiffSide(((b"Content-Encoding", b"gzip"),), bomb)
    diff = diff_events(a, side(b"{}"))
    assert any("decompression limit" in note for note in diff.body.notes)


# ----------------------------------------------------------------------- headers


def test_header_names_are_case_insensitive() -> None:
    a = ((b"Content-Type", b"application/json"), (b"X-Thing", b"1"))
    b = ((b"content-type", b"application/json"), (b"x-thing", b"1"))
    assert diff_headers(a, b) == ()


def test_header_repeats_and_order_of_values() -> None:
    a = ((b"Via", b"1.1 a"), (b"Via", b"1.1 b"), (b"X-Old", b"1"))
    b = ((b"Via", b"1.1 b"), (b"Via", b"1.1 a"), (b"X-New", b"2"))
    changes = {c.name: c for c in diff_headers(a, b)}
    assert changes["via"].kind == "changed"
    assert changes["via"].old == ("1.1 a", "1.1 b") and changes["via"].new == ("1.1 b", "1.1 a")
    assert changes["x-old"].kind == "removed" and changes["x-old"].new == ()
    assert changes["x-new"].kind == "added" and changes["x-new"].old == ()
    assert [c.name for c in diff_headers(a, b)] == ["via", "x-old", "x-new"]


def test_credentials_are_masked_in_header_diffs() -> None:
    a = ((b"Authorization", b"Bearer sk_live_aaaaaaaaaaaa"), (b"Cookie", b"sid=abc123"))
    b = ((b"authorization", b"Bearer sk_live_bbbbbbbbbbbb"), (b"Cookie", b"sid=def456"))
    changes = diff_headers(a, b)
    assert all(c.masked for c in changes)
    text = json.dumps([c.as_dict() for c in changes])
    for secret in ("aaaaaaaaaaaa", "bbbbbbbbbbbb", "abc123", "def456"):
        assert secret not in text
    assert changes[0].old == ("Bearer **** (20 chars)",)


@pytest.mark.parametrize(
    "name",
    [
        "Stripe-Signature",
        "X-Hub-Signature-256",
        "X-GitHub-Delivery",
        "webhook-id",
        "Webhook-Timestamp",
        "svix-signature",
        "X-Shopify-Hmac-Sha256",
        "X-Shopify-Webhook-Id",
        "X-Slack-Request-Timestamp",
        "X-Twilio-Signature",
        "Twitch-Eventsub-Message-Id",
        "Content-Length",
        "Date",
        "traceparent",
        "X-Request-Id",
        "X-Hookyard-Replay-Of",
    ],
)
def test_volatile_headers(name: str) -> None:
    assert is_volatile_header(name)


@pytest.mark.parametrize(
    "name", ["Content-Type", "User-Agent", "X-GitHub-Event", "X-Shopify-Topic", "Accept"]
)
def test_stable_headers(name: str) -> None:
    assert not is_volatile_header(name)


def test_from_request() -> None:
    request = captured()
    diff = diff_events(DiffSide.from_request(request), DiffSide.from_request(request))
    assert diff.is_empty


# ------------------------------------------------------------------------- render


def render_to_text(diff: EventDiff, *, show_volatile: bool = True, colour: bool = False) -> str:
    console = Console(
        width=120,
        record=True,
        force_terminal=colour,
        color_system="standard" if colour else None,
        file=io.StringIO(),
    )
    console.print(render_diff(diff, show_volatile=show_volatile))
    return console.export_text(styles=colour)


def test_render_shows_every_section() -> None:
    a = DiffSide(stripe_headers(1, "aa", 1), STRIPE_FAILED_V1, "application/json")
    b = DiffSide(stripe_headers(2, "bb", 2), STRIPE_FAILED_V2, "application/json; charset=utf-8")
    text = render_to_text(diff_events(a, b))
    assert "content-type" in text and "stripe-signature (volatile)" in text
    assert "/data/object/amount_due" in text and "type number → string" in text
    assert "2000" in text and '"2000"' in text


def test_render_colours() -> None:
    diff = diff_events(side(b'{"a":1,"b":1,"c":1}'), side(b'{"a":2,"c":"1","d":1}'))
    text = render_to_text(diff, colour=True)
    assert "\x1b[32m" in text  # green: added
    assert "\x1b[31m" in text  # red: removed
    assert "\x1b[33m" in text  # yellow: changed
    assert "\x1b[1;35m" in text  # bold magenta: type changed


def test_render_identical() -> None:
    assert "no differences" in render_to_text(diff_events(side(b"{}"), side(b"{}")))


def test_render_can_hide_volatile_headers() -> None:
    a = DiffSide(stripe_headers(1, "aa", 1), b"{}")
    b = DiffSide(stripe_headers(2, "bb", 2), b"{}")
    text = render_to_text(diff_events(a, b), show_volatile=False)
    assert "stripe-signature" not in text and "2 volatile header change(s) hidden" in text


def test_render_never_passes_terminal_escapes_through() -> None:
    evil = "\x1b]0;pwned\x07\x1b[2J\u202e"
    a = DiffSide(((b"X-Evil", evil.encode("latin-1", "replace")),), b"plain\n", "text/plain")
    b = DiffSide((), f"plain\n{evil}\n".encode(), "text/plain")
    json_a = side(json.dumps({"k": evil}, ensure_ascii=False).encode())
    json_b = side(json.dumps({"k": evil + "!"}, ensure_ascii=False).encode())
    for diff in (diff_events(a, b), diff_events(json_a, json_b)):
        text = render_to_text(diff)
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
        assert "\\x1b" in text or "\\u001b" in text


def test_render_binary() -> None:
    text = render_to_text(diff_events(side(b"\x00\xff", ""), side(b"\x00\xfe", "")))
    assert "first difference" in text and "byte 1" in text


def test_to_json_round_trips_values() -> None:
    diff = diff_events(side(b'{"a":[1.5,{"b":true}]}'), side(b'{"a":[2.25,{"b":"yes"}],"c":{}}'))
    data = json.loads(diff.to_json(indent=None))
    changes = data["body"]["changes"]
    assert changes[0] == {
        "path": "/a/0",
        "kind": "changed",
        "old": 1.5,
        "old_type": "number",
        "new": 2.25,
        "new_type": "number",
    }
    assert changes[1]["kind"] == "type_changed" and changes[2] == {
        "path": "/c",
        "kind": "added",
        "new": {},
        "new_type": "object",
    }


def test_inexact_floats_are_given_as_text() -> None:
    diff = diff_events(side(b"0.1000000000000000001"), side(b"0.2"))
    data = json.loads(diff.to_json())
    assert data["body"]["changes"][0]["old"] == "0.1000000000000000001"
    assert data["body"]["changes"][0]["new"] == 0.2


def test_loaded_values_keep_literal_numbers() -> None:
    assert load_json(b"[1.50]").value == [JsonNumber("1.50")]


def test_lone_surrogates_survive_utf8_serialisation() -> None:
    diff = diff_events(side(b'{"\\udc00":["\\ud800"]}'), side(b'{"\\udc00":["x"]}'))
    data = diff.to_dict()
    assert data["body"]["changes"][0]["path"] == "/\\udc00/0"
    assert data["body"]["changes"][0]["old"] == "\\ud800"
    json.dumps(data, ensure_ascii=False).encode("utf-8")
    pair = diff_events(side(b'["\\ud83d\\ude00"]'), side(b"[1]")).to_dict()
    assert pair["body"]["changes"][0]["old"] == "\U0001f600"
