"""Rendering: Jinja2 templates (autoescaped: every value is text unless it is `Markup`)
and Markdown (markdown-it-py, then nh3 so nothing but harmless tags reaches a page)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nh3
from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup

from auth import passwords
from gitserver import weburls

TEMPLATES = Path(__file__).parent / "templates"
# The request key of the signed-in `context.Viewer` (set by the middleware).
VIEWER = "web_viewer"
STATIC = Path(__file__).parent / "static"
_MARKDOWN_TAGS = {
    *[
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "del",
        "details",
        "div",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "kbd",
        "li",
        "ol",
        "p",
    ],
    *[
        "pre",
        "s",
        "span",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    ],
}


def _ago(timestamp: int | datetime | None) -> str:
    """A UTC date a person reads at a glance (the exact time is in the title attribute)."""
    if timestamp is None:
        return "never"
    moment = (
        timestamp if isinstance(timestamp, datetime) else datetime.fromtimestamp(timestamp, UTC)
    )
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _size(count: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return str(count)


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["min_password"] = passwords.MIN_LENGTH
    env.filters["ago"] = _ago
    env.filters["size"] = _size
    env.filters["short"] = lambda oid: (oid or "")[:8]
    env.filters["subject"] = lambda message: (message or "").split("\n", 1)[0]
    env.filters["markdown"] = markdown
    # A user ARN as its user name (`arn:aws:iam::0000:user/alice` -> `alice`).
    env.filters["user"] = lambda arn: (arn or "").rsplit("/", 1)[-1]
    env.filters["branch"] = lambda ref: (ref or "").removeprefix("refs/heads/")
    env.globals["repo_url"] = lambda name: weburls.repository_page("", name)
    env.globals["ref_url"] = lambda name, view, ref, path="": weburls.ref_page(
        "", name, view, ref, path
    )
    env.globals["commit_url"] = lambda name, oid: weburls.commit_page("", name, oid)
    env.globals["compare_url"] = lambda name, a, b: weburls.compare_page("", name, a, b)
    env.globals["pull_url"] = lambda name, number: weburls.pull_request_page("", name, number)
    env.globals["comment_anchor"] = weburls.comment_anchor
    env.globals["pipeline_url"] = lambda name: weburls.pipeline_page("", name)
    env.globals["execution_url"] = lambda name, e: weburls.execution_page("", name, e)
    env.globals["log_url"] = lambda name, e, stage, action: weburls.action_log_page(
        "", name, e, stage, action
    )
    return env


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """The page `template` with `context`, plus the viewer (header, sign-out form)."""
    page = environment().get_template(template)
    body = page.render(viewer=request.get(VIEWER), path=request.path, **context)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


@functools.cache
def _markdown() -> MarkdownIt:
    # Raw HTML off: Markdown's HTML passthrough is how READMEs carry scripts.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
        ["table", "strikethrough"]
    )


def markdown(text: str) -> Markup:
    """`text` as HTML, sanitized: only `_MARKDOWN_TAGS`, safe URL schemes, no attributes
    that run script."""
    html = _markdown().render(text)
    clean = nh3.clean(
        html,
        tags=_MARKDOWN_TAGS,
        attributes={"a": {"href", "title"}, "img": {"src", "alt", "title"}, "*": {"align"}},
        url_schemes={"http", "https", "mailto"},
    )
    return Markup(clean)  # noqa: S704 - nh3 output: the one place HTML from users is trusted
