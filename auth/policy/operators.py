"""Condition operators: names, typed values and the comparison of one request value.

IAM UG "IAM JSON policy elements: Condition operators". A negated operator
(``StringNotEquals``, ``NotIpAddress``, ``ArnNotLike``...) is stored as its positive
twin plus ``negated``: it holds when the request value matches *none* of the policy
values. A request value of the wrong type (``"abc"`` for ``NumericLessThan``) makes the
comparison fail for the positive and the negated operator alike.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from auth.policy.globs import Pieces, compile_glob, split_pieces


class Family(StrEnum):
    """Operator families; each types its values the same way."""

    STRING = "String"
    NUMERIC = "Numeric"
    DATE = "Date"
    BOOL = "Bool"
    BINARY = "Binary"
    IP = "IpAddress"
    ARN = "Arn"
    NULL = "Null"


# base name -> (family, positive twin, negated)
_BASES: dict[str, tuple[Family, str, bool]] = {
    "StringEquals": (Family.STRING, "StringEquals", False),
    "StringNotEquals": (Family.STRING, "StringEquals", True),
    "StringEqualsIgnoreCase": (Family.STRING, "StringEqualsIgnoreCase", False),
    "StringNotEqualsIgnoreCase": (Family.STRING, "StringEqualsIgnoreCase", True),
    "StringLike": (Family.STRING, "StringLike", False),
    "StringNotLike": (Family.STRING, "StringLike", True),
    "Bool": (Family.BOOL, "Bool", False),
    "BinaryEquals": (Family.BINARY, "BinaryEquals", False),
    "IpAddress": (Family.IP, "IpAddress", False),
    "NotIpAddress": (Family.IP, "IpAddress", True),
    "ArnEquals": (Family.ARN, "ArnEquals", False),
    "ArnLike": (Family.ARN, "ArnEquals", False),
    "ArnNotEquals": (Family.ARN, "ArnEquals", True),
    "ArnNotLike": (Family.ARN, "ArnEquals", True),
    "Null": (Family.NULL, "Null", False),
}
for _family in (Family.NUMERIC, Family.DATE):
    for _cmp in ("Equals", "LessThan", "LessThanEquals", "GreaterThan", "GreaterThanEquals"):
        _BASES[f"{_family}{_cmp}"] = (_family, _cmp, False)
    _BASES[f"{_family}NotEquals"] = (_family, "Equals", True)

_OPERATOR = re.compile(
    r"(?:(?P<qualifier>ForAnyValue|ForAllValues):)?(?P<base>\w+?)(?P<ie>IfExists)?"
)


@dataclass(frozen=True, slots=True)
class Operator:
    """A parsed operator such as ``ForAnyValue:StringNotLikeIfExists``."""

    name: str
    family: Family
    positive: str
    negated: bool
    if_exists: bool
    qualifier: str | None


def parse_operator(name: str) -> Operator | None:
    """The operator named ``name``, or None if IAM has no such operator."""
    match = _OPERATOR.fullmatch(name)
    if match is None or match["base"] not in _BASES:
        return None
    family, positive, negated = _BASES[match["base"]]
    if family is Family.NULL and (match["ie"] or match["qualifier"]):
        return None  # IAM UG: Null takes neither IfExists nor a set qualifier.
    return Operator(name, family, positive, negated, bool(match["ie"]), match["qualifier"])


def parse_number(text: str) -> Decimal:
    """A numeric condition value. Raises ValueError."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return number


def parse_date(text: str) -> Decimal:
    """An ISO 8601 date/time or epoch seconds, as epoch seconds. Raises ValueError."""
    text = text.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return Decimal(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date or epoch time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # AWS reads zone-less times as UTC.
    return Decimal(str(moment.timestamp()))


def parse_bool(text: str) -> str:
    """``true``/``false`` in any case, lower-cased. Raises ValueError."""
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError(f"{text!r} is not true or false")
    return lowered


def parse_binary(text: str) -> bytes:
    """Base64 text, decoded. Raises ValueError."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{text!r} is not base64") from None


def parse_cidr(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A CIDR block, or one address as a /32 or /128. Raises ValueError."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address or CIDR block") from None


VALIDATORS: dict[Family, Callable[[str], object]] = {
    Family.NUMERIC: parse_number,
    Family.DATE: parse_date,
    Family.BOOL: parse_bool,
    Family.BINARY: parse_binary,
    Family.IP: parse_cidr,
    Family.NULL: parse_bool,
}

Comparator = Callable[[str], bool | None]
"""Compares one request value with one policy value; None: the request value has the wrong type."""

_ORDER: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "Equals": lambda v, p: v == p,
    "LessThan": lambda v, p: v < p,
    "LessThanEquals": lambda v, p: v <= p,
    "GreaterThan": lambda v, p: v > p,
    "GreaterThanEquals": lambda v, p: v >= p,
}


def _typed(parse: Callable[[str], Decimal], policy: Decimal, order: str) -> Comparator:
    order_holds = _ORDER[order]

    def compare(value: str) -> bool | None:
        try:
            return order_holds(parse(value), policy)
        except ValueError:
            return None

    return compare


def comparator(op: Operator, pieces: Pieces) -> Comparator:
    """A comparator for one rendered policy value. Raises ValueError for a bad typed value."""
    text = "".join(t for t, _ in pieces)
    if op.positive == "StringEquals":
        return lambda value: value == text
    if op.positive == "StringEqualsIgnoreCase":
        folded = text.casefold()
        return lambda value: value.casefold() == folded
    if op.positive == "StringLike":
        pattern = compile_glob(pieces)
        return lambda value: pattern.fullmatch(value) is not None
    if op.family is Family.NUMERIC:
        return _typed(parse_number, parse_number(text), op.positive)
    if op.family is Family.DATE:
        return _typed(parse_date, parse_date(text), op.positive)
    if op.family is Family.BOOL:
        expected = parse_bool(text)
        return lambda value: value.lower() == expected
    if op.family is Family.BINARY:
        return _binary(parse_binary(text))
    if op.family is Family.IP:
        return _ip(parse_cidr(text))
    if op.family is Family.ARN:
        return _arn(pieces)
    raise ValueError(f"{op.name} takes no comparator")


def _binary(expected: bytes) -> Comparator:
    def compare(value: str) -> bool | None:
        try:
            return parse_binary(value) == expected
        except ValueError:
            return None

    return compare


def _ip(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Comparator:
    def compare(value: str) -> bool | None:
        try:
            address = ipaddress.ip_address(value.strip())
        except ValueError:
            return None
        return address.version == network.version and address in network

    return compare


def _arn(pieces: Pieces) -> Comparator:
    if "".join(t for t, _ in pieces) == "*":
        return lambda value: True
    # IAM UG: "each of the six colon-delimited components of the ARN is checked
    # separately", so a wildcard never spans a colon except in the resource part.
    parts = [compile_glob(part) for part in split_pieces(pieces, ":", 5)]

    def compare(value: str) -> bool | None:
        components = value.split(":", 5)
        if len(components) != 6 or len(parts) != 6:
            return None
        return all(p.fullmatch(c) is not None for p, c in zip(parts, components, strict=True))

    return compare
