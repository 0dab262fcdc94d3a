"""The masking policy, as one table: which names hide a secret, and what is shown instead."""

from __future__ import annotations

import pytest

from hookyard.inspect.exact_json import JsonObject, dump_json, load_json
from hookyard.inspect.masking import (
    is_sensitive_header,
    mask_header,
    mask_headers,
    mask_json_keys,
    mask_json_pointer,
    mask_query,
    mask_url,
    mask_value,
)

# (header name, masked?) — credentials by name or by word; signatures, ids and
# transport headers stay visible because debugging a verification needs them.
POLICY = [
    ("Authorization", True),
    ("authorization", True),
    (" Proxy-Authorization ", True),
    ("Cookie", True),
    ("Set-Cookie", True),
    ("X-API-Key", True),
    ("Api-Key", True),
    ("X-Apikey", True),
    ("X-Api_Key", True),
    ("X-Auth-Token", True),
    ("X-Gitlab-Token", True),
    ("X-Webhook-Secret", True),
    ("X-Password", True),
    ("X-Passwd", True),
    ("X-Client-Credential", True),
    ("X-Token-Count", True),  # a word match over-masks; that is the safe mistake
    ("Stripe-Signature", False),
    ("X-Hub-Signature-256", False),
    ("Webhook-Signature", False),
    ("Svix-Signature", False),
    ("X-Shopify-Hmac-Sha256", False),
    ("Webhook-Id", False),
    ("Content-Type", False),
    ("User-Agent", False),
    ("X-Request-Id", False),
    ("X-Authenticated-User", False),
]


@pytest.mark.parametrize(("name", "masked"), POLICY)
def test_which_headers_are_masked(name: str, masked: bool) -> None:
    assert is_sensitive_header(name) is masked
    assert is_sensitive_header(name.encode("latin-1")) is masked
    value = b"v4lue-that-could-be-secret"
    shown = mask_header(name.encode("latin-1"), value)
    assert (shown != value) is masked
    assert (b"v4lue" in shown) is not masked


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("Authorization", "Bearer abc", "Bearer **** (3 chars)"),
        ("Proxy-Authorization", "Basic dXNlcjpwYXNz", "Basic **** (12 chars)"),
        ("Authorization", "abc", "**** (3 chars)"),  # no scheme word: all of it is secret
        ("Cookie", "a=1; b=2", "a=****; b=**** (8 chars)"),
        ("Cookie", "bare", "**** (4 chars)"),
        ("Set-Cookie", "sid=xyz; Path=/; HttpOnly", "sid=****; Path=/; HttpOnly (25 chars)"),
        ("X-Webhook-Secret", "s", "**** (1 char)"),
        ("X-Api-Key", "", ""),
    ],
)
def test_what_a_masked_value_shows(name: str, value: str, shown: str) -> None:
    assert mask_value(name, value) == shown
    assert mask_header(name.encode(), value.encode()) == shown.encode()


def test_values_keep_their_latin1_bytes() -> None:
    assert mask_header(b"X-Note", b"caf\xe9") == b"caf\xe9"
    assert mask_header(b"X-Secret", b"\xe9\xe9") == b"**** (2 chars)"


def test_mask_headers_applies_the_same_policy_in_arrival_order() -> None:
    headers = tuple((name.encode(), b"value-" + name.encode()) for name, _ in POLICY)
    assert mask_headers(headers) == tuple(
        (name.decode(), mask_header(name, value).decode()) for name, value in headers
    )


def test_json_keys_are_masked_whole_and_case_folded() -> None:
    root = load_json(
        b'{"Email":"a@b","card":{"email":"c@d","n":1},"list":[{"EMAIL":{"x":2}}],"keep":3}',
        keep_duplicates=True,
    ).value
    masked, count = mask_json_keys(root, {"email"}, "***")
    assert count == 3
    assert dump_json(masked) == (
        '{"Email":"***","card":{"email":"***","n":1},"list":[{"EMAIL":"***"}],"keep":3}'
    )


def test_a_json_pointer_reaches_every_repeat_of_a_key() -> None:
    root = load_json(b'{"a":{"k":1},"a":{"k":2},"b":[0,{"k":3}]}', keep_duplicates=True).value
    masked, count = mask_json_pointer(root, ("a", "k"), "***")
    assert count == 2
    assert dump_json(masked) == '{"a":{"k":"***"},"a":{"k":"***"},"b":[0,{"k":3}]}'
    masked, count = mask_json_pointer(root, ("b", "1", "k"), "***")
    assert (count, dump_json(masked)) == (1, '{"a":{"k":1},"a":{"k":2},"b":[0,{"k":"***"}]}')
    # Out of range, leading zeros and "-" point at nothing; the input comes back as it was.
    for tokens in [("b", "2", "k"), ("b", "01", "k"), ("b", "-"), ("c",)]:
        unchanged, count = mask_json_pointer(root, tokens, "***")
        assert count == 0
        assert unchanged is root
    assert isinstance(root, JsonObject)


# (query, shown) — credential values become ****; names, order, other values stay.
QUERIES = [
    ("", ""),
    ("a=1&b=2", "a=1&b=2"),
    ("api_key=K1&x=1", "api_key=****&x=1"),
    ("x=1&token=T0k&y=2", "x=1&token=****&y=2"),
    ("access_token=abc", "access_token=****"),
    ("refresh_token=abc&id_token=def", "refresh_token=****&id_token=****"),
    ("key=abc", "key=****"),
    ("KEY=abc", "KEY=****"),
    ("apikey=abc&api-key=def", "apikey=****&api-key=****"),
    ("client_secret=s&password=p&pwd=q", "client_secret=****&password=****&pwd=****"),
    ("auth=a&jwt=j&session=s", "auth=****&jwt=****&session=****"),
    ("access%5Ftoken=abc", "access%5Ftoken=****"),  # the name is percent-decoded
    ("token=a%26b&z=9", "token=****&z=9"),
    ("token=&x=1", "token=&x=1"),  # nothing to hide
    ("token", "token"),  # no value at all
    ("token=a&token=b", "token=****&token=****"),  # every repeat
    ("signature=abc&sig=def", "signature=abc&sig=def"),  # MACs, not credentials
    ("monkey=1&keyboard=2", "monkey=1&keyboard=2"),  # "key" is a name, not a word
    ("a=1&&b=2", "a=1&&b=2"),
]


@pytest.mark.parametrize(("query", "shown"), QUERIES)
def test_which_query_parameters_are_masked(query: str, shown: str) -> None:
    assert mask_query(query) == shown
    assert mask_query(query.encode("latin-1")) == shown


def test_mask_url_masks_only_the_query() -> None:
    assert (
        mask_url("http://h/in/x?token=abc&a=1#token=frag")
        == "http://h/in/x?token=****&a=1#token=frag"
    )
    assert mask_url("http://h/in/token=abc") == "http://h/in/token=abc"
