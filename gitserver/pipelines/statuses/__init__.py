"""Commit statuses and the required checks that gate merges (issue 13, section 7).

The engine calls `CommitStatuses.set_status` (or `set_status_in` in its own transaction)
as each execution starts and ends; `pulls/merging.py` asks `unmet_in` before a merge.
"""

from gitserver.pipelines.statuses.model import (
    ERROR,
    EXPECTED,
    FAILURE,
    PENDING,
    STATES,
    SUCCESS,
    CombinedStatus,
    CommitStatusView,
    Unmet,
    combine,
)
from gitserver.pipelines.statuses.required import RequiredChecks, required_in, unmet_in
from gitserver.pipelines.statuses.service import (
    CommitStatuses,
    check_context,
    set_status_in,
    statuses_in,
)

__all__ = [
    "ERROR",
    "EXPECTED",
    "FAILURE",
    "PENDING",
    "STATES",
    "SUCCESS",
    "CombinedStatus",
    "CommitStatusView",
    "CommitStatuses",
    "RequiredChecks",
    "Unmet",
    "check_context",
    "combine",
    "required_in",
    "set_status_in",
    "statuses_in",
    "unmet_in",
]
