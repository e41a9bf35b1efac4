"""Where a policy error is in the document's text: JSON's position for a syntax error,
the JSON path's place for a grammar error, as line and column for the editor."""

from __future__ import annotations

import pytest

from auth.errors import InvalidInput, MalformedPolicy
from auth.policies import validate_document
from auth.policy import PolicyKind
from auth.policy.locate import line_column, locate
from auth.simulation import simulation_context

_DOC = """{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*"},
    {
      "Effect": "Allow",
      "Action": ["codecommit:GitPull", "nope"],
      "Resource": "*"
    }
  ]
}"""


@pytest.mark.parametrize(
    ("path", "where"),
    [
        pytest.param("Version", (2, 3), id="top-level-key"),
        pytest.param("Statement[1]", (5, 5), id="list-item"),
        pytest.param("Statement[1].Action[1]", (7, 40), id="nested-item"),
        pytest.param("Statement[0].Effect", (4, 18), id="member-key"),
        pytest.param("Statement[1].Condition.StringLike", (5, 5), id="missing-falls-back"),
    ],
)
def test_a_path_is_found_at_its_line(path: str, where: tuple[int, int]) -> None:
    offset = locate(_DOC, path)
    assert offset is not None
    assert line_column(_DOC, offset) == where


def test_the_whole_document_and_non_json_have_no_place() -> None:
    assert locate(_DOC, "") is None
    assert locate("{not json", "Statement") is None


def test_validate_document_says_the_line_of_a_grammar_error() -> None:
    with pytest.raises(MalformedPolicy) as caught:
        validate_document(_DOC, PolicyKind.MANAGED)
    assert (caught.value.line, caught.value.column) == (7, 40)
    assert "Statement[1].Action[1]" in str(caught.value)


def test_validate_document_says_the_line_of_a_syntax_error() -> None:
    broken = '{\n  "Version": "2012-10-17"\n  "Statement": []\n}'
    with pytest.raises(MalformedPolicy) as caught:
        validate_document(broken, PolicyKind.MANAGED)
    assert (caught.value.line, caught.value.column) == (3, 3)


def test_a_size_error_has_no_line() -> None:
    statement = '{"Effect": "Allow", "Action": "*", "Resource": "%s"}'
    huge = '{"Version": "2012-10-17", "Statement": ' + statement + "}"
    with pytest.raises(MalformedPolicy) as caught:
        validate_document(huge % ("*" * 7000), PolicyKind.MANAGED)
    assert caught.value.line is None


def test_simulation_context_repeats_make_lists() -> None:
    pairs = ["codecommit:References=refs/heads/a", "codecommit:References=refs/heads/b", "k=v"]
    assert simulation_context(pairs) == {
        "codecommit:References": ["refs/heads/a", "refs/heads/b"],
        "k": "v",
    }
    with pytest.raises(InvalidInput):
        simulation_context(["novalue"])
