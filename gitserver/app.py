"""Assembly: builds the services from settings and runs the front ends on one loop."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import shutil
import ssl
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from auth.authenticate import Authenticator
from auth.authorizer import Authorizer
from gitserver.access import Access
from gitserver.api import pipeline_ops
from gitserver.api.dispatcher import CodeCommitApi, Front
from gitserver.api.ops import operation_table
from gitserver.api.registry import ApiServices
from gitserver.audit import AuditLog
from gitserver.clientip import parse_networks
from gitserver.config import parse_hostport, replace
from gitserver.content.branchmerges import BranchMerges
from gitserver.content.browse import Browse
from gitserver.content.conflicts import MergeConflicts
from gitserver.content.readers import Readers
from gitserver.content.service import Contents
from gitserver.content.writer import Limits
from gitserver.delivery import (
    build_dispatcher,
    build_pipeline_runner,
    build_pipeline_scheduler,
    payload_context,
    trigger_targets,
)
from gitserver.pipelines.runner import Runner
from gitserver.pipelines.scheduler import Scheduler
from gitserver.pulls.automerge import AutoMergeLoop, merge_authority
from gitserver.pulls.follow import FollowLoop
from gitserver.readiness import Readiness
from gitserver.readiness import check as check_readiness
from gitserver.services import Services
from gitserver.store.branches import Branches
from gitserver.store.maintenance import MaintenanceScheduler
from gitserver.store.quarantine import sweep
from gitserver.store.reconcile import Reconciler, ReconcileReport
from gitserver.transport.engine import GitEngine, PushSession
from gitserver.transport.hooks import HookHandler, HookServer, install_hooks
from gitserver.transport.hostkeys import HostKey, host_keys_dir, load_host_keys
from gitserver.transport.http import GitHttp, GitHttpLimits
from gitserver.transport.httpsite import (
    REFUSAL,
    GuardedSite,
    database_outage,
    guard_middleware,
    request_id_middleware,
    send_request_id,
)
from gitserver.transport.limits import (
    AcceptErrors,
    ConnectionLimiter,
    in_networks,
    raise_nofile_limit,
)
from gitserver.transport.packcache import Budget, PackCache, metrics_text
from gitserver.transport.packobjects import PackHook, PackObjects
from gitserver.transport.responses import UploadResponses
from gitserver.transport.ssh import GitSsh, SshLimits
from gitserver.web import WebDeps, WebUI
from gitserver.web.context import MAX_SHOWN_FILE, Reviews
from triggers.dispatcher import Dispatcher
from triggers.events import on_events_committed
from triggers.metrics import DeliveryMetrics
from triggers.sender import Sender
from triggers.ssrf import Allowed

log = logging.getLogger(__name__)

_BACKLOG = 512
# aiohttp's default keeps an idle keep-alive connection for an hour; nginx's 75 s is
# ample for git, whose requests on one connection follow each other closely.
_KEEPALIVE = 75.0


def _hook_socket(data: Path) -> Path:
    path = data / "run" / f"hooks-{os.getpid()}.sock"
    if len(str(path)) < 100:  # sun_path holds 108 bytes
        return path
    import tempfile

    return Path(tempfile.gettempdir()) / f"gitserver-hooks-{os.getpid()}.sock"


# The refs cache's bytes at most (and at most a 16th of pack_cache_max_bytes): ref
# listings of even 100,000 refs are a few MiB.
_REFS_CACHE_MAX_BYTES = 64 * 1024 * 1024


def _pack_cache_dir(data: Path, kind: str = "pack-cache") -> Path:
    # Per process: servers sharing a data directory each keep (and empty) their own.
    return data / kind / str(os.getpid())


class ListenError(Exception):
    """A listening address cannot be bound; the message is the operator's one line."""


@contextlib.contextmanager
def _binding(host: str, port: int) -> Iterator[None]:
    """Turn the loop's bind failure (an OSError with a long text) into a `ListenError`."""
    try:
        yield
    except OSError as exc:
        # asyncio wraps the errno in a long sentence; the operator needs the errno's words.
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        shown = f"[{host}]" if ":" in host else host
        raise ListenError(f"cannot listen on {shown}:{port}: {reason}") from exc


