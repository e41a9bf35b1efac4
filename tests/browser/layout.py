"""Pages at a laptop's and a phone's width: a screenshot of each, no sideways scrolling, and
axe in the page's colour scheme, for a list of pages walked in one browser tab."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from playwright.sync_api import Error, Page, ViewportSize

from tests.browser.support import ColorScheme, assert_accessible, screenshot_path

LAPTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


def overflowing(page: Page) -> list[str]:
    """The elements wider than the viewport: what makes a page scroll sideways.

    An element inside a box that scrolls on its own (`overflow-x: auto`, as the audit
    table's) is not counted: that box is the design, the page itself stays put.
    """
    return list(
        page.evaluate(
            """() => {
              const width = document.documentElement.clientWidth;
              if (document.documentElement.scrollWidth <= width) return [];
              const scrolls = (el) => {
                for (let p = el.parentElement; p; p = p.parentElement) {
                  const x = getComputedStyle(p).overflowX;
                  if (x === 'auto' || x === 'scroll' || x === 'hidden') return true;
                }
                return false;
              };
              return [...document.querySelectorAll('body *')]
                .filter((el) => el.getBoundingClientRect().right > width + 1 && !scrolls(el))
                .slice(0, 5)
                .map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                  + (el.className && typeof el.className === 'string'
                     ? '.' + el.className.trim().replace(/\\s+/g, '.') : ''));
            }"""
        )
    )


def squeezed(page: Page) -> list[str]:
    """Visible buttons taller than two lines of their text: a label broken to fit."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('button, a.button')]
              .filter((el) => {
                const box = el.getBoundingClientRect();
                const size = parseFloat(getComputedStyle(el).fontSize);
                return box.width > 0 && box.height > 3.2 * size;
              })
              .slice(0, 5)
              .map((el) => el.textContent.trim())"""
        )
    )


def screenshots(page: Page, name: str, color_scheme: ColorScheme) -> None:
    """test-artifacts/screenshots/<name>-<scheme>-laptop.png and -phone.png, full pages;
    fails when the page scrolls sideways on either, or squeezes a button's label onto
    several lines (the page is left at laptop width)."""
    problems = {}
    for label, size in (("phone", PHONE), ("laptop", LAPTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=screenshot_path(f"{name}-{color_scheme}-{label}"), full_page=True)
        wide, broken = overflowing(page), squeezed(page)
        if wide:
            problems[f"{label}: scrolls sideways"] = wide
        if broken:
            problems[f"{label}: button labels broken"] = broken
    assert not problems, f"{name} ({color_scheme}): {problems}"


def survey(
    page: Page,
    color_scheme: ColorScheme,
    pages: Sequence[tuple[str, str]],
    prepare: Callable[[str], None] = lambda name: None,
) -> None:
    """Each (name, url): answered 200, no serious axe violation, and screenshots() passes.

    One tab walks them all (a context and its teardown cost more than a page), and every
    page is checked: the failures are reported together, each under its page's name.
    `prepare(name)` opens what a page hides until clicked, before it is checked.
    """
    problems = []
    for name, url in pages:
        try:
            response = page.goto(url)
            assert response is not None and response.status == 200, (
                f"HTTP {response and response.status} at {page.url}"
            )
            prepare(name)
            assert_accessible(page, f"{name} ({color_scheme})")
            screenshots(page, name, color_scheme)
        except (AssertionError, Error) as exc:
            problems.append(f"{name} ({url}): {exc}")
    assert not problems, "\n\n".join(problems)
