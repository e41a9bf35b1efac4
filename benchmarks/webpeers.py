"""The web UIs to compare with: cgit and gitweb as CGI under lighttpd, and an HTTP client.

One lighttpd on a free loopback port serves three CGI aliases over the same bare
repository: `/cgit/` (cgit without filters: summary, tree, log, commit), `/cgit-hl/`
(cgit with its Python syntax-highlighting source filter: the highlighted file) and
`/gitweb` (gitweb, highlighting off: Debian's gitweb has no highlighter without the
`highlight` package). cgit's cache is off (`cache-size=0`): every request does its work,
as every gitserver request does. Setup as in shared/reference/review-ui.md.
"""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

from servers import free_port, stop_group, wait_port

CGIT = Path("/usr/lib/cgit/cgit.cgi")
CGIT_FILTER = Path("/usr/lib/cgit/filters/syntax-highlighting.py")
GITWEB = Path("/usr/share/gitweb/gitweb.cgi")
# Debian's python3 with python3-pygments runs the cgit filter (`#!/usr/bin/env python3`):
# the CGI environment gets this PATH, never the caller's (a pyenv shim has no pygments).
CGI_PATH = "/usr/bin:/bin"


class Peers:
    """lighttpd serving cgit (plain and highlighting) and gitweb for bare repositories."""

    def __init__(self, scratch: Path, repositories: dict[str, Path]) -> None:
        self.dir = scratch / "peers"
        self.repositories = repositories
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def _cgitrc(self, root: str, highlight: bool) -> Path:
        path = self.dir / f"cgitrc{'-hl' if highlight else ''}"
        lines = [
            f"virtual-root={root}",
            "cache-size=0",
            *([f"source-filter={CGIT_FILTER}"] if highlight else []),
        ]
        for name, repository in self.repositories.items():
            lines += [f"repo.url={name}", f"repo.path={repository}"]
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self) -> None:
        for path in (CGIT, CGIT_FILTER, GITWEB):
            if not path.exists():
                raise RuntimeError(
                    f"{path} is missing: apt-get install cgit gitweb python3-pygments"
                )
        lighttpd = shutil.which("lighttpd") or "/usr/sbin/lighttpd"
        projects = self.dir / "projects"
        projects.mkdir(parents=True, exist_ok=True)
        for name, repository in self.repositories.items():
            (projects / f"{name}.git").symlink_to(repository)
        gitweb_conf = self.dir / "gitweb.conf"
        gitweb_conf.write_text(
            f'our $projectroot = "{projects}";\n'
            'our $git_temp = "/tmp";\n'
            "$feature{'highlight'}{'default'} = [0];\n"
        )
        plain, highlighted = self._cgitrc("/cgit/", False), self._cgitrc("/cgit-hl/", True)
        self.port = free_port()
        config = self.dir / "lighttpd.conf"
        cgi = 'cgi.assign = ("" => "")'
        config.write_text(f"""
server.modules = ("mod_alias", "mod_cgi", "mod_setenv")
server.bind = "127.0.0.1"
server.port = {self.port}
server.document-root = "{self.dir}"
server.errorlog = "{self.dir / "error.log"}"
alias.url = ("/cgit-hl" => "{CGIT}", "/cgit" => "{CGIT}", "/gitweb" => "{GITWEB}")
$HTTP["url"] =~ "^/cgit-hl(/|$)" {{ {cgi}
  setenv.add-environment = ("CGIT_CONFIG" => "{highlighted}", "PATH" => "{CGI_PATH}") }}
$HTTP["url"] =~ "^/cgit(/|$)" {{ {cgi}
  setenv.add-environment = ("CGIT_CONFIG" => "{plain}", "PATH" => "{CGI_PATH}") }}
$HTTP["url"] =~ "^/gitweb" {{ {cgi}
  setenv.add-environment = ("GITWEB_CONFIG" => "{gitweb_conf}", "PATH" => "{CGI_PATH}") }}
""")
        subprocess.run([lighttpd, "-tt", "-f", str(config)], check=True, capture_output=True)
        log = (self.dir / "stderr.log").open("wb")
        self.process = subprocess.Popen(
            [lighttpd, "-D", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        wait_port(self.port, self.process)

    def stop(self) -> None:
        stop_group(self.process)


@dataclass
class Fetched:
    status: int
    body: str
    seconds: float
    headers: dict[str, str]


@dataclass
class Browser:
    """A keep-alive HTTP/1.1 client with a cookie jar: what a browser's page load costs the
    server, without the browser (the time is request sent to last body byte, on loopback)."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    connection: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fetched:
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            started = time.perf_counter()
            try:
                self.connection.request(method, path, body=body, headers=all_headers)
                response = self.connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed an idle keep-alive connection: reconnect once, untimed.
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
                continue
            seconds = time.perf_counter() - started
            for value in response.headers.get_all("Set-Cookie") or []:
                jar: SimpleCookie = SimpleCookie()
                jar.load(value)
                for key, morsel in jar.items():
                    if morsel["max-age"] == "0" or not morsel.value:
                        self.cookies.pop(key, None)
                    else:
                        self.cookies[key] = morsel.value
            if response.will_close:
                self.connection.close()
                self.connection = None
            return Fetched(
                response.status, data.decode(errors="replace"), seconds, dict(response.headers)
            )
        raise AssertionError("unreachable")

    def get(self, path: str) -> Fetched:
        return self.request("GET", path)

    def sign_in(self, user: str, password: str) -> None:
        """Sign in through gitserver's form, as a browser does: GET it, POST it with its CSRF
        token; the session cookie stays in the jar for every later request."""
        form = self.get("/sign-in")
        token = re.search(r'name="csrf" value="([^"]+)"', form.body)
        if form.status != 200 or token is None:
            raise RuntimeError(f"no sign-in form at /sign-in (HTTP {form.status})")
        body = urllib.parse.urlencode(
            {"csrf": token.group(1), "next": "/", "username": user, "password": password}
        ).encode()
        done = self.request(
            "POST",
            "/sign-in",
            body,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if done.status not in (302, 303) or not self.get("/").status == 200:
            raise RuntimeError(f"signing in as {user} failed (HTTP {done.status})")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
