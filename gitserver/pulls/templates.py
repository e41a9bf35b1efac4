"""Approval rule templates: the 13 template operations, and the rules a template gives a
new pull request (`template_rules`, the `TemplateRules` hook of `PullRequests`).

A template applies to a pull request opened in a repository it is associated with, when
its `DestinationReferences` name the pull request's destination (none named: every
branch). It is applied once, when the pull request is created: changing or
disassociating a template later leaves existing pull requests' rules as they are, as
CodeCommit does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from gitserver.db import (
    ApprovalRuleTemplate,
    Database,
    Repository,
    TemplateAssociation,
    utcnow,
)
from gitserver.pulls import errors, rules
from gitserver.pulls.service import TemplateRule
from gitserver.store.errors import StoreError
from gitserver.store.repositories import get_repository

MAX_TEMPLATES = 1000  # per server (AWS: per region)
MAX_PER_REPOSITORY = 25
MAX_NAME = 100
MAX_DESCRIPTION = 1000


@dataclass(frozen=True, slots=True)
class TemplateView:
    id: str
    name: str
    description: str
    content: str
    content_sha256: str
    last_modified_user: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: ApprovalRuleTemplate) -> TemplateView:
        return cls(
            row.id,
            row.name,
            row.description,
            row.content,
            row.content_sha256,
            row.last_modified_user,
            row.created_at,
            row.updated_at,
        )


@dataclass(frozen=True, slots=True)
class BatchError:
    repository_name: str
    error_code: str
    error_message: str


@dataclass(frozen=True, slots=True)
class BatchResult:
    done: tuple[str, ...]
    errors: tuple[BatchError, ...]


class Templates:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- the template itself ------------------------------------------------------------

    async def create(
        self, actor: Principal, name: str, content: str, description: str = ""
    ) -> TemplateView:
        _check_name(name)
        _check_description(description)
        rules.parse_template_content(content)
        async with self.db.session() as session:
            if await _by_name(session, name) is not None:
                raise errors.TemplateNameExists(f"An approval rule template named {name} exists")
            count = await session.scalar(select(func.count()).select_from(ApprovalRuleTemplate))
            if (count or 0) >= MAX_TEMPLATES:
                raise errors.NumberOfTemplatesExceeded(
                    f"There can be at most {MAX_TEMPLATES} approval rule templates"
                )
            row = ApprovalRuleTemplate(
                id=str(uuid.uuid4()),
                name=name,
                description=description,
                content=content,
                content_sha256=rules.content_sha256(content),
                last_modified_user=actor.arn,
            )
            session.add(row)
            await session.flush()
            return TemplateView.of(row)

    async def get(self, name: str) -> TemplateView:
        _check_name(name)
        async with self.db.reader() as session:
            return TemplateView.of(await _existing(session, name))

    async def names(self) -> list[str]:
        """Every template's name, in name order (ListApprovalRuleTemplates)."""
        async with self.db.reader() as session:
            rows = await session.execute(
                select(ApprovalRuleTemplate.name).order_by(ApprovalRuleTemplate.name)
            )
            return [name for (name,) in rows]

    async def delete(self, name: str) -> str:
        """Delete an unassociated template; its id, or "" when there was none (as AWS)."""
        _check_name(name)
        async with self.db.session() as session:
            row = await _by_name(session, name)
            if row is None:
                return ""
            used = await session.scalar(
                select(func.count())
                .select_from(TemplateAssociation)
                .where(TemplateAssociation.template_id == row.id)
            )
            if used:
                raise errors.TemplateInUse(
                    f"The template {name} is associated with {used} repositories: "
                    "disassociate it from them first"
                )
            await session.delete(row)
            return row.id

    async def rename(self, actor: Principal, old: str, new: str) -> TemplateView:
        _check_name(old)
        _check_name(new)
        async with self.db.session() as session:
            row = await _existing(session, old)
            if new != old and await _by_name(session, new) is not None:
                raise errors.TemplateNameExists(f"An approval rule template named {new} exists")
            row.name = new
            return await _touched(session, row, actor)

    async def describe(self, actor: Principal, name: str, description: str) -> TemplateView:
        _check_name(name)
        _check_description(description)
        async with self.db.session() as session:
            row = await _existing(session, name)
            row.description = description
            return await _touched(session, row, actor)

    async def update_content(
        self, actor: Principal, name: str, content: str, existing_sha256: str | None = None
    ) -> TemplateView:
        _check_name(name)
        rules.parse_template_content(content)
        async with self.db.session() as session:
            row = await _existing(session, name)
            if existing_sha256 is not None and existing_sha256 != row.content_sha256:
                raise errors.InvalidRuleContentSha256(
                    "The template changed since you read it (existingRuleContentSha256 differs)"
                )
            row.content = content
            row.content_sha256 = rules.content_sha256(content)
            return await _touched(session, row, actor)

    # -- associations -------------------------------------------------------------------

    async def associate(self, name: str, repository_name: str) -> None:
        """Associate (again: nothing changes).

        Raises:
            TemplateNotFound, RepositoryNotFound, MaximumTemplatesAssociated.
        """
        _check_name(name)
        async with self.db.session() as session:
            template = await _existing(session, name)
            repo = await get_repository(session, repository_name)
            await _associate(session, template, repo)

    async def disassociate(self, name: str, repository_name: str) -> None:
        _check_name(name)
        async with self.db.session() as session:
            template = await _existing(session, name)
            repo = await get_repository(session, repository_name)
            row = await session.get(TemplateAssociation, (template.id, repo.id))
            if row is not None:
                await session.delete(row)

    async def batch_associate(self, name: str, repository_names: Sequence[str]) -> BatchResult:
        return await self._batch(name, repository_names, associate=True)

    async def batch_disassociate(self, name: str, repository_names: Sequence[str]) -> BatchResult:
        return await self._batch(name, repository_names, associate=False)

    async def _batch(
        self, name: str, repository_names: Sequence[str], *, associate: bool
    ) -> BatchResult:
        """Each repository on its own: one that fails is reported in `errors`, the others
        are done (as AWS's batch operations)."""
        _check_name(name)
        done: list[str] = []
        failed: list[BatchError] = []
        async with self.db.session() as session:
            template = await _existing(session, name)
            for repository_name in dict.fromkeys(repository_names):
                try:
                    async with session.begin_nested():
                        repo = await get_repository(session, repository_name)
                        if associate:
                            await _associate(session, template, repo)
                        else:
                            row = await session.get(TemplateAssociation, (template.id, repo.id))
                            if row is not None:
                                await session.delete(row)
                except StoreError as exc:
                    code = exc.aws_type or type(exc).__name__
                    failed.append(BatchError(repository_name, code, str(exc)))
                else:
                    done.append(repository_name)
        return BatchResult(tuple(done), tuple(failed))

    async def for_repository(self, repository_name: str) -> list[str]:
        """Names of the templates associated with a repository, in name order."""
        async with self.db.reader() as session:
            repo = await get_repository(session, repository_name)
            rows = await session.execute(
                select(ApprovalRuleTemplate.name)
                .join(
                    TemplateAssociation, TemplateAssociation.template_id == ApprovalRuleTemplate.id
                )
                .where(TemplateAssociation.repository_id == repo.id)
                .order_by(ApprovalRuleTemplate.name)
            )
            return [n for (n,) in rows]

    async def rules_for(self, repository_name: str, destination_ref: str) -> list[TemplateRule]:
        """The rules a pull request into `destination_ref` would get now (the creation
        form's preview: the same `template_rules` that `PullRequests.create` applies)."""
        async with self.db.reader() as session:
            repo = await get_repository(session, repository_name)
            return list(await template_rules(session, repo.id, destination_ref))

    async def repositories(self, name: str) -> list[str]:
        """Names of the repositories a template is associated with, in name order."""
        _check_name(name)
        async with self.db.reader() as session:
            template = await _existing(session, name)
            rows = await session.execute(
                select(Repository.name)
                .join(TemplateAssociation, TemplateAssociation.repository_id == Repository.id)
                .where(TemplateAssociation.template_id == template.id)
                .order_by(Repository.name)
            )
            return [n for (n,) in rows]


