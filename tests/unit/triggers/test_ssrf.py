"""The SSRF guard's address rule, and `webhook_allowed_hosts`."""

from __future__ import annotations

import ipaddress

import pytest

from triggers.ssrf import Allowed, is_private


@pytest.mark.parametrize(
    ("address", "private"),
    [
        pytest.param("127.0.0.1", True, id="loopback"),
        pytest.param("10.1.2.3", True, id="rfc1918-10"),
        pytest.param("172.16.0.1", True, id="rfc1918-172"),
        pytest.param("192.168.1.1", True, id="rfc1918-192"),
        pytest.param("169.254.169.254", True, id="aws-metadata"),
        pytest.param("100.100.100.200", True, id="cgnat-alibaba-metadata"),
        pytest.param("0.0.0.0", True, id="unspecified"),
        pytest.param("224.0.0.1", True, id="multicast"),
        pytest.param("::1", True, id="ipv6-loopback"),
        pytest.param("fe80::1", True, id="ipv6-link-local"),
        pytest.param("fd00:ec2::254", True, id="aws-ipv6-metadata"),
        pytest.param("::ffff:127.0.0.1", True, id="ipv4-mapped-loopback"),
        pytest.param("2002:7f00:1::1", True, id="6to4-wrapping-loopback"),
        pytest.param("2002:c0a8:101::1", True, id="6to4-wrapping-private"),
        pytest.param("8.8.8.8", False, id="public-ipv4"),
        pytest.param("2606:4700:4700::1111", False, id="public-ipv6"),
        pytest.param("::ffff:8.8.8.8", False, id="ipv4-mapped-public"),
    ],
)
def test_private_addresses(address: str, private: bool) -> None:
    assert is_private(ipaddress.ip_address(address)) is private


def test_allowed_hosts_and_networks() -> None:
    allowed = Allowed.parse(["127.0.0.1", "10.0.0.0/8", "ci.internal", " "])
    assert allowed.permits("anything", ipaddress.ip_address("127.0.0.1"))
    assert allowed.permits("x", ipaddress.ip_address("10.9.9.9"))
    assert allowed.permits("CI.internal", ipaddress.ip_address("192.168.0.5"))
    assert not allowed.permits("other", ipaddress.ip_address("192.168.0.5"))
