"""The dispatcher's runs against the real database: what a key's run sends, and when its
deliveries are settled. The receiver is a fake sender; the claims and settles are real."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from auth.secretbox import SecretBox
from gitserver.db import Database, Delivery, DeliveryAttempt, Repository, Subscription, utcnow
from triggers import dispatcher as dispatch
from triggers.dispatcher import Dispatcher, DispatchSettings
from triggers.events import Event, EventType
from triggers.formats import RepositoryInfo
from triggers.formats.context import CommitInfo
from triggers.metrics import DeliveryMetrics
from triggers.outcome import Outcome
from triggers.queue import new_delivery
from triggers.sender import Sender
from triggers.ssrf import Allowed

pytestmark = pytest.mark.database


class FakeSender(Sender):
    """Answers 200 at once, noting the order of the bodies; `gate`, when set, holds
    every send after the `hold_after`-th until it is set."""

    def __init__(self) -> None:
        super().__init__(Allowed.parse(()))
        self.bodies: list[bytes] = []
        self.gate: asyncio.Event | None = None
        self.hold_after = 0
        self.on_send: Callable[[int], None] = lambda n: None

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
        self.bodies.append(body)
        self.on_send(len(self.bodies))
        if self.gate is not None and len(self.bodies) > self.hold_after:
            await self.gate.wait()
        return Outcome(200, "ok", "", 1)


def _run(
    database_factory: Callable[[Path], str],
    tmp_path: Path,
    test: Callable[[Database, SecretBox], Awaitable[None]],
) -> None:
    url = database_factory(tmp_path)

    async def go() -> None:
        db = Database(url)
        try:
            await db.upgrade()
            await test(db, SecretBox.load_or_create(tmp_path))
        finally:
            await db.close()

    asyncio.run(go())


async def _queue(db: Database, count: int) -> list[str]:
    """`count` deliveries to one new hook about one repository, in this order."""
    hook = str(uuid.uuid4())
    ids = []
    async with db.session() as session:
        session.add(
            Subscription(id=hook, kind="webhook", url="http://127.0.0.1:9/", format="native")
        )
        await session.flush()
        for n in range(count):
            event = Event(EventType.REFERENCE_UPDATED, "r", "u", {}, repository_id="repo")
            body: dict[str, object] = {"event": "ping", "body": {"n": n}}
            row = new_delivery(hook, event, None, body)
            session.add(row)
            await session.flush()
            ids.append(row.id)
    return ids


def _no_repository(repo: Repository) -> RepositoryInfo:
    raise AssertionError("pings are rendered without their repository")


async def _no_commits(*args: str | int) -> list[CommitInfo]:
    raise AssertionError("pings are rendered without commits")


def _dispatcher(
    db: Database, box: SecretBox, sender: Sender, *, lease: float = 60.0, settle_every: int = 100
) -> Dispatcher:
    settings = DispatchSettings(
        base_url="http://x",
        region="r",
        account_id="1",
        poll=0.05,
        lease=lease,
        settle_every=settle_every,
    )
    return Dispatcher(
        db,
        box,
        settings,
        repository_info=_no_repository,
        commits=_no_commits,
        sender=sender,
        metrics=DeliveryMetrics(),
    )


async def _states(db: Database, ids: list[str]) -> list[tuple[str, int]]:
    async with db.reader() as session:
        rows = {
            row.id: (row.state, row.attempts)
            for row in await session.execute(
                select(Delivery.id, Delivery.state, Delivery.attempts).where(Delivery.id.in_(ids))
            )
        }
    return [rows[i] for i in ids]


async def _attempts(db: Database) -> int:
    async with db.reader() as session:
        return int(await session.scalar(select(func.count()).select_from(DeliveryAttempt)) or 0)


def test_a_send_that_would_outlast_the_lease_is_not_started(
    database_factory: Callable[[Path], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past its lease another worker may claim the key again and send the same deliveries
    side by side: when the first send leaves too little of the lease for the next, the
    rest of the run goes back, pending and due, with no attempt logged."""

    async def test(db: Database, box: SecretBox) -> None:
        ids = await _queue(db, 3)
        sender = FakeSender()
        skew = timedelta(0)

        def clock() -> datetime:
            return utcnow() + skew

        def slow_first_send(n: int) -> None:
            nonlocal skew
            if n == 1:  # as if the send took all but one second of the 60 s lease
                skew = timedelta(seconds=59)

        sender.on_send = slow_first_send
        monkeypatch.setattr(dispatch, "utcnow", clock)
        dispatcher = _dispatcher(db, box, sender, lease=60.0)
        assert await dispatcher.run_once() == 3
        for _ in range(500):  # the run ends on its own (a drain would give the rest back)
            if not dispatcher._runs:
                break
            await asyncio.sleep(0.02)
        await dispatcher.drain(10)
        assert [json.loads(body)["n"] for body in sender.bodies] == [0]
        assert await _states(db, ids) == [("succeeded", 1), ("pending", 0), ("pending", 0)]
        assert await _attempts(db) == 1
        async with db.reader() as session:
            due = await session.scalars(
                select(Delivery.next_attempt_at).where(Delivery.id.in_(ids[1:]))
            )
            assert all(when <= utcnow() for when in due)

    _run(database_factory, tmp_path, test)


