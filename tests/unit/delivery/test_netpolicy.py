"""The SSRF guard's policy: every rule with concrete addresses, embeddings, allowances."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard.delivery.netpolicy import NetPolicy, check_address, parse_networks


@pytest.mark.parametrize(
    ("address", "rule"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("fd12:3456::1", "private"),
        ("fec0::1", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%lo", "link-local"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("255.255.255.255", "reserved"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.10", "reserved"),
        ("198.18.0.1", "reserved"),
        ("2001:db8::1", "reserved"),
        ("2001::1", "reserved"),
        ("100::1", "reserved"),
        ("::127.0.0.1", "reserved"),  # IPv4-compatible, deprecated: outside 2000::/3
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("169.254.170.2", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
    ],
)
def test_each_rule_names_itself(address: str, rule: str) -> None:
    blocked = check_address(address)
    assert blocked is not None and blocked.rule == rule and blocked.via is None
    assert str(blocked) == f"{address} is {rule}"


@pytest.mark.parametrize(
    ("address", "rule", "via"),
    [
        ("::ffff:127.0.0.1", "loopback", "IPv4-mapped 127.0.0.1"),
        ("::ffff:10.0.0.1", "private", "IPv4-mapped 10.0.0.1"),
        ("::ffff:169.254.169.254", "cloud metadata", "IPv4-mapped 169.254.169.254"),
        ("64:ff9b::7f00:1", "loopback", "NAT64 127.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata", "NAT64 169.254.169.254"),
        ("2002:7f00:1::1", "loopback", "6to4 127.0.0.1"),
        ("2002:c0a8:101::", "private", "6to4 192.168.1.1"),
    ],
)
def test_embedded_ipv4_is_judged_by_the_ipv4_inside(address: str, rule: str, via: str) -> None:
    blocked = check_address(address)
    assert blocked is not None and (blocked.rule, blocked.via) == (rule, via)
    assert str(blocked) == f"{address} is {rule} ({via})"


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "8.8.8.8",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
        "172.32.0.1",
        "100.128.0.1",
        "11.0.0.1",
    ],
)
def test_public_addresses_pass(address: str) -> None:
    assert check_address(address) is None


def test_allow_networks_allows_what_they_contain_and_nothing_else() -> None:
    policy = NetPolicy.allowing("127.0.0.0/8", "10.20.0.0/16")
    assert policy.check("127.0.0.1") is None
    assert policy.check("10.20.3.4") is None
    assert policy.check("::ffff:127.0.0.1") is None  # where the packets go is allowed
    assert policy.check("2002:7f00:1::1") is None
    blocked = policy.check("10.21.0.1")
    assert blocked is not None and blocked.rule == "private"
    blocked = policy.check("::1")
    assert blocked is not None and blocked.rule == "loopback"


def test_metadata_is_allowed_only_by_naming_it() -> None:
    for broad in ("169.254.0.0/16", "0.0.0.0/0"):
        blocked = NetPolicy.allowing(broad).check("169.254.169.254")
        assert blocked is not None and blocked.rule == "cloud metadata"
    assert NetPolicy.allowing("0.0.0.0/0").check("169.254.1.1") is None
    assert NetPolicy.allowing("169.254.169.254/32").check("169.254.169.254") is None
    assert NetPolicy.allowing("169.254.169.254").check("::ffff:169.254.169.254") is None
    mapped = NetPolicy.allowing("::/0", "0.0.0.0/0").check("::ffff:169.254.169.254")
    assert mapped is not None and mapped.rule == "cloud metadata"


def test_cli_policy_adds_loopback_only() -> None:
    policy = NetPolicy().with_loopback()
    assert policy.check("127.0.0.1") is None and policy.check("::1") is None
    assert policy.check("::ffff:127.0.0.1") is None
    blocked = policy.check("192.168.0.1")
    assert blocked is not None and blocked.rule == "private"


def test_parse_networks_names_the_bad_entry() -> None:
    assert parse_networks(["10.0.0.1/8"]) == (ipaddress.ip_network("10.0.0.0/8"),)
    with pytest.raises(ValueError, match="'localhost' is not an IP network"):
        parse_networks(["localhost"])
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 address"):
        check_address("not-an-ip")


_PUBLIC_V4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)


@given(_PUBLIC_V4)
def test_mapped_nat64_and_6to4_agree_with_the_plain_ipv4(ipv4: ipaddress.IPv4Address) -> None:
    plain = check_address(ipv4)
    forms = (
        ipaddress.IPv6Address(f"::ffff:{ipv4}"),
        ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(ipv4)),
        ipaddress.IPv6Address((0x2002 << 112) | (int(ipv4) << 80) | 1),
    )
    for form in forms:
        embedded = check_address(form)
        assert (embedded is None) == (plain is None)
        if plain is not None and embedded is not None:
            assert embedded.rule == plain.rule


@given(st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address))
def test_anything_python_calls_non_global_is_blocked(ipv4: ipaddress.IPv4Address) -> None:
    if not ipv4.is_global:
        assert check_address(ipv4) is not None
