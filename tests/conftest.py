"""Fixtures: one real server per database backend, the real CLI and the real git."""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest

from tests.receivers import Inbox, smtp_inbox
from tests.support import (
    Git,
    Remote,
    Server,
    SshIdentity,
    create_pg_database,
    drop_pg_database,
    postgres_admin_url,
)

BACKENDS = ["sqlite", "postgres"]
_PG_URL = postgres_admin_url()
# Every server test runs on SQLite; the PostgreSQL copy runs only where the database
# changes the outcome (tests marked `database`), unless this asks for all of them.
_ALL_BACKENDS = os.environ.get("GITSERVER_TEST_ALL_BACKENDS") == "1"


def pytest_report_header(config: pytest.Config) -> str:
    scope = "every server test" if _ALL_BACKENDS else "tests marked `database`"
    if _PG_URL is None:
        return f"PostgreSQL: not reachable; {scope} with [postgres] are skipped"
    return f"PostgreSQL: {_PG_URL.rpartition('@')[2]}, for {scope}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    # The browser tests' Playwright (sync API, one per worker) runs its event loop in a
    # greenlet and leaves this thread marked as running that loop between its calls, so a
    # later test in the same worker could not asyncio.run(). Other tests run unmarked; the
    # mark comes back for the browser tests, whose Playwright calls need it.
    if item.get_closest_marker("browser") is not None:
        yield
        return
    playwright_loop = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)
    try:
        yield
    finally:
        if playwright_loop is not None and not playwright_loop.is_closed():
            asyncio.events._set_running_loop(playwright_loop)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    both = _ALL_BACKENDS or metafunc.definition.get_closest_marker("database") is not None
    metafunc.parametrize(
        "backend", BACKENDS if both else BACKENDS[:1], indirect=True, scope="session"
    )


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and _PG_URL is None:
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432 (set GITSERVER_TEST_DATABASE_URL)")
    return str(request.param)


@pytest.fixture(scope="session")
def database_factory(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[Path], str]]:
    """Makes a fresh, empty database URL of the session's backend."""
    created: list[str] = []

    def make(data: Path) -> str:
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{data / 'gitserver.db'}"
        assert _PG_URL is not None
        url = create_pg_database(_PG_URL)
        created.append(url)
        return url

    yield make
    for url in created:
        drop_pg_database(_PG_URL or "", url)


@pytest.fixture(scope="session")
def server(
    tmp_path_factory: pytest.TempPathFactory, database_factory: Callable[[Path], str]
) -> Iterator[Server]:
    """A server shared by the tests of one backend; each test makes its own repositories."""
    data = tmp_path_factory.mktemp("server") / "data"
    data.mkdir()
    instance = Server(
        data=data,
        database_url=database_factory(data),
        extra_args=[
            "--maintenance-delay",
            "0.2",
            # Webhook tests run receivers on loopback, and retry within seconds.
            "--webhook-allowed-hosts",
            "127.0.0.1",
            "--webhook-retry-schedule",
            "0.3,0.6",
        ],
    )
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture
def make_server(
    tmp_path: Path, database_factory: Callable[[Path], str]
) -> Iterator[Callable[..., Server]]:
    """A private server for tests that restart or kill it."""
    servers: list[Server] = []

    def make(*extra: str, env: dict[str, str] | None = None) -> Server:
        data = tmp_path / f"data{len(servers)}"
        data.mkdir()
        instance = Server(
            data=data, database_url=database_factory(data), extra_args=list(extra), env=env or {}
        )
        instance.start()
        servers.append(instance)
        return instance

    yield make
    for instance in servers:
        instance.stop()


_names = itertools.count()


@pytest.fixture
def repo(server: Server) -> Callable[..., str]:
    """Creates a repository with a unique name on the shared server."""

    def make(prefix: str = "repo") -> str:
        name = f"{prefix}-{next(_names)}-{uuid.uuid4().hex[:6]}"
        server.cli("repo", "create", name)
        return name

    return make


@pytest.fixture
def git(tmp_path: Path) -> Git:
    return Git(tmp_path / "home")


@pytest.fixture(scope="session")
def ssh_identity(server: Server, tmp_path_factory: pytest.TempPathFactory) -> SshIdentity:
    """An ed25519 key registered for `admin` on the shared server, and its known_hosts."""
    directory = tmp_path_factory.mktemp("ssh")
    identity = SshIdentity.generate(directory, server.known_hosts(directory / "known_hosts"))
    identity.register(server)
    return identity


@pytest.fixture(params=["http", "ssh"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def remote(transport: str, server: Server, git: Git, request: pytest.FixtureRequest) -> Remote:
    """Clone URLs for the test's transport; `git` is set up to use it (SSH: its key)."""
    env: dict[str, str] = {}
    if transport == "ssh":
        env = request.getfixturevalue("ssh_identity").git_env()
        git.env.update(env)
    return Remote(server, transport, env)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on loopback (aiosmtpd): its inbox and port."""
    with smtp_inbox() as found:
        yield found
