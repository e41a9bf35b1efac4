"""The service container shared by the server and the CLI, built once from settings."""

from __future__ import annotations

import os
from dataclasses import dataclass

from auth import identities
from auth.ids import generate_password
from auth.secretbox import SecretBox
from gitserver.config import Settings
from gitserver.content.service import Contents
from gitserver.content.writer import Limits
from gitserver.db import Database
from gitserver.gitcmd import Git
from gitserver.pipelines.engine import EngineSettings
from gitserver.pipelines.paths import Layout
from gitserver.pipelines.service import Pipelines
from gitserver.pipelines.statuses import CommitStatuses, RequiredChecks
from gitserver.protection import PushProtection
from gitserver.pulls.approvals import Approvals
from gitserver.pulls.automerge import AutoMerges
from gitserver.pulls.carry import carry_comments
from gitserver.pulls.comments import Comments
from gitserver.pulls.follow import Follower
from gitserver.pulls.merging import PullRequestMerges
from gitserver.pulls.reactions import Reactions
from gitserver.pulls.service import PullRequests
from gitserver.pulls.templates import Templates, template_rules
from gitserver.store.repositories import Endpoints, RepositoryStore

ADMIN_PASSWORD_FILE = "initial-admin-password"
# Forced on every git the server starts: durable objects and refs before a push is
# acknowledged (the promise is not to lose a commit, whatever crashes).
GIT_CONFIG = {"core.fsync": "committed", "core.fsyncMethod": "fsync"}


@dataclass(slots=True)
class Services:
    """Everything both the server and the CLI need, built once from settings."""

    settings: Settings
    db: Database
    git: Git
    box: SecretBox
    store: RepositoryStore
    endpoints: Endpoints
    follower: Follower
    pulls: PullRequests
    merges: PullRequestMerges
    approvals: Approvals
    templates: Templates
    comments: Comments
    reactions: Reactions
    statuses: CommitStatuses
    required_checks: RequiredChecks
    automerges: AutoMerges
    pipelines: Pipelines
    protection: PushProtection

    @classmethod
    def build(cls, settings: Settings) -> Services:
        data = settings.data.resolve()
        data.mkdir(mode=0o700, parents=True, exist_ok=True)
        endpoints = Endpoints(
            settings.region,
            settings.account_id,
            settings.public_base_url,
            settings.public_ssh_base,
        )
        git = Git(data / "home", forced_config=GIT_CONFIG)
        db = Database(settings.effective_database_url)
        store = RepositoryStore(data, git, endpoints)
        protection = PushProtection(db, git, secret_scanning=settings.secret_scanning)
        store.guard = protection
        follower = Follower(db, git, store, carry=carry_comments)
        pulls = PullRequests(db, git, store, follower, template_rules)
        merges = PullRequestMerges(
            db, git, store, follower, pulls, Limits.scaled(settings.max_file_size)
        )
        box = SecretBox.load_or_create(data)
        contents = Contents(store, settings.max_file_size)
        engine = EngineSettings(
            Layout.of(data),
            settings.pipeline_approval_timeout,
            contents=contents,
            # Page addresses name the ports bound at start: read the endpoints late.
            base_url=lambda: store.endpoints.http_base,
        )
        return cls(
            settings=settings,
            db=db,
            git=git,
            box=box,
            store=store,
            endpoints=endpoints,
            follower=follower,
            pulls=pulls,
            merges=merges,
            approvals=Approvals(db, follower),
            templates=Templates(db),
            comments=Comments(db, git, store, follower),
            reactions=Reactions(db),
            statuses=CommitStatuses(db, contents),
            required_checks=RequiredChecks(db),
            automerges=AutoMerges(db, follower, merges),
            # Clone URLs name the ports bound at start: read the store's endpoints late.
            pipelines=Pipelines(db, box, engine, lambda n: store.endpoints.clone_url_http(n)),
            protection=protection,
        )

    async def close(self) -> None:
        await self.db.close()


async def bootstrap_admin(services: Services) -> str | None:
    """On first start, create `admin` and return its password (also written 0600)."""
    async with services.db.session() as session:
        if await identities.count_users(session):
            return None
        password = generate_password(24)
        await identities.create_user(session, "admin", admin=True, password=password)
    path = services.settings.data / ADMIN_PASSWORD_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password
