"""What an API operation is: a handler, and the resources it must be authorized on.

The dispatcher authorizes every operation before its handler runs, on the targets the
operation names (`codecommit:<Operation>` on each ARN, with `codecommit:References` where
it touches a branch), so no handler is reachable without a check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from auth.actions import Action
from auth.principal import Principal
from gitserver.access import RequestInfo, Target
from gitserver.api.errors import ApiError
from gitserver.content.readers import Readers
from gitserver.content.service import Contents
from gitserver.db import Database, Repository
from gitserver.gitcmd import Git
from gitserver.pipelines.service import Pipelines
from gitserver.pulls.approvals import Approvals
from gitserver.pulls.comments import Comments
from gitserver.pulls.merging import PullRequestMerges
from gitserver.pulls.reactions import Reactions
from gitserver.pulls.service import PullRequests
from gitserver.pulls.templates import Templates
from gitserver.store.branches import Branches
from gitserver.store.repositories import Endpoints, RepositoryStore, get_repository
from triggers.sender import Sender

Params = dict[str, Any]
T = TypeVar("T")
Result = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ApiServices:
    """What operations work with; built once by the server."""

    db: Database
    git: Git
    store: RepositoryStore
    endpoints: Endpoints
    branches: Branches
    max_file_size: int
    page_size: int = 1000
    trigger_targets: Mapping[str, str] = field(default_factory=dict)
    sender: Sender | None = None
    pulls: PullRequests | None = None
    merges: PullRequestMerges | None = None

    # Open repositories shared by content reads (the server's; None: opened per read).
    readers: Readers | None = None

    @property
    def contents(self) -> Contents:
        """Content reads (a cheap value: no state beyond the store, the size limit and
        the shared readers)."""
        return Contents(self.store, self.max_file_size, self.readers)

    approvals: Approvals | None = None
    templates: Templates | None = None
    comments: Comments | None = None
    reactions: Reactions | None = None
    pipelines: Pipelines | None = None


def configured(service: T | None, what: str) -> T:
    """A service the server always builds (a bare ApiServices in a unit test may lack it)."""
    if service is None:
        raise ApiError("InternalFailure", f"{what} are not configured", 500)
    return service


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated, authorized request."""

    principal: Principal
    info: RequestInfo
    services: ApiServices
    # The rows authorization read for their tags, by name (unknown names are absent).
    repositories: Mapping[str, Repository] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return self.principal.name

    async def repository(self, name: str) -> Repository:
        """The named repository's row: the one authorization read, or read now.

        Raises:
            RepositoryNotFound: no repository has that name.
        """
        row = self.repositories.get(name)
        if row is not None:
            return row
        async with self.services.db.reader() as session:
            return await get_repository(session, name)


Handler = Callable[[Call, Params], Awaitable[Result]]
Targets = Callable[[Endpoints, Params], Sequence[Target]]
# Targets that need a lookup first: a pull request's or a comment's repository.
Resolver = Callable[[ApiServices, Params], Awaitable[Sequence[Target]]]


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    handler: Handler
    targets: Targets
    resolve: Resolver | None = None
    # The IAM service prefix of its action: `codecommit:<name>`, `codepipeline:<name>`.
    service: str = "codecommit"

    async def targets_for(self, services: ApiServices, params: Params) -> Sequence[Target]:
        if self.resolve is not None:
            return await self.resolve(services, params)
        return self.targets(services.endpoints, params)

    def targets_given(self, services: ApiServices, params: Params) -> Sequence[Target] | None:
        """The targets when the input names them; None when a lookup must find them first
        (`resolve`), which the dispatcher then awaits."""
        return None if self.resolve is not None else self.targets(services.endpoints, params)

    @property
    def action(self) -> Action:
        return Action(f"{self.service}:{self.name}")


def repository(params: Params, endpoints: Endpoints, member: str = "repositoryName") -> Target:
    name = params.get(member)
    if not name:
        raise ApiError("RepositoryNameRequiredException", f"{member} is required")
    return Target(endpoints.arn(name), name)


def on_repository(endpoints: Endpoints, params: Params) -> Sequence[Target]:
    return [repository(params, endpoints)]


def on_branch(member: str = "branchName") -> Targets:
    """The repository, with `codecommit:References` naming the branch in `member`."""

    def targets(endpoints: Endpoints, params: Params) -> Sequence[Target]:
        target = repository(params, endpoints)
        branch = params.get(member)
        refs = (f"refs/heads/{branch}",) if branch else ()
        return [Target(target.arn, target.repository, refs)]

    return targets


def on_any(endpoints: Endpoints, params: Params) -> Sequence[Target]:
    return [Target("*")]


def on_all_repositories(endpoints: Endpoints, params: Params) -> Sequence[Target]:
    """Every repository (`...:*`): what an operation on an unknown object is checked on,
    so a caller allowed on some repositories learns nothing of others' objects."""
    return [Target(endpoints.arn("*"))]


def on_repositories(endpoints: Endpoints, params: Params) -> Sequence[Target]:
    return [Target(endpoints.arn(name), name) for name in params["repositoryNames"]]


def on_resource_arn(endpoints: Endpoints, params: Params) -> Sequence[Target]:
    """A repository given by ARN (tags): it must be one of this server's."""
    arn = params["resourceArn"]
    prefix = endpoints.arn("")
    name = arn.removeprefix(prefix)
    if not arn.startswith(prefix) or not name or ":" in name or "/" in name:
        raise ApiError(
            "InvalidResourceArnException",
            f"The value for resourceArn is not valid: expected {prefix}<repository-name>",
        )
    return [Target(arn, name)]


def build_table(*groups: Sequence[Operation]) -> dict[str, Operation]:
    table: dict[str, Operation] = {}
    for group in groups:
        for op in group:
            if op.name in table:
                raise ValueError(f"operation {op.name} registered twice")
            op.action  # noqa: B018 - an unknown action fails here, at start
            table[op.name] = op
    return table
