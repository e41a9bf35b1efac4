"""The README's quick start runs as written, in one shell, against a fresh server.

The blocks marked `<!-- quickstart -->` are what an operator types into their second
terminal. The test runs exactly those blocks with bash, in order, from a directory laid
out like the checkout (`.venv`, `data`) while a server started by the harness serves
that `data`; only `GITSERVER_HTTP`, which the README itself reads, names the real port.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path

from tests.support import VENV_BIN, Server

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- quickstart -->"
BLOCK = re.compile(re.escape(MARKER) + r"\s*\n```(?:sh|bash)\n(.*?)\n```", re.DOTALL)


def quickstart_blocks() -> list[str]:
    text = README.read_text()
    blocks = BLOCK.findall(text)
    # Every marker must introduce a block: a marker before prose would silently run less.
    assert len(blocks) == text.count(MARKER)
    assert len(blocks) >= 4, "the quick start's blocks are marked with " + MARKER
    return blocks


def test_quickstart_blocks_are_marked() -> None:
    blocks = quickstart_blocks()
    script = "\n".join(blocks)
    for needed in ("credential create", "repo create demo", "git -C hello", "protect-main.json"):
        assert needed in script


def test_readme_quickstart_runs_verbatim(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / ".venv").symlink_to(VENV_BIN.parent, target_is_directory=True)
    server = Server(data=checkout / "data", database_url="", extra_args=["--no-ssh"])
    server.database_url = f"sqlite+aiosqlite:///{server.data / 'gitserver.db'}"
    server.start()
    try:
        home = tmp_path / "home"
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITSERVER_", "GIT_"))}
        env.update(
            HOME=str(home),  # no global git configuration, no stored credentials
            GIT_CONFIG_NOSYSTEM="1",
            GIT_TERMINAL_PROMPT="0",  # a missing credential fails instead of waiting
            GITSERVER_HTTP=f"127.0.0.1:{server.port}",
        )
        script = "set -euo pipefail\n" + "\n".join(quickstart_blocks()) + "\n"
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    finally:
        server.stop()

    assert (checkout / "demo-clone" / "README").read_text() == "hi\n"
    lines = result.stdout.splitlines()
    assert any(line.startswith("explicitDeny") for line in lines), result.stdout
    assert any(line.startswith("allowed") for line in lines), result.stdout
    assert "tags: frozen=true" in lines, result.stdout
    # The credential reached git through the helper only: no password in any .git/config.
    password = json.loads((checkout / "alice.json").read_text())["password"]
    for config in (checkout / "hello/.git/config", checkout / "demo-clone/.git/config"):
        assert password not in config.read_text()
    for secret in (checkout / "alice.json", checkout / "git-credentials"):
        assert stat.S_IMODE(secret.stat().st_mode) & 0o077 == 0
