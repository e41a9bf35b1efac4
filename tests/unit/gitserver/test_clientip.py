from __future__ import annotations

import pytest

from gitserver.clientip import client_ip, parse_networks

PROXIES = parse_networks(["10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        pytest.param(
            "203.0.113.9", "198.51.100.1", "203.0.113.9", id="untrusted-peer-header-ignored"
        ),
        pytest.param("10.0.0.5", "198.51.100.1", "198.51.100.1", id="trusted-proxy-believed"),
        pytest.param(
            "10.0.0.5", "1.1.1.1, 198.51.100.1, 10.0.0.4", "198.51.100.1", id="chain-of-proxies"
        ),
        pytest.param(
            "10.0.0.5", "6.6.6.6, 198.51.100.1", "198.51.100.1", id="spoofed-left-entry-ignored"
        ),
        pytest.param("10.0.0.5", None, "10.0.0.5", id="no-header"),
        pytest.param("10.0.0.5", "not-an-ip", "10.0.0.5", id="garbage-stops-at-proxy"),
        pytest.param("::1", "[2001:db8::1]:443", "2001:db8::1", id="ipv6-bracketed-with-port"),
        pytest.param("10.0.0.5", "198.51.100.1:5555", "198.51.100.1", id="ipv4-with-port"),
        pytest.param("::ffff:10.0.0.5", "198.51.100.1", "198.51.100.1", id="ipv4-mapped-peer"),
    ],
)
def test_client_ip(peer: str, header: str | None, expected: str) -> None:
    assert client_ip(peer, header, PROXIES) == expected


def test_nothing_trusted_means_the_peer() -> None:
    assert client_ip("10.0.0.5", "198.51.100.1", ()) == "10.0.0.5"


def test_bad_network_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_networks(["10.0.0.0/33"])
