"""The SSRF guard at connect time: resolve once, check every address, connect to it.

``checked_addresses`` is the one resolver every outbound connection uses: the raw
sockets of ``BulkSender``, the httpx client (through ``GuardedBackend``, an httpcore
network backend, so TLS still verifies and sends SNI for the URL's host name), alerts,
``hookyard check-url`` and the start-up check. The connection is then opened to the
address that was checked, never to the name again, so a name that changes its
answer between the check and the connect (DNS rebinding) cannot slip through.

A refused address raises ``BlockedAddress``; transports report it as a failed
attempt of kind ``invalid_request`` (not retried: the answer will not change).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

import httpcore
import httpx

from hookyard.delivery.destinations import Destination
from hookyard.delivery.netpolicy import Blocked, NetPolicy
from hookyard.exceptions import ConfigError

log = logging.getLogger("hookyard.delivery")

ERROR_CLASS = "BlockedAddress"


class BlockedAddress(Exception):
    """A connection the SSRF guard refused; ``str`` names the host, address and rule."""

    def __init__(self, host: str, blocked: Blocked) -> None:
        self.host = host
        self.blocked = blocked
        name = "" if host == blocked.address else f"{host}: "
        super().__init__(
            f"refused by the SSRF guard: {name}{blocked}; "
            "allow it with [server] allow_networks if it is meant"
        )


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order, without repeats.

    A literal address comes back as itself. Raises ``OSError`` (``socket.gaierror``)
    when the name does not resolve.
    """
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [host]  # a literal: no resolver round trip (a thread, under asyncio)
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def first_blocked(addresses: Iterable[str], policy: NetPolicy) -> Blocked | None:
    for address in addresses:
        blocked = policy.check(address)
        if blocked is not None:
            return blocked
    return None


async def checked_addresses(host: str, port: int, policy: NetPolicy) -> list[str]:
    """The addresses to connect to for ``host``, all allowed by ``policy``.

    One refused address refuses the name: a receiver's name that also points inside
    the network is exactly what an attacker would set up.
    """
    addresses = await resolve(host.strip("[]"), port)
    blocked = first_blocked(addresses, policy)
    if blocked is not None:
        raise BlockedAddress(host, blocked)
    return addresses


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses the policy allows."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, policy: NetPolicy) -> None:
        self.inner = inner
        self.policy = policy

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await checked_addresses(host, port, self.policy)
        except TimeoutError:
            raise httpcore.ConnectTimeout("timed out resolving the host") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from None
        error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc  # the next address may answer, as with the name itself
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self.inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guarded_transport(
    policy: NetPolicy, *, limits: httpx.Limits, trust_env: bool = True
) -> httpx.AsyncHTTPTransport:
    """httpx's own transport (TLS, pooling, error mapping), connecting through the guard.

    httpx has no public way to pass a network backend, so the pool's is wrapped in
    place; ``tests/integration/test_ssrf_connect.py`` fails if an upgrade moves it.
    """
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=trust_env)
    pool = transport._pool
    pool._network_backend = GuardedBackend(pool._network_backend, policy)
    return transport


def host_and_port(url: str) -> tuple[str, int]:
    """The host and port an ``http(s)://`` URL connects to; ``ValueError`` otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL with a host")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


async def judge(url: str, policy: NetPolicy) -> list[tuple[str, Blocked | None]]:
    """Each address ``url``'s host resolves to, and the rule refusing it (if any).

    Raises ``ValueError`` for a URL that is not http(s), ``OSError`` when the host
    does not resolve.
    """
    host, port = host_and_port(url)
    return [(address, policy.check(address)) for address in await resolve(host, port)]


def outbound_urls(
    destinations: Mapping[str, Destination], alerts_url: str | None
) -> list[tuple[str, str]]:
    """``(config key, URL)`` for every URL hookyard will connect to; a dry run sends nothing."""
    urls = [
        (f"destinations.{name}.url", destination.url)
        for name, destination in destinations.items()
        if destination.url is not None and not destination.dry_run
    ]
    if alerts_url is not None:
        urls.append(("alerts.url", alerts_url))
    return urls


async def check_at_start(urls: Iterable[tuple[str, str]], policy: NetPolicy) -> None:
    """Refuse to start with a URL the guard would refuse on every attempt.

    Raises ``ConfigError`` naming the key, the address and the rule. A name that does
    not resolve now only warns: DNS may be down, and the connect-time check still holds.
    """
    for key, url in urls:
        try:
            verdicts = await judge(url, policy)
        except OSError as exc:
            log.warning("%s: %s does not resolve now (%s); checked again on connect", key, url, exc)
            continue
        for _address, blocked in verdicts:
            if blocked is not None:
                host = urlsplit(url).hostname or url
                raise ConfigError(f"{key}: {BlockedAddress(host, blocked)}")
