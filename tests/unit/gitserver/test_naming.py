from __future__ import annotations

import pytest

from gitserver.store.errors import InvalidRepositoryName
from gitserver.store.naming import reference_type, short_name, validate_repository_name


@pytest.mark.parametrize("name", ["a", "My_Repo-1.0", "x" * 100, "repo.git2", "_", "-"])
def test_valid_repository_names(name: str) -> None:
    assert validate_repository_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "x" * 101, "a/b", "..", ".", "repo.git", "a b", "ä", "a:b", "a@b", "../etc"],
)
def test_invalid_repository_names(name: str) -> None:
    with pytest.raises(InvalidRepositoryName):
        validate_repository_name(name)


def test_reference_vocabulary() -> None:
    assert reference_type("refs/heads/feature/x") == "branch"
    assert reference_type("refs/tags/v1") == "tag"
    assert reference_type("refs/notes/commits") == "other"
    assert short_name("refs/heads/feature/x") == "feature/x"
    assert short_name("refs/notes/commits") == "refs/notes/commits"