def test_a_long_run_is_settled_as_it_goes(
    database_factory: Callable[[Path], str], tmp_path: Path
) -> None:
    """A run longer than `settle_every` writes its states and attempt log while it is still
    sending: what was delivered shows at once, not when the run ends."""

    async def test(db: Database, box: SecretBox) -> None:
        ids = await _queue(db, 5)
        sender = FakeSender()
        sender.gate = asyncio.Event()
        sender.hold_after = 3  # the 4th send waits
        dispatcher = _dispatcher(db, box, sender, settle_every=2)
        await dispatcher.start()
        try:
            for _ in range(500):
                if await _attempts(db) >= 2:
                    break
                await asyncio.sleep(0.02)
            states = await _states(db, ids)
            assert states[:2] == [("succeeded", 1), ("succeeded", 1)]
            assert states[3:] == [("in_flight", 0), ("in_flight", 0)]
            sender.gate.set()
            for _ in range(500):
                if await _attempts(db) == 5:
                    break
                await asyncio.sleep(0.02)
        finally:
            sender.gate.set()
            await dispatcher.drain(10)
        assert await _states(db, ids) == [("succeeded", 1)] * 5
        assert [json.loads(body)["n"] for body in sender.bodies] == [0, 1, 2, 3, 4]

    _run(database_factory, tmp_path, test)


def test_a_stop_waits_for_the_sends_under_way_and_gives_the_rest_back(
    database_factory: Callable[[Path], str], tmp_path: Path
) -> None:
    """A drain lets the send under way finish and be settled; the rest of the run is not
    sent by this worker but given back, pending and due, for the next one to send."""

    async def test(db: Database, box: SecretBox) -> None:
        ids = await _queue(db, 4)
        sender = FakeSender()
        sender.gate = asyncio.Event()
        sender.hold_after = 1  # the 2nd send waits
        dispatcher = _dispatcher(db, box, sender)
        await dispatcher.start()
        try:
            for _ in range(500):
                if len(sender.bodies) == 2:
                    break
                await asyncio.sleep(0.02)
            stopping = asyncio.create_task(dispatcher.drain(10))
            await asyncio.sleep(0.05)
            sender.gate.set()
            await stopping
        finally:
            sender.gate.set()
            await dispatcher.close()
        assert [json.loads(body)["n"] for body in sender.bodies] == [0, 1]
        assert await _states(db, ids) == [("succeeded", 1)] * 2 + [("pending", 0)] * 2
        assert await _attempts(db) == 2

    _run(database_factory, tmp_path, test)
