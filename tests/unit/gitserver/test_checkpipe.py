"""The pre-receive script's FIFO exchange with the server (`transport/checkpipe.py`): the
real sh script, its environment handed over, the verdict's exit status and lines."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from gitserver.transport import checkpipe
from gitserver.transport.hooks import install_hooks

UPDATE = f"{'a' * 40} {'b' * 40} refs/heads/main\n"


async def _run_hook(hooks: Path, plan: Path, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(hooks / "pre-receive"),
        stdin=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"PATH": os.environ["PATH"], "GITSERVER_PUSH_PLAN": str(plan), **env},
    )
    _, stderr = await process.communicate(UPDATE.encode())
    return process.returncode or 0, stderr.decode()


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    hooks = tmp_path / "hooks"
    install_hooks(hooks)
    plan = tmp_path / "plan"
    plan.write_text(UPDATE)
    return hooks, plan


def test_no_fifo_means_no_checks(tmp_path: Path) -> None:
    hooks, plan = _setup(tmp_path)
    assert asyncio.run(_run_hook(hooks, plan, {})) == (0, "")


def test_the_server_gets_the_quarantine_and_options_and_its_verdict_decides(
    tmp_path: Path,
) -> None:
    hooks, plan = _setup(tmp_path)
    env = {
        "GIT_QUARANTINE_PATH": "/q",
        "GIT_OBJECT_DIRECTORY": "/q",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": "/objects",
        "GIT_PUSH_OPTION_COUNT": "2",
        "GIT_PUSH_OPTION_0": "secret_push_protection.skip_all",
        "GIT_PUSH_OPTION_1": "ci.skip=a b",
    }

    async def exchange(ok: bool, lines: list[str]) -> tuple[dict[str, list[str]], int, str]:
        checkpipe.make(plan)
        try:
            hook = asyncio.ensure_future(_run_hook(hooks, plan, env))
            request = await checkpipe.read_request(plan)
            await checkpipe.write_reply(plan, ok, lines)
            code, stderr = await hook
        finally:
            checkpipe.remove(plan)
        return request, code, stderr

    request, code, stderr = asyncio.run(exchange(True, []))
    assert code == 0 and stderr == ""
    assert request["GIT_OBJECT_DIRECTORY"] == ["/q"]
    assert request["GIT_ALTERNATE_OBJECT_DIRECTORIES"] == ["/objects"]
    assert request["GIT_PUSH_OPTION"] == ["secret_push_protection.skip_all", "ci.skip=a b"]

    _, code, stderr = asyncio.run(exchange(False, ["push refused", "config.py line 3"]))
    assert code == 1
    assert stderr == "gitserver: push refused\ngitserver: config.py line 3\n"


def _fifo_setup(tmp_path: Path) -> tuple[Path, Path]:
    hooks = tmp_path / "hooks"
    install_hooks(hooks, silence=1)
    plan = tmp_path / "plan"
    plan.write_text(UPDATE)
    checkpipe.make(plan)
    return hooks, plan


def test_a_server_that_never_reads_fails_the_push_quickly(tmp_path: Path) -> None:
    hooks, plan = _fifo_setup(tmp_path)
    code, stderr = asyncio.run(_run_hook(hooks, plan, {}))
    assert code == 1
    assert "the server did not check this push" in stderr


def test_a_server_that_dies_mid_check_fails_the_push_quickly(tmp_path: Path) -> None:
    # It read the request and answered once, then nothing: no 900 s wait.
    hooks, plan = _fifo_setup(tmp_path)

    async def exchange() -> tuple[int, str]:
        hook = asyncio.ensure_future(_run_hook(hooks, plan, {}))
        await checkpipe.read_request(plan)
        async with checkpipe.alive(plan):
            pass
        return await asyncio.wait_for(hook, 10)

    code, stderr = asyncio.run(exchange())
    assert code == 1
    assert "the server did not check this push" in stderr


def test_a_long_check_is_waited_for_while_the_server_says_it_works(tmp_path: Path) -> None:
    hooks, plan = _fifo_setup(tmp_path)

    async def exchange() -> tuple[int, str]:
        hook = asyncio.ensure_future(_run_hook(hooks, plan, {}))
        await checkpipe.read_request(plan)
        async with checkpipe.alive(plan, every=0.2):
            await asyncio.sleep(2.5)  # longer than the script's 1 s of patience
        await checkpipe.write_reply(plan, False, ["refused after a long scan"])
        return await hook

    assert asyncio.run(exchange()) == (1, "gitserver: refused after a long scan\n")
