from __future__ import annotations

import gzip
import io
import time
import zlib

import pytest
from rich.console import Console

from hookyard.inspect import (
    decode_content,
    hex_dump,
    is_sensitive_header,
    mask_headers,
    mask_value,
    pretty_body,
    render_body,
    render_headers,
    safe_text,
)
from hookyard.inspect.exact_json import JsonNumber, NotJson, dump_json, load_json
from hookyard.inspect.text import decode_text
from hookyard.models import HeaderList

GZIP: HeaderList = ((b"Content-Encoding", b"gzip"),)


def printed(renderable: object) -> str:
    console = Console(width=100, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


# -------------------------------------------------------------------------- JSON


def test_json_is_indented_with_key_order_and_number_text_kept() -> None:
    body = b'{"zeta":1,"alpha":{"amount":10.10,"big":1e400,"n":-0},"list":[]}'
    shown = pretty_body(body, "application/json")
    assert shown.kind == "json" and shown.size == len(body)
    assert shown.text == (
        "{\n"
        '  "zeta": 1,\n'
        '  "alpha": {\n'
        '    "amount": 10.10,\n'
        '    "big": 1e400,\n'
        '    "n": -0\n'
        "  },\n"
        '  "list": []\n'
        "}"
    )


def test_json_duplicates_are_all_shown() -> None:
    shown = pretty_body(b'{"a":1,"a":2}', "application/json")
    assert shown.text.count('"a"') == 2
    assert any("repeats a key" in note for note in shown.notes)


def test_json_with_5000_digit_number() -> None:
    body = b'{"n":' + b"7" * 5000 + b"}"
    shown = pretty_body(body, "application/json")
    assert shown.kind == "json" and "7" * 5000 in shown.text


def test_vendor_json_types() -> None:
    assert pretty_body(b"[1]", "application/vnd.api+json").kind == "json"
    assert pretty_body(b"[1]", "Application/JSON; charset=UTF-8").kind == "json"


def test_declared_json_that_is_not_json_is_shown_as_text_with_reason() -> None:
    shown = pretty_body(b'{"a": 1,}', "application/json")
    assert shown.kind == "text" and shown.text == '{"a": 1,}'
    assert any(note.startswith("declared JSON but not JSON") for note in shown.notes)


def test_json_sent_as_text_plain_is_recognised() -> None:
    # AWS SNS posts JSON with Content-Type: text/plain.
    body = b'{"Type":"Notification","MessageId":"22b80b92","Message":"hi"}'
    assert pretty_body(body, "text/plain; charset=UTF-8").kind == "json"
    assert pretty_body(b"[not json", "text/plain").kind == "text"


def test_deep_json_is_shown_as_text() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    shown = pretty_body(deep, "application/json")
    assert shown.kind == "text"
    assert any("too deeply" in note for note in shown.notes)


def test_json_strings_cannot_reach_the_terminal_raw() -> None:
    body = '{"k":"\\u001b[2J","b":"\u202egnp.exe","c":"\\ud800","d":"\u0085"}'.encode()
    shown = pretty_body(body, "application/json")
    assert "\x1b" not in shown.text and "\u202e" not in shown.text
    assert "\ud800" not in shown.text and "\x85" not in shown.text
    shown.text.encode("utf-8")  # a lone surrogate would make this raise


# -------------------------------------------------------------------------- form


def test_form_bodies_become_fields() -> None:
    body = b"Body=Hello+there%21&From=%2B14155550100&Empty=&To=%2B14155550199&Body=again"
    shown = pretty_body(body, "application/x-www-form-urlencoded")
    assert shown.kind == "form"
    assert shown.fields == (
        ("Body", "Hello there!"),
        ("From", "+14155550100"),
        ("Empty", ""),
        ("To", "+14155550199"),
        ("Body", "again"),
    )
    assert "From = +14155550100" in shown.text
    assert "Hello there!" in printed(render_body(shown))


def test_binary_form_body_falls_back() -> None:
    shown = pretty_body(b"\x00\x01a=b", "application/x-www-form-urlencoded")
    assert shown.kind == "binary"
    assert any("not text" in note for note in shown.notes)


# --------------------------------------------------------------------------- XML


def test_xml_is_reindented() -> None:
    body = b'<?xml version="1.0"?><Response><Message to="+1">Hi &amp; bye</Message></Response>'
    shown = pretty_body(body, "text/xml")
    assert shown.kind == "xml"
    assert shown.text.splitlines() == [
        '<?xml version="1.0" ?>',
        "<Response>",
        '  <Message to="+1">Hi &amp; bye</Message>',
        "</Response>",
    ]


def test_xml_sniffed_without_content_type() -> None:
    assert pretty_body(b"<?xml version='1.0'?><a/>", "").kind == "xml"
    assert pretty_body(b"<a/>", "text/html").kind == "text"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<foo>&xxe;</foo>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        XXE,
        b'<!DOCTYPE html SYSTEM "http://example.com/x.dtd"><html/>',
        # The same refusal whatever the encoding: expat, not a byte scan, sees it.
        XXE.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>')
        .decode()
        .encode("utf-16"),
    ],
)
def test_xml_with_a_doctype_is_never_expanded(body: bytes) -> None:
    started = time.monotonic()
    shown = pretty_body(body, "application/xml")
    assert time.monotonic() - started < 1
    assert shown.kind in ("text", "binary")
    assert any("DOCTYPE" in note for note in shown.notes)
    assert "root:" not in shown.text


