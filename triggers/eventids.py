"""CodeStar Notifications' event type ids: which events each one hears.

A repository's ids (`codecommit-repository-…`) name event types. A pipeline's ids
(`codepipeline-pipeline-…`) name one state of an execution, a stage or an action, and the
`manual-approval-…` ones only the states of Approval actions: a notification rule on a
pipeline hears an event when its type, its EventBridge `state` and, for approvals, its
action's category match one of the rule's ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from triggers.events import Event, EventType

# A comment's notification comes for a new comment and for an edit, as AWS sends both.
REPOSITORY_EVENT_IDS: dict[str, tuple[EventType, ...]] = {
    "codecommit-repository-comments-on-commits": (
        EventType.COMMENT_ON_COMMIT_CREATED,
        EventType.COMMENT_ON_COMMIT_UPDATED,
    ),
    "codecommit-repository-comments-on-pull-requests": (
        EventType.COMMENT_ON_PULL_REQUEST_CREATED,
        EventType.COMMENT_ON_PULL_REQUEST_UPDATED,
    ),
    "codecommit-repository-approvals-status-changed": (
        EventType.PULL_REQUEST_APPROVAL_STATE_CHANGED,
    ),
    "codecommit-repository-approvals-rule-override": (
        EventType.PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN,
    ),
    "codecommit-repository-pull-request-created": (EventType.PULL_REQUEST_CREATED,),
    "codecommit-repository-pull-request-source-updated": (
        EventType.PULL_REQUEST_SOURCE_BRANCH_UPDATED,
    ),
    "codecommit-repository-pull-request-status-changed": (EventType.PULL_REQUEST_STATUS_CHANGED,),
    "codecommit-repository-pull-request-merged": (EventType.PULL_REQUEST_MERGE_STATUS_UPDATED,),
    "codecommit-repository-branches-and-tags-created": (EventType.REFERENCE_CREATED,),
    "codecommit-repository-branches-and-tags-deleted": (EventType.REFERENCE_DELETED,),
    "codecommit-repository-branches-and-tags-updated": (EventType.REFERENCE_UPDATED,),
}


@dataclass(frozen=True, slots=True)
class Hears:
    """An event of `type` in one of `states`; `approval`: only an Approval action's."""

    type: EventType
    states: frozenset[str]
    approval: bool = False

    def matches(self, event: Event) -> bool:
        if event.type != self.type or event.detail.get("state") not in self.states:
            return False
        if not self.approval:
            return True
        kind = event.detail.get("type") or {}
        return isinstance(kind, dict) and kind.get("category") == "Approval"


def _ids(prefix: str, kind: EventType, states: dict[str, tuple[str, ...]]) -> dict[str, Hears]:
    return {f"{prefix}-{word}": Hears(kind, frozenset(s)) for word, s in states.items()}


_ACTION = EventType.PIPELINE_ACTION_STATE_CHANGED
# A stopped execution is told as `canceled` (CodeStar has no `stopped` id); an action
# abandoned by a stop, likewise.
PIPELINE_EVENT_IDS: dict[str, Hears] = {
    **_ids(
        "codepipeline-pipeline-action-execution",
        _ACTION,
        {
            "succeeded": ("SUCCEEDED",),
            "failed": ("FAILED",),
            "canceled": ("CANCELED", "ABANDONED"),
            "started": ("STARTED",),
        },
    ),
    **_ids(
        "codepipeline-pipeline-stage-execution",
        EventType.PIPELINE_STAGE_STATE_CHANGED,
        {
            "started": ("STARTED",),
            "succeeded": ("SUCCEEDED",),
            "resumed": ("RESUMED",),
            "canceled": ("CANCELED", "STOPPED"),
            "failed": ("FAILED",),
        },
    ),
    **_ids(
        "codepipeline-pipeline-pipeline-execution",
        EventType.PIPELINE_EXECUTION_STATE_CHANGED,
        {
            "failed": ("FAILED",),
            "canceled": ("CANCELED", "STOPPED"),
            "started": ("STARTED",),
            "resumed": ("RESUMED",),
            "succeeded": ("SUCCEEDED",),
            "superseded": ("SUPERSEDED",),
        },
    ),
    "codepipeline-pipeline-manual-approval-failed": Hears(
        _ACTION, frozenset({"FAILED"}), approval=True
    ),
    "codepipeline-pipeline-manual-approval-needed": Hears(
        _ACTION, frozenset({"STARTED"}), approval=True
    ),
    "codepipeline-pipeline-manual-approval-succeeded": Hears(
        _ACTION, frozenset({"SUCCEEDED"}), approval=True
    ),
}


def event_types(type_ids: Iterable[str]) -> list[str]:
    """The event types any of `type_ids` hears (a subscription's coarse filter)."""
    types: set[str] = set()
    for type_id in type_ids:
        if type_id in REPOSITORY_EVENT_IDS:
            types.update(str(t) for t in REPOSITORY_EVENT_IDS[type_id])
        elif type_id in PIPELINE_EVENT_IDS:
            types.add(str(PIPELINE_EVENT_IDS[type_id].type))
    return sorted(types)


def hears(type_ids: Iterable[str], event: Event) -> bool:
    """Whether a rule with `type_ids` hears `event` (repository ids by type alone)."""
    for type_id in type_ids:
        if type_id in REPOSITORY_EVENT_IDS:
            if event.type in REPOSITORY_EVENT_IDS[type_id]:
                return True
        elif type_id in PIPELINE_EVENT_IDS and PIPELINE_EVENT_IDS[type_id].matches(event):
            return True
    return False
