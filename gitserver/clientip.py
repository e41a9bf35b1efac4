"""The client's address for `aws:SourceIp`: X-Forwarded-For only through trusted proxies.

The header is client-controlled text, so it is believed only hop by hop from the right:
while the address that handed us the request is a configured trusted proxy, the entry
to its left is who sent it to that proxy. The first untrusted address is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """`10.0.0.0/8`, `192.0.2.7` or `::1` → networks.

    Raises:
        ValueError: a value is not an address or CIDR.
    """
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = value.strip().strip('"')
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def client_ip(peer: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The address policies see: `peer`, or what trusted proxies say they received from."""
    current = _address(peer)
    if current is None:
        return peer
    hops = [h for h in (forwarded_for or "").split(",") if h.strip()]
    while hops and any(current in network for network in trusted):
        candidate = _address(hops.pop())
        if candidate is None:
            break  # garbage from a proxy we trust: stop at the proxy itself
        current = candidate
    return str(current)
