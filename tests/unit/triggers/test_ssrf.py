"""The SSRF guard's address rule, the outbound URL rule, and `webhook_allowed_hosts`."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from triggers.errors import RepositoryTriggerError, TargetRefused
from triggers.repotriggers import resolve_destination
from triggers.sender import Sender
from triggers.ssrf import Allowed, check_address, check_url, is_private, refusal

METADATA = "169.254.169.254"


@pytest.mark.parametrize(
    ("address", "private"),
    [
        pytest.param("127.0.0.1", True, id="loopback"),
        pytest.param("10.1.2.3", True, id="rfc1918-10"),
        pytest.param("172.16.0.1", True, id="rfc1918-172"),
        pytest.param("192.168.1.1", True, id="rfc1918-192"),
        pytest.param(METADATA, True, id="aws-metadata"),
        pytest.param("100.100.100.200", True, id="cgnat-alibaba-metadata"),
        pytest.param("0.0.0.0", True, id="unspecified"),
        pytest.param("224.0.0.1", True, id="multicast"),
        pytest.param("::1", True, id="ipv6-loopback"),
        pytest.param("::", True, id="ipv6-unspecified"),
        pytest.param("fe80::1", True, id="ipv6-link-local"),
        pytest.param("fd00:ec2::254", True, id="aws-ipv6-metadata"),
        pytest.param("::ffff:127.0.0.1", True, id="ipv4-mapped-loopback"),
        pytest.param("::ffff:a9fe:a9fe", True, id="ipv4-mapped-metadata"),
        pytest.param("2002:7f00:1::1", True, id="6to4-wrapping-loopback"),
        pytest.param("2002:c0a8:101::1", True, id="6to4-wrapping-private"),
        pytest.param("2002:a9fe:a9fe::1", True, id="6to4-wrapping-metadata"),
        # Teredo: the client address is stored inverted (0x56 0x01 0x56 0x01 is 169.254...).
        pytest.param("2001:0:4136:e378:8000:63bf:5601:5601", True, id="teredo-wrapping-metadata"),
        # NAT64 well-known prefix (RFC 6052): the last 32 bits are the IPv4 address.
        pytest.param("64:ff9b::a9fe:a9fe", True, id="nat64-metadata"),
        pytest.param("64:ff9b::169.254.169.254", True, id="nat64-metadata-dotted"),
        pytest.param("64:ff9b::7f00:1", True, id="nat64-loopback"),
        pytest.param("64:ff9b::a00:1", True, id="nat64-private"),
        pytest.param("64:ff9b::6464:64c8", True, id="nat64-cgnat"),
        # NAT64 local-use prefix (RFC 8215): refused whatever it carries.
        pytest.param("64:ff9b:1::a9fe:a9fe", True, id="nat64-local-use-metadata"),
        pytest.param("64:ff9b:1:a9fe:a9:fe00::", True, id="nat64-local-use-slash48-form"),
        pytest.param("64:ff9b:1::808:808", True, id="nat64-local-use-public"),
        # IPv4-compatible (deprecated, RFC 4291 2.5.5.1): refused whatever it carries.
        pytest.param("::a9fe:a9fe", True, id="ipv4-compatible-metadata"),
        pytest.param("::127.0.0.1", True, id="ipv4-compatible-loopback"),
        pytest.param("::808:808", True, id="ipv4-compatible-public"),
        # SIIT IPv4-translated (RFC 2765): refused whatever it carries.
        pytest.param("::ffff:0:a9fe:a9fe", True, id="siit-metadata"),
        pytest.param("::ffff:0:7f00:1", True, id="siit-loopback"),
        pytest.param("::ffff:0:808:808", True, id="siit-public"),
        pytest.param("4000::1", True, id="ipv6-iana-reserved"),
        pytest.param("8.8.8.8", False, id="public-ipv4"),
        pytest.param("1.1.1.1", False, id="public-ipv4-cloudflare"),
        pytest.param("2001:4860:4860::8888", False, id="public-ipv6-google"),
        pytest.param("2606:4700:4700::1111", False, id="public-ipv6-cloudflare"),
        pytest.param("::ffff:8.8.8.8", False, id="ipv4-mapped-public"),
        # DNS64 networks give every IPv4-only receiver such an address.
        pytest.param("64:ff9b::808:808", False, id="nat64-public"),
    ],
)
def test_private_addresses(address: str, private: bool) -> None:
    assert is_private(ipaddress.ip_address(address)) is private


def test_the_refusal_names_the_wrapped_address() -> None:
    why = refusal(ipaddress.ip_address("64:ff9b::a9fe:a9fe"))
    assert why == f"NAT64 form of {METADATA}: cloud metadata"
    with pytest.raises(TargetRefused) as raised:
        check_address("64:ff9b::a9fe:a9fe", ipaddress.ip_address("64:ff9b::a9fe:a9fe"), NONE)
    assert METADATA in str(raised.value) and "webhook_allowed_hosts" in str(raised.value)


NONE = Allowed.parse([])


@pytest.mark.parametrize(
    ("url", "means"),
    [
        pytest.param("http://2130706433/", "127.0.0.1", id="decimal-integer"),
        pytest.param("http://127.1/", "127.0.0.1", id="shortened"),
        pytest.param("http://127.0.1/", "127.0.0.1", id="three-parts"),
        pytest.param("http://0/", "0.0.0.0", id="zero"),
        pytest.param("http://0x7f.1/", "127.0.0.1", id="hex-part"),
        pytest.param("http://0x7f000001/", "127.0.0.1", id="hex-integer"),
        pytest.param("http://0177.0.0.1/", "127.0.0.1", id="octal-part"),
        pytest.param("http://127.000.000.001/", "127.0.0.1", id="leading-zeros"),
        pytest.param("http://169.254.43518/", METADATA, id="metadata-two-parts"),
        pytest.param("http://127.0.0.1./", "", id="trailing-dot"),
        pytest.param("http://1.2.3.4.5/", "", id="five-parts"),
        pytest.param("http://256.0.0.1/", "", id="out-of-range"),
        pytest.param("http://example.123/", "", id="numeric-last-label"),
    ],
)
def test_non_canonical_ipv4_hosts_are_refused(url: str, means: str) -> None:
    with pytest.raises(TargetRefused, match="not a canonical IPv4 address") as raised:
        check_url(url)
    if means:
        assert f"reads it as {means}" in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://127.0.0.1:8080/hook", id="dotted-quad"),
        pytest.param("https://8.8.8.8/", id="public-dotted-quad"),
        pytest.param("https://hooks.example.com/x", id="name"),
        pytest.param("https://hooks.example.com./x", id="name-trailing-dot"),
        pytest.param("https://1password.com/", id="name-starting-with-digit"),
        pytest.param("https://123.example/", id="numeric-first-label"),
        pytest.param("http://[2001:4860:4860::8888]/", id="ipv6-literal"),
        pytest.param("http://[::ffff:127.0.0.1]/", id="ipv6-literal-mapped"),
    ],
)
def test_canonical_urls_pass_the_url_rule(url: str) -> None:
    check_url(url)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "http:///path", "http://example.com:99999/", "file:///etc/passwd"],
)
def test_urls_that_are_not_http_targets_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://127.1:9/", id="non-canonical"),
        pytest.param("http://2130706433:9/", id="decimal-integer"),
        pytest.param("http://[64:ff9b::a9fe:a9fe]:9/", id="nat64-metadata"),
        pytest.param("http://[::ffff:0:7f00:1]:9/", id="siit-loopback"),
        pytest.param("http://[::a9fe:a9fe]:9/", id="ipv4-compatible-metadata"),
    ],
)
def test_the_sender_refuses_for_good_before_connecting(url: str) -> None:
    """Defence in depth for targets stored before the rule: a permanent failure, no retry.
    127.0.0.1 is allowed, so the refusal is the URL rule's, not the allowed list's."""

    async def post() -> tuple[bool, bool, str]:
        sender = Sender(Allowed.parse(["127.0.0.1"]))
        try:
            outcome = await sender.post(url, b"{}", {}, 1.0)
        finally:
            await sender.close()
        return outcome.refused, outcome.retryable, outcome.error

    refused, retryable, error = asyncio.run(post())
    assert refused and not retryable, error
    assert "canonical" in error or "private or local" in error


def test_trigger_destinations_follow_the_url_rule() -> None:
    with pytest.raises(RepositoryTriggerError) as raised:
        resolve_destination("http://0x7f.1/", "us-east-1", {})
    assert raised.value.aws_type == "InvalidRepositoryTriggerDestinationArnException"
    assert "canonical" in str(raised.value)
    arn = "arn:aws:sns:us-east-1:000000000000:topic"
    with pytest.raises(RepositoryTriggerError, match="canonical"):
        resolve_destination(arn, "us-east-1", {arn: "http://2130706433/"})
    assert resolve_destination(arn, "us-east-1", {arn: "http://127.0.0.1/"}) == "http://127.0.0.1/"


def test_allowed_hosts_and_networks() -> None:
    allowed = Allowed.parse(["127.0.0.1", "10.0.0.0/8", "ci.internal", " "])
    assert allowed.permits("anything", ipaddress.ip_address("127.0.0.1"))
    assert allowed.permits("x", ipaddress.ip_address("10.9.9.9"))
    assert allowed.permits("CI.internal", ipaddress.ip_address("192.168.0.5"))
    assert not allowed.permits("other", ipaddress.ip_address("192.168.0.5"))


def test_an_allowed_nat64_network_is_permitted() -> None:
    check_address("h", ipaddress.ip_address("64:ff9b:1::a00:1"), Allowed.parse(["64:ff9b:1::/48"]))
