"""NUL in a web form or query is refused before it reaches SQL: PostgreSQL refuses NUL
in text (a 500 there), SQLite would store it (a name no git or terminal shows)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.support import Server
from tests.web_support import signed_in

pytestmark = pytest.mark.database  # the database is what NUL would reach


def test_nul_in_a_form_or_a_query_is_a_400_and_changes_nothing(
    server: Server, repo: Callable[..., str]
) -> None:
    name = repo("nul")
    admin = signed_in(server, "admin", server.admin_password)
    form = {"csrf": admin.csrf(), "description": "before"}
    assert admin.post(f"/repositories/{name}/settings/description", form).status == 303

    form = {"csrf": admin.csrf(), "description": "after\x00hidden"}
    page = admin.post(f"/repositories/{name}/settings/description", form)
    assert page.status == 400 and "NUL" in page.body, (page.status, page.body[:300])
    assert '"before"' in json.dumps(server.cli("repo", "get", name))

    page = admin.get(f"/repositories/{name}/commits?path=a%00b")
    assert page.status == 400 and "NUL" in page.body, (page.status, page.body[:300])
    assert admin.get(f"/repositories/{name}").status == 200