def test_malformed_xml_is_shown_as_text() -> None:
    shown = pretty_body(b"<a><b></a>", "application/xml")
    assert shown.kind == "text" and shown.text == "<a><b></a>"
    assert any("not well-formed" in note for note in shown.notes)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"<a:b/>", "text"),  # unbound namespace prefix
        (b'<a xmlns:x="urn:x"><x:b/></a>', "xml"),
        (b"<?xml version='1.0'?><a><![CDATA[<b>]]><!-- c --><?pi x?></a>", "xml"),
        (b"\xef\xbb\xbf<?xml version='1.0'?><a/>", "xml"),
        (b"<?xml version='1.0'?><a/><b/>", "text"),  # two roots
        (b"<?xml version='1.0'?><a>&undefined;</a>", "text"),
    ],
)
def test_xml_edge_cases(body: bytes, kind: str) -> None:
    assert pretty_body(body, "application/xml").kind == kind


def test_xml_with_unknown_encoding() -> None:
    shown = pretty_body(b'<?xml version="1.0" encoding="x-nonsense"?><a/>', "application/xml")
    assert shown.kind == "text"


# ----------------------------------------------------------------- text and hex


def test_text_escapes_control_characters() -> None:
    shown = pretty_body(b"ok\x1b[31mred\x1b[0m\r\nnext\tline\rover", "text/plain")
    assert shown.kind == "text"
    assert shown.text == "ok\\x1b[31mred\\x1b[0m\nnext\tline\\rover"
    assert "CRLF line endings shown as LF" in shown.notes


def test_binary_gets_a_hex_dump() -> None:
    data = bytes(range(256)) * 64  # 16 KiB
    shown = pretty_body(data, "application/octet-stream")
    assert shown.kind == "binary"
    lines = shown.text.splitlines()
    assert len(lines) == 4096 // 16
    assert lines[0] == (
        "00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|"
    )
    assert lines[4] == (
        "00000040  40 41 42 43 44 45 46 47  48 49 4a 4b 4c 4d 4e 4f  |@ABCDEFGHIJKLMNO|"
    )
    assert any("first 4096 of 16384 bytes" in note for note in shown.notes)


def test_hex_dump_short_row_and_offset() -> None:
    assert hex_dump(b"Hi!\n", start=0x20) == (
        "00000020  48 69 21 0a                                       |Hi!.|"
    )
    assert hex_dump(b"") == ""


def test_invalid_utf8_is_binary() -> None:
    assert pretty_body(b"caf\xe9 \xff\xfe", "text/plain").kind == "binary"


def test_declared_charset_decodes_text() -> None:
    shown = pretty_body("Grüße".encode("latin-1"), "text/plain; charset=ISO-8859-1")
    assert (shown.kind, shown.text) == ("text", "Grüße")


