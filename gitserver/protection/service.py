"""Push protection: the rules beyond IAM that every ref move obeys, and their settings.

One check, three callers: a push's pre-receive (`check`, objects still in quarantine,
called by `transport/hooks.py` for both the plan-file path and the hook client), and
every ref the server moves itself (`check_ref_update`, called by
`store/updates.prepare_ref_update` for API writes, branch operations and merges).

What is checked, per repository:
- protected-branch rules (`rules.BranchRule`): no force push, no deletion, only by a
  pull-request merge the server makes, required status checks `success` on the new tip
  (for a pull-request merge `pulls/merging.py` already checks them on the source commit);
- secret scanning of the added lines (`inspect.find_secrets`), on unless the repository
  or the server's `secret_scanning` option turns it off; a pusher allowed
  `gitserver:BypassPushProtection` may push secrets anyway with the push option
  `secret_push_protection.skip_all` (GitLab's name), and the bypass is audited;
- a maximum blob size (`max_file_size`, off unless set).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitserver.content.errors import FileContentTooLarge
from gitserver.db import Database
from gitserver.gitcmd import Git
from gitserver.pipelines.statuses import unmet_in
from gitserver.protection import errors, inspect, store
from gitserver.protection.inspect import Finding
from gitserver.protection.rules import BranchRule, PushRules, ref_problems, valid_pattern
from gitserver.store.naming import ZERO_OID
from gitserver.store.refs import RefKind, classify
from gitserver.store.repositories import get_repository

log = logging.getLogger(__name__)

__all__ = ["BYPASS_OPTION", "PushProtection", "PushRulesView", "Verdict"]

BYPASS_OPTION = "secret_push_protection.skip_all"
MAX_SHOWN = 20
Update = tuple[str, str, str]  # old, new, ref (git's order)


@dataclass(frozen=True, slots=True)
class PushRulesView:
    """A repository's push rules as configured (None: the server's default) and in effect."""

    secret_scanning: bool | None
    secret_scanning_effective: bool
    max_file_size: int | None

    def as_json(self) -> dict[str, object]:
        return {
            "secretScanning": self.secret_scanning,
            "secretScanningEffective": self.secret_scanning_effective,
            "maxFileSize": self.max_file_size,
        }


@dataclass(slots=True)
class Verdict:
    """What a set of updates breaks: rule problems, and secrets found (bypassable)."""

    problems: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    bypassed: bool = False

    @property
    def refused(self) -> bool:
        return bool(self.problems) or (bool(self.findings) and not self.bypassed)

    def summary(self) -> list[str]:
        """The findings without their secrets: what an audit record keeps."""
        return [f"{f.kind} in {f.path}:{f.line} ({f.commit[:12]})" for f in self.findings]

    def lines(self) -> list[str]:
        """The refusal as lines for the pushing user (never a secret in full)."""
        out = ["push refused by push protection:", *self.problems]
        for finding in self.findings[:MAX_SHOWN]:
            out.append(
                f"secret found: {finding.kind} in {finding.path} line {finding.line} "
                f"(commit {finding.commit[:12]}): {finding.masked}"
            )
        if len(self.findings) > MAX_SHOWN:
            out.append(f"... and {len(self.findings) - MAX_SHOWN} more secrets")
        if self.findings:
            out.append("remove the secrets from these commits (rewrite them) and push again;")
            out.append(
                "to push them anyway, if your policies allow gitserver:BypassPushProtection: "
                f"git push -o {BYPASS_OPTION}"
            )
        return out


class PushProtection:
    """Reads and changes push protection settings; checks ref updates against them."""

    def __init__(self, db: Database, git: Git, *, secret_scanning: bool = True) -> None:
        self.db = db
        self.git = git
        self.secret_scanning_default = secret_scanning

    async def rules(self, repository_id: str) -> PushRules:
        """Everything a push to the repository is checked against (one read)."""
        branches, scanning, max_size = await self.db.read(
            lambda c: store.read_rules(c, repository_id)
        )
        return PushRules(
            tuple(branches),
            self.secret_scanning_default if scanning is None else scanning,
            max_size,
        )

    async def check(
        self,
        rules: PushRules,
        repository_id: str,
        path: Path,
        updates: Sequence[Update],
        env: Mapping[str, str],
        kinds: dict[Update, RefKind],
        *,
        by_merge: bool = False,
    ) -> Verdict:
        """What `updates` break (`env`: the quarantine's object directories, if any).

        `kinds` is filled with the kinds it had to compute (a force push needs one).
        """
        verdict = Verdict()
        tips = [new for _, new, _ in updates if new != ZERO_OID]
        # The scan is the long part: the other checks run while git produces the diff.
        scanning = None
        if rules.secret_scanning and not by_merge:
            scanning = asyncio.ensure_future(inspect.find_secrets(self.git, path, tips, env))
        try:
            for update in updates:
                verdict.problems += await self._ref_problems(
                    rules, repository_id, path, update, env, kinds, by_merge
                )
            if rules.max_file_size is not None:
                for large in await inspect.find_large_files(
                    self.git, path, tips, env, rules.max_file_size
                ):
                    verdict.problems.append(
                        f"{large.path}: {large.size} bytes is over this repository's limit "
                        f"of {rules.max_file_size} bytes"
                    )
            if scanning is not None:
                verdict.findings = (await scanning).findings
        finally:
            if scanning is not None:
                scanning.cancel()
        return verdict

    async def _ref_problems(
        self,
        rules: PushRules,
        repository_id: str,
        path: Path,
        update: Update,
        env: Mapping[str, str],
        kinds: dict[Update, RefKind],
        by_merge: bool,
    ) -> list[str]:
        old, new, ref = update
        matching = rules.matching(ref)
        if not matching:
            return []
        kind = kinds.get(update)
        if kind is None and any(r.no_force_push for r in matching) and ZERO_OID not in (old, new):
            kind = kinds[update] = await classify(self.git, path, old, new, env)
        problems = ref_problems(matching, ref, old, new, kind, by_merge=by_merge)
        if new != ZERO_OID and not by_merge and any(r.require_status_checks for r in matching):
            async with self.db.reader() as session:
                unmet = await unmet_in(session, repository_id, new)
            if unmet:
                problems.append(
                    f"required status checks are not successful on {new[:12]}: "
                    + ", ".join(str(u) for u in unmet)
                )
        return [f"{ref}: {problem}" for problem in problems]

    async def check_push(
        self,
        repository_id: str,
        path: Path,
        updates: Sequence[Update],
        env: Mapping[str, str],
        kinds: dict[Update, RefKind],
        options: Sequence[str],
        may_bypass: Callable[[list[str]], bool],
        rules: PushRules | None = None,
    ) -> Verdict:
        """A push's check in pre-receive: `check`, then the bypass of secrets, decided
        (and audited) by `may_bypass` only when the pusher asked for it."""
        rules = rules or await self.rules(repository_id)
        verdict = await self.check(rules, repository_id, path, updates, env, kinds)
        if verdict.findings and BYPASS_OPTION in options and may_bypass(verdict.summary()):
            verdict.bypassed = True
            log.warning(
                "push protection bypassed",
                extra={"repository_id": repository_id, "findings": verdict.summary()},
            )
        return verdict

    async def check_ref_update(
        self,
        repository_id: str,
        path: Path,
        ref: str,
        old: str,
        new: str,
        kind: RefKind,
        *,
        by_merge: bool,
    ) -> None:
        """The server's own ref moves (API writes, branch operations, merges).

        Raises:
            BranchProtected: a protected-branch rule forbids it.
            SecretsDetected: the new commits add a secret (no bypass through the API).
            FileContentTooLarge: a new file is over the repository's limit.
        """
        rules = await self.rules(repository_id)
        if not rules.needs_checks([ref]):
            return
        update = (old, new, ref)
        verdict = await self.check(
            rules, repository_id, path, [update], {}, {update: kind}, by_merge=by_merge
        )
        branch_problems = [p for p in verdict.problems if p.startswith(f"{ref}: ")]
        if branch_problems:
            raise errors.BranchProtected("; ".join(branch_problems))
        if verdict.problems:
            raise FileContentTooLarge("; ".join(verdict.problems))
        if verdict.findings:
            shown = "; ".join(
                f"{f.kind} in {f.path} line {f.line}" for f in verdict.findings[:MAX_SHOWN]
            )
            raise errors.SecretsDetected(
                f"The commit adds secrets and was refused by push protection: {shown}"
            )

    # Settings (front ends authorize `gitserver:UpdatePushProtection` first).

    async def protections(self, repository: str) -> list[BranchRule]:
        """Raises RepositoryNotFound."""
        async with self.db.reader() as session:
            repo = await get_repository(session, repository)
            return await store.branch_rules_in(session, repo.id)

    async def protect(self, repository: str, rule: BranchRule) -> list[BranchRule]:
        """Add (or replace) the rule for `rule.pattern`; returns the repository's rules.

        Raises:
            InvalidBranchPattern, RepositoryNotFound.
        """
        problem = valid_pattern(rule.pattern)
        if problem:
            raise errors.InvalidBranchPattern(f"The branch pattern is not valid: {problem}")
        if not rule.flags():
            raise errors.InvalidBranchPattern("A protected-branch rule needs at least one flag")
        async with self.db.session() as session:
            repo = await get_repository(session, repository)
            existing = await store.branch_rules_in(session, repo.id)
            known = {r.pattern for r in existing}
            if rule.pattern not in known and len(known) >= store.MAX_RULES:
                raise errors.InvalidBranchPattern(
                    f"A repository has at most {store.MAX_RULES} protected-branch rules"
                )
            await store.put_branch_rule(session, repo.id, rule)
            return await store.branch_rules_in(session, repo.id)

    async def unprotect(self, repository: str, pattern: str) -> list[BranchRule]:
        """Remove the rule for `pattern` (none: no change); returns the rest.

        Raises:
            RepositoryNotFound.
        """
        async with self.db.session() as session:
            repo = await get_repository(session, repository)
            await store.delete_branch_rule(session, repo.id, pattern)
            return await store.branch_rules_in(session, repo.id)

    async def push_rules(self, repository: str) -> PushRulesView:
        """Raises RepositoryNotFound."""
        async with self.db.reader() as session:
            repo = await get_repository(session, repository)
            row = await store.push_rules_in(session, repo.id)
        return self._view(row.secret_scanning if row else None, row.max_file_size if row else None)

    async def set_push_rules(
        self,
        repository: str,
        *,
        secret_scanning: bool | object | None = ...,
        max_file_size: int | object | None = ...,
    ) -> PushRulesView:
        """Change what is given (`...`: unchanged; None: the server's default / no limit).

        Raises:
            InvalidPushRules, RepositoryNotFound.
        """
        if isinstance(max_file_size, int) and (max_file_size < 1 or max_file_size >= 2**62):
            raise errors.InvalidPushRules("The maximum file size is a positive number of bytes")
        async with self.db.session() as session:
            repo = await get_repository(session, repository)
            row = await store.push_rules_in(session, repo.id)
            scanning = row.secret_scanning if row else None
            size = row.max_file_size if row else None
            if secret_scanning is not ...:
                scanning = secret_scanning if isinstance(secret_scanning, bool) else None
            if max_file_size is not ...:
                size = max_file_size if isinstance(max_file_size, int) else None
            await store.put_push_rules(session, repo.id, scanning, size)
        return self._view(scanning, size)

    def _view(self, scanning: bool | None, size: int | None) -> PushRulesView:
        effective = self.secret_scanning_default if scanning is None else scanning
        return PushRulesView(scanning, effective, size)
