"""The SSRF guard: a delivery goes only to public addresses, or to ones an operator allowed.

`check_url` is the one rule for an outbound URL's shape. Every creator calls it when a
target is stored (webhooks, trigger destinations, chat URLs), and the sender calls it again
before each attempt. At send time the target's host is resolved once per attempt, and the
connection goes to that very address (no second lookup a DNS rebinding could change).
Redirects are not followed.

IPv6 forms that carry an IPv4 address are judged by that address where the embedding is
fixed. That covers IPv4-mapped `::ffff:a.b.c.d` (the socket connects to the IPv4 address),
6to4 `2002::/16`, Teredo `2001::/32` (its client address) and the NAT64 well-known
prefix `64:ff9b::/96`. A NAT64 address that carries a public IPv4 address passes, because
DNS64 networks give every IPv4-only receiver such an address; RFC 6052 forbids the
well-known prefix for non-public IPv4. Forms whose embedding is not fixed, or that have no
business on the Internet, are refused whatever they carry: IPv4-compatible `::a.b.c.d`,
SIIT `::ffff:0:a.b.c.d` and the NAT64 local-use prefix `64:ff9b:1::/48`. The local-use
prefix puts the IPv4 address where its operator chose (RFC 8215). An operator's own
network-specific NAT64 prefix looks like any global address, so an operator that has one
must keep the private IPv4 space out of its translator.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from triggers.errors import HostNotAllowed, TargetRefused

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_METADATA = (ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"))
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_REFUSED_WHOLE = (
    (ipaddress.IPv6Network("::/96"), "IPv4-compatible IPv6, deprecated"),
    (ipaddress.IPv6Network("::ffff:0:0:0/96"), "IPv4-translated (SIIT) IPv6"),
    (ipaddress.IPv6Network("64:ff9b:1::/48"), "local-use NAT64"),
)
# WHATWG URL: a host whose last label is a number is an IPv4 address, so it must be one.
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


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


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    port: int
    scheme: str


def _plain(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _embedded(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 form carries at a fixed place, and the form's name."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, "IPv4-mapped"
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "NAT64"
    if address.sixtofour is not None:
        return address.sixtofour, "6to4"
    if address.teredo is not None:
        return address.teredo[1], "Teredo"
    return None


def _kind(address: Address) -> str | None:
    """What makes a plain address unfit for a delivery, or None for a public one."""
    if address.is_loopback:
        return "loopback"
    if address.is_unspecified:
        return "unspecified"
    if any(address in network for network in _METADATA):
        return "cloud metadata"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private network"
    # Python 3.11 calls IANA-reserved IPv6 space global; nothing there is routed.
    if not address.is_global or (address.version == 6 and address.is_reserved):
        return "not publicly routable"
    return None


def refusal(address: Address) -> str | None:
    """Why the guard refuses `address` (unless allowed), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_loopback or address.is_unspecified:
            return _kind(address)
        for network, name in _REFUSED_WHOLE:
            if address in network:
                return name
        embedded = _embedded(address)
        if embedded is not None:
            inner, form = embedded
            why = _kind(inner)
            if why is not None:
                return f"{form} form of {inner}: {why}"
            if form in ("IPv4-mapped", "NAT64"):
                return None  # the IPv6 address is only a carrier for a public IPv4 one
    return _kind(address)


def is_private(address: Address) -> bool:
    """Whether the guard refuses `address` unless an operator allowed it."""
    return refusal(address) is not None


def check_host(host: str) -> None:
    """Refuse IPv4 hosts that are not four decimal parts (`127.1`, `2130706433`, `0x7f.1`,
    `0177.0.0.1`, `0`): resolvers and URL parsers read them differently.

    Raises:
        TargetRefused: such a host, or a malformed IPv6 literal.
    """
    if ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%")[0])
        except ValueError:
            raise TargetRefused(f"{host!r} is not an IPv6 address") from None
        return
    labels = host.split(".")
    last = labels[-1] if labels[-1] or len(labels) == 1 else labels[-2]
    if not _NUMBER.fullmatch(last):
        return
    try:
        canonical = str(ipaddress.IPv4Address(host))
    except ValueError:
        canonical = ""
    if canonical == host:
        return
    try:
        meaning = f" (the C resolver reads it as {socket.inet_ntoa(socket.inet_aton(host))})"
    except OSError:
        meaning = ""
    raise TargetRefused(
        f"{host!r} is not a canonical IPv4 address{meaning}: write it as four decimal "
        "numbers, as in 192.0.2.10, or use a host name"
    )


def check_url(url: str) -> Target:
    """The one rule for an outbound URL: http(s), a host, a valid port, and an IPv4 host
    only in dotted-quad form.

    Raises:
        TargetRefused: the URL breaks the rule; the message says how.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise TargetRefused(f"{url!r} is not an http(s) URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused(f"{url!r} has an invalid port") from None
    check_host(parts.hostname)
    return Target(parts.hostname, port, parts.scheme)


def check_address(host: str, address: Address, allowed: Allowed) -> None:
    """Refuse a non-public address that `allowed` does not exempt.

    Raises:
        HostNotAllowed: with the reason and how to allow it.
    """
    why = refusal(address)
    if why is None or allowed.permits(host, _plain(address)):
        return
    shown = f"{address} is" if str(address) == host else f"{host} resolves to {address},"
    raise HostNotAllowed(f"{shown} a private or local address ({why})")


def literal(host: str) -> Address | None:
    """The address a host is, when it is an IP literal."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


async def resolve(host: str, port: int, allowed: Allowed) -> str:
    """Resolve `host` once and check every address; returns the address to connect to.

    Raises:
        TargetRefused: a non-canonical host, unresolvable, or an address that is not
            public and not allowed.
    """
    check_host(host)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefused(f"cannot resolve {host}: {exc}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise TargetRefused(f"cannot resolve {host}")
    for address in addresses:
        check_address(host, address, allowed)
    return str(_plain(addresses[0]))


async def check_target(url: str, allowed: Allowed) -> None:
    """What the sender checks before it connects, without connecting: lets a command that
    queues a ping say at once that it will be refused.

    Raises:
        TargetRefused: the URL rule, resolution or the address rule refuses the target.
    """
    target = check_url(url)
    address = literal(target.host)
    if address is None:
        await resolve(target.host, target.port, allowed)
    else:
        check_address(target.host, address, allowed)
