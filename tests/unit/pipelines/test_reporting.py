"""What an execution's commit status says in each state (reporting.describe), and the
execution page it links to."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gitserver.db import ExecutionRow, utcnow
from gitserver.pipelines.reporting import _STATE, describe
from gitserver.pipelines.states import ExecutionStatus
from gitserver.weburls import pipeline_execution_page


def _execution(status: ExecutionStatus, summary: str = "", seconds: float = 0) -> ExecutionRow:
    return ExecutionRow(
        id="e1",
        pipeline="p",
        status=status,
        status_summary=summary,
        started_at=utcnow() - timedelta(seconds=seconds),
    )


@pytest.mark.parametrize(
    ("status", "stage", "seconds", "summary", "state", "text"),
    [
        (ExecutionStatus.IN_PROGRESS, "", 0, "", "pending", "Running"),
        (ExecutionStatus.IN_PROGRESS, "Build", 0, "", "pending", "Retrying stage Build"),
        (ExecutionStatus.SUCCEEDED, "", 65, "", "success", "Succeeded in 1m 5s"),
        (ExecutionStatus.SUCCEEDED, "", 3, "", "success", "Succeeded in 3s"),
        (ExecutionStatus.FAILED, "Build", 0, "x", "failure", "Failed in stage Build"),
        (ExecutionStatus.STOPPED, "", 0, "no more", "failure", "Stopped: no more"),
        (ExecutionStatus.SUPERSEDED, "", 0, "", "error", "Superseded by a newer execution"),
    ],
)
def test_each_state_has_its_status_and_description(
    status: ExecutionStatus, stage: str, seconds: float, summary: str, state: str, text: str
) -> None:
    assert _STATE[status] == state
    assert describe(_execution(status, summary, seconds), stage) == text


def test_descriptions_fit_githubs_limit() -> None:
    text = describe(_execution(ExecutionStatus.FAILED), "S" * 200)
    assert len(text) == 140 and text.endswith("…")
    assert ExecutionStatus.STOPPING not in _STATE  # stopping stays pending


def test_the_link_is_the_execution_page() -> None:
    page = pipeline_execution_page("https://git.example/", "my pipe", "e1")
    assert page == "https://git.example/pipelines/my%20pipe/executions/e1"
