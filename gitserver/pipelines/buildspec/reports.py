"""Test reports: JUnit XML files counted into passed, failed and skipped test cases.

Other formats are accepted by the parser and reported with no counts. The XML comes from
the build: files are read up to a size limit, and expat (2.4.1 or newer, as Python 3.11
ships) refuses entity-expansion bombs.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from gitserver.pipelines.buildspec.paths import base_of, collect, readable
from gitserver.pipelines.buildspec.result import ReportResult
from gitserver.pipelines.buildspec.spec import ReportGroup

MAX_REPORT_BYTES = 32 * 1024 * 1024


def count_junit(data: bytes) -> tuple[int, int, int]:
    """(passed, failed, skipped) test cases of one JUnit XML document; errors count failed.

    Raises:
        ElementTree.ParseError: not XML.
    """
    root = ElementTree.fromstring(data)  # noqa: S314 - bounded size; expat refuses bombs
    passed = failed = skipped = 0
    for case in root.iter("testcase"):
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            failed += 1
        elif "skipped" in tags:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def read_group(group: ReportGroup, workspace: Path) -> ReportResult:
    """The counts of one report group's files; `message` tells what could not be read."""
    base = base_of(workspace, group.base_directory)
    if base is None:
        return ReportResult(group.name, 0, 0, 0, 0, 0, "base directory does not exist")
    matches = [m for m in collect(workspace, base, group.files) if readable(workspace, m)]
    if group.file_format != "JUNITXML":
        return ReportResult(
            group.name, 0, 0, 0, 0, len(matches), f"{group.file_format} is not counted"
        )
    passed = failed = skipped = 0
    problems = []
    for match in matches:
        path = match.path.resolve()
        if path.stat().st_size > MAX_REPORT_BYTES:
            problems.append(f"{match.relative}: larger than {MAX_REPORT_BYTES} bytes")
            continue
        try:
            p, f, s = count_junit(path.read_bytes())
        except ElementTree.ParseError as error:
            problems.append(f"{match.relative}: not JUnit XML ({error})")
            continue
        passed, failed, skipped = passed + p, failed + f, skipped + s
    total = passed + failed + skipped
    message = "; ".join(problems) if problems else ("" if matches else "no report files found")
    return ReportResult(group.name, total, passed, failed, skipped, len(matches), message)
