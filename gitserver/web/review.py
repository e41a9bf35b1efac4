"""What a pull request's page shows, assembled from the services' views: the timeline,
comment threads placed on the diff's rows, the approval rules and the merge box.

Nothing here decides anything the services decide: a blocker named in the merge box is
a service's answer (merge options, conflicts, the rules' evaluation) put in words, and
the merge itself is decided again, by the service, when it is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from gitserver.content.merges import MergeOption
from gitserver.pulls import history, rules
from gitserver.pulls.approvals import Evaluation
from gitserver.pulls.comment_model import BEFORE, CommentThread
from gitserver.pulls.model import CLOSED, ApprovalRuleView, PullRequestEventView, PullRequestView
from gitserver.web.diffs import Changes
from gitserver.web.diffview import Anchor, Side

# CodeCommit's strategy names, as a person reads them.
STRATEGY_NAMES = {
    MergeOption.FAST_FORWARD: "Fast-forward",
    MergeOption.SQUASH: "Squash",
    MergeOption.THREE_WAY: "Three-way merge",
}


@dataclass(frozen=True, slots=True)
class TimelineItem:
    time: datetime
    actor_arn: str
    text: str  # what happened, for an event; "" for a comment thread
    thread: CommentThread | None = None


def timeline(
    events: Sequence[PullRequestEventView], threads: Sequence[CommentThread]
) -> list[TimelineItem]:
    """The events and the general (not located) comment threads, oldest first."""
    items = [TimelineItem(e.time, e.actor_arn, describe(e)) for e in events]
    for thread in threads:
        if thread.place.location is None and thread.comments:
            first = thread.comments[0]
            items.append(TimelineItem(first.created_at, first.author_arn, "", thread))
    return sorted(items, key=lambda item: _naive(item.time))


def _naive(moment: datetime) -> datetime:
    # SQLite gives naive UTC datetimes, PostgreSQL aware ones: compare them as UTC.
    return moment.replace(tzinfo=None)


def describe(event: PullRequestEventView) -> str:
    data = event.metadata
    kind = (event.type, event.metadata_key)
    if kind == history.CREATED:
        return "opened this pull request"
    if kind == history.SOURCE_UPDATED:
        before, after = str(data.get("beforeCommitId", "")), str(data.get("afterCommitId", ""))
        return f"pushed: the source moved from {before[:8]} to {after[:8]}"
    if kind == history.APPROVAL_STATE_CHANGED:
        approved = data.get("approvalStatus") == "APPROVE"
        return "approved this revision" if approved else "revoked their approval"
    if kind == history.RULE_OVERRIDDEN:
        overridden = data.get("overrideStatus") == "OVERRIDE"
        return "overrode the approval rules" if overridden else "revoked the override"
    if kind == history.STATUS_CHANGED:
        closed = data.get("pullRequestStatus") == "CLOSED"
        return "closed this pull request" if closed else "reopened this pull request"
    if kind == history.MERGE_STATE_CHANGED:
        option = (data.get("mergeMetadata") or {}).get("mergeOption")
        how = STRATEGY_NAMES.get(MergeOption(option)) if option else None
        return f"merged this pull request ({how})" if how else "merged this pull request"
    verbs = {history.RULE_CREATED: "added", history.RULE_UPDATED: "changed"}
    verb = verbs.get(kind, "deleted")
    return f"{verb} the approval rule “{data.get('approvalRuleName', '')}”"


def last_reviewed(
    events: Sequence[PullRequestEventView],
    threads: Sequence[CommentThread],
    viewer_arn: str,
    source: str,
) -> str | None:
    """The source commit as it was when the viewer last approved or commented, if the
    source has moved since: the page links to the changes since then. Read from the
    history: the source commit of the last creation or source update before that."""
    approval = history.APPROVAL_STATE_CHANGED[0]
    moments = [e.time for e in events if e.actor_arn == viewer_arn and e.type == approval]
    moments += [c.created_at for t in threads for c in t.comments if c.author_arn == viewer_arn]
    if not moments:
        return None
    last = max(_naive(moment) for moment in moments)
    seen = ""
    for event in events:
        if _naive(event.time) > last:
            break
        if event.type == history.CREATED[0]:
            seen = str(event.metadata.get("sourceCommitId", ""))
        elif event.type == history.SOURCE_UPDATED[0]:
            seen = str(event.metadata.get("afterCommitId", ""))
    return seen if seen and seen != source else None


@dataclass(frozen=True, slots=True)
class Placed:
    """The located comment threads: on a row of the diff, on a file (a comment on the
    file, or on a line the diff does not show), or outdated (their line changed since)."""

    rows: dict[tuple[str, Anchor], list[CommentThread]] = field(default_factory=dict)
    files: dict[str, list[CommentThread]] = field(default_factory=dict)
    outdated: list[CommentThread] = field(default_factory=list)
    # The line whose comment form the page renders open (`?comment=`: the "+" of a line
    # followed without JavaScript; with it, site.js adds the form in place).
    form: tuple[str, Anchor] | None = None

    def at(self, path: str, anchor: Anchor) -> list[CommentThread]:
        return self.rows.get((path, anchor), [])

    def has_form(self, path: str, anchor: Anchor) -> bool:
        return self.form == (path, anchor)

    def wants_row(self, path: str, *anchors: Anchor | None) -> bool:
        """Whether a diff row needs an inline row after it: a thread or the open form."""
        return any(
            a is not None and ((path, a) in self.rows or self.form == (path, a)) for a in anchors
        )

    def on_file(self, path: str) -> list[CommentThread]:
        return self.files.get(path, [])


def comment_form_at(value: str) -> tuple[str, Anchor] | None:
    """`?comment=SIDE:LINE:PATH` (a line's "+" link) as the form's place, if well formed."""
    side, _, rest = value.partition(":")
    line, _, path = rest.partition(":")
    if side not in ("BEFORE", "AFTER") or not line.isdigit() or not path:
        return None
    return path, Anchor("BEFORE" if side == "BEFORE" else "AFTER", int(line))


def place(
    threads: Sequence[CommentThread],
    changes: Changes | None,
    base: str,
    source: str,
    form: tuple[str, Anchor] | None = None,
) -> Placed:
    """Each located thread at the row that shows its line in the diff `base` -> `source`.

    A thread belongs to this diff when it is on the source commit (AFTER comments are
    carried there by the service while their line is unchanged) and, on the BEFORE side,
    on the same base; any other is outdated, listed with the commit it was made on."""
    placed = Placed(form=form)
    rows = _rows_by_line(changes)
    for thread in threads:
        location = thread.place.location
        if location is None:
            continue
        current = thread.place.after_commit == source and not thread.comments[0].outdated
        if location.relative_file_version == BEFORE:
            current = current and thread.place.before_commit == base
        if not current:
            placed.outdated.append(thread)
            continue
        side: Side = "BEFORE" if location.relative_file_version == BEFORE else "AFTER"
        line = location.file_position
        row = rows.get(location.file_path, {}).get(Anchor(side, line)) if line else None
        if row is None:
            placed.files.setdefault(location.file_path, []).append(thread)
        else:
            placed.rows.setdefault((location.file_path, row), []).append(thread)
    return placed


def _rows_by_line(changes: Changes | None) -> dict[str, dict[Anchor, Anchor]]:
    """Per shown file: each (side, line) -> the anchor of the unified row that shows it
    (an unchanged line's BEFORE number leads to its row, keyed by its AFTER number)."""
    found: dict[str, dict[Anchor, Anchor]] = {}
    for changed in changes.files if changes else ():
        if changed.diff is None:
            continue
        hunks = changed.diff.hunks
        found[changed.path] = {
            anchor: hunks[h].rows[r].anchor
            for anchor, (h, r) in changed.diff.rows_by_anchor().items()
        }
    return found


@dataclass(frozen=True, slots=True)
class RuleState:
    name: str
    satisfied: bool
    needed: int
    pool: tuple[str, ...]  # empty: any approver counts
    template: str


def rule_states(
    found: Sequence[ApprovalRuleView], evaluation: Evaluation | None
) -> list[RuleState]:
    """Each rule with the service's evaluation of it (the parse is only to say what it
    asks for: how many approvals, from whom)."""
    states = []
    for rule in found:
        content = rules.parse_rule_content(rule.content)
        ok = evaluation is not None and rule.name in evaluation.satisfied
        states.append(_state(rule.name, content, ok, rule.template_name))
    return states


def template_rule_state(name: str, content: str) -> RuleState:
    """A template's rule as the creation form previews it (not evaluated yet)."""
    return _state(name, rules.parse_template_content(content), False, name)


def _state(name: str, content: rules.RuleContent, ok: bool, template: str) -> RuleState:
    needed = sum(s.needed for s in content.statements)
    pool = tuple(member for s in content.statements for member in s.pool)
    return RuleState(name, ok, needed, pool, template)


@dataclass(frozen=True, slots=True)
class MergeBox:
    """What the merge box offers (`strategies`: possible now and allowed to the viewer)
    and everything that stands in the way, each in words."""

    strategies: tuple[MergeOption, ...]
    blockers: tuple[str, ...]
    conflicts: tuple[str, ...]
    source_commit: str
    # Only required statuses stand in the way: what "merge when green" can wait for
    # (unsatisfied rules or conflicts would still refuse it when they turn green).
    waits_for_statuses: bool = False


def merge_box(
    pr: PullRequestView,
    possible: Sequence[MergeOption],
    allowed: Sequence[MergeOption],
    conflicts: Sequence[str],
    evaluation: Evaluation | None,
    unmet: Sequence[str] = (),
) -> MergeBox:
    if pr.status == CLOSED:
        return MergeBox((), ("The pull request is closed.",), (), pr.target.source_commit)
    blockers: list[str] = []
    if evaluation is not None and not (evaluation.approved or evaluation.overridden):
        for name in evaluation.not_satisfied:
            blockers.append(f"The approval rule “{name}” is not satisfied.")
    for context_and_state in unmet:
        blockers.append(f"The required status {context_and_state} is not success.")
    if conflicts:
        blockers.append(
            f"{len(conflicts)} file{'s' if len(conflicts) != 1 else ''} conflict "
            "between the source and the destination."
        )
    if not possible and not conflicts:
        blockers.append("No merge strategy can merge these commits.")
    usable = tuple(option for option in possible if option in allowed)
    if possible and not usable:
        destination = pr.target.destination_reference.removeprefix("refs/heads/")
        blockers.append(f"Your policies do not allow you to merge into {destination}.")
    waits = bool(unmet) and len(blockers) == len(unmet)
    return MergeBox(usable, tuple(blockers), tuple(conflicts), pr.target.source_commit, waits)
