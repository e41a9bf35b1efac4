"""A line's "+" link without JavaScript: `?comment=SIDE:LINE:PATH` names where the
pull-request page renders its one open comment form; anything else names nowhere."""

from __future__ import annotations

import pytest

from gitserver.web.diffview import Anchor
from gitserver.web.review import Placed, comment_form_at


def test_a_well_formed_value_names_a_line_of_a_file() -> None:
    assert comment_form_at("AFTER:2:src/app.py") == ("src/app.py", Anchor("AFTER", 2))
    # The path is the rest of the value: colons in it are kept.
    assert comment_form_at("BEFORE:10:a:b.txt") == ("a:b.txt", Anchor("BEFORE", 10))


@pytest.mark.parametrize("value", ["", "AFTER", "AFTER:2", "AFTER:2:", "SIDE:2:a", "AFTER:x:a"])
def test_anything_else_opens_no_form(value: str) -> None:
    assert comment_form_at(value) is None


def test_the_page_adds_an_inline_row_only_for_a_thread_or_the_open_form() -> None:
    placed = Placed(form=("app.py", Anchor("AFTER", 2)))
    assert placed.wants_row("app.py", Anchor("AFTER", 2))
    assert placed.has_form("app.py", Anchor("AFTER", 2))
    assert not placed.wants_row("app.py", Anchor("BEFORE", 2))
    assert not placed.wants_row("other.py", Anchor("AFTER", 2), None)
