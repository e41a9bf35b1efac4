from __future__ import annotations

import pytest

from gitserver.transport.pktline import FLUSH, ng_line, pkt, sideband
from gitserver.transport.reportstatus import ReportSplicer, filter_commands

OLD, NEW, ZERO = "a" * 40, "b" * 40, "0" * 40
CAPS = b"report-status side-band-64k push-options agent=git/2.39"
NG = ng_line("refs/heads/main", "not authorized")


def _cmd(ref: str, caps: bytes | None = None, old: str = OLD) -> bytes:
    line = f"{old} {NEW} {ref}".encode()
    return pkt(line + (b"\0" + caps if caps is not None else b"") + b"\n")


def _splice(splicer: ReportSplicer, data: bytes, step: int) -> bytes:
    out = b"".join(splicer.feed(data[i : i + step]) for i in range(0, len(data), step))
    return out + splicer.finish()


def _unband(data: bytes) -> tuple[bytes, bytes, bool]:
    """Band-1 payload, band-2 payload, and whether the output ends with a flush."""
    one, two, pos = b"", b"", 0
    while pos < len(data):
        length = int(data[pos : pos + 4], 16)
        if length == 0:
            pos += 4
            continue
        band, payload = data[pos + 4], data[pos + 5 : pos + length]
        if band == 1:
            one += payload
        else:
            two += payload
        pos += length
    return one, two, data.endswith(FLUSH)


def test_denied_commands_are_dropped_and_caps_move_to_the_first_kept_one() -> None:
    raw = (
        pkt(b"shallow " + b"c" * 40)
        + _cmd("refs/heads/main", CAPS)
        + _cmd("refs/heads/feature")
        + _cmd("refs/tags/v1", old=ZERO)
        + FLUSH
    )
    assert filter_commands(raw, {"refs/heads/main"}) == (
        pkt(b"shallow " + b"c" * 40)
        + _cmd("refs/heads/feature", CAPS)
        + _cmd("refs/tags/v1", old=ZERO)
        + FLUSH
    )


def test_commands_after_the_first_kept_one_carry_no_caps() -> None:
    raw = _cmd("refs/heads/main", CAPS) + _cmd("refs/heads/a") + _cmd("refs/heads/b") + FLUSH
    assert filter_commands(raw, {"refs/heads/a"}) == (
        _cmd("refs/heads/main", CAPS) + _cmd("refs/heads/b") + FLUSH
    )
    assert filter_commands(raw, set()) == raw


def test_lines_without_newline_stay_without() -> None:
    raw = pkt(f"{OLD} {NEW} refs/heads/x\0{CAPS.decode()}".encode())
    raw += pkt(f"{OLD} {NEW} refs/heads/y".encode()) + FLUSH
    assert filter_commands(raw, {"refs/heads/x"}) == (
        pkt(f"{OLD} {NEW} refs/heads/y\0{CAPS.decode()}".encode()) + FLUSH
    )


@pytest.mark.parametrize("step", [1, 3, 7, 1000])
def test_plain_report_gets_the_ng_lines_before_its_flush(step: int) -> None:
    git = pkt(b"unpack ok\n") + pkt(b"ok refs/heads/feature\n") + FLUSH
    out = _splice(ReportSplicer(sideband=False, extra=NG), git, step)
    assert out == pkt(b"unpack ok\n") + pkt(b"ok refs/heads/feature\n") + NG + FLUSH


@pytest.mark.parametrize("step", [1, 5, 64, 100000])
def test_sideband_report_is_spliced_and_progress_passes_through(step: int) -> None:
    report = pkt(b"unpack ok\n") + pkt(b"ok refs/heads/feature\n")
    report += pkt(b"option refname refs/heads/feature\n") + FLUSH  # report-status-v2
    git = (
        sideband(2, b"remote: progress 50%\r")
        + b"0005\x01"  # keep-alive
        + sideband(3, b"hook says no\n")
        + sideband(1, report[:7])  # the report split across band-1 packets
        + sideband(2, b"between\n")
        + sideband(1, report[7:])
        + FLUSH
    )
    out = _splice(ReportSplicer(sideband=True, extra=NG), git, step)
    one, two, flushed = _unband(out)
    assert one == report[:-4] + NG + FLUSH
    assert two == b"remote: progress 50%\rhook says no\nbetween\n"
    assert flushed
    assert b"0005\x01" in out


def test_sideband_report_in_one_packet() -> None:
    report = pkt(b"unpack ok\n") + pkt(b"ok refs/heads/feature\n") + FLUSH
    splicer = ReportSplicer(sideband=True, extra=NG)
    out = splicer.feed(sideband(1, report) + FLUSH) + splicer.finish()
    assert out == sideband(1, report[:-4] + NG + FLUSH) + FLUSH


def test_after_the_report_and_on_garbage_bytes_pass_through() -> None:
    splicer = ReportSplicer(sideband=False, extra=NG)
    assert splicer.feed(FLUSH + b"tail") == NG + FLUSH + b"tail"
    assert splicer.feed(b"more") == b"more"
    garbage = ReportSplicer(sideband=False, extra=NG)
    assert garbage.feed(b"zzzz0000") == b"zzzz0000"
    assert garbage.finish() == b""


def test_no_report_from_git_leaves_its_output_alone() -> None:
    splicer = ReportSplicer(sideband=True, extra=NG)
    partial = sideband(2, b"fatal\n") + sideband(1, pkt(b"unpack ok\n"))[:-3]
    assert _splice(splicer, partial, 4) == partial
