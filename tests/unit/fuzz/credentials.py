"""Fuzz properties of the credential parsers: SigV4's Authorization header, canonical
request and freshness, the SigV4 Git password, and HTTP Basic."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from auth.sigv4 import (
    SignatureError,
    SignedRequest,
    canonical_request,
    check_freshness,
    git_signature,
    parse_authorization,
    request_signature,
    verify_git_password,
)
from gitserver.transport.http import _basic_credentials
from tests.unit.fuzz.mutations import any_text, mutated_text

NOW = datetime(2026, 5, 4, 12, 0, 0, tzinfo=UTC)
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
_HEX64 = re.compile(r"[0-9a-f]{64}")

# What aiohttp hands over for a header or path with bytes that are not UTF-8: the
# bytes surrogate-escaped. Plus any text at all, lone surrogates included.
wire_text = st.binary(max_size=40).map(lambda b: b.decode("utf-8", "surrogateescape")) | any_text

parts = st.fixed_dictionaries(
    {
        "key": st.sampled_from(["AKIAIOSFODNN7EXAMPLE", "AKIA" + "Z" * 16]) | st.text(min_size=1),
        "date": st.sampled_from(["20260504", "20260503"]) | st.text("0123456789", min_size=8),
        "region": st.sampled_from(["us-east-1", "eu-west-1"]) | wire_text,
        "service": st.sampled_from(["codecommit", "codepipeline"]) | wire_text,
        "headers": st.lists(
            st.sampled_from(["host", "x-amz-date", "content-type", "x-amz-target"]),
            min_size=1,
            unique=True,
        ),
        "signature": st.text("0123456789abcdef", min_size=64, max_size=64),
    }
)


def authorization(p: dict[str, object]) -> str:
    headers = ";".join(p["headers"])  # type: ignore[arg-type]
    return (
        f"AWS4-HMAC-SHA256 Credential={p['key']}/{p['date']}/{p['region']}/{p['service']}"
        f"/aws4_request, SignedHeaders={headers}, Signature={p['signature']}"
    )


@st.composite
def authorization_headers(draw: st.DrawFn) -> str:
    header = authorization(draw(parts))
    return draw(st.sampled_from([header, draw(mutated_text(header)), draw(any_text)]))


def check_authorization(header: str) -> None:
    """An Authorization header splits into ASCII scope parts, or is a SignatureError;
    whatever it claims, the signature over it can be computed (to be compared)."""
    try:
        signed = parse_authorization(header)
    except SignatureError as exc:
        assert exc.code in {"MissingAuthenticationToken", "IncompleteSignature"} and str(exc)
        return
    assert signed.date.isascii() and signed.date.isdigit() and len(signed.date) == 8
    assert "host" in signed.signed_headers and _HEX64.fullmatch(signed.signature)
    canonical = canonical_request("POST", "/", [], {"host": ["h"]}, signed.signed_headers, "")
    assert _HEX64.fullmatch(request_signature(SECRET, signed, "20260504T120000Z", canonical))


def check_authorization_round_trip(p: dict[str, object]) -> None:
    """A header built from parts the grammar allows gives those parts back."""
    header = authorization(p)
    if any(
        not p[k] or re.search(r"[\s/,]", str(p[k]), re.ASCII) for k in ("key", "region", "service")
    ):
        return  # the separators themselves: not a well-formed header
    if not str(p["date"]).isascii() or len(str(p["date"])) != 8 or "host" not in p["headers"]:  # type: ignore[operator]
        return
    signed = parse_authorization(header)
    assert (signed.access_key_id, signed.date, signed.region, signed.service) == (
        p["key"],
        p["date"],
        p["region"],
        p["service"],
    )
    assert list(signed.signed_headers) == p["headers"]


amz_dates = st.sampled_from(["20260504T120000Z", "20260504T121500Z", "20260504T999999Z"]) | any_text


def check_freshness_property(case: tuple[str, str]) -> None:
    """X-Amz-Date is accepted only when it is a timestamp of the signed day within the
    skew, and refused with SignatureError otherwise."""
    amz_date, scope_date = case
    signed = SignedRequest("AKIA", scope_date, "us-east-1", "codecommit", ("host",), "0" * 64)
    try:
        check_freshness(signed, amz_date, NOW)
    except SignatureError as exc:
        assert exc.code in {"IncompleteSignature", "InvalidSignatureException", "RequestExpired"}
        return
    assert amz_date[:8] == scope_date
    at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(NOW - at) <= timedelta(minutes=15)


requests = st.tuples(
    st.sampled_from(["POST", "GET", "post"]) | wire_text,
    wire_text,
    st.lists(st.tuples(wire_text, wire_text), max_size=3),
    st.dictionaries(st.sampled_from(["host", "x-amz-date"]), st.lists(wire_text, max_size=2)),
    st.lists(st.sampled_from(["host", "x-amz-date", "x-other"]), min_size=1, unique=True),
    wire_text,
)


def check_canonical_request(
    case: tuple[str, str, list[tuple[str, str]], dict[str, list[str]], list[str], str],
) -> None:
    """Whatever bytes arrived (as aiohttp decodes them), the canonical request and its
    signature are computed: a request is refused for its signature, never a crash."""
    canonical = canonical_request(*case)
    signed = SignedRequest("AKIA", "20260504", case[1], "codecommit", tuple(case[4]), "0" * 64)
    assert _HEX64.fullmatch(request_signature(SECRET, signed, case[0], canonical))


@st.composite
def git_passwords(draw: st.DrawFn) -> tuple[str, list[str], list[str], list[str]]:
    at = NOW - timedelta(seconds=draw(st.integers(-400, 1300)))
    stamp = at.strftime("%Y%m%dT%H%M%S")
    paths = draw(st.lists(wire_text, min_size=1, max_size=2))
    hosts = draw(st.lists(wire_text, min_size=1, max_size=2))
    regions = draw(st.lists(st.sampled_from(["us-east-1"]) | wire_text, min_size=1, max_size=2))
    if draw(st.booleans()):
        signature = git_signature(SECRET, stamp, "/v1/repos/r", "h", "us-east-1")
        password = f"{stamp}Z{signature}"
    else:
        password = draw(any_text)
    return password, paths, hosts, regions


def check_git_password(case: tuple[str, list[str], list[str], list[str]]) -> None:
    """The SigV4 Git password is checked against every path/host/region: True or False,
    whatever the Host header or path held."""
    password, paths, hosts, regions = case
    verdict = verify_git_password(
        SECRET, password, paths=paths, hosts=hosts, regions=regions, now=NOW
    )
    assert verdict in (True, False)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


utf8_text = st.text(max_size=30)  # what a client can send: encodable text
basic_pairs = st.tuples(utf8_text.filter(lambda u: ":" not in u), utf8_text)


@st.composite
def basic_headers(draw: st.DrawFn) -> str:
    header = basic(*draw(basic_pairs))
    return draw(st.sampled_from([header, draw(mutated_text(header)), draw(wire_text)]))


def check_basic(header: str) -> None:
    """A Basic header gives a user name and password of valid text, or None."""
    found = _basic_credentials(header)
    if found is not None:
        user, password = found
        assert ":" not in user
        (user + password).encode()


def check_basic_round_trip(pair: tuple[str, str]) -> None:
    assert _basic_credentials(basic(*pair)) == pair
