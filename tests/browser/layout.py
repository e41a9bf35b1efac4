"""Pages at a laptop's and a phone's width: a screenshot of each, and no sideways scrolling."""

from __future__ import annotations

from playwright.sync_api import Page, ViewportSize

from tests.browser.support import ColorScheme, screenshot_path

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


def screenshots(page: Page, name: str, color_scheme: ColorScheme) -> None:
    """test-artifacts/screenshots/<name>-<scheme>-laptop.png and -phone.png, full pages;
    fails when the page scrolls sideways on either (the page is left at laptop width)."""
    problems = {}
    for label, size in (("phone", PHONE), ("laptop", LAPTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=screenshot_path(f"{name}-{color_scheme}-{label}"), full_page=True)
        wide = overflowing(page)
        if wide:
            problems[label] = wide
    assert not problems, f"{name} ({color_scheme}) scrolls sideways: {problems}"
