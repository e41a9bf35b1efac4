"""Fuzz properties of the git wire parsers: pkt-lines, the push command list, the
command-list filter and the report-status splicer."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from hypothesis import strategies as st

from gitserver.transport.pktline import (
    FLUSH,
    MAX_PKT,
    ProtocolError,
    PushRequest,
    ng_line,
    pkt,
    read_push_request,
    rejection_report,
    sideband,
)
from gitserver.transport.reportstatus import ReportSplicer, filter_commands, plan_push
from tests.unit.fuzz.mutations import mutated_bytes

LIMIT = 1 << 20
CAPABILITIES = [
    "report-status",
    "report-status-v2",
    "side-band-64k",
    "side-band",
    "atomic",
    "ofs-delta",
    "push-options",
    "quiet",
    "agent=git/2.47.0",
    "object-format=sha1",
]


class _BytesReader:
    """`readexactly` over bytes, without an event loop: the parser never waits."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    async def readexactly(self, size: int) -> bytes:
        chunk = self._data[self._pos : self._pos + size]
        if len(chunk) < size:
            raise asyncio.IncompleteReadError(chunk, size)
        self._pos += size
        return chunk


def run_now(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends (its awaits all finish at once)."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise AssertionError("the coroutine waited for something")


def parse_push(data: bytes, limit: int = LIMIT) -> PushRequest:
    return run_now(read_push_request(_BytesReader(data), limit))  # type: ignore[no-any-return]


oids = st.sampled_from(["0" * 40, "a" * 40, "b" * 40, "c" * 64]) | st.text(
    "0123456789abcdef", min_size=40, max_size=40
)
# Ref names as git sends them: any bytes but the separators; read back surrogate-escaped.
ref_bytes = st.sampled_from(
    [b"refs/heads/main", b"refs/heads/heads/x", b"refs/tags/v1", b"refs/heads/\xff"]
) | st.binary(min_size=1, max_size=40).filter(lambda b: not set(b) & set(b" \0\n"))
commands = st.lists(st.tuples(oids, oids, ref_bytes), max_size=4)
capabilities = st.lists(st.sampled_from(CAPABILITIES), unique=True, max_size=5)


def encode_push(cmds: list[tuple[str, str, bytes]], caps: list[str], shallow: int = 0) -> bytes:
    """A command list as git sends it: shallow lines, commands, caps on the first, flush."""
    out = bytearray()
    for _ in range(shallow):
        out += pkt(b"shallow " + b"d" * 40 + b"\n")
    for index, (old, new, ref) in enumerate(cmds):
        line = f"{old} {new} ".encode() + ref
        if index == 0 and caps:
            line += b"\0" + " ".join(caps).encode()
        out += pkt(line + b"\n")
    return bytes(out + FLUSH)


@st.composite
def push_bodies(draw: st.DrawFn) -> bytes:
    """A command list with a pack-ish tail, mutated half of the time, or random bytes."""
    body = encode_push(draw(commands), draw(capabilities), draw(st.integers(0, 2)))
    body += draw(st.sampled_from([b"", b"PACK\0\0\0\x02", b"0009done\n"]))
    kind = draw(st.sampled_from(["valid", "mutated", "random"]))
    if kind == "mutated":
        return draw(mutated_bytes(body))
    if kind == "random":
        return draw(st.binary(max_size=120))
    return body


def _headers_of(raw: bytes) -> list[bytes]:
    headers, pos = [], 0
    while pos < len(raw):
        header = raw[pos : pos + 4]
        headers.append(header)
        length = int(header, 16)
        pos += 4 if length == 0 else length
    return headers


def check_push_request(data: bytes) -> None:
    """A command list parses to well-formed commands, or is a ProtocolError; never
    anything else. What it accepts, git's own framing accepts too (4 hex digits)."""
    try:
        request = parse_push(data)
    except ProtocolError as exc:
        assert str(exc)
        return
    assert data.startswith(request.raw) and request.raw.endswith(FLUSH)
    for header in _headers_of(request.raw):
        assert all(c in b"0123456789abcdefABCDEF" for c in header), header
    for command in request.commands:
        assert len(command.old) in (40, 64) and len(command.new) in (40, 64) and command.ref
    assert parse_push(request.raw) == request
    denied = {c.ref: "denied by policy" for c in request.commands[::2]}
    plan = plan_push(request, denied)
    if plan.splicer is not None:
        plan.splicer.feed(pkt(b"unpack ok\n") + FLUSH)
    rejection_report(request, denied)


def check_push_round_trip(case: tuple[list[tuple[str, str, bytes]], list[str], int]) -> None:
    """What git sends parses back to its commands and capabilities; the filtered list
    git receives holds exactly the commands not denied, capabilities on the first."""
    cmds, caps, shallow = case
    raw = encode_push(cmds, caps, shallow)
    request = parse_push(raw + b"PACK")
    assert request.raw == raw
    expected = [(old, new, ref.decode("utf-8", "surrogateescape")) for old, new, ref in cmds]
    assert [(c.old, c.new, c.ref) for c in request.commands] == expected
    assert request.capabilities == (frozenset(caps) if cmds else frozenset())
    denied = {ref for _, _, ref in expected[::2]}
    kept = parse_push(filter_commands(raw, denied))
    assert [c for c in request.commands if c.ref not in denied] == list(kept.commands)
    if kept.commands:
        assert kept.capabilities == request.capabilities


# A ref as long as a pkt-line allows, and reasons of any length: the `ng` line must fit.
long_refs = st.integers(0, MAX_PKT - 4 - 82).map(lambda n: "refs/heads/" + "r" * n)
surrogate_escaped = st.binary(max_size=600).map(lambda b: b.decode("utf-8", "surrogateescape"))


def check_ng_line(case: tuple[str, str]) -> None:
    """A refusal line is one valid pkt-line naming the ref, whatever the ref and reason."""
    ref, reason = case
    line = ng_line(ref, reason)
    assert 4 < len(line) <= MAX_PKT and int(line[:4], 16) == len(line)
    assert line[4:].startswith(b"ng " + ref.encode("utf-8", "surrogateescape") + b" ")


@st.composite
def git_reports(draw: st.DrawFn) -> tuple[bytes, bytes, bool, list[str], list[int]]:
    """(git's output, the spliced-in `ng` lines, side-band?, refs reported ok, chunking)."""
    refs = draw(st.lists(ref_bytes, max_size=4, unique=True))
    statuses = [draw(st.booleans()) for _ in refs]
    report = bytearray(pkt(b"unpack ok\n"))
    for ref, ok in zip(refs, statuses, strict=True):
        report += pkt((b"ok " if ok else b"ng ") + ref + (b"\n" if ok else b" failed\n"))
    report += FLUSH
    use_sideband = draw(st.booleans())
    if use_sideband:
        progress = sideband(2, b"Resolving deltas: 100%\r")
        output = progress + sideband(1, bytes(report)) + progress + FLUSH
    else:
        output = bytes(report)
    extra = b"".join(ng_line(f"refs/heads/denied{i}", "no") for i in range(draw(st.integers(0, 2))))
    cuts = sorted(draw(st.lists(st.integers(0, len(output)), max_size=6)))
    ok_refs = [
        r.decode("utf-8", "surrogateescape") for r, ok in zip(refs, statuses, strict=True) if ok
    ]
    return output, extra, use_sideband, ok_refs, cuts


def _feed(splicer: ReportSplicer, output: bytes, cuts: list[int]) -> bytes:
    out = bytearray()
    for start, end in zip([0, *cuts], [*cuts, len(output)], strict=True):
        out += splicer.feed(output[start:end])
    return bytes(out + splicer.finish())


def _bands(stream: bytes) -> dict[int, bytes]:
    bands: dict[int, bytes] = {1: b"", 2: b"", 3: b""}
    pos = 0
    while pos < len(stream):
        length = int(stream[pos : pos + 4], 16)
        if length > 4:
            band = stream[pos + 4]
            bands[band] += stream[pos + 5 : pos + length]
        pos += max(length, 4)
    return bands


def check_report_splicer(case: tuple[bytes, bytes, bool, list[str], list[int]]) -> None:
    """However git's output is cut into reads, the client gets git's report with the
    `ng` lines before its flush, progress untouched, and the refs reported ok are known."""
    output, extra, use_sideband, ok_refs, cuts = case
    splicer = ReportSplicer(sideband=use_sideband, extra=extra)
    spliced = _feed(splicer, output, cuts)
    if use_sideband:
        report = _bands(output)[1]
        assert _bands(spliced)[1] == report[:-4] + extra + FLUSH
        assert _bands(spliced)[2] == _bands(output)[2]
    else:
        assert spliced == output[:-4] + extra + FLUSH
    assert splicer.applied() == frozenset(ok_refs)


@st.composite
def garbled_reports(draw: st.DrawFn) -> tuple[bytes, bool, list[int]]:
    output, _, use_sideband, _, cuts = draw(git_reports())
    garbled = draw(mutated_bytes(output)) if draw(st.booleans()) else draw(st.binary(max_size=80))
    cuts = sorted(c for c in cuts if c <= len(garbled))
    return garbled, use_sideband, cuts


def check_splicer_garbage(case: tuple[bytes, bool, list[int]]) -> None:
    """Output that is not a report passes through: nothing raises, no byte is lost
    unless it was re-framed, and the applied refs are only claimed for a whole report."""
    output, use_sideband, cuts = case
    splicer = ReportSplicer(sideband=use_sideband)
    spliced = _feed(splicer, output, cuts)
    if not use_sideband:
        assert spliced == output
    applied = splicer.applied()
    assert applied is None or isinstance(applied, frozenset)
