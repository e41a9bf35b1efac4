"""The runner's file handling: masking, globs that stay in the workspace, zips, JUnit XML."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from gitserver.pipelines.buildspec import ArtifactSpec, ArtifactTooLarge, cgroups, extract_artifact
from gitserver.pipelines.buildspec.artifacts import pack
from gitserver.pipelines.buildspec.buildlog import BuildLog, Masker
from gitserver.pipelines.buildspec.paths import collect
from gitserver.pipelines.buildspec.reports import count_junit


def test_masker_masks_longest_first_and_each_line_of_a_multiline_secret() -> None:
    masker = Masker(["abc", "abcdef", "first-line\nsecond-line", ""])
    assert masker.mask("x abcdef y abc") == "x *** y ***"
    assert masker.mask("got first-line") == "got ***"
    assert masker.mask("nothing here") == "nothing here"


def test_the_log_caps_output_but_keeps_the_runners_lines(tmp_path: Path) -> None:
    log = BuildLog(tmp_path / "log", Masker(["pw"]), cap=20)
    log.output(b"0123456789 pw")
    log.output(b"this line passes the cap")
    log.output(b"dropped")
    log.container("Phase complete: BUILD State: SUCCEEDED")
    log.close()
    lines = (tmp_path / "log").read_text().splitlines()
    assert lines[0] == "0123456789 ***"
    assert "Output truncated" in lines[1] and "20 bytes" in lines[1]
    assert lines[2].endswith("Phase complete: BUILD State: SUCCEEDED")
    assert len(lines) == 3 and log.truncated


def test_collect_never_enters_linked_directories(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "d" / "f").write_text("f")
    (src / "link").symlink_to(outside)
    found = {m.relative: m.is_symlink for m in collect(src, src, ["**/*"])}
    assert found == {"d/f": False, "link": True}
    assert [m.relative for m in collect(src, src, ["d"])] == ["d/f"]


def test_pack_refuses_links_out_and_keeps_links_when_asked(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (tmp_path / "key").write_text("KEY")
    (src / "key").symlink_to(tmp_path / "key")
    (src / "a").write_text("a")
    (src / "inner").symlink_to("a")
    notes: list[str] = []
    packed = pack(ArtifactSpec(("*",)), src, tmp_path / "out.zip", notes.append)
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert {n: archive.read(n) for n in archive.namelist()} == {"a": b"a", "inner": b"a"}
    assert packed.files == 2 and notes == ["Skipping key: a link that leads outside the source"]
    pack(ArtifactSpec(("*",), enable_symlinks=True), src, tmp_path / "links.zip", notes.append)
    with zipfile.ZipFile(tmp_path / "links.zip") as archive:
        info = archive.getinfo("key")
        assert stat.S_ISLNK(info.external_attr >> 16)


def test_extract_refuses_paths_out_of_the_workspace(tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    with zipfile.ZipFile(artifacts / "evil.zip", "w") as archive:
        archive.writestr("../escaped", "x")
        archive.writestr("/abs", "x")
        link = zipfile.ZipInfo("up")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, str(tmp_path))
        archive.writestr("up/through-link", "x")
        archive.writestr("ok/file", "fine")
    workspace = tmp_path / "ws"
    assert extract_artifact(artifacts, "evil", workspace) == 2
    assert (workspace / "ok" / "file").read_text() == "fine"
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "through-link").exists()
    with pytest.raises(ArtifactTooLarge):
        extract_artifact(artifacts, "evil", tmp_path / "small", max_bytes=1)


def test_junit_counts() -> None:
    xml = (
        b"<testsuite><testcase/><testcase><skipped/></testcase>"
        b"<testcase><failure>boom</failure></testcase><testcase><error/></testcase></testsuite>"
    )
    assert count_junit(xml) == (1, 2, 1)


def test_build_cgroups_are_made_joined_and_removed(tmp_path: Path) -> None:
    (tmp_path / "pids").mkdir()
    groups = cgroups.create(processes=7, memory_bytes=None, root=tmp_path)
    (path,) = groups.paths
    assert path.parent == tmp_path / "pids" and (path / "pids.max").read_text() == "7"
    argv = groups.wrap(["bwrap", "x"])
    assert argv[:2] == ["/bin/sh", "-c"] and argv[-4:] == [str(path), "--", "bwrap", "x"]
    (path / "pids.max").unlink()
    groups.release()
    assert not path.exists()
    assert cgroups.create(processes=7, memory_bytes=9, root=tmp_path / "none").paths == ()
