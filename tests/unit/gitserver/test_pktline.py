from __future__ import annotations

import asyncio

import pytest

from gitserver.transport.pktline import (
    FLUSH,
    ProtocolError,
    PushRequest,
    pkt,
    read_push_request,
    rejection_report,
)

OLD, NEW = "a" * 40, "b" * 40


def _parse(body: bytes, limit: int = 1 << 20) -> PushRequest:
    async def run() -> PushRequest:
        reader = asyncio.StreamReader()
        reader.feed_data(body)
        reader.feed_eof()
        return await read_push_request(reader, limit)

    return asyncio.run(run())


def test_commands_and_capabilities_are_read_up_to_the_flush() -> None:
    body = (
        pkt(f"{OLD} {NEW} refs/heads/main\0report-status side-band-64k atomic agent=g\n".encode())
        + pkt(f"{'0' * 40} {NEW} refs/tags/v1\n".encode())
        + FLUSH
        + b"PACK..."
    )
    request = _parse(body)
    assert [c.ref for c in request.commands] == ["refs/heads/main", "refs/tags/v1"]
    assert request.atomic and request.sideband and request.reports_status
    assert request.raw == body[: body.index(b"PACK")]


def test_probe_post_is_an_empty_push() -> None:
    assert _parse(FLUSH).commands == ()


def test_shallow_lines_before_commands_are_skipped() -> None:
    body = pkt(b"shallow " + b"c" * 40) + pkt(f"{OLD} {NEW} refs/heads/x\0report-status".encode())
    assert [c.ref for c in _parse(body + FLUSH).commands] == ["refs/heads/x"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"zzzz", id="bad-header"),
        pytest.param(b"0003", id="length-below-4"),
        pytest.param(b"00ff" + b"x" * 10, id="truncated"),
        pytest.param(pkt(b"not a command\n") + FLUSH, id="not-a-command"),
        pytest.param(pkt(f"{OLD} xyz refs/heads/a\n".encode()) + FLUSH, id="bad-oid"),
        pytest.param(pkt(b"push-cert\0caps\n") + FLUSH, id="push-cert"),
        pytest.param(pkt(f"{OLD} {NEW} refs/heads/a\n".encode()), id="no-flush"),
    ],
)
def test_malformed_command_lists_are_protocol_errors(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        _parse(body)


def test_oversized_command_list_is_refused() -> None:
    line = pkt(f"{OLD} {NEW} refs/heads/{'x' * 200}\n".encode())
    with pytest.raises(ProtocolError, match="too many"):
        _parse(line * 100 + FLUSH, limit=10_000)


def test_rejection_report_in_sideband() -> None:
    request = _parse(
        pkt(f"{OLD} {NEW} refs/heads/a\0report-status side-band-64k".encode())
        + pkt(f"{OLD} {NEW} refs/heads/b\n".encode())
        + FLUSH
    )
    report = rejection_report(request, {"refs/heads/a": "denied"})
    assert report.endswith(FLUSH)
    inner = report[5 : int(report[:4], 16)]  # first side-band packet, channel byte stripped
    assert report[4:5] == b"\x01"
    assert pkt(b"unpack ok\n") in inner
    assert pkt(b"ng refs/heads/a denied\n") in inner
    assert b"ng refs/heads/b rejected because another ref in this push was denied" in inner


def test_rejection_report_without_sideband() -> None:
    request = _parse(pkt(f"{OLD} {NEW} refs/heads/a\0report-status".encode()) + FLUSH)
    report = rejection_report(request, {"refs/heads/a": "no\nnewlines"})
    assert report == pkt(b"unpack ok\n") + pkt(b"ng refs/heads/a no newlines\n") + FLUSH
