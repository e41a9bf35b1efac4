"""The web UI's pure parts: sign-in backoff, `next=` and CSRF checks, Markdown
sanitizing, ref splitting and git blame's porcelain format."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from gitserver.content.browse import parse_porcelain
from gitserver.web.pages import markdown
from gitserver.web.security import local_path, tokens_match
from gitserver.web.throttle import Throttle


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_starts_after_the_free_failures_and_doubles() -> None:
    clock = Clock()
    throttle = Throttle(user_free=3, ip_free=100, ceiling=10, clock=clock)
    for _ in range(2):
        throttle.failed("Ann", "10.0.0.1")
    assert throttle.wait("ann", "10.0.0.1") == 0
    throttle.failed("ann", "10.0.0.1")
    assert throttle.wait("ANN", "10.0.0.9") == 1.0  # user names compare without case
    throttle.failed("ann", "10.0.0.1")
    assert throttle.wait("ann", "10.0.0.9") == 2.0
    for _ in range(10):
        throttle.failed("ann", "10.0.0.1")
    assert throttle.wait("ann", "10.0.0.9") == 10  # the ceiling
    clock.now += 11
    assert throttle.wait("ann", "10.0.0.9") == 0
    throttle.succeeded("ann")
    assert throttle.wait("ann", "10.0.0.9") == 0


def test_one_address_guessing_many_names_is_slowed() -> None:
    clock = Clock()
    throttle = Throttle(user_free=100, ip_free=2, clock=clock)
    for name in ("a", "b"):
        throttle.failed(name, "10.0.0.1")
    assert throttle.wait("c", "10.0.0.1") == 1.0
    assert throttle.wait("c", "10.0.0.2") == 0


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/repositories/x?page=2", "/repositories/x?page=2"),
        ("", "/"),
        (None, "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/a\r\nSet-Cookie: x=1", "/"),
    ],
)
def test_next_is_a_local_path_or_home(target: str | None, expected: str) -> None:
    assert local_path(target) == expected


def test_tokens_match_only_equal_non_empty_tokens() -> None:
    assert tokens_match("abc", "abc")
    assert not tokens_match("abc", "abd")
    assert not tokens_match("", "")
    assert not tokens_match("abc", "")


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "[x](javascript:alert(1))",
        '<img src=x onerror="alert(1)">',
        "![x](javascript:alert(1))",
        '<a href="https://x" onclick="alert(1)">x</a>',
    ],
)
def test_markdown_never_passes_script_through(source: str) -> None:
    """What is left may mention a script as text; no element or attribute runs one."""
    found = _Elements()
    found.feed(str(markdown(source)))
    assert "script" not in found.tags
    for name, value in found.attributes:
        assert not name.startswith("on"), (name, value)
        assert not (value or "").strip().lower().startswith("javascript:"), (name, value)


def test_markdown_renders_the_usual_things() -> None:
    html = str(
        markdown("# Title\n\n*a* **b** `c`\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\n[l](https://e.x)")
    )
    for fragment in ("<h1>Title</h1>", "<em>a</em>", "<strong>b</strong>", "<code>c</code>"):
        assert fragment in html
    assert "<table>" in html and 'href="https://e.x"' in html


def test_blame_porcelain_gives_every_line_its_commit() -> None:
    a, b = "a" * 40, "b" * 40
    text = (
        f"{a} 1 1 2\nauthor Ann\nauthor-time 100\nsummary first\nfilename f\n\tone\n"
        f"{a} 2 2\n\ttwo\n"
        f"{b} 3 3 1\nauthor Bob\nauthor-time 200\nsummary second\nfilename f\n\t\tthree\n"
    )
    lines = parse_porcelain(text)
    assert [(x.commit_id, x.author, x.line) for x in lines] == [
        (a, "Ann", "one"),
        (a, "Ann", "two"),
        (b, "Bob", "\tthree"),
    ]
    assert lines[2].timestamp == 200 and lines[0].summary == "first"