class Server:
    """`gitserver serve`: HTTP and SSH git, hooks, reconciler and maintenance in one process."""

    def __init__(self, services: Services) -> None:
        self.services = services
        settings = services.settings
        data = settings.data.resolve()
        self.maintenance = MaintenanceScheduler(
            services.git,
            services.db,
            services.store,
            settings.maintenance_delay,
            busy=lambda repository_id: self.engine.pushing(repository_id),
            quarantine_stale_after=settings.git_timeout,
        )
        self.reconciler = Reconciler(
            services.db, services.store, settings.prepared_grace, on_change=self._changed
        )
        self.audit = AuditLog(services.db, settings.audit_retention_days)
        self.authorizer = Authorizer(audit=self.audit)
        self.access = Access(self.authorizer, services.endpoints, services.db)
        hook_socket = _hook_socket(data)
        self.packs: PackObjects | None = None
        # The pack, response and refs caches keep at most pack_cache_max_bytes on disk
        # together. The refs cache's share is set aside: its kilobyte entries, asked by
        # every clone, are not to be evicted by the packs of one big storm.
        refs_bytes = 0
        if settings.response_cache:
            refs_bytes = min(settings.pack_cache_max_bytes // 16, _REFS_CACHE_MAX_BYTES)
        budget = Budget(settings.pack_cache_max_bytes - refs_bytes)
        if settings.pack_cache:
            hook = PackHook(hook_socket)
            cache = PackCache(
                _pack_cache_dir(data),
                max_age=settings.pack_cache_max_age,
                budget=budget,
            )
            self.packs = PackObjects(services.git, hook, cache, settings.git_timeout)
        self.engine = GitEngine(
            services.git,
            hooks_dir=data / "hooks",
            hook_socket=hook_socket,
            plans_dir=data / "run" / f"plans-{os.getpid()}",
            on_prepare=self._prepare_push,
            on_push_end=self._settle_push,
            on_failed_login=self.audit.record_failed_login,
            pack_hook=self.packs.hook if self.packs is not None else None,
        )
        self.responses: UploadResponses | None = None
        if settings.pack_cache and settings.response_cache:
            # Its own cache (and counters) within the pack cache's age and shared bytes:
            # a storm's response and the pack inside it are both on disk, for as long.
            responses = PackCache(
                _pack_cache_dir(data, "response-cache"),
                max_age=settings.pack_cache_max_age,
                budget=budget,
            )
            # Ref listings and advertisements: kilobytes each, but every clone asks two,
            # so they get their own entries, counters and bytes rather than compete with
            # packs.
            refs = PackCache(
                _pack_cache_dir(data, "refs-cache"),
                max_bytes=refs_bytes,
                max_age=settings.pack_cache_max_age,
            )
            self.responses = UploadResponses(
                self.engine, responses, settings.git_timeout, refs=refs
            )
        self.hook_handler = HookHandler(
            self.engine, self.access, services.db, self._changed, services.protection
        )
        self.hooks = HookServer(self.engine, self.hook_handler, self.packs)
        self.authenticator = Authenticator(
            services.db, services.box, settings.account_id, (settings.region,)
        )
        # Open repositories the API's and the web UI's content reads share.
        self.readers = Readers()
        self.delivery_metrics = DeliveryMetrics()
        self.dispatcher: Dispatcher | None = None
        self.pipeline_scheduler: Scheduler | None = None
        self.pipeline_runner: Runner | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._unfollow: Callable[[], None] | None = None
        self._unmerge: Callable[[], None] | None = None
        self._runner: web.AppRunner | None = None
        self._site: GuardedSite | None = None
        # Set by SIGTERM: /readyz answers 503 while what runs is let finish.
        self.draining = False
        self._in_flight: dict[int, str] = {}  # the HTTP requests under way, for shutdown
        self._tasks: list[asyncio.Task[None]] = []
        self.http_port = 0
        self.ssh: GitSsh | None = None
        self.ssh_port = 0
        self.host_keys: list[HostKey] = []
        self.connections = self._connection_limiter(raise_nofile_limit())

    def _connection_limiter(self, nofile: int) -> ConnectionLimiter:
        """HTTP connection caps that fit the descriptors this process may open.

        A connection costs its socket and, while git runs, three pipes; asyncio may
        accept a whole backlog before any is refused. Half of what is left after the
        backlog and a reserve (database, logs, hook socket) is the most we admit.
        """
        settings = self.services.settings
        fits = max(16, (nofile - _BACKLOG - 64) // 2)
        total = min(settings.http_max_connections, fits)
        if total < settings.http_max_connections:
            log.warning(
                "open-file limit %d allows only %d HTTP connections (http_max_connections)",
                nofile,
                total,
            )
        return ConnectionLimiter(
            total,
            settings.http_max_connections_per_ip,
            settings.http_header_timeout,
            exempt=in_networks(parse_networks(settings.trusted_proxies)),
            refusal=REFUSAL,
        )

    async def _prepare_push(self, push: PushSession) -> None:
        await self.hook_handler.prepare(push)

    async def _settle_push(self, push: PushSession) -> None:
        await self.hook_handler.settle(push)

    async def _changed(self, repository_id: str) -> None:
        if self.services.settings.maintenance:
            self.maintenance.schedule(repository_id)

    def app(self) -> web.Application:
        settings = self.services.settings
        git_http = GitHttp(
            self.engine,
            self.access,
            self.authenticator,
            self.services.store,
            GitHttpLimits(
                settings.max_upload_request,
                settings.max_push_commands,
                settings.git_timeout,
                body_idle_timeout=settings.http_body_idle_timeout,
                max_processes=settings.http_max_git_processes,
                max_processes_per_user=settings.http_max_git_processes_per_user,
            ),
            parse_networks(settings.trusted_proxies),
            self.responses,
        )
        trusted = in_networks(parse_networks(settings.trusted_proxies))
        app = web.Application(
            client_max_size=8 * 1024 * 1024,
            middlewares=[
                request_id_middleware(trusted, self._in_flight),
                guard_middleware(self.connections),
                database_outage,
            ],
        )
        app.on_response_prepare.append(send_request_id)
        app.add_routes(git_http.routes())
        app.add_routes(self.api().routes())
        app.add_routes(
            [
                web.get("/healthz", self._health),
                web.get("/readyz", self._ready),
                web.get("/metrics", self._metrics),
            ]
        )
        self.web_ui().install(app)  # last: `GET /` and the rest, beside `POST /` (the API)
        return app

    def web_ui(self) -> WebUI:
        settings = self.services.settings
        return WebUI(
            WebDeps(
                db=self.services.db,
                access=self.access,
                authenticator=self.authenticator,
                # Files shown in a page are read whole: the page's limit, not the API's.
                contents=Contents(self.services.store, MAX_SHOWN_FILE, self.readers),
                browse=Browse(self.services.git, self.services.store),
                on_failed_login=self.audit.record_failed_login,
                reviews=self._reviews(),
                box=self.services.box,
                payload_context=functools.partial(payload_context, self.services),
                webhook_allowed=Allowed.parse(settings.webhook_allowed_hosts),
                branches=Branches(self.services.db, self.services.git, self.services.store),
                pipelines=self.services.pipelines,
                protection=self.services.protection,
                trusted_proxies=parse_networks(settings.trusted_proxies),
                body_timeout=settings.http_body_idle_timeout,
            )
        )

    def _reviews(self) -> Reviews:
        services = self.services
        limits = Limits.scaled(services.settings.max_file_size)
        return Reviews(
            pulls=services.pulls,
            comments=services.comments,
            reactions=services.reactions,
            approvals=services.approvals,
            templates=services.templates,
            merges=services.merges,
            branch_merges=BranchMerges(services.db, services.git, services.store, limits),
            conflicts=MergeConflicts(services.git, services.store, services.settings.max_file_size),
            statuses=services.statuses,
            required_checks=services.required_checks,
            automerges=services.automerges,
        )

    def api(self) -> CodeCommitApi:
        settings = self.services.settings
        services = ApiServices(
            db=self.services.db,
            git=self.services.git,
            store=self.services.store,
            endpoints=self.services.endpoints,
            branches=Branches(self.services.db, self.services.git, self.services.store),
            max_file_size=settings.max_file_size,
            page_size=settings.api_page_size,
            trigger_targets=trigger_targets(settings.trigger_targets),
            sender=Sender(Allowed.parse(settings.webhook_allowed_hosts)),
            pulls=self.services.pulls,
            merges=self.services.merges,
            approvals=self.services.approvals,
            templates=self.services.templates,
            comments=self.services.comments,
            reactions=self.services.reactions,
            pipelines=self.services.pipelines,
            readers=self.readers,
        )
        codepipeline = Front(
            pipeline_ops.TARGET_PREFIX,
            pipeline_ops.SIGNING_NAME,
            pipeline_ops.MODEL_NAME,
            pipeline_ops.pipeline_operation_table(),
        )
        return CodeCommitApi(
            services,
            operation_table(),
            self.authenticator,
            self.access,
            prefix=settings.api_prefix,
            regions=settings.api_regions,
            max_request=settings.max_api_request,
            body_idle_timeout=settings.http_body_idle_timeout,
            trusted_proxies=parse_networks(settings.trusted_proxies),
            on_failed_login=self.audit.record_failed_login,
            fronts=[codepipeline],
        )

    async def _metrics(self, request: web.Request) -> web.Response:
        cache = self.authenticator.principals
        body = (
            generate_latest(self.delivery_metrics.registry)
            + (
                "# HELP gitserver_principal_cache_hits_total Requests whose principal came from "
                "the cache.\n# TYPE gitserver_principal_cache_hits_total counter\n"
                f"gitserver_principal_cache_hits_total {cache.hits}\n"
                "# HELP gitserver_principal_cache_misses_total Requests whose principal was read "
                "from the database.\n# TYPE gitserver_principal_cache_misses_total counter\n"
                f"gitserver_principal_cache_misses_total {cache.misses}\n"
                "# HELP gitserver_push_hook_requests_total pre-receive calls that asked the "
                "server (pushes whose updates matched their plan need none).\n"
                "# TYPE gitserver_push_hook_requests_total counter\n"
                f"gitserver_push_hook_requests_total {self.hook_handler.hook_requests}\n"
            ).encode()
            + (metrics_text(self.packs.cache).encode() if self.packs is not None else b"")
            + (
                (
                    metrics_text(self.responses.cache, "response", "upload-pack")
                    + metrics_text(self.responses.refs, "refs", "upload-pack")
                ).encode()
                if self.responses is not None
                else b""
            )
        )
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _health(self, request: web.Request) -> web.Response:
        await self.services.db.ping()
        return web.json_response({"status": "ok"})

    async def _ready(self, request: web.Request) -> web.Response:
        if self.draining:
            state = Readiness("server", "shutting down")
        else:
            state = await check_readiness(self.services.db, self.services.store.root)
        return web.json_response(state.as_json(), status=200 if state.ready else 503)

    async def start(self) -> None:
        """Start every front end; on failure stop what did start (the hook socket too).

        Raises:
            ListenError: the HTTP or SSH address is taken or not allowed.
        """
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        settings = self.services.settings
        install_hooks(self.engine.hooks_dir)
        for cache in self._caches():
            await asyncio.to_thread(cache.reset)
            self._tasks.append(asyncio.create_task(self._sweep_packs(cache)))
        await self.hooks.start()
        await self._clean_crash_leftovers()
        self.audit.start()
        AcceptErrors().install(asyncio.get_running_loop())
        options: dict[str, Any] = {"access_log": None, "keepalive_timeout": _KEEPALIVE}
        self._runner = web.AppRunner(
            self.app(), shutdown_timeout=settings.shutdown_timeout, **options
        )
        await self._runner.setup()
        host, port = settings.http_address
        site = GuardedSite(
            self._runner,
            host,
            port,
            self.connections,
            handler_options=options,
            ssl_context=self._ssl(),
            backlog=_BACKLOG,
        )
        with _binding(host, port):
            await site.start()
        self._site = site
        self.http_port = site.port
        if not settings.no_ssh:
            await self._start_ssh()
        self._publish_ports()
        if settings.workers:
            self.dispatcher = build_dispatcher(self.services, self.delivery_metrics)
            self._unsubscribe = on_events_committed(self.dispatcher.wake)
            await self.dispatcher.start()
            self.pipeline_scheduler = build_pipeline_scheduler(self.services)
            await self.pipeline_scheduler.start()
            if settings.pipeline_runners > 0:
                self.pipeline_runner = build_pipeline_runner(
                    self.services, settings.pipeline_runners
                )
                await self.pipeline_runner.start()
        if settings.reconcile_interval > 0:
            self._tasks.append(asyncio.create_task(self._reconcile_forever()))
        fresh = max(0.5, settings.prepared_grace / 3)
        self._tasks.append(asyncio.create_task(self.hook_handler.keep_fresh(fresh)))
        follow = FollowLoop(self.services.follower)
        self._unfollow = on_events_committed(follow.wake)
        self._tasks.append(asyncio.create_task(follow.run()))
        automerge = AutoMergeLoop(
            self.services.automerges,
            merge_authority(self.services.db, self.access, self.services.settings.account_id),
        )
        self._unmerge = on_events_committed(automerge.wake)
        self._tasks.append(asyncio.create_task(automerge.run()))

    def _publish_ports(self) -> None:
        """Clone URLs name the ports actually bound when `:0` let the system pick them."""
        old = self.services.settings
        bound = replace(
            old,
            http=f"{parse_hostport(old.http)[0]}:{self.http_port}",
            ssh=f"{parse_hostport(old.ssh)[0]}:{self.ssh_port}" if self.ssh_port else old.ssh,
        )
        endpoints = dataclasses.replace(
            self.services.endpoints,
            http_base=bound.public_base_url,
            ssh_base=bound.public_ssh_base,
        )
        self.services.endpoints = endpoints
        self.services.store.endpoints = endpoints
        self.access.endpoints = endpoints

    async def _start_ssh(self) -> None:
        settings = self.services.settings
        # Generating an RSA host key takes a moment of CPU on the first start.
        self.host_keys = await asyncio.to_thread(load_host_keys, host_keys_dir(settings.data))
        self.ssh = GitSsh(
            self.engine,
            self.access,
            self.authenticator,
            self.services.db,
            self.services.store,
            self.host_keys,
            SshLimits(
                settings.ssh_idle_timeout,
                settings.ssh_session_timeout,
                settings.ssh_max_sessions,
                settings.ssh_max_sessions_per_user,
                settings.ssh_max_connections,
                settings.ssh_max_connections_per_ip,
                settings.ssh_login_timeout,
            ),
        )
        host, port = settings.ssh_address
        with _binding(host, port):
            self.ssh_port = await self.ssh.start(host, port)

    def _ssl(self) -> ssl.SSLContext | None:
        settings = self.services.settings
        if not settings.tls_cert:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
        return context

    async def _clean_crash_leftovers(self) -> None:
        """What a killed predecessor left: push quarantines, and ref updates not settled."""
        settings = self.services.settings
        # One server per SQLite data directory (a lock holds it), so no push is running
        # now; servers sharing one over PostgreSQL go by age.
        exclusive = settings.effective_database_url.startswith("sqlite")
        await asyncio.to_thread(
            sweep, self.services.store.root, None if exclusive else settings.git_timeout
        )
        if exclusive:  # push plans of killed servers (the live ones are per process)
            for stale in self.engine.plans_dir.parent.glob("plans-*"):
                if stale != self.engine.plans_dir:
                    await asyncio.to_thread(shutil.rmtree, stale, True)
        self._settle_later(await self.reconciler.run())

    def _settle_later(self, report: ReconcileReport) -> None:
        """Rows a pass left inside their grace are settled when it ends, not a period later."""
        if not report.deferred:
            return

        async def again() -> None:
            await asyncio.sleep(self.services.settings.prepared_grace + 1)
            for name in report.deferred:
                try:
                    await self.reconciler.run(name)
                except Exception:
                    log.exception("reconcile after the grace period failed")

        self._tasks.append(asyncio.create_task(again()))

    def _caches(self) -> list[PackCache]:
        packs = [self.packs.cache] if self.packs is not None else []
        if self.responses is not None:
            packs += [self.responses.cache, self.responses.refs]
        return packs

    async def _sweep_packs(self, cache: PackCache) -> None:
        """Remove expired packs while no fetch comes to do it."""
        while True:
            await asyncio.sleep(min(cache.max_age, 60.0))
            cache.sweep()

    async def _reconcile_forever(self) -> None:
        while True:
            await asyncio.sleep(self.services.settings.reconcile_interval)
            self._tasks = [task for task in self._tasks if not task.done()]
            try:
                self._settle_later(await self.reconciler.run())
            except Exception:
                log.exception("periodic reconcile failed")

    async def shutdown(self) -> None:
        """SIGTERM: take no new work; let running pushes, API calls and deliveries
        finish within `shutdown_timeout`; cut what is left; then `stop`.

        Pushes are settled as they end (their handlers wait for it); a push cut at the
        deadline is settled from what git did, and the reconciler reads the rest at the
        next start.
        """
        timeout = self.services.settings.shutdown_timeout
        self.draining = True
        if self.ssh is not None:
            self.ssh.stop_listening()
        if self._site is not None:
            await self._site.stop()  # the listening socket: new connections are refused
        log.info("shutting down: letting running requests finish (up to %gs)", timeout)
        watchdog = asyncio.get_running_loop().call_later(timeout, self._report_cut)
        try:
            await asyncio.gather(*self._drains(timeout), return_exceptions=True)
        finally:
            watchdog.cancel()
        await self.stop()

    def _drains(self, timeout: float) -> list[Coroutine[Any, Any, None]]:
        drains: list[Coroutine[Any, Any, None]] = []
        if self._runner is not None:
            runner, self._runner = self._runner, None
            drains.append(runner.cleanup())  # waits up to the runner's shutdown_timeout
        if self.ssh is not None:
            ssh, self.ssh = self.ssh, None
            drains.append(ssh.close(timeout))
        if self.dispatcher is not None:
            dispatcher, self.dispatcher = self.dispatcher, None
            drains.append(dispatcher.drain(timeout))
        if self.pipeline_runner is not None:
            pipeline_runner, self.pipeline_runner = self.pipeline_runner, None
            drains.append(pipeline_runner.drain(timeout))
        return drains

    def _report_cut(self) -> None:
        """The deadline passed: say what is being cut (aiohttp cancels the requests,
        which kills their git; the SSH front end does the same for its sessions)."""
        log.warning(
            "shutdown deadline passed: cutting %d HTTP request(s) %s and pushes %s",
            len(self._in_flight),
            sorted(self._in_flight.values()),
            self.engine.live_pushes(),
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for unsubscribe in (self._unsubscribe, self._unfollow, self._unmerge):
            if unsubscribe is not None:
                unsubscribe()
        if self.pipeline_runner is not None:
            await self.pipeline_runner.close()
        if self.pipeline_scheduler is not None:
            await self.pipeline_scheduler.close()
        if self.dispatcher is not None:
            await self.dispatcher.close()
        if self.ssh is not None:
            await self.ssh.close()  # before the hook socket: pushes may still be settling
        if self._runner is not None:
            await self._runner.cleanup()
        await self.engine.drain()
        self.authenticator.close()
        self.readers.close()
        await self.maintenance.close()
        for cache in self._caches():
            await cache.close()
            await asyncio.to_thread(shutil.rmtree, cache.root, True)
        await self.hooks.close()
        await self.audit.close()  # last: every front end that decides has stopped
        with contextlib.suppress(Exception):
            await self.services.close()
