"""pkt-line framing (gitprotocol-common(5)) and the receive-pack command list."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

FLUSH = b"0000"
MAX_PKT = 65520
_SIDEBAND_DATA = MAX_PKT - 5


class ProtocolError(Exception):
    """The client sent something that is not the git protocol."""


_HEX = frozenset(b"0123456789abcdefABCDEF")


def pkt_length(header: bytes | bytearray) -> int:
    """The length a pkt-line header states: exactly four hex digits, as git reads it.

    `int(header, 16)` alone also takes `+01a`, ` 01a`, `0x1a` and `1_0a`, which git
    refuses: the server would then read a different command list than git.

    Raises:
        ProtocolError: anything else.
    """
    if len(header) != 4 or not _HEX.issuperset(header):
        raise ProtocolError(f"bad pkt-line header {bytes(header)!r}")
    return int(header, 16)


def pkt(data: bytes) -> bytes:
    if len(data) + 4 > MAX_PKT:
        raise ValueError("pkt-line too long")
    return f"{len(data) + 4:04x}".encode() + data


def sideband(channel: int, data: bytes) -> bytes:
    """`data` on side-band channel `channel`, split into maximal packets."""
    out = bytearray()
    for start in range(0, len(data), _SIDEBAND_DATA):
        out += pkt(bytes([channel]) + data[start : start + _SIDEBAND_DATA])
    return bytes(out)


async def read_pkt(reader: asyncio.StreamReader | object, raw: bytearray) -> bytes | None:
    """Read one pkt-line; None for a flush. Appends the bytes read to `raw`."""
    header = await _read_exactly(reader, 4)
    raw += header
    length = pkt_length(header)
    if length == 0:
        return None
    if length < 4 or length > MAX_PKT:
        raise ProtocolError(f"bad pkt-line length {length}")
    payload = await _read_exactly(reader, length - 4)
    raw += payload
    return payload


async def _read_exactly(reader: object, size: int) -> bytes:
    try:
        data: bytes = await reader.readexactly(size)  # type: ignore[attr-defined]
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError("truncated request") from exc
    return data


@dataclass(frozen=True, slots=True)
class Command:
    old: str
    new: str
    ref: str


@dataclass(frozen=True, slots=True)
class PushRequest:
    """What receive-pack will be asked to do, read before any pack byte reaches git."""

    commands: tuple[Command, ...]
    capabilities: frozenset[str]
    raw: bytes  # every byte consumed, to be replayed into git's stdin

    @property
    def atomic(self) -> bool:
        return "atomic" in self.capabilities

    @property
    def sideband(self) -> bool:
        return "side-band-64k" in self.capabilities or "side-band" in self.capabilities

    @property
    def reports_status(self) -> bool:
        return bool({"report-status", "report-status-v2"} & self.capabilities)


def _is_oid(value: str) -> bool:
    return len(value) in (40, 64) and all(c in "0123456789abcdef" for c in value)


async def read_push_request(reader: object, limit: int) -> PushRequest:
    """Parse pkt-lines up to the first flush: shallow lines, then `old new ref[\\0caps]`.

    An empty list (the probe POST git sends before a real push) is valid.

    Raises:
        ProtocolError: malformed lines, an oversized list, or push certificates.
    """
    raw = bytearray()
    commands: list[Command] = []
    capabilities: frozenset[str] = frozenset()
    while True:
        line = await read_pkt(reader, raw)
        if line is None:
            break
        if len(raw) > limit:
            raise ProtocolError("too many ref updates in one push")
        text = line.rstrip(b"\n")
        if text.startswith(b"shallow "):
            continue
        if text.startswith(b"push-cert"):
            raise ProtocolError("signed pushes are not supported")
        body, nul, caps = text.partition(b"\0")
        if nul and not commands:
            capabilities = frozenset(caps.decode("ascii", "replace").split())
        parts = body.decode("utf-8", "surrogateescape").split(" ")
        if len(parts) != 3 or not (_is_oid(parts[0]) and _is_oid(parts[1])) or not parts[2]:
            raise ProtocolError("malformed ref update command")
        commands.append(Command(parts[0], parts[1], parts[2]))
    return PushRequest(tuple(commands), capabilities, bytes(raw))


def rejection_report(request: PushRequest, reasons: dict[str, str]) -> bytes:
    """A report-status answer rejecting every command (what git prints as remote rejected)."""
    report = bytearray(pkt(b"unpack ok\n"))
    for command in request.commands:
        reason = reasons.get(command.ref, "rejected because another ref in this push was denied")
        report += ng_line(command.ref, reason)
    report += FLUSH
    if request.sideband:
        return sideband(1, bytes(report)) + FLUSH
    return bytes(report)


def ng_line(ref: str, reason: str) -> bytes:
    """A report-status `ng` pkt-line: git prints `! [remote rejected] ... (reason)`.

    The reason is cut to what fits beside the ref: a ref may be nearly as long as a
    pkt-line (it came in one), and the line must stay one."""
    head = b"ng " + _wire(ref) + b" "
    text = _wire(reason.replace("\n", " ")[:400])
    room = max(0, MAX_PKT - 4 - len(head) - 1)
    if len(text) > room:  # cut, without leaving half a character
        text = text[:room].decode("utf-8", "ignore").encode()
    return pkt(head + text + b"\n")


def _wire(text: str) -> bytes:
    """`text` as the bytes it was read from (refs are surrogate-escaped when decoded)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no decoding made: not from the wire
        return text.encode("utf-8", "replace")
