"""Comments on pull requests and on compared commits: post, reply, read, edit, delete.

A located comment is stored against the exact commits and the blob of the file version
it is on, so it keeps pointing at what its author saw; `pulls/carry.py` moves AFTER-side
comments to newer revisions of a pull request while their line is unchanged. Every
change records its outbox event in its own transaction (`commentOnPullRequest*` through
`history.record`, which also counts it as the pull request's last activity;
`commentOnCommit*` for compared commits). CodeCommit lists no comment event in
DescribePullRequestEvents, so none is written there.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from gitserver.db import Comment, Database, PullRequest, Repository, utcnow
from gitserver.gitcmd import Git
from gitserver.pulls import comment_store, errors, locate
from gitserver.pulls.comment_events import record_comment_event
from gitserver.pulls.comment_input import Spec, check_content, check_location
from gitserver.pulls.comment_model import BEFORE, CommentThread, CommentView, Location
from gitserver.pulls.follow import Follower
from gitserver.pulls.service import parse_id
from gitserver.store.refs import lock_repository
from gitserver.store.repositories import RepositoryStore, get_repository

MAX_TOKEN = 256


class Comments:
    def __init__(
        self, db: Database, git: Git, store: RepositoryStore, follower: Follower | None = None
    ) -> None:
        self.db = db
        self.git = git
        self.store = store
        self.follower = follower

    # -- posting ----------------------------------------------------------------------

    async def post_for_pull_request(
        self,
        actor: Principal,
        *,
        pull_request_id: str,
        repository_name: str,
        before_commit_id: str,
        after_commit_id: str,
        content: str,
        location: Location | None = None,
        client_request_token: str | None = None,
    ) -> CommentView:
        """PostCommentForPullRequest.

        Raises:
            PullRequestError: the model's exception for each rule broken.
            PathNotFound, CommitNotFound, InvalidCommitId, PathRequired, InvalidPath.
        """
        check_content(content)
        location = check_location(location)
        number = parse_id(pull_request_id)
        async with self.db.reader() as session:
            pr = await session.get(PullRequest, number)
            if pr is None:
                raise errors.PullRequestNotFound(f"Pull request {number} does not exist")
            repo = await session.get(Repository, pr.repository_id)
            assert repo is not None
        if repository_name != repo.name:
            raise errors.RepositoryNotAssociated(
                f"Pull request {number} is not in repository {repository_name}"
            )
        blobs = await self._locate(repo.id, before_commit_id, after_commit_id, location)
        spec = Spec(
            repo.id,
            number,
            before_commit_id,
            after_commit_id,
            location,
            None,
            actor.arn,
            content,
        )
        return await self._post(actor, spec, blobs, client_request_token)

    async def post_for_compared_commit(
        self,
        actor: Principal,
        *,
        repository_name: str,
        after_commit_id: str,
        content: str,
        before_commit_id: str | None = None,
        location: Location | None = None,
        client_request_token: str | None = None,
    ) -> CommentView:
        """PostCommentForComparedCommit (no `before_commit_id`: a comment on one commit)."""
        check_content(content)
        location = check_location(location)
        async with self.db.reader() as session:
            repo = await get_repository(session, repository_name)
        if location and location.relative_file_version == BEFORE and not before_commit_id:
            raise errors.InvalidFileLocation("A BEFORE location needs a beforeCommitId")
        blobs = await self._locate(repo.id, before_commit_id or "", after_commit_id, location)
        before = before_commit_id or ""
        spec = Spec(repo.id, None, before, after_commit_id, location, None, actor.arn, content)
        return await self._post(actor, spec, blobs, client_request_token)

    async def post_reply(
        self,
        actor: Principal,
        *,
        in_reply_to: str,
        content: str,
        client_request_token: str | None = None,
    ) -> CommentView:
        """PostCommentReply: the reply joins its parent's thread, at its place."""
        check_content(content)
        async with self.db.reader() as session:
            parent = await comment_store.find(session, in_reply_to)
            spec = Spec(
                parent.repository_id,
                parent.pull_request_id,
                parent.before_commit,
                parent.after_commit,
                Spec.of(parent).location,
                parent.id,
                actor.arn,
                content,
            )
            blobs = (parent.before_blob, parent.after_blob)
        return await self._post(actor, spec, blobs, client_request_token)

    async def _locate(
        self, repository_id: str, before: str, after: str, location: Location | None
    ) -> tuple[str, str]:
        """The commits checked, and the blobs of the located file (\"\" when not there)."""
        path = self.store.path(repository_id)
        if before:
            await locate.commit(self.git, path, before)
        await locate.commit(self.git, path, after)
        if before == after:
            raise errors.SameBeforeAndAfter("The before and after commits are the same")
        if location is None:
            return "", ""
        on_before = location.relative_file_version == BEFORE
        side, other = (before, after) if on_before else (after, before)
        found = await locate.located_blob(
            self.git, path, side, location.file_path, location.file_position
        )
        other_blob = await locate.blob(self.git, path, other, location.file_path) if other else None
        if on_before:
            return found, other_blob or ""
        return other_blob or "", found

    async def _post(
        self,
        actor: Principal,
        spec: Spec,
        blobs: tuple[str, str],
        token: str | None,
    ) -> CommentView:
        if token is not None:
            existing = await self._by_token(actor, token, spec)
            if existing is not None:
                return existing
        comment_id = str(uuid.uuid4())
        try:
            async with self.db.session() as session:
                await self._insert(session, actor, spec, blobs, comment_id, token)
        except IntegrityError:
            # Another request with the same token won the race: answer as it did.
            existing = await self._by_token(actor, token, spec) if token else None
            if existing is None:
                raise
            return existing
        return await self.get(actor, comment_id)

    async def _insert(
        self,
        session: AsyncSession,
        actor: Principal,
        spec: Spec,
        blobs: tuple[str, str],
        comment_id: str,
        token: str | None,
    ) -> None:
        # The repository lock first, as every writer takes it: a carry of this thread in
        # progress finishes before a reply copies the thread's current place.
        await lock_repository(session, spec.repository_id)
        location = spec.location
        row = Comment(
            id=comment_id,
            repository_id=spec.repository_id,
            pull_request_id=spec.pull_request_id,
            before_commit=spec.before_commit,
            after_commit=spec.after_commit,
            before_blob=blobs[0],
            after_blob=blobs[1],
            file_path=location.file_path if location else None,
            file_position=location.file_position if location else None,
            relative_version=location.relative_file_version if location else None,
            in_reply_to=spec.in_reply_to,
            author=actor.name,
            author_arn=actor.arn,
            content=spec.content,
            client_request_token=token,
        )
        if spec.in_reply_to is not None:
            # A reply lives where its thread is now (carried or not).
            parent = await comment_store.find(session, spec.in_reply_to)
            row.current_commit, row.current_path = parent.current_commit, parent.current_path
            row.current_blob, row.current_position = parent.current_blob, parent.current_position
            row.outdated = parent.outdated
        session.add(row)
        await session.flush()
        await record_comment_event(session, actor, row, created=True)

    async def _by_token(self, actor: Principal, token: str, spec: Spec) -> CommentView | None:
        if not 1 <= len(token) <= MAX_TOKEN:
            raise errors.InvalidClientRequestToken(
                f"The client request token must be 1-{MAX_TOKEN} characters"
            )
        async with self.db.reader() as session:
            row = (
                await session.execute(select(Comment).where(Comment.client_request_token == token))
            ).scalar_one_or_none()
            if row is None:
                return None
            if Spec.of(row) != spec:
                raise errors.IdempotencyMismatch(
                    "The client request token was already used with different parameters"
                )
            return await comment_store.view(session, row, actor.arn)

    # -- reading ----------------------------------------------------------------------

    async def get(self, actor: Principal, comment_id: str) -> CommentView:
        """GetComment. Raises: CommentNotFound, CommentDeleted, InvalidCommentId."""
        async with self.db.reader() as session:
            row = await comment_store.find(session, comment_id, live=True)
            return await comment_store.view(session, row, actor.arn)

    async def repository_of(self, comment_id: str) -> str | None:
        """The name of the repository a comment is in (for the access check), or None."""
        try:
            check = comment_store.check_id(comment_id)
        except errors.PullRequestError:
            return None
        async with self.db.reader() as session:
            row = await session.get(Comment, check)
            return await comment_store.repository_name(session, row) if row else None

    async def for_pull_request(
        self,
        actor: Principal,
        pull_request_id: str,
        *,
        repository_name: str | None = None,
        before_commit_id: str | None = None,
        after_commit_id: str | None = None,
    ) -> list[CommentThread]:
        """GetCommentsForPullRequest: threads, in the order they were started."""
        number = parse_id(pull_request_id)
        async with self.db.reader() as session:
            pr = await session.get(PullRequest, number)
            if pr is None:
                raise errors.PullRequestNotFound(f"Pull request {number} does not exist")
            stale, repository_id = pr.stale, pr.repository_id
        if stale and self.follower is not None:
            # Bring comments to the current revision before showing where they are.
            await self.follower.follow(repository_id)
        async with self.db.reader() as session:
            repo = await session.get(Repository, repository_id)
            assert repo is not None
            if repository_name is not None and repository_name != repo.name:
                raise errors.RepositoryNotAssociated(
                    f"Pull request {number} is not in repository {repository_name}"
                )
            rows = await session.execute(
                select(Comment)
                .where(Comment.pull_request_id == number)
                .order_by(Comment.created_at, Comment.id)
            )
            found = await comment_store.views(session, list(rows.scalars()), repo.name, actor.arn)
        return _filtered(comment_store.threads(found), before_commit_id, after_commit_id)

    async def for_compared_commit(
        self,
        actor: Principal,
        repository_name: str,
        *,
        after_commit_id: str,
        before_commit_id: str | None = None,
    ) -> list[CommentThread]:
        """GetCommentsForComparedCommit."""
        async with self.db.reader() as session:
            repo = await get_repository(session, repository_name)
        path = self.store.path(repo.id)
        await locate.commit(self.git, path, after_commit_id)
        if before_commit_id:
            await locate.commit(self.git, path, before_commit_id)
        async with self.db.reader() as session:
            rows = await session.execute(
                select(Comment)
                .where(
                    Comment.repository_id == repo.id,
                    Comment.pull_request_id.is_(None),
                    Comment.after_commit == after_commit_id,
                )
                .order_by(Comment.created_at, Comment.id)
            )
            found = await comment_store.views(session, list(rows.scalars()), repo.name, actor.arn)
        return _filtered(comment_store.threads(found), before_commit_id, after_commit_id)

    # -- changing ---------------------------------------------------------------------

    async def update(self, actor: Principal, comment_id: str, content: str) -> CommentView:
        """UpdateComment: only its author may, and not once deleted."""
        check_content(content)
        async with self.db.session() as session:
            row = await self._locked(session, comment_id)
            if row.author_arn != actor.arn:
                raise errors.CommentNotByCaller("Only the author of a comment can edit it")
            previous, row.content, row.updated_at = row.content, content, utcnow()
            await record_comment_event(session, actor, row, created=False, previousContent=previous)
        return await self.get(actor, comment_id)

    async def delete_content(self, actor: Principal, comment_id: str) -> CommentView:
        """DeleteCommentContent: the comment stays (its thread too), its content goes."""
        async with self.db.session() as session:
            row = await self._locked(session, comment_id)
            previous = row.content
            row.content, row.deleted, row.updated_at = "", True, utcnow()
            await record_comment_event(session, actor, row, created=False, previousContent=previous)
            name = await comment_store.repository_name(session, row)
            return (await comment_store.views(session, [row], name, actor.arn))[0]

    async def _locked(self, session: AsyncSession, comment_id: str) -> Comment:
        row = await comment_store.find(session, comment_id)
        # Writers take the repository lock first, as every writer does.
        await lock_repository(session, row.repository_id)
        return await comment_store.find(session, comment_id, live=True)


def _filtered(
    found: Sequence[CommentThread], before: str | None, after: str | None
) -> list[CommentThread]:
    return [
        thread
        for thread in found
        if (not before or thread.place.before_commit == before)
        and (not after or thread.place.after_commit == after)
    ]