@pytest.mark.parametrize("charset", ["utf-7", "unicode_escape", "rot13", "hex", "bogus"])
def test_odd_charsets_are_not_used(charset: str) -> None:
    assert decode_text(b"+AGEAYgBj-", f"text/plain; charset={charset}") == "+AGEAYgBj-"


def test_empty_body() -> None:
    shown = pretty_body(b"", "application/json")
    assert (shown.kind, shown.text, shown.size) == ("empty", "", 0)
    assert "(empty body)" in printed(render_body(shown))


def test_large_body_is_previewed_not_parsed() -> None:
    body = ("é" * 1000).encode()
    shown = pretty_body(body, "application/json", max_bytes=101)  # cuts a character in half
    assert shown.kind == "text" and shown.text == "é" * 50
    assert any("showing the first 101" in note for note in shown.notes)


def test_large_binary_is_previewed_as_hex() -> None:
    shown = pretty_body(b"\x00" * 5000, "", max_bytes=1000, hex_bytes=32)
    assert shown.kind == "binary" and len(shown.text.splitlines()) == 2


def test_render_body_every_kind() -> None:
    bodies = [
        (b'{"a":[1,2]}', "application/json"),
        (b"a=1&b=2", "application/x-www-form-urlencoded"),
        (b"<?xml version='1.0'?><a><b/></a>", "application/xml"),
        (b"hello", "text/plain"),
        (b"\x00\x01", "application/octet-stream"),
        (b"", ""),
    ]
    for body, content_type in bodies:
        shown = pretty_body(body, content_type)
        assert printed(render_body(shown))
        assert set(shown.as_dict()) == {"kind", "text", "size", "fields", "notes"}


# ---------------------------------------------------------------- content-encoding


def test_gzip_is_shown_decompressed_with_a_note() -> None:
    body = gzip.compress(b'{"a":1}')
    shown = pretty_body(body, "application/json", GZIP)
    assert shown.kind == "json" and shown.size == len(body)
    assert shown.notes[0] == f"decoded from Content-Encoding gzip ({len(body)} -> 7 bytes)"


def test_gzip_bomb_is_capped() -> None:
    bomb = gzip.compress(b"\x00" * (8 * 1024 * 1024), compresslevel=9)
    decoded = decode_content(GZIP, bomb, limit=64 * 1024)
    assert decoded.truncated and len(decoded.data) == 64 * 1024
    assert any("decompression limit" in note for note in decoded.notes)


def test_corrupt_gzip_shows_stored_bytes() -> None:
    broken = gzip.compress(b"hello world" * 10)[:-12]
    for body in (broken, b"not gzip at all", b""):
        decoded = decode_content(GZIP, body)
        assert decoded.data == body and not decoded.decoded
        assert "could not be decoded" in decoded.notes[0]


def test_multi_member_gzip_and_trailing_garbage() -> None:
    two = gzip.compress(b"one ") + gzip.compress(b"two")
    assert decode_content(GZIP, two).data == b"one two"
    padded = gzip.compress(b"data") + b"\x00\x00\x00"
    decoded = decode_content(GZIP, padded)
    assert decoded.data == b"data"
    assert any("3 bytes after the gzip stream" in note for note in decoded.notes)


def test_deflate_zlib_and_raw() -> None:
    headers: HeaderList = ((b"Content-Encoding", b"deflate"),)
    assert decode_content(headers, zlib.compress(b"zlib")).data == b"zlib"
    raw = zlib.compressobj(wbits=-15)
    body = raw.compress(b"raw") + raw.flush()
    assert decode_content(headers, body).data == b"raw"


def test_stacked_and_identity_encodings() -> None:
    twice = gzip.compress(gzip.compress(b"inner"))
    assert decode_content(((b"content-encoding", b"gzip, gzip"),), twice).data == b"inner"
    assert decode_content(((b"Content-Encoding", b"identity"),), b"x").notes == ()


def test_unsupported_encoding_is_noted() -> None:
    decoded = decode_content(((b"Content-Encoding", b"br"),), b"\x8b\x02")
    assert decoded.data == b"\x8b\x02" and "not decoded" in decoded.notes[0]


