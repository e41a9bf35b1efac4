"""Partial pushes and git's report: git receives only the allowed ref updates, the
client hears of all, and the server learns from the report which refs git moved.

When policy denies some refs of a non-atomic push, the command list is rewritten to the
allowed updates before it reaches `git receive-pack` (the pack that follows is passed on
unchanged), and an `ng <ref> <reason>` line per denied ref is spliced into the
report-status git sends back. Both are pure byte transformations; the splicer holds at
most one pkt-line at a time, whatever git's output around the report is. On the way it
notes the refs git reports `ok`: once the report is complete, those are exactly the
updates git applied, which settles the push without a post-receive hook.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from gitserver.store.naming import ref_update_problem
from gitserver.transport.pktline import (
    FLUSH,
    ProtocolError,
    PushRequest,
    ng_line,
    pkt,
    pkt_length,
    sideband,
)


def _split(raw: bytes) -> list[bytes | None]:
    """The pkt-line payloads of `raw`, which must end with its first flush (None)."""
    lines: list[bytes | None] = []
    pos = 0
    while pos < len(raw):
        length = pkt_length(raw[pos : pos + 4])
        if length == 0:
            lines.append(None)
            pos += 4
            continue
        if length < 4 or pos + length > len(raw):
            raise ProtocolError(f"bad pkt-line length {length}")
        lines.append(raw[pos + 4 : pos + length])
        pos += length
    return lines


def filter_commands(raw: bytes, denied: Collection[str]) -> bytes:
    """The command list `raw` (through its flush) without the updates of `denied` refs.

    `shallow` lines are kept, and the capability list moves to the first kept command.
    Whatever follows the flush (push-options, the pack) is the caller's to pass on.
    """
    out = bytearray()
    capabilities: bytes | None = None
    first_kept = True
    for line in _split(raw):
        if line is None:
            break
        if line.startswith(b"shallow "):
            out += pkt(line)
            continue
        newline = b"\n" if line.endswith(b"\n") else b""
        body, nul, caps = line.rstrip(b"\n").partition(b"\0")
        if nul and capabilities is None:
            capabilities = caps
        ref = body.split(b" ", 2)[-1].decode("utf-8", "surrogateescape")
        if ref in denied:
            continue
        if first_kept and capabilities is not None:
            out += pkt(body + b"\0" + capabilities + newline)
        else:
            out += pkt(body + newline)
        first_kept = False
    return bytes(out + FLUSH)


def _take(buffer: bytearray) -> bytes | None:
    """Remove and return the first complete pkt-line of `buffer` (header included).

    Raises:
        ProtocolError: `buffer` does not start with a pkt-line header.
    """
    if len(buffer) < 4:
        return None
    length = pkt_length(buffer[:4])
    size = 4 if length < 4 else length
    if len(buffer) < size:
        return None
    packet = bytes(buffer[:size])
    del buffer[:size]
    return packet


class ReportSplicer:
    """Adds report lines (`extra`, pkt-lines) before the flush that ends git's report.

    Without side-band, git's output is the report itself. With side-band(-64k) the report
    is the payload of band-1 packets; progress (band 2), errors (band 3) and keep-alives
    (empty band-1 packets) pass through as they are. After the report, and if git's output
    is not what was expected, bytes pass through unchanged.
    """

    def __init__(self, *, sideband: bool, extra: bytes = b"") -> None:
        self._sideband = sideband
        self._extra = extra
        self._outer = bytearray()
        self._inner = bytearray()
        self._ok: set[str] = set()
        self._complete = False
        self.done = False

    def applied(self) -> frozenset[str] | None:
        """The refs git reported `ok`, once its whole report went by (else None: what
        git did must be read from the repository)."""
        return frozenset(self._ok) if self._complete else None

    def feed(self, data: bytes) -> bytes:
        if self.done:
            return data
        self._outer += data
        out = bytearray()
        try:
            while not self.done and (packet := _take(self._outer)) is not None:
                out += self._band(packet) if self._sideband else self._report(packet)
        except ProtocolError:
            self.done = True  # not pkt-lines: leave them to the client to judge
            out += self.finish()
        if self.done:
            out += self._outer
            self._outer.clear()
        return bytes(out)

    def finish(self) -> bytes:
        """What is still held back when git's output ends."""
        out = sideband(1, bytes(self._inner)) if self._inner else b""
        out += bytes(self._outer)
        self._inner.clear()
        self._outer.clear()
        self.done = True
        return out

    def _report(self, packet: bytes) -> bytes:
        if packet == FLUSH:
            self.done = self._complete = True
            return self._extra + FLUSH
        if packet[4:7] == b"ok ":
            self._ok.add(packet[7:].rstrip(b"\n").decode("utf-8", "surrogateescape"))
        return packet

    def _band(self, packet: bytes) -> bytes:
        if len(packet) <= 5 or packet[4] != 1:
            return packet  # flush, band 2 or 3, keep-alive
        self._inner += packet[5:]
        report = bytearray()
        try:
            while not self.done and (line := _take(self._inner)) is not None:
                report += self._report(line)
        except ProtocolError:
            self.done = True
        if self.done:
            report += self._inner
            self._inner.clear()
        return sideband(1, bytes(report)) if report else b""


@dataclass(frozen=True, slots=True)
class PushPlan:
    """What reaches git of a push some of whose refs are refused."""

    prefix: bytes  # the command list git gets
    # Reads git's report (None: the client asked for none) and adds the refused refs'
    # `ng` lines to it.
    splicer: ReportSplicer | None
    whole_rejection: bool  # atomic, all refs refused, or no report-status: refuse it all
    refused: dict[str, str]  # ref -> reason: policy denials and names the store refuses
    updates: tuple[tuple[str, str, str], ...] = ()  # (old, new, ref) git is asked to make

    @property
    def filtered(self) -> bool:
        """Whether refs were dropped: git may then stop reading before the pack ends."""
        return bool(self.refused) and not self.whole_rejection


def plan_push(push: PushRequest, denied: dict[str, str]) -> PushPlan:
    """Refuse the refs policy `denied` and those whose names the store refuses
    (`naming.ref_update_problem`, checked again in pre-receive).

    Partial when it can be: not atomic, the client reads report-status, and some ref is
    allowed. Otherwise the whole push is refused (the front end says how, with `refused`)."""
    named = ((c.ref, ref_update_problem(c.ref, c.new)) for c in push.commands)
    denied = {**{ref: problem for ref, problem in named if problem}, **denied}
    updates = tuple((c.old, c.new, c.ref) for c in push.commands if c.ref not in denied)
    if not denied:
        reader = ReportSplicer(sideband=push.sideband) if push.reports_status else None
        return PushPlan(push.raw, reader, False, denied, updates)
    partial = (
        push.reports_status
        and not push.atomic
        and any(command.ref not in denied for command in push.commands)
    )
    if not partial:
        return PushPlan(push.raw, None, True, denied)
    extra = b"".join(ng_line(ref, reason) for ref, reason in denied.items())
    return PushPlan(
        filter_commands(push.raw, denied),
        ReportSplicer(sideband=push.sideband, extra=extra),
        False,
        denied,
        updates,
    )