async def template_rules(
    session: AsyncSession, repository_id: str, destination_ref: str
) -> Sequence[TemplateRule]:
    """The rules a new pull request into `destination_ref` gets from the repository's
    templates (the `TemplateRules` hook; runs in the pull request's transaction)."""
    rows = await session.execute(
        select(ApprovalRuleTemplate)
        .join(TemplateAssociation, TemplateAssociation.template_id == ApprovalRuleTemplate.id)
        .where(TemplateAssociation.repository_id == repository_id)
        .order_by(ApprovalRuleTemplate.name)
    )
    found: list[TemplateRule] = []
    for template in rows.scalars():
        content = rules.parse_template_content(template.content)
        if rules.destination_matches(content, destination_ref):
            found.append(
                TemplateRule(
                    name=template.name,
                    content=template.content,
                    content_sha256=template.content_sha256,
                    template_id=template.id,
                    template_name=template.name,
                )
            )
    return found[:MAX_PER_REPOSITORY]


# -- helpers -----------------------------------------------------------------------------


def _check_name(name: str) -> None:
    if not name or len(name) > MAX_NAME or not name.strip():
        raise errors.InvalidTemplateName(
            f"An approval rule template name must be 1-{MAX_NAME} characters, not all blank"
        )


def _check_description(description: str) -> None:
    if len(description) > MAX_DESCRIPTION:
        raise errors.InvalidTemplateDescription(
            f"A template description must be at most {MAX_DESCRIPTION} characters"
        )


async def _by_name(session: AsyncSession, name: str) -> ApprovalRuleTemplate | None:
    return (
        await session.execute(select(ApprovalRuleTemplate).where(ApprovalRuleTemplate.name == name))
    ).scalar_one_or_none()


async def _existing(session: AsyncSession, name: str) -> ApprovalRuleTemplate:
    row = await _by_name(session, name)
    if row is None:
        raise errors.TemplateNotFound(f"No approval rule template named {name}")
    return row


async def _touched(
    session: AsyncSession, row: ApprovalRuleTemplate, actor: Principal
) -> TemplateView:
    row.last_modified_user = actor.arn
    row.updated_at = utcnow()
    await session.flush()
    return TemplateView.of(row)


async def _associate(
    session: AsyncSession, template: ApprovalRuleTemplate, repo: Repository
) -> None:
    if await session.get(TemplateAssociation, (template.id, repo.id)) is not None:
        return
    count = await session.scalar(
        select(func.count())
        .select_from(TemplateAssociation)
        .where(TemplateAssociation.repository_id == repo.id)
    )
    if (count or 0) >= MAX_PER_REPOSITORY:
        raise errors.MaximumTemplatesAssociated(
            f"A repository can have at most {MAX_PER_REPOSITORY} approval rule templates"
        )
    session.add(TemplateAssociation(template_id=template.id, repository_id=repo.id))
    await session.flush()
