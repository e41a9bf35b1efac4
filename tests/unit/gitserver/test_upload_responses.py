"""Which upload-pack requests the response cache keeps, and what their key covers."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitserver.transport.pktline import FLUSH, pkt
from gitserver.transport.responses import (
    MAX_CACHED_REQUEST,
    Kind,
    RepoFiles,
    advertisement_key,
    cache_key,
    clone_request,
    ls_refs_request,
    repo_files,
)

OID = "a" * 40
OTHER = "b" * 40
DELIM = b"0001"
V2 = "version=2"

V0_CLONE = pkt(f"want {OID} multi_ack_detailed side-band-64k ofs-delta\n".encode()) + FLUSH
V0_CLONE += pkt(b"done\n")
V2_FETCH = pkt(b"command=fetch\n") + pkt(b"agent=git/2.39\n") + DELIM
V2_FETCH += pkt(f"want {OID}\n".encode()) + pkt(b"ofs-delta\n") + pkt(b"done\n") + FLUSH
LS_REFS = pkt(b"command=ls-refs\n") + pkt(b"agent=git/2.39\n") + DELIM
LS_REFS += pkt(b"peel\n") + pkt(b"symrefs\n") + pkt(b"unborn\n") + pkt(b"ref-prefix HEAD\n") + FLUSH
FILES = RepoFiles(b"ref: refs/heads/main\n", b"[core]\n\tbare = true\n")


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


@pytest.mark.parametrize(
    ("body", "protocol", "listing"),
    [
        pytest.param(LS_REFS, V2, True, id="ls-refs"),
        pytest.param(LS_REFS[:-3], V2, False, id="cut-short"),
        pytest.param(LS_REFS, "", False, id="without-the-v2-header"),
        pytest.param(V2_FETCH, V2, False, id="fetch"),
    ],
)
def test_only_whole_v2_ls_refs_requests_are_listings(
    body: bytes, protocol: str, listing: bool
) -> None:
    assert ls_refs_request(body, protocol) is listing


def test_the_key_covers_repository_refs_head_config_protocol_encoding_and_body() -> None:
    base = ("repo-id", 7, "", "", V0_CLONE, FILES)
    key = cache_key(*base)
    assert key is not None and key == cache_key(*base) and key.kind is Kind.FETCH
    others = [
        ("other-id", 7, "", "", V0_CLONE, FILES),
        ("repo-id", 8, "", "", V0_CLONE, FILES),
        ("repo-id", 7, "version=1", "", V0_CLONE, FILES),
        ("repo-id", 7, "", "gzip", V0_CLONE, FILES),
        ("repo-id", 7, "", "", pkt(f"want {OID} no-progress\n".encode()) + FLUSH, FILES),
        ("repo-id", 7, "", "", V0_CLONE, RepoFiles(b"ref: refs/heads/dev\n", FILES.config)),
        ("repo-id", 7, "", "", V0_CLONE, RepoFiles(FILES.head, FILES.config + b"\n")),
    ]
    for other in others:
        assert cache_key(*other) not in (None, key), other


def test_an_ls_refs_key_moves_with_the_refs_and_head() -> None:
    key = cache_key("repo-id", 7, V2, "", LS_REFS, FILES)
    assert key is not None and key.kind is Kind.LS_REFS
    moved_head = RepoFiles(b"ref: refs/heads/dev\n", FILES.config)
    assert cache_key("repo-id", 8, V2, "", LS_REFS, FILES) != key
    assert cache_key("repo-id", 7, V2, "", LS_REFS, moved_head) != key
    assert cache_key("repo-id", 7, V2, "", LS_REFS, None) is None


def test_the_v2_advertisement_outlives_pushes_and_head_but_not_config() -> None:
    key = advertisement_key("repo-id", 7, V2, FILES)
    assert key is not None and key.kind is Kind.ADVERTISEMENT
    assert (
        advertisement_key("repo-id", 8, V2, RepoFiles(b"ref: refs/heads/dev\n", FILES.config))
        == key
    )
    for other in [
        advertisement_key("other-id", 7, V2, FILES),
        advertisement_key("repo-id", 7, "version=2:x=y", FILES),
        advertisement_key("repo-id", 7, V2, RepoFiles(FILES.head, b"[extensions]\n")),
    ]:
        assert other not in (None, key)
    assert advertisement_key("repo-id", 7, V2, None) is None


def test_an_advertisement_before_v2_lists_refs_so_its_key_moves_with_them() -> None:
    key = advertisement_key("repo-id", 7, "", FILES)
    assert key is not None and key != advertisement_key("repo-id", 7, V2, FILES)
    assert advertisement_key("repo-id", 8, "", FILES) != key
    assert (
        advertisement_key("repo-id", 7, "", RepoFiles(b"ref: refs/heads/dev\n", FILES.config))
        != key
    )
    assert advertisement_key("repo-id", 7, "version=1", FILES) != key


def test_repository_files_are_read_and_includes_refused(tmp_path: Path) -> None:
    (tmp_path / "HEAD").write_bytes(FILES.head)
    (tmp_path / "config").write_bytes(FILES.config)
    assert repo_files(tmp_path) == FILES
    (tmp_path / "config").write_bytes(FILES.config + b"[include]\n\tpath = other\n")
    assert repo_files(tmp_path) is None
    (tmp_path / "config").write_bytes(FILES.config + b'[includeIf "onbranch:x"]\n\tpath = o\n')
    assert repo_files(tmp_path) is None
    assert repo_files(tmp_path / "gone") is None


def test_large_and_negotiating_requests_have_no_key() -> None:
    padding = pkt(b"x" * 60000) * (MAX_CACHED_REQUEST // 60000 + 1)
    assert cache_key("repo-id", 1, "", "", V0_CLONE + padding, FILES) is None
    haves = pkt(f"want {OID}\n".encode()) + FLUSH + pkt(f"have {OTHER}\n".encode()) + FLUSH
    assert cache_key("repo-id", 1, "", "", haves, FILES) is None
