"""Tag rules (IAM TagUser, CodeCommit TagResource) and the repository tag service."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from auth import identities, principals
from auth.errors import InvalidInput, LimitExceeded
from gitserver.db import Database, Repository
from gitserver.store import errors, repositories
from gitserver.tags import TagRule, TagRuleError, merge_tags, parse_pairs, remove_tags


@pytest.mark.parametrize(
    ("existing", "new", "rule"),
    [
        pytest.param({}, {}, TagRule.INVALID_TAG, id="no-tags"),
        pytest.param({}, {"": "v"}, TagRule.INVALID_TAG, id="empty-key"),
        pytest.param({}, {"k" * 129: "v"}, TagRule.INVALID_TAG, id="key-over-128"),
        pytest.param({}, {"k": "v" * 257}, TagRule.INVALID_TAG, id="value-over-256"),
        pytest.param({}, {"k!": "v"}, TagRule.INVALID_TAG, id="key-character"),
        pytest.param({}, {"k": "v\n"}, TagRule.INVALID_TAG, id="value-control-character"),
        pytest.param({}, {"aws:team": "v"}, TagRule.SYSTEM_KEY, id="aws-prefix"),
        pytest.param({}, {"AWS:team": "v"}, TagRule.SYSTEM_KEY, id="aws-prefix-any-case"),
        pytest.param(
            {f"k{i}": "" for i in range(50)}, {"one-more": ""}, TagRule.TOO_MANY, id="51st"
        ),
    ],
)
def test_bad_tags_are_refused_with_their_rule(
    existing: dict[str, str], new: dict[str, object], rule: TagRule
) -> None:
    with pytest.raises(TagRuleError) as caught:
        merge_tags(existing, new, case_sensitive=True)
    assert caught.value.rule is rule


def test_limits_are_inclusive_and_unicode_letters_count() -> None:
    full = {f"k{i}": "" for i in range(49)}
    merged = merge_tags(full, {"k" * 128: "v" * 256}, case_sensitive=True)
    assert len(merged) == 50
    assert merge_tags({}, {"équipe équipe": "rouge/1.0:a=b+c-d@e_f"}, case_sensitive=True)
    # Replacing a key at the limit does not count twice.
    assert len(merge_tags(merged, {"k0": "x"}, case_sensitive=True)) == 50


def test_user_keys_fold_case_repository_keys_do_not() -> None:
    assert merge_tags({"team": "a"}, {"Team": "b"}, case_sensitive=False) == {"Team": "b"}
    assert merge_tags({"team": "a"}, {"Team": "b"}, case_sensitive=True) == {
        "team": "a",
        "Team": "b",
    }
    with pytest.raises(TagRuleError):
        merge_tags({}, {"team": "a", "TEAM": "b"}, case_sensitive=False)
    assert remove_tags({"Team": "a", "x": "y"}, ["TEAM"], case_sensitive=False) == {"x": "y"}
    assert remove_tags({"Team": "a"}, ["TEAM"], case_sensitive=True) == {"Team": "a"}


def test_untag_needs_valid_keys() -> None:
    with pytest.raises(TagRuleError) as caught:
        remove_tags({"a": "b"}, [], case_sensitive=True)
    assert caught.value.rule is TagRule.KEYS_REQUIRED
    with pytest.raises(TagRuleError) as caught:
        remove_tags({"a": "b"}, ["k" * 129], case_sensitive=True)
    assert caught.value.rule is TagRule.INVALID_KEYS
    assert remove_tags({"a": "b"}, ["absent"], case_sensitive=True) == {"a": "b"}


def test_pairs_keep_everything_after_the_first_equals() -> None:
    assert parse_pairs(["a=b=c", "empty="]) == {"a": "b=c", "empty": ""}
    with pytest.raises(TagRuleError):
        parse_pairs(["novalue"])
    with pytest.raises(TagRuleError):
        parse_pairs(["a=1", "a=2"])


def test_repository_tag_service_raises_codecommit_exceptions(tmp_path: Path) -> None:
    """The functions the CodeCommit API's TagResource/UntagResource/ListTagsForResource call."""

    async def main() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        await db.upgrade()
        try:
            async with db.session() as session:
                session.add(Repository(id="r1", name="demo", description="", tags={}))
            async with db.session() as session:
                tags = await repositories.tag_repository(session, "demo", {"team": "red"})
                assert tags == {"team": "red"}
            cases: list[tuple[type[errors.TagError], str, object]] = [
                (errors.InvalidSystemTagUsageException, "tag", {"aws:x": "1"}),
                (errors.InvalidTagsMapException, "tag", {"bad!": "1"}),
                (errors.TooManyTagsException, "tag", {f"k{i}": "" for i in range(50)}),
                (errors.TagKeysListRequiredException, "untag", []),
                (errors.InvalidTagKeysListException, "untag", [""]),
            ]
            for error, operation, argument in cases:
                async with db.session() as session:
                    with pytest.raises(error) as caught:
                        if operation == "tag":
                            assert isinstance(argument, dict)
                            await repositories.tag_repository(session, "demo", argument)
                        else:
                            assert isinstance(argument, list)
                            await repositories.untag_repository(session, "demo", argument)
                    assert caught.value.aws_type == error.__name__
            async with db.session() as session:
                assert await repositories.list_tags(session, "demo") == {"team": "red"}
                assert await repositories.untag_repository(session, "demo", ["team"]) == {}
                with pytest.raises(errors.RepositoryNotFound):
                    await repositories.tag_repository(session, "nope", {"a": "b"})
        finally:
            await db.close()

    asyncio.run(main())


def test_user_tags_map_to_iam_errors(tmp_path: Path) -> None:
    async def main() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        await db.upgrade()
        try:
            async with db.session() as session:
                await identities.create_user(session, "bob")
                await identities.tag_user(session, "bob", {"team": "red"})
                with pytest.raises(LimitExceeded):
                    await identities.tag_user(session, "bob", {f"k{i}": "" for i in range(50)})
                with pytest.raises(InvalidInput):
                    await identities.tag_user(session, "bob", {"aws:x": "y"})
            async with db.reader() as session:
                info = await identities.get_user_info(session, "bob")
                assert info.tags == {"team": "red"}
                user = await identities.get_user(session, "bob")
                principal = await principals.load_principal(session, user, "0" * 12, "test")
                assert principal.tags == {"team": "red"}
        finally:
            await db.close()

    asyncio.run(main())