# ------------------------------------------------------------------------ headers


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "Bearer **** (28 chars)"),
        ("authorization", "Basic dXNlcjpwYXNz", "Basic **** (12 chars)"),
        ("Proxy-Authorization", "Digest username=x, response=y", "Digest **** (22 chars)"),
        ("Authorization", "sk_live_only_a_token", "**** (20 chars)"),
        ("Cookie", "sid=abc; theme=dark", "sid=****; theme=**** (19 chars)"),
        ("Set-Cookie", "sid=abc; Path=/; HttpOnly", "sid=****; Path=/; HttpOnly (25 chars)"),
        ("X-Api-Key", "k", "**** (1 char)"),
        ("X-Auth-Token", "abc123", "**** (6 chars)"),
        ("X-Client-Secret", "s3cr3t", "**** (6 chars)"),
        ("X-Db-Password", "hunter2", "**** (7 chars)"),
        ("Authorization", "", ""),
    ],
)
def test_mask_value(name: str, value: str, shown: str) -> None:
    assert is_sensitive_header(name)
    assert mask_value(name, value) == shown


@pytest.mark.parametrize(
    "name", ["Stripe-Signature", "X-Hub-Signature-256", "Content-Type", "User-Agent"]
)
def test_non_credentials_are_not_masked(name: str) -> None:
    assert not is_sensitive_header(name)


def test_mask_headers_keeps_order_case_and_repeats() -> None:
    headers: HeaderList = (
        (b"Host", b"hooks.example.com"),
        (b"Authorization", b"Bearer topsecret"),
        (b"X-Forwarded-For", b"10.0.0.1"),
        (b"Cookie", b"a=1"),
        (b"Cookie", b"b=2"),
        (b"X-Latin", "caf\xe9".encode("latin-1")),
    )
    assert mask_headers(headers) == (
        ("Host", "hooks.example.com"),
        ("Authorization", "Bearer **** (9 chars)"),
        ("X-Forwarded-For", "10.0.0.1"),
        ("Cookie", "a=**** (3 chars)"),
        ("Cookie", "b=**** (3 chars)"),
        ("X-Latin", "café"),
    )


def test_render_headers_is_masked_and_safe() -> None:
    headers: HeaderList = ((b"Authorization", b"Bearer topsecret"), (b"X-Evil", b"\x1b[2Jboom"))
    text = printed(render_headers(headers))
    assert "topsecret" not in text and "Bearer ****" in text
    assert "\x1b" not in text and "\\x1b[2Jboom" in text


# -------------------------------------------------------------------------- text


def test_safe_text() -> None:
    assert safe_text("a\nb\tc") == "a\nb\tc"
    assert safe_text("a\nb\tc", multiline=False) == "a\\nb\\tc"
    assert safe_text("\x1b[2J\x07\x7f\x9b") == "\\x1b[2J\\x07\\x7f\\x9b"
    assert safe_text("abc\u202edef\u2066") == "abc\\u202edef\\u2066"
    assert safe_text("x\ud800y") == "x\\ud800y"
    assert safe_text("emoji 🎉 ünïcode 日本") == "emoji 🎉 ünïcode 日本"


# -------------------------------------------------------------------------- JSON


def test_load_json_reasons() -> None:
    cases = {
        b"\xff": "not valid UTF-8",
        b"[1,": "not JSON",
        b"[Infinity]": "Infinity",
        b"[" * 10_000 + b"]" * 10_000: "too deeply",
        b"[" * 250 + b"]" * 250: "deeper than 200",
    }
    for body, reason in cases.items():
        with pytest.raises(NotJson, match=reason):
            load_json(body)


def test_load_json_accepts_a_bom() -> None:
    assert load_json(b"\xef\xbb\xbf[1]").value == [JsonNumber("1")]


def test_dump_json_round_trips_exactly_when_compact() -> None:
    body = b'{"a":[1,2.50,-0,1E+400,{"":null,"x":true}],"b":"\xc3\xa9\\n\\"","a":false}'
    assert dump_json(load_json(body, keep_duplicates=True).value).encode() == body


def test_dump_json_escapes_lone_surrogates() -> None:
    value = load_json(b'["\\ud800", "\xc3\xa9"]').value
    assert dump_json(value) == '["\\ud800","é"]'
