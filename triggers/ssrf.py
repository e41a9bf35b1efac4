"""The SSRF guard: a delivery goes only to public addresses, or to ones an operator allowed.

The target's host is resolved once per attempt and the connection goes to that very
address (no second lookup a DNS rebinding could change); redirects are not followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from triggers.errors import TargetRefused

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_METADATA = (ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"))


@dataclass(frozen=True, slots=True)
class Allowed:
    """`webhook_allowed_hosts`: host names and networks exempt from the private-address rule."""

    hosts: frozenset[str]
    networks: tuple[Network, ...]

    @classmethod
    def parse(cls, values: Sequence[str]) -> Allowed:
        hosts, networks = set(), []
        for value in values:
            text = value.strip().lower()
            if not text:
                continue
            try:
                networks.append(ipaddress.ip_network(text.strip("[]"), strict=False))
            except ValueError:
                hosts.add(text)
        return cls(frozenset(hosts), tuple(networks))

    def permits(self, host: str, address: Address) -> bool:
        return host.lower() in self.hosts or any(address in n for n in self.networks)


def _plain(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_private(address: Address) -> bool:
    """Anything not publicly routable: private, loopback, link-local, carrier-grade NAT,
    reserved, multicast, metadata; and IPv6 forms that wrap such an IPv4 address
    (IPv4-mapped, 6to4, Teredo)."""
    address = _plain(address)
    if isinstance(address, ipaddress.IPv6Address):
        wrapped = [address.sixtofour, address.teredo[1] if address.teredo else None]
        if any(inner is not None and is_private(inner) for inner in wrapped):
            return True
    return (
        not address.is_global
        or address.is_multicast
        or any(address in network for network in _METADATA)
    )


def target_host(url: str) -> tuple[str, int, str]:
    """(host, port, scheme) of an http(s) URL.

    Raises:
        TargetRefused: not http(s), or no host.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise TargetRefused(f"{url!r} is not an http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname, port, parts.scheme


async def resolve(url: str, allowed: Allowed) -> tuple[str, int, str]:
    """Resolve the URL's host once and check every address; returns (ip, port, host).

    Raises:
        TargetRefused: unresolvable, or an address that is private and not allowed.
    """
    host, port, _ = target_host(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefused(f"cannot resolve {host}: {exc}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise TargetRefused(f"cannot resolve {host}")
    for address in addresses:
        if is_private(address) and not allowed.permits(host, _plain(address)):
            raise TargetRefused(
                f"{host} resolves to {address}, a private or local address; "
                "allow it with webhook_allowed_hosts"
            )
    return str(_plain(addresses[0])), port, host
