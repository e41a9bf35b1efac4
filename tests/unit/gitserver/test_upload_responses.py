"""Which upload-pack requests the response cache keeps, and what their key covers."""

from __future__ import annotations

import pytest

from gitserver.transport.pktline import FLUSH, pkt
from gitserver.transport.responses import MAX_CACHED_REQUEST, cache_key, clone_request

OID = "a" * 40
OTHER = "b" * 40
DELIM = b"0001"
V2 = "version=2"

V0_CLONE = pkt(f"want {OID} multi_ack_detailed side-band-64k ofs-delta\n".encode()) + FLUSH
V0_CLONE += pkt(b"done\n")
V2_FETCH = pkt(b"command=fetch\n") + pkt(b"agent=git/2.39\n") + DELIM
V2_FETCH += pkt(f"want {OID}\n".encode()) + pkt(b"ofs-delta\n") + pkt(b"done\n") + FLUSH


@pytest.mark.parametrize(
    ("body", "protocol", "cacheable"),
    [
        pytest.param(V0_CLONE, "", True, id="v0-clone"),
        pytest.param(V2_FETCH, V2, True, id="v2-fetch"),
        pytest.param(
            pkt(f"want {OID}\n".encode()) + pkt(b"deepen 1\n") + FLUSH + pkt(b"done\n"),
            "",
            True,
            id="v0-shallow",
        ),
        pytest.param(
            pkt(f"want {OID}\n".encode()) + FLUSH + pkt(f"have {OTHER}\n".encode()) + FLUSH,
            "",
            False,
            id="v0-haves",
        ),
        pytest.param(
            V2_FETCH[: -len(FLUSH)] + pkt(f"have {OTHER}\n".encode()) + FLUSH,
            V2,
            False,
            id="v2-haves",
        ),
        pytest.param(
            pkt(b"command=ls-refs\n") + DELIM + pkt(b"symrefs\n") + FLUSH, V2, False, id="ls-refs"
        ),
        pytest.param(V2_FETCH, "", False, id="v2-body-without-the-header"),
        pytest.param(V0_CLONE, V2, False, id="v0-body-with-the-v2-header"),
        pytest.param(FLUSH, "", False, id="no-want"),
        pytest.param(b"", "", False, id="empty"),
        pytest.param(V0_CLONE[:-3], "", False, id="cut-short"),
        pytest.param(b"zzzz" + V0_CLONE, "", False, id="bad-header"),
        pytest.param(b"0003" + V0_CLONE, "", False, id="length-3"),
    ],
)
def test_only_whole_requests_without_haves_are_cacheable(
    body: bytes, protocol: str, cacheable: bool
) -> None:
    assert clone_request(body, protocol) is cacheable


def test_the_key_covers_repository_refs_protocol_encoding_and_body() -> None:
    base = ("repo-id", 7, "", "", V0_CLONE)
    key = cache_key(*base)
    assert key is not None and key == cache_key(*base)
    others = [
        ("other-id", 7, "", "", V0_CLONE),
        ("repo-id", 8, "", "", V0_CLONE),
        ("repo-id", 7, "version=1", "", V0_CLONE),
        ("repo-id", 7, "", "gzip", V0_CLONE),
        ("repo-id", 7, "", "", pkt(f"want {OID} no-progress\n".encode()) + FLUSH),
    ]
    for other in others:
        assert cache_key(*other) not in (None, key), other


def test_large_and_negotiating_requests_have_no_key() -> None:
    padding = pkt(b"x" * 60000) * (MAX_CACHED_REQUEST // 60000 + 1)
    assert cache_key("repo-id", 1, "", "", V0_CLONE + padding) is None
    haves = pkt(f"want {OID}\n".encode()) + FLUSH + pkt(f"have {OTHER}\n".encode()) + FLUSH
    assert cache_key("repo-id", 1, "", "", haves) is None
