"""A small browser for route tests: cookies, forms' CSRF tokens, no redirects followed."""

from __future__ import annotations

import http.client
import re
import urllib.parse
from dataclasses import dataclass, field

from tests.support import Server

CSRF = re.compile(r'name="csrf" value="([^"]*)"')


@dataclass
class Page:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def csrf(self) -> str:
        found = CSRF.search(self.body)
        assert found, f"no CSRF field in the page: {self.body[:300]}"
        return found.group(1)


@dataclass
class Browser:
    server: Server
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Page:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        try:
            headers = {"User-Agent": "web-route-test"}
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    self._remember(value)
            return Page(
                response.status, dict(response.getheaders()), data.decode("utf-8", "replace")
            )
        finally:
            conn.close()

    def _remember(self, header: str) -> None:
        pair = header.split(";", 1)[0]
        key, _, value = pair.partition("=")
        if "max-age=0" in header.lower() or value in ('""', ""):
            self.cookies.pop(key.strip(), None)
        else:
            self.cookies[key.strip()] = value.strip()

    def get(self, path: str) -> Page:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> Page:
        return self.request("POST", path, form)

    def sign_in(self, user: str, password: str, next_path: str = "/") -> Page:
        form = self.get(f"/sign-in?next={urllib.parse.quote(next_path)}")
        return self.post(
            "/sign-in",
            {"csrf": form.csrf(), "username": user, "password": password, "next": next_path},
        )

    def csrf(self) -> str:
        """The session's token, read from a page's sign-out form."""
        return self.get("/settings/password").csrf()


def signed_in(server: Server, user: str, password: str) -> Browser:
    browser = Browser(server)
    page = browser.sign_in(user, password)
    assert page.status == 303, (page.status, page.body[:500])
    assert "gitserver_session" in browser.cookies
    return browser
