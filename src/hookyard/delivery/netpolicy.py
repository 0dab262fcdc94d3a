"""Which addresses hookyard may connect to: the SSRF guard's policy, pure.

Every outbound connection (deliveries, replays, alerts) goes to an address that
``check_address`` passed. It refuses what is not the public internet: loopback,
private and shared (CGNAT) ranges, link-local, multicast, unspecified, reserved and
documentation ranges, and cloud metadata endpoints. An IPv6 address that embeds an
IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``)
is judged by the IPv4 address inside, because that is where the packets may end up.

``[server] allow_networks`` (CIDRs) lets an operator allow what is refused, e.g.
``127.0.0.0/8`` for a receiver on the same machine. Cloud metadata is the exception:
only an entry naming the metadata address itself (``169.254.169.254/32``) allows it,
so a broad entry such as ``169.254.0.0/16`` or ``0.0.0.0/0`` never exposes
instance credentials by accident.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Instance metadata services (AWS/GCP/Azure/OpenStack, AWS over IPv6, AWS ECS, Alibaba).
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)


def _nets(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


#: (rule, networks), most specific first: the first match names the rule.
_IPV4_RULES: tuple[tuple[str, tuple[IPNetwork, ...]], ...] = (
    ("unspecified", _nets("0.0.0.0/8")),
    ("loopback", _nets("127.0.0.0/8")),
    ("link-local", _nets("169.254.0.0/16")),
    ("private", _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")),
    ("multicast", _nets("224.0.0.0/4")),
    (
        "reserved",
        _nets(
            "240.0.0.0/4",  # future use, and the broadcast address
            "192.0.0.0/24",  # IETF protocol assignments
            "192.0.2.0/24",  # documentation (TEST-NET-1..3)
            "198.51.100.0/24",
            "203.0.113.0/24",
            "198.18.0.0/15",  # benchmarking
            "192.88.99.0/24",  # 6to4 relay anycast
        ),
    ),
)
_IPV6_RULES: tuple[tuple[str, tuple[IPNetwork, ...]], ...] = (
    ("unspecified", _nets("::/128")),
    ("loopback", _nets("::1/128")),
    ("link-local", _nets("fe80::/10")),
    ("private", _nets("fc00::/7", "fec0::/10", "64:ff9b:1::/48")),
    ("multicast", _nets("ff00::/8")),
    (
        "reserved",
        _nets(
            "2001:db8::/32",  # documentation
            "3fff::/20",
            "2001::/32",  # Teredo: tunnels to an address hookyard cannot see
            "2001:2::/48",  # benchmarking
            "100::/64",  # discard-only
        ),
    ),
)
#: Only global unicast is public in IPv6; everything outside it is not routed for us.
_IPV6_GLOBAL = ipaddress.ip_network("2000::/3")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


@dataclass(frozen=True, slots=True)
class Blocked:
    """Why an address is refused: ``rule`` names the range, ``via`` an IPv6 embedding."""

    address: str
    rule: str
    #: e.g. ``"IPv4-mapped 127.0.0.1"`` when the rule matched the embedded IPv4 address.
    via: str | None = None

    def __str__(self) -> str:
        if self.via is None:
            return f"{self.address} is {self.rule}"
        return f"{self.address} is {self.rule} ({self.via})"


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs (or single addresses) to networks; raises ``ValueError`` naming the bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP network (CIDR such as 10.0.0.0/8)") from None
    return tuple(networks)


def embedded_ipv4(address: IPAddress) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 one carries, and the name of the embedding."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", address.ipv4_mapped
    if address in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    return None


def _rule(address: IPAddress) -> str | None:
    if address in METADATA:
        return "cloud metadata"
    rules = _IPV4_RULES if isinstance(address, ipaddress.IPv4Address) else _IPV6_RULES
    for rule, networks in rules:
        if any(address in network for network in networks):
            return rule
    if isinstance(address, ipaddress.IPv6Address) and address not in _IPV6_GLOBAL:
        return "reserved"
    return None


def _allowed(address: IPAddress, allowed: Iterable[IPNetwork]) -> bool:
    if address in METADATA:
        # Only an entry for the metadata address itself: never a side effect of a range.
        return any(n.num_addresses == 1 and address in n for n in allowed)
    return any(address in network for network in allowed)


def check_address(address: str | IPAddress, allowed: Iterable[IPNetwork] = ()) -> Blocked | None:
    """``None`` when hookyard may connect to ``address``, else the rule that refuses it.

    ``address`` may carry an IPv6 zone (``fe80::1%eth0``); ``allowed`` are the
    networks from ``allow_networks``. Raises ``ValueError`` for a non-address.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id is not None:
        ip = ipaddress.IPv6Address(str(ip).partition("%")[0])
    allowed = tuple(allowed)
    shown = str(address)
    inner = embedded_ipv4(ip)
    if inner is not None:
        kind, ipv4 = inner
        rule = _rule(ipv4)
        # Judged by where the packets go: the IPv4 address, public or not.
        if rule is None or _allowed(ipv4, allowed):
            return None
        if ipv4 not in METADATA and _allowed(ip, allowed):
            return None
        return Blocked(shown, rule, via=f"{kind} {ipv4}")
    rule = _rule(ip)
    if rule is None or _allowed(ip, allowed):
        return None
    return Blocked(shown, rule)


#: What the CLI adds for itself: it acts on the user's own machine, so its receivers
#: on localhost are the user's own (the server and the API never add these).
LOOPBACK = _nets("127.0.0.0/8", "::1/128")


@dataclass(frozen=True, slots=True)
class NetPolicy:
    """The guard's settings: ``allowed`` are the networks from ``allow_networks``."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def allowing(cls, *cidrs: str) -> NetPolicy:
        return cls(parse_networks(cidrs))

    def check(self, address: str | IPAddress) -> Blocked | None:
        return check_address(address, self.allowed)

    def with_loopback(self) -> NetPolicy:
        return NetPolicy((*self.allowed, *LOOPBACK))
